/*
 * payguard - running the site's webhook handler.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "forward.h"
#include "log.h"
#include "metrics.h"

/* One "NAME=value" environment entry: the longest is the event id. */
#define EVENT_VAR_MAX	(EVENT_ID_MAX + 32)

/* PAYGUARD_EVENT_* in vars[] (each sz bytes), PATH and LANG into envp. */
static void
event_env(char vars[][EVENT_VAR_MAX], char *envp[9], const char *id,
    const char *type, int livemode, const char *kind, const char *account,
    const char *source)
{
	size_t	 n = 0;

	snprintf(vars[0], EVENT_VAR_MAX, "PAYGUARD_EVENT_ID=%s", id);
	snprintf(vars[1], EVENT_VAR_MAX, "PAYGUARD_EVENT_TYPE=%s", type);
	snprintf(vars[2], EVENT_VAR_MAX, "PAYGUARD_EVENT_LIVEMODE=%s",
	    livemode ? "true" : "false");
	envp[n++] = vars[0];
	envp[n++] = vars[1];
	envp[n++] = vars[2];
	if (kind != NULL) {
		snprintf(vars[3], EVENT_VAR_MAX, "PAYGUARD_EVENT_KIND=%s", kind);
		envp[n++] = vars[3];
	}
	if (account != NULL && *account != '\0') {
		snprintf(vars[4], EVENT_VAR_MAX, "PAYGUARD_EVENT_ACCOUNT=%s",
		    account);
		envp[n++] = vars[4];
	}
	/* A backfilled event was listed, not signed: the handler may want
	 * to know (e.g. to re-fetch the object before acting on it). */
	if (source != NULL) {
		snprintf(vars[5], EVENT_VAR_MAX, "PAYGUARD_EVENT_SOURCE=%s",
		    source);
		envp[n++] = vars[5];
	}
	envp[n++] = (char *)PROC_ENV_PATH;
	envp[n++] = (char *)PROC_ENV_LANG;
	envp[n] = NULL;
}

enum pg_err
deliver_run(const char *handler, uint32_t timeout_s, const char *id,
    const char *type, int livemode, const void *body, size_t len,
    struct proc_result *res)
{
	char	 vars[6][EVENT_VAR_MAX], *envp[9];

	event_env(vars, envp, id, type, livemode, NULL, NULL, NULL);
	return proc_run(handler, envp, body, len, timeout_s, res);
}

enum pg_err
deliver_run_event(const char *handler, uint32_t timeout_s,
    const struct event_info *ev, const void *body, size_t len,
    struct proc_result *res)
{
	char	 vars[6][EVENT_VAR_MAX], *envp[9];

	event_env(vars, envp, ev->id, ev->type, ev->livemode,
	    event_kind_name(ev->kind), ev->account, ev_source_name(ev->source));
	return proc_run(handler, envp, body, len, timeout_s, res);
}

enum pg_err
deliver_claimed(struct store *st, const struct config *cfg, const char *id,
    const struct ev_hdr *h, const void *body, size_t len,
    struct proc_result *res)
{
	struct event_info ev;
	const char	*why;
	uint64_t	 t0;
	enum pg_err	 e;

	memset(res, 0, sizeof(*res));
	/* The stored body was validated on the way in; its kind and account
	 * are read again here rather than kept in the inbox header. */
	if (event_validate(body, len, &ev, &why) != PG_OK) {
		memset(&ev, 0, sizeof(ev));
		snprintf(ev.id, sizeof(ev.id), "%s", id);
		snprintf(ev.type, sizeof(ev.type), "%s", h->type);
		ev.livemode = h->livemode;
	}
	ev.source = (int)h->source;
	if (cfg->wh_forward_url != NULL)
		(void)forward_post(cfg, &ev, body, len, res);
	else if (cfg->wh_handler == NULL) {
		res->ok = 1;
		res->status = 0;
	} else {
		t0 = proc_mono_ms();
		if ((e = deliver_run_event(cfg->wh_handler,
		    cfg->wh_handler_timeout, &ev, body, len, res)) != PG_OK)
			res->ok = 0;
		/* Best effort: a metric never fails a delivery. */
		(void)metrics_observe(st, MH_DELIVERY,
		    (double)(proc_mono_ms() - t0) / 1000.0, MC_DELIVERY,
		    res->ok ? "ok" : "failed");
	}
	if (!res->ok)
		log_warnx("delivery of %s failed (attempt %u): %s", id,
		    h->attempts, res->error);
	return inbox_complete(st, cfg, id, h, res->ok, res->status, res->error);
}

enum pg_err
deliver_due(struct store *st, const struct keyring *ring,
    const struct config *cfg, size_t max, size_t *done, size_t *failed)
{
	struct proc_result res;
	struct ev_hdr	 h;
	char		 id[EVENT_ID_MAX + 1];
	unsigned char	*body = NULL;
	size_t		 len;
	enum pg_err	 e = PG_OK;

	*done = *failed = 0;
	/* A forwarding misconfiguration must not burn the events' attempts. */
	{
		char why[192];
		if (forward_check(cfg, why, sizeof(why)) != PG_OK) {
			log_warnx("not delivering: %s", why);
			return PG_CONFIG;
		}
	}
	while (max == 0 || *done + *failed < max) {
		e = inbox_claim_next(st, ring, cfg, id, &h, &body, &len);
		if (e == PG_NOTFOUND) {
			e = PG_OK;
			break;
		}
		if (e != PG_OK)
			break;
		e = deliver_claimed(st, cfg, id, &h, body, len, &res);
		free(body);
		body = NULL;
		if (e != PG_OK)
			break;
		if (res.ok)
			(*done)++;
		else
			(*failed)++;
	}
	return e;
}
