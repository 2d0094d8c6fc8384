/*
 * api.fcgi - a Stripe-compatible API gateway.
 *
 * The site's own code calls payguard instead of api.stripe.com, with a
 * scoped gateway token (or, when trusted, the web server's REMOTE_USER);
 * the Stripe secret key never leaves this process.  Paths are Stripe's
 * (PATH_INFO /v1/...), bodies form-encoded with bracket notation or JSON;
 * v2 routes (/v2/...) take JSON, passed upstream as JSON.  Connect's
 * Stripe-Account (and v2's Stripe-Context) go upstream for tokens allowed
 * that account, and scope the rate limit and the idempotency records.
 * Each request: authenticate, allowlisted route, scope, per-identity
 * per-operation rate limit, parameters, PCI screening (no card data ever
 * leaves), idempotency, then Stripe with stripe-python's retries; Stripe's
 * status and body come back unchanged, with our security and rate-limit
 * headers.  Every outcome is audited, with details masked.
 *
 * FastCGI or plain CGI; configuration read before the first accept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "app.h"
#include "audit.h"
#include "codec.h"
#include "config.h"
#include "crypto.h"
#include "form.h"
#include "http.h"
#include "idem.h"
#include "log.h"
#include "metrics.h"
#include "pci.h"
#include "ratelimit.h"
#include "route.h"
#include "store.h"
#include "stripe.h"
#include "token.h"

/* Longest Stripe-Context accepted: a few "acct_..." ids joined by '/'. */
#define CONTEXT_MAX	127

/* Everything read before the first accept; read-only afterwards. */
struct app {
	struct app_core		 c;	/* configuration, store, key ring */
	struct token_ctx	 tok;
	struct routes		 routes;
	struct stripe_client	*stripe;
};

/* Per-request state. */
struct rq {
	struct http_req		*req;
	struct http_resp	 resp;
	struct audit_ctx	 actx;
	const char		*path;
	const char		*method;
	char			 identity[TOKEN_NAME_MAX + 1];	/* shown */
	/* Whose idempotency records and rate windows: one namespace per
	 * kind of identity, so none can collide with another ("tok:" the
	 * token's immutable hash, never its reusable name; "usr:" a web
	 * user; "ip:" an address or IPv6 prefix). */
	char			 key_id[96];
	struct token_rec	 trec;
	int			 trusted_user;	/* REMOTE_USER: full scope */
	const struct route	*route;
	struct form		 query;
	struct form		 body;
	char			 resource[ROUTE_PATH_MAX + 16];
	const char		*account;	/* Stripe-Account or NULL */
	const char		*context;	/* Stripe-Context or NULL */
	/* identity, plus "@account" when the request names one: the rate
	 * limit and the idempotency records are per connected account. */
	char			 scope_id[96 + CONTEXT_MAX + 8];
};

static void
audit(struct rq *q, enum aevent type, enum audit_sev sev, int ok,
    struct json_object *d, const char *action)
{
	if (d == NULL)
		d = json_object_new_object();
	json_object_object_add(d, "method", json_object_new_string(q->method));
	if (q->route != NULL)
		json_object_object_add(d, "operation",
		    json_object_new_string(q->route->op));
	if (q->account != NULL)
		json_object_object_add(d, "account",
		    json_object_new_string(q->account));
	if (q->context != NULL)
		json_object_object_add(d, "context",
		    json_object_new_string(q->context));
	audit_event(&q->actx, type, sev, ok, q->resource, d, action);
}

/* Every way this program refuses a request: one row each in refusals. */
enum refusal {
	RF_QUERY_MALFORMED = 0,
	RF_BODY_TOO_LARGE,
	RF_BODY_MALFORMED,
	RF_MEDIA_TYPE,
	RF_V2_JSON,
	RF_PARAMS_MALFORMED,
	RF_PCI_CARD_DATA,
	RF_IDEM_KEY_INVALID,
	RF_IDEM_KEY_REUSED,
	RF_IDEM_KEY_IN_USE,
	RF_RATE_LIMITED,
	RF_UNAUTHENTICATED,
	RF_NO_ROUTE,
	RF_NO_SCOPE,
	RF_ACCOUNT_INVALID,
	RF_ACCOUNT_NOT_ALLOWED,
	RF__MAX
};

