/*
 * payguard - queries over the audit index (see aquery.h).  Reads use one
 * read transaction per call (no long-lived readers: LMDB caveat).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aquery.h"
#include "buf.h"
#include "codec.h"
#include "store_redis.h"

void
aquery_filter_init(struct aquery_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->sev = -1;
}

/* Decimal, no sign, no garbage, at most max. */
static int
parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || x > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	return 0;
}

/* Event types and similar names: [A-Za-z0-9_.:-]. */
static int
valid_name(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' &&
		    *s != ':' && *s != '-')
			return 0;
	return 1;
}

/* IPv4/IPv6 text: hex digits, '.', ':'. */
static int
valid_ip(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isxdigit((unsigned char)*s) && *s != '.' && *s != ':')
			return 0;
	return 1;
}

enum pg_err
aquery_apply(struct aquery_filter *f, const char *k, size_t klen, char *val,
    unsigned int *hours)
{
	enum audit_sev	 sev;
	char		*dash;
	uint64_t	 a, b, h;

	if (klen == 5 && memcmp(k, "hours", 5) == 0) {
		if (val[0] == '\0')
			return PG_OK;
		if (parse_u64(val, AINDEX_HOURS_MAX, &h) != 0 || h == 0)
			return PG_EINVAL;
		*hours = (unsigned int)h;
	} else if (klen == 8 && memcmp(k, "severity", 8) == 0) {
		if (val[0] == '\0' || strcasecmp(val, "any") == 0)
			f->sev = -1;
		else if (aevent_sev_parse(val, &sev) == PG_OK)
			f->sev = (int)sev;
		else
			return PG_EINVAL;
	} else if (klen == 4 && memcmp(k, "type", 4) == 0) {
		if (!valid_name(val))
			return PG_EINVAL;
		snprintf(f->type, sizeof(f->type), "%s", val);
	} else if (klen == 4 && memcmp(k, "node", 4) == 0) {
		if (strlen(val) > 64 || !valid_name(val))
			return PG_EINVAL;
		snprintf(f->node, sizeof(f->node), "%s", val);
	} else if (klen == 2 && memcmp(k, "ip", 2) == 0) {
		if (strlen(val) > 64 || !valid_ip(val))
			return PG_EINVAL;
		snprintf(f->ip, sizeof(f->ip), "%s", val);
	} else if (klen == 6 && memcmp(k, "before", 6) == 0) {
		if (val[0] == '\0') {
			f->before_ts = f->before_seq = 0;
			return PG_OK;
		}
		if ((dash = strchr(val, '-')) == NULL)
			return PG_EINVAL;
		*dash = '\0';
		if (parse_u64(val, UINT64_MAX, &a) != 0 ||
		    parse_u64(dash + 1, UINT64_MAX, &b) != 0)
			return PG_EINVAL;
		f->before_ts = a;
		f->before_seq = b;
	}
	return PG_OK;
}

void
aquery_window(struct aquery_filter *f, uint64_t now_us, unsigned int hours)
{
	uint64_t	 span = (uint64_t)hours * AINDEX_HOUR_US;

	f->until_us = now_us + 1000000;
	f->since_us = now_us > span ? now_us - span : 0;
}

enum pg_err
aquery_parse(const char *qs, uint64_t now_us, struct aquery_filter *f,
    unsigned int *hours_out)
{
	const char		*p = qs;
	struct codec_pair	 pr;
	char			 val[AINDEX_STR_MAX];
	unsigned int		 hours = AQUERY_HOURS_DEFAULT;
	enum pg_err		 e;

	aquery_filter_init(f);
	while (qs != NULL && codec_query_next(&p, qs + strlen(qs), &pr)) {
		if (pr.value == NULL)
			continue;
		if (codec_pct_decode(pr.value, pr.vlen, val, sizeof(val),
		    NULL) != PG_OK)
			return PG_EINVAL;
		if ((e = aquery_apply(f, pr.name, pr.nlen, val, &hours)) !=
		    PG_OK)
			return e;
	}
	aquery_window(f, now_us, hours);
	if (hours_out != NULL)
		*hours_out = hours;
	return PG_OK;
}

