/*
 * payguard - the audit index over the store (layout in auditdb.h).
 *
 * Everything here lives in the store's volatile environment: it is
 * rebuilt from the log file (auditdb_reindex), so it never costs an fsync
 * in a request.  The one durable piece is a checkpoint of the chain head
 * in NS_META, written at most every few seconds.  Reads use one read
 * transaction per call (no long-lived readers: LMDB caveat).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auditdb.h"
#include "buf.h"
#include "inbox.h"
#include "log.h"

#define HDR_LEN		16	/* index value header, see pack_val */
/* Bookkeeping beside the index, in NS_AUDIT_X under kind 'Z'. */
#define RET_KEY		"Zretention_ms"
#define HEAD_KEY	"Zhead"
#define DONE_KEY	"Zreindexed"	/* present once this boot's index
					   holds the whole log */
/* The durable checkpoint of the chain head, in NS_META. */
#define CKPT_KEY	"audit.head"
#define DAY_MS		86400000ull
#define MIN_US		60000000ull
#define HOUR_US		3600000000ull
#define ACTION_MAX	200
#define AGG_MAX		4096	/* distinct names aggregated per stats call */
#define BACKLOG_SCAN	100000	/* queue entries counted at most */
#define BACKLOG_AGE	1000	/* queue entries whose age is read */

