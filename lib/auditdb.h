/*
 * payguard - the audit index: queries, metrics and retention over the
 * records of lib/audit.c, in the store (NS_AUDIT, NS_AUDIT_X).
 *
 * The JSON-lines file stays the primary log; everything here is derived
 * from it and lives in the store's volatile environment (never an fsync;
 * emptied by a reboot, then rebuilt by auditdb_reindex).  Layout:
 *   NS_AUDIT    be64 ts_us | be64 seq -> hdr | the record's line
 *   NS_AUDIT_X  't'|type|0|be64 ts|be64 seq, 's'|sev|0|..., 'i'|ip|0|...
 *                   -> "" (secondary indexes, for filtered queries)
 *               'M'|be64 minute|sev|type -> be64 count (per-minute counts:
 *                   stats, charts, alerts read these, never the records)
 *               'P'|be64 minute|ip -> be64 count (suspicious events)
 *               'R'|be64 minute|op|0|identity -> be64 count (rate limits)
 *               'Z'name -> bookkeeping: head, retention, reindexed mark
 * So a query costs in proportion to what it returns, and stats over N
 * hours in proportion to N * (distinct types/IPs per minute), not to
 * what is stored.  Every key expires after the retention ('Z'
 * "retention_ms", set by auditdb_set_retention; default 30 days)
 * and store_maintain sweeps it; auditdb_sweep removes by age at once.
 */
#ifndef PG_AUDITDB_H
#define PG_AUDITDB_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "audit.h"
#include "buf.h"
#include "err.h"
#include "store.h"

#define AQ_STR_MAX	128	/* bytes of a type / IP filter */
#define AQ_LIMIT_MAX	10000	/* rows one query may return */
#define AQ_HOURS_MAX	(24 * 90)	/* the online window PCI asks for */

/* What audit_emit indexes; strings already sanitised. */
struct audit_entry {
	uint64_t	 ts_us;
	uint64_t	 seq;
	enum audit_sev	 sev;
	int		 success;
	const char	*type;
	const char	*ip;
	const char	*identity;
	const char	*op;		/* rate-limit operation, or NULL */
	const char	*line;		/* the JSON line, no newline */
	size_t		 line_len;
};

/* Indexes en inside a write transaction (called by audit_emit). */
enum pg_err	 auditdb_add(struct store_txn *t, const struct audit_entry *en);
/*
 * The chain head (last seq and hash) kept beside the index, in the
 * volatile environment; head_put never moves it backwards.
 */
enum pg_err	 auditdb_head_get(struct store_txn *t, uint64_t *seq,
		    unsigned char hash[AUDIT_HASH_LEN]);
enum pg_err	 auditdb_head_put(struct store_txn *t, uint64_t seq,
		    const unsigned char hash[AUDIT_HASH_LEN]);
/*
 * Copies the head into the durable checkpoint (NS_META) when it moved
 * on and the checkpoint is at least min_gap_ms old: one synced commit
 * every few seconds at most, whatever the request rate.
 */
enum pg_err	 auditdb_checkpoint(struct store *st, uint64_t min_gap_ms);
/* The durable checkpoint; PG_NOTFOUND when none was written. */
enum pg_err	 auditdb_head_durable(struct store *st, uint64_t *seq,
		    unsigned char hash[AUDIT_HASH_LEN]);
/*
 * After a reboot emptied the volatile environment: seeds the head from
 * the durable checkpoint, so that a freshly rotated (empty) log file
 * still continues the chain.  Cheap when there is nothing to do.
 */
enum pg_err	 auditdb_prime(struct store *st);

/* What one log line says, as the rebuild reads it. */
#define AUDITDB_LINE_STR	256
struct auditdb_line {
	struct audit_entry en;		/* its strings point into this */
	unsigned char	 hash[AUDIT_HASH_LEN];
	char		 type[AUDITDB_LINE_STR], ip[AUDITDB_LINE_STR];
	char		 identity[AUDITDB_LINE_STR], op[AUDITDB_LINE_STR];
	int		 has_op;
	/* audit_event_mitigated: the record it marks, and the note */
	int		 mit;
	uint64_t	 mit_ts, mit_seq;
	char		 note[201];
	char		*line;		/* a NUL-terminated copy */
};

