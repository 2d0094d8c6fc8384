/*
 * payguard - the store's operations on Redis.
 *
 * Layout (prefix "pg:"):
 *   pg:{r:<op>|<identity>|<L>}  sorted set of admission times (us), one
 *                               member per admission (a random name, so two
 *                               admissions in one microsecond both count)
 *   pg:{ev}:e:<id>              hash: rec (the sealed record as on LMDB,
 *                               whose clear header gives type, created,
 *                               livemode), and the fields scripts change:
 *                               st att lease due own rcv dlv ls le
 *   pg:{ev}:q                   sorted set: id scored by due time (ms);
 *                               a claimed event is due when its lease ends
 *   pg:{i:<sha256 hex>}         hash: st own locked fp up status rec
 *   pg:{tok}:n:<name>           hash: rec (struct token_rec), rev
 *   pg:{tok}:h:<hash hex>       the name, while the token is live
 * Redis scripts keep the writes they made before an error (no rollback):
 * each script checks its arguments and the record's state before its
 * first write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "buf.h"
#include "codec.h"
#include "log.h"
#include "rand.h"
#include "redis.h"
#include "seal.h"
#include "store_redis.h"

#define LEASE_MARGIN_MS	10000	/* as inbox.c */
#define MAX_BACKOFF_S	3600	/* as inbox.c */
#define OWNER_LEN	32	/* hex characters */
#define EV_PREFIX	"pg:{ev}:e:"
#define EV_QUEUE	"pg:{ev}:q"
#define TOK_NAME	"pg:{tok}:n:"
#define TOK_HASH	"pg:{tok}:h:"
#define SCAN_COUNT	"500"

struct rstore {
	struct redis	*r;
	/* The lease token of this handle's last event claim. */
	char		 ev_id[EVENT_ID_MAX + 1];
	char		 ev_owner[OWNER_LEN + 1];
	/* The lock token of this handle's last idempotency begin. */
	char		 idem_key[2 * SHA256_DIGEST_LENGTH + 8];
	char		 idem_owner[OWNER_LEN + 1];
};

/* Time in ms, and the event's fields as the scripts return them. */
#define LUA_NOW_MS \
	"local t = redis.call('TIME')\n" \
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
#define LUA_EV_HDR \
	"local function hdr(o)\n" \
	"  local v = redis.call('HMGET', KEYS[1], 'st', 'att', 'lease', 'due'," \
	"    'rcv', 'dlv', 'ls', 'le')\n" \
	"  return {o, v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]}\n" \
	"end\n"
#define EV_FIELDS	9	/* outcome + the 8 fields of LUA_EV_HDR */

/* KEYS: window.  ARGV: limit, window us, member. */
static struct redis_script s_rate = { "rate_check",
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
	"local L, W = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
	"if not L or not W or L < 1 or W < 1 or ARGV[3] == '' then\n"
	"  return redis.error_reply('ERR payguard rate_check: bad arguments')\n"
	"end\n"
	"redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - W)\n"
	"local n = redis.call('ZCARD', KEYS[1])\n"
	"local ok = 0\n"
	"if n < L then\n"
	"  redis.call('ZADD', KEYS[1], now, ARGV[3])\n"
	"  redis.call('PEXPIRE', KEYS[1], math.floor(W / 1000) + 1000)\n"
	"  n = n + 1\n"
	"  ok = 1\n"
	"end\n"
	"local o = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
	"return {ok, n, o[2] or '0', string.format('%.0f', now)}\n", "" };

/* KEYS: event, queue.  ARGV: id, rec, claim, lease ms, owner. */
static struct redis_script s_accept = { "event_accept",
	LUA_NOW_MS LUA_EV_HDR
	"local dur = tonumber(ARGV[4])\n"
	"if not dur or ARGV[1] == '' or ARGV[2] == '' or ARGV[5] == '' then\n"
	"  return redis.error_reply('ERR payguard event_accept: bad arguments')\n"
	"end\n"
	"local claim = ARGV[3] == '1'\n"
	"if redis.call('EXISTS', KEYS[1]) == 0 then\n"
	"  local st, att, lease, due, own = 0, 0, 0, now, ''\n"
	"  if claim then\n"
	"    st, att, lease, own = 1, 1, now + dur, ARGV[5]\n"
	"    due = lease\n"
	"  end\n"
	"  redis.call('HSET', KEYS[1], 'rec', ARGV[2], 'st', st, 'att', att,\n"
	"    'lease', lease, 'due', due, 'own', own, 'rcv', now, 'dlv', 0,\n"
	"    'ls', -1, 'le', '')\n"
	"  redis.call('ZADD', KEYS[2], due, ARGV[1])\n"
	"  return hdr(0)\n"
	"end\n"
	"local v = redis.call('HMGET', KEYS[1], 'st', 'lease')\n"
	"local st, lease = tonumber(v[1]), tonumber(v[2])\n"
	"if not st or not lease then\n"
	"  return redis.error_reply('ERR payguard event_accept: damaged record')\n"
	"end\n"
	"if not claim or st == 2 or st == 3 then return hdr(1) end\n"
	"if st == 1 and lease > now then return hdr(3) end\n"
	"lease = now + dur\n"
	"redis.call('HSET', KEYS[1], 'st', 1, 'lease', lease, 'due', lease,\n"
	"  'own', ARGV[5])\n"
	"redis.call('HINCRBY', KEYS[1], 'att', 1)\n"
	"redis.call('ZADD', KEYS[2], lease, ARGV[1])\n"
	"return hdr(2)\n", "" };

