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
#include "inbox_rec.h"
#include "store.h"

/*
 * The pending audit record of an accepted event: written in the same
 * transaction that stores a new event (NS_META, key prefix +
 * id), so a process killed between that commit and its audit append
 * leaves the promise behind; lib/auditpend.c keeps it (appends what is
 * missing, exactly once) and removes it.
 */
#define INBOX_AUDIT_PENDING	"auditpend/"
#define INBOX_AUDIT_PENDING_TTL_MS (31ull * 86400 * 1000)
/* Room for a marker's key: the prefix, an id, the NUL. */
#define INBOX_MARKER_KEY_MAX	(sizeof(INBOX_AUDIT_PENDING) + EVENT_ID_MAX)
/* Writes the store key (NS_META) of id's marker into key (size bytes);
 * returns its length, 0 when it does not fit. */
size_t		 inbox_marker_key(char *key, size_t size, const char *id);
struct inbox_audit_pending {
	uint64_t	 received_ms;
	uint64_t	 claimed_ms;	/* 0, or when a settler took it over */
	int32_t		 pid;		/* who owes the record */
	uint32_t	 source;	/* enum ev_source */
};

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

/*
 * Migration between the backends (`payguard store migrate`); rs NULL
 * means the LMDB environment st, else Redis.  An event travels in its
 * LMDB form: its sealed record (still encrypted) whose clear header holds
 * the current delivery state, and its absolute expiry (ms, 0 = none: the
 * dedup horizon of a delivered event).
 *   inbox_export  visits every event: fn(id, idlen, rec, reclen, expiry,
 *                 arg) returns 0 to go on, 1 to stop, <0 to fail
 *   inbox_import  stores one unless its id is present, queued by its
 *                 header (*added: 1 stored now, 0 present; never
 *                 overwrites, so a rerun copies only what is missing)
 *   inbox_has     PG_OK when id is stored, PG_NOTFOUND when not
 */
struct rstore;
enum pg_err	 inbox_export(struct store *st, struct rstore *rs,
		    store_scan_fn fn, void *arg);
enum pg_err	 inbox_import(struct store *st, struct rstore *rs,
		    const char *id, const void *rec, size_t reclen,
		    uint64_t expires, int *added);
enum pg_err	 inbox_has(struct store *st, struct rstore *rs, const char *id);

#endif /* PG_INBOX_H */
