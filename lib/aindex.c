/*
 * payguard - the audit index over the store (layout in aindex.h): adding
 * a record, the chain head and its checkpoint, mitigation marks,
 * retention.
 *
 * Everything here lives in the store's volatile environment: it is
 * rebuilt from the log file (ascan_reindex), so it never costs an fsync
 * in a request.  Reads use one read transaction per call (no long-lived
 * readers: LMDB caveat).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aindex.h"
#include "apack.h"
#include "buf.h"
#include "codec.h"
#include "store_redis.h"

#define HDR1_LEN	16	/* version 1 value header (whole line) */
#define HDR_LEN		7	/* version 2 value header, see pack_val */
#define TYPE_NAMED	0xff	/* type byte: the name follows */
#define F_SUCCESS	0x04
#define F_MITIGATED	0x08
#define F_PACKED	0x10	/* the line is apack'ed, else raw */
/* Bookkeeping beside the index, in NS_AUDIT_X under kind 'Z'. */
#define RET_KEY		"Zretention_ms"
#define HEAD_KEY	"Zhead"
#define DONE_KEY	"Zreindexed"	/* present once this boot's index
					   holds the whole log */
/* The durable checkpoint of the chain head, in NS_META. */
#define CKPT_KEY	"audit.head"

static size_t
get16(const unsigned char *p)
{
	return (size_t)p[0] << 8 | p[1];
}

static void
be16(unsigned char *p, size_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static uint64_t
retention_ms(struct store_txn *t)
{
	const void	*v;
	size_t		 n;

	if (store_get(t, NS_AUDIT_X, RET_KEY, sizeof(RET_KEY) - 1, &v, &n,
	    NULL) == PG_OK && n == 8)
		return codec_be64_get(v);
	return CFG_RETENTION_DAYS * AINDEX_DAY_MS;
}

/* Version 1 (before the packed lines; still read after an upgrade
 * without a reboot): [0] 1, [1] sev, [2] success, [3] mitigated,
 * [4..5] type len, [6..7] ip len, [8..11] line len, [12..13] action
 * len, [14..15] 0; then type, ip, line, action. */
static int
unpack_v1(const unsigned char *u, size_t n, struct aindex_val *v)
{
	if (n < HDR1_LEN)
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
	    HDR1_LEN + v->tlen + v->iplen + v->llen + v->alen != n)
		return -1;
	v->type = (const char *)u + HDR1_LEN;
	v->ip = v->type + v->tlen;
	v->line = v->ip + v->iplen;
	v->action = (const char *)v->line + v->llen;
	v->node = "";
	return 0;
}

/*
 * Index value (version 2): [0] 2, [1] flags (sev in bits 0-1,
 * F_SUCCESS, F_MITIGATED, F_PACKED), [2] type (enum aevent, or
 * TYPE_NAMED), [3] type name len (TYPE_NAMED only), [4] ip len, [5] node
 * len, [6] action len; then the type name, ip, node, action, and the
 * line (apack.h, or raw) up to the end.
 */
int
aindex_val_unpack(const void *p, size_t n, struct aindex_val *v)
{
	const unsigned char *u = p;
	size_t		 need;

	memset(v, 0, sizeof(*v));
	if (n < 1)
		return -1;
	if (u[0] == 1)
		return unpack_v1(u, n, v);
	if (u[0] != 2 || n < HDR_LEN)
		return -1;
	v->sev = u[1] & 0x03;
	v->success = (u[1] & F_SUCCESS) != 0;
	v->mitigated = (u[1] & F_MITIGATED) != 0;
	v->packed = (u[1] & F_PACKED) != 0;
	v->tlen = u[3];
	v->iplen = u[4];
	v->nlen = u[5];
	v->alen = u[6];
	need = HDR_LEN + (u[2] == TYPE_NAMED ? v->tlen : 0) + v->iplen +
	    v->nlen + v->alen;
	if (need > n || (u[2] != TYPE_NAMED && (u[2] >= AEV__MAX ||
	    v->tlen != 0)))
		return -1;
	if (u[2] == TYPE_NAMED) {
		v->type = (const char *)u + HDR_LEN;
		v->ip = v->type + v->tlen;
	} else {
		v->type = aevent_name((enum aevent)u[2]);
		v->tlen = strlen(v->type);
		v->ip = (const char *)u + HDR_LEN;
	}
	v->node = v->ip + v->iplen;
	v->action = v->node + v->nlen;
	v->line = v->action + v->alen;
	v->llen = n - need;
	return 0;
}

