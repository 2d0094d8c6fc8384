/*
 * payguard - the shared program skeleton.
 */
#include <sys/stat.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "auditpend.h"
#include "aindex.h"
#include "harden.h"
#include "inbox.h"
#include "log.h"
#include "pci.h"
#include "store_redis.h"

#define SWEEP_BUDGET	64	/* expired records swept between requests */
#define CKPT_GAP_MS	10000	/* audit chain head made durable at most
				   this often (aindex_checkpoint) */

int
app_setup(const char *prog, struct app_core *c, unsigned int need)
{
	char		 err[256];
	enum pg_err	 e;

	log_init(prog);
	(void)harden_nocore();	/* before any secret is loaded */
	signal(SIGPIPE, SIG_IGN);
	umask(077);
	memset(c, 0, sizeof(*c));
	c->sweep = SWEEP_BUDGET;
	buf_init(&c->owed, APP_OWED_MAX * (EVENT_ID_MAX + 1));
	audit_log_init(&c->alog);
	if (config_load(&c->cfg, need & ~APP_NO_KEYRING, err, sizeof(err)) !=
	    PG_OK) {
		log_warnx("refusing to serve: %s", err);
		return -1;
	}
	if ((need & APP_NO_KEYRING) == 0 && (e = keyring_load(c->cfg.enc_keys,
	    c->cfg.state_dir, &c->ring)) != PG_OK) {
		log_warnx("refusing to serve: STRIPE_ENCRYPTION_KEY: %s",
		    pg_strerror(e));
		return -1;
	}
	/* STORE_SERVE: Redis down at start is a 503 per request until it
	 * is back, not a process that refuses to serve until restarted. */
	if (store_open_config(&c->cfg, (c->cfg.sync ? 0 : STORE_NOSYNC) |
	    STORE_SERVE, &c->st, err, sizeof(err)) != PG_OK) {
		log_warnx("refusing to serve: %s", err);
		return -1;
	}
	c->ready = 1;
	return 0;
}

void
app_settle_audit(struct app_core *c)
{
	struct audit_ctx actx;
	struct auditpend_res r;
	enum pg_err	 e;

	memset(&actx, 0, sizeof(actx));
	actx.state_dir = c->cfg.state_dir;
	actx.source_ip = "local";
	actx.user_agent = "payguard";
	actx.request_id = "";
	actx.identity = "payguard-recovery";
	actx.st = c->st;
	actx.log = &c->alog;
	actx.cfg = &c->cfg;
	c->last_settle = store_now_ms();
	if ((e = auditpend_settle(c->st, &c->ring, &c->cfg, &actx, 0, &r)) !=
	    PG_OK)
		log_warnx("audit: settling pending records: %s", pg_strerror(e));
}

void
app_recorded(struct app_core *c, const char *id)
{
	size_t	 len = c->owed.len;

	/* Markers are written by the local inbox only (not on Redis); one
	 * past the batch is left to the settling. */
	if (store_shared(c->st) != NULL || c->nowed >= APP_OWED_MAX)
		return;
	if (buf_append(&c->owed, id, strlen(id) + 1) == PG_OK)
		c->nowed++;
	else
		c->owed.len = len;
}

/* Removes the markers of owed ids (those still ours: auditpend.h). */
static void
drop_owed(struct app_core *c)
{
	const char	*ids[APP_OWED_MAX];
	const char	*p = c->owed.data;
	size_t		 i;

	if (c->nowed == 0)
		return;
	for (i = 0; i < c->nowed; i++) {
		ids[i] = p;
		p += strlen(p) + 1;
	}
	if (auditpend_drop_own(c->st, ids, c->nowed) != PG_OK)
		log_warnx("audit: own pending markers kept (the settling "
		    "removes them)");
	buf_reset(&c->owed);
	c->nowed = 0;
}

int
app_serve(struct app_core *c, app_handle_fn fn, void *app)
{
	struct http_server	*srv = NULL;
	struct http_req		 req;

	if (http_server_new(&srv) != PG_OK)
		return 1;
	c->once = http_is_cgi(srv);
	while (http_accept(srv, &req) == 1) {
		fn(app, &req);
		http_finish(&req);
		/* After the response: sweeping costs the client nothing. */
		if (c->ready) {
			if (c->once || c->nowed >= APP_OWED_MAX)
				drop_owed(c);
			store_maintain(c->st, c->sweep);
			/* Looked at once per gap per process, not per request. */
			if (store_now_ms() - c->last_ckpt >= CKPT_GAP_MS) {
				struct audit_ctx ac = { c->cfg.state_dir, "", "",
				    "", "payguard", c->st, &c->alog,
				    &c->cfg };

				c->last_ckpt = store_now_ms();
				drop_owed(c);
				aindex_checkpoint(c->st, CKPT_GAP_MS);
				/* Not again right after the start's (plain
				 * CGI: start, one request, exit). */
				if (c->settle_audit && store_now_ms() -
				    c->last_settle >= CKPT_GAP_MS)
					app_settle_audit(c);
				/* Floods of minutes that are over: their
				 * summary records (audit.h). */
				(void)audit_flood_flush(&ac);
			}
		}
	}
	if (c->ready)
		drop_owed(c);
	http_server_free(srv);
	return 0;
}

