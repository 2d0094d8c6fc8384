/*
 * payguard - alert thresholds.  The counts come from astats_compute over
 * the last hour (per-minute counters), so evaluating costs the same with
 * ten or ten million stored records.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert.h"
#include "proc.h"
#include "log.h"

struct alert_def {
	const char	*name;
	const char	*title;
	uint64_t	 dflt;
};

static const struct alert_def defs[AL__MAX] = {
	{ "invalid_signature", "Invalid webhook signatures", 5 },	/* AL_INVALID_SIG */
	{ "invalid_ip", "Webhooks from addresses not allowed", 10 },	/* AL_INVALID_IP */
	{ "replay", "Replayed webhook events", 1 },			/* AL_REPLAY */
	{ "rate_limit", "Rate-limit violations", 50 },			/* AL_RATE_LIMIT */
	{ "identity_rate_limit", "Rate-limit violations by one identity", 10 },	/* AL_IDENTITY_RL */
	{ "pci_violation", "PCI compliance violations", 1 },		/* AL_PCI */
	{ "data_exposure", "Sensitive data exposure", 1 },		/* AL_EXPOSURE */
};

const char *
alert_name(enum alert_kind k)
{
	return (unsigned)k < AL__MAX ? defs[k].name : "unknown";
}

const char *
alert_title(enum alert_kind k)
{
	return (unsigned)k < AL__MAX ? defs[k].title : "unknown";
}

enum pg_err
alert_config(const char *spec, struct alert_cfg *c, char *err, size_t errsz)
{
	const char	*p = spec, *end, *eq;
	char		*ep;
	unsigned long long v;
	size_t		 n, i;
	enum pg_err	 e = PG_OK;

	for (i = 0; i < AL__MAX; i++)
		c->threshold[i] = defs[i].dflt;
	if (err != NULL && errsz > 0)
		err[0] = '\0';
	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		end = p + strcspn(p, ", ");
		n = (size_t)(end - p);
		eq = memchr(p, '=', n);
		for (i = 0; eq != NULL && i < AL__MAX; i++)
			if (strlen(defs[i].name) == (size_t)(eq - p) &&
			    memcmp(defs[i].name, p, (size_t)(eq - p)) == 0)
				break;
		if (eq == NULL || i == AL__MAX || eq + 1 == end ||
		    eq[1] < '0' || eq[1] > '9' ||
		    (v = strtoull(eq + 1, &ep, 10), ep != end) || v > 1000000000) {
			if (err != NULL)
				snprintf(err, errsz, "PAYGUARD_ALERT_THRESHOLDS: "
				    "bad item \"%.*s\"", (int)(n > 64 ? 64 : n), p);
			e = PG_CONFIG;
		} else
			c->threshold[i] = v;
		p = end;
	}
	return e;
}

static void
check(const struct alert_cfg *c, struct alert_result *r, enum alert_kind k,
    uint64_t v)
{
	r->value[k] = v;
	if (c->threshold[k] > 0 && v >= c->threshold[k]) {
		r->fired[k] = 1;
		r->nfired++;
	}
}

void
alert_eval(const struct alert_cfg *c, const struct astats *h,
    struct alert_result *r)
{
	memset(r, 0, sizeof(*r));
	check(c, r, AL_INVALID_SIG, h->sig_bad);
	check(c, r, AL_INVALID_IP, h->invalid_ip);
	check(c, r, AL_REPLAY, h->replay);
	check(c, r, AL_RATE_LIMIT, h->rate_limited);
	/* rl_ids is sorted: the first is the worst identity. */
	check(c, r, AL_IDENTITY_RL, h->nrl_ids > 0 ? h->rl_ids[0].n : 0);
	if (h->nrl_ids > 0)
		snprintf(r->who, sizeof(r->who), "%s", h->rl_ids[0].name);
	check(c, r, AL_PCI, h->pci_violations);
	check(c, r, AL_EXPOSURE, h->data_exposure);
}

struct json_object *
alert_json(const struct alert_cfg *c, const struct alert_result *r)
{
	struct json_object	*o, *a, *x;
	char			 ts[32];
	time_t			 now = time(NULL);
	struct tm		 tm;
	size_t			 i;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	a = json_object_new_array();
	for (i = 0; i < AL__MAX; i++) {
		if (!r->fired[i])
			continue;
		x = json_object_new_object();
		json_object_object_add(x, "name", json_object_new_string(defs[i].name));
		json_object_object_add(x, "title", json_object_new_string(defs[i].title));
		json_object_object_add(x, "value", json_object_new_int64((int64_t)r->value[i]));
		json_object_object_add(x, "threshold",
		    json_object_new_int64((int64_t)c->threshold[i]));
		if (i == AL_IDENTITY_RL)
			json_object_object_add(x, "identity",
			    json_object_new_string(r->who));
		json_object_array_add(a, x);
	}
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_object_add(o, "source", json_object_new_string("payguard"));
	json_object_object_add(o, "window", json_object_new_string("1h"));
	json_object_object_add(o, "at", json_object_new_string(ts));
	json_object_object_add(o, "fired", a);
	return o;
}

enum pg_err
alert_notify(const char *command, const char *json, size_t len,
    uint32_t timeout_s)
{
	/* The environment a handler sees, naming the "event" an alert. */
	static char *const envp[] = {
		(char *)"PAYGUARD_EVENT_ID=alert",
		(char *)"PAYGUARD_EVENT_TYPE=payguard.alert",
		(char *)"PAYGUARD_EVENT_LIVEMODE=false",
		(char *)PROC_ENV_PATH,
		(char *)PROC_ENV_LANG,
		NULL,
	};
	struct proc_result	 res;
	enum pg_err		 e;

	if (command == NULL || command[0] != '/')
		return PG_CONFIG;
	e = proc_run(command, envp, json, len, timeout_s, &res);
	if (e != PG_OK)
		return e;
	if (!res.ok) {
		log_warnx("alert command failed: %s", res.error);
		return PG_UPSTREAM;
	}
	return PG_OK;
}
