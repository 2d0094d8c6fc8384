/*
 * payguard - the rate limiter shared by every endpoint.
 *
 * An exact sliding window per (operation, identity): a request is admitted
 * iff fewer than L requests were admitted in the last W seconds.  So no
 * W-second interval ever holds more than L admissions, and a client that
 * stays at or under L per W is never refused (a fixed window or GCRA can
 * do neither).  The window is a ring of the last L admission times, kept
 * in chunks of RL_CHUNK entries so each check touches one header and one
 * chunk: its cost depends on neither L nor the number of identities.
 * All processes share it through the store; checks are serialised by the
 * store's write transaction.
 */
#ifndef PG_RATELIMIT_H
#define PG_RATELIMIT_H

#include <stdint.h>

#include "config.h"
#include "err.h"
#include "http.h"
#include "store.h"

#define RL_CHUNK	128

struct rl_result {
	int		 allowed;	/* 1 admitted, 0 refused */
	int		 failed_open;	/* store failed: admitted anyway */
	uint32_t	 limit;		/* L */
	uint32_t	 window;	/* W, seconds */
	uint32_t	 remaining;	/* admissions left right now */
	uint64_t	 reset_ms;	/* when the next slot frees (epoch ms) */
	uint32_t	 retry_after;	/* seconds, rounded up (refused only) */
};

/*
 * Checks and, when admitted, records one request of op by identity at the
 * current time.  With the limiter disabled everything is admitted.  On a
 * store failure it fails open (res->allowed = res->failed_open = 1) and
 * returns the store's error so the caller can audit it.
 */
enum pg_err	 rl_check(struct store *st, const struct config *cfg,
		    const char *op, const char *identity,
		    struct rl_result *res);
/* As rl_check at an explicit time (us since the epoch), for tests; on
 * Redis (store_shared) the server's clock is used instead. */
enum pg_err	 rl_check_at(struct store *st, const struct config *cfg,
		    const char *op, const char *identity, uint64_t now_us,
		    struct rl_result *res);
/*
 * The rate-limit identity of a client address: "ip:" and the IPv4 address
 * (an IPv4-mapped IPv6 address counts as IPv4), or "ip:" and the IPv6
 * network of the address's first prefix6 bits ("ip:2001:db8:1:2::/64"),
 * since one IPv6 client holds a whole /64 and could rotate inside it.
 * Anything else (not an IP address) is kept as it is, after "ip:".
 * Writes at most outsz bytes (NUL included) into out.
 */
void		 rl_ip_key(const char *addr, unsigned int prefix6, char *out,
		    size_t outsz);
/*
 * Adds X-RateLimit-Limit/-Remaining/-Reset (Unix seconds), the IETF
 * draft's RateLimit-Policy and RateLimit, and Retry-After when refused.
 */
void		 rl_headers(const struct rl_result *res, const char *op,
		    struct http_resp *r);

#endif /* PG_RATELIMIT_H */