static const struct app_refusal refusals[RF__MAX] = {
	{ 400, "invalid_request_error", "parameter_invalid",
	  "The query string is malformed.",
	  AEV_SECURITY_VALIDATION_FAILED, SEV_LOW },	/* RF_QUERY_MALFORMED */
	{ 413, "invalid_request_error", NULL,
	  "The request body is too large.",
	  AEV_SECURITY_VALIDATION_FAILED, SEV_LOW },	/* RF_BODY_TOO_LARGE */
	{ 400, "invalid_request_error", NULL,
	  "The request body is malformed.",
	  AEV_SECURITY_VALIDATION_FAILED, SEV_LOW },	/* RF_BODY_MALFORMED */
	{ 415, "invalid_request_error", "unsupported_media_type",
	  "Send parameters form-encoded or as a JSON object.",
	  AEV_SECURITY_VALIDATION_FAILED, SEV_LOW },	/* RF_MEDIA_TYPE */
	{ 415, "invalid_request_error", "unsupported_media_type",
	  "v2 API requests take a JSON body (Content-Type: application/json).",
	  AEV_SECURITY_VALIDATION_FAILED, SEV_LOW },	/* RF_V2_JSON */
	{ 400, "invalid_request_error", "parameter_invalid",
	  "The request parameters are malformed.",
	  AEV_SECURITY_VALIDATION_FAILED, SEV_LOW },	/* RF_PARAMS_MALFORMED */
	{ 400, "invalid_request_error", "pci_raw_card_data",
	  "Raw card data must never be sent to this API. Collect card details "
	  "with Stripe.js or Stripe Elements and send the resulting "
	  "PaymentMethod or token id instead.",
	  AEV_PCI_COMPLIANCE_VIOLATION, SEV_HIGH },	/* RF_PCI_CARD_DATA */
	{ 400, "invalid_request_error", "idempotency_key_invalid",
	  "Idempotency-Key must be 1-255 printable characters.",
	  AEV_SECURITY_VALIDATION_FAILED, SEV_LOW },	/* RF_IDEM_KEY_INVALID */
	{ 400, "idempotency_error", "idempotency_key_reused",
	  "Keys for idempotent requests can only be used with the same "
	  "parameters they were first used with. Try using a key other than "
	  "the one you sent if you meant to execute a different request.",
	  AEV_IDEMPOTENCY_CONFLICT, SEV_MEDIUM },	/* RF_IDEM_KEY_REUSED */
	{ 409, "idempotency_error", "idempotency_key_in_use",
	  "The idempotency key provided is currently being used in another "
	  "request. This occurs if your integration is making duplicate "
	  "requests simultaneously.",
	  AEV_IDEMPOTENCY_CONFLICT, SEV_MEDIUM },	/* RF_IDEM_KEY_IN_USE */
	{ 429, "rate_limit_error", "rate_limit",
	  "Too many requests for this operation; retry after the time in "
	  "Retry-After.",
	  AEV_API_RATE_LIMIT_EXCEEDED, SEV_MEDIUM },	/* RF_RATE_LIMITED */
	{ 401, "authentication_error", NULL,
	  "You did not provide a valid API token. Send it as "
	  "'Authorization: Bearer pgk_...'.",
	  AEV_AUTHENTICATION_FAILED, SEV_HIGH },	/* RF_UNAUTHENTICATED */
	{ 404, "invalid_request_error", "route_not_allowed", NULL,
	  AEV_SECURITY_VALIDATION_FAILED, SEV_LOW },	/* RF_NO_ROUTE */
	{ 403, "permission_error", "insufficient_scope",
	  "This API token does not allow this operation.",
	  AEV_PERMISSION_DENIED, SEV_HIGH },		/* RF_NO_SCOPE */
	{ 400, "invalid_request_error", "account_invalid",
	  "Stripe-Account must be an acct_ id and Stripe-Context one or more "
	  "acct_ ids joined by '/'.",
	  AEV_SECURITY_VALIDATION_FAILED, SEV_LOW },	/* RF_ACCOUNT_INVALID */
	{ 403, "permission_error", "account_not_allowed",
	  "This API token may not act on the connected account named in "
	  "Stripe-Account or Stripe-Context.",
	  AEV_PERMISSION_DENIED, SEV_HIGH },		/* RF_ACCOUNT_NOT_ALLOWED */
};

