/*
 * payguard - the Stripe upstream: libcurl to STRIPE_API_BASE with the
 * secret key, the pinned Stripe-Version and the Idempotency-Key, retried
 * exactly as stripe-python decides (stripe-semantics.md §3.2):
 *   - no retry once max retries are used;
 *   - without a response: retry connection failures and timeouts;
 *   - Stripe-Should-Retry: true/false decides first;
 *   - then 409 and every 5xx are retried, nothing else (not 429);
 *   - sleep min(0.5 * 2^(n-1), 5) s, jittered into [s/2, s], at least
 *     0.5 s, raised to an integer Retry-After of at most 60 s.
 * Every attempt carries the same Idempotency-Key.  Connections are kept
 * alive between requests, but libcurl's own resend on a reused connection
 * that died is vetoed, so every request the upstream sees is an attempt
 * counted and spaced by the schedule above.
 */
#ifndef PG_STRIPE_H
#define PG_STRIPE_H

#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "err.h"

#define STRIPE_RESP_MAX		(8u << 20)
#define STRIPE_INITIAL_DELAY	0.5
#define STRIPE_MAX_DELAY	5.0
#define STRIPE_MAX_RETRY_AFTER	60
#define STRIPE_CONN_MAX_IDLE	30L	/* s a kept-alive connection may idle */

struct stripe_client;

struct stripe_resp {
	long		 status;	/* 0 when no response came */
	struct buf	 body;
	char		 request_id[128];
	int		 should_retry;	/* -1 absent, 0 false, 1 true */
	long		 retry_after;	/* -1 absent or not an integer */
	int		 conn_error;	/* transport failure (no response) */
	int		 conn_retryable; /* connect/timeout: worth a retry */
	char		 error[256];	/* transport error text */
	int		 attempts;
};

/* Prepares a client (one per process). */
enum pg_err	 stripe_client_new(const struct config *cfg,
		    struct stripe_client **c);
void		 stripe_client_free(struct stripe_client *c);
/* What a request carries besides the method, path and body. */
struct stripe_opts {
	const char	*idem_key;	/* Idempotency-Key or NULL */
	const char	*account;	/* Stripe-Account (Connect) or NULL */
	const char	*context;	/* Stripe-Context (v2) or NULL */
	int		 json;		/* body is JSON (v2), not a form */
};

/*
 * Sends method path[?query] with body (form-encoded, or JSON with
 * o->json; NULL for none) and the headers of o, retrying as above.  PG_OK
 * when a response arrived (any status); PG_UPSTREAM when none did after
 * every retry.  Free r with stripe_resp_free.
 */
enum pg_err	 stripe_request_ex(struct stripe_client *c, const char *method,
		    const char *path, const char *query, const char *body,
		    const struct stripe_opts *o, struct stripe_resp *r);
/*
 * Sends method path[?query] with body (form-encoded, NULL for none) and
 * idem_key (NULL for none), retrying as above.  PG_OK when a response
 * arrived (any status); PG_UPSTREAM when none did after every retry.
 * Free r with stripe_resp_free.
 */
enum pg_err	 stripe_request(struct stripe_client *c, const char *method,
		    const char *path, const char *query, const char *body,
		    const char *idem_key, struct stripe_resp *r);
void		 stripe_resp_free(struct stripe_resp *r);
/* stripe-python's _should_retry for the last attempt's outcome. */
int		 stripe_should_retry(const struct stripe_resp *r,
		    unsigned int num_retries, unsigned int max);
/* stripe-python's _sleep_time_seconds for retry n (1-based); u is the
 * jitter draw in [0, 1]. */
double		 stripe_sleep_time(unsigned int n, long retry_after, double u);

#endif /* PG_STRIPE_H */
