/*
 * payguard - exact sliding-window rate limiter (a chunked sliding log).
 *
 * Ring of the last L admission times (us), logical order oldest first.
 * While fewer than L admissions exist they sit at positions 0..count-1;
 * once full, position head holds the oldest and is overwritten by the
 * newest.  The admission rule only needs the L-th most recent time: admit
 * iff it is at or before now - W.  A chunk that is missing (never written,
 * or swept because every time in it had left the window) reads as zeros,
 * which are outside any window, so sweeping never changes a decision.
 *
 * Windows live in the store's volatile environment (NS_RATE): committed
 * without an fsync and forgotten after a reboot.  That can at worst forget
 * admissions of the last seconds, which costs no more than what a window
 * allows anyway; paying an fsync per request (every GET of the gateway,
 * every rejection) for that would not.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "codec.h"
#include "log.h"
#include "ratelimit.h"
#include "redis.h"
#include "store_redis.h"

struct rl_head {
	uint32_t	 limit;
	uint32_t	 head;
	uint32_t	 count;
	uint32_t	 pad;
	uint64_t	 last_us;
};

struct rl_ctx {
	const char	*op;
	const char	*id;
	uint32_t	 limit;
	uint64_t	 window_us;
	uint64_t	 now_us;
	char		 hkey[STORE_KEY_MAX];
	size_t		 hklen;
	struct rl_result *res;
};

/* Header key "h|op|identity|L"; identities longer than 200 bytes are
 * replaced by their SHA-256 so every key fits the store. */
static void
make_key(struct rl_ctx *c)
{
	char		 id[2 * SHA256_DIGEST_LENGTH + 1];
	const char	*ident = c->id;
	unsigned char	 md[SHA256_DIGEST_LENGTH];

	if (strlen(ident) > 200) {
		SHA256((const unsigned char *)ident, strlen(ident), md);
		codec_hex_encode(md, sizeof(md), id);
		ident = id;
	}
	c->hklen = (size_t)snprintf(c->hkey, sizeof(c->hkey), "h|%s|%s|%u",
	    c->op, ident, c->limit);
}

static void
chunk_key(const struct rl_ctx *c, uint32_t chunk, char *k, size_t *klen)
{
	memcpy(k, c->hkey, c->hklen);
	k[0] = 'c';
	memcpy(k + c->hklen, "|", 1);
	memcpy(k + c->hklen + 1, &chunk, sizeof(chunk));
	*klen = c->hklen + 1 + sizeof(chunk);
}

/* Reads the time at ring position pos (0 when its chunk is absent). */
static uint64_t
ring_at(struct store_txn *txn, const struct rl_ctx *c, uint32_t pos)
{
	char		 k[STORE_KEY_MAX + 8];
	size_t		 klen, vlen;
	const void	*v;
	uint64_t	 ts = 0;
	uint32_t	 off = pos % RL_CHUNK;

	chunk_key(c, pos / RL_CHUNK, k, &klen);
	if (store_get(txn, NS_RATE, k, klen, &v, &vlen, NULL) == PG_OK &&
	    vlen >= (off + 1) * sizeof(uint64_t))
		memcpy(&ts, (const char *)v + off * sizeof(uint64_t), sizeof(ts));
	return ts;
}

static enum pg_err
ring_set(struct store_txn *txn, const struct rl_ctx *c, uint32_t pos,
    uint64_t ts)
{
	char		 k[STORE_KEY_MAX + 8];
	uint64_t	 chunk[RL_CHUNK];
	size_t		 klen, vlen;
	const void	*v;
	uint32_t	 off = pos % RL_CHUNK;

	chunk_key(c, pos / RL_CHUNK, k, &klen);
	memset(chunk, 0, sizeof(chunk));
	if (store_get(txn, NS_RATE, k, klen, &v, &vlen, NULL) == PG_OK)
		memcpy(chunk, v, vlen < sizeof(chunk) ? vlen : sizeof(chunk));
	chunk[off] = ts;
	/* The chunk may go once its newest time has left the window. */
	return store_put(txn, NS_RATE, k, klen, chunk, sizeof(chunk),
	    (ts + c->window_us) / 1000 + 1, STORE_DERIVED);
}

/* Counts admissions inside (now - W, now] and finds the oldest of them:
 * binary search over the ring, which is sorted oldest first. */
static void
window_stats(struct store_txn *txn, const struct rl_ctx *c,
    const struct rl_head *h, uint32_t *inwin, uint64_t *oldest)
{
	uint32_t	 first = h->count < h->limit ? 0 : h->head;
	uint32_t	 lo = 0, hi = h->count, mid;
	uint64_t	 edge = c->now_us > c->window_us ?
			    c->now_us - c->window_us : 0;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ring_at(txn, c, (first + mid) % h->limit) <= edge)
			lo = mid + 1;
		else
			hi = mid;
	}
	*inwin = h->count - lo;
	*oldest = lo < h->count ? ring_at(txn, c, (first + lo) % h->limit) : 0;
}

