/*
 * webhook.fcgi - receives Stripe webhooks.
 *
 * POST only.  Each request goes through, in this order: rate limit (op
 * "webhook", identity = source IP), source-IP allowlist, bounded raw body,
 * Stripe-Signature (several secrets, tolerance both ways), payload
 * validation, atomic duplicate detection, the durable inbox, and then
 * either an immediate 200 (queue delivery: `payguard worker` or
 * `payguard inbox drain` runs the handler) or the handler itself (sync
 * delivery: 200 only if it succeeded).  Every outcome is an audit record;
 * every rejection a Stripe-shaped JSON error.
 *
 * Works as FastCGI (mod_fcgid, lighttpd bin-path, spawn-fcgi) and,
 * unchanged, as plain CGI.  Configuration is read once, before the first
 * accept (see lib/config.h).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "app.h"
#include "audit.h"
#include "config.h"
#include "crypto.h"
#include "deliver.h"
#include "event.h"
#include "forward.h"
#include "http.h"
#include "inbox.h"
#include "ipallow.h"
#include "iplist.h"
#include "log.h"
#include "ratelimit.h"
#include "sig.h"
#include "store.h"

#define OP_WEBHOOK	"webhook"

/* Everything read before the first accept; read-only afterwards. */
struct app {
	struct app_core	 c;		/* configuration, store, key ring */
	struct ipset	 allow;
	struct ipset	 trusted;
	unsigned int	 kinds;		/* EVENT_KIND_BIT()s accepted */
};

/* Per-request state, reset for every request. */
struct rq {
	struct http_req		*req;
	struct http_resp	 resp;
	struct audit_ctx	 actx;
	char			 client[IP_STR_MAX];
	char			 resource[300];
};

static enum pg_err
audit(struct rq *q, enum aevent type, enum audit_sev sev, int success,
    struct json_object *details, const char *action)
{
	return audit_event(&q->actx, type, sev, success, q->resource, details,
	    action);
}

/*
 * The accept record of a new event is in the log (e == PG_OK): its
 * pending marker (auditpend.h) is this process's to remove, in a batch
 * after the response (app.h), and nobody has to look the record up.
 */
static void
recorded(struct app *a, const struct event_info *ev, enum inbox_outcome out,
    enum pg_err e)
{
	if (e == PG_OK && out == INBOX_NEW)
		app_recorded(&a->c, ev->id);
}

static struct json_object *
detail(const char *k, const char *v)
{
	struct json_object *o = json_object_new_object();

	if (o != NULL && k != NULL)
		json_object_object_add(o, k, json_object_new_string(v));
	return o;
}

/* Every way this program refuses a request: one row each in refusals. */
enum refusal {
	RF_RATE_LIMITED = 0,
	RF_METHOD,
	RF_IP,
	RF_BODY_TOO_LARGE,
	RF_BODY_NO_LENGTH,
	RF_BODY_MALFORMED,
	RF_SIGNATURE,
	RF_PAYLOAD,
	RF_KIND_THIN,
	RF_KIND_SNAPSHOT,
	RF_API_VERSION,
	RF__MAX
};

static const struct app_refusal refusals[RF__MAX] = {
	{ 429, "invalid_request_error", "rate_limited",
	  "Too many requests; retry after the time in Retry-After.",
	  AEV_WEBHOOK_RATE_LIMIT_EXCEEDED, SEV_MEDIUM },	/* RF_RATE_LIMITED */
	{ 405, "invalid_request_error", "method_not_allowed",
	  "Webhooks must be sent with POST.",
	  AEV_SECURITY_VALIDATION_FAILED, SEV_LOW },	/* RF_METHOD */
	{ 403, "invalid_request_error", "ip_not_allowed",
	  "The source address is not allowed to send webhooks.",
	  AEV_WEBHOOK_INVALID_IP, SEV_HIGH },		/* RF_IP */
	{ 413, "invalid_request_error", NULL,
	  "The payload is too large.",
	  AEV_WEBHOOK_INVALID_PAYLOAD, SEV_MEDIUM },	/* RF_BODY_TOO_LARGE */
	{ 411, "invalid_request_error", NULL,
	  "A Content-Length is required.",
	  AEV_WEBHOOK_INVALID_PAYLOAD, SEV_MEDIUM },	/* RF_BODY_NO_LENGTH */
	{ 400, "invalid_request_error", NULL,
	  "The request body is malformed.",
	  AEV_WEBHOOK_INVALID_PAYLOAD, SEV_MEDIUM },	/* RF_BODY_MALFORMED */
	{ 400, "invalid_request_error", NULL, NULL,
	  AEV_WEBHOOK_INVALID_SIGNATURE, SEV_HIGH },	/* RF_SIGNATURE */
	{ 400, "invalid_request_error", "payload_invalid", NULL,
	  AEV_WEBHOOK_INVALID_PAYLOAD, SEV_MEDIUM },	/* RF_PAYLOAD */
	{ 400, "invalid_request_error", "event_kind_not_accepted",
	  "This endpoint does not accept thin events (PAYGUARD_EVENT_KINDS).",
	  AEV_WEBHOOK_INVALID_PAYLOAD, SEV_MEDIUM },	/* RF_KIND_THIN */
	{ 400, "invalid_request_error", "event_kind_not_accepted",
	  "This endpoint does not accept snapshot events "
	  "(PAYGUARD_EVENT_KINDS).",
	  AEV_WEBHOOK_INVALID_PAYLOAD, SEV_MEDIUM },	/* RF_KIND_SNAPSHOT */
	{ 400, "invalid_request_error", "api_version_mismatch",
	  "The event's API version differs from the pinned STRIPE_API_VERSION.",
	  AEV_WEBHOOK_API_VERSION_MISMATCH, SEV_MEDIUM },	/* RF_API_VERSION */
};

