/* libFuzzer target: the form decoder, with an encode/decode round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct form	 f, g;
	struct buf	 b, c;
	size_t		 i;

	form_init(&f);
	form_init(&g);
	buf_init(&b, 1 << 20);
	buf_init(&c, 1 << 20);
	if (form_parse((const char *)data, size, &f) == PG_OK &&
	    form_encode(&f, &b) == PG_OK) {
		/* What we send upstream decodes to what we screened. */
		if (form_parse(b.data, b.len, &g) != PG_OK || g.n != f.n)
			abort();
		for (i = 0; i < f.n; i++)
			if (strcmp(f.p[i].name, g.p[i].name) != 0 ||
			    strcmp(f.p[i].value, g.p[i].value) != 0)
				abort();
		if (form_canonical(&f, &c) != PG_OK)
			abort();
	}
	form_free(&f);
	form_free(&g);
	buf_free(&b);
	buf_free(&c);
	return 0;
}