struct qctx {
	const struct aquery_filter	*f;
	aquery_fn			 fn;
	void			*arg;
	size_t			 limit, n;
	int			 more, stop;
	struct buf		 line;		/* the row's line, unpacked */
	char			 mit[AINDEX_ACTION_MAX + 1];
	char			 node[AINDEX_STR_MAX + 1];
};

static int
str_eq(const char *a, size_t alen, const char *z)
{
	return alen == strlen(z) && memcmp(a, z, alen) == 0;
}

/* Applies the filters to a main-index record and hands it over. */
static int
deliver(struct qctx *q, const unsigned char *key, const void *val, size_t vlen)
{
	const struct aquery_filter	*f = q->f;
	struct aquery_row		 row;
	struct aindex_val		 v;

	if (aindex_val_unpack(val, vlen, &v) != 0)
		return 0;
	if ((f->sev >= 0 && v.sev != f->sev) ||
	    (f->type[0] != '\0' && !str_eq(v.type, v.tlen, f->type)) ||
	    (f->ip[0] != '\0' && !str_eq(v.ip, v.iplen, f->ip)) ||
	    (f->node[0] != '\0' && !str_eq(v.node, v.nlen, f->node)))
		return 0;
	if (q->n >= q->limit) {
		q->more = 1;
		q->stop = 1;
		return 1;
	}
	memset(&row, 0, sizeof(row));
	row.ts_us = codec_be64_get(key);
	row.seq = codec_be64_get(key + 8);
	buf_reset(&q->line);
	/* A value that does not unpack is no row (never half of one). */
	if (aindex_val_line(&v, row.ts_us, row.seq, &q->line) != PG_OK)
		return 0;
	q->n++;
	row.sev = (enum audit_sev)v.sev;
	row.success = v.success;
	row.mitigated = v.mitigated;
	memcpy(q->mit, v.action, v.alen);
	q->mit[v.alen] = '\0';
	row.mitigation = q->mit;
	memcpy(q->node, v.node, v.nlen);
	q->node[v.nlen] = '\0';
	row.node = q->node;
	row.line = q->line.data != NULL ? q->line.data : "";
	row.line_len = q->line.len;
	if (q->fn(&row, q->arg) != 0)
		q->stop = 1;
	return q->stop;
}

static int
main_one(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t exp, void *arg)
{
	(void)exp;
	if (klen != 16)
		return 0;
	return deliver(arg, key, val, vlen);
}

/* The ts of the first (last, when last != 0) record; -1 when none. */
static int
edge_one(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t exp, void *arg)
{
	(void)val; (void)vlen; (void)exp;
	if (klen != 16)
		return 0;
	*(uint64_t *)arg = codec_be64_get(key);
	return 1;
}

static int
edge_ts(void *h, int last, uint64_t *ts)
{
	struct store_txn	*t = h;

	*ts = UINT64_MAX;
	if (store_scan(t, NS_AUDIT, NULL, 0, NULL, 0, last, edge_one, ts) !=
	    PG_OK || *ts == UINT64_MAX)
		return -1;
	return 0;
}

/* Whether every filter the query sets has its marker in hour h. */
static int
hour_matches(void *th, const struct aquery_filter *f, uint64_t h)
{
	struct store_txn	*t = th;

	unsigned char	 k[STORE_KEY_MAX];
	const void	*v;
	size_t		 n;
	char		 sv[2];

	if (f->ip[0] != '\0' && store_get(t, NS_AUDIT_X, k, aindex_hkey(k, h,
	    AINDEX_M_IP, f->ip, strlen(f->ip)), &v, &n, NULL) != PG_OK)
		return 0;
	if (f->node[0] != '\0' && store_get(t, NS_AUDIT_X, k, aindex_hkey(k, h,
	    AINDEX_M_NODE, f->node, strlen(f->node)), &v, &n, NULL) != PG_OK)
		return 0;
	if (f->type[0] != '\0' && store_get(t, NS_AUDIT_X, k, aindex_hkey(k, h,
	    AINDEX_M_TYPE, f->type, strlen(f->type)), &v, &n, NULL) != PG_OK)
		return 0;
	if (f->sev >= 0) {
		aindex_sev_key(f->sev, sv);
		if (store_get(t, NS_AUDIT_X, k, aindex_hkey(k, h, AINDEX_M_SEV,
		    sv, 1), &v, &n, NULL) != PG_OK)
			return 0;
	}
	return 1;
}

