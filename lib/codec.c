/*
 * payguard - codecs (see codec.h).
 *
 * Encoding is libcurl's (curl_easy_escape keeps exactly the RFC 3986
 * unreserved set).  Decoding is ours: curl_easy_unescape neither turns
 * '+' into a space nor rejects a malformed escape or an encoded NUL,
 * and both matter to a parser of hostile input.
 */
#include <stdint.h>
#include <string.h>


#include "codec.h"
#include "curlrt.h"

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
			if ((hi = codec_hex_digit((unsigned char)s[i + 1])) < 0 ||
			    (lo = codec_hex_digit((unsigned char)s[i + 2])) < 0)
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
	const struct curlrt *cu = curlrt();
	char		*e;
	enum pg_err	 rc;

	if (cu == NULL)
		return PG_SYSTEM;
	/* A NULL handle is allowed since libcurl 7.82. */
	if ((e = cu->easy_escape(NULL, s, 0)) == NULL)
		return PG_ENOMEM;
	rc = buf_puts(b, e);
	cu->free(e);
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

int
codec_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
codec_hex_encode(const void *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = in;
	size_t		 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int
codec_hex_decode(const char *s, size_t n, unsigned char *out)
{
	size_t	 i;
	int	 hi, lo;

	for (i = 0; i < n; i++) {
		if ((hi = codec_hex_digit((unsigned char)s[2 * i])) < 0 ||
		    (lo = codec_hex_digit((unsigned char)s[2 * i + 1])) < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

enum pg_err
codec_json_str(struct buf *b, const char *s, size_t n)
{
	enum pg_err	 e = PG_OK;
	size_t		 i;
	unsigned char	 c;
	char		 esc[7];

	if ((e = buf_putc(b, '"')) != PG_OK)
		return e;
	for (i = 0; i < n && e == PG_OK; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			e = buf_append(b, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(esc, "\\u00", 4);
			codec_hex_encode(&c, 1, esc + 4);
			e = buf_append(b, esc, 6);
		} else
			e = buf_putc(b, (char)c);
	}
	if (e == PG_OK)
		e = buf_putc(b, '"');
	return e;
}

static const char b64url_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
codec_b64url_encode(const void *in, size_t n, int pad, char *out)
{
	const unsigned char *p = in;
	size_t		 i, o = 0;
	unsigned long	 v;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 |
		    p[i + 2];
		out[o++] = b64url_alpha[(v >> 18) & 63];
		out[o++] = b64url_alpha[(v >> 12) & 63];
		out[o++] = b64url_alpha[(v >> 6) & 63];
		out[o++] = b64url_alpha[v & 63];
	}
	if (n - i > 0) {
		v = (unsigned long)p[i] << 16;
		if (n - i == 2)
			v |= (unsigned long)p[i + 1] << 8;
		out[o++] = b64url_alpha[(v >> 18) & 63];
		out[o++] = b64url_alpha[(v >> 12) & 63];
		if (n - i == 2)
			out[o++] = b64url_alpha[(v >> 6) & 63];
		else if (pad)
			out[o++] = '=';
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* The value of a url-safe base64 character, or -1. */
static int
b64url_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

int
codec_b64url_decode(const char *in, size_t len, unsigned char *out,
    size_t *outlen)
{
	size_t		 i, j, nc, o = 0, pad = 0;
	unsigned long	 v;
	int		 c[4], rc = -1;

	if (len == 0 || len % 4 != 0)
		goto out;
	if (in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len; i += 4) {
		nc = (i + 4 == len) ? 4 - pad : 4;
		for (j = 0; j < nc; j++)
			if ((c[j] = b64url_val((unsigned char)in[i + j])) < 0)
				goto out;
		for (; j < 4; j++)
			c[j] = 0;
		v = (unsigned long)c[0] << 18 | (unsigned long)c[1] << 12 |
		    (unsigned long)c[2] << 6 | (unsigned long)c[3];
		out[o++] = (unsigned char)(v >> 16);
		if (nc > 2)
			out[o++] = (unsigned char)(v >> 8);
		if (nc > 3)
			out[o++] = (unsigned char)v;
		/* Filler bits must be zero, or two strings decode alike. */
		if ((nc == 2 && (c[1] & 0x0f) != 0) ||
		    (nc == 3 && (c[2] & 0x03) != 0))
			goto out;
	}
	*outlen = o;
	rc = 0;
out:
	return rc;
}

void
codec_be64_put(unsigned char *p, uint64_t v)
{
	int	 i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

uint64_t
codec_be64_get(const unsigned char *p)
{
	uint64_t v = 0;
	int	 i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int
codec_list_next(const char **p, const char **item, size_t *len)
{
	const char	*s = *p;

	while (*s == ' ' || *s == ',')
		s++;
	*item = s;
	*len = strcspn(s, ",");
	*p = s + *len;
	return *s != '\0';
}