static enum pg_err
rl_txn(struct store_txn *txn, void *arg)
{
	struct rl_ctx	*c = arg;
	struct rl_result *res = c->res;
	struct rl_head	 h;
	const void	*v;
	size_t		 vlen;
	uint32_t	 pos, inwin;
	uint64_t	 oldest, edge;
	enum pg_err	 e;

	memset(&h, 0, sizeof(h));
	e = store_get(txn, NS_RATE, c->hkey, c->hklen, &v, &vlen, NULL);
	if (e == PG_OK && vlen == sizeof(h))
		memcpy(&h, v, sizeof(h));
	else if (e != PG_OK && e != PG_NOTFOUND)
		return e;
	if (h.limit != c->limit)
		memset(&h, 0, sizeof(h));
	h.limit = c->limit;
	/* Keep the ring sorted even if clocks of processes disagree. */
	if (c->now_us < h.last_us)
		c->now_us = h.last_us;
	edge = c->now_us > c->window_us ? c->now_us - c->window_us : 0;

	if (h.count < h.limit) {
		pos = h.count;
		res->allowed = 1;
	} else {
		pos = h.head;
		res->allowed = ring_at(txn, c, pos) <= edge;
	}
	if (res->allowed) {
		if ((e = ring_set(txn, c, pos, c->now_us)) != PG_OK)
			return e;
		if (h.count < h.limit)
			h.count++;
		else
			h.head = (h.head + 1) % h.limit;
		h.last_us = c->now_us;
		if ((e = store_put(txn, NS_RATE, c->hkey, c->hklen, &h,
		    sizeof(h), (c->now_us + c->window_us) / 1000 + 1,
		    STORE_DERIVED)) != PG_OK)
			return e;
	}
	window_stats(txn, c, &h, &inwin, &oldest);
	res->remaining = inwin >= h.limit ? 0 : h.limit - inwin;
	res->reset_ms = inwin > 0 ? (oldest + c->window_us) / 1000 :
	    c->now_us / 1000;
	if (!res->allowed) {
		uint64_t wait = oldest + c->window_us - c->now_us;
		/* Rounded up: a client told 0 or too early retries in vain. */
		res->retry_after = (uint32_t)((wait + 999999) / 1000000);
		if (res->retry_after == 0)
			res->retry_after = 1;
	}
	return PG_OK;
}

/* One sliding-window check on Redis (rl_shared computes the headers). */
struct rl_window {
	int		 allowed;
	uint32_t	 inwin;		/* admissions in (now - W, now] */
	uint64_t	 oldest_us;	/* the oldest of them, 0: none */
	uint64_t	 now_us;	/* the server's clock */
};

/*
 * Key: the window's (c->hkey: "h|<op>|<identity>|<L>"), a sorted set of
 * admission times (us), one member per admission (a random name, so two
 * admissions in one microsecond both count).
 */
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

/* Checks and (when admitted) records one request under key. */
static enum pg_err
rl_redis_check(struct rstore *rs, const char *key, uint32_t limit,
    uint64_t window_us, struct rl_window *out)
{
	char		 l[16], w[24], m[RS_OWNER_LEN + 1];
	const char	*argv[4] = { key, l, w, m };
	redisReply	*rep = NULL;
	enum pg_err	 e;

	memset(out, 0, sizeof(*out));
	snprintf(l, sizeof(l), "%u", limit);
	snprintf(w, sizeof(w), "%llu", (unsigned long long)window_us);
	/* Unique members: two admissions in one microsecond both count. */
	if ((e = rs_new_owner(m)) != PG_OK)
		return e;
	if ((e = redis_eval(rstore_redis(rs), &s_rate, 1, 4, argv, NULL, &rep)) != PG_OK)
		return e;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 4)
		e = PG_STORE;
	else {
		out->allowed = rs_num(rep->element[0]) == 1;
		out->inwin = (uint32_t)rs_num(rep->element[1]);
		/* Scores come back as "%.17g" text: integral here. */
		out->oldest_us = (uint64_t)strtod(rep->element[2]->str != NULL ?
		    rep->element[2]->str : "0", NULL);
		out->now_us = rs_num(rep->element[3]);
	}
	redis_reply_free(rep);
	return e;
}

/*
 * The same window on Redis: a sorted set of admission times per key, one
 * script per check on the server's clock (TIME), so the nodes' own clocks
 * cannot widen it.
 */
