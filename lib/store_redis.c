/*
 * payguard - the Redis backend's plumbing: opening it beside LMDB, the
 * handle's claim tokens, and the reply helpers the features' Redis
 * operations share (ratelimit.c, inbox_redis.c, idem.c, token.c: each
 * documents its keys).
 * Redis scripts keep the writes they made before an error (no rollback):
 * each script checks its arguments and the record's state before its
 * first write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "rand.h"
#include "redis.h"
#include "store_redis.h"

struct rs_claim_slot {
	char		 key[RS_CLAIM_KEY_MAX + 1];
	char		 owner[RS_OWNER_LEN + 1];
};

struct rstore {
	struct redis	*r;
	/* The lease token of this handle's last event claim, and the lock
	 * token of its last idempotency begin. */
	struct rs_claim_slot claim[RS_CLAIM_N];
};

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

/* rstore_open, with redis_open's flags. */
static enum pg_err
rstore_open_flags(const struct config *cfg, unsigned int rflags,
    struct rstore **rs, char *err, size_t errsz)
{
	enum pg_err	 e;

	err[0] = '\0';
	if ((*rs = calloc(1, sizeof(**rs))) == NULL)
		e = PG_ENOMEM;
	else
		e = redis_open(cfg, rflags, &(*rs)->r, err, errsz);
	if (e != PG_OK) {
		if (err[0] == '\0')
			snprintf(err, errsz, "REDIS_URL: %s", pg_strerror(e));
		free(*rs);
		*rs = NULL;
	}
	return e;
}

enum pg_err
rstore_open(const struct config *cfg, struct rstore **rs, char *err,
    size_t errsz)
{
	return rstore_open_flags(cfg, 0, rs, err, errsz);
}

enum pg_err
store_open_config(const struct config *cfg, unsigned int flags,
    struct store **st, char *err, size_t errsz)
{
	struct rstore	*rs = NULL;
	enum pg_err	 e;

	err[0] = '\0';
	if ((e = store_open(cfg->state_dir, flags & ~STORE_SERVE, st)) !=
	    PG_OK) {
		snprintf(err, errsz, "PAYGUARD_STATE_DIR: cannot open the "
		    "store: %s", pg_strerror(e));
		return e;
	}
	if (!cfg->store_redis)
		return PG_OK;
	if ((e = rstore_open_flags(cfg, (flags & STORE_SERVE) ? REDIS_DEFER :
	    0, &rs, err, errsz)) != PG_OK) {
		store_close(*st);
		*st = NULL;
		return e;
	}
	store_set_shared(*st, rs);
	return PG_OK;
}

struct redis *
rstore_redis(const struct rstore *rs)
{
	return rs->r;
}

void
rs_claim_set(struct rstore *rs, enum rs_claim c, const char *key,
    const char owner[RS_OWNER_LEN + 1])
{
	snprintf(rs->claim[c].key, sizeof(rs->claim[c].key), "%s", key);
	memcpy(rs->claim[c].owner, owner, sizeof(rs->claim[c].owner));
}

const char *
rs_claim_owner(const struct rstore *rs, enum rs_claim c, const char *key)
{
	/* Not this handle's claim: a token that matches no lease or lock. */
	return strcmp(rs->claim[c].key, key) == 0 ? rs->claim[c].owner : "-";
}

void
rs_claim_clear(struct rstore *rs, enum rs_claim c)
{
	rs->claim[c].key[0] = '\0';
}

enum pg_err
rs_new_owner(char out[RS_OWNER_LEN + 1])
{
	unsigned char	 b[RS_OWNER_LEN / 2];
	enum pg_err	 e;

	if ((e = rand_bytes(b, sizeof(b))) == PG_OK)
		codec_hex_encode(b, sizeof(b), out);
	return e;
}

uint64_t
rs_num(const redisReply *r)
{
	if (r == NULL)
		return 0;
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer < 0 ? 0 : (uint64_t)r->integer;
	if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
		return strtoull(r->str, NULL, 10);
	return 0;
}

long long
rs_snum(const redisReply *r)
{
	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r != NULL && r->type == REDIS_REPLY_STRING)
		return strtoll(r->str, NULL, 10);
	return 0;
}

enum pg_err
rs_int_result(const redisReply *rep, long long *v)
{
	if (rep->type != REDIS_REPLY_INTEGER)
		return PG_STORE;
	*v = rep->integer;
	return PG_OK;
}

