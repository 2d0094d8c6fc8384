/*
 * payguard - recovering missed events from Stripe's Events API.
 *
 * Stripe stops retrying a failing endpoint after three days and tells
 * integrators to list events to recover the rest.  backfill_run lists
 * GET /v1/events (created[gte], created[lte], types[], limit 100; newest
 * first) page by page with starting_after, through lib/stripe.c's client
 * (the pinned Stripe-Version, stripe-python's retries), and feeds each
 * event through inbox_accept, the webhook's own duplicate check: one
 * already received is counted as present and left alone, a new one is
 * stored with source backfill and delivered like any other.
 *
 * Resumable: after every page the position (the last event handled) and
 * the counts so far are kept in NS_META; a later run with the same since
 * and types carries on after it (its until fixed by the first run), and
 * a completed run removes it.  Re-listing is harmless anyway (duplicates
 * are skipped): the position only saves work.
 */
#ifndef PG_BACKFILL_H
#define PG_BACKFILL_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "buf.h"
#include "config.h"
#include "crypto.h"
#include "err.h"
#include "event.h"
#include "store.h"
#include "stripe.h"

#define BACKFILL_PAGE		100	/* Stripe's largest page */
#define BACKFILL_TYPES_MAX	20	/* Stripe's limit on types[] */
#define BACKFILL_TYPE_LEN	EVENT_TYPE_MAX

struct backfill_res;

/* Called after every page (progress on a terminal). */
typedef void (*backfill_progress_fn)(const struct backfill_res *r,
		    void *arg);

struct backfill_opts {
	int64_t		 since;		/* created >= since (unix s) */
	int64_t		 until;		/* created <= until; 0: now, fixed by
					   the first run of a resumed range */
	const char	*types;		/* "a,b" (validated), NULL: all */
	int		 dry_run;	/* list and compare, change nothing */
	const struct audit_ctx *actx;	/* a record per new event; NULL: none */
	backfill_progress_fn progress;	/* may be NULL */
	void		*arg;
};

struct backfill_res {
	int64_t		 since, until;	/* the range listed */
	uint64_t	 pages;
	uint64_t	 listed;	/* events Stripe returned */
	uint64_t	 added;		/* new: stored (dry run: would be) */
	uint64_t	 present;	/* already in the inbox */
	uint64_t	 refused;	/* not a valid event (logged, skipped) */
	int		 resumed;	/* carried on after a saved position */
	char		 resumed_after[EVENT_ID_MAX + 1];	/* ... this event */
	char		 after[EVENT_ID_MAX + 1];	/* last event handled */
	char		 error[320];	/* why it stopped (no secret, no body) */
};

/*
 * Parses a time: unix seconds, "Nd"/"Nh"/"Nm"/"Ns" before now, or UTC
 * "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS][Z]".  PG_EINVAL otherwise.
 */
enum pg_err	 backfill_parse_time(const char *s, int64_t now,
		    int64_t *out);
/* Checks a "a,b" list: 1..BACKFILL_TYPES_MAX names of [a-z0-9_.*]. */
enum pg_err	 backfill_check_types(const char *types);
/* Appends the query string of one page request to q. */
enum pg_err	 backfill_query(int64_t since, int64_t until,
		    const char *types, const char *after, struct buf *q);
/*
 * Lists the range and feeds the inbox as above; r gets the counts.
 * PG_OK when the whole range was listed; PG_UPSTREAM when Stripe did not
 * answer or refused (r->error says how; the position is kept for the
 * next run); PG_STORE and friends when the store failed.
 */
enum pg_err	 backfill_run(struct store *st, const struct keyring *ring,
		    const struct config *cfg, struct stripe_client *sc,
		    const struct backfill_opts *o, struct backfill_res *r);

#endif /* PG_BACKFILL_H */