/* KEYS: event, queue.  ARGV: id, lease ms, owner.  -1 gone, -2 not due. */
static struct redis_script s_claim = { "event_claim",
	LUA_NOW_MS LUA_EV_HDR
	"local dur = tonumber(ARGV[2])\n"
	"if not dur or ARGV[1] == '' or ARGV[3] == '' then\n"
	"  return redis.error_reply('ERR payguard event_claim: bad arguments')\n"
	"end\n"
	"local sc = redis.call('ZSCORE', KEYS[2], ARGV[1])\n"
	"if not sc then return {-1} end\n"
	"if tonumber(sc) > now then return {-2} end\n"
	"local st = tonumber(redis.call('HGET', KEYS[1], 'st'))\n"
	"if not st or st == 2 or st == 3 then\n"
	"  redis.call('ZREM', KEYS[2], ARGV[1])\n"
	"  return {-1}\n"
	"end\n"
	"local lease = now + dur\n"
	"redis.call('HSET', KEYS[1], 'st', 1, 'lease', lease, 'due', lease,\n"
	"  'own', ARGV[3])\n"
	"redis.call('HINCRBY', KEYS[1], 'att', 1)\n"
	"redis.call('ZADD', KEYS[2], lease, ARGV[1])\n"
	"local r = hdr(0)\n"
	"r[#r + 1] = redis.call('HGET', KEYS[1], 'rec')\n"
	"return r\n", "" };

/*
 * KEYS: event, queue.  ARGV: id, owner, ok, status, error, max attempts,
 * retry base s, dedup ttl ms, max backoff s.  0 done, -1 gone, -3 the
 * lease is not ours (any more).
 */
static struct redis_script s_finish = { "event_finish",
	LUA_NOW_MS
	"local status, maxa, base, ttl, cap = tonumber(ARGV[4]),\n"
	"  tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]),\n"
	"  tonumber(ARGV[9])\n"
	"if not status or not maxa or not base or not ttl or not cap or\n"
	"  ARGV[2] == '' then\n"
	"  return redis.error_reply('ERR payguard event_finish: bad arguments')\n"
	"end\n"
	"local v = redis.call('HMGET', KEYS[1], 'st', 'own', 'att')\n"
	"if not v[1] then return -1 end\n"
	"if tonumber(v[1]) ~= 1 or v[2] ~= ARGV[2] then return -3 end\n"
	"local att = tonumber(v[3]) or 1\n"
	"if ARGV[3] == '1' then\n"
	"  redis.call('HSET', KEYS[1], 'st', 2, 'dlv', now, 'ls', status,\n"
	"    'le', ARGV[5], 'own', '', 'lease', 0, 'due', 0)\n"
	"  redis.call('ZREM', KEYS[2], ARGV[1])\n"
	"  redis.call('PEXPIRE', KEYS[1], ttl)\n"
	"elseif att >= maxa then\n"
	"  redis.call('HSET', KEYS[1], 'st', 3, 'ls', status, 'le', ARGV[5],\n"
	"    'own', '', 'lease', 0, 'due', 0)\n"
	"  redis.call('ZREM', KEYS[2], ARGV[1])\n"
	"else\n"
	"  local sh = att - 1\n"
	"  if sh > 20 then sh = 20 end\n"
	"  local delay = base * 2 ^ sh\n"
	"  if delay > cap then delay = cap end\n"
	"  local due = now + delay * 1000\n"
	"  redis.call('HSET', KEYS[1], 'st', 0, 'ls', status, 'le', ARGV[5],\n"
	"    'own', '', 'lease', 0, 'due', due)\n"
	"  redis.call('ZADD', KEYS[2], due, ARGV[1])\n"
	"end\n"
	"return 0\n", "" };

/* KEYS: event, queue.  ARGV: id.  0 done, -1 gone, -3 not retryable. */
static struct redis_script s_retry = { "event_retry",
	LUA_NOW_MS
	"local st = tonumber(redis.call('HGET', KEYS[1], 'st'))\n"
	"if not st then return -1 end\n"
	"if st == 1 or st == 2 then return -3 end\n"
	"redis.call('HSET', KEYS[1], 'st', 0, 'att', 0, 'due', now,\n"
	"  'lease', 0, 'own', '')\n"
	"redis.call('ZADD', KEYS[2], now, ARGV[1])\n"
	"return 0\n", "" };

/* KEYS: event, queue.  ARGV: id, all.  1 deleted, 0 kept. */
static struct redis_script s_purge = { "event_purge",
	"local st = tonumber(redis.call('HGET', KEYS[1], 'st'))\n"
	"if not st then return 0 end\n"
	"if ARGV[2] ~= '1' and st ~= 3 then return 0 end\n"
	"redis.call('DEL', KEYS[1])\n"
	"redis.call('ZREM', KEYS[2], ARGV[1])\n"
	"return 1\n", "" };

/*
 * KEYS: record.  ARGV: fp, owner, upstream key, ttl ms, lock timeout ms.
 * {outcome, upstream key, taken over | status, rec}.
 */
static struct redis_script s_idem_begin = { "idem_begin",
	LUA_NOW_MS
	"local ttl, lock = tonumber(ARGV[4]), tonumber(ARGV[5])\n"
	"if not ttl or not lock or #ARGV[1] ~= 32 or ARGV[2] == '' or\n"
	"  ARGV[3] == '' then\n"
	"  return redis.error_reply('ERR payguard idem_begin: bad arguments')\n"
	"end\n"
	"if redis.call('EXISTS', KEYS[1]) == 0 then\n"
	"  redis.call('HSET', KEYS[1], 'st', 0, 'own', ARGV[2], 'locked', now,\n"
	"    'fp', ARGV[1], 'up', ARGV[3], 'status', 0, 'rec', '')\n"
	"  redis.call('PEXPIRE', KEYS[1], ttl)\n"
	"  return {0, ARGV[3], 0}\n"
	"end\n"
	"local v = redis.call('HMGET', KEYS[1], 'st', 'locked', 'fp', 'up',\n"
	"  'status', 'rec')\n"
	"if v[3] ~= ARGV[1] then return {3, v[4] or ''} end\n"
	"if tonumber(v[1]) == 1 then return {1, v[4], v[5], v[6]} end\n"
	"local locked = tonumber(v[2]) or 0\n"
	"if locked ~= 0 and locked + lock > now then return {2, v[4]} end\n"
	"redis.call('HSET', KEYS[1], 'own', ARGV[2], 'locked', now)\n"
	"return {0, v[4], 1}\n", "" };

