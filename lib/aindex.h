/*
 * payguard - the audit index: the records of the log (arecord.h) kept in
 * the store (NS_AUDIT, NS_AUDIT_X) for queries (aquery.h), metrics
 * (astats.h) and retention.
 *
 * The JSON-lines file stays the primary log; everything here is derived
 * from it and lives in the store's volatile environment (never an fsync;
 * emptied by a reboot, then rebuilt by ascan_reindex).  Layout:
 *   NS_AUDIT    be64 ts_us | be64 seq -> value (aindex_val): severity,
 *                   outcome, mitigation, type, address, node, and the
 *                   line packed by apack.h (~150 bytes for ~600: the
 *                   index holds every field the rows, exports and
 *                   filters need, and nothing that points into a file)
 *   NS_AUDIT_X  'H'|be64 hour|kind|value -> "" (markers: the hour holds
 *                   a record of type ('t'), severity ('s'), address
 *                   ('i'), node ('n') = value; a filtered query reads
 *                   only the hours whose markers match)
 *               'M'|be64 minute|sev|type -> be64 count (per-minute counts:
 *                   stats, charts, alerts read these, never the records)
 *               'P'|be64 minute|ip -> be64 count (suspicious events)
 *               'R'|be64 minute|op|0|identity -> be64 count (rate limits)
 *               'Z'name -> bookkeeping: head, retention, reindexed mark
 * Markers cost a few bytes per event where a key per record and filter
 * cost ~100 (three keys of ts|seq at half-full pages): what keeps an
 * event within ~300 bytes (issue 15).
 * So a filtered query costs the hours it reads, stats over N
 * hours in proportion to N * (distinct types/IPs per minute), not to
 * what is stored.  Every key expires after the retention ('Z'
 * "retention_ms", set by aindex_set_retention; default
 * CFG_RETENTION_DAYS) and store_maintain sweeps it; aindex_sweep
 * removes by age at once.  The one durable piece is a checkpoint of the
 * chain head in NS_META, written at most every few seconds.
 */
#ifndef PG_AINDEX_H
#define PG_AINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "arecord.h"
#include "buf.h"
#include "config.h"
#include "err.h"
#include "store.h"

#define AINDEX_STR_MAX		128	/* bytes of a type / IP key */
#define AINDEX_HOURS_MAX	(24 * 90)	/* the online window PCI asks for */
#define AINDEX_ACTION_MAX	200	/* bytes of a mitigation note */
#define AINDEX_MIN_US		60000000ull
#define AINDEX_HOUR_US		3600000000ull
#define AINDEX_DAY_MS		86400000ull

/* Counter kinds in NS_AUDIT_X (see the layout above). */
#define AINDEX_K_MINUTE		'M'
#define AINDEX_K_SUSPECT	'P'
#define AINDEX_K_RATE		'R'
#define AINDEX_K_HOUR		'H'	/* the hourly markers */
/* Marker kinds after 'H'|hour. */
#define AINDEX_M_TYPE		't'
#define AINDEX_M_SEV		's'
#define AINDEX_M_IP		'i'
#define AINDEX_M_NODE		'n'

/* Indexes en inside a write transaction (called by audit_emit). */
enum pg_err	 aindex_add(struct store_txn *t, const struct arecord_entry *en);
/* Only the per-minute counters of en (type/severity, suspicious address,
 * rate-limit operation): a record counted by the metrics and the stats
 * but not kept (the audit flood bound, audit.h). */
enum pg_err	 aindex_tally(struct store_txn *t, const struct arecord_entry *en);
/*
 * The chain head (last seq and hash) kept beside the index, in the
 * volatile environment; head_put never moves it backwards.
 */
enum pg_err	 aindex_head_get(struct store_txn *t, uint64_t *seq,
		    unsigned char hash[ARECORD_HASH_LEN]);
enum pg_err	 aindex_head_put(struct store_txn *t, uint64_t seq,
		    const unsigned char hash[ARECORD_HASH_LEN]);
/*
 * Copies the head into the durable checkpoint (NS_META) when it moved
 * on and the checkpoint is at least min_gap_ms old: one synced commit
 * every few seconds at most, whatever the request rate.
 */
enum pg_err	 aindex_checkpoint(struct store *st, uint64_t min_gap_ms);
/* The durable checkpoint; PG_NOTFOUND when none was written. */
enum pg_err	 aindex_head_durable(struct store *st, uint64_t *seq,
		    unsigned char hash[ARECORD_HASH_LEN]);