static enum pg_err
rl_shared(struct rstore *rs, const struct rl_ctx *c, struct rl_result *res)
{
	struct rl_window r;
	uint64_t	 wait;
	enum pg_err	 e;

	if ((e = rl_redis_check(rs, c->hkey, c->limit, c->window_us, &r)) !=
	    PG_OK)
		return e;
	res->allowed = r.allowed;
	res->remaining = r.inwin >= c->limit ? 0 : c->limit - r.inwin;
	res->reset_ms = r.inwin > 0 ? (r.oldest_us + c->window_us) / 1000 :
	    r.now_us / 1000;
	if (!r.allowed) {
		wait = r.oldest_us + c->window_us > r.now_us ?
		    r.oldest_us + c->window_us - r.now_us : 0;
		res->retry_after = (uint32_t)((wait + 999999) / 1000000);
		if (res->retry_after == 0)
			res->retry_after = 1;
	}
	return PG_OK;
}

enum pg_err
rl_check_at(struct store *st, const struct config *cfg, const char *op,
    const char *identity, uint64_t now_us, struct rl_result *res)
{
	struct rl_ctx	 c;
	enum pg_err	 e;

	memset(res, 0, sizeof(*res));
	res->limit = config_rate_limit(cfg, op);
	res->window = cfg->rl_window;
	res->remaining = res->limit;
	res->reset_ms = now_us / 1000;
	res->allowed = 1;
	if (!cfg->rl_enabled)
		return PG_OK;
	memset(&c, 0, sizeof(c));
	c.op = op;
	c.id = identity;
	c.limit = res->limit;
	c.window_us = (uint64_t)cfg->rl_window * 1000000u;
	c.now_us = now_us;
	c.res = res;
	make_key(&c);
	if (st == NULL)
		e = PG_STORE;
	else if (store_shared(st) != NULL)
		e = rl_shared(store_shared(st), &c, res);
	else
		e = store_run(st, 1, rl_txn, &c);
	if (e != PG_OK) {
		/* Fail open: a broken limiter must not take payments down. */
		memset(res, 0, sizeof(*res));
		res->limit = c.limit;
		res->window = cfg->rl_window;
		res->remaining = c.limit;
		res->reset_ms = now_us / 1000;
		res->allowed = res->failed_open = 1;
		log_warnx("rate limiter failed open: %s", pg_strerror(e));
	}
	return e;
}

enum pg_err
rl_check(struct store *st, const struct config *cfg, const char *op,
    const char *identity, struct rl_result *res)
{
	return rl_check_at(st, cfg, op, identity, store_now_us(), res);
}

void
rl_headers(const struct rl_result *res, const char *op, struct http_resp *r)
{
	uint64_t	 now = store_now_ms();
	uint64_t	 t = res->reset_ms > now ?
			    (res->reset_ms - now + 999) / 1000 : 0;

	http_resp_header(r, "X-RateLimit-Limit", "%u", res->limit);
	http_resp_header(r, "X-RateLimit-Remaining", "%u", res->remaining);
	http_resp_header(r, "X-RateLimit-Reset", "%llu",
	    (unsigned long long)((res->reset_ms + 999) / 1000));
	http_resp_header(r, "RateLimit-Policy", "\"%s\";q=%u;w=%u", op,
	    res->limit, res->window);
	http_resp_header(r, "RateLimit", "\"%s\";r=%u;t=%llu", op,
	    res->remaining, (unsigned long long)t);
	if (!res->allowed)
		http_resp_header(r, "Retry-After", "%u", res->retry_after);
}

void
rl_ip_key(const char *addr, unsigned int prefix6, char *out, size_t outsz)
{
	struct in6_addr	 a6;
	char		 net[INET6_ADDRSTRLEN];
	unsigned int	 i, bits;

	if (inet_pton(AF_INET6, addr, &a6) != 1) {
		snprintf(out, outsz, "ip:%.60s", addr);
		return;
	}
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		snprintf(out, outsz, "ip:%u.%u.%u.%u", a6.s6_addr[12],
		    a6.s6_addr[13], a6.s6_addr[14], a6.s6_addr[15]);
		return;
	}
	if (prefix6 == 0 || prefix6 > 128)
		prefix6 = 128;
	for (i = 0; i < 16; i++) {
		bits = i * 8 >= prefix6 ? 0 : prefix6 - i * 8;
		if (bits < 8)
			a6.s6_addr[i] &= (unsigned char)(0xff00u >> bits);
	}
	if (inet_ntop(AF_INET6, &a6, net, sizeof(net)) == NULL)
		snprintf(out, outsz, "ip:%.60s", addr);
	else
		snprintf(out, outsz, "ip:%s/%u", net, prefix6);
}