/* KEYS: record.  ARGV: owner, mode, status, rec.  0, -1 gone, -3 not ours. */
static struct redis_script s_idem_finish = { "idem_finish",
	"local status = tonumber(ARGV[3])\n"
	"if not status or ARGV[1] == '' then\n"
	"  return redis.error_reply('ERR payguard idem_finish: bad arguments')\n"
	"end\n"
	"local own = redis.call('HGET', KEYS[1], 'own')\n"
	"if not own then return -1 end\n"
	"if own ~= ARGV[1] then return -3 end\n"
	"if ARGV[2] == '2' then\n"
	"  redis.call('DEL', KEYS[1])\n"
	"elseif ARGV[2] == '1' then\n"
	"  redis.call('HSET', KEYS[1], 'locked', 0)\n"
	"else\n"
	"  redis.call('HSET', KEYS[1], 'st', 1, 'status', status, 'rec',\n"
	"    ARGV[4], 'locked', 0)\n"
	"end\n"
	"return 0\n", "" };

/* KEYS: name record, hash key.  ARGV: rec, name.  0, -2 exists. */
static struct redis_script s_tok_create = { "token_create",
	"if ARGV[1] == '' or ARGV[2] == '' then\n"
	"  return redis.error_reply('ERR payguard token_create: bad arguments')\n"
	"end\n"
	"if redis.call('HGET', KEYS[1], 'rev') == '0' then return -2 end\n"
	"if redis.call('EXISTS', KEYS[2]) == 1 then return -2 end\n"
	"redis.call('SET', KEYS[2], ARGV[2])\n"
	"redis.call('HSET', KEYS[1], 'rec', ARGV[1], 'rev', 0)\n"
	"return 0\n", "" };

/* KEYS: name record, hash key.  ARGV: the record read, the revoked one. */
static struct redis_script s_tok_revoke = { "token_revoke",
	"local v = redis.call('HMGET', KEYS[1], 'rec', 'rev')\n"
	"if v[2] ~= '0' or v[1] ~= ARGV[1] then return -1 end\n"
	"redis.call('DEL', KEYS[2])\n"
	"redis.call('HSET', KEYS[1], 'rec', ARGV[2], 'rev', 1)\n"
	"return 0\n", "" };

const char *
rstore_node(const struct rstore *rs)
{
	return redis_node(rs->r);
}

void
rstore_close(struct rstore *rs)
{
	if (rs == NULL)
		return;
	redis_close(rs->r);
	free(rs);
}

enum pg_err
store_open_config(const struct config *cfg, unsigned int flags,
    struct store **st, char *err, size_t errsz)
{
	struct rstore	*rs = NULL;
	enum pg_err	 e;

	err[0] = '\0';
	if ((e = store_open(cfg->state_dir, flags, st)) != PG_OK) {
		snprintf(err, errsz, "PAYGUARD_STATE_DIR: cannot open the "
		    "store: %s", pg_strerror(e));
		return e;
	}
	if (!cfg->store_redis)
		return PG_OK;
	if ((rs = calloc(1, sizeof(*rs))) == NULL)
		e = PG_ENOMEM;
	else
		e = redis_open(cfg, &rs->r, err, errsz);
	if (e != PG_OK) {
		if (err[0] == '\0')
			snprintf(err, errsz, "REDIS_URL: %s", pg_strerror(e));
		free(rs);
		store_close(*st);
		*st = NULL;
		return e;
	}
	store_set_shared(*st, rs);
	return PG_OK;
}

/* A fresh owner token (hex). */
static enum pg_err
new_owner(char out[OWNER_LEN + 1])
{
	unsigned char	 b[OWNER_LEN / 2];
	enum pg_err	 e;

	if ((e = rand_bytes(b, sizeof(b))) == PG_OK)
		codec_hex_encode(b, sizeof(b), out);
	return e;
}

static uint64_t
num(const redisReply *r)
{
	if (r == NULL)
		return 0;
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer < 0 ? 0 : (uint64_t)r->integer;
	if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
		return strtoull(r->str, NULL, 10);
	return 0;
}

static long long
snum(const redisReply *r)
{
	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r != NULL && r->type == REDIS_REPLY_STRING)
		return strtoll(r->str, NULL, 10);
	return 0;
}

/* A script's integer result. */
static enum pg_err
int_result(const redisReply *rep, long long *v)
{
	if (rep->type != REDIS_REPLY_INTEGER)
		return PG_STORE;
	*v = rep->integer;
	return PG_OK;
}

enum pg_err
rs_rate_check(struct rstore *rs, const char *key, uint32_t limit,
    uint64_t window_us, struct rs_rate *out)
{
	char		 l[16], w[24], m[OWNER_LEN + 1];
	const char	*argv[4] = { key, l, w, m };
	redisReply	*rep = NULL;
	enum pg_err	 e;

	memset(out, 0, sizeof(*out));
	snprintf(l, sizeof(l), "%u", limit);
	snprintf(w, sizeof(w), "%llu", (unsigned long long)window_us);
	/* Unique members: two admissions in one microsecond both count. */
	if ((e = new_owner(m)) != PG_OK)
		return e;
	if ((e = redis_eval(rs->r, &s_rate, 1, 4, argv, NULL, &rep)) != PG_OK)
		return e;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 4)
		e = PG_STORE;
	else {
		out->allowed = num(rep->element[0]) == 1;
		out->inwin = (uint32_t)num(rep->element[1]);
		/* Scores come back as "%.17g" text: integral here. */
		out->oldest_us = (uint64_t)strtod(rep->element[2]->str != NULL ?
		    rep->element[2]->str : "0", NULL);
		out->now_us = num(rep->element[3]);
	}
	freeReplyObject(rep);
	return e;
}

