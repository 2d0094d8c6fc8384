/*
 * payguard - the inbox's operations on Redis (PAYGUARD_STORE=redis):
 * inbox.c hands each operation here when the store has a Redis backend
 * attached (store_shared).  Contracts as inbox.h's; rec is the sealed
 * record (inbox_rec.h).  Every read-then-write is one Lua script (store_redis.h).
 */
#ifndef PG_INBOX_REDIS_H
#define PG_INBOX_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "crypto.h"
#include "err.h"
#include "event.h"
#include "inbox_rec.h"
#include "store_redis.h"

/* Records event id (rec: its sealed record), claiming it when claim. */
enum pg_err	 rs_inbox_accept(struct rstore *rs, const struct config *cfg,
		    const char *id, const void *rec, size_t reclen, int claim,
		    enum inbox_outcome *out, struct ev_hdr *h);
/* Claims the first due event; *rec (malloc'd) is its sealed record. */
enum pg_err	 rs_inbox_claim_next(struct rstore *rs,
		    const struct config *cfg, char id[EVENT_ID_MAX + 1],
		    struct ev_hdr *h, void **rec, size_t *reclen);
/*
 * Records the outcome of the attempt made under claim (its attempts), in
 * one script that first checks the lease: PG_CONFLICT, changing nothing,
 * unless the event is still being delivered under this handle's owner
 * token and that attempt.
 */
enum pg_err	 rs_inbox_complete(struct rstore *rs, const struct config *cfg,
		    const char *id, const struct ev_hdr *claim, int ok,
		    int status, const char *error);
/* rec optional (NULL: header only); *rec malloc'd. */
enum pg_err	 rs_inbox_get(struct rstore *rs, const char *id,
		    struct ev_hdr *h, void **rec, size_t *reclen);
/* Every event in id order. */
enum pg_err	 rs_inbox_list(struct rstore *rs, inbox_list_fn fn, void *arg);
/* The queue's length in *n and its first max ids (by due time). */
enum pg_err	 rs_inbox_queue(struct rstore *rs, char (*ids)[EVENT_ID_MAX + 1],
		    size_t max, size_t *nids, uint64_t *n);
/* Makes a dead or pending event due now with a fresh attempt count;
 * PG_CONFLICT when it is claimed or delivered. */
enum pg_err	 rs_inbox_retry(struct rstore *rs, const char *id);
/* Deletes dead events (all != 0: every event); *n gets the count. */
enum pg_err	 rs_inbox_purge(struct rstore *rs, int all, size_t *n);

/*
 * Migration (payguard store migrate; inbox.h has the contract): every
 * event in its LMDB form, fn(id, idlen, sealed record with its current
 * header, length, expiry ms or 0, arg) returning 0 to go on.
 */
enum pg_err	 rs_inbox_export(struct rstore *rs, store_scan_fn fn, void *arg);
/* Stores id unless present (*added 1 when stored now, 0 when present). */
enum pg_err	 rs_inbox_import(struct rstore *rs, const char *id,
		    const void *rec, size_t reclen, uint64_t expires,
		    int *added);
/* PG_OK when id is stored, PG_NOTFOUND when not. */
enum pg_err	 rs_inbox_has(struct rstore *rs, const char *id);
/* Re-encrypts every event's sealed record not under keys[0] of ring
 * (`payguard rotate-keys`; rerunnable); counts in *res. */
enum pg_err	 rs_inbox_rotate(struct rstore *rs, const struct keyring *ring,
		    struct rs_rewrite *res);

#endif /* PG_INBOX_REDIS_H */