enum pg_err
aindex_val_line(const struct aindex_val *v, uint64_t ts_us, uint64_t seq,
    struct buf *b)
{
	struct apack_ctx	 c;

	if (!v->packed)
		return buf_append(b, v->line, v->llen);
	c.ts_us = ts_us;
	c.seq = seq;
	c.ip = v->ip;
	c.iplen = v->iplen;
	c.type = v->type;
	c.tlen = v->tlen;
	c.node = v->node;
	c.nlen = v->nlen;
	return apack_unline(&c, v->line, v->llen, b);
}

/* The header and strings of v (its line not included) into b. */
static enum pg_err
pack_head(struct buf *b, const struct aindex_val *v)
{
	unsigned char	 h[HDR_LEN];
	enum aevent	 ty = aevent_parse(v->type);
	char		 nm[AINDEX_STR_MAX + 1];

	/* A name the table knows, spelt as the table spells it: one
	 * byte. */
	snprintf(nm, sizeof(nm), "%.*s", (int)v->tlen, v->type);
	if (ty >= AEV__MAX || strcmp(aevent_name(ty), nm) != 0 ||
	    ty >= TYPE_NAMED)
		ty = AEV__MAX;
	h[0] = 2;
	h[1] = (unsigned char)((v->sev & 0x03) |
	    (v->success ? F_SUCCESS : 0) | (v->mitigated ? F_MITIGATED : 0) |
	    (v->packed ? F_PACKED : 0));
	h[2] = ty == AEV__MAX ? TYPE_NAMED : (unsigned char)ty;
	h[3] = ty == AEV__MAX ? (unsigned char)v->tlen : 0;
	h[4] = (unsigned char)v->iplen;
	h[5] = (unsigned char)v->nlen;
	h[6] = (unsigned char)v->alen;
	buf_reset(b);
	if (buf_append(b, h, sizeof(h)) != PG_OK ||
	    (ty == AEV__MAX && buf_append(b, v->type, v->tlen) != PG_OK) ||
	    buf_append(b, v->ip, v->iplen) != PG_OK ||
	    buf_append(b, v->node, v->nlen) != PG_OK ||
	    buf_append(b, v->action, v->alen) != PG_OK)
		return PG_TOOLARGE;
	return PG_OK;
}

/* The whole value: header, strings, then the line as given in v
 * (already packed or raw, as v->packed says). */
static enum pg_err
pack_val(struct buf *b, const struct aindex_val *v)
{
	enum pg_err	 e;

	if ((e = pack_head(b, v)) != PG_OK)
		return e;
	return buf_append(b, v->line, v->llen);
}

/* Cuts a string to what one header byte can say. */
static size_t
cut(const char *s, size_t max)
{
	size_t	 n = s != NULL ? strlen(s) : 0;

	return n > max ? max : n;
}

size_t
aindex_hkey(unsigned char *k, uint64_t hour, char kind, const char *val,
    size_t vlen)
{
	if (vlen > AINDEX_STR_MAX)
		vlen = AINDEX_STR_MAX;
	k[0] = AINDEX_K_HOUR;
	codec_be64_put(k + 1, hour);
	k[9] = (unsigned char)kind;
	memcpy(k + 10, val, vlen);
	return 10 + vlen;
}

void
aindex_sev_key(int sev, char s[2])
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
		cur = codec_be64_get(v);
	codec_be64_put(c, cur + 1);
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
	codec_be64_put(k + 1, minute);
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
rl_identity(const struct arecord_entry *en, char *out, size_t outsz)
{
	/* Webhooks are limited per client address, not per "stripe". */
	if (strcmp(en->identity, "stripe") == 0 ||
	    strcmp(en->identity, "anonymous") == 0 || en->identity[0] == '\0')
		snprintf(out, outsz, "ip:%s", en->ip);
	else
		snprintf(out, outsz, "%s", en->identity);
}

