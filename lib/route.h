/*
 * payguard - the gateway's allowlist of proxied Stripe routes.
 *
 * PAYGUARD_API_ROUTES is a comma-separated list of "resource=operation"
 * (optionally "resource:ro=operation" for read-only); each allows GET and
 * POST on /v1/<resource>, GET, POST and DELETE on /v1/<resource>/<id>,
 * and POST on /v1/<resource>/<id>/<action>.  A resource written
 * "v2/<resource>" ("v2/core/accounts=account") is the same under /v2
 * (Stripe's v2 APIs, JSON bodies).  The operation names the rate limit.
 * Anything else is refused before it reaches Stripe.
 */
#ifndef PG_ROUTE_H
#define PG_ROUTE_H

#include <stddef.h>

#include "config.h"
#include "err.h"

#define ROUTE_MAX	48
#define ROUTE_RES_MAX	64
#define ROUTE_PATH_MAX	256

#define ROUTES_DEFAULT "customers=customer,subscriptions=subscription," \
	"payment_intents=payment_intent,setup_intents=setup_intent," \
	"refunds=refund,checkout/sessions=checkout," \
	"billing_portal/sessions=billing_portal,invoices=invoice," \
	"prices=price,products=product,events:ro=event"

struct route {
	char	 res[ROUTE_RES_MAX];	/* "customers", "checkout/sessions" */
	char	 op[CFG_OPNAME];
	int	 readonly;
	int	 v2;			/* under /v2 rather than /v1 */
};

struct routes {
	size_t		 n;
	struct route	 r[ROUTE_MAX];
};

/* Parses spec (NULL: the default list).  PG_EINVAL on a bad entry. */
enum pg_err	 routes_parse(const char *spec, struct routes *rt);
/*
 * Finds the route for method and path ("/v1/..." or "/v2/...").  Returns the route,
 * or NULL when the path is malformed or not allowed for method.
 */
const struct route *route_match(const struct routes *rt, const char *method,
		    const char *path);

#endif /* PG_ROUTE_H */
