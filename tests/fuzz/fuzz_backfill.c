/*
 * libFuzzer target: the backfill's command-line parsers (TIME, --types)
 * and the page query they feed.  Invariants: a TIME that parses is in
 * range; a type list that passes the check encodes into a query whose
 * types[] decode back to exactly those types.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "form.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		 s[512];
	int64_t		 t;
	struct buf	 q;
	struct form	 f;
	size_t		 i, n = 0;

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (backfill_parse_time(s, 1764806400, &t) == PG_OK &&
	    (t < 0 || t > 4102444800LL))
		abort();
	if (backfill_check_types(s) != PG_OK)
		return 0;
	buf_init(&q, 1 << 16);
	form_init(&f);
	if (backfill_query(1, 2, s, "evt_1", &q) != PG_OK ||
	    form_parse(q.data, q.len, &f) != PG_OK)
		abort();
	for (i = 0; i < f.n; i++)
		if (strcmp(f.p[i].name, "types[]") == 0) {
			size_t len = strlen(f.p[i].value);
			/* Each decoded type is the next comma-separated one. */
			if (strncmp(s + n, f.p[i].value, len) != 0 ||
			    (s[n + len] != ',' && s[n + len] != '\0'))
				abort();
			n += len + 1;
		}
	/* Every type came back (a NUL in the input ends the string). */
	if (n != strlen(s) + 1)
		abort();
	form_free(&f);
	buf_free(&q);
	return 0;
}