void
app_refuse(struct http_resp *resp, const struct app_refusal *row,
    const struct app_refusal_ext *x, struct json_object **details,
    struct app_refusal *out)
{
	*out = *row;
	if (x != NULL && x->status != 0)
		out->status = x->status;
	if (x != NULL && x->code != NULL)
		out->code = x->code;
	if (x != NULL && x->message != NULL)
		out->message = x->message;
	http_resp_error(resp, out->status, out->type, out->code,
	    x != NULL ? x->param : NULL, out->message);
	if (*details == NULL)
		*details = json_object_new_object();
	json_object_object_add(*details, "code",
	    json_object_new_string(out->code));
	json_object_object_add(*details, "status",
	    json_object_new_int(out->status));
}

void
app_audit_ctx(struct app_core *c, const struct http_req *req,
    const char *source_ip, const char *identity, struct audit_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->state_dir = c->cfg.state_dir;
	ctx->source_ip = source_ip != NULL ? source_ip : req->remote_addr;
	ctx->user_agent = req->user_agent;
	ctx->request_id = req->request_id;
	ctx->identity = identity;
	ctx->st = c->st;
	ctx->log = &c->alog;
	ctx->cfg = &c->cfg;
}

struct exposure_scan {
	char	 name[128];
	int	 found;
};

static int
header_has_pan(const char *name, const char *value, void *arg)
{
	struct exposure_scan	*h = arg;

	if (!pci_text_has_pan(value, strlen(value)))
		return 0;
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->found = 1;
	return 1;
}

struct json_object *
app_exposure(const struct http_req *req, int url)
{
	static const char *const url_params[] = { "REQUEST_URI", "PATH_INFO",
	    "QUERY_STRING" };
	struct exposure_scan	 h;
	struct json_object	*d = NULL;
	const char		*v, *where = "header";
	size_t			 i;

	memset(&h, 0, sizeof(h));
	/* The server may give the URL in one, two or all three. */
	for (i = 0; url && !h.found && i < sizeof(url_params) /
	    sizeof(url_params[0]); i++) {
		v = http_param(req, url_params[i]);
		if (v != NULL && pci_text_has_pan(v, strlen(v))) {
			h.found = 1;
			where = "url";
		}
	}
	if (!h.found)
		(void)http_each_param(req, "HTTP_", header_has_pan, &h);
	if (!h.found || (d = json_object_new_object()) == NULL)
		goto out;
	json_object_object_add(d, "where", json_object_new_string(where));
	if (strcmp(where, "header") == 0)
		json_object_object_add(d, "header",
		    json_object_new_string(h.name));
	json_object_object_add(d, "kind", json_object_new_string(
	    pci_kind_name(PCI_PAN)));
out:
	return d;
}

static int
count_dead(const char *id, const struct ev_hdr *h, void *arg)
{
	(void)id;
	if (h->state == EV_DEAD)
		(*(uint64_t *)arg)++;
	return 0;
}

static enum pg_err
chain_txn(struct store_txn *t, void *arg)
{
	struct metrics_gauges	*g = arg;
	unsigned char		 hash[ARECORD_HASH_LEN];
	enum pg_err		 e;

	e = aindex_head_get(t, &g->chain, hash);
	g->have_chain = e == PG_OK;
	return e == PG_NOTFOUND ? PG_OK : e;
}

enum pg_err
app_metrics_gauges(struct store *st, struct metrics_gauges *g)
{
	unsigned char	 hash[ARECORD_HASH_LEN];
	enum pg_err	 e;

	memset(g, 0, sizeof(*g));
	if ((e = inbox_backlog(st, &g->backlog, &g->oldest_pending_ms)) ==
	    PG_OK && (e = inbox_list(st, count_dead, &g->dead)) == PG_OK)
		e = store_run(st, 0, chain_txn, g);
	/* After a reboot, before the first record: the durable checkpoint
	 * (at most 10 s behind) rather than 0. */
	if (e == PG_OK && !g->have_chain &&
	    aindex_head_durable(st, &g->chain, hash) == PG_OK)
		g->have_chain = 1;
	return e;
}

void
app_free(struct app_core *c)
{
	buf_free(&c->owed);
	store_close(c->st);
	c->st = NULL;
	audit_log_close(&c->alog);
	keyring_wipe(&c->ring);
	config_free(&c->cfg);
}
