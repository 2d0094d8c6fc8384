/*
 * payguard - source-IP allowlists (IPv4 and IPv6 addresses and CIDRs) and
 * the client address behind trusted proxies.
 */
#ifndef PG_IPALLOW_H
#define PG_IPALLOW_H

#include <stddef.h>

#include "err.h"

#define IP_MAX_ENTRIES	1024
#define IP_STR_MAX	64

struct ip_entry {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];
	unsigned int	 prefix;	/* bits */
};

struct ipset {
	size_t		 n;
	struct ip_entry	 e[IP_MAX_ENTRIES];
};

/* Parses comma/space/newline separated IPs and CIDRs ('#' starts a
 * comment to end of line) into set.  PG_EINVAL names nothing: *bad gets
 * the 1-based index of the first bad entry. */
enum pg_err	 ipset_parse(const char *list, struct ipset *set, size_t *bad);
/* Loads a file of the same syntax (Stripe's ips_webhooks.txt);
 * PG_NOTFOUND when it does not exist. */
enum pg_err	 ipset_load_file(const char *path, struct ipset *set);
/* Returns 1 if ip (text form) is in set, else 0 (also for bad ip). */
int		 ipset_match(const struct ipset *set, const char *ip);
/*
 * Returns the client address: peer, or, when peer is in trusted and an
 * X-Forwarded-For value is given, the right-most address in it that is
 * not itself a trusted proxy.  Written into out (IP_STR_MAX).
 */
void		 ip_client(const char *peer, const char *xff,
		    const struct ipset *trusted, char *out, size_t outsz);

#endif /* PG_IPALLOW_H */
