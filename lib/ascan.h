/*
 * payguard - the two walks over the audit log files: rebuilding the
 * index (aindex.h) from them, and verifying their hash chain (arecord.h)
 * against the head kept in the store.
 */
#ifndef PG_ASCAN_H
#define PG_ASCAN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

struct ascan_reindex_res {
	int		 ran;		/* ensure_indexed: a reindex ran */
	uint64_t	 files;		/* log files read */
	uint64_t	 lines;		/* complete lines read */
	uint64_t	 added;		/* records indexed now */
	uint64_t	 expired;	/* older than the retention: left out */
	uint64_t	 skipped;	/* not a chained record (or tampered) */
	uint64_t	 shared_added;	/* of them, new to the shared index */
};

/*
 * Rebuilds the index from the log files at paths (oldest first; a
 * missing file is skipped; none is read through a symlink, and one below
 * state_dir, which may be NULL, is opened as statedir_open_path does): every chained, self-consistent record within
 * the retention that the index lacks is added, mitigation marks
 * (audit_event_mitigated records) are replayed, the head is advanced,
 * and the index is marked complete for this boot.  Safe to run while
 * programs append (a record is never counted twice) and to run again.
 */
enum pg_err	 ascan_reindex(struct store *st, const char *state_dir,
		    const char *const *paths, size_t npaths,
		    struct ascan_reindex_res *res);
/*
 * Reindexes from state_dir's log (and its ".1" rotation) unless this
 * boot's index is marked complete (force: regardless); res->ran tells
 * whether it did.  What readers of the index (audit.cgi, payguard audit)
 * call first.
 */
enum pg_err	 ascan_ensure_indexed(struct store *st,
		    const char *state_dir, int force,
		    struct ascan_reindex_res *res);

enum ascan_vstatus {
	AV_OK = 0,	/* every link holds */
	AV_ALTERED,	/* a record's bytes changed */
	AV_REMOVED,	/* records are missing (sequence gap or tail cut) */
	AV_INSERTED,	/* a record that does not belong to the chain */
	AV_MALFORMED,	/* a line is not a record at all */
	AV__MAX
};

struct ascan_verify {
	enum ascan_vstatus status;
	uint64_t	 records;	/* chained records read */
	uint64_t	 legacy;	/* unchained lines before the chain */
	uint64_t	 line;		/* 1-based line of the first problem */
	uint64_t	 first_seq;	/* seq of the first chained record */
	uint64_t	 last_seq;
	char		 event_id[40];	/* of the record named, if known */
	char		 msg[256];	/* one line for humans */
};

/* Returns "ok", "altered", "removed", "inserted" or "malformed". */
const char	*ascan_vstatus_name(enum ascan_vstatus s);
/*
 * Walks the chain of the log file at path (never through a symlink; below
 * state_dir, which may be NULL, as statedir_open_path opens) and names the first record
 * that was altered, removed or inserted.  With st (may be NULL) the
 * chain head kept in the store is compared with the last record, which
 * catches a cut tail.  PG_OK when the walk completed (the verdict is in
 * res->status), PG_SYSTEM when the file cannot be read.
 */
enum pg_err	 ascan_verify_file(const char *state_dir, const char *path,
		    struct store *st, struct ascan_verify *res);

#endif /* PG_ASCAN_H */