/* What the walk below reads from: the LMDB transaction or the shared
 * index in Redis, through the same three questions. */
struct qsrc {
	void	*h;
	/* The ts of the oldest (last 0) or newest (1) record; -1: none. */
	int	 (*edge)(void *h, int last, uint64_t *ts);
	/* Whether hour holds a marker for every filter f sets. */
	int	 (*hour)(void *h, const struct aquery_filter *f, uint64_t hour);
	/* The rows in [lo, hi) (ts|seq, 16 bytes each), newest first. */
	enum pg_err (*range)(void *h, struct qctx *q,
		    const unsigned char lo[16], const unsigned char hi[16]);
};

static enum pg_err
lmdb_range(void *h, struct qctx *q, const unsigned char lo[16],
    const unsigned char hi[16])
{
	return store_scan(h, NS_AUDIT, lo, 16, hi, 16, 1, main_one, q);
}

/* The query's rows from src, newest first, into q. */
static enum pg_err
walk(const struct qsrc *src, struct qctx *q)
{
	const struct aquery_filter	*f = q->f;
	unsigned char		 s[16], e[16], cur[16];
	uint64_t		 until = f->until_us, first, last, h, lo, hi;
	int			 cursor;
	enum pg_err		 err = PG_OK;

	if (until == 0)
		until = UINT64_MAX;
	/* The paging cursor, when older than the window's end, is the
	 * end: rows strictly before (before_ts, before_seq). */
	cursor = (f->before_ts != 0 || f->before_seq != 0) &&
	    f->before_ts < until;
	codec_be64_put(cur, cursor ? f->before_ts : until);
	codec_be64_put(cur + 8, cursor ? f->before_seq : 0);
	codec_be64_put(s, f->since_us);
	codec_be64_put(s + 8, 0);
	if (f->ip[0] == '\0' && f->type[0] == '\0' && f->node[0] == '\0' &&
	    f->sev < 0)
		return src->range(src->h, q, s, cur);
	/* Filtered: hour by hour, newest first, reading only the hours
	 * whose markers say they hold a match; within the records that
	 * exist (a window "since the beginning" costs what is stored). */
	if (src->edge(src->h, 0, &first) != 0 ||
	    src->edge(src->h, 1, &last) != 0)
		return PG_OK;
	lo = (f->since_us > first ? f->since_us : first) / AINDEX_HOUR_US;
	hi = codec_be64_get(cur);
	hi = (hi > last ? last : hi) / AINDEX_HOUR_US;
	for (h = hi + 1; h-- > lo && !q->stop && err == PG_OK;) {
		if (!src->hour(src->h, f, h))
			continue;
		codec_be64_put(s, h * AINDEX_HOUR_US > f->since_us ?
		    h * AINDEX_HOUR_US : f->since_us);
		codec_be64_put(s + 8, 0);
		if (h == hi)
			memcpy(e, cur, 16);
		else {
			codec_be64_put(e, (h + 1) * AINDEX_HOUR_US);
			codec_be64_put(e + 8, 0);
		}
		err = src->range(src->h, q, s, e);
	}
	return err;
}

static enum pg_err
query_txn(struct store_txn *t, void *arg)
{
	struct qctx	*q = arg;
	struct qsrc	 src = { t, edge_ts, hour_matches, lmdb_range };

	/* store_run may run this again: start afresh. */
	q->n = 0;
	q->more = 0;
	q->stop = 0;
	return walk(&src, q);
}


/* ------------------------------------------------ the shared index */

#define RS_BATCH	256	/* members read per round trip */

/* One range of the shared set, newest first: members in [lo, hi)
 * (ts|seq bounds, 16 bytes each), their records fetched with one MGET
 * per batch and handed to deliver. */
