/*
 * payguard - the inbox's operations on Redis (inbox_redis.h).
 *
 * Keys:
 *   pg:{ev}:e:<id>              hash: rec (the sealed record as on LMDB,
 *                               whose clear header gives type, created,
 *                               livemode), and the fields scripts change:
 *                               st att lease due own rcv dlv ls le
 *   pg:{ev}:q                   sorted set: id scored by due time (ms);
 *                               a claimed event is due when its lease ends
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inbox_redis.h"
#include "log.h"
#include "redis.h"
#include "seal.h"

/* The handle remembers a claim by the event id. */
_Static_assert(EVENT_ID_MAX <= RS_CLAIM_KEY_MAX, "event ids fit a claim");

#define LEASE_MARGIN_MS	10000	/* as inbox.c */
#define MAX_BACKOFF_S	3600	/* as inbox.c */
#define EV_PREFIX	"pg:{ev}:e:"
#define EV_QUEUE	"pg:{ev}:q"

/* The event's fields as the scripts return them. */
#define LUA_EV_HDR \
	"local function hdr(o)\n" \
	"  local v = redis.call('HMGET', KEYS[1], 'st', 'att', 'lease', 'due'," \
	"    'rcv', 'dlv', 'ls', 'le')\n" \
	"  return {o, v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]}\n" \
	"end\n"
#define EV_FIELDS	9	/* outcome + the 8 fields of LUA_EV_HDR */

/* KEYS: event, queue.  ARGV: id, rec, claim, lease ms, owner. */
static struct redis_script s_accept = { "event_accept",
	RS_LUA_NOW_MS LUA_EV_HDR
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
	RS_LUA_NOW_MS LUA_EV_HDR
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
 * retry base s, dedup ttl ms, max backoff s, the claim's attempt.  0
 * done, -1 gone, -3 the lease is not ours (any more).  A claim is (owner
 * token, attempt), as (pid, attempt) is on LMDB: the token names the
 * claimant, the attempt the claim, so an outcome computed under an older
 * claim of the same handle cannot land on a newer one.
 */
static struct redis_script s_finish = { "event_finish",
	RS_LUA_NOW_MS
	"local status, maxa, base, ttl, cap = tonumber(ARGV[4]),\n"
	"  tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]),\n"
	"  tonumber(ARGV[9])\n"
	"local catt = tonumber(ARGV[10])\n"
	"if not status or not maxa or not base or not ttl or not cap or\n"
	"  not catt or ARGV[2] == '' then\n"
	"  return redis.error_reply('ERR payguard event_finish: bad arguments')\n"
	"end\n"
	"local v = redis.call('HMGET', KEYS[1], 'st', 'own', 'att')\n"
	"if not v[1] then return -1 end\n"
	"local att = tonumber(v[3]) or 1\n"
	"if tonumber(v[1]) ~= 1 or v[2] ~= ARGV[2] or att ~= catt then\n"
	"  return -3\n"
	"end\n"
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
	RS_LUA_NOW_MS
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
	h->state = (uint32_t)rs_num(rep->element[1]);
	h->attempts = (uint32_t)rs_num(rep->element[2]);
	h->lease_ms = rs_num(rep->element[3]);
	h->queue_due_ms = rs_num(rep->element[4]);
	h->received_ms = rs_num(rep->element[5]);
	h->delivered_ms = rs_num(rep->element[6]);
	h->last_status = (int32_t)rs_snum(rep->element[7]);
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
	char		 k[STORE_KEY_MAX], dur[24], owner[RS_OWNER_LEN + 1];
	const char	*argv[7];
	size_t		 al[7];
	redisReply	*rep = NULL;
	long long	 o;
	enum pg_err	 e;