static void
be16(unsigned char *p, size_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static size_t
get16(const unsigned char *p)
{
	return (size_t)p[0] << 8 | p[1];
}

/* ------------------------------------------------------------ writing */

static uint64_t
retention_ms(struct store_txn *t)
{
	const void	*v;
	size_t		 n;

	if (store_get(t, NS_AUDIT_X, RET_KEY, sizeof(RET_KEY) - 1, &v, &n,
	    NULL) == PG_OK && n == 8)
		return be64_get(v);
	return 30 * DAY_MS;	/* the seed's default */
}

/*
 * Index value: [0] version, [1] sev, [2] success, [3] mitigated,
 * [4..5] type len, [6..7] ip len, [8..11] line len, [12..13] action len,
 * [14..15] 0; then type, ip, line, action.
 */
struct val {
	int		 sev, success, mitigated;
	const char	*type, *ip, *line, *action;
	size_t		 tlen, iplen, llen, alen;
};

static int
unpack_val(const void *p, size_t n, struct val *v)
{
	const unsigned char *u = p;

	if (n < HDR_LEN || u[0] != 1)
		return -1;
	v->sev = u[1];
	v->success = u[2];
	v->mitigated = u[3];
	v->tlen = get16(u + 4);
	v->iplen = get16(u + 6);
	v->llen = (size_t)u[8] << 24 | (size_t)u[9] << 16 |
	    (size_t)u[10] << 8 | u[11];
	v->alen = get16(u + 12);
	if (v->sev >= SEV__MAX ||
	    HDR_LEN + v->tlen + v->iplen + v->llen + v->alen != n)
		return -1;
	v->type = (const char *)u + HDR_LEN;
	v->ip = v->type + v->tlen;
	v->line = v->ip + v->iplen;
	v->action = v->line + v->llen;
	return 0;
}

static enum pg_err
pack_val(struct buf *b, const struct val *v)
{
	unsigned char	 h[HDR_LEN];

	memset(h, 0, sizeof(h));
	h[0] = 1;
	h[1] = (unsigned char)v->sev;
	h[2] = (unsigned char)(v->success != 0);
	h[3] = (unsigned char)(v->mitigated != 0);
	be16(h + 4, v->tlen);
	be16(h + 6, v->iplen);
	h[8] = (unsigned char)(v->llen >> 24);
	h[9] = (unsigned char)(v->llen >> 16);
	h[10] = (unsigned char)(v->llen >> 8);
	h[11] = (unsigned char)v->llen;
	be16(h + 12, v->alen);
	buf_reset(b);
	if (buf_append(b, h, sizeof(h)) != PG_OK ||
	    buf_append(b, v->type, v->tlen) != PG_OK ||
	    buf_append(b, v->ip, v->iplen) != PG_OK ||
	    buf_append(b, v->line, v->llen) != PG_OK ||
	    buf_append(b, v->action, v->alen) != PG_OK)
		return PG_TOOLARGE;
	return PG_OK;
}

/* kind | value | 0 | be64 ts | be64 seq: a secondary key. */
static size_t
xkey(unsigned char *k, char kind, const char *val, size_t vlen,
    uint64_t ts, uint64_t seq)
{
	if (vlen > AQ_STR_MAX)
		vlen = AQ_STR_MAX;
	k[0] = (unsigned char)kind;
	memcpy(k + 1, val, vlen);
	k[1 + vlen] = 0;
	be64_put(k + 2 + vlen, ts);
	be64_put(k + 10 + vlen, seq);
	return 18 + vlen;
}

static void
sev_str(int sev, char s[2])
{
	s[0] = (char)('0' + sev);
	s[1] = '\0';
}

/* Adds one to the counter at key. */
static enum pg_err
bump(struct store_txn *t, const unsigned char *k, size_t klen, uint64_t exp)
{
	unsigned char	 c[8];
	const void	*v;
	size_t		 n;
	uint64_t	 cur = 0;

	if (store_get(t, NS_AUDIT_X, k, klen, &v, &n, NULL) == PG_OK && n == 8)
		cur = be64_get(v);
	be64_put(c, cur + 1);
	return store_put(t, NS_AUDIT_X, k, klen, c, 8, exp, STORE_DERIVED);
}

/* 'K' | be64 minute | s (n bytes) [| 0 | s2]: a counter key. */
static size_t
ckey(unsigned char *k, char kind, uint64_t minute, const char *s, size_t n,
    const char *s2)
{
	size_t	 len, n2;

	if (n > 200)
		n = 200;
	k[0] = (unsigned char)kind;
	be64_put(k + 1, minute);
	memcpy(k + 9, s, n);
	len = 9 + n;
	if (s2 != NULL) {
		n2 = strlen(s2);
		if (n2 > 200)
			n2 = 200;
		k[len++] = 0;
		memcpy(k + len, s2, n2);
		len += n2;
	}
	return len;
}

/* The identity a rate-limit violation is charged to. */
static void
rl_identity(const struct audit_entry *en, char *out, size_t outsz)
{
	/* Webhooks are limited per client address, not per "stripe". */
	if (strcmp(en->identity, "stripe") == 0 ||
	    strcmp(en->identity, "anonymous") == 0 || en->identity[0] == '\0')
		snprintf(out, outsz, "ip:%s", en->ip);
	else
		snprintf(out, outsz, "%s", en->identity);
}

enum pg_err
auditdb_add(struct store_txn *t, const struct audit_entry *en)
{
	unsigned char	 k[STORE_KEY_MAX];
	char		 sv[2], ident[AQ_STR_MAX * 2 + 8], tb[201];
	struct val	 v;
	struct buf	 b;
	const void	*pv;
	uint64_t	 exp, minute = en->ts_us / MIN_US;
	size_t		 klen, tlen, pn;
	enum pg_err	 e;

	/* Indexed already (a reindex racing the live writer, or run
	 * twice): the counters must not count it again. */
	be64_put(k, en->ts_us);
	be64_put(k + 8, en->seq);
	if (store_get(t, NS_AUDIT, k, 16, &pv, &pn, NULL) == PG_OK)
		return PG_OK;
	exp = en->ts_us / 1000 + retention_ms(t);
	memset(&v, 0, sizeof(v));
	v.sev = en->sev;
	v.success = en->success;
	v.type = en->type;
	v.tlen = strlen(en->type) > AQ_STR_MAX ? AQ_STR_MAX : strlen(en->type);
	v.ip = en->ip;
	v.iplen = strlen(en->ip) > AQ_STR_MAX ? AQ_STR_MAX : strlen(en->ip);
	v.line = en->line;
	v.llen = en->line_len;
	v.action = "";
	buf_init(&b, (1u << 20));
	be64_put(k, en->ts_us);
	be64_put(k + 8, en->seq);
	if ((e = pack_val(&b, &v)) != PG_OK ||
	    (e = store_put(t, NS_AUDIT, k, 16, b.data, b.len, exp,
	    STORE_DERIVED)) != PG_OK)
		goto out;
	sev_str(en->sev, sv);
	klen = xkey(k, 't', v.type, v.tlen, en->ts_us, en->seq);
	if ((e = store_put(t, NS_AUDIT_X, k, klen, "", 0, exp,
	    STORE_DERIVED)) != PG_OK)
		goto out;
	klen = xkey(k, 's', sv, 1, en->ts_us, en->seq);
	if ((e = store_put(t, NS_AUDIT_X, k, klen, "", 0, exp,
	    STORE_DERIVED)) != PG_OK)
		goto out;
	klen = xkey(k, 'i', v.ip, v.iplen, en->ts_us, en->seq);
	if ((e = store_put(t, NS_AUDIT_X, k, klen, "", 0, exp,
	    STORE_DERIVED)) != PG_OK)
		goto out;
	/* Counters: the sev byte, then the type. */
	tlen = v.tlen > 199 ? 199 : v.tlen;
	tb[0] = sv[0];
	memcpy(tb + 1, v.type, tlen);
	klen = ckey(k, 'M', minute, tb, tlen + 1, NULL);
	if ((e = bump(t, k, klen, exp)) != PG_OK)
		goto out;
	if (auditdb_suspicious(en->type, en->success)) {
		klen = ckey(k, 'P', minute, v.ip, v.iplen, NULL);
		if ((e = bump(t, k, klen, exp)) != PG_OK)
			goto out;
	}
	if (en->op != NULL) {
		rl_identity(en, ident, sizeof(ident));
		klen = ckey(k, 'R', minute, en->op, strlen(en->op), ident);
		if ((e = bump(t, k, klen, exp)) != PG_OK)
			goto out;
	}
	e = PG_OK;
out:
	buf_free(&b);
	return e;
}

static enum pg_err
head_read(struct store_txn *t, enum store_ns ns, const char *key,
    uint64_t *seq, unsigned char hash[AUDIT_HASH_LEN], uint64_t *at_ms)
{
	const void	*v;
	size_t		 n;
	enum pg_err	 e;

	if ((e = store_get(t, ns, key, strlen(key), &v, &n, NULL)) != PG_OK)
		return e;
	if (n != 16 + AUDIT_HASH_LEN)
		return PG_NOTFOUND;
	*seq = be64_get(v);
	memcpy(hash, (const unsigned char *)v + 8, AUDIT_HASH_LEN);
	if (at_ms != NULL)
		*at_ms = be64_get((const unsigned char *)v + 8 +
		    AUDIT_HASH_LEN);
	return PG_OK;
}

/* Writes the head at key unless the one there is as far along already
 * (appends and their index transactions may commit out of order). */
static enum pg_err
head_write(struct store_txn *t, enum store_ns ns, const char *key,
    uint64_t seq, const unsigned char hash[AUDIT_HASH_LEN])
{
	unsigned char	 v[16 + AUDIT_HASH_LEN], h[AUDIT_HASH_LEN];
	uint64_t	 cur;

	if (head_read(t, ns, key, &cur, h, NULL) == PG_OK && cur >= seq)
		return PG_OK;
	be64_put(v, seq);
	memcpy(v + 8, hash, AUDIT_HASH_LEN);
	be64_put(v + 8 + AUDIT_HASH_LEN, store_now_ms());
	return store_put(t, ns, key, strlen(key), v, sizeof(v), 0,
	    STORE_DERIVED);
}

enum pg_err
auditdb_head_get(struct store_txn *t, uint64_t *seq,
    unsigned char hash[AUDIT_HASH_LEN])
{
	return head_read(t, NS_AUDIT_X, HEAD_KEY, seq, hash, NULL);
}

enum pg_err
auditdb_head_put(struct store_txn *t, uint64_t seq,
    const unsigned char hash[AUDIT_HASH_LEN])
{
	return head_write(t, NS_AUDIT_X, HEAD_KEY, seq, hash);
}

/* One head record: where it lives (volatile head or durable checkpoint). */
struct headctx {
	enum store_ns	 ns;
	const char	*key;
	uint64_t	 seq, at_ms;
	unsigned char	 hash[AUDIT_HASH_LEN];
	enum pg_err	 e;
};

static void
head_at(struct headctx *h, int durable)
{
	memset(h, 0, sizeof(*h));
	h->ns = durable ? NS_META : NS_AUDIT_X;
	h->key = durable ? CKPT_KEY : HEAD_KEY;
}

static enum pg_err
head_get_txn(struct store_txn *t, void *arg)
{
	struct headctx	*h = arg;

	h->e = head_read(t, h->ns, h->key, &h->seq, h->hash, &h->at_ms);
	return PG_OK;
}

static enum pg_err
head_put_txn(struct store_txn *t, void *arg)
{
	struct headctx	*h = arg;

	return head_write(t, h->ns, h->key, h->seq, h->hash);
}

enum pg_err
auditdb_head_durable(struct store *st, uint64_t *seq,
    unsigned char hash[AUDIT_HASH_LEN])
{
	struct headctx	 h;
	enum pg_err	 e;

	head_at(&h, 1);
	if ((e = store_run(st, 0, head_get_txn, &h)) != PG_OK)
		return e;
	if (h.e == PG_OK) {
		*seq = h.seq;
		memcpy(hash, h.hash, AUDIT_HASH_LEN);
	}
	return h.e;
}

enum pg_err
auditdb_checkpoint(struct store *st, uint64_t min_gap_ms)
{
	struct headctx	 v, d;
	enum pg_err	 e;

	head_at(&v, 0);
	head_at(&d, 1);
	if ((e = store_run(st, 0, head_get_txn, &v)) != PG_OK ||
	    (e = store_run(st, 0, head_get_txn, &d)) != PG_OK)
		return e;
	if (v.e != PG_OK || (d.e == PG_OK && (d.seq >= v.seq ||
	    store_now_ms() < d.at_ms + min_gap_ms)))
		return PG_OK;
	/* The volatile head, written to the checkpoint: STORE_DERIVED, so
	 * synced without the meta page, and rarely. */
	v.ns = d.ns;
	v.key = d.key;
	return store_run(st, 1, head_put_txn, &v);
}

enum pg_err
auditdb_prime(struct store *st)
{
	struct headctx	 v, d;
	enum pg_err	 e;

	head_at(&v, 0);
	head_at(&d, 1);
	if ((e = store_run(st, 0, head_get_txn, &v)) != PG_OK)
		return e;
	if (v.e == PG_OK)
		return PG_OK;
	if ((e = store_run(st, 0, head_get_txn, &d)) != PG_OK || d.e != PG_OK)
		return e;
	/* The checkpoint, written as the volatile head. */
	d.ns = v.ns;
	d.key = v.key;
	return store_run(st, 1, head_put_txn, &d);
}

/* ----------------------------------------------------------- queries */

void
aq_filter_init(struct aq_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->sev = -1;
}

enum pg_err
aq_urldecode(const char *s, size_t n, char *out, size_t outsz)
{
	size_t	 i, o = 0;
	int	 hi, lo;

	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (i + 2 >= n)
				return PG_EINVAL;
			if ((hi = hex_digit((unsigned char)s[i + 1])) < 0 ||
			    (lo = hex_digit((unsigned char)s[i + 2])) < 0)
				return PG_EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0' || o + 1 >= outsz)
			return PG_EINVAL;
		out[o++] = c;
	}
	out[o] = '\0';
	return PG_OK;
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

static enum pg_err
apply_param(struct aq_filter *f, const char *k, size_t klen, const char *val,
    uint64_t *hours)
{
	enum audit_sev	 sev;
	char		*dash;
	uint64_t	 a, b;

	if (klen == 5 && memcmp(k, "hours", 5) == 0) {
		if (val[0] == '\0')
			return PG_OK;
		if (parse_u64(val, AQ_HOURS_MAX, hours) != 0 || *hours == 0)
			return PG_EINVAL;
	} else if (klen == 8 && memcmp(k, "severity", 8) == 0) {
		if (val[0] == '\0' || strcasecmp(val, "any") == 0)
			f->sev = -1;
		else if (audit_sev_parse(val, &sev) == PG_OK)
			f->sev = (int)sev;
		else
			return PG_EINVAL;
	} else if (klen == 4 && memcmp(k, "type", 4) == 0) {
		if (!valid_name(val))
			return PG_EINVAL;
		snprintf(f->type, sizeof(f->type), "%s", val);
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

enum pg_err
aq_parse_query(const char *qs, uint64_t now_us, struct aq_filter *f,
    unsigned int *hours_out)
{
	const char	*p = qs, *amp, *eq;
	char		 val[AQ_STR_MAX];
	uint64_t	 hours = 24;
	size_t		 n;
	enum pg_err	 e;

	aq_filter_init(f);
	while (p != NULL && *p != '\0') {
		amp = strchr(p, '&');
		n = amp ? (size_t)(amp - p) : strlen(p);
		eq = memchr(p, '=', n);
		if (eq != NULL) {
			if (aq_urldecode(eq + 1, n - (size_t)(eq + 1 - p), val,
			    sizeof(val)) != PG_OK)
				return PG_EINVAL;
			if ((e = apply_param(f, p, (size_t)(eq - p), val,
			    &hours)) != PG_OK)
				return e;
		}
		p = amp ? amp + 1 : NULL;
	}
	f->until_us = now_us + 1000000;
	f->since_us = now_us > hours * HOUR_US ? now_us - hours * HOUR_US : 0;
	if (hours_out != NULL)
		*hours_out = (unsigned int)hours;
	return PG_OK;
}

struct qctx {
	const struct aq_filter	*f;
	aq_fn			 fn;
	void			*arg;
	size_t			 limit, n;
	int			 more, stop;
	struct store_txn	*t;
	char			 mit[ACTION_MAX + 1];
};

/* Applies the filters to a main-index record and hands it over. */
static int
deliver(struct qctx *q, const unsigned char *key, const void *val, size_t vlen)
{
	const struct aq_filter	*f = q->f;
	struct aq_row		 row;
	struct val		 v;
	size_t			 n;

	if (unpack_val(val, vlen, &v) != 0)
		return 0;
	if (f->sev >= 0 && v.sev != f->sev)
		return 0;
	if (f->type[0] != '\0' && (v.tlen != strlen(f->type) ||
	    memcmp(v.type, f->type, v.tlen) != 0))
		return 0;
	if (f->ip[0] != '\0' && (v.iplen != strlen(f->ip) ||
	    memcmp(v.ip, f->ip, v.iplen) != 0))
		return 0;
	if (q->n >= q->limit) {
		q->more = 1;
		return 1;
	}
	q->n++;
	row.ts_us = be64_get(key);
	row.seq = be64_get(key + 8);
	row.sev = (enum audit_sev)v.sev;
	row.success = v.success;
	row.mitigated = v.mitigated;
	n = v.alen > ACTION_MAX ? ACTION_MAX : v.alen;
	memcpy(q->mit, v.action, n);
	q->mit[n] = '\0';
	row.mitigation = q->mit;
	row.line = v.line;
	row.line_len = v.llen;
	return q->fn(&row, q->arg) != 0;
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

static int
x_one(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t exp, void *arg)
{
	struct qctx	*q = arg;
	const void	*mv;
	size_t		 mn;
	const unsigned char *mk = (const unsigned char *)key + klen - 16;

	(void)val; (void)vlen; (void)exp;
	if (klen < 18)
		return 0;
	/* The main record may have been swept first: skip it. */
	if (store_get(q->t, NS_AUDIT, mk, 16, &mv, &mn, NULL) != PG_OK)
		return 0;
	return deliver(q, mk, mv, mn);
}

static enum pg_err
query_txn(struct store_txn *t, void *arg)
{
	struct qctx		*q = arg;
	const struct aq_filter	*f = q->f;
	unsigned char		 s[STORE_KEY_MAX], e[STORE_KEY_MAX], cur[16];
	uint64_t		 until = f->until_us;
	char			 sv[2];
	size_t			 slen, elen;
	int			 cursor;

	q->t = t;
	q->n = 0;
	q->more = 0;
	if (until == 0)
		until = UINT64_MAX;
	/* The paging cursor, when older than the window's end, is the
	 * end: rows strictly before (before_ts, before_seq). */
	cursor = (f->before_ts != 0 || f->before_seq != 0) &&
	    f->before_ts < until;
	be64_put(cur, cursor ? f->before_ts : until);
	be64_put(cur + 8, cursor ? f->before_seq : 0);
	if (f->ip[0] != '\0') {
		slen = xkey(s, 'i', f->ip, strlen(f->ip), f->since_us, 0);
		elen = xkey(e, 'i', f->ip, strlen(f->ip), 0, 0);
	} else if (f->type[0] != '\0') {
		slen = xkey(s, 't', f->type, strlen(f->type), f->since_us, 0);
		elen = xkey(e, 't', f->type, strlen(f->type), 0, 0);
	} else if (f->sev >= 0) {
		sev_str(f->sev, sv);
		slen = xkey(s, 's', sv, 1, f->since_us, 0);
		elen = xkey(e, 's', sv, 1, 0, 0);
	} else {
		be64_put(s, f->since_us);
		be64_put(s + 8, 0);
		return store_scan(t, NS_AUDIT, s, 16, cur, 16, 1, main_one, q);
	}
	memcpy(e + elen - 16, cur, 16);
	return store_scan(t, NS_AUDIT_X, s, slen, e, elen, 1, x_one, q);
}

enum pg_err
auditdb_query(struct store *st, const struct aq_filter *f, aq_fn fn,
    void *arg, int *more)
{
	struct qctx	 q;
	enum pg_err	 e;

	memset(&q, 0, sizeof(q));
	q.f = f;
	q.fn = fn;
	q.arg = arg;
	q.limit = f->limit == 0 || f->limit > AQ_LIMIT_MAX ? AQ_LIMIT_MAX :
	    f->limit;
	e = store_run(st, 0, query_txn, &q);
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
auditdb_get(struct store *st, uint64_t ts_us, uint64_t seq, aq_fn fn,
    void *arg)
{
	struct aq_filter f;
	struct getctx	 g;

	aq_filter_init(&f);
	memset(&g, 0, sizeof(g));
	g.q.f = &f;
	g.q.fn = fn;
	g.q.arg = arg;
	g.q.limit = 1;
	be64_put(g.k, ts_us);
	be64_put(g.k + 8, seq);
	return store_run(st, 0, get_txn, &g);
}

struct mitctx {
	unsigned char	 k[16];
	const char	*action;
};

static enum pg_err
mit_txn(struct store_txn *t, void *arg)
{
	struct mitctx	*m = arg;
	const void	*p;
	size_t		 n;
	uint64_t	 exp;
	struct val	 v;
	struct buf	 b;
	enum pg_err	 e;

	if ((e = store_get(t, NS_AUDIT, m->k, 16, &p, &n, &exp)) != PG_OK)
		return e;
	if (unpack_val(p, n, &v) != 0)
		return PG_STORE;
	v.mitigated = 1;
	v.action = m->action;
	v.alen = strlen(m->action) > ACTION_MAX ? ACTION_MAX : strlen(m->action);
	buf_init(&b, 1u << 20);
	/* pack_val copies from p, which stays valid until our put. */
	if ((e = pack_val(&b, &v)) == PG_OK)
		e = store_put(t, NS_AUDIT, m->k, 16, b.data, b.len, exp,
		    STORE_DERIVED);
	buf_free(&b);
	return e;
}

enum pg_err
auditdb_mitigate(struct store *st, uint64_t ts_us, uint64_t seq,
    const char *action)
{
	struct mitctx	 m;

	be64_put(m.k, ts_us);
	be64_put(m.k + 8, seq);
	m.action = action;
	return store_run(st, 1, mit_txn, &m);
}

/* ------------------------------------------------------------- stats */

int
auditdb_suspicious(const char *type, int success)
{
	static const char *const server_side[] = {
		"webhook_delivery_failed", "store_failure", "config_error",
		"key_rotated",
	};
	size_t	 i;

	if (strcmp(type, "webhook_replay_detected") == 0)
		return 1;
	if (success)
		return 0;
	for (i = 0; i < sizeof(server_side) / sizeof(server_side[0]); i++)
		if (strcmp(type, server_side[i]) == 0)
			return 0;
	return 1;
}

/* A small open-addressing table of name -> count. */
struct agg {
	struct as_count	*e;
	size_t		 cap, n;
	uint64_t	 overflow;
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

static void
agg_add(struct agg *a, const char *s, size_t n, uint64_t c)
{
	size_t	 i;

	if (a->e == NULL)
		return;
	if (n >= AS_NAME)
		n = AS_NAME - 1;
	for (i = fnv(s, n) % a->cap; a->e[i].name[0] != '\0' || a->e[i].n;
	    i = (i + 1) % a->cap)
		if (strlen(a->e[i].name) == n && memcmp(a->e[i].name, s, n) == 0) {
			a->e[i].n += c;
			return;
		}
	/* Keep a quarter free so probing stays short; beyond, "other". */
	if (a->n * 4 >= a->cap * 3) {
		a->overflow += c;
		return;
	}
	memcpy(a->e[i].name, s, n);
	a->e[i].name[n] = '\0';
	a->e[i].n = c;
	a->n++;
}

static int
cnt_desc(const void *a, const void *b)
{
	const struct as_count *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* The top max entries of a into out, by count. */
static size_t
agg_top(struct agg *a, struct as_count *out, size_t max)
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
	struct audit_stats	*s;
	struct agg		 types, ips, ops, ids;
	uint64_t		 min_minute, cur_minute, cur_req;
	size_t			 nq, nq_ids;
	char			(*qids)[EVENT_ID_MAX + 1];
};

static int
is_request(const char *type, size_t n)
{
	return (n > 8 && memcmp(type, "webhook_", 8) == 0) ||
	    (n > 4 && memcmp(type, "api_", 4) == 0) ||
	    (n == 26 && memcmp(type, "security_validation_failed", 26) == 0);
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
	struct audit_stats *s = c->s;
	const unsigned char *k = key;
	const char	*type = (const char *)k + 10;
	uint64_t	 minute, n, us;
	size_t		 tlen = klen - 10, h;
	int		 sev;

	(void)exp;
	if (klen < 11 || vlen != 8)
		return 0;
	minute = be64_get(k + 1);
	sev = k[9] - '0';
	if (sev < 0 || sev >= SEV__MAX)
		return 0;
	n = be64_get(val);
	if (minute != c->cur_minute) {
		peak_flush(c);
		c->cur_minute = minute;
	}
	s->total += n;
	s->by_sev[sev] += n;
	us = minute * MIN_US;
	h = us <= s->since_us ? 0 : (size_t)((us - s->since_us) / HOUR_US);
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
	agg_add(&c->ips, (const char *)key + 9, klen - 9, be64_get(val));
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
	n = be64_get(val);
	if ((z = memchr(op, '\0', klen - 9)) == NULL)
		return 0;
	agg_add(&c->ops, op, (size_t)(z - op), n);
	agg_add(&c->ids, z + 1, klen - 9 - (size_t)(z + 1 - op), n);
	return 0;
}

static int
q_one(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t exp, void *arg)
{
	struct sctx	*c = arg;

	(void)val; (void)vlen; (void)exp;
	if (klen <= 8 || klen - 8 > EVENT_ID_MAX)
		return 0;
	c->s->backlog++;
	if (c->nq_ids < BACKLOG_AGE) {
		memcpy(c->qids[c->nq_ids], (const char *)key + 8, klen - 8);
		c->qids[c->nq_ids][klen - 8] = '\0';
		c->nq_ids++;
	}
	return ++c->nq >= BACKLOG_SCAN;
}

static enum pg_err
scan_kind(struct store_txn *t, char kind, uint64_t from_min, uint64_t to_min,
    store_scan_fn fn, void *arg)
{
	unsigned char	 s[9], e[9];

	s[0] = e[0] = (unsigned char)kind;
	be64_put(s + 1, from_min);
	be64_put(e + 1, to_min + 1);
	return store_scan(t, NS_AUDIT_X, s, 9, e, 9, 0, fn, arg);
}

static enum pg_err
stats_txn(struct store_txn *t, void *arg)
{
	struct sctx	*c = arg;
	struct audit_stats *s = c->s;
	uint64_t	 from = s->since_us / MIN_US, to = (s->until_us - 1) / MIN_US;
	enum pg_err	 e;

	c->cur_minute = UINT64_MAX;
	if ((e = scan_kind(t, 'M', from, to, m_one, c)) != PG_OK)
		return e;
	peak_flush(c);
	if ((e = scan_kind(t, 'P', from, to, p_one, c)) != PG_OK)
		return e;
	return scan_kind(t, 'R', from, to, r_one, c);
}

/* The inbox lives in the main environment: its own read transaction. */
static enum pg_err
backlog_txn(struct store_txn *t, void *arg)
{
	return store_scan(t, NS_QUEUE, NULL, 0, NULL, 0, 0, q_one, arg);
}

static void
derive(struct audit_stats *s, struct agg *types)
{
	size_t	 i;

	/* Named metrics come from the full aggregate, not the top list. */
	for (i = 0; types->e != NULL && i < types->cap; i++) {
		const char *n = types->e[i].name;
		uint64_t c = types->e[i].n;
		if (c == 0)
			continue;
		if (strcmp(n, "webhook_validated") == 0)
			s->sig_ok += c;
		else if (strcmp(n, "webhook_invalid_signature") == 0)
			s->sig_bad += c;
		else if (strcmp(n, "webhook_invalid_ip") == 0)
			s->invalid_ip += c;
		else if (strcmp(n, "webhook_replay_detected") == 0)
			s->replay += c;
		else if (strcmp(n, "webhook_invalid_payload") == 0)
			s->payload_bad += c;
		else if (strstr(n, "rate_limit_exceeded") != NULL)
			s->rate_limited += c;
		else if (strcmp(n, "pci_compliance_violation") == 0)
			s->pci_violations += c;
		else if (strcmp(n, "data_exposure") == 0)
			s->data_exposure += c;
		else if (strstr(n, "authentication_failed") != NULL ||
		    strstr(n, "permission_denied") != NULL ||
		    strcmp(n, "admin_access_denied") == 0)
			s->auth_failures += c;
	}
	s->sig_rate = s->sig_ok + s->sig_bad == 0 ? -1.0 :
	    100.0 * (double)s->sig_ok / (double)(s->sig_ok + s->sig_bad);
	s->req_avg_min = (double)s->requests /
	    ((double)(s->until_us - s->since_us) / (double)MIN_US);
}

enum pg_err
auditdb_stats(struct store *st, uint64_t until_us, unsigned int hours,
    struct audit_stats *s)
{
	struct sctx	 c;
	struct ev_hdr	 h;
	size_t		 i;
	enum pg_err	 e = PG_ENOMEM;

	memset(s, 0, sizeof(*s));
	memset(&c, 0, sizeof(c));
	if (hours == 0 || hours > AQ_HOURS_MAX)
		return PG_EINVAL;
	if (until_us == 0)
		until_us = store_now_us();
	s->until_us = until_us;
	s->since_us = until_us - (uint64_t)hours * HOUR_US;
	s->nhours = hours;
	c.s = s;
	c.types.cap = c.ips.cap = c.ops.cap = c.ids.cap = AGG_MAX;
	if ((c.types.e = calloc(AGG_MAX, sizeof(struct as_count))) == NULL ||
	    (c.ips.e = calloc(AGG_MAX, sizeof(struct as_count))) == NULL ||
	    (c.ops.e = calloc(AGG_MAX, sizeof(struct as_count))) == NULL ||
	    (c.ids.e = calloc(AGG_MAX, sizeof(struct as_count))) == NULL ||
	    (c.qids = calloc(BACKLOG_AGE, sizeof(*c.qids))) == NULL)
		goto out;
	if ((e = store_run(st, 0, stats_txn, &c)) != PG_OK ||
	    (e = store_run(st, 0, backlog_txn, &c)) != PG_OK)
		goto out;
	derive(s, &c.types);
	s->ntypes = agg_top(&c.types, s->types, AS_TYPES);
	s->ntop_ips = agg_top(&c.ips, s->top_ips, AS_TOP);
	s->nrl_ops = agg_top(&c.ops, s->rl_ops, AS_TOP);
	s->nrl_ids = agg_top(&c.ids, s->rl_ids, AS_TOP);
	/* Oldest pending: read outside the scan (inbox_get has its own
	 * transaction); the backlog is small when things are healthy. */
	for (i = 0; i < c.nq_ids; i++)
		if (inbox_get(st, NULL, c.qids[i], &h, NULL, NULL) == PG_OK &&
		    (h.state == EV_PENDING || h.state == EV_DELIVERING) &&
		    (s->oldest_pending_ms == 0 ||
		    h.received_ms < s->oldest_pending_ms))
			s->oldest_pending_ms = h.received_ms;
	e = PG_OK;
out:
	free(c.types.e);
	free(c.ips.e);
	free(c.ops.e);
	free(c.ids.e);
	free(c.qids);
	return e;
}

/* --------------------------------------------------------- retention */

struct retctx {
	uint32_t	 days;
};

static enum pg_err
ret_txn(struct store_txn *t, void *arg)
{
	struct retctx	*r = arg;
	unsigned char	 v[8];

	be64_put(v, (uint64_t)r->days * DAY_MS);
	return store_put(t, NS_AUDIT_X, RET_KEY, sizeof(RET_KEY) - 1, v, 8, 0,
	    STORE_DERIVED);
}

enum pg_err
auditdb_set_retention(struct store *st, uint32_t days)
{
	struct retctx	 r = { days == 0 ? 30 : days };

	return store_run(st, 1, ret_txn, &r);
}

struct swctx {
	uint64_t	 cutoff_us;
	size_t		 budget, done;
	struct buf	 keys;		/* [u16 ns][u16 len][key]... */
	size_t		 nkeys;
};

static void
sw_push(struct swctx *c, int ns, const void *k, size_t klen)
{
	unsigned char	 h[4];

	be16(h, (size_t)ns);
	be16(h + 2, klen);
	if (buf_append(&c->keys, h, 4) == PG_OK &&
	    buf_append(&c->keys, k, klen) == PG_OK)
		c->nkeys++;
}

static int
sw_main(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t exp, void *arg)
{
	struct swctx	*c = arg;
	unsigned char	 k[STORE_KEY_MAX];
	const unsigned char *mk = key;
	struct val	 v;
	char		 sv[2];

	(void)exp;
	if (c->nkeys >= c->budget)
		return 1;
	sw_push(c, NS_AUDIT, key, klen);
	if (klen != 16 || unpack_val(val, vlen, &v) != 0)
		return 0;
	sev_str(v.sev, sv);
	sw_push(c, NS_AUDIT_X, k, xkey(k, 't', v.type, v.tlen,
	    be64_get(mk), be64_get(mk + 8)));
	sw_push(c, NS_AUDIT_X, k, xkey(k, 's', sv, 1, be64_get(mk),
	    be64_get(mk + 8)));
	sw_push(c, NS_AUDIT_X, k, xkey(k, 'i', v.ip, v.iplen,
	    be64_get(mk), be64_get(mk + 8)));
	return 0;
}

static int
sw_counter(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t exp, void *arg)
{
	struct swctx	*c = arg;

	(void)val; (void)vlen; (void)exp;
	if (c->nkeys >= c->budget)
		return 1;
	sw_push(c, NS_AUDIT_X, key, klen);
	return 0;
}

static enum pg_err
sweep_txn(struct store_txn *t, void *arg)
{
	struct swctx	*c = arg;
	unsigned char	 end[16], s[9], e[9];
	const unsigned char *p;
	const char	*kinds = "MPR";
	size_t		 off, klen;
	int		 ns;
	enum pg_err	 err;

	buf_reset(&c->keys);
	c->nkeys = 0;
	c->done = 0;
	be64_put(end, c->cutoff_us);
	be64_put(end + 8, 0);
	if ((err = store_scan(t, NS_AUDIT, NULL, 0, end, 16, 0, sw_main,
	    c)) != PG_OK)
		return err;
	for (; *kinds != '\0' && c->nkeys < c->budget; kinds++) {
		s[0] = e[0] = (unsigned char)*kinds;
		be64_put(s + 1, 0);
		be64_put(e + 1, c->cutoff_us / MIN_US);
		if ((err = store_scan(t, NS_AUDIT_X, s, 9, e, 9, 0, sw_counter,
		    c)) != PG_OK)
			return err;
	}
	/* The scans are over: now the deletes (scan callbacks may not
	 * write). */
	for (off = 0; off + 4 <= c->keys.len; off += 4 + klen) {
		p = (const unsigned char *)c->keys.data + off;
		ns = (int)get16(p);
		klen = get16(p + 2);
		err = store_del(t, (enum store_ns)ns, p + 4, klen);
		if (err != PG_OK && err != PG_NOTFOUND)
			return err;
		if (err == PG_OK && ns == NS_AUDIT)
			c->done++;
	}
	return PG_OK;
}

enum pg_err
auditdb_sweep(struct store *st, uint64_t cutoff_us, size_t budget, size_t *n)
{
	struct swctx	 c;
	enum pg_err	 e;

	memset(&c, 0, sizeof(c));
	*n = 0;
	c.cutoff_us = cutoff_us;
	c.budget = budget < 16 ? 16 : budget;
	buf_init(&c.keys, 64u << 20);
	do {
		if ((e = store_run(st, 1, sweep_txn, &c)) != PG_OK)
			break;
		*n += c.done;
	} while (c.nkeys > 0);
	buf_free(&c.keys);
	return e;
}

static enum pg_err
count_txn(struct store_txn *t, void *arg)
{
	*(size_t *)arg = store_count(t, NS_AUDIT);
	return PG_OK;
}

size_t
auditdb_count(struct store *st)
{
	size_t	 n = 0;

	store_run(st, 0, count_txn, &n);
	return n;
}

/* ----------------------------------------------------------- output */

struct json_object *
auditdb_row_json(const struct aq_row *row)
{
	struct json_tokener	*tok;
	struct json_object	*o;
	char			 key[48];

	if (row->line_len > INT32_MAX || (tok = json_tokener_new()) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, row->line, (int)row->line_len);
	json_tokener_free(tok);
	if (o == NULL)
		return NULL;
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	if (row->mitigated) {
		json_object_object_add(o, "mitigated",
		    json_object_new_boolean(1));
		json_object_object_add(o, "mitigation_action",
		    json_object_new_string(row->mitigation));
	}
	snprintf(key, sizeof(key), "%" PRIu64 "-%" PRIu64, row->ts_us, row->seq);
	json_object_object_add(o, "key", json_object_new_string(key));
	return o;
}

static const char *const csv_cols[] = {
	"timestamp", "event_id", "event_type", "severity", "source_ip",
	"identity", "outcome", "resource", "request_id", "user_agent",
	"mitigated", "mitigation_action", "seq", "details",
};

static enum pg_err
csv_cell(struct buf *b, const char *s, int last)
{
	enum pg_err	 e;

	if ((e = buf_putc(b, '"')) != PG_OK)
		return e;
	if (*s == '=' || *s == '+' || *s == '-' || *s == '@' || *s == '\t' ||
	    *s == '\r')
		e = buf_putc(b, '\'');
	for (; e == PG_OK && *s != '\0'; s++)
		e = *s == '"' ? buf_puts(b, "\"\"") : buf_putc(b, *s);
	if (e == PG_OK)
		e = buf_puts(b, last ? "\"\r\n" : "\",");
	return e;
}

enum pg_err
auditdb_csv_header(struct buf *b)
{
	size_t	 i, n = sizeof(csv_cols) / sizeof(csv_cols[0]);
	enum pg_err e = PG_OK;

	for (i = 0; i < n && e == PG_OK; i++)
		e = csv_cell(b, csv_cols[i], i + 1 == n);
	return e;
}

enum pg_err
auditdb_csv_row(struct buf *b, const struct aq_row *row)
{
	struct json_object	*o, *v;
	size_t			 i, n = sizeof(csv_cols) / sizeof(csv_cols[0]);
	const char		*s;
	enum pg_err		 e = PG_OK;

	if ((o = auditdb_row_json(row)) == NULL)
		return PG_EINVAL;
	for (i = 0; i < n && e == PG_OK; i++) {
		s = "";
		if (json_object_object_get_ex(o, csv_cols[i], &v) && v != NULL)
			s = json_object_is_type(v, json_type_string) ?
			    json_object_get_string(v) :
			    json_object_to_json_string_ext(v,
			    JSON_C_TO_STRING_PLAIN);
		e = csv_cell(b, s, i + 1 == n);
	}
	json_object_put(o);
	return e;
}

static struct json_object *
counts_json(const struct as_count *c, size_t n)
{
	struct json_object	*a = json_object_new_array(), *x;
	size_t			 i;

	for (i = 0; a != NULL && i < n; i++) {
		x = json_object_new_object();
		json_object_object_add(x, "name", json_object_new_string(c[i].name));
		json_object_object_add(x, "count",
		    json_object_new_int64((int64_t)c[i].n));
		json_object_array_add(a, x);
	}
	return a;
}

#define J_ADD_INT(o, k, v) \
	json_object_object_add((o), (k), json_object_new_int64((int64_t)(v)))

struct json_object *
auditdb_stats_json(const struct audit_stats *s)
{
	struct json_object	*o, *sev, *h, *row;
	size_t			 i;
	int			 j;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	J_ADD_INT(o, "since_us", s->since_us);
	J_ADD_INT(o, "until_us", s->until_us);
	J_ADD_INT(o, "hours", s->nhours);
	J_ADD_INT(o, "total", s->total);
	sev = json_object_new_object();
	for (j = 0; j < SEV__MAX; j++)
		J_ADD_INT(sev, audit_sev_name((enum audit_sev)j), s->by_sev[j]);
	json_object_object_add(o, "by_severity", sev);
	json_object_object_add(o, "signature_success_rate", s->sig_rate < 0 ?
	    NULL : json_object_new_double(s->sig_rate));
	J_ADD_INT(o, "signatures_valid", s->sig_ok);
	J_ADD_INT(o, "signatures_invalid", s->sig_bad);
	J_ADD_INT(o, "invalid_ip_attempts", s->invalid_ip);
	J_ADD_INT(o, "replay_attempts", s->replay);
	J_ADD_INT(o, "payload_validation_failures", s->payload_bad);
	J_ADD_INT(o, "rate_limit_violations", s->rate_limited);
	J_ADD_INT(o, "pci_violations", s->pci_violations);
	J_ADD_INT(o, "data_exposure", s->data_exposure);
	J_ADD_INT(o, "auth_failures", s->auth_failures);
	json_object_object_add(o, "rate_limit_by_operation",
	    counts_json(s->rl_ops, s->nrl_ops));
	json_object_object_add(o, "rate_limit_by_identity",
	    counts_json(s->rl_ids, s->nrl_ids));
	json_object_object_add(o, "suspicious_ips",
	    counts_json(s->top_ips, s->ntop_ips));
	json_object_object_add(o, "events_by_type",
	    counts_json(s->types, s->ntypes));
	J_ADD_INT(o, "requests", s->requests);
	json_object_object_add(o, "requests_per_minute_avg",
	    json_object_new_double(s->req_avg_min));
	J_ADD_INT(o, "requests_per_minute_peak", s->req_peak_min);
	J_ADD_INT(o, "inbox_backlog", s->backlog);
	J_ADD_INT(o, "inbox_oldest_pending_ms", s->oldest_pending_ms);
	h = json_object_new_array();
	for (i = 0; i < s->nhours; i++) {
		row = json_object_new_array();
		for (j = 0; j < SEV__MAX; j++)
			json_object_array_add(row,
			    json_object_new_int64((int64_t)s->hourly[i][j]));
		json_object_array_add(h, row);
	}
	json_object_object_add(o, "hourly_by_severity", h);
	return o;
}

/* ----------------------------------------------------------- reindex */

#define RX_BATCH	64	/* records per write transaction */

struct rxctx {
	struct auditdb_line	*recs;
	size_t		 n;
	struct auditdb_reindex_res *res;
	uint64_t	 added;		/* by the last batch (it may rerun) */
	int		 done;		/* set the "reindexed" mark */
};

/* "2026-11-22T15:01:02.123Z" -> microseconds (ms precision). */
static int
parse_ts(const char *s, uint64_t *us)
{
	struct tm	 tm;
	int		 ms;
	char		 z;
	time_t		 t;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c",
	    &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	    &tm.tm_sec, &ms, &z) != 8 || z != 'Z' || strlen(s) != 24)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if ((t = timegm(&tm)) == (time_t)-1 || t < 0)
		return -1;
	*us = ((uint64_t)t * 1000u + (uint64_t)ms) * 1000u;
	return 0;
}

static const char *
jstr(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void
cpy(char *dst, const char *src, size_t n)
{
	snprintf(dst, n, "%s", src != NULL ? src : "");
}

enum pg_err
auditdb_parse_line(const char *line, size_t len, struct auditdb_line *r)
{
	struct json_tokener *tok = NULL;
	struct json_object *o = NULL, *d = NULL;
	unsigned char	 prev[AUDIT_HASH_LEN];
	const char	*s;
	enum audit_sev	 sev;
	int		 self_ok;
	enum pg_err	 rc = PG_EINVAL;

	memset(r, 0, sizeof(*r));
	if (len > INT32_MAX || audit_chain_parse(line, len, &r->en.seq, prev,
	    r->hash, &self_ok) != PG_OK || !self_ok ||
	    (tok = json_tokener_new()) == NULL)
		goto out;
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    parse_ts(jstr(o, "timestamp"), &r->en.ts_us) != 0 ||
	    (s = jstr(o, "event_type")) == NULL ||
	    audit_sev_parse(jstr(o, "severity"), &sev) != PG_OK)
		goto out;
	cpy(r->type, s, sizeof(r->type));
	cpy(r->ip, jstr(o, "source_ip"), sizeof(r->ip));
	cpy(r->identity, jstr(o, "identity"), sizeof(r->identity));
	r->en.sev = sev;
	r->en.success = (s = jstr(o, "outcome")) != NULL &&
	    strcmp(s, "success") == 0;
	if (!json_object_object_get_ex(o, "details", &d) ||
	    !json_object_is_type(d, json_type_object))
		d = NULL;
	/* As audit.c's rate_op: the operation a rate-limit record names. */
	if (strstr(r->type, "rate_limit_exceeded") != NULL) {
		s = d != NULL ? jstr(d, "operation") : NULL;
		cpy(r->op, s != NULL ? s : (jstr(o, "resource") != NULL ?
		    jstr(o, "resource") : "unknown"), sizeof(r->op));
		r->has_op = 1;
	}
	/* An admin's mark is itself a record: replay it.  "record" is
	 * "seconds.ms:seq" (audit.cgi). */
	if (strcmp(r->type, "audit_event_mitigated") == 0 && d != NULL &&
	    (s = jstr(d, "record")) != NULL) {
		unsigned long long sec, ms, seq;
		char	 end;

		if (sscanf(s, "%llu.%3llu:%llu%c", &sec, &ms, &seq, &end) == 3 &&
		    *s >= '0' && *s <= '9') {
			r->mit_ts = ((uint64_t)sec * 1000u + ms) * 1000u;
			r->mit_seq = seq;
			r->mit = 1;
		}
		cpy(r->note, jstr(d, "note") != NULL ? jstr(d, "note") :
		    "reviewed", sizeof(r->note));
	}
	rc = PG_ENOMEM;
	if ((r->line = malloc(len + 1)) == NULL)
		goto out;
	memcpy(r->line, line, len);
	r->line[len] = '\0';
	r->en.type = r->type;
	r->en.ip = r->ip;
	r->en.identity = r->identity;
	r->en.op = r->has_op ? r->op : NULL;
	r->en.line = r->line;
	r->en.line_len = len;
	rc = PG_OK;
out:
	json_object_put(o);
	if (tok != NULL)
		json_tokener_free(tok);
	return rc;
}

void
auditdb_line_free(struct auditdb_line *r)
{
	free(r->line);
	r->line = NULL;
}

static enum pg_err
rx_txn(struct store_txn *t, void *arg)
{
	struct rxctx	*c = arg;
	struct mitctx	 m;
	size_t		 i, before;
	enum pg_err	 e;

	c->added = 0;
	for (i = 0; i < c->n; i++) {
		before = store_count(t, NS_AUDIT);
		if ((e = auditdb_add(t, &c->recs[i].en)) != PG_OK ||
		    (e = auditdb_head_put(t, c->recs[i].en.seq,
		    c->recs[i].hash)) != PG_OK)
			return e;
		if (store_count(t, NS_AUDIT) > before)
			c->added++;
		if (c->recs[i].mit) {
			be64_put(m.k, c->recs[i].mit_ts);
			be64_put(m.k + 8, c->recs[i].mit_seq);
			m.action = c->recs[i].note;
			/* The marked record may have expired: not an error. */
			if ((e = mit_txn(t, &m)) != PG_OK && e != PG_NOTFOUND)
				return e;
		}
	}
	if (c->done)
		return store_put(t, NS_AUDIT_X, DONE_KEY, sizeof(DONE_KEY) - 1,
		    "1", 1, 0, STORE_DERIVED);
	return PG_OK;
}

static void
rx_clear(struct rxctx *c)
{
	size_t	 i;

	for (i = 0; i < c->n; i++)
		auditdb_line_free(&c->recs[i]);
	c->n = 0;
}

static enum pg_err
rx_flush(struct store *st, struct rxctx *c)
{
	enum pg_err	 e;

	e = store_run(st, 1, rx_txn, c);
	if (e == PG_OK)
		c->res->added += c->added;
	rx_clear(c);
	return e;
}

static enum pg_err
rx_file(struct store *st, const char *path, uint64_t cutoff_us,
    struct rxctx *c)
{
	FILE		*fp;
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 n;
	enum pg_err	 e = PG_OK;

	if ((fp = fopen(path, "re")) == NULL)
		return errno == ENOENT ? PG_NOTFOUND : PG_SYSTEM;
	c->res->files++;
	while (e == PG_OK && (n = getline(&line, &cap, fp)) > 0) {
		/* A torn last line (no newline) is no record yet. */
		if (line[n - 1] != '\n')
			break;
		c->res->lines++;
		if (auditdb_parse_line(line, (size_t)n - 1, &c->recs[c->n]) !=
		    PG_OK) {
			auditdb_line_free(&c->recs[c->n]);
			c->res->skipped++;
			continue;
		}
		if (c->recs[c->n].en.ts_us < cutoff_us) {
			auditdb_line_free(&c->recs[c->n]);
			c->res->expired++;
			continue;
		}
		if (++c->n == RX_BATCH)
			e = rx_flush(st, c);
	}
	free(line);
	fclose(fp);
	return e;
}

static enum pg_err
ret_get_txn(struct store_txn *t, void *arg)
{
	*(uint64_t *)arg = retention_ms(t);
	return PG_OK;
}

enum pg_err
auditdb_reindex(struct store *st, const char *const *paths, size_t npaths,
    struct auditdb_reindex_res *res)
{
	struct rxctx	 c;
	uint64_t	 ret = 0;
	size_t		 i;
	enum pg_err	 e = PG_ENOMEM;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	c.res = res;
	if ((c.recs = calloc(RX_BATCH, sizeof(*c.recs))) == NULL)
		return PG_ENOMEM;
	if ((e = store_run(st, 0, ret_get_txn, &ret)) != PG_OK)
		goto out;
	/* Oldest file first, so a mitigation follows the record it marks. */
	for (i = 0; i < npaths; i++) {
		e = rx_file(st, paths[i], store_now_us() - ret * 1000u, &c);
		if (e == PG_NOTFOUND)
			continue;
		if (e != PG_OK)
			goto out;
	}
	c.done = 1;
	e = rx_flush(st, &c);
out:
	rx_clear(&c);
	free(c.recs);
	return e;
}

static enum pg_err
done_txn(struct store_txn *t, void *arg)
{
	const void	*v;
	size_t		 n;

	*(int *)arg = store_get(t, NS_AUDIT_X, DONE_KEY, sizeof(DONE_KEY) - 1,
	    &v, &n, NULL) == PG_OK;
	return PG_OK;
}

enum pg_err
auditdb_ensure_indexed(struct store *st, const char *state_dir, int force,
    struct auditdb_reindex_res *res)
{
	char		 cur[PATH_MAX], old[PATH_MAX + 4];
	const char	*paths[2];
	int		 done = 0;
	enum pg_err	 e;

	memset(res, 0, sizeof(*res));
	if (!force && ((e = store_run(st, 0, done_txn, &done)) != PG_OK || done))
		return e;
	if (audit_log_path(state_dir, cur, sizeof(cur)) != 0)
		return PG_TOOLARGE;
	snprintf(old, sizeof(old), "%s.1", cur);
	paths[0] = old;		/* the last rotated file, if any */
	paths[1] = cur;
	if ((e = auditdb_reindex(st, paths, 2, res)) == PG_OK)
		res->ran = 1;
	return e;
}
