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
 */
#ifndef PG_AUDIT_H
#define PG_AUDIT_H

#include <stddef.h>

#include <json-c/json.h>

#include "err.h"

enum audit_sev {
	SEV_LOW = 0,
	SEV_MEDIUM,
	SEV_HIGH,
	SEV_CRITICAL,
	SEV__MAX
};

/* Who and where: filled per request, pointers borrowed. */
struct audit_ctx {
	const char	*state_dir;
	const char	*source_ip;
	const char	*user_agent;
	const char	*request_id;
	const char	*identity;	/* token name, REMOTE_USER or "stripe" */
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
/*
 * Writes one record.  Takes ownership of rec->details (may be NULL).
 * Returns PG_OK or PG_SYSTEM (logged; the caller carries on).
 */
enum pg_err	 audit_emit(const struct audit_ctx *ctx, struct audit_rec *rec);
/* Formats rec as the JSON line (newline included) into *line (malloc'd). */
enum pg_err	 audit_format(const struct audit_ctx *ctx,
		    struct audit_rec *rec, char **line, size_t *len);

#endif /* PG_AUDIT_H */
