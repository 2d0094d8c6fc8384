/*
 * payguard - CSRF tokens for the admin page's forms.
 *
 * A token is hex(HMAC-SHA256(key, user "|" hour)): bound to the admin and
 * to the hour, stateless, no cookie.  The key is 32 random bytes kept in
 * the store (NS_META), created by the first view that needs it; every
 * later view only reads it.
 */
#ifndef PG_CSRF_H
#define PG_CSRF_H

#include <stdint.h>

#include "err.h"
#include "store.h"

#define CSRF_TOKEN_LEN	64	/* hex digits */

/* Writes the token of user for hour into out (NUL-terminated). */
enum pg_err	 csrf_token(struct store *st, const char *user, uint64_t hour,
		    char out[CSRF_TOKEN_LEN + 1]);
/*
 * Returns 1 if tok is user's token for hour or for the hour before (a
 * page loaded just before the hour turned), else 0.
 */
int		 csrf_check(struct store *st, const char *user, uint64_t hour,
		    const char *tok);

#endif /* PG_CSRF_H */
