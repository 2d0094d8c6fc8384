/*
 * payguard - lookup in the built-in file table (see asset.h).
 */
#include <string.h>

#include "asset.h"

enum pg_err
asset_find(const char *name, const unsigned char **data, size_t *len)
{
	const struct asset	*a;
	enum pg_err		 e = PG_NOTFOUND;

	*data = NULL;
	*len = 0;
	for (a = pg_assets; name != NULL && a->name != NULL; a++)
		if (strcmp(a->name, name) == 0) {
			*data = a->data;
			*len = a->len;
			e = PG_OK;
			break;
		}
	return e;
}

long long
asset_mtime(const char *name)
{
	const struct asset	*a;

	for (a = pg_assets; name != NULL && a->name != NULL; a++)
		if (strcmp(a->name, name) == 0)
			return a->mtime;
	return -1;
}