/* Key of event id; 0 when it does not fit. */
static size_t
ev_key(const char *id, char *k, size_t ksz)
{
	int	 n = snprintf(k, ksz, EV_PREFIX "%s", id);

	return n < 0 || (size_t)n >= ksz ? 0 : (size_t)n;
}

/* Builds h from the record's clear header and the script's fields
 * (rep->element[1..8]). */
static enum pg_err
fill_hdr(const redisReply *rep, const void *rec, size_t reclen,
    struct ev_hdr *h)
{
	const redisReply *le;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < EV_FIELDS)
		return PG_STORE;
	if (inbox_read_hdr(rec, reclen, h) != PG_OK)
		return PG_STORE;
	h->state = (uint32_t)num(rep->element[1]);
	h->attempts = (uint32_t)num(rep->element[2]);
	h->lease_ms = num(rep->element[3]);
	h->queue_due_ms = num(rep->element[4]);
	h->received_ms = num(rep->element[5]);
	h->delivered_ms = num(rep->element[6]);
	h->last_status = (int32_t)snum(rep->element[7]);
	le = rep->element[8];
	h->last_error[0] = '\0';
	if (le->type == REDIS_REPLY_STRING)
		snprintf(h->last_error, sizeof(h->last_error), "%.*s",
		    (int)le->len, le->str);
	/* The lease owner is a token, not a pid, on Redis. */
	h->owner_pid = 0;
	return PG_OK;
}

static void
lease_args(const struct config *cfg, char *dur, size_t dursz)
{
	snprintf(dur, dursz, "%llu", (unsigned long long)
	    cfg->wh_handler_timeout * 1000 + LEASE_MARGIN_MS);
}

enum pg_err
rs_inbox_accept(struct rstore *rs, const struct config *cfg, const char *id,
    const void *rec, size_t reclen, int claim, enum inbox_outcome *out,
    struct ev_hdr *h)
{
	char		 k[STORE_KEY_MAX], dur[24], owner[OWNER_LEN + 1];
	const char	*argv[7];
	size_t		 al[7];
	redisReply	*rep = NULL;
	long long	 o;
	enum pg_err	 e;

	if ((al[0] = ev_key(id, k, sizeof(k))) == 0)
		return PG_EINVAL;
	if ((e = new_owner(owner)) != PG_OK)
		return e;
	lease_args(cfg, dur, sizeof(dur));
	argv[0] = k;
	argv[1] = EV_QUEUE;
	argv[2] = id;
	argv[3] = rec;
	argv[4] = claim ? "1" : "0";
	argv[5] = dur;
	argv[6] = owner;
	al[1] = strlen(EV_QUEUE);
	al[2] = strlen(id);
	al[3] = reclen;
	al[4] = 1;
	al[5] = strlen(dur);
	al[6] = OWNER_LEN;
	if ((e = redis_eval(rs->r, &s_accept, 2, 7, argv, al, &rep)) != PG_OK)
		return e;
	o = snum(rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 ?
	    rep->element[0] : NULL);
	if ((e = fill_hdr(rep, rec, reclen, h)) == PG_OK) {
		switch (o) {
		case 0:
			*out = INBOX_NEW;
			break;
		case 2:
			*out = INBOX_RECLAIMED;
			break;
		case 3:
			*out = INBOX_IN_PROGRESS;
			break;
		default:
			*out = INBOX_DUPLICATE;
			break;
		}
		/* A duplicate's header is the stored one (same clear part). */
	}
	freeReplyObject(rep);
	if (e == PG_OK && (*out == INBOX_NEW || *out == INBOX_RECLAIMED) &&
	    claim) {
		snprintf(rs->ev_id, sizeof(rs->ev_id), "%s", id);
		memcpy(rs->ev_owner, owner, sizeof(rs->ev_owner));
	}
	/* Acknowledged only once the configured replicas have it. */
	if (e == PG_OK && o != 1 && o != 3)
		e = redis_wait_replicas(rs->r);
	return e;
}

