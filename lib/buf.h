/*
 * payguard - bounded, growable byte buffer (curl's dynbuf idea).
 *
 * Every buffer has a ceiling set at init; an append past it fails with
 * PG_TOOLARGE and leaves the buffer as it was.  The data is always
 * NUL-terminated so text users can treat it as a C string.
 */
#ifndef PG_BUF_H
#define PG_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct buf {
	char	*data;	/* NUL-terminated; NULL until the first append */
	size_t	 len;	/* bytes used, not counting the NUL */
	size_t	 cap;	/* bytes allocated */
	size_t	 max;	/* ceiling for len */
};

/* Prepares an empty buffer that may hold at most max bytes. */
void		 buf_init(struct buf *b, size_t max);
/* Appends n bytes; PG_TOOLARGE past the ceiling, PG_ENOMEM. */
enum pg_err	 buf_append(struct buf *b, const void *p, size_t n);
/* Appends a NUL-terminated string. */
enum pg_err	 buf_puts(struct buf *b, const char *s);
/* Appends one byte. */
enum pg_err	 buf_putc(struct buf *b, char c);
/* Appends formatted text. */
enum pg_err	 buf_printf(struct buf *b, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
enum pg_err	 buf_vprintf(struct buf *b, const char *fmt, va_list ap)
		    __attribute__((format(printf, 2, 0)));
/* Empties the buffer but keeps its memory and ceiling. */
void		 buf_reset(struct buf *b);
/* Hands the data to the caller (who frees it) and empties the buffer. */
char		*buf_take(struct buf *b, size_t *len);
/* Frees the data; the buffer may be reused after buf_init.  NULL-safe. */
void		 buf_free(struct buf *b);

#endif /* PG_BUF_H */
