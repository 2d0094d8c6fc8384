/*
 * payguard fuzz target - the template engine on arbitrary templates.
 *
 * Input: a template.  It is rendered with a fixed data set whose values
 * are all hostile markup; the invariant checked beyond memory safety is
 * that no substituted value ever reaches the output unescaped: the
 * output may hold '<' only where the template text itself had one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static size_t
count(const char *p, size_t n, char c)
{
	size_t	 i, k = 0;

	for (i = 0; i < n; i++)
		k += p[i] == c;
	return k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct json_object *d;
	struct buf	 b;
	size_t		 missing;

	if (d == NULL)
		d = json_tokener_parse("{\"a\":\"<x'\\\"&>\",\"n\":-1,"
		    "\"l\":[{\"a\":\"<<\"},{\"b\":\"\\\">\"},\"<'>\"],"
		    "\"o\":{\"a\":\"<o>\",\"l\":[1,2]},\"t\":true,\"f\":false}");
	buf_init(&b, 1u << 20);
	if (tmpl_render((const char *)data, size, d, &b, &missing) == PG_OK &&
	    b.data != NULL) {
		/* Values never add a '<', '>' or '"': loops can only repeat
		 * template text, which is counted per byte of input at most
		 * (1 MiB ceiling caps the repeat). */
		if (count((const char *)data, size, '<') == 0 &&
		    count(b.data, b.len, '<') != 0)
			abort();
		if (count((const char *)data, size, '"') == 0 &&
		    count(b.data, b.len, '"') != 0)
			abort();
		if (count((const char *)data, size, '\'') == 0 &&
		    count(b.data, b.len, '\'') != 0)
			abort();
	}
	buf_free(&b);
	return 0;
}
