/*
 * payguard - queries over the audit index (aindex.h): a filter, parsed
 * from a query string or set by hand, and the rows that match it, newest
 * first, at a cost in proportion to what they return.
 */
#ifndef PG_AQUERY_H
#define PG_AQUERY_H

#include <stddef.h>
#include <stdint.h>

#include "aindex.h"
#include "err.h"
#include "store.h"

#define AQUERY_LIMIT_MAX	10000	/* rows one query may return */
#define AQUERY_HOURS_DEFAULT	24	/* window when none is asked for */

/* A filter; aquery_filter_init it, then set what is wanted. */
struct aquery_filter {
	uint64_t	 since_us;	/* inclusive; 0: the beginning */
	uint64_t	 until_us;	/* exclusive; 0: now + 1 s */
	int		 sev;		/* -1 (or any < 0): any; else exact */
	char		 type[AINDEX_STR_MAX];	/* "" any */
	char		 ip[AINDEX_STR_MAX];	/* "" any */
	char		 node[AINDEX_STR_MAX];	/* "" any */
	uint64_t	 before_ts;	/* paging cursor: rows strictly older */
	uint64_t	 before_seq;	/*   than (ts, seq); 0/0: none */
	size_t		 limit;		/* 0: AQUERY_LIMIT_MAX */
};

/* One row; pointers valid during the callback only. */
struct aquery_row {
	uint64_t	 ts_us;
	uint64_t	 seq;
	enum audit_sev	 sev;
	int		 success;
	int		 mitigated;	/* flag set by aindex_mitigate */
	const char	*mitigation;	/* its action text ("" none) */
	const char	*node;		/* the node that logged it ("" unknown) */
	const char	*line;		/* the record as logged */
	size_t		 line_len;
};

/* Row callback: 0 to go on, 1 to stop. */
typedef int (*aquery_fn)(const struct aquery_row *row, void *arg);

/* Initialises f to "everything, newest first". */
void		 aquery_filter_init(struct aquery_filter *f);
/*
 * Parses a query string (hours, severity, type, ip, node, before=TS-SEQ;
 * others ignored) into f, relative to now_us.  Bounded, no allocation.
 * PG_EINVAL on a malformed value (f is then unusable).
 */
enum pg_err	 aquery_parse(const char *qs, uint64_t now_us,
		    struct aquery_filter *f, unsigned int *hours);
/*
 * Applies one decoded parameter (name k, klen bytes; val may be cut at
 * a '-') to f: hours (into *hours), severity, type, ip, node, before=TS-SEQ;
 * others are ignored.  PG_EINVAL when the value is not valid for it.
 */
enum pg_err	 aquery_apply(struct aquery_filter *f, const char *k,
		    size_t klen, char *val, unsigned int *hours);
/* Sets f's window to the hours before now_us. */
void		 aquery_window(struct aquery_filter *f, uint64_t now_us,
		    unsigned int hours);
/*
 * Visits the matching records newest first, at most f->limit.  With a
 * filter, reads only the hours whose markers (aindex.h) match all of it.  *more (may
 * be NULL) is set to 1 when rows remain after the limit.
 */
enum pg_err	 aquery_run(struct store *st, const struct aquery_filter *f,
		    aquery_fn fn, void *arg, int *more);
/* Visits the one record (ts_us, seq); PG_NOTFOUND when absent. */
enum pg_err	 aquery_get(struct store *st, uint64_t ts_us, uint64_t seq,
		    aquery_fn fn, void *arg);

#endif /* PG_AQUERY_H */
