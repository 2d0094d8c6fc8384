/*
 * payguard - application/x-www-form-urlencoded with Stripe's bracket
 * notation (a[b]=c, items[0][price]=x, expand[]=y): decoding, encoding,
 * the JSON-to-form conversion that lets callers send JSON, and the
 * canonical form that idempotency fingerprints are taken over.
 */
#ifndef PG_FORM_H
#define PG_FORM_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

#define FORM_MAX_PAIRS	2048	/* parameters per request */
#define FORM_NAME_MAX	512	/* bytes of a decoded parameter name */
#define FORM_JSON_DEPTH	16	/* nesting accepted in a JSON body */

struct form_pair {
	char	*name;	/* decoded, NUL-terminated, no NUL inside */
	char	*value;	/* decoded, NUL-terminated, no NUL inside */
};

struct form {
	size_t			 n;
	size_t			 cap;
	struct form_pair	*p;
};

/* Prepares an empty form. */
void		 form_init(struct form *f);
/* Frees every pair.  NULL-safe; f may be reused after form_init. */
void		 form_free(struct form *f);
/* Appends a copy of name=value. */
enum pg_err	 form_add(struct form *f, const char *name, const char *value);
/*
 * Decodes s (len bytes) into f, appending.  PG_EINVAL for a bad %-escape,
 * an encoded NUL, invalid UTF-8, an empty, oversized or unbalanced
 * bracket name ("a[b", "a]b", "[x]"), or too many pairs.
 */
enum pg_err	 form_parse(const char *s, size_t len, struct form *f);
/*
 * Converts a JSON object into bracket-notation pairs: {"a":{"b":1}} is
 * a[b]=1, arrays are indexed (a[0]=x), true/false stay words, null becomes
 * "" (Stripe's way to unset).  PG_EINVAL for anything but an object, bad
 * JSON, invalid UTF-8, or nesting beyond FORM_JSON_DEPTH.
 */
enum pg_err	 form_from_json(const char *json, size_t len, struct form *f);
/* Percent-encodes f in order into out (appending). */
enum pg_err	 form_encode(const struct form *f, struct buf *out);
/*
 * Writes the canonical encoding: pairs stably sorted by name (the order
 * of same-named pairs, which is meaningful for a[] lists, is kept).
 */
enum pg_err	 form_canonical(const struct form *f, struct buf *out);

#endif /* PG_FORM_H */
