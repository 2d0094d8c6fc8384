/* libFuzzer target: the webhook payload validator. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event_info	 ev;
	const char		*why = NULL;

	if (event_validate((const char *)data, size, &ev, &why) == PG_OK) {
		/* Accepted events satisfy the documented shape. */
		if (strncmp(ev.id, "evt_", 4) != 0 || ev.type[0] == '\0')
			abort();
		/* Thin events parse an RFC 3339 created; both kinds may carry
		 * an account, which is always an acct_ id. */
		if (ev.kind != EVENT_SNAPSHOT && ev.kind != EVENT_THIN)
			abort();
		if (ev.kind == EVENT_THIN && ev.api_version[0] != '\0')
			abort();
		if (ev.account[0] != '\0' &&
		    strncmp(ev.account, "acct_", 5) != 0)
			abort();
		if (strcmp(event_kind_name(ev.kind), "thin") != 0 &&
		    strcmp(event_kind_name(ev.kind), "snapshot") != 0)
			abort();
	} else if (why == NULL)
		abort();
	return 0;
}