enum pg_err
rs_inbox_claim_next(struct rstore *rs, const struct config *cfg,
    char id[EVENT_ID_MAX + 1], struct ev_hdr *h, void **rec, size_t *reclen)
{
	const char	*range[5] = { "ZRANGE", EV_QUEUE, "0", "15", NULL };
	char		 k[STORE_KEY_MAX], dur[24], owner[OWNER_LEN + 1];
	const char	*argv[5];
	size_t		 al[5], i;
	redisReply	*cand = NULL, *rep = NULL, *r;
	long long	 o = -1;
	enum pg_err	 e;

	*rec = NULL;
	if ((e = new_owner(owner)) != PG_OK)
		return e;
	lease_args(cfg, dur, sizeof(dur));
	/* The first due candidates by score; the script checks each again
	 * (another node may have claimed it in between). */
	if ((e = redis_cmd(rs->r, 4, range, NULL, &cand)) != PG_OK)
		return e;
	e = PG_NOTFOUND;
	for (i = 0; cand->type == REDIS_REPLY_ARRAY && i < cand->elements; i++) {
		r = cand->element[i];
		if (r->type != REDIS_REPLY_STRING || r->len == 0 ||
		    r->len > EVENT_ID_MAX)
			continue;
		memcpy(id, r->str, r->len);
		id[r->len] = '\0';
		if ((al[0] = ev_key(id, k, sizeof(k))) == 0)
			continue;
		argv[0] = k;
		argv[1] = EV_QUEUE;
		argv[2] = id;
		argv[3] = dur;
		argv[4] = owner;
		al[1] = strlen(EV_QUEUE);
		al[2] = r->len;
		al[3] = strlen(dur);
		al[4] = OWNER_LEN;
		if ((e = redis_eval(rs->r, &s_claim, 2, 5, argv, al, &rep)) !=
		    PG_OK)
			break;
		o = rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 ?
		    snum(rep->element[0]) : -9;
		if (o == -2) {
			e = PG_NOTFOUND;	/* the rest is later still */
			break;
		}
		if (o == 0 && rep->elements == EV_FIELDS + 1 &&
		    rep->element[EV_FIELDS]->type == REDIS_REPLY_STRING) {
			r = rep->element[EV_FIELDS];
			e = fill_hdr(rep, r->str, r->len, h);
			if (e == PG_OK && (*rec = malloc(r->len)) == NULL)
				e = PG_ENOMEM;
			if (e == PG_OK) {
				memcpy(*rec, r->str, r->len);
				*reclen = r->len;
			}
			break;
		}
		e = o == -1 ? PG_NOTFOUND : PG_STORE;
		freeReplyObject(rep);
		rep = NULL;
		if (o != -1)
			break;
	}
	if (rep != NULL)
		freeReplyObject(rep);
	freeReplyObject(cand);
	if (e == PG_OK) {
		snprintf(rs->ev_id, sizeof(rs->ev_id), "%s", id);
		memcpy(rs->ev_owner, owner, sizeof(rs->ev_owner));
		e = redis_wait_replicas(rs->r);
	}
	if (e != PG_OK) {
		free(*rec);
		*rec = NULL;
	}
	return e;
}

enum pg_err
rs_inbox_complete(struct rstore *rs, const struct config *cfg,
    const char *id, int ok, int status, const char *error)
{
	char		 k[STORE_KEY_MAX], st[16], maxa[16], base[16], ttl[24],
			 cap[16];
	const char	*argv[11];
	redisReply	*rep = NULL;
	long long	 v = 0;
	enum pg_err	 e;

	if (ev_key(id, k, sizeof(k)) == 0)
		return PG_EINVAL;
	snprintf(st, sizeof(st), "%d", status);
	snprintf(maxa, sizeof(maxa), "%u", cfg->wh_max_attempts);
	snprintf(base, sizeof(base), "%u", cfg->wh_retry_base);
	snprintf(ttl, sizeof(ttl), "%llu",
	    (unsigned long long)cfg->wh_dedup_ttl * 1000);
	snprintf(cap, sizeof(cap), "%d", MAX_BACKOFF_S);
	argv[0] = k;
	argv[1] = EV_QUEUE;
	argv[2] = id;
	/* Not this handle's claim: a token that matches no lease. */
	argv[3] = strcmp(rs->ev_id, id) == 0 ? rs->ev_owner : "-";
	argv[4] = ok ? "1" : "0";
	argv[5] = st;
	argv[6] = error != NULL ? error : "";
	argv[7] = maxa;
	argv[8] = base;
	argv[9] = ttl;
	argv[10] = cap;
	if ((e = redis_eval(rs->r, &s_finish, 2, 11, argv, NULL, &rep)) != PG_OK)
		return e;
	e = int_result(rep, &v);
	freeReplyObject(rep);
	if (e == PG_OK && v == -1)
		e = PG_NOTFOUND;
	else if (e == PG_OK && v == -3) {
		log_warnx("inbox: %s: the lease was taken over; this "
		    "outcome is not recorded", id);
		e = PG_CONFLICT;
	}
	if (e == PG_OK) {
		rs->ev_id[0] = '\0';
		e = redis_wait_replicas(rs->r);
	}
	return e;
}

/* HMGET of an event's fields in the scripts' order, then rec. */
static enum pg_err
ev_read(struct rstore *rs, const char *id, redisReply **rep)
{
	char		 k[STORE_KEY_MAX];
	const char	*argv[12] = { "HMGET", k, "st", "st", "att", "lease",
			    "due", "rcv", "dlv", "ls", "le", "rec" };
	enum pg_err	 e;

	if (ev_key(id, k, sizeof(k)) == 0)
		return PG_EINVAL;
	if ((e = redis_cmd(rs->r, 12, argv, NULL, rep)) != PG_OK)
		return e;
	if ((*rep)->type != REDIS_REPLY_ARRAY || (*rep)->elements != 10 ||
	    (*rep)->element[9]->type != REDIS_REPLY_STRING) {
		freeReplyObject(*rep);
		*rep = NULL;
		return PG_NOTFOUND;
	}
	return PG_OK;
}

enum pg_err
rs_inbox_get(struct rstore *rs, const char *id, struct ev_hdr *h,
    void **rec, size_t *reclen)
{
	redisReply	*rep = NULL, *r;
	enum pg_err	 e;

	if ((e = ev_read(rs, id, &rep)) != PG_OK)
		return e;
	r = rep->element[9];
	e = fill_hdr(rep, r->str, r->len, h);
	if (e == PG_OK && rec != NULL) {
		if ((*rec = malloc(r->len)) == NULL)
			e = PG_ENOMEM;
		else {
			memcpy(*rec, r->str, r->len);
			*reclen = r->len;
		}
	}
	freeReplyObject(rep);
	return e;
}

