/* libFuzzer target: Stripe's IP list JSON (`payguard ips update`) and the
 * list-file reader.  What the JSON reader accepts must read back as a
 * list file with the same number of entries, every one a valid address. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipallow.h"
#include "iplist.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ipset	 set;
	struct buf		 out;
	char			**v = NULL, *s;
	size_t			 n = 0, m = 0, bad;

	buf_init(&out, 1 << 20);
	if (iplist_from_json((const char *)data, size, "fuzz", &out, &n) == PG_OK) {
		if (n == 0 || iplist_entries(out.data, &v, &m) != PG_OK ||
		    m != n || ipset_parse(out.data, &set, &bad) != PG_OK ||
		    set.n != n)
			abort();
		iplist_entries_free(v);
	}
	buf_free(&out);
	/* The entry splitter on arbitrary text. */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (iplist_entries(s, &v, &m) == PG_OK)
		iplist_entries_free(v);
	free(s);
	return 0;
}
