/*
 * payguard - bounded, growable byte buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

static enum pg_err
buf_reserve(struct buf *b, size_t n)
{
	size_t	 need, ncap;
	char	*p;

	if (n > b->max || b->len > b->max - n)
		return PG_TOOLARGE;
	need = b->len + n + 1;
	if (need <= b->cap)
		return PG_OK;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if ((p = realloc(b->data, ncap)) == NULL)
		return PG_ENOMEM;
	b->data = p;
	b->cap = ncap;
	return PG_OK;
}

enum pg_err
buf_append(struct buf *b, const void *p, size_t n)
{
	enum pg_err	 e;

	if ((e = buf_reserve(b, n)) != PG_OK)
		return e;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return PG_OK;
}

enum pg_err
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

enum pg_err
buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

enum pg_err
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list		 ap2;
	int		 n;
	enum pg_err	 e;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return PG_EINVAL;
	if ((e = buf_reserve(b, (size_t)n)) != PG_OK)
		return e;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return PG_OK;
}

enum pg_err
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list		 ap;
	enum pg_err	 e;

	va_start(ap, fmt);
	e = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return e;
}

enum pg_err
buf_json_str(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
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
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			e = buf_append(b, esc, 6);
		} else
			e = buf_putc(b, (char)c);
	}
	if (e == PG_OK)
		e = buf_putc(b, '"');
	return e;
}

void
hex_encode(const void *in, size_t n, char *out)
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

static const char b64url_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
b64url_encode(const void *in, size_t n, int pad, char *out)
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
b64url_decode(const char *in, size_t len, unsigned char *out,
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
be64_put(unsigned char *p, uint64_t v)
{
	int	 i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

uint64_t
be64_get(const unsigned char *p)
{
	uint64_t v = 0;
	int	 i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int
hex_digit(int c)
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
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

char *
buf_take(struct buf *b, size_t *len)
{
	char	*p = b->data;

	if (len != NULL)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
