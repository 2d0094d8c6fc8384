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
