/*
 * payguard - alert thresholds over the last hour of audit counters.
 *
 * Defaults per hour: invalid_signature 5, invalid_ip 10,
 * replay 1, rate_limit 50, identity_rate_limit 10 (one identity),
 * pci_violation 1, data_exposure 1.  PAYGUARD_ALERT_THRESHOLDS overrides
 * any of them: "invalid_ip=20,replay=3" (0 disables one).  An alert
 * fires when its count reaches the threshold.
 */
#ifndef PG_ALERT_H
#define PG_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "astats.h"
#include "err.h"

enum alert_kind {
	AL_INVALID_SIG = 0,
	AL_INVALID_IP,
	AL_REPLAY,
	AL_RATE_LIMIT,
	AL_IDENTITY_RL,
	AL_PCI,
	AL_EXPOSURE,
	AL__MAX
};

struct alert_cfg {
	uint64_t	 threshold[AL__MAX];	/* per hour; 0: off */
};

struct alert_result {
	int		 fired[AL__MAX];
	uint64_t	 value[AL__MAX];
	char		 who[ASTATS_NAME];		/* identity of AL_IDENTITY_RL */
	size_t		 nfired;
};

/* Returns the alert's name ("invalid_signature", ...). */
const char	*alert_name(enum alert_kind k);
/* Returns a one-line description for people. */
const char	*alert_title(enum alert_kind k);
/*
 * Sets the defaults, then applies spec (may be NULL).  PG_CONFIG with a
 * message in err naming the bad item (c keeps the defaults for it).
 */
enum pg_err	 alert_config(const char *spec, struct alert_cfg *c,
		    char *err, size_t errsz);
/* Evaluates the thresholds against one hour of stats. */
void		 alert_eval(const struct alert_cfg *c,
		    const struct astats *hour, struct alert_result *r);
/* {"fired":[{name,title,value,threshold[,identity]}...],"window":"1h",
 * "at":RFC3339} (caller frees with json_object_put). */
struct json_object *alert_json(const struct alert_cfg *c,
		    const struct alert_result *r);
/*
 * Runs command (an absolute path, no shell, no arguments) with json on
 * stdin, at most timeout_s seconds.  PG_UPSTREAM when it failed.
 */
enum pg_err	 alert_notify(const char *command, const char *json,
		    size_t len, uint32_t timeout_s);

#endif /* PG_ALERT_H */