static enum pg_err
rs_range(void *h, struct qctx *q, const unsigned char lo[16],
    const unsigned char hi[16])
{
	struct rstore	*rs = h;

	unsigned char	 zk[64], lb[17], hb[17 + AINDEX_STR_MAX];
	unsigned char	(*keys)[STORE_KEY_MAX + 32] = NULL;
	const char	*argv[RS_BATCH + 1];
	size_t		 al[RS_BATCH + 1], hl = 17, i, n;
	redisReply	*zr = NULL, *vr = NULL;
	enum pg_err	 e = PG_ENOMEM;

	if ((keys = calloc(RS_BATCH, sizeof(*keys))) == NULL)
		return PG_ENOMEM;
	lb[0] = '[';
	memcpy(lb + 1, lo, 16);
	hb[0] = '(';
	memcpy(hb + 1, hi, 16);
	e = PG_OK;
	while (!q->stop) {
		char	 cnt[16];

		snprintf(cnt, sizeof(cnt), "%d", RS_BATCH);
		argv[0] = "ZREVRANGEBYLEX";
		al[0] = 14;
		al[1] = aindex_shared_key(zk, "i", "", 0);
		argv[1] = (const char *)zk;
		argv[2] = (const char *)hb;
		al[2] = hl;
		argv[3] = (const char *)lb;
		al[3] = 17;
		argv[4] = "LIMIT";
		al[4] = 5;
		argv[5] = "0";
		al[5] = 1;
		argv[6] = cnt;
		al[6] = strlen(cnt);
		if ((e = redis_cmd(rstore_redis(rs), 7, argv, al, &zr)) !=
		    PG_OK)
			break;
		if (zr->type != REDIS_REPLY_ARRAY || zr->elements == 0)
			break;
		n = zr->elements;
		argv[0] = "MGET";
		al[0] = 4;
		for (i = 0; i < n; i++) {
			if (zr->element[i]->type != REDIS_REPLY_STRING ||
			    zr->element[i]->len < 16 ||
			    zr->element[i]->len > 16 + AINDEX_STR_MAX) {
				e = PG_STORE;
				goto out;
			}
			al[i + 1] = aindex_shared_key(keys[i], "r:",
			    zr->element[i]->str, zr->element[i]->len);
			argv[i + 1] = (const char *)keys[i];
		}
		if ((e = redis_cmd(rstore_redis(rs), (int)n + 1, argv, al,
		    &vr)) != PG_OK)
			break;
		for (i = 0; i < n && !q->stop; i++)
			/* An expired record (its member not yet swept): no
			 * row. */
			if (vr->type == REDIS_REPLY_ARRAY && i < vr->elements &&
			    vr->element[i]->type == REDIS_REPLY_STRING)
				deliver(q, (const unsigned char *)
				    zr->element[i]->str, vr->element[i]->str,
				    vr->element[i]->len);
		/* The next batch: strictly before the last member read. */
		hb[0] = '(';
		memcpy(hb + 1, zr->element[n - 1]->str,
		    zr->element[n - 1]->len);
		hl = 1 + zr->element[n - 1]->len;
		redis_reply_free(vr);
		vr = NULL;
		redis_reply_free(zr);
		zr = NULL;
		if (n < RS_BATCH)
			break;
	}
out:
	if (zr != NULL)
		redis_reply_free(zr);
	if (vr != NULL)
		redis_reply_free(vr);
	free(keys);
	return e;
}

/* The ts of the first (last) member of the shared set; -1 when empty. */
static int
rs_edge(void *h, int last, uint64_t *ts)
{
	struct rstore	*rs = h;

	unsigned char	 zk[64];
	const char	*argv[7];
	size_t		 al[7];
	redisReply	*r = NULL;
	int		 rc = -1;

	argv[0] = last ? "ZREVRANGEBYLEX" : "ZRANGEBYLEX";
	al[0] = strlen(argv[0]);
	al[1] = aindex_shared_key(zk, "i", "", 0);
	argv[1] = (const char *)zk;
	argv[2] = last ? "+" : "-";
	argv[3] = last ? "-" : "+";
	al[2] = al[3] = 1;
	argv[4] = "LIMIT";
	al[4] = 5;
	argv[5] = "0";
	argv[6] = "1";
	al[5] = al[6] = 1;
	if (redis_cmd(rstore_redis(rs), 7, argv, al, &r) != PG_OK)
		return -1;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_STRING &&
	    r->element[0]->len >= 16) {
		*ts = codec_be64_get((const unsigned char *)r->element[0]->str);
		rc = 0;
	}
	redis_reply_free(r);
	return rc;
}

