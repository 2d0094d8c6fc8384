/*
 * payguard - audit metrics over a window of hours, from the index's
 * per-minute counters (aindex.h), so they cost the same with ten or ten
 * million stored records.  Which event type feeds which metric is the
 * event table's (aevent.h).
 */
#ifndef PG_ASTATS_H
#define PG_ASTATS_H

#include <stddef.h>
#include <stdint.h>

#include "aindex.h"
#include "err.h"
#include "store.h"

#define ASTATS_TOP	10
#define ASTATS_TYPES	64
#define ASTATS_NAME	96

struct astats_count {
	char		 name[ASTATS_NAME];
	uint64_t	 n;
};

/* The metrics over [since, until). */
struct astats {
	uint64_t	 since_us, until_us;
	uint64_t	 total;
	uint64_t	 by_sev[SEV__MAX];
	struct astats_count types[ASTATS_TYPES];	/* by count, descending */
	size_t		 ntypes;
	uint64_t	 sig_ok, sig_bad;	/* validated / invalid signature */
	double		 sig_rate;		/* percent; < 0 when no data */
	uint64_t	 invalid_ip, replay, payload_bad, rate_limited;
	uint64_t	 pci_violations, data_exposure, auth_failures;
	struct astats_count rl_ops[ASTATS_TOP];	/* rate-limit violations by op */
	size_t		 nrl_ops;
	struct astats_count rl_ids[ASTATS_TOP];	/* ... by identity */
	size_t		 nrl_ids;
	struct astats_count top_ips[ASTATS_TOP];	/* most active suspicious IPs */
	size_t		 ntop_ips;
	uint64_t	 requests;		/* records of requests served */
	double		 req_avg_min;
	uint64_t	 req_peak_min;
	/* Events per hour by severity, oldest first (hours = nhours). */
	uint64_t	 hourly[AINDEX_HOURS_MAX][SEV__MAX];
	size_t		 nhours;
	/* Inbox: events waiting for delivery and the oldest one's age, as
	 * the caller passed them in (the audit subsystem has no inbox). */
	uint64_t	 backlog;
	uint64_t	 oldest_pending_ms;	/* received time; 0 none */
};

/*
 * Computes the metrics for the hours before until_us (0: now) from the
 * per-minute counters into s, and copies backlog and oldest_pending_ms
 * (inbox_backlog) into it.  s is large (about 70 KiB): allocate it, do
 * not put it on a small stack.  PG_EINVAL for hours outside
 * 1..AINDEX_HOURS_MAX.
 */
enum pg_err	 astats_compute(struct store *st, uint64_t until_us,
		    unsigned int hours, uint64_t backlog,
		    uint64_t oldest_pending_ms, struct astats *s);

#endif /* PG_ASTATS_H */
