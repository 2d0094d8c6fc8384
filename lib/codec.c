/*
 * payguard - text codecs (see codec.h).
 *
 * Encoding is libcurl's (curl_easy_escape keeps exactly the RFC 3986
 * unreserved set).  Decoding is ours: curl_easy_unescape neither turns
 * '+' into a space nor rejects a malformed escape or an encoded NUL,
 * and both matter to a parser of hostile input.
 */
#include <string.h>

#include <curl/curl.h>

#include "codec.h"

enum pg_err
codec_pct_decode(const char *s, size_t n, char *out, size_t outsz,
    size_t *outlen)
{
	size_t	 i, o = 0;
	int	 hi, lo;
	char	 c;

	if (outsz == 0)
		return PG_EINVAL;
	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (i + 2 >= n)
				return PG_EINVAL;
			if ((hi = hex_digit((unsigned char)s[i + 1])) < 0 ||
			    (lo = hex_digit((unsigned char)s[i + 2])) < 0)
				return PG_EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0' || o + 1 >= outsz)
			return PG_EINVAL;
		out[o++] = c;
	}
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return PG_OK;
}

enum pg_err
codec_pct_encode(struct buf *b, const char *s)
{
	char		*e;
	enum pg_err	 rc;

	/* A NULL handle is allowed since libcurl 7.82. */
	if ((e = curl_easy_escape(NULL, s, 0)) == NULL)
		return PG_ENOMEM;
	rc = buf_puts(b, e);
	curl_free(e);
	return rc;
}

int
codec_query_next(const char **p, const char *end, struct codec_pair *pr)
{
	const char	*amp, *eq;

	while (*p < end && **p == '&')
		(*p)++;
	if (*p >= end)
		return 0;
	if ((amp = memchr(*p, '&', (size_t)(end - *p))) == NULL)
		amp = end;
	eq = memchr(*p, '=', (size_t)(amp - *p));
	pr->name = *p;
	pr->nlen = (size_t)((eq != NULL ? eq : amp) - *p);
	pr->value = eq != NULL ? eq + 1 : NULL;
	pr->vlen = eq != NULL ? (size_t)(amp - eq - 1) : 0;
	*p = amp;
	return 1;
}