static int
idcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects every event id (SCAN: the CLI's view; bounded by memory). */
static enum pg_err
ev_ids(struct rstore *rs, char ***ids, size_t *n)
{
	char		 cursor[32] = "0";
	const char	*argv[6] = { "SCAN", cursor, "MATCH", EV_PREFIX "*",
			    "COUNT", SCAN_COUNT };
	redisReply	*rep = NULL, *keys;
	size_t		 i, cap = 0, plen = strlen(EV_PREFIX);
	char		**v = NULL, **nv;
	enum pg_err	 e = PG_OK;

	*ids = NULL;
	*n = 0;
	do {
		if ((e = redis_cmd(rs->r, 6, argv, NULL, &rep)) != PG_OK)
			break;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[0]->len >= sizeof(cursor)) {
			e = PG_STORE;
			break;
		}
		memcpy(cursor, rep->element[0]->str, rep->element[0]->len + 1);
		keys = rep->element[1];
		for (i = 0; keys->type == REDIS_REPLY_ARRAY && i < keys->elements;
		    i++) {
			if (keys->element[i]->len <= plen)
				continue;
			if (*n == cap) {
				cap = cap ? cap * 2 : 64;
				if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
					e = PG_ENOMEM;
					break;
				}
				v = nv;
			}
			if ((v[*n] = strndup(keys->element[i]->str + plen,
			    keys->element[i]->len - plen)) == NULL) {
				e = PG_ENOMEM;
				break;
			}
			(*n)++;
		}
		freeReplyObject(rep);
		rep = NULL;
	} while (e == PG_OK && strcmp(cursor, "0") != 0);
	if (rep != NULL)
		freeReplyObject(rep);
	if (e != PG_OK) {
		for (i = 0; i < *n; i++)
			free(v[i]);
		free(v);
		*n = 0;
		return e;
	}
	/* SCAN may return a key twice. */
	if (*n > 0)
		qsort(v, *n, sizeof(*v), idcmp);
	for (i = 1; i < *n; ) {
		if (strcmp(v[i], v[i - 1]) == 0) {
			free(v[i]);
			memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
			(*n)--;
		} else
			i++;
	}
	*ids = v;
	return PG_OK;
}

static void
ids_free(char **ids, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

enum pg_err
rs_inbox_list(struct rstore *rs, inbox_list_fn fn, void *arg)
{
	struct ev_hdr	 h;
	char		**ids;
	size_t		 n, i;
	enum pg_err	 e;

	if ((e = ev_ids(rs, &ids, &n)) != PG_OK)
		return e;
	for (i = 0; i < n; i++) {
		e = rs_inbox_get(rs, ids[i], &h, NULL, NULL);
		if (e == PG_NOTFOUND) {
			e = PG_OK;	/* purged or expired meanwhile */
			continue;
		}
		if (e != PG_OK || fn(ids[i], &h, arg) != 0)
			break;
	}
	ids_free(ids, n);
	return e;
}

enum pg_err
rs_inbox_queue(struct rstore *rs, char (*ids)[EVENT_ID_MAX + 1], size_t max,
    size_t *nids, uint64_t *n)
{
	char		 last[24];
	const char	*card[2] = { "ZCARD", EV_QUEUE };
	const char	*range[4] = { "ZRANGE", EV_QUEUE, "0", last };
	redisReply	*rep = NULL, *r;
	size_t		 i;
	enum pg_err	 e;

	*nids = 0;
	*n = 0;
	if ((e = redis_cmd(rs->r, 2, card, NULL, &rep)) != PG_OK)
		return e;
	*n = num(rep);
	freeReplyObject(rep);
	if (max == 0)
		return PG_OK;
	snprintf(last, sizeof(last), "%zu", max - 1);
	if ((e = redis_cmd(rs->r, 4, range, NULL, &rep)) != PG_OK)
		return e;
	for (i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
		r = rep->element[i];
		if (r->type != REDIS_REPLY_STRING || r->len == 0 ||
		    r->len > EVENT_ID_MAX)
			continue;
		memcpy(ids[*nids], r->str, r->len);
		ids[*nids][r->len] = '\0';
		(*nids)++;
	}
	freeReplyObject(rep);
	return PG_OK;
}

/* Runs an (id)-only event script; its integer result in *v. */
static enum pg_err
ev_simple(struct rstore *rs, struct redis_script *s, const char *id,
    const char *extra, long long *v)
{
	char		 k[STORE_KEY_MAX];
	const char	*argv[4] = { k, EV_QUEUE, id, extra };
	redisReply	*rep = NULL;
	enum pg_err	 e;

	if (ev_key(id, k, sizeof(k)) == 0)
		return PG_EINVAL;
	if ((e = redis_eval(rs->r, s, 2, extra != NULL ? 4 : 3, argv, NULL,
	    &rep)) != PG_OK)
		return e;
	e = int_result(rep, v);
	freeReplyObject(rep);
	return e;
}

enum pg_err
rs_inbox_retry(struct rstore *rs, const char *id)
{
	long long	 v = 0;
	enum pg_err	 e;

	if ((e = ev_simple(rs, &s_retry, id, NULL, &v)) != PG_OK)
		return e;
	if (v == -1)
		return PG_NOTFOUND;
	if (v == -3)
		return PG_CONFLICT;
	return redis_wait_replicas(rs->r);
}

enum pg_err
rs_inbox_purge(struct rstore *rs, int all, size_t *n)
{
	char		**ids;
	size_t		 cnt, i;
	long long	 v;
	enum pg_err	 e;

	*n = 0;
	if ((e = ev_ids(rs, &ids, &cnt)) != PG_OK)
		return e;
	for (i = 0; i < cnt && e == PG_OK; i++) {
		v = 0;
		if ((e = ev_simple(rs, &s_purge, ids[i], all ? "1" : "0",
		    &v)) == PG_OK && v == 1)
			(*n)++;
	}
	ids_free(ids, cnt);
	return e;
}

/* Record key of an idempotency key: its SHA-256, hex, as its own tag. */
static void
idem_rkey(const char *key, size_t klen, char out[2 * SHA256_DIGEST_LENGTH + 8])
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)key, klen, md);
	memcpy(out, "pg:{i:", 6);
	codec_hex_encode(md, sizeof(md), out + 6);
	memcpy(out + 6 + 2 * SHA256_DIGEST_LENGTH, "}", 2);
}