/*
 * After a reboot emptied the volatile environment: seeds the head from
 * the durable checkpoint, so that a freshly rotated (empty) log file
 * still continues the chain.  Cheap when there is nothing to do.
 */
enum pg_err	 aindex_prime(struct store *st);

/* Marks the record mitigated in the index with action (bounded). */
enum pg_err	 aindex_mitigate(struct store *st, uint64_t ts_us,
		    uint64_t seq, const char *action);
/* The same inside a write transaction; PG_NOTFOUND when absent. */
enum pg_err	 aindex_mitigate_txn(struct store_txn *t, uint64_t ts_us,
		    uint64_t seq, const char *action);

/* Stores the retention (days; 0: the default) used for new keys. */
enum pg_err	 aindex_set_retention(struct store *st, uint32_t days);
/* The retention in force, in ms, into *ms. */
enum pg_err	 aindex_retention(struct store *st, uint64_t *ms);
/*
 * Deletes index records and counters older than cutoff_us, at most
 * budget records per transaction until done; *n gets the count.
 */
enum pg_err	 aindex_sweep(struct store *st, uint64_t cutoff_us,
		    size_t budget, size_t *n);
/* Number of records in the index (O(1)). */
size_t		 aindex_count(struct store *st);
/* Marks this boot's index as holding the whole log (in a write txn). */
enum pg_err	 aindex_complete_put(struct store_txn *t);
/* Sets *done to 1 when the mark is there. */
enum pg_err	 aindex_complete_get(struct store *st, int *done);

/* One NS_AUDIT value, unpacked; pointers into the stored bytes (type
 * may point into the event table). */
struct aindex_val {
	int		 sev, success, mitigated;
	int		 packed;	/* line is apack'ed, else raw */
	const char	*type, *ip, *node, *action;
	const void	*line;
	size_t		 tlen, iplen, nlen, llen, alen;
};

/*
 * The shared index (PAYGUARD_STORE=redis; layout in aindex.c): adds en
 * to Redis unless its (node, seq) is there; *added (may be NULL) is 1
 * when it was added now.  PG_OK without Redis.
 */
enum pg_err	 aindex_shared_add(struct store *st,
		    const struct arecord_entry *en, int *added);
/* Only the counters of en in the shared index (a record past the
 * flood bound: counted, not kept).  PG_OK without Redis. */
enum pg_err	 aindex_shared_tally(struct store *st,
		    const struct arecord_entry *en);
/* The key of hour's counter hash in Redis (fields: the LMDB counter
 * keys, values: counts) into k (>= 64 bytes); returns its length. */
size_t		 aindex_shared_counters(unsigned char *k, uint64_t hour);
/* Marks (ts_us, seq) mitigated in the shared index (whatever its
 * node); PG_NOTFOUND when absent, PG_OK without Redis. */
enum pg_err	 aindex_shared_mitigate(struct store *st, uint64_t ts_us,
		    uint64_t seq, const char *action);
/* Redis key prefix of the shared index, and its keys: prefix kind p. */
#define AINDEX_RKEY	"pg:{audit}:"
size_t		 aindex_shared_key(unsigned char *k, const char *kind,
		    const void *p, size_t n);
/* The sorted-set member be64 ts | be64 seq | node into m (>= 16 +
 * AINDEX_STR_MAX bytes); returns its length. */
size_t		 aindex_shared_member(unsigned char *m, uint64_t ts_us,
		    uint64_t seq, const char *node, size_t nlen);

/* Unpacks a stored value; -1 when it is not one. */
int		 aindex_val_unpack(const void *p, size_t n, struct aindex_val *v);
/* Appends the record's line, as logged, to b (ts_us, seq: its key). */
enum pg_err	 aindex_val_line(const struct aindex_val *v, uint64_t ts_us,
		    uint64_t seq, struct buf *b);
/*
 * Writes the marker key 'H'|be64 hour|kind|val into k (at least
 * AINDEX_STR_MAX + 10 bytes; val cut to AINDEX_STR_MAX); returns its
 * length.
 */
size_t		 aindex_hkey(unsigned char *k, uint64_t hour, char kind,
		    const char *val, size_t vlen);
/* The severity as the one-character key part ("0".."3"). */
void		 aindex_sev_key(int sev, char s[2]);

#endif /* PG_AINDEX_H */
