/*
 * payguard - the audit index's shared copy in Redis (PAYGUARD_STORE=redis):
 * the aindex_shared_* half of aindex.h.  LMDB's half is aindex.c; both
 * build the same index value (aindex_entry_value), so a record reads
 * back the same from either.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aindex.h"
#include "buf.h"
#include "codec.h"
#include "store_redis.h"

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
	n = aindex_tally_keys(en, k, kl);
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
		redis_reply_free(rep);
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
	if ((e = aindex_entry_value(en, &v, &b)) != PG_OK)
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
	nc = aindex_tally_keys(en, ck, ckl);
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
		redis_reply_free(rep);
	buf_free(&b);
	return e;
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
	redis_reply_free(rep);
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
	v.alen = aindex_cut(action, AINDEX_ACTION_MAX);
	if ((e = aindex_pack_val(&b, &v)) != PG_OK)
		goto out;
	redis_reply_free(rep);
	rep = NULL;
	argv[0] = "SET";
	argv[2] = b.data;
	al[2] = b.len;
	argv[3] = "KEEPTTL";
	al[3] = 7;
	e = redis_cmd(rstore_redis(rs), 4, argv, al, &rep);
out:
	if (rep != NULL)
		redis_reply_free(rep);
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

enum pg_err
aindex_shared_sweep(struct store *st, uint64_t cutoff_us, size_t *n)
{
	struct rstore	*rs = store_shared(st);
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
	redis_reply_free(rep);
	return PG_OK;
}