enum pg_err
rs_idem_begin(struct rstore *rs, const char *key, size_t klen,
    const unsigned char fp[32], const char *upkey, uint64_t ttl_ms,
    uint64_t lock_ms, struct idem_result *res, void **rec, size_t *reclen)
{
	char		 rk[2 * SHA256_DIGEST_LENGTH + 8], owner[OWNER_LEN + 1],
			 ttl[24], lock[24];
	const char	*argv[6];
	size_t		 al[6];
	redisReply	*rep = NULL, *up;
	long long	 o;
	enum pg_err	 e;

	*rec = NULL;
	if ((e = new_owner(owner)) != PG_OK)
		return e;
	idem_rkey(key, klen, rk);
	snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)ttl_ms);
	snprintf(lock, sizeof(lock), "%llu", (unsigned long long)lock_ms);
	argv[0] = rk;
	argv[1] = (const char *)fp;
	argv[2] = owner;
	argv[3] = upkey;
	argv[4] = ttl;
	argv[5] = lock;
	al[0] = strlen(rk);
	al[1] = 32;
	al[2] = OWNER_LEN;
	al[3] = strlen(upkey);
	al[4] = strlen(ttl);
	al[5] = strlen(lock);
	if ((e = redis_eval(rs->r, &s_idem_begin, 1, 6, argv, al, &rep)) !=
	    PG_OK)
		return e;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 ||
	    rep->element[1]->type != REDIS_REPLY_STRING ||
	    rep->element[1]->len > IDEM_UPKEY_MAX) {
		freeReplyObject(rep);
		return PG_STORE;
	}
	o = snum(rep->element[0]);
	up = rep->element[1];
	memcpy(res->upstream_key, up->str, up->len);
	res->upstream_key[up->len] = '\0';
	switch (o) {
	case 0:
		res->outcome = IDEM_PROCEED;
		res->taken_over = rep->elements > 2 && snum(rep->element[2]) == 1;
		memcpy(rs->idem_key, rk, sizeof(rs->idem_key));
		memcpy(rs->idem_owner, owner, sizeof(rs->idem_owner));
		break;
	case 1:
		res->outcome = IDEM_REPLAY;
		if (rep->elements != 4 ||
		    rep->element[3]->type != REDIS_REPLY_STRING) {
			e = PG_STORE;
			break;
		}
		res->status = (int)snum(rep->element[2]);
		if ((*rec = malloc(rep->element[3]->len + 1)) == NULL) {
			e = PG_ENOMEM;
			break;
		}
		memcpy(*rec, rep->element[3]->str, rep->element[3]->len);
		*reclen = rep->element[3]->len;
		break;
	case 2:
		res->outcome = IDEM_IN_PROGRESS;
		break;
	default:
		res->outcome = IDEM_MISMATCH;
		break;
	}
	freeReplyObject(rep);
	if (e == PG_OK && res->outcome == IDEM_PROCEED)
		e = redis_wait_replicas(rs->r);
	return e;
}

enum pg_err
rs_idem_finish(struct rstore *rs, const char *key, size_t klen, int mode,
    int status, const void *rec, size_t reclen)
{
	char		 rk[2 * SHA256_DIGEST_LENGTH + 8], m[4], st[16];
	const char	*argv[5];
	size_t		 al[5];
	redisReply	*rep = NULL;
	long long	 v = 0;
	enum pg_err	 e;

	idem_rkey(key, klen, rk);
	snprintf(m, sizeof(m), "%d", mode);
	snprintf(st, sizeof(st), "%d", status);
	argv[0] = rk;
	argv[1] = strcmp(rs->idem_key, rk) == 0 ? rs->idem_owner : "-";
	argv[2] = m;
	argv[3] = st;
	argv[4] = rec != NULL ? rec : "";
	al[0] = strlen(rk);
	al[1] = strlen(argv[1]);
	al[2] = strlen(m);
	al[3] = strlen(st);
	al[4] = rec != NULL ? reclen : 0;
	if ((e = redis_eval(rs->r, &s_idem_finish, 1, 5, argv, al, &rep)) !=
	    PG_OK)
		return e;
	e = int_result(rep, &v);
	freeReplyObject(rep);
	if (e == PG_OK && v == -1)
		e = mode == 2 ? PG_OK : PG_NOTFOUND;
	else if (e == PG_OK && v == -3) {
		log_warnx("idempotency: the key was taken over by another "
		    "request; this outcome is not recorded");
		e = PG_CONFLICT;
	}
	if (e == PG_OK)
		e = redis_wait_replicas(rs->r);
	return e;
}

/* "pg:{tok}:n:<name>" and "pg:{tok}:h:<hex>". */
static void
tok_keys(const char *name, const unsigned char hash[32], char *nk,
    size_t nksz, char *hk)
{
	snprintf(nk, nksz, TOK_NAME "%s", name);
	memcpy(hk, TOK_HASH, strlen(TOK_HASH));
	codec_hex_encode(hash, 32, hk + strlen(TOK_HASH));
}

#define TOK_NK_MAX	(sizeof(TOK_NAME) + TOKEN_NAME_MAX)
#define TOK_HK_MAX	(sizeof(TOK_HASH) + 64)

enum pg_err
rs_token_create(struct rstore *rs, const char *name,
    const struct token_rec *rec)
{
	char		 nk[TOK_NK_MAX], hk[TOK_HK_MAX];
	const char	*argv[4] = { nk, hk, (const char *)rec, name };
	size_t		 al[4];
	redisReply	*rep = NULL;
	long long	 v = 0;
	enum pg_err	 e;

	tok_keys(name, rec->hash, nk, sizeof(nk), hk);
	al[0] = strlen(nk);
	al[1] = strlen(hk);
	al[2] = sizeof(*rec);
	al[3] = strlen(name);
	if ((e = redis_eval(rs->r, &s_tok_create, 2, 4, argv, al, &rep)) !=
	    PG_OK)
		return e;
	e = int_result(rep, &v);
	freeReplyObject(rep);
	if (e == PG_OK && v == -2)
		return PG_EXISTS;
	return e == PG_OK ? redis_wait_replicas(rs->r) : e;
}