	if ((al[0] = ev_key(id, k, sizeof(k))) == 0)
		return PG_EINVAL;
	if ((e = rs_new_owner(owner)) != PG_OK)
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
	al[6] = RS_OWNER_LEN;
	if ((e = redis_eval(rstore_redis(rs), &s_accept, 2, 7, argv, al, &rep)) != PG_OK)
		return e;
	o = rs_snum(rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 ?
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
	redis_reply_free(rep);
	if (e == PG_OK && (*out == INBOX_NEW || *out == INBOX_RECLAIMED) &&
	    claim) {
		rs_claim_set(rs, RS_CLAIM_EVENT, id, owner);
	}
	/* Acknowledged only once the configured replicas have it. */
	if (e == PG_OK && o != 1 && o != 3)
		e = redis_wait_replicas(rstore_redis(rs));
	return e;
}

enum pg_err
rs_inbox_claim_next(struct rstore *rs, const struct config *cfg,
    char id[EVENT_ID_MAX + 1], struct ev_hdr *h, void **rec, size_t *reclen)
{
	const char	*range[5] = { "ZRANGE", EV_QUEUE, "0", "15", NULL };
	char		 k[STORE_KEY_MAX], dur[24], owner[RS_OWNER_LEN + 1];
	const char	*argv[5];
	size_t		 al[5], i;
	redisReply	*cand = NULL, *rep = NULL, *r;
	long long	 o = -1;
	enum pg_err	 e;

	*rec = NULL;
	if ((e = rs_new_owner(owner)) != PG_OK)
		return e;
	lease_args(cfg, dur, sizeof(dur));
	/* The first due candidates by score; the script checks each again
	 * (another node may have claimed it in between). */
	if ((e = redis_cmd(rstore_redis(rs), 4, range, NULL, &cand)) != PG_OK)
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
		al[4] = RS_OWNER_LEN;
		if ((e = redis_eval(rstore_redis(rs), &s_claim, 2, 5, argv, al, &rep)) !=
		    PG_OK)
			break;
		o = rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 ?
		    rs_snum(rep->element[0]) : -9;
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
		redis_reply_free(rep);
		rep = NULL;
		if (o != -1)
			break;
	}
	if (rep != NULL)
		redis_reply_free(rep);
	redis_reply_free(cand);
	if (e == PG_OK) {
		rs_claim_set(rs, RS_CLAIM_EVENT, id, owner);
		e = redis_wait_replicas(rstore_redis(rs));
	}
	if (e != PG_OK) {
		free(*rec);
		*rec = NULL;
	}
	return e;
}

enum pg_err
rs_inbox_complete(struct rstore *rs, const struct config *cfg,
    const char *id, const struct ev_hdr *claim, int ok, int status,
    const char *error)
{
	char		 k[STORE_KEY_MAX], st[16], maxa[16], base[16], ttl[24],
			 cap[16], catt[16];
	const char	*argv[12];
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
	snprintf(catt, sizeof(catt), "%u", claim->attempts);
	argv[0] = k;
	argv[1] = EV_QUEUE;
	argv[2] = id;
	/* Not this handle's claim: a token that matches no lease. */
	argv[3] = rs_claim_owner(rs, RS_CLAIM_EVENT, id);
	argv[4] = ok ? "1" : "0";
	argv[5] = st;
	argv[6] = error != NULL ? error : "";
	argv[7] = maxa;
	argv[8] = base;
	argv[9] = ttl;
	argv[10] = cap;
	argv[11] = catt;
	if ((e = redis_eval(rstore_redis(rs), &s_finish, 2, 12, argv, NULL, &rep)) != PG_OK)
		return e;
	e = rs_int_result(rep, &v);
	redis_reply_free(rep);
	if (e == PG_OK && v == -1)
		e = PG_NOTFOUND;
	else if (e == PG_OK && v == -3) {
		log_warnx("inbox: the outcome of %s (attempt %u) is not "
		    "recorded: its lease ran out and another claim holds "
		    "the event now", id, claim->attempts);
		e = PG_CONFLICT;
	}
	if (e == PG_OK) {
		rs_claim_clear(rs, RS_CLAIM_EVENT);
		e = redis_wait_replicas(rstore_redis(rs));
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
	if ((e = redis_cmd(rstore_redis(rs), 12, argv, NULL, rep)) != PG_OK)
		return e;
	if ((*rep)->type != REDIS_REPLY_ARRAY || (*rep)->elements != 10 ||
	    (*rep)->element[9]->type != REDIS_REPLY_STRING) {
		redis_reply_free(*rep);
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
	redis_reply_free(rep);
	return e;
}

/* Collects every event id (SCAN: the CLI's view; bounded by memory),
 * sorted, each once; free with rs_strv_free. */
static enum pg_err
ev_ids(struct rstore *rs, char ***ids, size_t *n)
{
	return rs_scan_keys(rs, EV_PREFIX, ids, n);
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
	rs_strv_free(ids, n);
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
	if ((e = redis_cmd(rstore_redis(rs), 2, card, NULL, &rep)) != PG_OK)
		return e;
	*n = rs_num(rep);
	redis_reply_free(rep);
	if (max == 0)
		return PG_OK;
	snprintf(last, sizeof(last), "%zu", max - 1);
	if ((e = redis_cmd(rstore_redis(rs), 4, range, NULL, &rep)) != PG_OK)
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
	redis_reply_free(rep);
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
	if ((e = redis_eval(rstore_redis(rs), s, 2, extra != NULL ? 4 : 3, argv, NULL,
	    &rep)) != PG_OK)
		return e;
	e = rs_int_result(rep, v);
	redis_reply_free(rep);
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
	return redis_wait_replicas(rstore_redis(rs));
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
	rs_strv_free(ids, cnt);
	return e;
}

/*
 * Migration (payguard store migrate).  An event travels in its LMDB form:
 * the sealed record whose clear header carries the current delivery state
 * (on Redis the hash's fields are the truth and the header inside rec is
 * only the accepted one), and its absolute expiry.
 */

/* KEYS: event.  {rec, the 8 fields of LUA_EV_HDR, PTTL} or {} when gone. */
static struct redis_script s_export = { "event_export",
	"local v = redis.call('HMGET', KEYS[1], 'rec', 'st', 'att', 'lease',\n"
	"  'due', 'rcv', 'dlv', 'ls', 'le')\n"
	"if not v[1] then return {} end\n"
	"return {v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9],\n"
	"  redis.call('PTTL', KEYS[1])}\n", "" };

/*
 * KEYS: event, queue.  ARGV: id, rec, st, att, lease, due, rcv, dlv, ls,
 * le, expiry (absolute ms, 0 none).  1 stored, 0 already there (never
 * overwritten: the copy there may be newer).
 */
static struct redis_script s_import = { "event_import",
	"local st, due, exp = tonumber(ARGV[3]), tonumber(ARGV[6]),\n"
	"  tonumber(ARGV[11])\n"
	"if not st or not due or not exp or ARGV[1] == '' or ARGV[2] == '' then\n"
	"  return redis.error_reply('ERR payguard event_import: bad arguments')\n"
	"end\n"
	"if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
	"redis.call('HSET', KEYS[1], 'rec', ARGV[2], 'st', st, 'att', ARGV[4],\n"
	"  'lease', ARGV[5], 'due', due, 'own', '', 'rcv', ARGV[7],\n"
	"  'dlv', ARGV[8], 'ls', ARGV[9], 'le', ARGV[10])\n"
	"if st == 0 or st == 1 then redis.call('ZADD', KEYS[2], due, ARGV[1]) end\n"
	"if exp > 0 then redis.call('PEXPIREAT', KEYS[1], exp) end\n"
	"return 1\n", "" };

enum pg_err
rs_inbox_export(struct rstore *rs, store_scan_fn fn, void *arg)
{
	char		**ids, k[STORE_KEY_MAX];
	const char	*argv[1];
	redisReply	*rep = NULL, *r;
	struct ev_hdr	 h;
	void		*nrec = NULL;
	size_t		 n, i, nlen;
	long long	 ttl;
	int		 stop = 0;
	enum pg_err	 e;

	if ((e = ev_ids(rs, &ids, &n)) != PG_OK)
		return e;
	for (i = 0; i < n && e == PG_OK && !stop; i++) {
		if (ev_key(ids[i], k, sizeof(k)) == 0)
			continue;
		argv[0] = k;
		if ((e = redis_eval(rstore_redis(rs), &s_export, 1, 1, argv,
		    NULL, &rep)) != PG_OK)
			break;
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 0) {
			redis_reply_free(rep);	/* purged or expired meanwhile */
			continue;
		}
		r = rep->type == REDIS_REPLY_ARRAY && rep->elements == 10 ?
		    rep->element[0] : NULL;
		/* fill_hdr reads the fields at 1..8, as the scripts give them. */
		if (r == NULL || r->type != REDIS_REPLY_STRING ||
		    (e = fill_hdr(rep, r->str, r->len, &h)) != PG_OK) {
			e = PG_STORE;
			redis_reply_free(rep);
			break;
		}
		h.queue_due_ms = h.state == EV_PENDING ||
		    h.state == EV_DELIVERING ? h.queue_due_ms : 0;
		if ((e = seal_rehead(r->str, r->len, &h, sizeof(h), &nrec,
		    &nlen)) == PG_OK) {
			ttl = rs_snum(rep->element[9]);
			stop = fn(ids[i], strlen(ids[i]), nrec, nlen, ttl > 0 ?
			    store_now_ms() + (uint64_t)ttl : 0, arg);
			if (stop < 0)
				e = PG_STORE;
		}
		free(nrec);
		nrec = NULL;
		redis_reply_free(rep);
	}
	rs_strv_free(ids, n);
	return e;
}

enum pg_err
rs_inbox_import(struct rstore *rs, const char *id, const void *rec,
    size_t reclen, uint64_t expires, int *added)
{
	char		 k[STORE_KEY_MAX], f[8][24], exp[24];
	const char	*argv[13];
	size_t		 al[13], i;
	struct ev_hdr	 h;
	redisReply	*rep = NULL;
	long long	 v = 0;
	uint64_t	 due;
	enum pg_err	 e;

	*added = 0;
	if ((al[0] = ev_key(id, k, sizeof(k))) == 0 ||
	    inbox_read_hdr(rec, reclen, &h) != PG_OK || h.state >= EV__MAX)
		return PG_EINVAL;
	/* Due when the header says; a queued state without a time is due
	 * now. */
	due = h.queue_due_ms != 0 ? h.queue_due_ms : h.state == EV_DELIVERING ?
	    h.lease_ms : 0;
	if (due == 0 && (h.state == EV_PENDING || h.state == EV_DELIVERING))
		due = store_now_ms();
	snprintf(f[0], sizeof(f[0]), "%u", h.state);
	snprintf(f[1], sizeof(f[1]), "%u", h.attempts);
	snprintf(f[2], sizeof(f[2]), "%llu", (unsigned long long)h.lease_ms);
	snprintf(f[3], sizeof(f[3]), "%llu", (unsigned long long)due);
	snprintf(f[4], sizeof(f[4]), "%llu", (unsigned long long)h.received_ms);
	snprintf(f[5], sizeof(f[5]), "%llu", (unsigned long long)h.delivered_ms);
	snprintf(f[6], sizeof(f[6]), "%d", h.last_status);
	snprintf(exp, sizeof(exp), "%llu", (unsigned long long)expires);
	h.last_error[sizeof(h.last_error) - 1] = '\0';
	argv[0] = k;
	argv[1] = EV_QUEUE;
	argv[2] = id;
	argv[3] = rec;
	for (i = 0; i < 7; i++)
		argv[4 + i] = f[i];
	argv[11] = h.last_error;
	argv[12] = exp;
	for (i = 1; i < 13; i++)
		al[i] = i == 3 ? reclen : strlen(argv[i]);
	/* argv order: KEYS event, queue; then id rec st att lease due rcv
	 * dlv ls le exp. */
	if ((e = redis_eval(rstore_redis(rs), &s_import, 2, 13, argv, al,
	    &rep)) != PG_OK)
		return e;
	e = rs_int_result(rep, &v);
	redis_reply_free(rep);
	if (e == PG_OK && v == 1) {
		*added = 1;
		e = redis_wait_replicas(rstore_redis(rs));
	}
	return e;
}

enum pg_err
rs_inbox_has(struct rstore *rs, const char *id)
{
	char		 k[STORE_KEY_MAX];

	if (ev_key(id, k, sizeof(k)) == 0)
		return PG_EINVAL;
	return rs_exists(rs, k);
}

enum pg_err
rs_inbox_rotate(struct rstore *rs, const struct keyring *ring,
    struct rs_rewrite *res)
{
	return rs_rewrite_field(rs, EV_PREFIX, "rec", seal_reseal_cb,
	    (void *)ring, res);
}