/*
 * Parses one log line (len bytes, no newline): PG_OK when it is a
 * chained record whose hash matches its bytes, with a timestamp, type and
 * severity; PG_EINVAL otherwise.  Free r with auditdb_line_free (also
 * after a failure).
 */
enum pg_err	 auditdb_parse_line(const char *line, size_t len,
		    struct auditdb_line *r);
void		 auditdb_line_free(struct auditdb_line *r);

struct auditdb_reindex_res {
	int		 ran;		/* ensure_indexed: a reindex ran */
	uint64_t	 files;		/* log files read */
	uint64_t	 lines;		/* complete lines read */
	uint64_t	 added;		/* records indexed now */
	uint64_t	 expired;	/* older than the retention: left out */
	uint64_t	 skipped;	/* not a chained record (or tampered) */
};

/*
 * Rebuilds the index from the log files at paths (oldest first; a
 * missing file is skipped): every chained, self-consistent record within
 * the retention that the index lacks is added, mitigation marks
 * (audit_event_mitigated records) are replayed, the head is advanced,
 * and the index is marked complete for this boot.  Safe to run while
 * programs append (a record is never counted twice) and to run again.
 */
enum pg_err	 auditdb_reindex(struct store *st, const char *const *paths,
		    size_t npaths, struct auditdb_reindex_res *res);
/*
 * Reindexes from state_dir's log (and its ".1" rotation) unless this
 * boot's index is marked complete (force: regardless); res->ran tells
 * whether it did.  What readers of the index (audit.cgi, payguard audit)
 * call first.
 */
enum pg_err	 auditdb_ensure_indexed(struct store *st,
		    const char *state_dir, int force,
		    struct auditdb_reindex_res *res);

/* A filter; zero it, then set what is wanted. */
struct aq_filter {
	uint64_t	 since_us;	/* inclusive; 0: the beginning */
	uint64_t	 until_us;	/* exclusive; 0: now + 1 s */
	int		 sev;		/* -1 (or any < 0): any; else exact */
	char		 type[AQ_STR_MAX];	/* "" any */
	char		 ip[AQ_STR_MAX];	/* "" any */
	uint64_t	 before_ts;	/* paging cursor: rows strictly older */
	uint64_t	 before_seq;	/*   than (ts, seq); 0/0: none */
	size_t		 limit;		/* 0: AQ_LIMIT_MAX */
};

/* One row; pointers valid during the callback only. */
struct aq_row {
	uint64_t	 ts_us;
	uint64_t	 seq;
	enum audit_sev	 sev;
	int		 success;
	int		 mitigated;	/* flag set by auditdb_mitigate */
	const char	*mitigation;	/* its action text ("" none) */
	const char	*line;		/* the record as logged */
	size_t		 line_len;
};

/* Row callback: 0 to go on, 1 to stop. */
typedef int (*aq_fn)(const struct aq_row *row, void *arg);

/* Initialises f to "everything, newest first". */
void		 aq_filter_init(struct aq_filter *f);
/*
 * Parses a query string (hours, severity, type, ip, before=TS-SEQ;
 * others ignored) into f, relative to now_us.  Bounded, no allocation.
 * PG_EINVAL on a malformed value (f is then unusable).
 */
enum pg_err	 aq_parse_query(const char *qs, uint64_t now_us,
		    struct aq_filter *f, unsigned int *hours);
/* Decodes %XX and '+' of one query-string value into out. */
enum pg_err	 aq_urldecode(const char *s, size_t n, char *out, size_t outsz);