/* The counter keys en adds one to (at most 3), into k[i] / kl[i]. */
static size_t
tally_keys(const struct arecord_entry *en, unsigned char k[3][STORE_KEY_MAX],
    size_t kl[3])
{
	char		 sv[2], ident[AINDEX_STR_MAX * 2 + 8], tb[201];
	uint64_t	 minute = en->ts_us / AINDEX_MIN_US;
	size_t		 tlen, iplen, n = 0;

	aindex_sev_key(en->sev, sv);
	/* Counters: the sev byte, then the type. */
	tlen = strlen(en->type_name);
	if (tlen > AINDEX_STR_MAX)
		tlen = AINDEX_STR_MAX;
	if (tlen > 199)
		tlen = 199;
	tb[0] = sv[0];
	memcpy(tb + 1, en->type_name, tlen);
	kl[n] = ckey(k[n], AINDEX_K_MINUTE, minute, tb, tlen + 1, NULL);
	n++;
	if (aevent_suspicious(en->type, en->success)) {
		iplen = strlen(en->ip) > AINDEX_STR_MAX ? AINDEX_STR_MAX :
		    strlen(en->ip);
		kl[n] = ckey(k[n], AINDEX_K_SUSPECT, minute, en->ip, iplen,
		    NULL);
		n++;
	}
	if (en->op != NULL) {
		rl_identity(en, ident, sizeof(ident));
		kl[n] = ckey(k[n], AINDEX_K_RATE, minute, en->op,
		    strlen(en->op), ident);
		n++;
	}
	return n;
}

enum pg_err
aindex_tally(struct store_txn *t, const struct arecord_entry *en)
{
	unsigned char	 k[3][STORE_KEY_MAX];
	size_t		 kl[3], i, n;
	uint64_t	 exp;
	enum pg_err	 e = PG_OK;

	exp = en->ts_us / 1000 + retention_ms(t);
	n = tally_keys(en, k, kl);
	for (i = 0; i < n && e == PG_OK; i++)
		e = bump(t, k[i], kl[i], exp);
	return e;
}

/* Sets the marker "hour holds a record with kind = val" (a read first:
 * most records find it set, and a read dirties no page). */
static enum pg_err
mark(struct store_txn *t, uint64_t hour, char kind, const char *val,
    size_t vlen, uint64_t exp)
{
	unsigned char	 k[STORE_KEY_MAX];
	const void	*pv;
	size_t		 klen, pn;

	klen = aindex_hkey(k, hour, kind, val, vlen);
	if (store_get(t, NS_AUDIT_X, k, klen, &pv, &pn, NULL) == PG_OK)
		return PG_OK;
	return store_put(t, NS_AUDIT_X, k, klen, "", 0, exp, STORE_DERIVED);
}

/* The index value of en (header, strings, packed or raw line) into b;
 * v gets the header fields (strings cut as stored). */
static enum pg_err
entry_value(const struct arecord_entry *en, struct aindex_val *v,
    struct buf *b)
{
	struct apack_ctx	 c;
	size_t		 hlen;
	enum pg_err	 e;

	memset(v, 0, sizeof(*v));
	v->sev = en->sev;
	v->success = en->success;
	v->type = en->type_name;
	v->tlen = cut(v->type, AINDEX_STR_MAX);
	v->ip = en->ip;
	v->iplen = cut(en->ip, AINDEX_STR_MAX);
	v->node = en->node != NULL ? en->node : "";
	v->nlen = cut(v->node, AINDEX_STR_MAX);
	v->action = "";
	v->packed = 1;
	if ((e = pack_head(b, v)) != PG_OK)
		return e;
	hlen = b->len;
	c.ts_us = en->ts_us;
	c.seq = en->seq;
	c.ip = v->ip;
	c.iplen = v->iplen;
	c.type = v->type;
	c.tlen = v->tlen;
	c.node = v->node;
	c.nlen = v->nlen;
	if (apack_line(&c, en->line, en->line_len, b) != PG_OK) {
		/* Not packable (an odd line from an old log): kept raw. */
		b->data[1] = (char)(b->data[1] & ~F_PACKED);
		b->len = hlen;
		return buf_append(b, en->line, en->line_len);
	}
	return PG_OK;
}