/* Whether hour h of the shared index has every marker f asks for. */
static int
rs_hour_matches(void *rh, const struct aquery_filter *f, uint64_t h)
{
	struct rstore	*rs = rh;

	unsigned char	 k[4][STORE_KEY_MAX + 32], hk[STORE_KEY_MAX];
	const char	*argv[5];
	size_t		 al[5], n = 0, l;
	redisReply	*r = NULL;
	char		 sv[2];
	int		 ok;

#define RS_MARK(kind, val) do {						\
	l = aindex_hkey(hk, h, (kind), (val), strlen(val));		\
	al[n + 1] = aindex_shared_key(k[n], "h:", hk + 1, l - 1);	\
	argv[n + 1] = (const char *)k[n];				\
	n++;								\
} while (0)
	if (f->ip[0] != '\0')
		RS_MARK(AINDEX_M_IP, f->ip);
	if (f->node[0] != '\0')
		RS_MARK(AINDEX_M_NODE, f->node);
	if (f->type[0] != '\0')
		RS_MARK(AINDEX_M_TYPE, f->type);
	if (f->sev >= 0) {
		aindex_sev_key(f->sev, sv);
		RS_MARK(AINDEX_M_SEV, sv);
	}
#undef RS_MARK
	argv[0] = "EXISTS";
	al[0] = 6;
	if (redis_cmd(rstore_redis(rs), (int)n + 1, argv, al, &r) != PG_OK)
		return 1;	/* unknown: read the hour */
	ok = rs_num(r) == n;
	redis_reply_free(r);
	return ok;
}

static enum pg_err
rs_query(struct rstore *rs, struct qctx *q)
{
	struct qsrc	 src = { rs, rs_edge, rs_hour_matches, rs_range };

	return walk(&src, q);
}

enum pg_err
aquery_run(struct store *st, const struct aquery_filter *f, aquery_fn fn,
    void *arg, int *more)
{
	struct qctx	 q;
	enum pg_err	 e;

	memset(&q, 0, sizeof(q));
	q.f = f;
	q.fn = fn;
	q.arg = arg;
	q.limit = f->limit == 0 || f->limit > AQUERY_LIMIT_MAX ? AQUERY_LIMIT_MAX :
	    f->limit;
	buf_init(&q.line, ARECORD_LINE_MAX + 1);
	/* With Redis, every node's records: the shared index. */
	if (store_shared(st) != NULL)
		e = rs_query(store_shared(st), &q);
	else
		e = store_run(st, 0, query_txn, &q);
	buf_free(&q.line);
	if (more != NULL)
		*more = q.more;
	return e;
}

struct getctx {
	struct qctx	 q;
	unsigned char	 k[16];
	int		 found;
};

static enum pg_err
get_txn(struct store_txn *t, void *arg)
{
	struct getctx	*g = arg;
	const void	*v;
	size_t		 n;
	enum pg_err	 e;

	if ((e = store_get(t, NS_AUDIT, g->k, 16, &v, &n, NULL)) != PG_OK)
		return e;
	g->found = 1;
	deliver(&g->q, g->k, v, n);
	return PG_OK;
}

enum pg_err
aquery_get(struct store *st, uint64_t ts_us, uint64_t seq, aquery_fn fn,
    void *arg)
{
	struct aquery_filter f;
	struct getctx	 g;
	enum pg_err	 e;

	aquery_filter_init(&f);
	memset(&g, 0, sizeof(g));
	g.q.f = &f;
	g.q.fn = fn;
	g.q.arg = arg;
	g.q.limit = 1;
	buf_init(&g.q.line, ARECORD_LINE_MAX + 1);
	codec_be64_put(g.k, ts_us);
	codec_be64_put(g.k + 8, seq);
	if (store_shared(st) != NULL) {
		unsigned char	 hi[16];

		/* The one member of (ts, seq), whatever its node. */
		codec_be64_put(hi, ts_us);
		codec_be64_put(hi + 8, seq + 1);
		e = rs_range(store_shared(st), &g.q, g.k, hi);
		if (e == PG_OK && g.q.n == 0)
			e = PG_NOTFOUND;
	} else
		e = store_run(st, 0, get_txn, &g);
	buf_free(&g.q.line);
	return e;
}
