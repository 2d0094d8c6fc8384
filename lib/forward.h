/*
 * payguard - HTTP forwarding of accepted webhook events to the site's app
 * (PAYGUARD_WEBHOOK_FORWARD_URL), the alternative to an executable
 * handler.
 *
 * Each attempt POSTs the exact raw event with Standard Webhooks headers
 * (https://www.standardwebhooks.com): webhook-id (the event id),
 * webhook-timestamp (now), webhook-signature "v1,<base64 HMAC-SHA256 of
 * id.timestamp.body>" keyed by the base64 part of PAYGUARD_FORWARD_SECRET
 * ("whsec_..."), plus X-Payguard-Event-Type, -Kind, -Source and
 * (Connect) -Account.  A 2xx answer is a delivery; any other status (3xx included:
 * redirects are never followed), a timeout or a connection or TLS error is
 * a failed attempt.  https is required except to a loopback address; TLS
 * is verified; proxies from the environment are not used; the secret is
 * never logged.
 */
#ifndef PG_FORWARD_H
#define PG_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "proc.h"
#include "err.h"
#include "event.h"

#define FORWARD_KEY_MIN	24	/* bytes of a decoded secret (the spec's) */
#define FORWARD_KEY_MAX	64
#define FORWARD_SECRET_BYTES 32	/* what forward_secret_new makes */
/* "whsec_" + base64 of FORWARD_SECRET_BYTES + NUL */
#define FORWARD_SECRET_STR_MAX (6 + 4 * ((FORWARD_SECRET_BYTES + 2) / 3) + 1)

/*
 * Checks PAYGUARD_WEBHOOK_FORWARD_URL and PAYGUARD_FORWARD_SECRET in cfg
 * (nothing to check without a URL).  Returns PG_OK, or PG_CONFIG with a
 * one-line reason naming the variable (never its value) in why.
 */
enum pg_err	 forward_check(const struct config *cfg, char *why,
		    size_t whysz);
/*
 * The webhook-signature value for (id, ts, body) under secret
 * ("whsec_<base64>") into out ("v1,<base64>").  PG_EINVAL for a
 * malformed secret.
 */
enum pg_err	 forward_sign(const char *secret, const char *id, int64_t ts,
		    const void *body, size_t len, char *out, size_t outsz);
/* A new secret, "whsec_" + base64 of 32 random bytes, into out. */
enum pg_err	 forward_secret_new(char out[FORWARD_SECRET_STR_MAX]);
/*
 * One forwarding attempt of the event (body: the raw event) to
 * cfg->wh_forward_url, within cfg->wh_handler_timeout.  res->ok on a 2xx;
 * res->status is the HTTP status (or -1 without one), res->error a short
 * reason.  Returns PG_OK whenever an attempt was made.
 */
enum pg_err	 forward_post(const struct config *cfg,
		    const struct event_info *ev, const void *body, size_t len,
		    struct proc_result *res);

#endif /* PG_FORWARD_H */
