/*
 * payguard - the accept record of every stored event, made certain.
 *
 * The inbox writes a pending-audit marker in the transaction that stores
 * a new event (inbox.h, INBOX_AUDIT_PENDING); the process then appends
 * the event's audit record.  A process killed between the two leaves the
 * marker.  auditpend_settle reconciles markers with the audit index:
 *   - the record is there: the marker goes;
 *   - it is not, and the process that owes it is gone (or had more than
 *     stale_ms to write it): the marker is taken over in a durable
 *     transaction (so of several settlers exactly one goes on), the
 *     record is appended (details.recovered true), the marker goes.
 * A settler killed after the append and before the delete finds the
 * record next time, so the record is appended exactly once.
 * webhook.fcgi settles at start and every few seconds after a response;
 * the owner itself removes the markers whose records it wrote, in
 * batches (auditpend_drop_own);
 * `payguard audit verify` settles too.
 */
#ifndef PG_AUDITPEND_H
#define PG_AUDITPEND_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "config.h"
#include "crypto.h"
#include "err.h"
#include "store.h"

#define AUDITPEND_BATCH	256	/* markers settled per call */

struct auditpend_res {
	size_t		 seen;		/* markers read */
	size_t		 confirmed;	/* record found: marker removed */
	size_t		 appended;	/* record was missing: written now */
	size_t		 waiting;	/* owner alive and within its time */
};

/*
 * Settles up to AUDITPEND_BATCH markers as above.  actx says who writes
 * recovered records (its st must be st).  stale_ms: how long a live
 * owner is given (0: the handler timeout plus a minute).
 */
enum pg_err	 auditpend_settle(struct store *st, const struct keyring *ring,
		    const struct config *cfg, const struct audit_ctx *actx,
		    uint64_t stale_ms, struct auditpend_res *r);
/*
 * The owner's own settling, once its accept records for the n ids are
 * appended: removes each id's marker if this process owes it and no
 * settler has taken it over, all in one write transaction (app.h
 * batches them).  PG_OK also for an id that has no such marker.
 */
enum pg_err	 auditpend_drop_own(struct store *st, const char *const *ids,
		    size_t n);

#endif /* PG_AUDITPEND_H */