/*
 * Visits the matching records newest first, at most f->limit.  Uses the
 * most selective secondary index among ip, type, severity.  *more (may
 * be NULL) is set to 1 when rows remain after the limit.
 */
enum pg_err	 auditdb_query(struct store *st, const struct aq_filter *f,
		    aq_fn fn, void *arg, int *more);
/* Visits the one record (ts_us, seq); PG_NOTFOUND when absent. */
enum pg_err	 auditdb_get(struct store *st, uint64_t ts_us, uint64_t seq,
		    aq_fn fn, void *arg);
/* Marks the record mitigated in the index with action (bounded). */
enum pg_err	 auditdb_mitigate(struct store *st, uint64_t ts_us,
		    uint64_t seq, const char *action);

#define AS_TOP		10
#define AS_TYPES	64
#define AS_NAME		96

struct as_count {
	char		 name[AS_NAME];
	uint64_t	 n;
};

/* The seed's metrics over [since, until). */
struct audit_stats {
	uint64_t	 since_us, until_us;
	uint64_t	 total;
	uint64_t	 by_sev[SEV__MAX];
	struct as_count	 types[AS_TYPES];	/* by count, descending */
	size_t		 ntypes;
	uint64_t	 sig_ok, sig_bad;	/* validated / invalid signature */
	double		 sig_rate;		/* percent; < 0 when no data */
	uint64_t	 invalid_ip, replay, payload_bad, rate_limited;
	uint64_t	 pci_violations, data_exposure, auth_failures;
	struct as_count	 rl_ops[AS_TOP];	/* rate-limit violations by op */
	size_t		 nrl_ops;
	struct as_count	 rl_ids[AS_TOP];	/* ... by identity */
	size_t		 nrl_ids;
	struct as_count	 top_ips[AS_TOP];	/* most active suspicious IPs */
	size_t		 ntop_ips;
	uint64_t	 requests;		/* webhook_*, api_* records */
	double		 req_avg_min;
	uint64_t	 req_peak_min;
	/* Events per hour by severity, oldest first (hours = nhours). */
	uint64_t	 hourly[AQ_HOURS_MAX][SEV__MAX];
	size_t		 nhours;
	/* Inbox: events waiting for delivery and the oldest one's age. */
	uint64_t	 backlog;
	uint64_t	 oldest_pending_ms;	/* received time; 0 none */
};

/*
 * Computes the metrics for the hours before until_us (0: now) from the
 * per-minute counters, plus the inbox backlog.  s is large (about
 * 70 KiB): allocate it, do not put it on a small stack.
 */
enum pg_err	 auditdb_stats(struct store *st, uint64_t until_us,
		    unsigned int hours, struct audit_stats *s);
/* Returns 1 if type counts as a client's suspicious act when failed. */
int		 auditdb_suspicious(const char *type, int success);

/* Stores the retention (days) used for new index keys. */
enum pg_err	 auditdb_set_retention(struct store *st, uint32_t days);
/*
 * Deletes index records and counters older than cutoff_us, at most
 * budget records per transaction until done; *n gets the count.
 */
enum pg_err	 auditdb_sweep(struct store *st, uint64_t cutoff_us,
		    size_t budget, size_t *n);
/* Number of records in the index (O(1)). */
size_t		 auditdb_count(struct store *st);

/*
 * The row as a JSON object: the logged record with the index's
 * mitigation flag laid over it, plus "key":"TS-SEQ" (caller frees).
 * NULL when the line does not parse.
 */
struct json_object *auditdb_row_json(const struct aq_row *row);
/* Appends the CSV header line / one row (every field quoted; a cell
 * starting with = + - @ TAB CR gets a leading ' against formula
 * injection). */
enum pg_err	 auditdb_csv_header(struct buf *b);
enum pg_err	 auditdb_csv_row(struct buf *b, const struct aq_row *row);
/* The metrics as JSON (caller frees). */
struct json_object *auditdb_stats_json(const struct audit_stats *s);

#endif /* PG_AUDITDB_H */
