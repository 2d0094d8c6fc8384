/*
 * payguard - group commit: concurrent writers share the fsync of the
 * durable environment (PAYGUARD_SYNC=1 on LMDB).
 *
 * A synced LMDB commit costs a flush of the disk, and LMDB has one writer
 * at a time, so one commit per request caps every process together at the
 * disk's flush rate.  Here a request stages its item in the volatile
 * environment (NS_STAGE: no fsync) and tries to lead (flock(2) on
 * state_dir/volatile/commit.lock).  The leader takes every item staged so
 * far, applies them all in ONE ordinary, fully synced write transaction
 * of the main environment, then marks each item done with its result,
 * and goes on with the next batch while items are staged (a bounded
 * number).  The others wait for the batch in flight on a shared lock
 * (volatile/commit.wait or commit.wait1, which the leader holds
 * exclusively over each batch, in turn), wake together, and find their
 * item done (durable) and return;
 * or, if it was staged after the leader collected, lead themselves.
 * While one batch is being flushed the next one gathers, so the flush
 * rate bounds batches, not requests.  The main environment never sees an
 * MDB_NOSYNC commit.
 *
 * Guarantees:
 *  - gc_submit returns GC_NEW only after the transaction holding the item
 *    was durably committed (never before: an acknowledgement may follow).
 *  - Atomic across processes: one key is staged at most once while
 *    pending, and the stage is checked, then the main environment, inside
 *    one volatile write transaction; an item leaves the stage only after
 *    the main commit that holds it.  So two requests for one key get one
 *    GC_NEW; the other waits for that commit and gets GC_EXISTS.
 *  - SIGKILL anywhere: a killed leader's locks are released by the kernel
 *    and its items, still staged, are applied by the next leader (apply
 *    must recognise an item a killed leader had already committed); a
 *    killed owner's item is committed all the same by a later leader.
 *    Staged items do not survive a reboot (the volatile environment is
 *    emptied): none of them had been reported committed.
 *
 * One store has one user of this (the inbox): every gc_submit on it must
 * pass the same probe and apply, which a leader runs for items staged by
 * any process.
 */
#ifndef PG_GCOMMIT_H
#define PG_GCOMMIT_H

#include <stddef.h>

#include "err.h"
#include "store.h"

enum gc_result {
	GC_NEW = 1,	/* applied by a durable commit: the item is in */
	GC_EXISTS	/* the key was already there (now durably) */
};

#define GC_BATCH	256	/* items per main-environment transaction */
#define GC_KEY_MAX	128	/* bytes of a staged key */

/* Inside the main environment's read transaction: PG_OK when key is
 * already committed, PG_NOTFOUND when not, else an error. */
typedef enum pg_err (*gc_probe_fn)(struct store_txn *txn, const void *key,
		    size_t klen);
/* Inside the leader's main-environment write transaction: applies one
 * staged item (key, val exactly as staged, by any process) and sets *res
 * to GC_NEW or GC_EXISTS.  Must give GC_NEW again for an item a killed
 * leader had already committed.  Anything but PG_OK fails the batch. */
typedef enum pg_err (*gc_apply_fn)(struct store_txn *txn, const void *key,
		    size_t klen, const void *val, size_t vlen, int *res);

/*
 * Commits (key, val) through the group commit of st (a local LMDB store
 * opened without STORE_NOSYNC), its lock files kept by the store
 * (store_lock_fd, in the state directory's volatile/).
 * On PG_OK *res is GC_NEW (applied, durable) or GC_EXISTS (the key was
 * committed before, by this path or another; durable too).  An error
 * (the batch's commit failed, or the stage is unusable) leaves nothing
 * committed for this item.
 */
enum pg_err	 gc_submit(struct store *st, const void *key, size_t klen,
		    const void *val, size_t vlen, gc_probe_fn probe,
		    gc_apply_fn apply, int *res);

#endif /* PG_GCOMMIT_H */
