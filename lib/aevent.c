/*
 * payguard - audit event types (see aevent.h): the one table.
 */
#include <string.h>
#include <strings.h>

#include "aevent.h"

/* When a failed record of the type counts as suspicious. */
enum susp {
	SUSP_FAILED = 0,	/* a client's failed attempt */
	SUSP_ALWAYS,		/* even when it "succeeded" (a replay) */
	SUSP_NEVER,		/* the server's own failure */
};

struct aevent_def {
	const char		*name;
	enum audit_sev		 sev;
	enum susp		 susp;
	enum aevent_metric	 metric;
	int			 request;	/* a request served */
};

static const struct aevent_def defs[AEV__MAX] = {
	{ "webhook_validated", SEV_LOW, SUSP_FAILED, AEM_SIG_OK, 1 },		/* AEV_WEBHOOK_VALIDATED */
	{ "webhook_invalid_signature", SEV_HIGH, SUSP_FAILED, AEM_SIG_BAD, 1 },	/* AEV_WEBHOOK_INVALID_SIGNATURE */
	{ "webhook_invalid_ip", SEV_HIGH, SUSP_FAILED, AEM_INVALID_IP, 1 },	/* AEV_WEBHOOK_INVALID_IP */
	{ "webhook_invalid_payload", SEV_MEDIUM, SUSP_FAILED, AEM_PAYLOAD, 1 },	/* AEV_WEBHOOK_INVALID_PAYLOAD */
	{ "webhook_replay_detected", SEV_MEDIUM, SUSP_ALWAYS, AEM_REPLAY, 1 },	/* AEV_WEBHOOK_REPLAY_DETECTED */
	{ "webhook_rate_limit_exceeded", SEV_MEDIUM, SUSP_FAILED, AEM_RATE_LIMIT, 1 },	/* AEV_WEBHOOK_RATE_LIMIT_EXCEEDED */
	{ "webhook_api_version_mismatch", SEV_LOW, SUSP_FAILED, AEM_NONE, 1 },	/* AEV_WEBHOOK_API_VERSION_MISMATCH */
	{ "webhook_delivery_failed", SEV_MEDIUM, SUSP_NEVER, AEM_NONE, 1 },	/* AEV_WEBHOOK_DELIVERY_FAILED */
	{ "api_request_processed", SEV_LOW, SUSP_FAILED, AEM_NONE, 1 },		/* AEV_API_REQUEST_PROCESSED */
	{ "api_rate_limit_exceeded", SEV_MEDIUM, SUSP_FAILED, AEM_RATE_LIMIT, 1 },	/* AEV_API_RATE_LIMIT_EXCEEDED */
	{ "upstream_failure", SEV_HIGH, SUSP_FAILED, AEM_NONE, 0 },		/* AEV_UPSTREAM_FAILURE */
	{ "idempotency_conflict", SEV_MEDIUM, SUSP_FAILED, AEM_NONE, 0 },	/* AEV_IDEMPOTENCY_CONFLICT */
	{ "authentication_failed", SEV_HIGH, SUSP_FAILED, AEM_AUTH, 0 },	/* AEV_AUTHENTICATION_FAILED */
	{ "permission_denied", SEV_HIGH, SUSP_FAILED, AEM_AUTH, 0 },		/* AEV_PERMISSION_DENIED */
	{ "pci_compliance_violation", SEV_HIGH, SUSP_FAILED, AEM_PCI, 0 },	/* AEV_PCI_COMPLIANCE_VIOLATION */
	{ "data_exposure", SEV_HIGH, SUSP_FAILED, AEM_EXPOSURE, 0 },		/* AEV_DATA_EXPOSURE */
	{ "security_validation_failed", SEV_LOW, SUSP_FAILED, AEM_NONE, 1 },	/* AEV_SECURITY_VALIDATION_FAILED */
	{ "admin_access", SEV_LOW, SUSP_FAILED, AEM_NONE, 0 },			/* AEV_ADMIN_ACCESS */
	{ "admin_access_denied", SEV_HIGH, SUSP_FAILED, AEM_AUTH, 0 },		/* AEV_ADMIN_ACCESS_DENIED */
	{ "audit_event_mitigated", SEV_LOW, SUSP_FAILED, AEM_NONE, 0 },		/* AEV_AUDIT_EVENT_MITIGATED */
	{ "store_failure", SEV_HIGH, SUSP_NEVER, AEM_NONE, 0 },			/* AEV_STORE_FAILURE */
	{ "config_error", SEV_HIGH, SUSP_NEVER, AEM_NONE, 0 },			/* AEV_CONFIG_ERROR */
	{ "key_rotated", SEV_LOW, SUSP_NEVER, AEM_NONE, 0 },			/* AEV_KEY_ROTATED */
	{ "event_backfilled", SEV_LOW, SUSP_NEVER, AEM_NONE, 0 },		/* AEV_EVENT_BACKFILLED */
	{ "events_backfill", SEV_LOW, SUSP_NEVER, AEM_NONE, 0 },		/* AEV_EVENTS_BACKFILL */
	{ "ips_updated", SEV_LOW, SUSP_NEVER, AEM_NONE, 0 },			/* AEV_IPS_UPDATED */
	{ "ips_update_failed", SEV_MEDIUM, SUSP_NEVER, AEM_NONE, 0 },		/* AEV_IPS_UPDATE_FAILED */
	{ "audit_flood_summary", SEV_MEDIUM, SUSP_NEVER, AEM_NONE, 0 },	/* AEV_AUDIT_FLOOD_SUMMARY */
	{ "store_migrated", SEV_LOW, SUSP_NEVER, AEM_NONE, 0 },		/* AEV_STORE_MIGRATED */
};

static const char *const sev_names[SEV__MAX] = {
	"LOW",		/* SEV_LOW */
	"MEDIUM",	/* SEV_MEDIUM */
	"HIGH",		/* SEV_HIGH */
	"CRITICAL",	/* SEV_CRITICAL */
};

const char *
aevent_sev_name(enum audit_sev s)
{
	return (unsigned)s < SEV__MAX ? sev_names[s] : "LOW";
}

enum pg_err
aevent_sev_parse(const char *name, enum audit_sev *s)
{
	int	 i;

	for (i = 0; name != NULL && i < SEV__MAX; i++)
		if (strcasecmp(name, sev_names[i]) == 0) {
			*s = (enum audit_sev)i;
			return PG_OK;
		}
	return PG_EINVAL;
}

const char *
aevent_name(enum aevent t)
{
	return (unsigned)t < AEV__MAX ? defs[t].name : "unknown";
}

enum aevent
aevent_parse(const char *name)
{
	int	 i;

	for (i = 0; name != NULL && i < AEV__MAX; i++)
		if (strcmp(name, defs[i].name) == 0)
			return (enum aevent)i;
	return AEV__MAX;
}

enum audit_sev
aevent_sev(enum aevent t)
{
	return (unsigned)t < AEV__MAX ? defs[t].sev : SEV_LOW;
}

enum aevent_metric
aevent_metric(enum aevent t)
{
	return (unsigned)t < AEV__MAX ? defs[t].metric : AEM_NONE;
}

int
aevent_suspicious(enum aevent t, int success)
{
	enum susp	 s = (unsigned)t < AEV__MAX ? defs[t].susp : SUSP_FAILED;

	if (s == SUSP_ALWAYS)
		return 1;
	return !success && s != SUSP_NEVER;
}

int
aevent_is_request(enum aevent t)
{
	return (unsigned)t < AEV__MAX && defs[t].request;
}
