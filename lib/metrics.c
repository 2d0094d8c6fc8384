/*
 * payguard - Prometheus metrics over the store's volatile environment.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "metrics.h"

/* Key kinds after the 'K' prefix. */
#define K_AUDIT		'a'	/* type byte, severity byte */
#define K_RATE		'r'	/* operation */
#define K_CTR		'c'	/* counter byte, label value */
#define K_HIST		'h'	/* histogram byte, bucket byte */
#define H_SUM		0xfe	/* bucket byte of the sum (microseconds) */

static const double bounds[METRICS_BUCKETS - 1] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
};

static const struct {
	const char	*name;
	const char	*label;
	const char	*help;
} ctrs[MC__MAX] = {
	{ "payguard_idempotency_outcomes_total", "outcome",
	  "POST requests with an Idempotency-Key by outcome (new, replayed, "
	  "in_flight, mismatch)." },		/* MC_IDEMPOTENCY */
	{ "payguard_gateway_upstream_responses_total", "class",
	  "Gateway requests answered by Stripe by status class (2xx..5xx), "
	  "or none when no response came." },	/* MC_UPSTREAM */
	{ "payguard_webhook_deliveries_total", "outcome",
	  "Handler runs by outcome (ok, failed)." },	/* MC_DELIVERY */
};

static const struct {
	const char	*name;
	const char	*help;
} hists[MH__MAX] = {
	{ "payguard_webhook_delivery_duration_seconds",
	  "Time the site's handler took per delivery." },	/* MH_DELIVERY */
	{ "payguard_gateway_upstream_duration_seconds",
	  "Time Stripe took per gateway request, retries included." },
	  /* MH_UPSTREAM */
};