enum pg_err
aindex_add(struct store_txn *t, const struct arecord_entry *en)
{
	unsigned char	 k[16];
	char		 sv[2];
	struct aindex_val	 v;
	struct buf	 b;
	const void	*pv;
	uint64_t	 exp, hour = en->ts_us / AINDEX_HOUR_US, ret;
	size_t		 pn;
	enum pg_err	 e;

	/* Indexed already (a reindex racing the live writer, or run
	 * twice): the counters must not count it again. */
	codec_be64_put(k, en->ts_us);
	codec_be64_put(k + 8, en->seq);
	if (store_get(t, NS_AUDIT, k, 16, &pv, &pn, NULL) == PG_OK)
		return PG_OK;
	ret = retention_ms(t);
	exp = en->ts_us / 1000 + ret;
	buf_init(&b, ARECORD_LINE_MAX + 1024);
	if ((e = entry_value(en, &v, &b)) != PG_OK ||
	    (e = store_put(t, NS_AUDIT, k, 16, b.data, b.len, exp,
	    STORE_DERIVED)) != PG_OK)
		goto out;
	/* The hour's markers live as long as its newest record may. */
	exp = (hour + 1) * (AINDEX_HOUR_US / 1000) + ret;
	aindex_sev_key(en->sev, sv);
	if ((e = mark(t, hour, AINDEX_M_TYPE, v.type, v.tlen, exp)) != PG_OK ||
	    (e = mark(t, hour, AINDEX_M_SEV, sv, 1, exp)) != PG_OK ||
	    (e = mark(t, hour, AINDEX_M_IP, v.ip, v.iplen, exp)) != PG_OK ||
	    (v.nlen > 0 && (e = mark(t, hour, AINDEX_M_NODE, v.node, v.nlen,
	    exp)) != PG_OK))
		goto out;
	e = aindex_tally(t, en);
out:
	buf_free(&b);
	return e;
}

/* ------------------------------------------------ the shared index */

/*
 * With PAYGUARD_STORE=redis the records also go to Redis, so that every
 * node's page and CLI list every node's records (issue 11).  Keys, all
 * under one hash tag:
 *   pg:{audit}:i            sorted set, all scores 0, members
 *                           be64 ts_us | be64 seq | node (lexical order:
 *                           time, then seq, then node)
 *   pg:{audit}:r:<member>   the index value, as on LMDB; PX = what is
 *                           left of the retention
 *   pg:{audit}:h:<be64 hour><kind><value>   the hourly markers
 * A record is added once per (node, seq) (its time comes from its line,
 * so a rebuild from the log finds the same member): a script checks and
 * writes in one step.  Members whose record expired are skipped by
 * readers and removed by aindex_sweep.
 */
static struct redis_script s_aidx_add = { "audit_index_add",
	"if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end\n"
	"redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])\n"
	"redis.call('ZADD', KEYS[1], 0, ARGV[1])\n"
	"for i = 3, #KEYS - 1 do\n"
	"  redis.call('SET', KEYS[i], '1', 'PX', ARGV[4])\n"
	"end\n"
	"for i = 5, #ARGV do\n"
	"  redis.call('HINCRBY', KEYS[#KEYS], ARGV[i], 1)\n"
	"end\n"
	"redis.call('PEXPIRE', KEYS[#KEYS], ARGV[4])\n"
	"return 1\n", "" };

/* KEYS: the hour's counter hash.  ARGV: its PX, then the fields. */
static struct redis_script s_aidx_tally = { "audit_index_tally",
	"for i = 2, #ARGV do\n"
	"  redis.call('HINCRBY', KEYS[1], ARGV[i], 1)\n"
	"end\n"
	"redis.call('PEXPIRE', KEYS[1], ARGV[1])\n"
	"return 0\n", "" };

size_t
aindex_shared_counters(unsigned char *k, uint64_t hour)
{
	unsigned char	 h[8];

	codec_be64_put(h, hour);
	return aindex_shared_key(k, "c:", h, 8);
}

enum pg_err
aindex_shared_tally(struct store *st, const struct arecord_entry *en)
{
	struct rstore	*rs = store_shared(st);
	unsigned char	 ck[64], k[3][STORE_KEY_MAX];
	char		 px[24];
	const char	*argv[5];
	size_t		 al[5], kl[3], i, n;
	uint64_t	 ret = 0, now = store_now_ms(), hour, exp;
	redisReply	*rep = NULL;
	enum pg_err	 e;

	if (rs == NULL)
		return PG_OK;
	if ((e = aindex_retention(st, &ret)) != PG_OK)
		return e;
	hour = en->ts_us / AINDEX_HOUR_US;
	exp = (hour + 1) * (AINDEX_HOUR_US / 1000) + ret;
	if (exp <= now)
		return PG_OK;
	n = tally_keys(en, k, kl);
	al[0] = aindex_shared_counters(ck, hour);
	argv[0] = (const char *)ck;
	snprintf(px, sizeof(px), "%llu", (unsigned long long)(exp - now));
	argv[1] = px;
	al[1] = strlen(px);
	for (i = 0; i < n; i++) {
		argv[i + 2] = (const char *)k[i];
		al[i + 2] = kl[i];
	}
	e = redis_eval(rstore_redis(rs), &s_aidx_tally, 1, (int)n + 2, argv,
	    al, &rep);
	if (rep != NULL)
		freeReplyObject(rep);
	return e;
}