/* A refusal: Stripe-shaped error, audit record.  x (may be NULL) gives
 * what the row leaves to the moment (a status, code, param, message). */
static void
refuse(struct rq *q, enum refusal r, const struct app_refusal_ext *x,
    struct json_object *d)
{
	struct app_refusal	 f;

	app_refuse(&q->resp, &refusals[r], x, &d, &f);
	audit(q, f.atype, f.sev, 0, d, "request_rejected");
}

/*
 * Who is calling: a gateway token, or a trusted REMOTE_USER.  Returns 0,
 * -1 with *code set, or -2 when the store could not tell (Redis down:
 * 503, not 401, which the SDKs would not retry); the refusal is sent
 * after the rate limit, so that token guessing is throttled per source
 * address.
 */
static int
authenticate(struct rq *q, const struct app *a, const char **code)
{
	const char	*h = http_header(q->req, "Authorization");
	const char	*ru = http_param(q->req, "REMOTE_USER");

	*code = "missing_token";
	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
		*code = "invalid_token";
		switch (token_verify(a->c.st, &a->tok, h + 7, q->identity,
		    &q->trec)) {
		case PG_OK:
			break;
		case PG_STORE:
		case PG_TIMEOUT:
			return -2;
		default:
			return -1;
		}
		memcpy(q->key_id, "tok:", 4);
		codec_hex_encode(q->trec.hash, 16, q->key_id + 4);
		return 0;
	}
	if (h == NULL && a->c.cfg.trust_remote_user && ru != NULL && *ru != '\0' &&
	    token_valid_name(ru)) {
		snprintf(q->identity, sizeof(q->identity), "%s", ru);
		snprintf(q->key_id, sizeof(q->key_id), "usr:%s", ru);
		q->trusted_user = 1;
		return 0;
	}
	if (h != NULL)
		*code = "invalid_token";
	return -1;
}

/* Reads and decodes the parameters of the query and the body. */
static int
read_params(struct rq *q, const struct app *a)
{
	const char	*qs = http_param(q->req, "QUERY_STRING");
	const char	*ct = http_header(q->req, "Content-Type");
	struct app_refusal_ext x;
	const char	*code = NULL;
	int		 st;
	enum pg_err	 e;

	if (qs != NULL && form_parse(qs, strlen(qs), &q->query) != PG_OK) {
		refuse(q, RF_QUERY_MALFORMED, NULL, NULL);
		return -1;
	}
	if (strcmp(q->method, "POST") != 0)
		return 0;
	if ((st = http_read_body(q->req, a->c.cfg.max_body, &code)) != 0) {
		if (st == 411 && http_param(q->req, "CONTENT_LENGTH") == NULL)
			return 0;	/* a POST without parameters */
		memset(&x, 0, sizeof(x));
		x.status = st;
		x.code = code;
		refuse(q, st == 413 ? RF_BODY_TOO_LARGE : RF_BODY_MALFORMED,
		    &x, NULL);
		return -1;
	}
	if (q->route != NULL && q->route->v2 && q->req->body.len > 0 &&
	    (ct == NULL || strncasecmp(ct, "application/json", 16) != 0)) {
		refuse(q, RF_V2_JSON, NULL, NULL);
		return -1;
	}
	/* JSON is flattened for screening and the fingerprint either way;
	 * a v2 body then goes upstream as sent, a v1 body form-encoded. */
	if (ct != NULL && strncasecmp(ct, "application/json", 16) == 0)
		e = form_from_json(q->req->body.data, q->req->body.len, &q->body);
	else if (ct == NULL || q->req->body.len == 0 ||
	    strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0)
		e = form_parse(q->req->body.data, q->req->body.len, &q->body);
	else {
		refuse(q, RF_MEDIA_TYPE, NULL, NULL);
		return -1;
	}
	if (e != PG_OK) {
		refuse(q, RF_PARAMS_MALFORMED, NULL, NULL);
		return -1;
	}
	return 0;
}

static void
collect(const struct form *f, const char **n, const char **v, size_t *k)
{
	size_t	 i;

	for (i = 0; i < f->n; i++) {
		n[*k] = f->p[i].name;
		v[*k] = f->p[i].value;
		(*k)++;
	}
}

