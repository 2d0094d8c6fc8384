/*
 * payguard - security audit records.
 *
 * Every outcome becomes one JSON line appended to
 * $PAYGUARD_STATE_DIR/logs/security_audit.log with one write(2), so
 * processes never interleave.  Fields: the seed's (event_id as a UUID,
 * event_type, timestamp RFC 3339 UTC with ms, source_ip, user_agent,
 * request_id, severity, details, mitigated, mitigation_action) plus what
 * PCI DSS 10.2.2 asks: identity, outcome, resource.  Request strings are
 * bounded and stripped of control characters; details are masked.  Never
 * pass a secret, a signature or a request body.
 *
 * Tamper evidence: every line ends with ,"seq":N,"prev":"<hex>",
 * "hash":"<hex>"} where hash is SHA-256 of the line's bytes up to (not
 * including) ,"hash": and prev is the hash of the line before (64 zeros
 * for the first).  Appends are serialised across processes by flock(2)
 * on the log file, and the previous hash is read from the file's own
 * last line, so the file is always the truth; the index (auditdb.h) is
 * derived from it and can be rebuilt from it.
 */
#ifndef PG_AUDIT_H
#define PG_AUDIT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "err.h"

struct store;

enum audit_sev {
	SEV_LOW = 0,
	SEV_MEDIUM,
	SEV_HIGH,
	SEV_CRITICAL,
	SEV__MAX
};

/* Who and where: filled per request, pointers borrowed. */
/*
 * The audit log kept open by a long-running process (one per process).
 * Reopened when the path no longer names the open file (rotation).
 */
struct audit_log {
	int		 fd;		/* -1: not open */
	dev_t		 dev;
	ino_t		 ino;
};

struct audit_ctx {
	const char	*state_dir;
	const char	*source_ip;
	const char	*user_agent;
	const char	*request_id;
	const char	*identity;	/* token name, REMOTE_USER or "stripe" */
	struct store	*st;		/* index + chain head; NULL: file only */
	struct audit_log *log;		/* kept open; NULL: opened per record */
};

struct audit_rec {
	const char		*event_type;	/* webhook_validated, ... */
	enum audit_sev		 severity;
	int			 success;	/* outcome */
	const char		*resource;	/* e.g. "webhook:evt_123" */
	struct json_object	*details;	/* taken: freed by audit_emit */
	int			 mitigated;
	const char		*mitigation_action;	/* or NULL */
};

/* Returns "LOW", "MEDIUM", "HIGH" or "CRITICAL". */
const char	*audit_sev_name(enum audit_sev s);
/* Parses "LOW".."CRITICAL" (any case) into *s; PG_EINVAL otherwise. */
enum pg_err	 audit_sev_parse(const char *name, enum audit_sev *s);
/*
 * Writes one record.  Takes ownership of rec->details (may be NULL).
 * With ctx->st the record is also indexed (auditdb_add) in a write
 * transaction of the store's volatile environment, so auditing adds no
 * fsync.  If the store fails the line is still appended (file only).  Returns PG_OK or PG_SYSTEM (logged;
 * the caller carries on).
 */
enum pg_err	 audit_emit(const struct audit_ctx *ctx, struct audit_rec *rec);

/*
 * Builds and writes one record from its parts: a mitigation_action (or
 * NULL) marks it mitigated.  Takes details (may be NULL).
 */
enum pg_err	 audit_event(const struct audit_ctx *ctx, const char *type,
		    enum audit_sev sev, int success, const char *resource,
		    struct json_object *details, const char *action);

/* Prepares l (not yet open). */
void		 audit_log_init(struct audit_log *l);
/* Closes l.  NULL-safe. */
void		 audit_log_close(struct audit_log *l);
/* Formats rec as the JSON line (newline included) into *line (malloc'd). */
enum pg_err	 audit_format(const struct audit_ctx *ctx,
		    struct audit_rec *rec, char **line, size_t *len);

#define AUDIT_HASH_LEN	32
#define AUDIT_LOG_NAME	"security_audit.log"

/* Writes state_dir's log path into path (n bytes); -1 when it is too long. */
int		 audit_log_path(const char *state_dir, char *path, size_t n);

/*
 * Reads the chain fields of one line (len bytes, no newline): *seq, prev
 * and hash as recorded; *self_ok is 1 when hash matches the line's
 * bytes.  PG_NOTFOUND when the line carries no chain fields.
 */
enum pg_err	 audit_chain_parse(const char *line, size_t len, uint64_t *seq,
		    unsigned char prev[AUDIT_HASH_LEN],
		    unsigned char hash[AUDIT_HASH_LEN], int *self_ok);

enum audit_vstatus {
	AV_OK = 0,	/* every link holds */
	AV_ALTERED,	/* a record's bytes changed */
	AV_REMOVED,	/* records are missing (sequence gap or tail cut) */
	AV_INSERTED,	/* a record that does not belong to the chain */
	AV_MALFORMED,	/* a line is not a record at all */
	AV__MAX
};

struct audit_verify {
	enum audit_vstatus status;
	uint64_t	 records;	/* chained records read */
	uint64_t	 legacy;	/* unchained lines before the chain */
	uint64_t	 line;		/* 1-based line of the first problem */
	uint64_t	 first_seq;	/* seq of the first chained record */
	uint64_t	 last_seq;
	char		 event_id[40];	/* of the record named, if known */
	char		 msg[256];	/* one line for humans */
};

/* Returns "ok", "altered", "removed", "inserted" or "malformed". */
const char	*audit_vstatus_name(enum audit_vstatus s);
/*
 * Walks the chain of the log file at path and names the first record
 * that was altered, removed or inserted.  With st (may be NULL) the
 * chain head kept in the store is compared with the last record, which
 * catches a cut tail.  PG_OK when the walk completed (the verdict is in
 * res->status), PG_SYSTEM when the file cannot be read.
 */
enum pg_err	 audit_verify_file(const char *path, struct store *st,
		    struct audit_verify *res);

#endif /* PG_AUDIT_H */
