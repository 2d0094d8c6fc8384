/*
 * payguard - moving the shared state between the backends (`payguard
 * store migrate --to redis|lmdb`): the step a site takes when it adds its
 * second web server, and its way back.
 *
 * Copies gateway tokens, the inbox with each event's delivery state (a
 * delivered event keeps its replay record and expiry: the dedup horizon)
 * and idempotency records (sealed responses stay encrypted) from one
 * backend to the other.  Each record is inserted only where its key is
 * absent, one atomic write each, so a run killed half-way and run again
 * copies the rest and nothing twice, and a record the destination already
 * holds (possibly newer) is never overwritten.  A second pass over the
 * source then checks that the destination holds every source record.
 * Node-local state stays where it is: the audit log and index, rate
 * windows (they refill within a window) and bookkeeping.
 */
#ifndef PG_MIGRATE_H
#define PG_MIGRATE_H

#include <stddef.h>

#include "crypto.h"
#include "err.h"
#include "store.h"

enum migrate_kind {
	MIG_TOKENS = 0,
	MIG_EVENTS,
	MIG_IDEM,
	MIG__N
};

struct migrate_count {
	size_t		 source;	/* records in the source (second pass) */
	size_t		 copied;	/* inserted by this run */
	size_t		 present;	/* already in the destination */
	size_t		 verified;	/* source records the destination holds */
	size_t		 skipped;	/* cannot be copied (see idem_export) */
};

struct migrate_report {
	struct migrate_count k[MIG__N];
};

/* Called after each record this run inserts (done: inserted so far, all
 * kinds). */
typedef void (*migrate_progress_fn)(enum migrate_kind k, size_t done,
		    void *arg);

/*
 * Copies from LMDB (st) to Redis (rs) when to_redis, else from Redis to
 * LMDB, then verifies; ring seals what needs it (idem_export).  PG_OK
 * when every source record (but the skipped) is in the destination;
 * PG_CONFLICT when the verification found some missing (the source
 * changed meanwhile: run again); another error from the backends.  rep
 * is filled as far as the run got.
 */
enum pg_err	 migrate_run(struct store *st, struct rstore *rs,
		    const struct keyring *ring, int to_redis,
		    migrate_progress_fn progress, void *arg,
		    struct migrate_report *rep);
/* Returns "tokens", "events" or "idempotency". */
const char	*migrate_kind_name(enum migrate_kind k);

#endif /* PG_MIGRATE_H */
