/*
 * payguard - IP allowlists.  inet_pton does the address parsing; this file
 * only adds prefixes and matching.
 */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "ipallow.h"

/* Parses "addr[/prefix]"; IPv4-mapped IPv6 is normalised to IPv4. */
static int
parse_one(const char *s, size_t len, struct ip_entry *e)
{
	char		 tmp[IP_STR_MAX];
	char		*slash, *ep;
	unsigned long	 pfx;
	unsigned int	 max;

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if ((slash = strchr(tmp, '/')) != NULL)
		*slash++ = '\0';
	memset(e, 0, sizeof(*e));
	if (inet_pton(AF_INET, tmp, e->addr) == 1) {
		e->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, tmp, e->addr) == 1) {
		static const unsigned char mapped[12] =
		    { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
		e->family = AF_INET6;
		max = 128;
		if (memcmp(e->addr, mapped, 12) == 0) {
			memmove(e->addr, e->addr + 12, 4);
			memset(e->addr + 4, 0, 12);
			e->family = AF_INET;
			max = 32;
			if (slash != NULL) {
				pfx = strtoul(slash, &ep, 10);
				if (*slash < '0' || *slash > '9' || *ep != '\0' ||
				    pfx < 96 || pfx > 128)
					return -1;
				e->prefix = (unsigned int)pfx - 96;
				return 0;
			}
		}
	} else
		return -1;
	e->prefix = max;
	if (slash != NULL) {
		pfx = strtoul(slash, &ep, 10);
		if (*slash < '0' || *slash > '9' || *ep != '\0' || pfx > max)
			return -1;
		e->prefix = (unsigned int)pfx;
	}
	return 0;
}

enum pg_err
ipset_parse(const char *list, struct ipset *set, size_t *bad)
{
	const char	*p = list;
	size_t		 len, idx = 0;

	set->n = 0;
	*bad = 0;
	while (*p != '\0') {
		if (*p == '#') {
			p += strcspn(p, "\n");
			continue;
		}
		if (strchr(", \t\r\n", *p) != NULL) {
			p++;
			continue;
		}
		len = strcspn(p, ", \t\r\n#");
		idx++;
		if (set->n == IP_MAX_ENTRIES ||
		    parse_one(p, len, &set->e[set->n]) < 0) {
			*bad = idx;
			return PG_EINVAL;
		}
		set->n++;
		p += len;
	}
	return PG_OK;
}

enum pg_err
ipset_load_file(const char *path, struct ipset *set)
{
	struct buf	 b;
	char		 chunk[4096];
	ssize_t		 r;
	size_t		 bad;
	int		 fd;
	enum pg_err	 e = PG_OK;

	buf_init(&b, 1 << 20);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? PG_NOTFOUND : PG_SYSTEM;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		if ((e = buf_append(&b, chunk, (size_t)r)) != PG_OK)
			break;
	close(fd);
	if (e == PG_OK && r < 0)
		e = PG_SYSTEM;
	if (e == PG_OK)
		e = ipset_parse(b.data ? b.data : "", set, &bad);
	buf_free(&b);
	return e;
}

static int
entry_match(const struct ip_entry *e, int family, const unsigned char *a)
{
	unsigned int	 full, rem;

	if (e->family != family)
		return 0;
	full = e->prefix / 8;
	rem = e->prefix % 8;
	if (memcmp(e->addr, a, full) != 0)
		return 0;
	if (rem == 0)
		return 1;
	return ((e->addr[full] ^ a[full]) & (0xff << (8 - rem)) & 0xff) == 0;
}

int
ipset_match(const struct ipset *set, const char *ip)
{
	struct ip_entry	 q;
	size_t		 i;

	if (ip == NULL || parse_one(ip, strlen(ip), &q) < 0 ||
	    strchr(ip, '/') != NULL)
		return 0;
	for (i = 0; i < set->n; i++)
		if (entry_match(&set->e[i], q.family, q.addr))
			return 1;
	return 0;
}

void
ip_client(const char *peer, const char *xff, const struct ipset *trusted,
    char *out, size_t outsz)
{
	const char	*end, *start;
	char		 cand[IP_STR_MAX];
	struct ip_entry	 tmp;
	size_t		 len;

	snprintf(out, outsz, "%s", peer != NULL ? peer : "");
	if (xff == NULL || trusted == NULL || trusted->n == 0 ||
	    !ipset_match(trusted, peer))
		return;
	/* Walk X-Forwarded-For right to left: each hop was added by the
	 * proxy after it; the first untrusted one is the client. */
	end = xff + strlen(xff);
	while (end > xff) {
		start = end;
		while (start > xff && start[-1] != ',')
			start--;
		while (start < end && *start == ' ')
			start++;
		len = (size_t)(end - start);
		while (len > 0 && start[len - 1] == ' ')
			len--;
		if (len == 0 || len >= sizeof(cand) ||
		    parse_one(start, len, &tmp) < 0)
			return;		/* garbage: keep the peer */
		memcpy(cand, start, len);
		cand[len] = '\0';
		snprintf(out, outsz, "%s", cand);
		if (!ipset_match(trusted, cand))
			return;
		end = start;
		while (end > xff && (end[-1] == ',' || end[-1] == ' '))
			end--;
	}
}