/* The violations of res as the audit record's details. */
static struct json_object *
violations_json(const struct pci_result *res)
{
	struct json_object	*d, *arr, *v;
	size_t			 i;

	d = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < res->n; i++) {
		v = json_object_new_object();
		json_object_object_add(v, "field",
		    json_object_new_string(res->v[i].field));
		json_object_object_add(v, "kind",
		    json_object_new_string(pci_kind_name(res->v[i].kind)));
		json_object_array_add(arr, v);
	}
	json_object_object_add(d, "violations", arr);
	return d;
}

/* pci's exemption check: a Fernet token that verifies under our ring. */
static int
fernet_ours(const char *v, size_t len, void *arg)
{
	unsigned char	*plain = NULL;
	size_t		 plen = 0;
	int		 ok;

	ok = keyring_decrypt(arg, v, len, -1, &plain, &plen) == PG_OK;
	if (plain != NULL) {
		OPENSSL_cleanse(plain, plen);
		free(plain);
	}
	return ok;
}

/* Collects f's pairs and screens them; -1 when out of memory. */
static int
screen_form(const struct form *f, const struct keyring *ring,
    struct pci_result *res)
{
	struct pci_exempt ex = { fernet_ours, (void *)(uintptr_t)ring };
	const char	**names, **vals;
	size_t		 k = 0;

	memset(res, 0, sizeof(*res));
	names = calloc(f->n + 1, sizeof(*names));
	vals = calloc(f->n + 1, sizeof(*vals));
	if (names == NULL || vals == NULL) {
		free(names);
		free(vals);
		return -1;
	}
	collect(f, names, vals, &k);
	(void)pci_validate_pairs_ring(names, vals, k, &ex, res);
	free(names);
	free(vals);
	return 0;
}

/* Refuses the request for the violations in res (the URL's when in_url:
 * also recorded as data_exposure). */
static void
refuse_pci(struct rq *q, const struct pci_result *res, int in_url)
{
	struct app_refusal_ext	 x;
	struct json_object	*d;

	if (in_url) {
		d = violations_json(res);
		json_object_object_add(d, "where", json_object_new_string("url"));
		audit(q, AEV_DATA_EXPOSURE, SEV_HIGH, 0, d, NULL);
	}
	memset(&x, 0, sizeof(x));
	x.param = res->v[0].field;
	refuse(q, RF_PCI_CARD_DATA, &x, violations_json(res));
}

/* The path, screened before anything (routing, errors) can echo it. */
static int
screen_path(struct rq *q)
{
	struct pci_result	 res;

	if (!pci_text_has_pan(q->path, strlen(q->path)))
		return 0;
	memset(&res, 0, sizeof(res));
	res.n = 1;
	res.v[0].kind = PCI_PAN;
	snprintf(res.v[0].field, sizeof(res.v[0].field), "(path)");
	refuse_pci(q, &res, 1);
	return -1;
}

/*
 * Card data belongs in Stripe.js / Elements, never in a server request:
 * the path, the query string and the body are screened and any card data
 * refused before anything leaves (pci_compliance_violation).  In the URL
 * it has also been exposed (server logs, proxies, browser history): that
 * is recorded too, as data_exposure (HIGH).
 */
static int
screen(struct rq *q, const struct app *a)
{
	struct pci_result	 res;
	int			 rc = -1, in_url = 1;

	if (screen_form(&q->query, &a->c.ring, &res) != 0)
		goto oom;
	if (res.n == 0) {
		in_url = 0;
		if (screen_form(&q->body, &a->c.ring, &res) != 0)
			goto oom;
	}
	if (res.n == 0) {
		rc = 0;
		goto out;
	}
	refuse_pci(q, &res, in_url);
	goto out;
oom:
	http_resp_error(&q->resp, 500, "api_error", NULL, NULL,
	    "Out of memory.");
out:
	return rc;
}

/*
 * A card number in a request header (User-Agent, Referer, ...) is never
 * sent on, and is masked wherever it is written, but it has been exposed
 * on the way here: recorded as data_exposure (HIGH), once per request.
 * (The URL's card data is refused, and recorded, by screen_path/screen.)
 */
