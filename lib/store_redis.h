/*
 * payguard - the Redis backend (PAYGUARD_STORE=redis), so that several
 * web servers behave as one payguard: its handle and the plumbing the
 * features' Redis operations share.
 *
 * The programs keep calling rl_check, inbox_*, idem_* and token_*; those
 * modules hand each operation to its Redis counterpart (in ratelimit.c,
 * idem.c and token.c, and in inbox_redis.h) when the store has a Redis
 * backend attached (store_shared), and run their LMDB transactions
 * otherwise.  Every operation that reads and then writes is one
 * server-side Lua script: it validates first, writes last, and reads the
 * clock with TIME, so all nodes share one clock and no read-modify-write
 * spans two round trips.  Every key a script combines carries one hash
 * tag ({ev} for an event and the queue, {tok} for a token's two keys;
 * rate windows and idempotency records are one key each).
 *
 * Leases and idempotency locks carry an owner token (random, per claim).
 * The handle remembers the token of its own last event claim and last
 * idempotency begin (rs_claim_*), so that inbox_complete and idem_finish
 * (called by the same process for the same request) prove ownership; a
 * finisher whose lease or lock was taken over changes nothing
 * (PG_CONFLICT).
 *
 * Writes that acknowledge something (event accept, delivery outcome,
 * idempotency begin/finish, tokens) wait for PAYGUARD_REDIS_REPLICAS
 * replicas when that is set: PG_STORE when they do not confirm in time.
 */
#ifndef PG_STORE_REDIS_H
#define PG_STORE_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "redis.h"
#include "store.h"

#define RS_OWNER_LEN	 32	/* owner tokens: hex characters */
#define RS_CLAIM_KEY_MAX 255	/* longest key a claim is remembered by */
#define RS_SCAN_COUNT	 "500"	/* SCAN's COUNT hint */

/* Lua: the server's time in ms, as `now` (the scripts' one clock). */
#define RS_LUA_NOW_MS \
	"local t = redis.call('TIME')\n" \
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

struct rstore;

/* The claims a handle remembers: one per kind, the last one made. */
enum rs_claim {
	RS_CLAIM_EVENT,		/* the inbox's event lease */
	RS_CLAIM_IDEM,		/* the idempotency lock */
	RS_CLAIM_N
};

/* Flag for store_open_config (beside store_open's): a serving program,
 * which starts even when Redis is unreachable (redis_open's REDIS_DEFER):
 * requests that need the shared store answer 503 until it answers. */
#define STORE_SERVE	0x100

/*
 * Opens the store cfg names: the LMDB environment in the state directory
 * (node-local data: the audit index, bookkeeping) and, with
 * PAYGUARD_STORE=redis, the Redis connection beside it (checked as
 * redis_open does).  On failure err gets one line naming the variable,
 * never a value.  *st is freed by store_close.
 */
enum pg_err	 store_open_config(const struct config *cfg,
		    unsigned int flags, struct store **st, char *err,
		    size_t errsz);
/*
 * Opens the Redis connection cfg names (REDIS_URL or the sentinels),
 * whatever PAYGUARD_STORE says (`payguard store migrate` reads or fills
 * Redis before the site switches), checked as redis_open does.  On
 * failure *rs is NULL and err gets one line naming the variable.  Freed
 * by rstore_close.
 */
enum pg_err	 rstore_open(const struct config *cfg, struct rstore **rs,
		    char *err, size_t errsz);
/* Closes rs.  NULL-safe. */
void		 rstore_close(struct rstore *rs);
/* The node name recorded with this node's data; never NULL. */
const char	*rstore_node(const struct rstore *rs);
/* The connection rs owns (redis.h); never NULL, freed with rs. */
struct redis	*rstore_redis(const struct rstore *rs);

/* Remembers owner as this handle's token for the claim of kind c on key
 * (key longer than RS_CLAIM_KEY_MAX is cut). */
void		 rs_claim_set(struct rstore *rs, enum rs_claim c,
		    const char *key, const char owner[RS_OWNER_LEN + 1]);
/* The owner token of this handle's kind-c claim on key, or "-" (which
 * matches no lease or lock) when its last claim was another key. */
const char	*rs_claim_owner(const struct rstore *rs, enum rs_claim c,
		    const char *key);
/* Forgets the kind-c claim (its outcome is recorded). */
void		 rs_claim_clear(struct rstore *rs, enum rs_claim c);

/* A fresh random owner token (hex, NUL-terminated) in out. */
enum pg_err	 rs_new_owner(char out[RS_OWNER_LEN + 1]);
/* r as an unsigned number (integer or decimal text); 0 for NULL,
 * negative or anything else. */
uint64_t	 rs_num(const redisReply *r);
/* r as a signed number (integer or decimal text); 0 otherwise. */
long long	 rs_snum(const redisReply *r);
/* A script's integer result in *v; PG_STORE when rep is no integer. */
enum pg_err	 rs_int_result(const redisReply *rep, long long *v);
/* qsort comparator of two char * (strcmp order). */
int		 rs_strcmp_p(const void *a, const void *b);
/* Frees the n strings of v, then v.  v may be NULL when n is 0. */
void		 rs_strv_free(char **v, size_t n);
/*
 * Every key that starts with prefix (fixed text, no glob characters),
 * by SCAN: *keys (malloc'd, free with rs_strv_free) gets the rest of
 * each name after prefix, sorted, each once.
 */
enum pg_err	 rs_scan_keys(struct rstore *rs, const char *prefix,
		    char ***keys, size_t *n);
/* PG_OK when key exists, PG_NOTFOUND when not. */
enum pg_err	 rs_exists(struct rstore *rs, const char *key);

/* Rewrites one value: *nv (malloc'd) the new value, or NULL to keep it;
 * PG_CRYPTO counts it as unreadable and goes on, other errors stop. */
typedef enum pg_err (*rs_rewrite_fn)(const void *old, size_t oldlen,
		    void **nv, size_t *nvlen, void *arg);
struct rs_rewrite {
	size_t		 seen;		/* values read */
	size_t		 changed;	/* values replaced */
	size_t		 bad;		/* fn said PG_CRYPTO */
};
/*
 * For every hash whose key starts with prefix, offers its field to fn and
 * replaces it with fn's value unless the field changed meanwhile (one
 * compare-and-set script per value; its writer then wrote a fresh one).
 * Rerunnable: fn decides what still needs doing.  Counts in *res.
 */
enum pg_err	 rs_rewrite_field(struct rstore *rs, const char *prefix,
		    const char *field, rs_rewrite_fn fn, void *arg,
		    struct rs_rewrite *res);

#endif /* PG_STORE_REDIS_H */
