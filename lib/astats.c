/*
 * payguard - audit metrics from the per-minute counters (see astats.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aevent.h"
#include "astats.h"
#include "buf.h"
#include "codec.h"
#include "store_redis.h"

#define AGG_MAX		4096	/* distinct names aggregated per stats call */

/*
 * A bounded heavy-hitters table of name -> count (Misra-Gries, weighted):
 * an open-addressing hash table holding at most AGG_MAX * 3 / 4 names.
 * When a new name finds it full, every count and the newcomer's weight
 * are lowered by the smallest of them, names whose count reaches zero are
 * dropped and the table is rebuilt.  So with k monitored names and a total
 * weight N, every name with more than N / (k + 1) hits is always present,
 * its count short by at most that much: decoys cannot push a real
 * attacker out (issue 9), they can only cost him a few hits.
 */
struct agg {
	struct astats_count	*e;
	size_t		 cap, n;
	uint64_t	 dropped;	/* weight decremented away */
};

static uint64_t
fnv(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	size_t	 i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

/* The slot of name (n bytes) in a: its entry, or the free slot to use. */
static size_t
agg_slot(const struct agg *a, const char *s, size_t n)
{
	size_t	 i;

	for (i = fnv(s, n) % a->cap; a->e[i].n != 0; i = (i + 1) % a->cap)
		if (strlen(a->e[i].name) == n && memcmp(a->e[i].name, s, n) == 0)
			break;
	return i;
}

/* Lowers every count by m, drops the zeros and rehashes the rest. */
static void
agg_decrement(struct agg *a, uint64_t m)
{
	struct astats_count	 t;
	size_t			 i, j, kept = 0;

	for (i = 0; i < a->cap; i++) {
		if (a->e[i].n == 0)
			continue;
		a->dropped += m;
		if (a->e[i].n <= m) {
			memset(&a->e[i], 0, sizeof(a->e[i]));
			continue;
		}
		a->e[i].n -= m;
		/* Pack the survivors at the front, then rehash them. */
		if (kept != i) {
			a->e[kept] = a->e[i];
			memset(&a->e[i], 0, sizeof(a->e[i]));
		}
		kept++;
	}
	a->n = 0;
	for (i = 0; i < kept; i++) {
		t = a->e[i];
		memset(&a->e[i], 0, sizeof(a->e[i]));
		j = agg_slot(a, t.name, strlen(t.name));
		a->e[j] = t;
		a->n++;
	}
}

static void
agg_add(struct agg *a, const char *s, size_t n, uint64_t c)
{
	size_t		 i;
	uint64_t	 m;

	if (a->e == NULL || c == 0)
		return;
	if (n >= ASTATS_NAME)
		n = ASTATS_NAME - 1;
	i = agg_slot(a, s, n);
	if (a->e[i].n != 0) {
		a->e[i].n += c;
		return;
	}
	/* Keep a quarter free so probing stays short. */
	if (a->n * 4 >= a->cap * 3) {
		m = c;
		for (i = 0; i < a->cap; i++)
			if (a->e[i].n != 0 && a->e[i].n < m)
				m = a->e[i].n;
		agg_decrement(a, m);
		a->dropped += m;	/* the newcomer's share */
		if ((c -= m) == 0)
			return;
		i = agg_slot(a, s, n);
	}
	memcpy(a->e[i].name, s, n);
	a->e[i].name[n] = '\0';
	a->e[i].n = c;
	a->n++;
}

static int
cnt_desc(const void *a, const void *b)
{
	const struct astats_count *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* The top max entries of a into out, by count. */
static size_t
agg_top(struct agg *a, struct astats_count *out, size_t max)
{
	size_t	 i, n = 0;

	if (a->e == NULL)
		return 0;
	for (i = 0; i < a->cap; i++)
		if (a->e[i].n > 0)
			a->e[n++] = a->e[i];
	qsort(a->e, n, sizeof(*a->e), cnt_desc);
	if (n > max)
		n = max;
	memcpy(out, a->e, n * sizeof(*out));
	return n;
}

struct sctx {
	struct astats	*s;
	struct agg		 types, ips, ops, ids;
	uint64_t		 min_minute, cur_minute, cur_req;
};

/* Whether the type named by n bytes at name records a request served. */
static int
is_request(const char *name, size_t n)
{
	char	 nm[ASTATS_NAME];

	if (n >= sizeof(nm))
		return 0;
	memcpy(nm, name, n);
	nm[n] = '\0';
	return aevent_is_request(aevent_parse(nm));
}

static void
peak_flush(struct sctx *c)
{
	if (c->cur_req > c->s->req_peak_min)
		c->s->req_peak_min = c->cur_req;
	c->cur_req = 0;
}

static int
m_one(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t exp, void *arg)
{
	struct sctx	*c = arg;
	struct astats *s = c->s;
	const unsigned char *k = key;
	const char	*type = (const char *)k + 10;
	uint64_t	 minute, n, us;
	size_t		 tlen = klen - 10, h;
	int		 sev;

	(void)exp;
	if (klen < 11 || vlen != 8)
		return 0;
	minute = codec_be64_get(k + 1);
	sev = k[9] - '0';
	if (sev < 0 || sev >= SEV__MAX)
		return 0;
	n = codec_be64_get(val);
	if (minute != c->cur_minute) {
		peak_flush(c);
		c->cur_minute = minute;
	}
	s->total += n;
	s->by_sev[sev] += n;
	us = minute * AINDEX_MIN_US;
	h = us <= s->since_us ? 0 : (size_t)((us - s->since_us) / AINDEX_HOUR_US);
	if (h >= s->nhours)
		h = s->nhours - 1;
	s->hourly[h][sev] += n;
	agg_add(&c->types, type, tlen, n);
	if (is_request(type, tlen)) {
		s->requests += n;
		c->cur_req += n;
	}
	return 0;
}

static int
p_one(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t exp, void *arg)
{
	struct sctx	*c = arg;

	(void)exp;
	if (klen < 10 || vlen != 8)
		return 0;
	agg_add(&c->ips, (const char *)key + 9, klen - 9, codec_be64_get(val));
	return 0;
}

static int
r_one(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t exp, void *arg)
{
	struct sctx	*c = arg;
	const char	*op = (const char *)key + 9, *z;
	uint64_t	 n;

	(void)exp;
	if (klen < 10 || vlen != 8)
		return 0;
	n = codec_be64_get(val);
	if ((z = memchr(op, '\0', klen - 9)) == NULL)
		return 0;
	agg_add(&c->ops, op, (size_t)(z - op), n);
	agg_add(&c->ids, z + 1, klen - 9 - (size_t)(z + 1 - op), n);
	return 0;
}



static enum pg_err
scan_kind(struct store_txn *t, char kind, uint64_t from_min, uint64_t to_min,
    store_scan_fn fn, void *arg)
{
	unsigned char	 s[9], e[9];

	s[0] = e[0] = (unsigned char)kind;
	codec_be64_put(s + 1, from_min);
	codec_be64_put(e + 1, to_min + 1);
	return store_scan(t, NS_AUDIT_X, s, 9, e, 9, 0, fn, arg);
}

static enum pg_err
stats_txn(struct store_txn *t, void *arg)
{
	struct sctx	*c = arg;
	struct astats *s = c->s;
	uint64_t	 from = s->since_us / AINDEX_MIN_US, to = (s->until_us - 1) / AINDEX_MIN_US;
	enum pg_err	 e;

	c->cur_minute = UINT64_MAX;
	if ((e = scan_kind(t, AINDEX_K_MINUTE, from, to, m_one, c)) != PG_OK)
		return e;
	peak_flush(c);
	if ((e = scan_kind(t, AINDEX_K_SUSPECT, from, to, p_one, c)) != PG_OK)
		return e;
	return scan_kind(t, AINDEX_K_RATE, from, to, r_one, c);
}


/* ------------------------------------------------ the shared index */

/* One counter read from Redis: the LMDB counter key and its count. */
struct rcount {
	unsigned char	*k;
	size_t		 klen;
	unsigned char	 v[8];
};

static int
rcount_cmp(const void *a, const void *b)
{
	const struct rcount *x = a, *y = b;
	size_t	 n = x->klen < y->klen ? x->klen : y->klen;
	int	 c = memcmp(x->k, y->k, n);

	return c != 0 ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/*
 * With Redis: every node's counters, from the hourly hashes of the
 * shared index (aindex.h), fed in key order to the same callbacks as the
 * LMDB scans (minute order for the peak, kind by kind).
 */
static enum pg_err
stats_shared(struct rstore *rs, struct sctx *c)
{
	struct astats	*s = c->s;
	struct rcount	*rc = NULL, *nr;
	size_t		 n = 0, cap = 0, i, j;
	uint64_t	 from = s->since_us / AINDEX_MIN_US;
	uint64_t	 to = (s->until_us - 1) / AINDEX_MIN_US, h, m, v;
	unsigned char	 k[64];
	const char	*argv[2];
	size_t		 al[2];
	redisReply	*r = NULL;
	enum pg_err	 e = PG_OK;

	for (h = s->since_us / AINDEX_HOUR_US; e == PG_OK &&
	    h <= (s->until_us - 1) / AINDEX_HOUR_US; h++) {
		argv[0] = "HGETALL";
		al[0] = 7;
		al[1] = aindex_shared_counters(k, h);
		argv[1] = (const char *)k;
		if ((e = redis_cmd(rstore_redis(rs), 2, argv, al, &r)) != PG_OK)
			break;
		for (j = 0; r->type == REDIS_REPLY_ARRAY && j + 1 < r->elements;
		    j += 2) {
			if (r->element[j]->type != REDIS_REPLY_STRING ||
			    r->element[j]->len < 10)
				continue;
			m = codec_be64_get((const unsigned char *)
			    r->element[j]->str + 1);
			v = strtoull(r->element[j + 1]->str != NULL ?
			    r->element[j + 1]->str : "0", NULL, 10);
			if (m < from || m > to || v == 0)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				if ((nr = realloc(rc, cap * sizeof(*rc))) ==
				    NULL) {
					e = PG_ENOMEM;
					break;
				}
				rc = nr;
			}
			if ((rc[n].k = malloc(r->element[j]->len)) == NULL) {
				e = PG_ENOMEM;
				break;
			}
			memcpy(rc[n].k, r->element[j]->str, r->element[j]->len);
			rc[n].klen = r->element[j]->len;
			codec_be64_put(rc[n].v, v);
			n++;
		}
		redis_reply_free(r);
		r = NULL;
	}
	if (e == PG_OK) {
		qsort(rc, n, sizeof(*rc), rcount_cmp);
		c->cur_minute = UINT64_MAX;
		for (i = 0; i < n; i++)
			switch (rc[i].k[0]) {
			case AINDEX_K_MINUTE:
				m_one(rc[i].k, rc[i].klen, rc[i].v, 8, 0, c);
				break;
			case AINDEX_K_SUSPECT:
				p_one(rc[i].k, rc[i].klen, rc[i].v, 8, 0, c);
				break;
			case AINDEX_K_RATE:
				r_one(rc[i].k, rc[i].klen, rc[i].v, 8, 0, c);
				break;
			}
		peak_flush(c);
	}
	for (i = 0; i < n; i++)
		free(rc[i].k);
	free(rc);
	return e;
}

static void
derive(struct astats *s, struct agg *types)
{
	size_t	 i;

	/* Named metrics come from the full aggregate, not the top list. */
	for (i = 0; types->e != NULL && i < types->cap; i++) {
		uint64_t c = types->e[i].n;

		if (c == 0)
			continue;
		switch (aevent_metric(aevent_parse(types->e[i].name))) {
		case AEM_SIG_OK:	s->sig_ok += c; break;
		case AEM_SIG_BAD:	s->sig_bad += c; break;
		case AEM_INVALID_IP:	s->invalid_ip += c; break;
		case AEM_REPLAY:	s->replay += c; break;
		case AEM_PAYLOAD:	s->payload_bad += c; break;
		case AEM_RATE_LIMIT:	s->rate_limited += c; break;
		case AEM_PCI:		s->pci_violations += c; break;
		case AEM_EXPOSURE:	s->data_exposure += c; break;
		case AEM_AUTH:		s->auth_failures += c; break;
		case AEM_NONE:
		case AEM__MAX:
			break;
		}
	}
	s->sig_rate = s->sig_ok + s->sig_bad == 0 ? -1.0 :
	    100.0 * (double)s->sig_ok / (double)(s->sig_ok + s->sig_bad);
	s->req_avg_min = (double)s->requests /
	    ((double)(s->until_us - s->since_us) / (double)AINDEX_MIN_US);
}

enum pg_err
astats_compute(struct store *st, uint64_t until_us, unsigned int hours,
    uint64_t backlog, uint64_t oldest_pending_ms, struct astats *s)
{
	struct sctx	 c;
	enum pg_err	 e = PG_ENOMEM;

	memset(s, 0, sizeof(*s));
	memset(&c, 0, sizeof(c));
	if (hours == 0 || hours > AINDEX_HOURS_MAX)
		return PG_EINVAL;
	if (until_us == 0)
		until_us = store_now_us();
	s->until_us = until_us;
	s->since_us = until_us - (uint64_t)hours * AINDEX_HOUR_US;
	s->nhours = hours;
	c.s = s;
	c.types.cap = c.ips.cap = c.ops.cap = c.ids.cap = AGG_MAX;
	if ((c.types.e = calloc(AGG_MAX, sizeof(struct astats_count))) == NULL ||
	    (c.ips.e = calloc(AGG_MAX, sizeof(struct astats_count))) == NULL ||
	    (c.ops.e = calloc(AGG_MAX, sizeof(struct astats_count))) == NULL ||
	    (c.ids.e = calloc(AGG_MAX, sizeof(struct astats_count))) == NULL)
		goto out;
	/* With Redis, every node's counters. */
	if ((e = store_shared(st) != NULL ? stats_shared(store_shared(st), &c) :
	    store_run(st, 0, stats_txn, &c)) != PG_OK)
		goto out;
	derive(s, &c.types);
	s->ntypes = agg_top(&c.types, s->types, ASTATS_TYPES);
	s->ntop_ips = agg_top(&c.ips, s->top_ips, ASTATS_TOP);
	s->nrl_ops = agg_top(&c.ops, s->rl_ops, ASTATS_TOP);
	s->nrl_ids = agg_top(&c.ids, s->rl_ids, ASTATS_TOP);
	s->backlog = backlog;
	s->oldest_pending_ms = oldest_pending_ms;
	e = PG_OK;
out:
	free(c.types.e);
	free(c.ips.e);
	free(c.ops.e);
	free(c.ids.e);
	return e;
}
