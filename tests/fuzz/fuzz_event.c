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
	} else if (why == NULL)
		abort();
	return 0;
}
