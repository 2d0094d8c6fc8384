/*
 * payguard - the state store: one environment shared by every process of
 * every program (rate windows, idempotency results, replay records, inbox,
 * audit index, tokens).
 *
 * LMDB is the backend today (store_lmdb.c); the interface is kept free of
 * LMDB types and codes so that a Redis backend can follow.  All access is
 * through transactions run by store_run(), which retries the callback when
 * the backend asks for it (map grown, optimistic conflict), so callbacks
 * must be free of side effects outside the transaction.
 *
 * Every value carries an absolute expiry (ms since the epoch, 0 = never);
 * expired records read as absent and are swept in the background.
 */
#ifndef PG_STORE_H
#define PG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum store_ns {
	NS_META = 0,	/* small bookkeeping values */
	NS_RATE,	/* rate-limit windows: op|identity (volatile) */
	NS_EVENT,	/* webhook events (inbox + replay record): evt id */
	NS_QUEUE,	/* delivery queue: be64 due_ms | evt id */
	NS_IDEM,	/* idempotency records: identity|key */
	NS_TOKEN,	/* gateway tokens: name */
	NS_AUDIT,	/* audit index: be64 ts_us | seq (volatile) */
	NS_AUDIT_X,	/* audit secondary index, counters (volatile) */
	NS_STAGE,	/* group commit's staged items (volatile, gcommit.h) */
	NS__MAX
};

#define STORE_KEY_MAX	500	/* bytes; LMDB's limit is 511 */

struct store;
struct store_txn;

/* Flags for store_open. */
#define STORE_NOSYNC	0x01	/* PAYGUARD_SYNC=0: trade durability for speed */
#define STORE_RDONLY	0x02	/* never write (admin queries) */

/* Flags for store_put. */
#define STORE_NOOVERWRITE 0x01	/* PG_EXISTS if a live record is present */
#define STORE_DERIVED	  0x04	/* rebuildable data (the audit chain-head
				   checkpoint, in the main env): a txn of
				   only these syncs its data, not the meta
				   page (integrity kept, may be undone) */

/*
 * Opens (creating, 0700/0600) the store in dir.  Must be called in the
 * serving process itself, never before a fork.  Clears stale reader slots
 * left by killed processes.  *st is freed by store_close.
 */
enum pg_err	 store_open(const char *dir, unsigned int flags,
		    struct store **st);
/* Closes the store.  NULL-safe. */
void		 store_close(struct store *st);
/*
 * The descriptor of lock file name (a plain file name) in the store's
 * volatile directory, for flock(2): opened (created 0600, no symlink
 * followed) at the first call and kept until store_close, so that a
 * lock taken on every request costs no open.  Owned by the store: never
 * close it, and release every lock taken on it (closing no longer does).
 * -1 with errno set when it cannot be opened, the table of names
 * (STORE_LOCKS) is full, or this is not the opening process.
 */
#define STORE_LOCKS	4
int		 store_lock_fd(struct store *st, const char *name);

/* Transaction callback: returns PG_OK to commit, anything else aborts and
 * is returned by store_run. */
typedef enum pg_err (*store_fn)(struct store_txn *txn, void *arg);

/*
 * Runs fn inside one transaction (write when write != 0), committing when
 * it returns PG_OK.  Grows the map and reruns fn on a full map.  A write
 * transaction is durable on return unless the store was opened with
 * STORE_NOSYNC, every put in it was STORE_DERIVED (its data is synced, a
 * system crash may undo it), or it wrote a volatile namespace (NS_RATE,
 * NS_AUDIT, NS_AUDIT_X, NS_STAGE: never synced, emptied after a reboot).  One transaction stays within one environment:
 * volatile namespaces cannot be mixed with the others, in reads as in
 * writes.
 */
enum pg_err	 store_run(struct store *st, int write, store_fn fn,
		    void *arg);

/*
 * Looks up key in ns.  On PG_OK *val and *vlen point into the store and stay
 * valid until the transaction ends or the next write in it; *expires gets
 * the record's expiry when non-NULL.  PG_NOTFOUND when absent or expired.
 */
enum pg_err	 store_get(struct store_txn *txn, enum store_ns ns,
		    const void *key, size_t klen, const void **val,
		    size_t *vlen, uint64_t *expires);
/* Stores val under key with absolute expiry (ms, 0 = never). */
enum pg_err	 store_put(struct store_txn *txn, enum store_ns ns,
		    const void *key, size_t klen, const void *val, size_t vlen,
		    uint64_t expires, unsigned int flags);
/* Deletes key; PG_NOTFOUND when absent. */
enum pg_err	 store_del(struct store_txn *txn, enum store_ns ns,
		    const void *key, size_t klen);

/* Scan callback: return 0 to continue, 1 to stop, <0 to abort (PG_STORE).
 * val points into the store, valid for the call only. */
typedef int (*store_scan_fn)(const void *key, size_t klen, const void *val,
		    size_t vlen, uint64_t expires, void *arg);
/*
 * Visits live records of ns in key order, from the first key >= start
 * (NULL: the beginning) while keys are < end (NULL: no end), or in
 * reverse from the last key < end down to start when reverse != 0.
 * The callback must not write to the store.
 */
enum pg_err	 store_scan(struct store_txn *txn, enum store_ns ns,
		    const void *start, size_t slen, const void *end,
		    size_t elen, int reverse, store_scan_fn fn, void *arg);
/* Deletes up to budget expired records of ns (in a read transaction only
 * counts them); *swept gets the count. */
enum pg_err	 store_sweep(struct store_txn *txn, enum store_ns ns,
		    size_t budget, size_t *swept);
/* Returns the number of live-or-expired records in ns (O(1)). */
size_t		 store_count(struct store_txn *txn, enum store_ns ns);

/*
 * Sweeps a bounded number of expired records of every namespace, at most
 * once every few seconds per process (cheap to call after each request).
 */
enum pg_err	 store_maintain(struct store *st, size_t budget);

/*
 * The shared backend (PAYGUARD_STORE=redis, store_redis.h) attached to st,
 * or NULL: then every operation runs on LMDB.  store_set_shared hands rs
 * over to st (closed by store_close); store_open_config attaches it.
 */
struct rstore;
struct rstore	*store_shared(const struct store *st);
void		 store_set_shared(struct store *st, struct rstore *rs);

/* How full the durable environment is (`payguard doctor`). */
struct store_space {
	uint64_t	 used;		/* bytes of pages in use */
	uint64_t	 map;		/* the map's current size */
	uint64_t	 map_max;	/* the size the map may grow to */
};
/* Fills sp.  PG_OK, or PG_STORE when the backend cannot tell. */
enum pg_err	 store_space(struct store *st, struct store_space *sp);

/* Current wall-clock time in ms / us since the epoch. */
uint64_t	 store_now_ms(void);
uint64_t	 store_now_us(void);

#endif /* PG_STORE_H */
