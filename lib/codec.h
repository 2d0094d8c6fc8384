/*
 * payguard - codecs: hex, url-safe base64, big-endian integers, JSON
 * string literals, percent-encoding (application/x-www-form-urlencoded),
 * query-string and comma-list splitting.  Pure functions, bounded, no store, no I/O.
 */
#ifndef PG_CODEC_H
#define PG_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* Returns the value of hex digit c (either case), or -1. */
int		 codec_hex_digit(int c);
/* Writes n bytes as 2n lowercase hex digits + NUL into out. */
void		 codec_hex_encode(const void *in, size_t n, char *out);
/* Decodes 2n hex digits (either case) of s into out; -1 on a non-digit. */
int		 codec_hex_decode(const char *s, size_t n, unsigned char *out);
/*
 * Writes n bytes as url-safe base64 (RFC 4648 section 5), with '='
 * padding when pad != 0, + NUL into out ((n + 2) / 3 * 4 + 1 bytes);
 * returns the length written, NUL not counted.
 */
size_t		 codec_b64url_encode(const void *in, size_t n, int pad,
		    char *out);
/*
 * Strictly decodes len chars of padded url-safe base64 into out (at
 * least len / 4 * 3 bytes); *outlen gets the decoded length.  Returns 0,
 * or -1 for anything non-canonical (bad length, character, padding or
 * filler bits), so that no two strings decode alike.
 */
int		 codec_b64url_decode(const char *in, size_t len,
		    unsigned char *out, size_t *outlen);
/* Writes v big-endian into p[0..7]. */
void		 codec_be64_put(unsigned char *p, uint64_t v);
/* Reads a big-endian 64-bit value from p[0..7]. */
uint64_t	 codec_be64_get(const unsigned char *p);
/* Appends s (n bytes) to b as a JSON string literal, quotes included. */
enum pg_err	 codec_json_str(struct buf *b, const char *s, size_t n);

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

/*
 * Splits the next item off the comma-separated list at *p (NUL-
 * terminated): spaces and commas before it skipped, the item running to
 * the next comma or the end (spaces after it kept: the caller trims what
 * it parses).  Sets *item and *len, advances *p past the item.  Returns 1
 * for an item, 0 at the end.
 */
int		 codec_list_next(const char **p, const char **item,
		    size_t *len);

#endif /* PG_CODEC_H */