size_t
aindex_shared_member(unsigned char *m, uint64_t ts_us, uint64_t seq,
    const char *node, size_t nlen)
{
	if (nlen > AINDEX_STR_MAX)
		nlen = AINDEX_STR_MAX;
	codec_be64_put(m, ts_us);
	codec_be64_put(m + 8, seq);
	memcpy(m + 16, node, nlen);
	return 16 + nlen;
}

size_t
aindex_shared_key(unsigned char *k, const char *kind, const void *p,
    size_t n)
{
	size_t	 l = strlen(AINDEX_RKEY) + strlen(kind);

	memcpy(k, AINDEX_RKEY, strlen(AINDEX_RKEY));
	memcpy(k + strlen(AINDEX_RKEY), kind, strlen(kind));
	memcpy(k + l, p, n);
	return l + n;
}

/* The marker key of hour/kind/value for Redis into k. */
static size_t
shared_mark(unsigned char *k, uint64_t hour, char kind, const char *val,
    size_t vlen)
{
	unsigned char	 h[STORE_KEY_MAX];
	size_t		 n = aindex_hkey(h, hour, kind, val, vlen);

	/* Without the leading 'H' of the LMDB key. */
	return aindex_shared_key(k, "h:", h + 1, n - 1);
}

enum pg_err
aindex_shared_add(struct store *st, const struct arecord_entry *en,
    int *added)
{
	struct rstore	*rs = store_shared(st);
	unsigned char	 mem[16 + AINDEX_STR_MAX], keys[7][STORE_KEY_MAX + 32];
	unsigned char	 ck[3][STORE_KEY_MAX];
	char		 pxr[24], pxm[24], sv[2];
	const char	*argv[16];
	size_t		 al[16], ckl[3], nk = 0, nc, i, ml;
	struct aindex_val	 v;
	struct buf	 b;
	redisReply	*rep = NULL;
	uint64_t	 ret = 0, now = store_now_ms(), exp, mexp;
	uint64_t	 hour = en->ts_us / AINDEX_HOUR_US;
	enum pg_err	 e;

	if (added != NULL)
		*added = 0;
	if (rs == NULL)
		return PG_OK;
	if ((e = aindex_retention(st, &ret)) != PG_OK)
		return e;
	exp = en->ts_us / 1000 + ret;
	mexp = (hour + 1) * (AINDEX_HOUR_US / 1000) + ret;
	if (exp <= now)
		return PG_OK;	/* past the retention: not kept */
	buf_init(&b, ARECORD_LINE_MAX + 1024);
	if ((e = entry_value(en, &v, &b)) != PG_OK)
		goto out;
	ml = aindex_shared_member(mem, en->ts_us, en->seq, v.node, v.nlen);
	al[nk] = aindex_shared_key(keys[nk], "i", "", 0);
	nk++;
	al[nk] = aindex_shared_key(keys[nk], "r:", mem, ml);
	nk++;
	aindex_sev_key(en->sev, sv);
	al[nk] = shared_mark(keys[nk], hour, AINDEX_M_TYPE, v.type, v.tlen);
	nk++;
	al[nk] = shared_mark(keys[nk], hour, AINDEX_M_SEV, sv, 1);
	nk++;
	al[nk] = shared_mark(keys[nk], hour, AINDEX_M_IP, v.ip, v.iplen);
	nk++;
	if (v.nlen > 0) {
		al[nk] = shared_mark(keys[nk], hour, AINDEX_M_NODE, v.node,
		    v.nlen);
		nk++;
	}
	/* The hour's counters (stats, alerts): counted with the record,
	 * so a rebuild does not count it twice either. */
	al[nk] = aindex_shared_counters(keys[nk], hour);
	nk++;
	for (i = 0; i < nk; i++)
		argv[i] = (const char *)keys[i];
	snprintf(pxr, sizeof(pxr), "%llu", (unsigned long long)(exp - now));
	snprintf(pxm, sizeof(pxm), "%llu", (unsigned long long)(mexp - now));
	argv[nk] = (const char *)mem;
	al[nk] = ml;
	argv[nk + 1] = b.data;
	al[nk + 1] = b.len;
	argv[nk + 2] = pxr;
	al[nk + 2] = strlen(pxr);
	argv[nk + 3] = pxm;
	al[nk + 3] = strlen(pxm);
	nc = tally_keys(en, ck, ckl);
	for (i = 0; i < nc; i++) {
		argv[nk + 4 + i] = (const char *)ck[i];
		al[nk + 4 + i] = ckl[i];
	}
	if ((e = redis_eval(rstore_redis(rs), &s_aidx_add, (int)nk,
	    (int)(nk + 4 + nc), argv, al, &rep)) != PG_OK)
		goto out;
	if (added != NULL)
		*added = rs_num(rep) == 1;
out:
	if (rep != NULL)
		freeReplyObject(rep);
	buf_free(&b);
	return e;
}