/* A rejection: status, Stripe-shaped body, audit record.  x (may be
 * NULL) gives what the row leaves to the moment. */
static void
reject(struct rq *q, enum refusal r, const struct app_refusal_ext *x,
    struct json_object *details)
{
	struct app_refusal	 f;

	app_refuse(&q->resp, &refusals[r], x, &details, &f);
	audit(q, f.atype, f.sev, 0, details, "request_rejected");
}

static void
server_error(struct rq *q, const char *code, const char *what,
    enum pg_err e)
{
	/* 503: the store is unavailable (Redis down, refusing writes, or
	 * replicas not confirming); nothing was acknowledged, and Stripe
	 * retries. */
	http_resp_error(&q->resp, 503, "api_error", code, NULL,
	    "The webhook could not be processed; it will be retried.");
	audit(q, AEV_STORE_FAILURE, SEV_HIGH, 0, detail(what, pg_strerror(e)),
	    NULL);
}

/* Steps 4-5: signature, payload, API version.  0 when the event may go
 * on, else the response is already set. */
static int
verify(struct rq *q, const struct app *a, struct event_info *ev)
{
	const char	*why;
	const char	*hdr = http_header(q->req, "Stripe-Signature");
	enum sig_result	 sr;
	size_t		 which = 0;
	struct json_object *d;
	struct app_refusal_ext x;

	sr = sig_verify(hdr, q->req->body.data, q->req->body.len,
	    a->c.cfg.wh_secrets, a->c.cfg.wh_nsecrets, a->c.cfg.wh_tolerance,
	    (int64_t)time(NULL), &which);
	if (sr != SIG_OK) {
		memset(&x, 0, sizeof(x));
		x.code = sig_code(sr);
		x.message = sig_message(sr);
		reject(q, RF_SIGNATURE, &x, NULL);
		return -1;
	}
	if (event_validate(q->req->body.data, q->req->body.len, ev, &why) !=
	    PG_OK) {
		memset(&x, 0, sizeof(x));
		x.message = why;
		reject(q, RF_PAYLOAD, &x, detail("reason", why));
		return -1;
	}
	snprintf(q->resource, sizeof(q->resource), "webhook:%s", ev->id);
	if ((a->kinds & EVENT_KIND_BIT(ev->kind)) == 0) {
		d = detail("event_kind", event_kind_name(ev->kind));
		json_object_object_add(d, "event_type",
		    json_object_new_string(ev->type));
		reject(q, ev->kind == EVENT_THIN ? RF_KIND_THIN :
		    RF_KIND_SNAPSHOT, NULL, d);
		return -1;
	}
	/* Thin events have no api_version: the pin is a snapshot matter. */
	if (ev->kind == EVENT_SNAPSHOT && a->c.cfg.api_version != NULL &&
	    ev->api_version[0] != '\0' &&
	    strcmp(ev->api_version, a->c.cfg.api_version) != 0) {
		d = detail("event_api_version", ev->api_version);
		json_object_object_add(d, "pinned_api_version",
		    json_object_new_string(a->c.cfg.api_version));
		json_object_object_add(d, "event_type",
		    json_object_new_string(ev->type));
		if (a->c.cfg.wh_strict_version) {
			reject(q, RF_API_VERSION, NULL, d);
			return -1;
		}
		audit(q, AEV_WEBHOOK_API_VERSION_MISMATCH, SEV_LOW, 1, d, NULL);
	}
	return 0;
}

