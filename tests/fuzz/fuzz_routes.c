/* libFuzzer target: PAYGUARD_API_ROUTES (routes_parse, over the comma-list
 * splitter codec_list_next) and route_match on what it accepted. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct routes	 rt;
	const struct route	*r;
	char			*spec, path[ROUTE_PATH_MAX];
	size_t			 i;

	if ((spec = malloc(size + 1)) == NULL)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';
	if (routes_parse(spec, &rt) == PG_OK) {
		if (rt.n == 0 || rt.n > ROUTE_MAX)
			abort();
		for (i = 0; i < rt.n; i++) {
			if (memchr(rt.r[i].res, '\0', ROUTE_RES_MAX) == NULL ||
			    rt.r[i].res[0] == '\0')
				abort();
			/* Matching its own path answers a route of the table
			 * (or none), never anything else. */
			snprintf(path, sizeof(path), "/v%d/%s/x",
			    rt.r[i].v2 ? 2 : 1, rt.r[i].res);
			r = route_match(&rt, "GET", path);
			if (r != NULL && (r < rt.r || r >= rt.r + rt.n))
				abort();
		}
		(void)route_match(&rt, "POST", spec);
	}
	free(spec);
	return 0;
}
