/*
 * payguard - audit event types: one enum, one table.
 *
 * Every record names its type with an enum constant, so a misspelt type
 * is a compile error rather than a record that silently drops out of the
 * metrics.  The log keeps the names (aevent_name); reading a log back
 * (the index rebuild, the stats over stored counters) maps names to the
 * enum with aevent_parse.  A name the table does not know (an older
 * log) is AEV__MAX: suspicious when failed, feeds no metric.
 */
#ifndef PG_AEVENT_H
#define PG_AEVENT_H

#include "err.h"

enum audit_sev {
	SEV_LOW = 0,
	SEV_MEDIUM,
	SEV_HIGH,
	SEV_CRITICAL,
	SEV__MAX
};

enum aevent {
	AEV_WEBHOOK_VALIDATED = 0,
	AEV_WEBHOOK_INVALID_SIGNATURE,
	AEV_WEBHOOK_INVALID_IP,
	AEV_WEBHOOK_INVALID_PAYLOAD,
	AEV_WEBHOOK_REPLAY_DETECTED,
	AEV_WEBHOOK_RATE_LIMIT_EXCEEDED,
	AEV_WEBHOOK_API_VERSION_MISMATCH,
	AEV_WEBHOOK_DELIVERY_FAILED,
	AEV_API_REQUEST_PROCESSED,
	AEV_API_RATE_LIMIT_EXCEEDED,
	AEV_UPSTREAM_FAILURE,
	AEV_IDEMPOTENCY_CONFLICT,
	AEV_AUTHENTICATION_FAILED,
	AEV_PERMISSION_DENIED,
	AEV_PCI_COMPLIANCE_VIOLATION,
	AEV_DATA_EXPOSURE,
	AEV_SECURITY_VALIDATION_FAILED,
	AEV_ADMIN_ACCESS,
	AEV_ADMIN_ACCESS_DENIED,
	AEV_AUDIT_EVENT_MITIGATED,
	AEV_STORE_FAILURE,
	AEV_CONFIG_ERROR,
	AEV_KEY_ROTATED,
	AEV_EVENT_BACKFILLED,	/* an event recovered from the Events API */
	AEV_EVENTS_BACKFILL,	/* one `payguard events backfill` run */
	AEV_IPS_UPDATED,	/* `payguard ips update` replaced or kept the list */
	AEV_IPS_UPDATE_FAILED,	/* ... failed or refused: old list kept */
	AEV_AUDIT_FLOOD_SUMMARY,	/* records of a flood counted, not kept */
	AEV_STORE_MIGRATED,	/* one `payguard store migrate` run */
	AEV__MAX
};

/* The named metric (lib/astats.h) a type's records feed. */
enum aevent_metric {
	AEM_NONE = 0,
	AEM_SIG_OK,		/* signatures_valid */
	AEM_SIG_BAD,		/* signatures_invalid */
	AEM_INVALID_IP,		/* invalid_ip_attempts */
	AEM_REPLAY,		/* replay_attempts */
	AEM_PAYLOAD,		/* payload_validation_failures */
	AEM_RATE_LIMIT,		/* rate_limit_violations (and by op/identity) */
	AEM_PCI,		/* pci_violations */
	AEM_EXPOSURE,		/* data_exposure */
	AEM_AUTH,		/* auth_failures */
	AEM__MAX
};

/* Returns "LOW", "MEDIUM", "HIGH" or "CRITICAL". */
const char	*aevent_sev_name(enum audit_sev s);
/* Parses "LOW".."CRITICAL" (any case) into *s; PG_EINVAL otherwise. */
enum pg_err	 aevent_sev_parse(const char *name, enum audit_sev *s);

/* Returns the logged name ("webhook_validated"); "unknown" out of range. */
const char	*aevent_name(enum aevent t);
/* Returns the type named name, AEV__MAX when the table has none. */
enum aevent	 aevent_parse(const char *name);
/* Returns the severity a record of type t carries unless told otherwise. */
enum audit_sev	 aevent_sev(enum aevent t);
/* Returns the metric t feeds (AEM_NONE for none or AEV__MAX). */
enum aevent_metric aevent_metric(enum aevent t);
/*
 * Returns 1 if a record of type t with this outcome is a client's
 * suspicious act (the suspicious-IP panel): a replay always, a
 * server-side failure never, any other failure yes.
 */
int		 aevent_suspicious(enum aevent t, int success);
/* Returns 1 if t records a request served (requests per minute). */
int		 aevent_is_request(enum aevent t);

#endif /* PG_AEVENT_H */