static enum pg_err
head_read(struct store_txn *t, enum store_ns ns, const char *key,
    uint64_t *seq, unsigned char hash[ARECORD_HASH_LEN], uint64_t *at_ms)
{
	const void	*v;
	size_t		 n;
	enum pg_err	 e;

	if ((e = store_get(t, ns, key, strlen(key), &v, &n, NULL)) != PG_OK)
		return e;
	if (n != 16 + ARECORD_HASH_LEN)
		return PG_NOTFOUND;
	*seq = codec_be64_get(v);
	memcpy(hash, (const unsigned char *)v + 8, ARECORD_HASH_LEN);
	if (at_ms != NULL)
		*at_ms = codec_be64_get((const unsigned char *)v + 8 +
		    ARECORD_HASH_LEN);
	return PG_OK;
}

/* Writes the head at key unless the one there is as far along already
 * (appends and their index transactions may commit out of order). */
static enum pg_err
head_write(struct store_txn *t, enum store_ns ns, const char *key,
    uint64_t seq, const unsigned char hash[ARECORD_HASH_LEN])
{
	unsigned char	 v[16 + ARECORD_HASH_LEN], h[ARECORD_HASH_LEN];
	uint64_t	 cur;

	if (head_read(t, ns, key, &cur, h, NULL) == PG_OK && cur >= seq)
		return PG_OK;
	codec_be64_put(v, seq);
	memcpy(v + 8, hash, ARECORD_HASH_LEN);
	codec_be64_put(v + 8 + ARECORD_HASH_LEN, store_now_ms());
	return store_put(t, ns, key, strlen(key), v, sizeof(v), 0,
	    STORE_DERIVED);
}

enum pg_err
aindex_head_get(struct store_txn *t, uint64_t *seq,
    unsigned char hash[ARECORD_HASH_LEN])
{
	return head_read(t, NS_AUDIT_X, HEAD_KEY, seq, hash, NULL);
}

enum pg_err
aindex_head_put(struct store_txn *t, uint64_t seq,
    const unsigned char hash[ARECORD_HASH_LEN])
{
	return head_write(t, NS_AUDIT_X, HEAD_KEY, seq, hash);
}

/* One head record: where it lives (volatile head or durable checkpoint). */
struct headctx {
	enum store_ns	 ns;
	const char	*key;
	uint64_t	 seq, at_ms;
	unsigned char	 hash[ARECORD_HASH_LEN];
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
aindex_head_durable(struct store *st, uint64_t *seq,
    unsigned char hash[ARECORD_HASH_LEN])
{
	struct headctx	 h;
	enum pg_err	 e;

	head_at(&h, 1);
	if ((e = store_run(st, 0, head_get_txn, &h)) != PG_OK)
		return e;
	if (h.e == PG_OK) {
		*seq = h.seq;
		memcpy(hash, h.hash, ARECORD_HASH_LEN);
	}
	return h.e;
}

enum pg_err
aindex_checkpoint(struct store *st, uint64_t min_gap_ms)
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
aindex_prime(struct store *st)
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


/* The member of (ts_us, seq) in the shared index, whatever its node,
 * into m (*ml its length); PG_NOTFOUND when absent. */
static enum pg_err
shared_find(struct rstore *rs, uint64_t ts_us, uint64_t seq,
    unsigned char *m, size_t *ml)
{
	unsigned char	 k[64], lo[17], hi[17];
	const char	*argv[7];
	size_t		 al[7];
	redisReply	*rep = NULL;
	enum pg_err	 e;

	lo[0] = '[';
	codec_be64_put(lo + 1, ts_us);
	codec_be64_put(lo + 9, seq);
	hi[0] = '(';
	codec_be64_put(hi + 1, ts_us);
	codec_be64_put(hi + 9, seq + 1);
	argv[0] = "ZRANGEBYLEX";
	al[0] = 11;
	al[1] = aindex_shared_key(k, "i", "", 0);
	argv[1] = (const char *)k;
	argv[2] = (const char *)lo;
	al[2] = 17;
	argv[3] = (const char *)hi;
	al[3] = 17;
	argv[4] = "LIMIT";
	al[4] = 5;
	argv[5] = "0";
	al[5] = 1;
	argv[6] = "1";
	al[6] = 1;
	if ((e = redis_cmd(rstore_redis(rs), 7, argv, al, &rep)) != PG_OK)
		return e;
	e = PG_NOTFOUND;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
	    rep->element[0]->type == REDIS_REPLY_STRING &&
	    rep->element[0]->len >= 16 &&
	    rep->element[0]->len <= 16 + AINDEX_STR_MAX) {
		*ml = rep->element[0]->len;
		memcpy(m, rep->element[0]->str, *ml);
		e = PG_OK;
	}
	freeReplyObject(rep);
	return e;
}

