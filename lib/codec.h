/*
 * payguard - text codecs: percent-encoding (application/x-www-form-
 * urlencoded) and query-string splitting.  Pure functions, bounded, no
 * store, no I/O.
 */
#ifndef PG_CODEC_H
#define PG_CODEC_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

/*
 * Decodes %XX and '+' of s (n bytes) into out (outsz bytes, always
 * NUL-terminated on success); *outlen (may be NULL) gets the length.
 * PG_EINVAL on a malformed escape, a NUL (raw or encoded) or when out is
 * too small.
 */
enum pg_err	 codec_pct_decode(const char *s, size_t n, char *out,
		    size_t outsz, size_t *outlen);
/*
 * Appends s percent-encoded to b: every byte but ALPHA DIGIT - . _ ~
 * becomes %XX (uppercase), as RFC 3986 and Stripe's SDKs do.
 */
enum pg_err	 codec_pct_encode(struct buf *b, const char *s);

/* One name=value piece of a query string. */
struct codec_pair {
	const char	*name;		/* not decoded, not terminated */
	size_t		 nlen;
	const char	*value;		/* after '=', or NULL when none */
	size_t		 vlen;
};

/*
 * Splits the next piece off the query string [*p, end) at '&' (empty
 * pieces skipped) into pr and advances *p.  Returns 1 for a piece, 0 at
 * the end.
 */
int		 codec_query_next(const char **p, const char *end,
		    struct codec_pair *pr);

#endif /* PG_CODEC_H */
