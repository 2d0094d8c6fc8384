/*
 * payguard - the store's operations on Redis (PAYGUARD_STORE=redis), so
 * that several web servers behave as one payguard.
 *
 * The programs keep calling rl_check, inbox_*, idem_* and token_*; those
 * modules hand each operation to the functions below when the store has
 * a Redis backend attached (store_shared), and run their LMDB
 * transactions otherwise.  Every operation that reads and then writes is
 * one server-side Lua script: it validates first, writes last, and reads
 * the clock with TIME, so all nodes share one clock and no read-modify-
 * write spans two round trips.  Every key a script combines carries one
 * hash tag ({ev} for an event and the queue, {tok} for a token's two
 * keys; rate windows and idempotency records are one key each).
 *
 * Leases and idempotency locks carry an owner token (random, per claim).
 * The handle remembers the token of its own last event claim and last
 * idempotency begin, so that inbox_complete and idem_finish (called by
 * the same process for the same request) prove ownership; a finisher whose
 * lease or lock was taken over changes nothing (PG_CONFLICT).
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
#include "event.h"
#include "idem.h"
#include "inbox.h"
#include "store.h"
#include "token.h"

struct rstore;

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
/* Closes rs.  NULL-safe. */
void		 rstore_close(struct rstore *rs);
/* The node name recorded with this node's data; never NULL. */
const char	*rstore_node(const struct rstore *rs);

/* One sliding-window check (ratelimit.c computes the headers). */
struct rs_rate {
	int		 allowed;
	uint32_t	 inwin;		/* admissions in (now - W, now] */
	uint64_t	 oldest_us;	/* the oldest of them, 0: none */
	uint64_t	 now_us;	/* the server's clock */
};
/* Checks and (when admitted) records one request under key. */
enum pg_err	 rs_rate_check(struct rstore *rs, const char *key,
		    uint32_t limit, uint64_t window_us, struct rs_rate *out);

/* The inbox (inbox.h's contracts; rec is the sealed record). */
enum pg_err	 rs_inbox_accept(struct rstore *rs, const struct config *cfg,
		    const char *id, const void *rec, size_t reclen, int claim,
		    enum inbox_outcome *out, struct ev_hdr *h);
/* Claims the first due event; *rec (malloc'd) is its sealed record. */
enum pg_err	 rs_inbox_claim_next(struct rstore *rs,
		    const struct config *cfg, char id[EVENT_ID_MAX + 1],
		    struct ev_hdr *h, void **rec, size_t *reclen);
/* PG_CONFLICT when this handle no longer holds id's lease. */
enum pg_err	 rs_inbox_complete(struct rstore *rs, const struct config *cfg,
		    const char *id, int ok, int status, const char *error);
/* rec optional (NULL: header only); *rec malloc'd. */
enum pg_err	 rs_inbox_get(struct rstore *rs, const char *id,
		    struct ev_hdr *h, void **rec, size_t *reclen);
/* Every event in id order. */
enum pg_err	 rs_inbox_list(struct rstore *rs, inbox_list_fn fn, void *arg);
/* The queue's length in *n and its first max ids (by due time). */
enum pg_err	 rs_inbox_queue(struct rstore *rs, char (*ids)[EVENT_ID_MAX + 1],
		    size_t max, size_t *nids, uint64_t *n);
enum pg_err	 rs_inbox_retry(struct rstore *rs, const char *id);
enum pg_err	 rs_inbox_purge(struct rstore *rs, int all, size_t *n);

/*
 * Idempotency (idem.h's state machine).  key is the record key (identity
 * and Idempotency-Key); upkey the upstream key a new record gets.  On
 * IDEM_REPLAY *rec (malloc'd) is the sealed response.
 */
enum pg_err	 rs_idem_begin(struct rstore *rs, const char *key,
		    size_t klen, const unsigned char fp[32], const char *upkey,
		    uint64_t ttl_ms, uint64_t lock_ms, struct idem_result *res,
		    void **rec, size_t *reclen);
/* mode 0: done with status and sealed rec; 1: unlock; 2: forget.
 * PG_CONFLICT when another request took the key over. */
enum pg_err	 rs_idem_finish(struct rstore *rs, const char *key,
		    size_t klen, int mode, int status, const void *rec,
		    size_t reclen);

/* Tokens (token.h's contracts). */
enum pg_err	 rs_token_create(struct rstore *rs, const char *name,
		    const struct token_rec *rec);
enum pg_err	 rs_token_lookup(struct rstore *rs, const unsigned char hash[32],
		    char name[TOKEN_NAME_MAX + 1], struct token_rec *rec);
enum pg_err	 rs_token_revoke(struct rstore *rs, const char *name);
enum pg_err	 rs_token_list(struct rstore *rs, token_list_fn fn, void *arg);

#endif /* PG_STORE_REDIS_H */
