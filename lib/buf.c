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
