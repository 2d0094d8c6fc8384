/*
 * payguard - route allowlist.
 */
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "route.h"

static int
seg_ok(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > 128)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

enum pg_err
routes_parse(const char *spec, struct routes *rt)
{
	const char	*q, *p, *end, *eq;
	struct route	*r;
	size_t		 rlen, olen, n;

	memset(rt, 0, sizeof(*rt));
	q = spec != NULL ? spec : ROUTES_DEFAULT;
	while (codec_list_next(&q, &p, &n)) {
		end = p + n;
		if ((eq = memchr(p, '=', (size_t)(end - p))) == NULL ||
		    rt->n == ROUTE_MAX)
			return PG_EINVAL;
		r = &rt->r[rt->n];
		if (eq - p > 3 && strncmp(p, "v2/", 3) == 0) {
			r->v2 = 1;
			p += 3;
		}
		rlen = (size_t)(eq - p);
		if (rlen > 3 && strncmp(eq - 3, ":ro", 3) == 0) {
			r->readonly = 1;
			rlen -= 3;
		}
		olen = (size_t)(end - eq - 1);
		while (olen > 0 && eq[olen] == ' ')
			olen--;
		if (rlen == 0 || rlen >= ROUTE_RES_MAX || olen == 0 ||
		    olen >= CFG_OPNAME || !seg_ok(eq + 1, olen))
			return PG_EINVAL;
		memcpy(r->res, p, rlen);
		memcpy(r->op, eq + 1, olen);
		/* Resource: one or two path segments. */
		{
			const char *sl = memchr(r->res, '/', rlen);
			if (sl == NULL ? !seg_ok(r->res, rlen) :
			    !seg_ok(r->res, (size_t)(sl - r->res)) ||
			    !seg_ok(sl + 1, rlen - (size_t)(sl - r->res) - 1))
				return PG_EINVAL;
		}
		rt->n++;
	}
	return rt->n > 0 ? PG_OK : PG_EINVAL;
}

const struct route *
route_match(const struct routes *rt, const char *method, const char *path)
{
	const char	*rest, *s1, *s2;
	size_t		 i, n, len;
	int		 get = strcmp(method, "GET") == 0;
	int		 post = strcmp(method, "POST") == 0;
	int		 del = strcmp(method, "DELETE") == 0;

	len = strlen(path);
	if (len > ROUTE_PATH_MAX || (strncmp(path, "/v1/", 4) != 0 &&
	    strncmp(path, "/v2/", 4) != 0) || !(get || post || del))
		return NULL;
	for (i = 0; i < rt->n; i++) {
		if (rt->r[i].v2 != (path[2] == '2'))
			continue;
		n = strlen(rt->r[i].res);
		if (strncmp(path + 4, rt->r[i].res, n) != 0)
			continue;
		rest = path + 4 + n;
		if (*rest == '\0') {			/* /v1/res */
			if (get || (post && !rt->r[i].readonly))
				return &rt->r[i];
			return NULL;
		}
		if (*rest != '/')
			continue;
		s1 = rest + 1;				/* /v1/res/id */
		s2 = strchr(s1, '/');
		if (s2 == NULL) {
			if (!seg_ok(s1, strlen(s1)))
				return NULL;
			if (get || (!rt->r[i].readonly && (post || del)))
				return &rt->r[i];
			return NULL;
		}
		/* /v1/res/id/action */
		if (!seg_ok(s1, (size_t)(s2 - s1)) ||
		    !seg_ok(s2 + 1, strlen(s2 + 1)) || !post ||
		    rt->r[i].readonly)
			return NULL;
		return &rt->r[i];
	}
	return NULL;
}
