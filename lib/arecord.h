/*
 * payguard - one audit record: its JSON line and its hash chain.
 *
 * A record is one JSON line with the fields event_id (a UUID),
 * event_type, timestamp (RFC 3339 UTC with ms), source_ip, user_agent,
 * request_id, severity, details, mitigated, mitigation_action, plus what
 * PCI DSS 10.2.2 asks: identity, outcome, resource; and node (the web
 * server that wrote it; lines before it have none).  Request strings are
 * bounded and stripped of control characters; details are masked.  Never
 * pass a secret, a signature or a request body.
 *
 * Tamper evidence: every line ends with ,"seq":N,"prev":"<hex>",
 * "hash":"<hex>"} where hash is SHA-256 of the line's bytes up to (not
 * including) ,"hash": and prev is the hash of the line before (64 zeros
 * for the first).  This module builds and parses lines; it knows no
 * file and no store (the writer is audit.h, the index aindex.h).
 */
#ifndef PG_ARECORD_H
#define PG_ARECORD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

#include "aevent.h"
#include "buf.h"
#include "err.h"

#define ARECORD_HASH_LEN	32
#define ARECORD_STR_MAX		256	/* bytes kept of a request string */
#define ARECORD_LINE_MAX	(64u << 10)

/* Who and where a record comes from; pointers borrowed. */
struct arecord_who {
	const char	*source_ip;
	const char	*user_agent;
	const char	*request_id;
	const char	*identity;	/* token name, REMOTE_USER or "stripe" */
	const char	*node;		/* the node writing; NULL/"": none */
};

/* What happened. */
struct arecord {
	enum aevent		 type;
	enum audit_sev		 severity;
	int			 success;	/* outcome */
	const char		*resource;	/* e.g. "webhook:evt_123" */
	struct json_object	*details;	/* taken: freed by the builder */
	int			 mitigated;
	const char		*mitigation_action;	/* or NULL */
};

/* What the index keeps of a record; strings already sanitised. */
struct arecord_entry {
	uint64_t	 ts_us;		/* the line's ms, in us */
	uint64_t	 seq;
	enum audit_sev	 sev;
	int		 success;
	enum aevent	 type;		/* AEV__MAX: a name the table lacks */
	const char	*type_name;	/* as logged */
	const char	*ip;
	const char	*identity;
	const char	*op;		/* rate-limit operation, or NULL */
	const char	*node;		/* PAYGUARD_NODE, or NULL/"" */
	const char	*line;		/* the JSON line, no newline */
	size_t		 line_len;
};

/* Sanitised copies of what the index needs, filled by arecord_build. */
struct arecord_fields {
	char	 ip[ARECORD_STR_MAX];
	char	 identity[ARECORD_STR_MAX];
	char	 op[ARECORD_STR_MAX];
	char	 node[ARECORD_STR_MAX];
	int	 has_op;
};

/*
 * Appends the record, a JSON object without its closing brace (the chain
 * fields follow), to b, stamped now; f (may be NULL) gets the indexed
 * fields.  Takes rec->details.  PG_ENOMEM / PG_TOOLARGE on failure.
 */
enum pg_err	 arecord_build(const struct arecord_who *who,
		    struct arecord *rec, const struct timespec *now,
		    struct buf *b, struct arecord_fields *f);
/* SHA-256 of p[0..n) into out (zeros if the digest fails). */
void		 arecord_hash(const void *p, size_t n,
		    unsigned char out[ARECORD_HASH_LEN]);
/*
 * Reads the chain fields of one line (len bytes, no newline): *seq, prev
 * and hash as recorded; *self_ok is 1 when hash matches the line's
 * bytes (self_ok NULL: the hash is not computed, only the layout read).
 * PG_NOTFOUND when the line carries no chain fields.
 */
enum pg_err	 arecord_chain_parse(const char *line, size_t len,
		    uint64_t *seq, unsigned char prev[ARECORD_HASH_LEN],
		    unsigned char hash[ARECORD_HASH_LEN], int *self_ok);

/*
 * The value of key k of object o: a string as it is; any other value as
 * its JSON text when any != 0, else NULL; NULL when absent or null.
 * Valid while o lives.
 */
const char	*arecord_get(struct json_object *o, const char *k, int any);

/* What one log line says, as the rebuild reads it. */
#define ARECORD_LINE_STR	256
struct arecord_line {
	struct arecord_entry en;	/* its strings point into this */
	unsigned char	 hash[ARECORD_HASH_LEN];
	char		 type[ARECORD_LINE_STR], ip[ARECORD_LINE_STR];
	char		 identity[ARECORD_LINE_STR], op[ARECORD_LINE_STR];
	char		 node[ARECORD_LINE_STR];	/* "" in older lines */
	int		 has_op;
	/* AEV_AUDIT_EVENT_MITIGATED: the record it marks, and the note */
	int		 mit;
	uint64_t	 mit_ts, mit_seq;
	char		 note[201];
	char		*line;		/* a NUL-terminated copy */
};

/*
 * Parses one log line (len bytes, no newline): PG_OK when it is a
 * chained record whose hash matches its bytes, with a timestamp, type and
 * severity; PG_EINVAL otherwise.  Free r with arecord_line_free (also
 * after a failure).
 */
enum pg_err	 arecord_parse_line(const char *line, size_t len,
		    struct arecord_line *r);
void		 arecord_line_free(struct arecord_line *r);

#endif /* PG_ARECORD_H */
