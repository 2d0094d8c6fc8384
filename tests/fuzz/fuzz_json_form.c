/* libFuzzer target: the JSON-to-form converter. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct form	 f, g;
	struct buf	 b;
	size_t		 i;

	form_init(&f);
	form_init(&g);
	buf_init(&b, 1 << 22);
	if (form_from_json((const char *)data, size, &f) == PG_OK) {
		for (i = 0; i < f.n; i++)
			if (f.p[i].name[0] == '\0' ||
			    strlen(f.p[i].name) > FORM_NAME_MAX)
				abort();
		if (form_encode(&f, &b) == PG_OK &&
		    (form_parse(b.data, b.len, &g) != PG_OK || g.n != f.n))
			abort();
	}
	form_free(&f);
	form_free(&g);
	buf_free(&b);
	return 0;
}
