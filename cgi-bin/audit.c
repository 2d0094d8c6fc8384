/*
 * payguard - audit.cgi, the admin audit page (plain CGI).
 *
 * Routes (all on the script's own URL):
 *   GET  ?hours=&severity=&type=&ip=&before=   the dashboard: summary
 *        cards, alert panel, SVG chart of events per hour by severity,
 *        the filtered events table with paging, inbox backlog
 *   GET  ?event=TS-SEQ                         one event in full
 *   GET  ?format=json|csv&<filter>             export of the filter
 *   GET  ?asset=css                            the stylesheet
 *   POST action=mitigate&key=TS-SEQ&csrf=T&note=...   mark mitigated
 * Inputs: REMOTE_USER (the web server authenticates; Basic auth over
 * HTTPS, apache-conf/audit-basic-auth.conf), which must be listed in
 * PAYGUARD_ADMIN_USERS, else 403 and an admin_access_denied record.
 * Every view is recorded as admin_access (PCI DSS 10.2.1.3).  HTML comes
 * from PAYGUARD_TEMPLATE_DIR through lib/template (every value escaped);
 * no script at all, CSP without unsafe-*, so it works with JS off.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "aindex.h"
#include "alert.h"
#include "app.h"
#include "audit.h"
#include "aout.h"
#include "aquery.h"
#include "ascan.h"
#include "astats.h"
#include "codec.h"
#include "config.h"
#include "csrf.h"
#include "http.h"
#include "inbox.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "template.h"

#define PAGE_ROWS	50
#define FORM_MAX	4096
#define SWEEP_BUDGET	1000	/* index records swept after a view */

#define CHART_W		720
#define CHART_H		180
#define CHART_BARS	48

#define HTML_CSP	"default-src 'none'; style-src 'self'; img-src 'self'; " \
			"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

/* Everything read before the first accept; read-only afterwards. */
struct app {
	struct app_core		 c;	/* configuration, store */
};

/* Per-request state. */
struct page {
	const struct config	*cfg;
	struct http_req		*req;
	struct http_resp	 resp;
	struct store		*st;
	struct audit_ctx	 actx;
	const char		*user;
	const char		*script;
	char			 csrf[CSRF_TOKEN_LEN + 1];
};

/* ------------------------------------------------------------ helpers */

static void
audit_as(struct page *p, enum aevent type, enum audit_sev sev, int ok,
    const char *resource, struct json_object *d)
{
	audit_event(&p->actx, type, sev, ok, resource, d, NULL);
}

/* A record with its type's default severity (lib/aevent.c). */
static void
audit(struct page *p, enum aevent type, int ok, const char *resource,
    struct json_object *d)
{
	audit_as(p, type, aevent_sev(type), ok, resource, d);
}

/* Returns 1 if user is a whole item of the comma/space list. */
static int
is_admin(const char *list, const char *user)
{
	const char	*p = list;
	size_t		 n, ulen = strlen(user);

	if (list == NULL || ulen == 0)
		return 0;
	while (*p != '\0') {
		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n == ulen && memcmp(p, user, n) == 0)
			return 1;
		p += n;
	}
	return 0;
}

/* script?hours=..&severity=..&type=..&ip=..[&extra] */
static struct json_object *
href(const struct page *p, const struct aquery_filter *f, unsigned int hours,
    const char *extra)
{
	struct json_object *o;
	struct buf	 b;

	buf_init(&b, 4096);
	buf_printf(&b, "%s?hours=%u", p->script, hours);
	if (f->sev >= 0)
		buf_printf(&b, "&severity=%s", aevent_sev_name(f->sev));
	if (f->type[0] != '\0') {
		buf_puts(&b, "&type=");
		codec_pct_encode(&b, f->type);
	}
	if (f->ip[0] != '\0') {
		buf_puts(&b, "&ip=");
		codec_pct_encode(&b, f->ip);
	}
	if (f->node[0] != '\0') {
		buf_puts(&b, "&node=");
		codec_pct_encode(&b, f->node);
	}
	if (extra != NULL)
		buf_printf(&b, "&%s", extra);
	o = json_object_new_string(b.data ? b.data : p->script);
	buf_free(&b);
	return o;
}

