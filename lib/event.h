/*
 * payguard - Stripe event payload validation.
 *
 * A webhook body must be a JSON object with an "id" starting "evt_",
 * "object" equal to "event", a string "type" and an integer "created";
 * it must be valid UTF-8, free of NUL bytes, and nested at most
 * EVENT_MAX_DEPTH deep.
 */
#ifndef PG_EVENT_H
#define PG_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define EVENT_MAX_DEPTH	64
#define EVENT_ID_MAX	255
#define EVENT_TYPE_MAX	127

struct event_info {
	char		 id[EVENT_ID_MAX + 1];
	char		 type[EVENT_TYPE_MAX + 1];
	char		 api_version[64];	/* "" when absent or null */
	int64_t		 created;
	int		 livemode;
	/* How it arrived (enum ev_source in inbox.h): 0, a webhook, unless
	 * the caller says otherwise; event_validate leaves it 0. */
	int		 source;
};

/*
 * Validates body and fills ev.  Returns PG_OK or PG_EINVAL with a short
 * reason (static string, safe to show and log) in *why.
 */
enum pg_err	 event_validate(const char *body, size_t len,
		    struct event_info *ev, const char **why);

#endif /* PG_EVENT_H */