/* An accepted (or replayed) event's audit details, webhook fields. */
static struct json_object *
event_detail(const struct event_info *ev, const struct ev_hdr *h)
{
	return inbox_accept_detail(ev, h, h->source, INBOX_DETAIL_WEBHOOK);
}

/* Steps 6-7 and delivery. */
static void
accept_event(struct rq *q, struct app *a, const struct event_info *ev)
{
	enum inbox_outcome	 out;
	struct ev_hdr		 h;
	struct proc_result	 dr;
	int			 sync = a->c.cfg.wh_delivery == DELIVERY_SYNC;
	enum pg_err		 e;

	/* The audit record follows the durable commit: its index lives in
	 * the volatile environment, so it costs no fsync of its own. */
	e = inbox_accept(a->c.st, &a->c.ring, &a->c.cfg, ev, q->req->body.data,
	    q->req->body.len, sync, &out, &h);
	if (e != PG_OK) {
		server_error(q, "store_failure", "inbox", e);
		return;
	}
#ifdef PG_FAULTS
	/* Test builds only (build/faults/): die in the window between the
	 * inbox commit and the audit append (tests/e2e/test_audit_pending.sh). */
	if (out == INBOX_NEW && getenv("PAYGUARD_FAULT") != NULL &&
	    strcmp(getenv("PAYGUARD_FAULT"), "after_accept") == 0)
		raise(SIGKILL);
#endif
	switch (out) {
	case INBOX_DUPLICATE:
		http_resp_json(&q->resp, 200,
		    "{\"received\":true,\"duplicate\":true}\n");
		audit(q, AEV_WEBHOOK_REPLAY_DETECTED, SEV_MEDIUM, 1,
		    event_detail(ev, &h), "duplicate_not_delivered");
		return;
	case INBOX_IN_PROGRESS:
		http_resp_error(&q->resp, 409, "invalid_request_error",
		    "delivery_in_progress", NULL,
		    "This event is being delivered by another request; "
		    "retry later.");
		audit(q, AEV_WEBHOOK_REPLAY_DETECTED, SEV_MEDIUM, 0,
		    event_detail(ev, &h), "duplicate_not_delivered");
		return;
	case INBOX_NEW:
	case INBOX_RECLAIMED:
		break;
	}
	if (!sync) {
		http_resp_json(&q->resp, 200, "{\"received\":true}\n");
		recorded(a, ev, out, audit(q, AEV_WEBHOOK_VALIDATED, SEV_LOW,
		    1, event_detail(ev, &h), NULL));
		return;
	}
	if ((e = deliver_claimed(a->c.st, &a->c.cfg, ev->id, &h, q->req->body.data,
	    q->req->body.len, &dr)) != PG_OK) {
		server_error(q, "store_failure", "inbox", e);
		return;
	}
	if (dr.ok) {
		http_resp_json(&q->resp, 200, "{\"received\":true}\n");
		recorded(a, ev, out, audit(q, AEV_WEBHOOK_VALIDATED, SEV_LOW,
		    1, event_detail(ev, &h), NULL));
	} else {
		/* 500 so that Stripe retries; the retry delivers again. */
		http_resp_error(&q->resp, 500, "api_error", "handler_failed",
		    NULL, "The site's handler failed; Stripe will retry.");
		struct json_object *d = event_detail(ev, &h);
		json_object_object_add(d, "error",
		    json_object_new_string(dr.error));
		recorded(a, ev, out, audit(q, AEV_WEBHOOK_DELIVERY_FAILED,
		    SEV_MEDIUM, 0, d, NULL));
	}
}