static void
screen_headers(struct rq *q)
{
	struct json_object	*d;

	if ((d = app_exposure(q->req, 0)) != NULL)
		audit(q, AEV_DATA_EXPOSURE, SEV_HIGH, 0, d, NULL);
}

static void
pass_through(struct rq *q, struct stripe_resp *sr, const char *key,
    int replayed, const unsigned char *body, size_t len, int status)
{
	q->resp.status = status;
	buf_reset(&q->resp.body);
	if (len > 0)
		buf_append(&q->resp.body, body, len);
	if (sr != NULL && sr->request_id[0] != '\0')
		http_resp_header(&q->resp, "Request-Id", "%s", sr->request_id);
	if (key != NULL)
		http_resp_header(&q->resp, "Idempotency-Key", "%s", key);
	if (replayed)
		http_resp_header(&q->resp, "Idempotent-Replayed", "true");
}

/* One proxied call: what the idempotency, upstream and respond steps
 * share. */
struct px {
	struct idem_result	 ir;
	struct stripe_resp	 sr;
	struct stripe_opts	 so;
	struct buf		 qs, body, canon;
	char			 ckey[IDEM_KEY_MAX + 1];	/* caller's key */
	char			 gkey[IDEM_UPKEY_MAX + 1];	/* or ours */
	const char		*hk;		/* Idempotency-Key header */
	const char		*upkey;		/* the key sent upstream */
	int			 post, have_key;
};

enum step { STEP_NEXT = 0, STEP_DONE };

static void
px_free(struct px *x)
{
	free(x->ir.body);
	stripe_resp_free(&x->sr);
	buf_free(&x->qs);
	buf_free(&x->body);
	buf_free(&x->canon);
}

/*
 * Idempotency: with the caller's key, begin (or replay, or refuse) it;
 * without one, make a key of our own so that our retries are safe
 * upstream.  STEP_DONE when the response is already set.
 */
static enum step
step_idempotency(struct rq *q, const struct app *a, struct px *x)
{
	struct buf		 cquery;
	struct json_object	*d;
	unsigned char		 fp[32];
	enum pg_err		 e;

	if (x->post && x->hk == NULL) {
		idem_generate_key(q->route->op, q->key_id, x->gkey);
		x->upkey = x->gkey;
		return STEP_NEXT;
	}
	if (!x->post)
		return STEP_NEXT;
	if (idem_parse_key(x->hk, x->ckey) != PG_OK) {
		refuse(q, RF_IDEM_KEY_INVALID, NULL, NULL);
		return STEP_DONE;
	}
	x->have_key = 1;
	/* The query string goes upstream too: it is part of what the key
	 * stands for. */
	buf_init(&cquery, 64 << 10);
	if ((e = form_canonical(&q->body, &x->canon)) == PG_OK &&
	    (e = form_canonical(&q->query, &cquery)) == PG_OK)
		e = idem_fingerprint_query(q->method, q->path,
		    cquery.data ? cquery.data : "", cquery.len,
		    x->canon.data ? x->canon.data : "", x->canon.len, fp);
	buf_free(&cquery);
	if (e == PG_OK)
		e = idem_begin(a->c.st, &a->c.ring, &a->c.cfg, q->scope_id,
		    x->ckey, fp, &x->ir);
	if (e != PG_OK) {
		/* The store unavailable (Redis down or refusing writes): 503,
		 * nothing started, the SDK retries. */
		http_resp_error(&q->resp, e == PG_STORE || e == PG_TIMEOUT ?
		    503 : 500, "api_error", NULL, NULL,
		    "The request could not be processed.");
		audit(q, AEV_STORE_FAILURE, SEV_HIGH, 0, NULL, NULL);
		return STEP_DONE;
	}
	(void)metrics_count(a->c.st, MC_IDEMPOTENCY,
	    x->ir.outcome == IDEM_MISMATCH ? "mismatch" :
	    x->ir.outcome == IDEM_IN_PROGRESS ? "in_flight" :
	    x->ir.outcome == IDEM_REPLAY ? "replayed" : "new");
	switch (x->ir.outcome) {
	case IDEM_MISMATCH:
		refuse(q, RF_IDEM_KEY_REUSED, NULL, NULL);
		return STEP_DONE;
	case IDEM_IN_PROGRESS:
		/* The SDKs retry a 409 anyway; the header makes it explicit
		 * and Retry-After spaces the retry. */
		http_resp_header(&q->resp, "Retry-After", "1");
		http_resp_header(&q->resp, "Stripe-Should-Retry", "true");
		refuse(q, RF_IDEM_KEY_IN_USE, NULL, NULL);
		return STEP_DONE;
	case IDEM_REPLAY:
		pass_through(q, NULL, x->hk, 1, x->ir.body, x->ir.bodylen,
		    x->ir.status);
		d = json_object_new_object();
		json_object_object_add(d, "status",
		    json_object_new_int(x->ir.status));
		json_object_object_add(d, "replayed", json_object_new_boolean(1));
		audit(q, AEV_API_REQUEST_PROCESSED, SEV_LOW, 1, d, NULL);
		return STEP_DONE;
	case IDEM_PROCEED:
		break;
	}
	x->upkey = x->ir.upstream_key;
	return STEP_NEXT;
}

