/*
 * payguard - the durable webhook inbox.
 *
 * One record per Stripe event id in NS_EVENT: a clear header (state,
 * attempts, times, type) and the raw event sealed (encrypted) under the
 * key ring.  The record is also the replay record: it is inserted with
 * insert-if-absent, atomically across processes, so an event is accepted
 * once.  NS_QUEUE orders what is due: be64(due ms) | id, for pending
 * events (due at their next attempt) and for events being delivered (due
 * when the delivering process's lease runs out, so a killed worker's
 * event is picked up again).
 */
#ifndef PG_INBOX_H
#define PG_INBOX_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "crypto.h"
#include "err.h"
#include "event.h"
#include "store.h"

enum ev_state {
	EV_PENDING = 0,	/* waiting for (another) delivery attempt */
	EV_DELIVERING,	/* claimed by a process until lease_ms */
	EV_DELIVERED,	/* the handler exited 0 */
	EV_DEAD,	/* failed max_attempts times: dead letter */
	EV__MAX
};

/* How an event reached the inbox: recorded in its header and the audit,
 * passed to the handler as PAYGUARD_EVENT_SOURCE. */
enum ev_source {
	EV_SRC_WEBHOOK = 0,	/* a signed webhook from Stripe */
	EV_SRC_BACKFILL,	/* listed by `payguard events backfill` */
	EV_SRC__MAX
};

struct ev_hdr {
	uint32_t	 version;
	uint32_t	 state;
	uint32_t	 attempts;
	int32_t		 livemode;
	int32_t		 owner_pid;
	int32_t		 last_status;	/* handler exit status, -1 none */
	uint64_t	 received_ms;
	uint64_t	 queue_due_ms;	/* 0 when not in NS_QUEUE */
	uint64_t	 lease_ms;	/* DELIVERING: claim valid until */
	uint64_t	 delivered_ms;
	int64_t		 created;
	char		 type[128];
	char		 last_error[96];
	uint32_t	 source;	/* enum ev_source (version 2 on) */
	uint32_t	 spare;
};

/*
 * The pending audit record of an accepted event: written in the same
 * transaction that stores a new event (NS_META, key prefix +
 * id), so a process killed between that commit and its audit append
 * leaves the promise behind; lib/auditpend.c keeps it (appends what is
 * missing, exactly once) and removes it.
 */
#define INBOX_AUDIT_PENDING	"auditpend/"
#define INBOX_AUDIT_PENDING_TTL_MS (31ull * 86400 * 1000)
struct inbox_audit_pending {
	uint64_t	 received_ms;
	uint64_t	 claimed_ms;	/* 0, or when a settler took it over */
	int32_t		 pid;		/* who owes the record */
	uint32_t	 source;	/* enum ev_source */
};

enum inbox_outcome {
	INBOX_NEW = 0,		/* first time: stored (and claimed if asked) */
	INBOX_DUPLICATE,	/* seen before; nothing to do */
	INBOX_RECLAIMED,	/* seen before, undelivered, now claimed */
	INBOX_IN_PROGRESS	/* another process is delivering it now */
};

/* Reads the clear header of a sealed inbox record into h (older header
 * versions upgraded).  PG_STORE when rec is not one. */
enum pg_err	 inbox_read_hdr(const void *rec, size_t reclen,
		    struct ev_hdr *h);
/* Returns "pending", "delivering", "delivered" or "dead". */
const char	*ev_state_name(uint32_t s);
/* Returns "webhook" or "backfill" ("unknown" out of range). */
const char	*ev_source_name(uint32_t s);

/*
 * Stores the event if its id is new (its header records ev->source).
 * With claim (sync delivery) the new
 * or undelivered record is also claimed for this process.  *out tells
 * what happened; *h gets the header as stored.
 */
enum pg_err	 inbox_accept(struct store *st, const struct keyring *ring,
		    const struct config *cfg, const struct event_info *ev,
		    const void *body, size_t len, int claim,
		    enum inbox_outcome *out, struct ev_hdr *h);
/*
 * Claims the first event due at now (pending, or delivering with an
 * expired lease).  PG_NOTFOUND when nothing is due.  *body is the
 * decrypted event (malloc'd, caller frees).
 */
enum pg_err	 inbox_claim_next(struct store *st,
		    const struct keyring *ring, const struct config *cfg,
		    char id[EVENT_ID_MAX + 1], struct ev_hdr *h,
		    unsigned char **body, size_t *len);
/*
 * Records the result of the delivery attempt made under claim (the header
 * inbox_accept or inbox_claim_next returned).  PG_CONFLICT, recording
 * nothing, when the event is no longer held by that claim (the lease ran
 * out and another process took it over).
 */
enum pg_err	 inbox_complete(struct store *st, const struct config *cfg,
		    const char *id, const struct ev_hdr *claim, int ok,
		    int status, const char *error);
/* Reads one record; body optional (NULL: header only). */
enum pg_err	 inbox_get(struct store *st, const struct keyring *ring,
		    const char *id, struct ev_hdr *h, unsigned char **body,
		    size_t *len);

typedef int (*inbox_list_fn)(const char *id, const struct ev_hdr *h,
		    void *arg);
/* Visits every record in id order (callback returns 0 to go on). */
enum pg_err	 inbox_list(struct store *st, inbox_list_fn fn, void *arg);
/* Makes a dead or pending event due now with a fresh attempt count. */
enum pg_err	 inbox_retry(struct store *st, const char *id);
/*
 * The delivery backlog: *n gets the queued events (counted up to 100 000),
 * *oldest_ms the received time of the oldest pending one among the first
 * thousand (0: none).
 */
enum pg_err	 inbox_backlog(struct store *st, uint64_t *n,
		    uint64_t *oldest_ms);
/* Deletes dead events (all != 0: every event); *n gets the count. */
enum pg_err	 inbox_purge(struct store *st, int all, size_t *n);

#endif /* PG_INBOX_H */