/* The shared copy of a mitigation mark (read, rewrite, keep the TTL;
 * two admins marking one record at once: the last note wins). */
static enum pg_err
shared_mitigate(struct rstore *rs, uint64_t ts_us, uint64_t seq,
    const char *action)
{
	unsigned char	 m[16 + AINDEX_STR_MAX], k[STORE_KEY_MAX + 32];
	const char	*argv[4];
	size_t		 al[4], ml = 0;
	struct aindex_val	 v;
	struct buf	 b;
	redisReply	*rep = NULL;
	enum pg_err	 e;

	if ((e = shared_find(rs, ts_us, seq, m, &ml)) != PG_OK)
		return e;
	argv[0] = "GET";
	al[0] = 3;
	al[1] = aindex_shared_key(k, "r:", m, ml);
	argv[1] = (const char *)k;
	if ((e = redis_cmd(rstore_redis(rs), 2, argv, al, &rep)) != PG_OK)
		return e;
	buf_init(&b, ARECORD_LINE_MAX + 1024);
	e = PG_NOTFOUND;
	if (rep->type != REDIS_REPLY_STRING ||
	    aindex_val_unpack(rep->str, rep->len, &v) != 0)
		goto out;
	v.mitigated = 1;
	v.action = action;
	v.alen = cut(action, AINDEX_ACTION_MAX);
	if ((e = pack_val(&b, &v)) != PG_OK)
		goto out;
	freeReplyObject(rep);
	rep = NULL;
	argv[0] = "SET";
	argv[2] = b.data;
	al[2] = b.len;
	argv[3] = "KEEPTTL";
	al[3] = 7;
	e = redis_cmd(rstore_redis(rs), 4, argv, al, &rep);
out:
	if (rep != NULL)
		freeReplyObject(rep);
	buf_free(&b);
	return e;
}

enum pg_err
aindex_shared_mitigate(struct store *st, uint64_t ts_us, uint64_t seq,
    const char *action)
{
	struct rstore	*rs = store_shared(st);

	return rs == NULL ? PG_OK : shared_mitigate(rs, ts_us, seq, action);
}

/* Members older than cutoff leave the shared set (their records and
 * markers expire by themselves). */
static enum pg_err
shared_sweep(struct rstore *rs, uint64_t cutoff_us, size_t *n)
{
	unsigned char	 k[64], hi[17];
	const char	*argv[4];
	size_t		 al[4];
	redisReply	*rep = NULL;
	enum pg_err	 e;

	hi[0] = '(';
	codec_be64_put(hi + 1, cutoff_us);
	codec_be64_put(hi + 9, 0);
	argv[0] = "ZREMRANGEBYLEX";
	al[0] = 14;
	al[1] = aindex_shared_key(k, "i", "", 0);
	argv[1] = (const char *)k;
	argv[2] = "-";
	al[2] = 1;
	argv[3] = (const char *)hi;
	al[3] = 17;
	if ((e = redis_cmd(rstore_redis(rs), 4, argv, al, &rep)) != PG_OK)
		return e;
	*n += (size_t)rs_num(rep);
	freeReplyObject(rep);
	return PG_OK;
}

struct mitctx {
	uint64_t	 ts_us, seq;
	const char	*action;
};

enum pg_err
aindex_mitigate_txn(struct store_txn *t, uint64_t ts_us, uint64_t seq,
    const char *action)
{
	unsigned char	 k[16];
	const void	*p;
	size_t		 n;
	uint64_t	 exp;
	struct aindex_val	 v;
	struct buf	 b;
	enum pg_err	 e;

	codec_be64_put(k, ts_us);
	codec_be64_put(k + 8, seq);
	if ((e = store_get(t, NS_AUDIT, k, 16, &p, &n, &exp)) != PG_OK)
		return e;
	if (aindex_val_unpack(p, n, &v) != 0)
		return PG_STORE;
	v.mitigated = 1;
	v.action = action;
	v.alen = strlen(action) > AINDEX_ACTION_MAX ? AINDEX_ACTION_MAX :
	    strlen(action);
	buf_init(&b, 1u << 20);
	/* pack_val copies from p, which stays valid until our put. */
	if ((e = pack_val(&b, &v)) == PG_OK)
		e = store_put(t, NS_AUDIT, k, 16, b.data, b.len, exp,
		    STORE_DERIVED);
	buf_free(&b);
	return e;
}