/* The call to Stripe (with stripe-python's retries).  STEP_DONE with a
 * 502 when no response came. */
static enum step
step_upstream(struct rq *q, const struct app *a, struct px *x)
{
	struct json_object	*d;
	struct stripe_resp	*sr = &x->sr;
	struct timespec		 t0, t1;
	enum pg_err		 e;

	memset(&x->so, 0, sizeof(x->so));
	x->so.idem_key = x->upkey;
	x->so.account = q->account;
	x->so.context = q->context;
	x->so.json = q->route->v2;
	if (x->post && q->route->v2) {
		/* v2: the JSON exactly as sent (it parsed strictly above). */
		buf_reset(&x->body);
		if (q->req->body.len > 0 && buf_append(&x->body,
		    q->req->body.data, q->req->body.len) != PG_OK) {
			http_resp_error(&q->resp, 400, "invalid_request_error",
			    "parameter_invalid", NULL, "The body is too large.");
			return STEP_DONE;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	e = stripe_request_ex(a->stripe, q->method, q->path, x->qs.data,
	    x->post ? (x->body.data ? x->body.data : "") : NULL, &x->so, sr);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	(void)metrics_observe(a->c.st, MH_UPSTREAM, (double)(t1.tv_sec -
	    t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, MC_UPSTREAM,
	    e != PG_OK || sr->status < 100 || sr->status > 599 ? "none" :
	    sr->status < 200 ? "1xx" : sr->status < 300 ? "2xx" :
	    sr->status < 400 ? "3xx" : sr->status < 500 ? "4xx" : "5xx");
	if (e == PG_OK)
		return STEP_NEXT;
	if (x->have_key)
		idem_release(a->c.st, q->scope_id, x->ckey);
	http_resp_error(&q->resp, 502, "api_error", "api_connection_error",
	    NULL, "Could not connect to Stripe. The request may be "
	    "retried safely with the same Idempotency-Key.");
	d = json_object_new_object();
	json_object_object_add(d, "attempts", json_object_new_int(x->sr.attempts));
	json_object_object_add(d, "error", json_object_new_string(x->sr.error));
	audit(q, AEV_UPSTREAM_FAILURE, SEV_HIGH, 0, d, NULL);
	return STEP_DONE;
}

/* Stripe's answer: kept for the key, passed through, audited. */
static void
step_respond(struct rq *q, const struct app *a, struct px *x)
{
	struct stripe_resp	*sr = &x->sr;
	struct json_object	*d;

	if (x->have_key) {
		/* Stripe keeps every result but rate limiting; so do we. */
		if (sr->status == 429)
			idem_forget(a->c.st, q->scope_id, x->ckey);
		else
			idem_finish(a->c.st, &a->c.ring, q->scope_id, x->ckey,
			    (int)sr->status, sr->body.data, sr->body.len);
	}
	pass_through(q, sr, x->post ? (x->have_key ? x->hk : x->gkey) : NULL,
	    0, (const unsigned char *)sr->body.data, sr->body.len,
	    (int)sr->status);
	d = json_object_new_object();
	json_object_object_add(d, "status", json_object_new_int((int)sr->status));
	json_object_object_add(d, "attempts", json_object_new_int(sr->attempts));
	if (sr->request_id[0] != '\0')
		json_object_object_add(d, "stripe_request_id",
		    json_object_new_string(sr->request_id));
	audit(q, sr->status >= 500 ? AEV_UPSTREAM_FAILURE :
	    AEV_API_REQUEST_PROCESSED, sr->status >= 500 ? SEV_MEDIUM : SEV_LOW,
	    sr->status < 400, d, NULL);
}

/* Idempotency, then the upstream call, then the response. */
static void
proxy(struct rq *q, const struct app *a)
{
	struct px	 x;

	memset(&x, 0, sizeof(x));
	x.hk = http_header(q->req, "Idempotency-Key");
	x.post = strcmp(q->method, "POST") == 0;
	buf_init(&x.qs, 64 << 10);
	buf_init(&x.body, a->c.cfg.max_body * 3 + 1024);
	buf_init(&x.canon, a->c.cfg.max_body * 3 + 1024);
	if (form_encode(&q->query, &x.qs) != PG_OK ||
	    form_encode(&q->body, &x.body) != PG_OK)
		http_resp_error(&q->resp, 400, "invalid_request_error",
		    "parameter_invalid", NULL, "The parameters are too large.");
	else if (step_idempotency(q, a, &x) == STEP_NEXT &&
	    step_upstream(q, a, &x) == STEP_NEXT)
		step_respond(q, a, &x);
	px_free(&x);
}

/* Every '/'-separated part of s is an acct_ id. */
static int
account_path_ok(const char *s)
{
	size_t	 n;

	if (strlen(s) > CONTEXT_MAX)
		return 0;
	for (;; s += n + 1) {
		n = strcspn(s, "/");
		if (!token_valid_account(s, n))
			return 0;
		if (s[n] == '\0')
			return 1;
	}
}

/*
 * Reads Stripe-Account and Stripe-Context into q and makes q->scope_id.
 * Returns 0 when one is present but malformed (it is then ignored, and
 * refused after authentication), else 1.
 */
static int
connect_headers(struct rq *q)
{
	const char	*acct = http_header(q->req, "Stripe-Account");
	const char	*ctx = http_header(q->req, "Stripe-Context");
	int		 ok = 1;

	if (acct != NULL) {
		if (token_valid_account(acct, strlen(acct)))
			q->account = acct;
		else
			ok = 0;
	}
	if (ctx != NULL) {
		if (account_path_ok(ctx))
			q->context = ctx;
		else
			ok = 0;
	}
	/* The namespaced identity (key_id), never the reusable name. */
	snprintf(q->scope_id, sizeof(q->scope_id), "%s%s%s%s%s", q->key_id,
	    q->account ? "@" : "", q->account ? q->account : "",
	    q->context ? "@ctx:" : "", q->context ? q->context : "");
	return ok;
}

/* PATH_INFO, or the request URI past the script name. */
static const char *
stripe_path(const struct http_req *req)
{
	const char	*p = http_param(req, "PATH_INFO");

	return p != NULL && *p != '\0' ? p : "/";
}

static void
handle(void *arg, struct http_req *req)
{
	struct app		*a = arg;
	struct rq		 q;
	struct rl_result	 rl;
	struct app_refusal_ext	 x;
	const char		*acode = NULL, *op;
	char			 msg[ROUTE_PATH_MAX + 64];
	int			 auth, authed, acct_ok;
	enum pg_err		 e;

	memset(&q, 0, sizeof(q));
	q.req = req;
	q.method = req->method;
	q.path = stripe_path(req);
	form_init(&q.query);
	form_init(&q.body);
	http_resp_init(&q.resp);
	app_audit_ctx(&a->c, req, NULL, "anonymous", &q.actx);
	snprintf(q.resource, sizeof(q.resource), "stripe:%s %.*s", q.method,
	    ROUTE_PATH_MAX, q.path);

	if (!a->c.ready) {
		http_resp_error(&q.resp, 500, "api_error", NULL, NULL,
		    "The API gateway is not available.");
		goto send;
	}
	screen_headers(&q);
	auth = authenticate(&q, a, &acode);
	authed = auth == 0;
	if (authed)
		q.actx.identity = q.identity;
	else {	/* anonymous callers share a window per source address */
		rl_ip_key(req->remote_addr, a->c.cfg.rl_ipv6_prefix, q.key_id,
		    sizeof(q.key_id));
		/* an address key ("ip:" and at most an IPv6 prefix) always
		 * fits; the precision says so to the compiler */
		snprintf(q.identity, sizeof(q.identity), "%.*s",
		    (int)sizeof(q.identity) - 1, q.key_id);
	}
	acct_ok = connect_headers(&q);
	q.route = route_match(&a->routes, q.method, q.path);
	op = q.route != NULL ? q.route->op : "default";
	e = rl_check(a->c.st, &a->c.cfg, op, q.scope_id, &rl);
	rl_headers(&rl, op, &q.resp);
	if (rl.failed_open)
		audit(&q, AEV_STORE_FAILURE, SEV_HIGH, 0, NULL, "failed_open");
	(void)e;
	if (!rl.allowed) {
		/* The SDKs retry only when told to, and honour Retry-After
		 * only up to 60 s: tell them to retry when it will work. */
		http_resp_header(&q.resp, "Stripe-Should-Retry", "%s",
		    rl.retry_after <= 60 ? "true" : "false");
		refuse(&q, RF_RATE_LIMITED, NULL, NULL);
		goto send;
	}
	if (screen_path(&q) != 0)
		goto send;
	if (auth == -2) {
		/* The token store is unavailable: retry, nothing started. */
		http_resp_header(&q.resp, "Stripe-Should-Retry", "true");
		http_resp_error(&q.resp, 503, "api_error", NULL, NULL,
		    "The request could not be processed.");
		audit(&q, AEV_STORE_FAILURE, SEV_HIGH, 0, NULL, NULL);
		goto send;
	}
	if (!authed) {
		memset(&x, 0, sizeof(x));
		x.code = acode;
		refuse(&q, RF_UNAUTHENTICATED, &x, NULL);
		goto send;
	}
	if (q.route == NULL) {
		snprintf(msg, sizeof(msg), "Unrecognized request URL (%s: %.*s).",
		    q.method, ROUTE_PATH_MAX, q.path);
		memset(&x, 0, sizeof(x));
		x.message = msg;
		refuse(&q, RF_NO_ROUTE, &x, NULL);
		goto send;
	}
	if (!q.trusted_user && !token_allows(&q.trec, q.method, q.route->op)) {
		refuse(&q, RF_NO_SCOPE, NULL, NULL);
		goto send;
	}
	if (!acct_ok) {
		refuse(&q, RF_ACCOUNT_INVALID, NULL, NULL);
		goto send;
	}
	/* A token acts on connected accounts only when created for them;
	 * the trusted REMOTE_USER has full scope. */
	if (!q.trusted_user && ((q.account != NULL &&
	    !token_allows_account(&q.trec, q.account)) ||
	    (q.context != NULL && !token_allows_account(&q.trec, q.context)))) {
		refuse(&q, RF_ACCOUNT_NOT_ALLOWED, NULL, NULL);
		goto send;
	}
	if (read_params(&q, a) != 0 || screen(&q, a) != 0)
		goto send;
	proxy(&q, a);
send:
	http_send(req, &q.resp);
	http_resp_free(&q.resp);
	form_free(&q.query);
	form_free(&q.body);
}

static void
setup(struct app *a)
{
	if (app_setup("api.fcgi", &a->c, CFG_NEED_API) != 0)
		return;
	a->c.ready = 0;
	if (routes_parse(a->c.cfg.api_routes, &a->routes) != PG_OK) {
		log_warnx("refusing to serve: PAYGUARD_API_ROUTES: expected "
		    "resource[:ro]=operation[,...]");
		return;
	}
	if (token_ctx_init(&a->c.cfg, &a->tok) != PG_OK) {
		log_warnx("refusing to serve: PAYGUARD_TOKEN_PEPPER: unusable");
		return;
	}
	/* stripe_client_new loads libcurl (curlrt.h): before the first
	 * accept. */
	if (stripe_client_new(&a->c.cfg, &a->stripe) != PG_OK) {
		log_warnx("refusing to serve: cannot initialise libcurl");
		return;
	}
	a->c.ready = 1;
}

int
main(void)
{
	struct app	 a;
	int		 rc;

	memset(&a, 0, sizeof(a));
	setup(&a);
	rc = app_serve(&a.c, handle, &a);
	stripe_client_free(a.stripe);
	token_ctx_wipe(&a.tok);
	app_free(&a.c);
	return rc;
}
