/*
 * payguard - metrics for monitoring systems, in Prometheus's text
 * exposition format (`payguard metrics`, audit.cgi /metrics).
 *
 * Counters and histograms live in the store's volatile environment
 * (NS_AUDIT_X, keys 'K'|family|0|labels -> be64): cumulative since the
 * last boot, never synced, so counting costs no fsync; a reboot empties
 * them, which Prometheus reads as an ordinary counter reset.  Writers add
 * inside a write transaction of that environment they already run (the
 * audit record's: metrics_audit_txn) or in a short one of their own
 * (metrics_count, metrics_observe).  Gauges (inbox backlog, oldest
 * pending age, dead letters, audit chain length) belong to other modules:
 * the renderer is given them (struct metrics_gauges, app_metrics_gauges).
 *
 * Label values come from fixed tables (event types, severities, outcome
 * and status-class names) or from the configuration (rate-limit
 * operations); nothing a client sends becomes a label, and a value
 * outside [A-Za-z0-9_.:-] is replaced by "other".
 */
#ifndef PG_METRICS_H
#define PG_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "aevent.h"
#include "buf.h"
#include "config.h"
#include "err.h"
#include "store.h"

enum metric_ctr {
	MC_IDEMPOTENCY = 0,	/* payguard_idempotency_outcomes_total{outcome} */
	MC_UPSTREAM,		/* payguard_gateway_upstream_responses_total{class} */
	MC_DELIVERY,		/* payguard_webhook_deliveries_total{outcome} */
	MC__MAX
};

enum metric_hist {
	MH_DELIVERY = 0,	/* payguard_webhook_delivery_duration_seconds */
	MH_UPSTREAM,		/* payguard_gateway_upstream_duration_seconds */
	MH__MAX
};

#define METRICS_BUCKETS	14	/* upper bounds, +Inf last */
#define METRICS_LABEL_MAX 64	/* bytes of one label value */
#define METRICS_MAX	(1u << 20)	/* bytes of the exposition */

/* Counts one audit record (type, severity, rate-limit operation or
 * NULL) inside the audit's own volatile write transaction. */
enum pg_err	 metrics_audit_txn(struct store_txn *t, enum aevent type,
		    enum audit_sev sev, const char *op);
/* Adds 1 to counter c with the label value v (its own transaction). */
enum pg_err	 metrics_count(struct store *st, enum metric_ctr c,
		    const char *v);
/*
 * Records one duration of h in seconds and adds 1 to counter c with
 * label value v in the same transaction (c = MC__MAX: no counter).
 */
enum pg_err	 metrics_observe(struct store *st, enum metric_hist h,
		    double seconds, enum metric_ctr c, const char *v);
/* The gauges, read by the caller just before rendering. */
struct metrics_gauges {
	uint64_t	 backlog;		/* inbox events waiting */
	uint64_t	 oldest_pending_ms;	/* received time; 0 none */
	uint64_t	 dead;			/* dead-letter events */
	uint64_t	 chain;			/* last audit seq */
	int		 have_chain;
};

/*
 * Appends the whole exposition to out: every family's HELP and TYPE,
 * counters and histograms since the boot, and the gauges g.  cfg names
 * the rate-limit operations that may appear as labels.
 */
enum pg_err	 metrics_render(struct store *st, const struct config *cfg,
		    const struct metrics_gauges *g, struct buf *out);

#endif /* PG_METRICS_H */