/* A label value as given when it is tame, else "other". */
static const char *
tame(const char *v)
{
	size_t	 n;

	if (v == NULL || (n = strlen(v)) == 0 || n > METRICS_LABEL_MAX ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_.:-") != n)
		return "other";
	return v;
}

static enum pg_err
add(struct store_txn *t, const unsigned char *k, size_t klen, uint64_t n)
{
	const void	*v;
	size_t		 vlen;
	unsigned char	 nv[8];
	uint64_t	 cur = 0;
	enum pg_err	 e;

	e = store_get(t, NS_AUDIT_X, k, klen, &v, &vlen, NULL);
	if (e == PG_OK && vlen == 8)
		cur = codec_be64_get(v);
	else if (e != PG_OK && e != PG_NOTFOUND)
		return e;
	codec_be64_put(nv, cur + n);
	return store_put(t, NS_AUDIT_X, k, klen, nv, sizeof(nv), 0, 0);
}

/* Key of counter c with label value v into k; its length. */
static size_t
ctr_key(enum metric_ctr c, const char *v, unsigned char k[3 + METRICS_LABEL_MAX])
{
	size_t	 n;

	v = tame(v);
	n = strlen(v);
	k[0] = 'K';
	k[1] = K_CTR;
	k[2] = (unsigned char)c;
	memcpy(k + 3, v, n);
	return 3 + n;
}

enum pg_err
metrics_audit_txn(struct store_txn *t, enum aevent type, enum audit_sev sev,
    const char *op)
{
	unsigned char	 k[2 + METRICS_LABEL_MAX];
	size_t		 n;
	enum pg_err	 e;

	if (type >= AEV__MAX || sev >= SEV__MAX)
		return PG_OK;	/* a name the table lacks: no metric */
	k[0] = 'K';
	k[1] = K_AUDIT;
	k[2] = (unsigned char)type;
	k[3] = (unsigned char)sev;
	if ((e = add(t, k, 4, 1)) != PG_OK || op == NULL)
		return e;
	op = tame(op);
	n = strlen(op);
	k[1] = K_RATE;
	memcpy(k + 2, op, n);
	return add(t, k, 2 + n, 1);
}

struct obs {
	enum metric_hist h;
	double		 s;
	enum metric_ctr	 c;
	const char	*v;
};

static enum pg_err
obs_txn(struct store_txn *t, void *arg)
{
	struct obs	*o = arg;
	unsigned char	 k[3 + METRICS_LABEL_MAX];
	size_t		 i, klen;
	enum pg_err	 e = PG_OK;

	if (o->c < MC__MAX) {
		klen = ctr_key(o->c, o->v, k);
		if ((e = add(t, k, klen, 1)) != PG_OK)
			return e;
	}
	if (o->h >= MH__MAX)
		return PG_OK;
	for (i = 0; i < METRICS_BUCKETS - 1 && o->s > bounds[i]; i++)
		;
	k[0] = 'K';
	k[1] = K_HIST;
	k[2] = (unsigned char)o->h;
	k[3] = (unsigned char)i;
	if ((e = add(t, k, 4, 1)) != PG_OK)
		return e;
	k[3] = H_SUM;
	return add(t, k, 4, (uint64_t)(o->s * 1e6 + 0.5));
}

enum pg_err
metrics_count(struct store *st, enum metric_ctr c, const char *v)
{
	struct obs	 o = { MH__MAX, 0, c, v };

	return c < MC__MAX ? store_run(st, 1, obs_txn, &o) : PG_EINVAL;
}

enum pg_err
metrics_observe(struct store *st, enum metric_hist h, double seconds,
    enum metric_ctr c, const char *v)
{
	struct obs	 o = { h, seconds < 0 ? 0 : seconds, c, v };

	return h < MH__MAX ? store_run(st, 1, obs_txn, &o) : PG_EINVAL;
}

/* ------------------------------------------------------------ reading */

#define MAX_ROWS	512	/* counter rows read per family */

struct row {
	char		 v[METRICS_LABEL_MAX + 1];
	uint64_t	 n;
};

struct snap {
	uint64_t	 audit[AEV__MAX][SEV__MAX];
	struct row	 rate[MAX_ROWS];
	size_t		 nrate;
	struct row	 ctr[MC__MAX][MAX_ROWS];
	size_t		 nctr[MC__MAX];
	uint64_t	 bucket[MH__MAX][METRICS_BUCKETS];
	uint64_t	 sum_us[MH__MAX];
};

static void
put_row(struct row *rows, size_t *n, const void *v, size_t vlen, uint64_t c)
{
	if (*n >= MAX_ROWS || vlen > METRICS_LABEL_MAX)
		return;
	memcpy(rows[*n].v, v, vlen);
	rows[*n].v[vlen] = '\0';
	rows[*n].n = c;
	(*n)++;
}

static int
snap_one(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t exp, void *arg)
{
	struct snap		*s = arg;
	const unsigned char	*k = key;
	uint64_t		 n;

	(void)exp;
	if (klen < 3 || k[0] != 'K' || vlen != 8)
		return 0;
	n = codec_be64_get(val);
	switch (k[1]) {
	case K_AUDIT:
		if (klen == 4 && k[2] < AEV__MAX && k[3] < SEV__MAX)
			s->audit[k[2]][k[3]] = n;
		break;
	case K_RATE:
		put_row(s->rate, &s->nrate, k + 2, klen - 2, n);
		break;
	case K_CTR:
		if (k[2] < MC__MAX)
			put_row(s->ctr[k[2]], &s->nctr[k[2]], k + 3, klen - 3, n);
		break;
	case K_HIST:
		if (klen != 4 || k[2] >= MH__MAX)
			break;
		if (k[3] < METRICS_BUCKETS)
			s->bucket[k[2]][k[3]] = n;
		else if (k[3] == H_SUM)
			s->sum_us[k[2]] = n;
		break;
	default:
		break;
	}
	return 0;
}

static enum pg_err
snap_txn(struct store_txn *t, void *arg)
{
	return store_scan(t, NS_AUDIT_X, "K", 1, "L", 1, 0, snap_one, arg);
}
static enum pg_err
family(struct buf *b, const char *name, const char *type, const char *help)
{
	return buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* Rate-limit operations that are configured (others fold into "other"). */
static int
known_op(const struct config *cfg, const char *op)
{
	size_t	 i;

	for (i = 0; i < cfg->rl_nops; i++)
		if (strcmp(cfg->rl_ops[i].name, op) == 0)
			return 1;
	return 0;
}

static enum pg_err
render_audit(struct buf *b, const struct snap *s, const struct config *cfg)
{
	const char	*name;
	uint64_t	 n, other = 0;
	size_t		 t, v, i;
	enum pg_err	 e;

	e = family(b, "payguard_webhook_outcomes_total", "counter",
	    "Webhook requests by outcome (the webhook_* audit record types).");
	for (t = 0; e == PG_OK && t < AEV__MAX; t++) {
		name = aevent_name((enum aevent)t);
		if (strncmp(name, "webhook_", 8) != 0)
			continue;
		for (n = 0, v = 0; v < SEV__MAX; v++)
			n += s->audit[t][v];
		e = buf_printf(b, "payguard_webhook_outcomes_total{outcome=\"%s\"}"
		    " %" PRIu64 "\n", name + 8, n);
	}
	if (e == PG_OK)
		e = family(b, "payguard_audit_records_total", "counter",
		    "Audit records written by event type and severity.");
	for (t = 0; e == PG_OK && t < AEV__MAX; t++)
		for (v = 0; e == PG_OK && v < SEV__MAX; v++)
			if (s->audit[t][v] > 0)
				e = buf_printf(b, "payguard_audit_records_total"
				    "{type=\"%s\",severity=\"%s\"} %" PRIu64 "\n",
				    aevent_name((enum aevent)t),
				    aevent_sev_name((enum audit_sev)v),
				    s->audit[t][v]);
	if (e == PG_OK)
		e = family(b, "payguard_rate_limited_total", "counter",
		    "Requests refused by the rate limiter, by operation.");
	for (i = 0; e == PG_OK && i < s->nrate; i++) {
		if (!known_op(cfg, s->rate[i].v)) {
			other += s->rate[i].n;
			continue;
		}
		e = buf_printf(b, "payguard_rate_limited_total{operation=\"%s\"} "
		    "%" PRIu64 "\n", s->rate[i].v, s->rate[i].n);
	}
	if (e == PG_OK && other > 0)
		e = buf_printf(b, "payguard_rate_limited_total{operation="
		    "\"other\"} %" PRIu64 "\n", other);
	return e;
}

static enum pg_err
render_hist(struct buf *b, const struct snap *s, enum metric_hist h)
{
	const char	*n = hists[h].name;
	uint64_t	 cum = 0;
	size_t		 i;
	enum pg_err	 e;

	e = family(b, n, "histogram", hists[h].help);
	for (i = 0; e == PG_OK && i < METRICS_BUCKETS; i++) {
		cum += s->bucket[h][i];
		if (i < METRICS_BUCKETS - 1)
			e = buf_printf(b, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", n,
			    bounds[i], cum);
		else
			e = buf_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n",
			    n, cum);
	}
	if (e == PG_OK)
		e = buf_printf(b, "%s_sum %.6f\n%s_count %" PRIu64 "\n", n,
		    (double)s->sum_us[h] / 1e6, n, cum);
	return e;
}

enum pg_err
metrics_render(struct store *st, const struct config *cfg,
    const struct metrics_gauges *g, struct buf *out)
{
	struct snap	*s;
	uint64_t	 now = store_now_ms();
	size_t		 c, i;
	enum pg_err	 e;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PG_ENOMEM;
	if ((e = store_run(st, 0, snap_txn, s)) != PG_OK)
		goto out;
	if ((e = render_audit(out, s, cfg)) != PG_OK)
		goto out;
	for (c = 0; e == PG_OK && c < MC__MAX; c++) {
		e = family(out, ctrs[c].name, "counter", ctrs[c].help);
		for (i = 0; e == PG_OK && i < s->nctr[c]; i++)
			e = buf_printf(out, "%s{%s=\"%s\"} %" PRIu64 "\n",
			    ctrs[c].name, ctrs[c].label, s->ctr[c][i].v,
			    s->ctr[c][i].n);
	}
	for (c = 0; e == PG_OK && c < MH__MAX; c++)
		e = render_hist(out, s, (enum metric_hist)c);
	if (e == PG_OK)
		e = family(out, "payguard_inbox_backlog_events", "gauge",
		    "Events waiting for (another) delivery attempt or being "
		    "delivered.");
	if (e == PG_OK)
		e = buf_printf(out, "payguard_inbox_backlog_events %" PRIu64 "\n",
		    g->backlog);
	if (e == PG_OK)
		e = family(out, "payguard_inbox_oldest_pending_age_seconds",
		    "gauge", "Age of the oldest event still waiting for "
		    "delivery (0: none).");
	if (e == PG_OK)
		e = buf_printf(out, "payguard_inbox_oldest_pending_age_seconds "
		    "%.3f\n", g->oldest_pending_ms != 0 &&
		    now > g->oldest_pending_ms ?
		    (double)(now - g->oldest_pending_ms) / 1000.0 : 0.0);
	if (e == PG_OK)
		e = family(out, "payguard_inbox_dead_letter_events", "gauge",
		    "Events that failed every attempt (payguard inbox retry).");
	if (e == PG_OK)
		e = buf_printf(out, "payguard_inbox_dead_letter_events %" PRIu64
		    "\n", g->dead);
	if (e == PG_OK)
		e = family(out, "payguard_audit_chain_length", "gauge",
		    "Sequence number of the last record in the audit chain.");
	if (e == PG_OK)
		e = buf_printf(out, "payguard_audit_chain_length %" PRIu64 "\n",
		    g->have_chain ? g->chain : 0);
out:
	free(s);
	return e;
}