static void
handle(void *arg, struct http_req *req)
{
	struct app		*a = arg;
	struct rq		 q;
	struct rl_result	 rl;
	struct event_info	 ev;
	struct app_refusal_ext	 x;
	struct json_object	*d;
	const char		*code = NULL;
	char			 rlkey[96];
	int			 st;
	enum pg_err		 e;

	memset(&q, 0, sizeof(q));
	q.req = req;
	http_resp_init(&q.resp);
	ip_client(req->remote_addr, http_header(req, "X-Forwarded-For"),
	    &a->trusted, q.client, sizeof(q.client));
	app_audit_ctx(&a->c, req, q.client, "stripe", &q.actx);
	snprintf(q.resource, sizeof(q.resource), "webhook");

	if (!a->c.ready) {
		/* The reason went to the error log once, at start-up. */
		http_resp_error(&q.resp, 500, "api_error", NULL, NULL,
		    "The webhook endpoint is not available.");
		goto send;
	}
	/* 0. Card data in the URL or a header (never from Stripe): exposed
	 * on the way here whatever we answer, so recorded, HIGH. */
	if ((d = app_exposure(req, 1)) != NULL)
		audit(&q, AEV_DATA_EXPOSURE, SEV_HIGH, 0, d, NULL);
	/* 1. Rate limit, before any other work. */
	/* IPv4 by address, IPv6 by prefix: a /64 is one client. */
	rl_ip_key(q.client, a->c.cfg.rl_ipv6_prefix, rlkey, sizeof(rlkey));
	e = rl_check(a->c.st, &a->c.cfg, OP_WEBHOOK, rlkey, &rl);
	rl_headers(&rl, OP_WEBHOOK, &q.resp);
	if (rl.failed_open)
		audit(&q, AEV_STORE_FAILURE, SEV_HIGH, 0,
		    detail("rate_limiter", pg_strerror(e)), "failed_open");
	if (!rl.allowed) {
		reject(&q, RF_RATE_LIMITED, NULL, detail("operation", OP_WEBHOOK));
		goto send;
	}
	if (strcmp(req->method, "POST") != 0) {
		http_resp_header(&q.resp, "Allow", "POST");
		reject(&q, RF_METHOD, NULL, detail("reason", "method_not_allowed"));
		goto send;
	}
	/* 2. Source IP. */
	if (!ipset_match(&a->allow, q.client)) {
		reject(&q, RF_IP, NULL, NULL);
		goto send;
	}
	/* 3. The exact raw body, bounded. */
	if ((st = http_read_body(req, a->c.cfg.max_body, &code)) != 0) {
		memset(&x, 0, sizeof(x));
		x.status = st;
		x.code = code;
		reject(&q, st == 413 ? RF_BODY_TOO_LARGE : st == 411 ?
		    RF_BODY_NO_LENGTH : RF_BODY_MALFORMED, &x, NULL);
		goto send;
	}
	/* 4-5. Signature and payload. */
	if (verify(&q, a, &ev) != 0)
		goto send;
	/* 6-7. Duplicates, inbox, delivery. */
	accept_event(&q, a, &ev);
send:
	http_send(req, &q.resp);
	http_resp_free(&q.resp);
}

/* Loads everything the requests need; on failure logs one line naming
 * the problem (never a value) and leaves a->c.ready at 0. */
static void
setup(struct app *a)
{
	char		 why[192];
	char		 from[4096];
	size_t		 bad = 0;

	if (app_setup("webhook.fcgi", &a->c, CFG_NEED_WEBHOOK) != 0)
		return;
	a->c.ready = 0;
	if (a->c.cfg.wh_allowed_ips != NULL) {
		if (ipset_parse(a->c.cfg.wh_allowed_ips, &a->allow, &bad) != PG_OK) {
			log_warnx("refusing to serve: STRIPE_WEBHOOK_ALLOWED_IPS: "
			    "entry %zu is not an IP address or CIDR", bad);
			return;
		}
	} else if (iplist_load(&a->c.cfg, &a->allow, from,
	    sizeof(from)) != PG_OK) {
		log_warnx("refusing to serve: PAYGUARD_WEBHOOK_IPS_FILE: "
		    "cannot load %s", from);
		return;
	}
	if (a->c.cfg.trusted_proxies != NULL &&
	    ipset_parse(a->c.cfg.trusted_proxies, &a->trusted, &bad) != PG_OK) {
		log_warnx("refusing to serve: PAYGUARD_TRUSTED_PROXIES: "
		    "entry %zu is not an IP address or CIDR", bad);
		return;
	}
	if (event_kinds_parse(a->c.cfg.wh_event_kinds, &a->kinds) != PG_OK) {
		log_warnx("refusing to serve: PAYGUARD_EVENT_KINDS: expected "
		    "snapshot, thin or snapshot,thin");
		return;
	}
	if (forward_check(&a->c.cfg, why, sizeof(why)) != PG_OK) {
		log_warnx("refusing to serve: %s", why);
		return;
	}
	if (crypto_hmac_init() != PG_OK) {
		log_warnx("refusing to serve: cannot initialise HMAC");
		return;
	}
	a->c.ready = 1;
	/* Accept records a killed process still owed (auditpend.h). */
	a->c.settle_audit = 1;
	app_settle_audit(&a->c);
}

int
main(void)
{
	/* Static: zero without a memset that would touch all 48 KB of the
	 * two address sets, of which a start uses a few entries (plain
	 * CGI pays for every page it touches, at every request). */
	static struct app a;
	int		 rc;

	setup(&a);
	rc = app_serve(&a.c, handle, &a);
	app_free(&a.c);
	return rc;
}
