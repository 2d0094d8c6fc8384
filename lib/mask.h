/*
 * payguard - masking of card numbers, emails and secrets for display and
 * logs (PCI DSS 3.4.1: at most BIN and last four), and deep masking of
 * json-c values.  Every log line and audit record goes through here.
 *
 * The string functions write a NUL-terminated result into out (outsz
 * bytes) and return PG_TOOLARGE if it does not fit (out is then "").
 */
#ifndef PG_MASK_H
#define PG_MASK_H

#include <stddef.h>

#include <json-c/json.h>

#include "err.h"

/* All but the last four digits become '*', length kept; spaces/dashes
 * are dropped first.  "4242424242424242" -> "************4242". */
enum pg_err	 mask_card(const char *in, char *out, size_t outsz);
/* Keeps at most the first six and the last four digits. */
enum pg_err	 mask_card_bin(const char *in, char *out, size_t outsz);
/* "user@example.com" -> "u***r@example.com"; short local parts never
 * reveal the whole local part; no '@' masks the whole value. */
enum pg_err	 mask_email(const char *in, char *out, size_t outsz);
/* Keeps a known prefix (sk_live_, sk_test_, rk_live_, rk_test_, pk_live_,
 * pk_test_, whsec_, pgk_) and the last four; anything else "****". */
enum pg_err	 mask_secret(const char *in, char *out, size_t outsz);
/* Picks card/email/secret by the shape of the value. */
enum pg_err	 mask_auto(const char *in, char *out, size_t outsz);
/*
 * Replaces every Luhn-valid run of 13-19 digits (groups joined by the
 * separators of pci_sep_len) inside free text by its mask_card form.  A
 * longer run, or one that fails Luhn as a whole, has all its digits
 * replaced by '*' when any 13-19 digit window of it passes Luhn (over-
 * masking by design).  The result is never longer than the input.
 * *out is malloc'd, the caller frees it.
 */
enum pg_err	 mask_text(const char *in, size_t len, char **out);
/* As mask_text, also giving the result's length (it may hold NULs). */
enum pg_err	 mask_text_len(const char *in, size_t len, char **out,
		    size_t *outlen);
/* Returns 1 if key names a sensitive field (number, cvc, email, ...). */
int		 mask_is_sensitive_key(const char *key);
/*
 * Masks v in place, recursively: by key name (cvc/cvv and similar are
 * removed entirely) and by value (embedded PANs).  Depth-bounded.
 */
enum pg_err	 mask_json(struct json_object *v);

#endif /* PG_MASK_H */
