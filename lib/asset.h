/*
 * payguard - files built into the programs: templates/ and data/ (the
 * audit page's templates and stylesheet, Stripe's webhook IP list).
 *
 * The table is generated at build time by mk/embed.sh from those very
 * files, so a webhook.fcgi or audit.cgi copied alone still serves.  Files
 * on disk win where a caller looks for them first (PAYGUARD_TEMPLATE_DIR,
 * the IP list's search path).
 */
#ifndef PG_ASSET_H
#define PG_ASSET_H

#include <stddef.h>

#include "err.h"

struct asset {
	const char		*name;	/* basename, e.g. "audit.css" */
	const unsigned char	*data;	/* len bytes, then a NUL */
	size_t			 len;
	long long		 mtime;	/* the file's, at build time (s) */
};

/* The generated table, ended by a NULL name (build/gen/assets.c). */
extern const struct asset pg_assets[];

/*
 * Finds the built-in file name.  *data (static, NUL-terminated, never
 * freed) and *len are set on PG_OK; PG_NOTFOUND otherwise.
 */
enum pg_err	 asset_find(const char *name, const unsigned char **data,
		    size_t *len);
/* Returns the built-in file's modification time (s), or -1 if none. */
long long	 asset_mtime(const char *name);

#endif /* PG_ASSET_H */