static enum pg_err
mit_txn(struct store_txn *t, void *arg)
{
	struct mitctx	*m = arg;

	return aindex_mitigate_txn(t, m->ts_us, m->seq, m->action);
}

enum pg_err
aindex_mitigate(struct store *st, uint64_t ts_us, uint64_t seq,
    const char *action)
{
	struct mitctx	 m = { ts_us, seq, action };
	enum pg_err	 e;

	e = store_run(st, 1, mit_txn, &m);
	/* The shared index is what the pages read with Redis. */
	if (store_shared(st) != NULL && (e == PG_OK || e == PG_NOTFOUND))
		e = shared_mitigate(store_shared(st), ts_us, seq, action);
	return e;
}

/* ---------------------------------------------------------- retention */

struct retctx {
	uint32_t	 days;
};

static enum pg_err
ret_txn(struct store_txn *t, void *arg)
{
	struct retctx	*r = arg;
	unsigned char	 v[8];

	codec_be64_put(v, (uint64_t)r->days * AINDEX_DAY_MS);
	return store_put(t, NS_AUDIT_X, RET_KEY, sizeof(RET_KEY) - 1, v, 8, 0,
	    STORE_DERIVED);
}

enum pg_err
aindex_set_retention(struct store *st, uint32_t days)
{
	struct retctx	 r = { days == 0 ? CFG_RETENTION_DAYS : days };
	uint64_t	 cur;
	enum pg_err	 e;

	/* A read first: every audit.cgi run sets it, and it rarely
	 * changes (no write transaction per view). */
	if ((e = aindex_retention(st, &cur)) == PG_OK &&
	    cur == (uint64_t)r.days * AINDEX_DAY_MS)
		return PG_OK;
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

	(void)val; (void)vlen; (void)exp;
	if (c->nkeys >= c->budget)
		return 1;
	sw_push(c, NS_AUDIT, key, klen);
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
	const char	*kinds = "MPRH";
	uint64_t	 unit;
	size_t		 off, klen;
	int		 ns;
	enum pg_err	 err;

	buf_reset(&c->keys);
	c->nkeys = 0;
	c->done = 0;
	codec_be64_put(end, c->cutoff_us);
	codec_be64_put(end + 8, 0);
	if ((err = store_scan(t, NS_AUDIT, NULL, 0, end, 16, 0, sw_main,
	    c)) != PG_OK)
		return err;
	for (; *kinds != '\0' && c->nkeys < c->budget; kinds++) {
		/* Counters by the minute, markers by the hour: the unit
		 * holding the cutoff stays (it holds newer records). */
		unit = *kinds == AINDEX_K_HOUR ? AINDEX_HOUR_US : AINDEX_MIN_US;
		s[0] = e[0] = (unsigned char)*kinds;
		codec_be64_put(s + 1, 0);
		codec_be64_put(e + 1, c->cutoff_us / unit);
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
aindex_sweep(struct store *st, uint64_t cutoff_us, size_t budget, size_t *n)
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
	if (e == PG_OK && store_shared(st) != NULL)
		e = shared_sweep(store_shared(st), cutoff_us, n);
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
aindex_count(struct store *st)
{
	size_t	 n = 0;

	store_run(st, 0, count_txn, &n);
	return n;
}

static enum pg_err
ret_get_txn(struct store_txn *t, void *arg)
{
	*(uint64_t *)arg = retention_ms(t);
	return PG_OK;
}

enum pg_err
aindex_retention(struct store *st, uint64_t *ms)
{
	*ms = 0;
	return store_run(st, 0, ret_get_txn, ms);
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
aindex_complete_get(struct store *st, int *done)
{
	*done = 0;
	return store_run(st, 0, done_txn, done);
}

enum pg_err
aindex_complete_put(struct store_txn *t)
{
	return store_put(t, NS_AUDIT_X, DONE_KEY, sizeof(DONE_KEY) - 1, "1", 1,
	    0, STORE_DERIVED);
}
