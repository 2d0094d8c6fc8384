/*
 * payguard - Stripe event payload validation.
 *
 * A webhook body must be valid UTF-8, free of NUL bytes, nested at most
 * EVENT_MAX_DEPTH deep, and a JSON object of one of two kinds:
 *  - a snapshot event: "object" "event", "id" starting "evt_", a string
 *    "type", an integer "created", optional "account" (Connect) and
 *    "api_version";
 *  - a thin event notification (Stripe's v2 event destinations):
 *    "object" "v2.core.event", "id" starting "evt_", a string "type",
 *    "created" an RFC 3339 string, optional "context" (the account it
 *    came from), optional "related_object" {id, type, url} strings.
 * Any other "object" is rejected.
 */
#ifndef PG_EVENT_H
#define PG_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define EVENT_MAX_DEPTH	64
#define EVENT_ID_MAX	255
#define EVENT_TYPE_MAX	127
#define EVENT_ACCOUNT_MAX 127

enum event_kind {
	EVENT_SNAPSHOT = 0,	/* "object": "event" */
	EVENT_THIN		/* "object": "v2.core.event" */
};

/* Bits of a set of kinds (PAYGUARD_EVENT_KINDS). */
#define EVENT_KIND_BIT(k)	(1u << (k))
#define EVENT_KINDS_ALL		(EVENT_KIND_BIT(EVENT_SNAPSHOT) | \
				 EVENT_KIND_BIT(EVENT_THIN))

struct event_info {
	char		 id[EVENT_ID_MAX + 1];
	char		 type[EVENT_TYPE_MAX + 1];
	char		 api_version[64];	/* "" when absent or null */
	char		 account[EVENT_ACCOUNT_MAX + 1]; /* "" when none */
	int64_t		 created;	/* seconds since the epoch */
	int		 livemode;
	enum event_kind	 kind;
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
/* Returns "snapshot" or "thin". */
const char	*event_kind_name(enum event_kind k);
/*
 * Parses a comma-separated list of kind names ("snapshot,thin") into a
 * set of EVENT_KIND_BIT()s.  Returns PG_OK or PG_EINVAL (unknown name or
 * empty list).
 */
enum pg_err	 event_kinds_parse(const char *s, unsigned int *set);

#endif /* PG_EVENT_H */