static void
jset(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

static void
jint(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

/* A field of a record for display: "" when absent. */
static const char *
jget(struct json_object *o, const char *k)
{
	const char	*s = arecord_get(o, k, 1);

	return s != NULL ? s : "";
}
static void
fmt_time(uint64_t ms, char out[32])
{
	time_t		 t = (time_t)(ms / 1000);
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* ------------------------------------------------------------ the query */

/*
 * Every key of the query string and of the mitigate form, with its
 * validator and bound (kcgi's kvalid tables are the model).  A value that
 * fails its validator is not in q->set but in q->bad, so a handler sees
 * either a checked value or nothing; a repeated key: the last one counts.
 */
enum key {
	KEY_HOURS = 0,	/* the filter: KEY_HOURS..KEY_BEFORE */
	KEY_SEVERITY,
	KEY_TYPE,
	KEY_IP,
	KEY_NODE,
	KEY_BEFORE,
	KEY_EVENT,	/* the page */
	KEY_FORMAT,
	KEY_ASSET,
	KEY_ACTION,	/* the mitigate form */
	KEY_KEY,
	KEY_CSRF,
	KEY_NOTE,
	KEY__MAX
};

#define KEY_VAL_MAX	160	/* bytes of a decoded value, NUL included */

struct query {
	char	 v[KEY__MAX][KEY_VAL_MAX];
	int	 set[KEY__MAX];
	int	 bad[KEY__MAX];
};

struct kvalid {
	const char	*name;
	int		(*valid)(enum key, char *);
	size_t		 max;		/* value bytes, < KEY_VAL_MAX */
};

static int	valid_filter(enum key, char *);
static int	valid_tskey(enum key, char *);
static int	valid_format(enum key, char *);
static int	valid_action(enum key, char *);
static int	valid_text(enum key, char *);

static const struct kvalid keys[KEY__MAX] = {
	{ "hours", valid_filter, 127 },		/* KEY_HOURS */
	{ "severity", valid_filter, 127 },	/* KEY_SEVERITY */
	{ "type", valid_filter, 127 },		/* KEY_TYPE */
	{ "ip", valid_filter, 127 },		/* KEY_IP */
	{ "node", valid_filter, 127 },		/* KEY_NODE */
	{ "before", valid_filter, 127 },	/* KEY_BEFORE */
	{ "event", valid_tskey, 63 },		/* KEY_EVENT */
	{ "format", valid_format, 63 },		/* KEY_FORMAT */
	{ "asset", valid_text, 63 },		/* KEY_ASSET */
	{ "action", valid_action, 31 },		/* KEY_ACTION */
	{ "key", valid_tskey, 47 },		/* KEY_KEY */
	{ "csrf", valid_text, 79 },		/* KEY_CSRF */
	{ "note", valid_text, 159 },		/* KEY_NOTE */
};

/* TS-SEQ, two decimal numbers: an index key. */
static int
parse_key(const char *s, uint64_t *ts, uint64_t *seq)
{
	char	*ep;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	*ts = strtoull(s, &ep, 10);
	if (*ep != '-' || ep[1] < '0' || ep[1] > '9')
		return -1;
	*seq = strtoull(ep + 1, &ep, 10);
	return *ep == '\0' ? 0 : -1;
}

/* What the filter accepts for the key (aquery_apply, on a scratch copy). */
static int
valid_filter(enum key k, char *v)
{
	struct aquery_filter f;
	char		 c[KEY_VAL_MAX];
	unsigned int	 h;

	aquery_filter_init(&f);
	snprintf(c, sizeof(c), "%s", v);
	return aquery_apply(&f, keys[k].name, strlen(keys[k].name), c, &h) ==
	    PG_OK;
}

static int
valid_tskey(enum key k, char *v)
{
	uint64_t	 ts, seq;

	(void)k;
	return parse_key(v, &ts, &seq) == 0;
}

static int
valid_format(enum key k, char *v)
{
	(void)k;
	return strcmp(v, "json") == 0 || strcmp(v, "csv") == 0;
}

static int
valid_action(enum key k, char *v)
{
	(void)k;
	return strcmp(v, "mitigate") == 0;
}

/* Any text: the decoder already refused NULs and bad escapes. */
static int
valid_text(enum key k, char *v)
{
	(void)k;
	(void)v;
	return 1;
}

/* Splits, decodes and validates s (len bytes) into q; unknown keys and
 * pieces without '=' are ignored. */
static void
query_parse(const char *s, size_t len, struct query *q)
{
	const char		*p = s;
	struct codec_pair	 pr;
	int			 k;

	memset(q, 0, sizeof(*q));
	while (s != NULL && codec_query_next(&p, s + len, &pr)) {
		if (pr.value == NULL)
			continue;
		for (k = 0; k < KEY__MAX; k++)
			if (strlen(keys[k].name) == pr.nlen &&
			    memcmp(keys[k].name, pr.name, pr.nlen) == 0)
				break;
		if (k == KEY__MAX)
			continue;
		q->set[k] = q->bad[k] = 0;
		if (codec_pct_decode(pr.value, pr.vlen, q->v[k],
		    keys[k].max + 1, NULL) != PG_OK) {
			q->v[k][0] = '\0';
			q->bad[k] = 1;
		} else if (!keys[k].valid((enum key)k, q->v[k]))
			q->bad[k] = 1;
		else
			q->set[k] = 1;
	}
}

/* The filter of the query; -1 when one of its keys is not valid. */
static int
query_filter(const struct query *q, struct aquery_filter *f,
    unsigned int *hours)
{
	char	 c[KEY_VAL_MAX];
	int	 k;

	aquery_filter_init(f);
	*hours = AQUERY_HOURS_DEFAULT;
	for (k = KEY_HOURS; k <= KEY_BEFORE; k++) {
		if (q->bad[k])
			return -1;
		snprintf(c, sizeof(c), "%s", q->v[k]);
		if (q->set[k] && aquery_apply(f, keys[k].name,
		    strlen(keys[k].name), c, hours) != PG_OK)
			return -1;
	}
	aquery_window(f, store_now_us(), *hours);
	return 0;
}

/* ------------------------------------------------------------ rendering */

static int
render(struct page *p, int status, const char *name, struct json_object *d)
{
	char		*src = NULL;
	size_t		 len, missing = 0;
	enum pg_err	 e;

	p->resp.status = status;
	p->resp.content_type = "text/html";
	p->resp.csp = HTML_CSP;
	buf_reset(&p->resp.body);
	jset(d, "script", p->script);
	jset(d, "user", p->user ? p->user : "");
	if ((e = tmpl_open(p->cfg->template_dir, name, &src, &len)) == PG_OK)
		e = tmpl_render(src, len, d, &p->resp.body, &missing);
	free(src);
	if (e != PG_OK) {
		log_warnx("template %s: %s", name, pg_strerror(e));
		p->resp.status = 500;
		p->resp.content_type = "text/plain";
		buf_reset(&p->resp.body);
		buf_puts(&p->resp.body, "The audit page is not available.\n");
		return -1;
	}
	return 0;
}

static void
plain(struct page *p, int status, const char *msg)
{
	struct json_object *d = json_object_new_object();

	jset(d, "message", msg);
	jint(d, "status", status);
	jset(d, "reason", http_reason(status));
	render(p, status, "audit_error.html", d);
	json_object_put(d);
}

static struct json_object *
card(const char *label, const char *value, const char *cls)
{
	struct json_object *c = json_object_new_object();

	jset(c, "label", label);
	jset(c, "value", value);
	jset(c, "cls", cls);
	return c;
}

static struct json_object *
cards(const struct astats *s)
{
	struct json_object *a = json_object_new_array();
	char		 v[64];

	snprintf(v, sizeof(v), "%" PRIu64, s->total);
	json_object_array_add(a, card("Events", v, ""));
	if (s->sig_rate < 0)
		snprintf(v, sizeof(v), "n/a");
	else
		snprintf(v, sizeof(v), "%.1f%%", s->sig_rate);
	json_object_array_add(a, card("Signature success", v,
	    s->sig_rate >= 0 && s->sig_rate < 95 ? "warn" : ""));
	snprintf(v, sizeof(v), "%" PRIu64, s->invalid_ip);
	json_object_array_add(a, card("Invalid IP attempts", v, s->invalid_ip ? "warn" : ""));
	snprintf(v, sizeof(v), "%" PRIu64, s->replay);
	json_object_array_add(a, card("Replay attempts", v, s->replay ? "warn" : ""));
	snprintf(v, sizeof(v), "%" PRIu64, s->payload_bad);
	json_object_array_add(a, card("Payload failures", v, ""));
	snprintf(v, sizeof(v), "%" PRIu64, s->rate_limited);
	json_object_array_add(a, card("Rate-limit violations", v, ""));
	snprintf(v, sizeof(v), "%.2f / %" PRIu64, s->req_avg_min, s->req_peak_min);
	json_object_array_add(a, card("Requests/min avg / peak", v, ""));
	snprintf(v, sizeof(v), "%" PRIu64, s->by_sev[SEV_HIGH] +
	    s->by_sev[SEV_CRITICAL]);
	json_object_array_add(a, card("High + critical", v,
	    s->by_sev[SEV_CRITICAL] ? "crit" : s->by_sev[SEV_HIGH] ? "warn" : ""));
	snprintf(v, sizeof(v), "%" PRIu64, s->backlog);
	json_object_array_add(a, card("Inbox backlog", v, s->backlog ? "warn" : ""));
	if (s->oldest_pending_ms == 0)
		snprintf(v, sizeof(v), "none");
	else
		snprintf(v, sizeof(v), "%" PRIu64 " s",
		    (store_now_ms() - s->oldest_pending_ms) / 1000);
	json_object_array_add(a, card("Oldest pending", v, ""));
	return a;
}

static struct json_object *
counts(const struct astats_count *c, size_t n)
{
	struct json_object *a = json_object_new_array(), *x;
	size_t		 i;

	for (i = 0; i < n; i++) {
		x = json_object_new_object();
		jset(x, "name", c[i].name);
		jint(x, "count", (int64_t)c[i].n);
		json_object_array_add(a, x);
	}
	return a;
}

/* Stacked bars, one per hour (grouped above CHART_BARS hours). */
static struct json_object *
chart(const struct astats *s)
{
	struct json_object *o = json_object_new_object(), *bars, *b, *labels, *l;
	uint64_t	 sums[CHART_BARS][SEV__MAX], tot, max = 1;
	size_t		 nb, group, i, k;
	int		 j, y, bh, w, x;
	char		 t[96], lab[32];

	memset(sums, 0, sizeof(sums));
	group = (s->nhours + CHART_BARS - 1) / CHART_BARS;
	nb = (s->nhours + group - 1) / group;
	for (i = 0; i < s->nhours; i++)
		for (j = 0; j < SEV__MAX; j++)
			sums[i / group][j] += s->hourly[i][j];
	for (k = 0; k < nb; k++) {
		for (tot = 0, j = 0; j < SEV__MAX; j++)
			tot += sums[k][j];
		if (tot > max)
			max = tot;
	}
	w = (CHART_W - 40) / (int)nb;
	bars = json_object_new_array();
	labels = json_object_new_array();
	for (k = 0; k < nb; k++) {
		x = 36 + (int)k * w;
		y = CHART_H - 20;
		for (j = 0; j < SEV__MAX; j++) {
			if (sums[k][j] == 0)
				continue;
			bh = (int)((double)sums[k][j] * (CHART_H - 30) / (double)max);
			if (bh < 1)
				bh = 1;
			y -= bh;
			b = json_object_new_object();
			jint(b, "x", x);
			jint(b, "y", y);
			jint(b, "w", w > 2 ? w - 1 : 1);
			jint(b, "h", bh);
			jset(b, "sev", aevent_sev_name((enum audit_sev)j));
			snprintf(t, sizeof(t), "%s: %" PRIu64 " (%zu h ago)",
			    aevent_sev_name((enum audit_sev)j), sums[k][j],
			    (nb - k) * group);
			jset(b, "title", t);
			json_object_array_add(bars, b);
		}
		if (k % (nb > 12 ? nb / 6 : 1) == 0) {
			l = json_object_new_object();
			jint(l, "x", x);
			snprintf(lab, sizeof(lab), "-%zuh", (nb - k) * group);
			jset(l, "text", lab);
			json_object_array_add(labels, l);
		}
	}
	jint(o, "width", CHART_W);
	jint(o, "height", CHART_H);
	jint(o, "max", (int64_t)max);
	jint(o, "base", CHART_H - 20);
	json_object_object_add(o, "bars", bars);
	json_object_object_add(o, "labels", labels);
	return o;
}

struct rowctx {
	struct page		*p;
	struct json_object	*rows;
	uint64_t		 last_ts, last_seq;
	size_t			 n;
};

static int
table_row(const struct aquery_row *row, void *arg)
{
	struct rowctx		*rc = arg;
	struct json_object	*j, *r;
	char			 key[48], h[128];

	if ((j = aout_row_json(row)) == NULL)
		return 0;
	r = json_object_new_object();
	snprintf(key, sizeof(key), "%" PRIu64 "-%" PRIu64, row->ts_us, row->seq);
	snprintf(h, sizeof(h), "%s?event=%s", rc->p->script, key);
	jset(r, "href", h);
	jset(r, "ts", jget(j, "timestamp"));
	jset(r, "sev", aevent_sev_name(row->sev));
	jset(r, "type", jget(j, "event_type"));
	jset(r, "ip", jget(j, "source_ip"));
	jset(r, "identity", jget(j, "identity"));
	jset(r, "node", row->node);
	jset(r, "outcome", jget(j, "outcome"));
	jset(r, "resource", jget(j, "resource"));
	jset(r, "user_agent", jget(j, "user_agent"));
	json_object_object_add(r, "mitigated",
	    json_object_new_boolean(row->mitigated || strcmp(jget(j,
	    "mitigated"), "true") == 0));
	json_object_array_add(rc->rows, r);
	json_object_put(j);
	rc->last_ts = row->ts_us;
	rc->last_seq = row->seq;
	rc->n++;
	return 0;
}

static void
filter_form(struct json_object *d, const struct aquery_filter *f,
    unsigned int hours, const struct astats *s)
{
	static const unsigned int hopts[] = { 1, 6, 24, 72, 168, 720 };
	struct json_object *a, *o;
	size_t		 i;
	int		 j;

	a = json_object_new_array();
	for (i = 0; i < sizeof(hopts) / sizeof(hopts[0]); i++) {
		o = json_object_new_object();
		jint(o, "value", hopts[i]);
		json_object_object_add(o, "selected",
		    json_object_new_boolean(hopts[i] == hours));
		json_object_array_add(a, o);
	}
	json_object_object_add(d, "hour_options", a);
	a = json_object_new_array();
	for (j = 0; j < SEV__MAX; j++) {
		o = json_object_new_object();
		jset(o, "value", aevent_sev_name((enum audit_sev)j));
		json_object_object_add(o, "selected",
		    json_object_new_boolean(f->sev == j));
		json_object_array_add(a, o);
	}
	json_object_object_add(d, "sev_options", a);
	json_object_object_add(d, "type_options", counts(s->types, s->ntypes));
	jint(d, "hours", hours);
	jset(d, "f_type", f->type);
	jset(d, "f_ip", f->ip);
	jset(d, "f_node", f->node);
}

static struct json_object *
alerts_json(const struct page *p, const struct astats *hour)
{
	struct alert_cfg	 ac;
	struct alert_result	 r;
	struct json_object	*a = json_object_new_array(), *x;
	size_t			 i;
	char			 err[128];

	alert_config(p->cfg->alert_thresholds, &ac, err, sizeof(err));
	alert_eval(&ac, hour, &r);
	for (i = 0; i < AL__MAX; i++) {
		if (!r.fired[i])
			continue;
		x = json_object_new_object();
		jset(x, "title", alert_title((enum alert_kind)i));
		jset(x, "name", alert_name((enum alert_kind)i));
		jint(x, "value", (int64_t)r.value[i]);
		jint(x, "threshold", (int64_t)ac.threshold[i]);
		if (i == AL_IDENTITY_RL)
			jset(x, "identity", r.who);
		json_object_array_add(a, x);
	}
	return a;
}

static void
dashboard(struct page *p, const struct query *q)
{
	struct astats	*s = NULL, *hr = NULL;
	struct json_object	*d = json_object_new_object();
	struct aquery_filter	 f;
	struct rowctx		 rc;
	unsigned int		 hours;
	int			 more = 0;
	char			 extra[64], gen[32];
	uint64_t		 backlog, oldest;

	if (query_filter(q, &f, &hours) != 0) {
		plain(p, 400, "The filter is not valid.");
		goto out;
	}
	f.limit = PAGE_ROWS;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (hr = calloc(1, sizeof(*hr))) == NULL ||
	    inbox_backlog(p->st, &backlog, &oldest) != PG_OK ||
	    astats_compute(p->st, 0, hours, backlog, oldest, s) != PG_OK ||
	    astats_compute(p->st, 0, 1, 0, 0, hr) != PG_OK) {
		plain(p, 500, "The audit index is not available.");
		goto out;
	}
	memset(&rc, 0, sizeof(rc));
	rc.p = p;
	rc.rows = json_object_new_array();
	if (aquery_run(p->st, &f, table_row, &rc, &more) != PG_OK) {
		json_object_put(rc.rows);
		plain(p, 500, "The audit index is not available.");
		goto out;
	}
	json_object_object_add(d, "rows", rc.rows);
	jint(d, "nrows", (int64_t)rc.n);
	json_object_object_add(d, "more", json_object_new_boolean(more));
	if (more) {
		snprintf(extra, sizeof(extra), "before=%" PRIu64 "-%" PRIu64,
		    rc.last_ts, rc.last_seq);
		json_object_object_add(d, "next_href", href(p, &f, hours, extra));
	}
	json_object_object_add(d, "paged", json_object_new_boolean(
	    f.before_ts != 0 || f.before_seq != 0));
	json_object_object_add(d, "newest_href", href(p, &f, hours, NULL));
	json_object_object_add(d, "json_href", href(p, &f, hours, "format=json"));
	json_object_object_add(d, "csv_href", href(p, &f, hours, "format=csv"));
	json_object_object_add(d, "cards", cards(s));
	json_object_object_add(d, "alerts", alerts_json(p, hr));
	json_object_object_add(d, "chart", chart(s));
	json_object_object_add(d, "top_ips", counts(s->top_ips, s->ntop_ips));
	json_object_object_add(d, "rl_ops", counts(s->rl_ops, s->nrl_ops));
	json_object_object_add(d, "rl_ids", counts(s->rl_ids, s->nrl_ids));
	jint(d, "backlog", (int64_t)s->backlog);
	filter_form(d, &f, hours, s);
	fmt_time(store_now_ms(), gen);
	jset(d, "generated", gen);
	render(p, 200, "audit_page.html", d);
out:
	free(s);
	free(hr);
	json_object_put(d);
}

struct one {
	struct json_object	*j;
	int			 mitigated;
	char			 action[256];
};

static int
get_one(const struct aquery_row *row, void *arg)
{
	struct one	*o = arg;

	o->j = aout_row_json(row);
	o->mitigated = row->mitigated;
	snprintf(o->action, sizeof(o->action), "%s", row->mitigation);
	return 1;
}

static void
event_page(struct page *p, const struct query *q)
{
	static const char *const fields[] = {
		"event_id", "event_type", "timestamp", "severity", "outcome",
		"identity", "source_ip", "user_agent", "request_id", "resource",
		"mitigated", "mitigation_action", "node", "seq", "prev", "hash",
	};
	struct json_object	*d = json_object_new_object(), *a, *x, *det;
	struct one		 o;
	const char		*key = q->v[KEY_EVENT];
	uint64_t		 ts, seq;
	size_t			 i;

	memset(&o, 0, sizeof(o));
	if (!q->set[KEY_EVENT] || parse_key(key, &ts, &seq) != 0) {
		plain(p, 400, "The event key is not valid.");
		goto out;
	}
	if (aquery_get(p->st, ts, seq, get_one, &o) != PG_OK || o.j == NULL) {
		plain(p, 404, "No such event in the audit index.");
		goto out;
	}
	a = json_object_new_array();
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		x = json_object_new_object();
		jset(x, "name", fields[i]);
		jset(x, "value", jget(o.j, fields[i]));
		json_object_array_add(a, x);
	}
	json_object_object_add(d, "fields", a);
	if (json_object_object_get_ex(o.j, "details", &det))
		jset(d, "details", json_object_to_json_string_ext(det,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	jset(d, "key", key);
	jset(d, "event_id", jget(o.j, "event_id"));
	jset(d, "event_type", jget(o.j, "event_type"));
	json_object_object_add(d, "mitigated",
	    json_object_new_boolean(o.mitigated ||
	    strcmp(jget(o.j, "mitigated"), "true") == 0));
	if (csrf_token(p->st, p->user, store_now_us() / AINDEX_HOUR_US,
	    p->csrf) == PG_OK)
		jset(d, "csrf", p->csrf);
	render(p, 200, "audit_event.html", d);
out:
	json_object_put(o.j);
	json_object_put(d);
}

struct exp {
	struct buf	*b;
	int		 csv;
	size_t		 n;
	int		 full;
};

static int
export_row(const struct aquery_row *row, void *arg)
{
	struct exp		*x = arg;
	struct json_object	*j;
	const char		*s;

	if (x->csv) {
		if (aout_csv_row(x->b, row) == PG_TOOLARGE)
			x->full = 1;
	} else if ((j = aout_row_json(row)) != NULL) {
		s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
		    JSON_C_TO_STRING_NOSLASHESCAPE);
		if ((x->n && buf_putc(x->b, ',') != PG_OK) ||
		    buf_puts(x->b, s) != PG_OK)
			x->full = 1;
		json_object_put(j);
	}
	x->n++;
	return x->full;
}

static void
export(struct page *p, const struct query *q)
{
	struct aquery_filter f;
	struct exp	 x;
	unsigned int	 hours;
	int		 more = 0, csv = strcmp(q->v[KEY_FORMAT], "csv") == 0;

	if (query_filter(q, &f, &hours) != 0) {
		plain(p, 400, "The filter is not valid.");
		return;
	}
	f.limit = AQUERY_LIMIT_MAX;
	memset(&x, 0, sizeof(x));
	x.b = &p->resp.body;
	x.csv = csv;
	buf_reset(x.b);
	if (csv)
		aout_csv_header(x.b);
	else
		buf_putc(x.b, '[');
	if (aquery_run(p->st, &f, export_row, &x, &more) != PG_OK) {
		plain(p, 500, "The audit index is not available.");
		return;
	}
	if (!csv)
		buf_puts(x.b, "]\n");
	p->resp.content_type = csv ? "text/csv" : "application/json";
	http_resp_header(&p->resp, "Content-Disposition",
	    "attachment; filename=\"payguard-audit.%s\"", csv ? "csv" : "json");
	if (more || x.full)
		http_resp_header(&p->resp, "X-Payguard-Truncated", "%d",
		    AQUERY_LIMIT_MAX);
}

static void
asset(struct page *p, const struct query *q)
{
	char	*src = NULL;
	size_t	 len;

	if (strcmp(q->v[KEY_ASSET], "css") != 0) {
		plain(p, 404, "No such asset.");
		return;
	}
	if (tmpl_open(p->cfg->template_dir, "audit.css", &src, &len) != PG_OK) {
		plain(p, 404, "No stylesheet.");
		return;
	}
	p->resp.content_type = "text/css";
	buf_reset(&p->resp.body);
	buf_append(&p->resp.body, src, len);
	free(src);
}

/* GET /metrics: the Prometheus exposition (lib/metrics.h), for a scrape
 * with basic auth.  Aggregates only, no record: not audited per scrape
 * (a refused scrape is, as every refused admin request). */
static void
metrics_page(struct page *p)
{
	struct metrics_gauges g;
	enum pg_err	 e;

	buf_reset(&p->resp.body);
	if ((e = app_metrics_gauges(p->st, &g)) != PG_OK ||
	    (e = metrics_render(p->st, p->cfg, &g, &p->resp.body)) != PG_OK) {
		log_warnx("metrics: %s", pg_strerror(e));
		plain(p, 500, "The metrics are not available.");
		return;
	}
	p->resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* Browsers send these on every POST: refuse anything cross-site. */
static int
same_origin(struct page *p)
{
	const char	*sfs = http_header(p->req, "Sec-Fetch-Site");
	const char	*origin = http_header(p->req, "Origin");
	const char	*host = http_header(p->req, "Host");
	const char	*o;

	if (sfs != NULL && strcmp(sfs, "same-origin") != 0 &&
	    strcmp(sfs, "none") != 0)
		return 0;
	if (origin == NULL || strcmp(origin, "null") == 0)
		return origin == NULL;
	if (host == NULL)
		return 0;
	o = strstr(origin, "://");
	return o != NULL && strcmp(o + 3, host) == 0;
}

static void
post(struct page *p)
{
	struct query	 q;
	char		 ref[64];
	const char	*code = NULL, *note;
	uint64_t	 ts, seq;
	struct json_object *d;
	int		 st;

	if ((st = http_read_body(p->req, FORM_MAX, &code)) != 0) {
		plain(p, st, "The form is not valid.");
		return;
	}
	query_parse(p->req->body.data, p->req->body.len, &q);
	if (!q.set[KEY_ACTION] || !q.set[KEY_KEY] ||
	    parse_key(q.v[KEY_KEY], &ts, &seq) != 0) {
		plain(p, 400, "The form is not valid.");
		return;
	}
	if (!q.set[KEY_CSRF] || !same_origin(p) ||
	    !csrf_check(p->st, p->user, store_now_us() / AINDEX_HOUR_US,
	    q.v[KEY_CSRF])) {
		d = json_object_new_object();
		jset(d, "reason", "csrf");
		audit_as(p, AEV_SECURITY_VALIDATION_FAILED, SEV_HIGH, 0,
		    "audit:mitigate", d);
		plain(p, 403, "The form has expired or did not come from this "
		    "page; reload the event and try again.");
		return;
	}
	note = q.set[KEY_NOTE] && q.v[KEY_NOTE][0] != '\0' ? q.v[KEY_NOTE] :
	    "reviewed";
	if (aindex_mitigate(p->st, ts, seq, note) != PG_OK) {
		plain(p, 404, "No such event in the audit index.");
		return;
	}
	/* "seconds,ms:seq": a key the masking leaves readable (TS-SEQ is
	 * one long digit run, and '.' joins digit groups into a candidate
	 * card number since issue 9) and ascan_reindex replays. */
	snprintf(ref, sizeof(ref), "%" PRIu64 ",%03" PRIu64 ":%" PRIu64,
	    ts / 1000000u, ts / 1000u % 1000u, seq);
	d = json_object_new_object();
	jset(d, "record", ref);
	jset(d, "note", note);
	/* An admin action is itself a record (PCI DSS 10.2.1.2). */
	audit(p, AEV_AUDIT_EVENT_MITIGATED, 1, "audit:mitigate", d);
	p->resp.status = 303;
	http_resp_header(&p->resp, "Location", "%s?event=%s", p->script,
	    q.v[KEY_KEY]);
	buf_reset(&p->resp.body);
}

/* After a reboot the index (volatile) starts empty: rebuild it from the
 * log before the first page shows it. */
static void
reindex_if_needed(struct page *p)
{
	struct ascan_reindex_res r;
	enum pg_err	 e;

	if ((e = ascan_ensure_indexed(p->st, p->cfg->state_dir, 0, &r)) != PG_OK)
		log_warnx("audit index rebuild: %s", pg_strerror(e));
	else if (r.ran && r.added > 0)
		log_warnx("audit index rebuilt from the log: %" PRIu64
		    " record(s)", r.added);
}

/* The pages a GET can ask for, by the key that names them. */
enum page_id {
	PAGE_ASSET = 0,
	PAGE_EVENT,
	PAGE_EXPORT,
	PAGE_DASHBOARD,
	PAGE__MAX
};

struct page_def {
	enum key	 key;		/* KEY__MAX: the default page */
	const char	*resource;	/* of its admin_access record, or NULL */
	void		(*fn)(struct page *, const struct query *);
};

/* In order of precedence: the first whose key is present is shown. */
static const struct page_def pages[PAGE__MAX] = {
	{ KEY_ASSET, NULL, asset },			/* PAGE_ASSET */
	{ KEY_EVENT, "audit:event:", event_page },	/* PAGE_EVENT */
	{ KEY_FORMAT, "audit:export:", export },	/* PAGE_EXPORT */
	{ KEY__MAX, "audit:dashboard", dashboard },	/* PAGE_DASHBOARD */
};

static void
dispatch(struct page *p)
{
	const char		*qs = http_param(p->req, "QUERY_STRING");
	const char		*pi = http_param(p->req, "PATH_INFO");
	const struct page_def	*pg;
	struct query		 q;
	char			 res[96];
	size_t			 i;

	if (pi != NULL && strcmp(pi, "/metrics") == 0) {
		metrics_page(p);
		return;
	}
	query_parse(qs, qs != NULL ? strlen(qs) : 0, &q);
	for (i = 0; i < PAGE__MAX; i++) {
		pg = &pages[i];
		/* An event key that is not valid still gets its page (a
		 * 400 saying so); any other bad page key is ignored. */
		if (pg->key == KEY__MAX || q.set[pg->key] ||
		    (pg->key == KEY_EVENT && q.bad[pg->key]))
			break;
	}
	/* PCI DSS 10.2.1.3: access to the audit trail is itself logged,
	 * before the page is drawn, so the view shows in it. */
	if (pg->resource != NULL) {
		snprintf(res, sizeof(res), "%s%s", pg->resource,
		    pg->key == KEY__MAX ? "" : q.v[pg->key]);
		audit(p, AEV_ADMIN_ACCESS, 1, res, NULL);
	}
	pg->fn(p, &q);
}

static void
handle(struct page *p)
{
	const char	*code = NULL;

	if (p->user == NULL || !is_admin(p->cfg->admin_users, p->user)) {
		/* Read a (bounded) form first: answering before the body is
		 * consumed makes mod_cgid reset the connection. */
		if (strcmp(p->req->method, "POST") == 0)
			(void)http_read_body(p->req, FORM_MAX, &code);
		audit(p, AEV_ADMIN_ACCESS_DENIED, 0, "audit.cgi", NULL);
		plain(p, 403, "This page is for the administrators listed in "
		    "PAYGUARD_ADMIN_USERS.");
	} else if (strcmp(p->req->method, "POST") == 0)
		post(p);
	else if (strcmp(p->req->method, "GET") == 0 ||
	    strcmp(p->req->method, "HEAD") == 0)
		dispatch(p);
	else {
		http_resp_header(&p->resp, "Allow", "GET, HEAD, POST");
		plain(p, 405, "Method not allowed.");
	}
}

static void
serve(void *arg, struct http_req *req)
{
	struct app	*a = arg;
	struct page	 p;

	memset(&p, 0, sizeof(p));
	p.cfg = &a->c.cfg;
	p.req = req;
	p.st = a->c.st;
	http_resp_init(&p.resp);
	/* Observatory extras on top of http.c's OWASP set. */
	http_resp_header(&p.resp, "Permissions-Policy",
	    "camera=(), microphone=(), geolocation=(), payment=()");
	http_resp_header(&p.resp, "Cross-Origin-Opener-Policy", "same-origin");
	http_resp_header(&p.resp, "X-Permitted-Cross-Domain-Policies", "none");
	p.user = http_param(req, "REMOTE_USER");
	if (p.user != NULL && p.user[0] == '\0')
		p.user = NULL;
	p.script = http_param(req, "SCRIPT_NAME");
	if (p.script == NULL || p.script[0] != '/' ||
	    strpbrk(p.script, "\"'<>?#&") != NULL)
		p.script = "/audit.cgi";
	app_audit_ctx(&a->c, req, NULL, p.user ? p.user : "anonymous",
	    &p.actx);
	if (!a->c.ready)
		plain(&p, 500, "The audit store is not available.");
	else {
		reindex_if_needed(&p);
		handle(&p);
	}
	http_send(req, &p.resp);
	http_resp_free(&p.resp);
}

/* The store and the configuration, once, before the first accept.  No
 * key ring: the page reads no sealed record. */
static void
setup(struct app *a)
{
	if (app_setup("audit.cgi", &a->c, APP_NO_KEYRING) != 0)
		return;
	a->c.sweep = SWEEP_BUDGET;
	/* Writes only when the configured retention changed. */
	aindex_set_retention(a->c.st, a->c.cfg.audit_retention_days);
}

int
main(void)
{
	struct app	 a;
	int		 rc;

	memset(&a, 0, sizeof(a));
	setup(&a);
	rc = app_serve(&a.c, serve, &a);
	app_free(&a.c);
	return rc;
}
