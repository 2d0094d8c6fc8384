/*
 * payguard - delivery of webhook events to the site's own handler.
 *
 * The handler is an executable run without a shell: the raw event on its
 * stdin; PAYGUARD_EVENT_ID, PAYGUARD_EVENT_TYPE, PAYGUARD_EVENT_LIVEMODE,
 * PAYGUARD_EVENT_KIND (snapshot or thin), PAYGUARD_EVENT_SOURCE (webhook
 * or backfill) and, for an event from a connected account,
 * PAYGUARD_EVENT_ACCOUNT (plus PATH and LANG) in an
 * otherwise empty environment, so no secret of
 * ours reaches it; run by proc_run (proc.h).  Exit 0 means processed.
 * With PAYGUARD_WEBHOOK_FORWARD_URL the attempt is an HTTP POST instead
 * (lib/forward.h), with the same outcome handling.
 */
#ifndef PG_DELIVER_H
#define PG_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "crypto.h"
#include "err.h"
#include "event.h"
#include "inbox.h"
#include "proc.h"
#include "store.h"

/* Runs handler once with PAYGUARD_EVENT_ID/_TYPE/_LIVEMODE only. */
enum pg_err	 deliver_run(const char *handler, uint32_t timeout_s,
		    const char *id, const char *type, int livemode,
		    const void *body, size_t len, struct proc_result *res);
/* Runs handler once for the event, with every PAYGUARD_EVENT_* variable. */
enum pg_err	 deliver_run_event(const char *handler, uint32_t timeout_s,
		    const struct event_info *ev, const void *body, size_t len,
		    struct proc_result *res);
/*
 * Delivers a claimed event and records the outcome in the inbox.  Without
 * a configured handler the event counts as delivered (it stays in the
 * inbox for `payguard inbox`).
 */
enum pg_err	 deliver_claimed(struct store *st, const struct config *cfg,
		    const char *id, const struct ev_hdr *h, const void *body,
		    size_t len, struct proc_result *res);
/*
 * Delivers every event due now, at most max (0: no limit); *done and
 * *failed get the counts.  Used by `payguard inbox drain` and `worker`.
 */
enum pg_err	 deliver_due(struct store *st, const struct keyring *ring,
		    const struct config *cfg, size_t max, size_t *done,
		    size_t *failed);

#endif /* PG_DELIVER_H */