/* Reads name's record. */
static enum pg_err
tok_get(struct rstore *rs, const char *name, struct token_rec *rec,
    int *revoked)
{
	char		 nk[TOK_NK_MAX];
	const char	*argv[4] = { "HMGET", nk, "rec", "rev" };
	redisReply	*rep = NULL;
	enum pg_err	 e;

	snprintf(nk, sizeof(nk), TOK_NAME "%s", name);
	if ((e = redis_cmd(rs->r, 4, argv, NULL, &rep)) != PG_OK)
		return e;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_STRING)
		e = PG_NOTFOUND;
	else if (rep->element[0]->len != sizeof(*rec))
		e = PG_STORE;
	else {
		memcpy(rec, rep->element[0]->str, sizeof(*rec));
		*revoked = num(rep->element[1]) != 0;
	}
	freeReplyObject(rep);
	return e;
}

enum pg_err
rs_token_lookup(struct rstore *rs, const unsigned char hash[32],
    char name[TOKEN_NAME_MAX + 1], struct token_rec *rec)
{
	char		 hk[TOK_HK_MAX];
	const char	*argv[2] = { "GET", hk };
	redisReply	*rep = NULL;
	int		 revoked = 0;
	enum pg_err	 e;

	memcpy(hk, TOK_HASH, strlen(TOK_HASH));
	codec_hex_encode(hash, 32, hk + strlen(TOK_HASH));
	if ((e = redis_cmd(rs->r, 2, argv, NULL, &rep)) != PG_OK)
		return e;
	if (rep->type != REDIS_REPLY_STRING)
		e = PG_NOTFOUND;
	else if (rep->len == 0 || rep->len > TOKEN_NAME_MAX)
		e = PG_STORE;
	else {
		memcpy(name, rep->str, rep->len);
		name[rep->len] = '\0';
	}
	freeReplyObject(rep);
	if (e == PG_OK && (e = tok_get(rs, name, rec, &revoked)) == PG_OK &&
	    (revoked || rec->revoked || CRYPTO_memcmp(rec->hash, hash, 32) != 0))
		e = PG_NOTFOUND;
	return e;
}

enum pg_err
rs_token_revoke(struct rstore *rs, const char *name)
{
	struct token_rec old, nrec;
	char		 nk[TOK_NK_MAX], hk[TOK_HK_MAX];
	const char	*argv[4] = { nk, hk, (const char *)&old,
			    (const char *)&nrec };
	size_t		 al[4];
	redisReply	*rep = NULL;
	int		 revoked = 0;
	long long	 v = 0;
	enum pg_err	 e;

	if ((e = tok_get(rs, name, &old, &revoked)) != PG_OK)
		return e;
	if (revoked || old.revoked)
		return PG_NOTFOUND;
	nrec = old;
	nrec.revoked = 1;
	nrec.revoked_ms = store_now_ms();
	tok_keys(name, old.hash, nk, sizeof(nk), hk);
	al[0] = strlen(nk);
	al[1] = strlen(hk);
	al[2] = al[3] = sizeof(old);
	if ((e = redis_eval(rs->r, &s_tok_revoke, 2, 4, argv, al, &rep)) !=
	    PG_OK)
		return e;
	e = int_result(rep, &v);
	freeReplyObject(rep);
	if (e == PG_OK && v == -1)
		return PG_NOTFOUND;	/* revoked or replaced meanwhile */
	return e == PG_OK ? redis_wait_replicas(rs->r) : e;
}

enum pg_err
rs_token_list(struct rstore *rs, token_list_fn fn, void *arg)
{
	char		 cursor[32] = "0";
	const char	*argv[6] = { "SCAN", cursor, "MATCH", TOK_NAME "*",
			    "COUNT", SCAN_COUNT };
	redisReply	*rep = NULL, *keys;
	char		**names = NULL, **nn;
	size_t		 n = 0, cap = 0, i, plen = strlen(TOK_NAME);
	struct token_rec rec;
	int		 revoked;
	enum pg_err	 e = PG_OK;

	do {
		if ((e = redis_cmd(rs->r, 6, argv, NULL, &rep)) != PG_OK)
			break;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->len >= sizeof(cursor)) {
			e = PG_STORE;
			break;
		}
		memcpy(cursor, rep->element[0]->str, rep->element[0]->len + 1);
		keys = rep->element[1];
		for (i = 0; i < keys->elements && e == PG_OK; i++) {
			if (keys->element[i]->len <= plen ||
			    keys->element[i]->len - plen > TOKEN_NAME_MAX)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 32;
				if ((nn = realloc(names, cap * sizeof(*nn))) ==
				    NULL) {
					e = PG_ENOMEM;
					break;
				}
				names = nn;
			}
			if ((names[n] = strndup(keys->element[i]->str + plen,
			    keys->element[i]->len - plen)) == NULL)
				e = PG_ENOMEM;
			else
				n++;
		}
		freeReplyObject(rep);
		rep = NULL;
	} while (e == PG_OK && strcmp(cursor, "0") != 0);
	if (rep != NULL)
		freeReplyObject(rep);
	if (e == PG_OK && n > 0)
		qsort(names, n, sizeof(*names), idcmp);
	for (i = 0; i < n && e == PG_OK; i++) {
		if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
			continue;
		if ((e = tok_get(rs, names[i], &rec, &revoked)) == PG_NOTFOUND) {
			e = PG_OK;
			continue;
		}
		if (e == PG_OK && fn(names[i], &rec, arg) != 0)
			break;
	}
	ids_free(names, n);
	return e;
}
