/*
 * payguard - the audit log writer: what every program calls to record an
 * outcome.
 *
 * Every outcome becomes one JSON line (arecord.h) appended to
 * $PAYGUARD_STATE_DIR/logs/security_audit.log with one write(2), so
 * processes never interleave.  Appends are serialised across processes
 * by flock(2) on the log file, and the previous hash is read from the
 * file's own last line, so the file is always the truth; the index
 * (aindex.h) is derived from it and can be rebuilt from it (ascan.h).
 */
#ifndef PG_AUDIT_H
#define PG_AUDIT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "arecord.h"
#include "err.h"

#define AUDIT_LOG_NAME	"security_audit.log"

struct config;
struct store;

/*
 * The audit log kept open by a long-running process (one per process).
 * Reopened when the path no longer names the open file (rotation).
 */
#define AUDIT_NODE_MAX	64	/* bytes of a node name */

struct audit_log {
	int		 fd;		/* -1: not open */
	dev_t		 dev;
	ino_t		 ino;
	char		 host[AUDIT_NODE_MAX + 1]; /* "": not looked up yet */
};

/* Who and where: filled per request, pointers borrowed. */
struct audit_ctx {
	const char	*state_dir;
	const char	*source_ip;
	const char	*user_agent;
	const char	*request_id;
	const char	*identity;	/* token name, REMOTE_USER or "stripe" */
	struct store	*st;		/* index + chain head; NULL: file only */
	struct audit_log *log;		/* kept open; NULL: opened per record */
	const struct config *cfg;	/* the flood bounds, PAYGUARD_NODE;
					   NULL: defaults, the host name */
};

/*
 * Writes one record.  Takes ownership of rec->details (may be NULL).
 * With ctx->st the record is also indexed (aindex_add) in a write
 * transaction of the store's volatile environment, so auditing adds no
 * fsync.  If the store fails the line is still appended (file only).
 * Returns PG_OK or PG_SYSTEM (logged; the caller carries on).
 */
enum pg_err	 audit_emit(const struct audit_ctx *ctx, struct arecord *rec);

/*
 * Flood bound.  A suspicious record (aevent_suspicious) is kept whole for
 * the first N (PAYGUARD_AUDIT_FLOOD_WHOLE, ctx->cfg) of its (event type,
 * source address, identity, minute), and only while its (event type,
 * minute) has kept fewer than M (PAYGUARD_AUDIT_FLOOD_TYPE_WHOLE) over
 * all addresses and identities, so that a flood spread over many
 * addresses is bounded too.  The rest of that minute are only counted
 * (the per-minute counters behind stats and alerts, and the metrics, see
 * every one) and then reported by audit_flood_summary records with their
 * number, written by audit_flood_flush once the minute is over: one per
 * (type, address, identity) past N, and one per type ("scope": "type",
 * source_ip "*") for the records within N dropped by M.  So a flood costs
 * at most N + 1 records per minute per (type, address, identity), and at
 * most M plus its summaries per type and minute whatever the addresses.
 */
#define AUDIT_FLOOD_WHOLE	100	/* N when ctx->cfg is NULL */
#define AUDIT_FLOOD_TYPE_WHOLE	1000	/* M when ctx->cfg is NULL */
#define AUDIT_FLOOD_KIND	'F'	/* its counters in NS_AUDIT_X */
#define AUDIT_FLOOD_TYPE_KIND	'G'	/* the per-type ones */
#define AUDIT_FLOOD_KEEP_MS	(10u * 60u * 1000u)
#define AUDIT_FLOOD_BATCH	64	/* summaries written per flush */
/* Writes the summary records of the floods of minutes before now_us not
 * yet summarised (at most AUDIT_FLOOD_BATCH).  Cheap when there are none. */
enum pg_err	 audit_flood_flush_at(const struct audit_ctx *ctx,
		    uint64_t now_us);
/* audit_flood_flush_at now. */
enum pg_err	 audit_flood_flush(const struct audit_ctx *ctx);
/*
 * Builds and writes one record from its parts: a mitigation_action (or
 * NULL) marks it mitigated.  Takes details (may be NULL).
 */
enum pg_err	 audit_event(const struct audit_ctx *ctx, enum aevent type,
		    enum audit_sev sev, int success, const char *resource,
		    struct json_object *details, const char *action);

/* Prepares l (not yet open). */
void		 audit_log_init(struct audit_log *l);
/* Closes l.  NULL-safe. */
void		 audit_log_close(struct audit_log *l);
/* Writes state_dir's log path into path (n bytes); -1 when it is too long. */
int		 audit_log_path(const char *state_dir, char *path, size_t n);

#endif /* PG_AUDIT_H */
