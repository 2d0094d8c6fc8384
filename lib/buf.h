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
/* Appends s as a JSON string literal, quotes included. */
enum pg_err	 buf_json_str(struct buf *b, const char *s, size_t n);
/* Writes n bytes as 2n lowercase hex digits + NUL into out. */
void		 hex_encode(const void *in, size_t n, char *out);
/* Returns the value of hex digit c (either case), or -1. */
int		 hex_digit(int c);
/*
 * Writes n bytes as url-safe base64 (RFC 4648 section 5), with '='
 * padding when pad != 0, + NUL into out ((n + 2) / 3 * 4 + 1 bytes);
 * returns the length written, NUL not counted.
 */
size_t		 b64url_encode(const void *in, size_t n, int pad, char *out);
/*
 * Strictly decodes len chars of padded url-safe base64 into out (at
 * least len / 4 * 3 bytes); *outlen gets the decoded length.  Returns 0,
 * or -1 for anything non-canonical (bad length, character, padding or
 * filler bits), so that no two strings decode alike.
 */
int		 b64url_decode(const char *in, size_t len, unsigned char *out,
		    size_t *outlen);
/* Writes v big-endian into p[0..7]. */
void		 be64_put(unsigned char *p, uint64_t v);
/* Reads a big-endian 64-bit value from p[0..7]. */
uint64_t	 be64_get(const unsigned char *p);
/* Empties the buffer but keeps its memory and ceiling. */
void		 buf_reset(struct buf *b);
/* Hands the data to the caller (who frees it) and empties the buffer. */
char		*buf_take(struct buf *b, size_t *len);
/* Frees the data; the buffer may be reused after buf_init.  NULL-safe. */
void		 buf_free(struct buf *b);

#endif /* PG_BUF_H */
