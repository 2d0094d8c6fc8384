/*
 * payguard fuzz target - the audit index's line packer (lib/apack.c) and
 * its value reader (lib/aindex.c).
 *
 * Invariants: a line the packer accepts unpacks to itself byte for byte
 * (the packer refuses, leaving the buffer as it was, whatever it cannot
 * reproduce); the unpacker on arbitrary bytes never reads or writes out
 * of bounds and never produces more than ARECORD_LINE_MAX bytes; an
 * index value that unpacks has its strings inside the value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aindex.h"
#include "apack.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Whether s[0..n) lies in [lo, hi), or n is 0. */
static int
inside(const void *s, size_t n, const char *lo, const char *hi)
{
	const char	*p = s;

	return n == 0 || (p >= lo && p + n <= hi);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct apack_ctx c;
	struct aindex_val v;
	struct buf	 p, back;
	const char	*line = (const char *)data;

	memset(&c, 0, sizeof(c));
	c.ts_us = 1796328701450000ull;
	c.seq = 42;
	c.ip = "198.51.100.7";
	c.iplen = strlen(c.ip);
	c.type = "webhook_validated";
	c.tlen = strlen(c.type);
	c.node = "web-1";
	c.nlen = 5;
	buf_init(&p, ARECORD_LINE_MAX * 2);
	buf_init(&back, ARECORD_LINE_MAX * 2);
	if (size <= ARECORD_LINE_MAX &&
	    apack_line(&c, line, size, &p) == PG_OK) {
		if (apack_unline(&c, p.data, p.len, &back) != PG_OK ||
		    back.len != size ||
		    (size > 0 && memcmp(back.data, line, size) != 0))
			abort();
	} else if (p.len != 0)
		abort();
	buf_reset(&back);
	if (apack_unline(&c, data, size, &back) == PG_OK &&
	    back.len > ARECORD_LINE_MAX)
		abort();
	if (aindex_val_unpack(data, size, &v) == 0) {
		const char *lo = (const char *)data, *hi = lo + size;

		/* An empty string may be a literal: a version 1 value has no
		 * node and gets "". */
		if (!inside(v.ip, v.iplen, lo, hi) ||
		    !inside(v.node, v.nlen, lo, hi) ||
		    !inside(v.action, v.alen, lo, hi) ||
		    !inside(v.line, v.llen, lo, hi))
			abort();
		buf_reset(&back);
		(void)aindex_val_line(&v, c.ts_us, c.seq, &back);
	}
	buf_free(&p);
	buf_free(&back);
	return 0;
}