int
rs_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
rs_strv_free(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

enum pg_err
rs_scan_keys(struct rstore *rs, const char *prefix, char ***keys, size_t *n)
{
	char		 cursor[32] = "0", pat[128];
	const char	*argv[6] = { "SCAN", cursor, "MATCH", pat, "COUNT",
			    RS_SCAN_COUNT };
	redisReply	*rep = NULL, *ks;
	size_t		 i, cap = 0, plen = strlen(prefix);
	char		**v = NULL, **nv;
	enum pg_err	 e = PG_OK;

	*keys = NULL;
	*n = 0;
	if (plen + 2 > sizeof(pat))
		return PG_EINVAL;
	/* Key prefixes are fixed text without glob characters. */
	snprintf(pat, sizeof(pat), "%s*", prefix);
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
		ks = rep->element[1];
		for (i = 0; ks->type == REDIS_REPLY_ARRAY && i < ks->elements &&
		    e == PG_OK; i++) {
			if (ks->element[i]->len <= plen)
				continue;
			if (*n == cap) {
				cap = cap ? cap * 2 : 64;
				if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
					e = PG_ENOMEM;
					break;
				}
				v = nv;
			}
			if ((v[*n] = strndup(ks->element[i]->str + plen,
			    ks->element[i]->len - plen)) == NULL)
				e = PG_ENOMEM;
			else
				(*n)++;
		}
		redis_reply_free(rep);
		rep = NULL;
	} while (e == PG_OK && strcmp(cursor, "0") != 0);
	if (rep != NULL)
		redis_reply_free(rep);
	if (e != PG_OK) {
		rs_strv_free(v, *n);
		*n = 0;
		return e;
	}
	/* SCAN may return a key twice. */
	if (*n > 0)
		qsort(v, *n, sizeof(*v), rs_strcmp_p);
	for (i = 1; i < *n; ) {
		if (strcmp(v[i], v[i - 1]) == 0) {
			free(v[i]);
			memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
			(*n)--;
		} else
			i++;
	}
	*keys = v;
	return PG_OK;
}

enum pg_err
rs_exists(struct rstore *rs, const char *key)
{
	const char	*argv[2] = { "EXISTS", key };
	redisReply	*rep = NULL;
	enum pg_err	 e;

	if ((e = redis_cmd(rs->r, 2, argv, NULL, &rep)) != PG_OK)
		return e;
	e = rs_num(rep) == 1 ? PG_OK : PG_NOTFOUND;
	redis_reply_free(rep);
	return e;
}

/* KEYS: the hash.  ARGV: field, the value read, the new one.  1 swapped,
 * 0 changed meanwhile (its writer sealed it under the current key). */
static struct redis_script s_swap = { "field_swap",
	"if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end\n"
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])\n"
	"return 1\n", "" };

enum pg_err
rs_rewrite_field(struct rstore *rs, const char *prefix, const char *field,
    rs_rewrite_fn fn, void *arg, struct rs_rewrite *res)
{
	char		**keys = NULL, k[STORE_KEY_MAX];
	const char	*get[3] = { "HGET", k, field }, *argv[4];
	size_t		 n = 0, i, al[4], nlen = 0;
	redisReply	*rep = NULL, *sw = NULL;
	void		*nv = NULL;
	long long	 v;
	enum pg_err	 e, fe;

	memset(res, 0, sizeof(*res));
	if ((e = rs_scan_keys(rs, prefix, &keys, &n)) != PG_OK)
		return e;
	for (i = 0; i < n && e == PG_OK; i++) {
		if ((size_t)snprintf(k, sizeof(k), "%s%s", prefix, keys[i]) >=
		    sizeof(k))
			continue;
		if ((e = redis_cmd(rs->r, 3, get, NULL, &rep)) != PG_OK)
			break;
		if (rep->type != REDIS_REPLY_STRING || rep->len == 0) {
			redis_reply_free(rep);	/* gone, or nothing sealed */
			continue;
		}
		res->seen++;
		fe = fn(rep->str, rep->len, &nv, &nlen, arg);
		if (fe == PG_CRYPTO)
			res->bad++;
		else if (fe != PG_OK)
			e = fe;
		else if (nv != NULL) {
			argv[0] = k;
			argv[1] = field;
			argv[2] = rep->str;
			argv[3] = nv;
			al[0] = strlen(k);
			al[1] = strlen(field);
			al[2] = rep->len;
			al[3] = nlen;
			if ((e = redis_eval(rs->r, &s_swap, 1, 4, argv, al,
			    &sw)) == PG_OK) {
				if (rs_int_result(sw, &v) == PG_OK && v == 1)
					res->changed++;
				redis_reply_free(sw);
			}
		}
		free(nv);
		nv = NULL;
		redis_reply_free(rep);
	}
	rs_strv_free(keys, n);
	if (e == PG_OK && res->changed > 0)
		e = redis_wait_replicas(rs->r);
	return e;
}
