/*
 * payguard - CSRF tokens for the admin page (see csrf.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "codec.h"
#include "crypto.h"
#include "csrf.h"
#include "rand.h"

#define CSRF_KEY	"audit.csrf_key"
#define KEY_LEN		32

struct keyctx {
	unsigned char	 key[KEY_LEN];
	int		 found;
};

static enum pg_err
get_txn(struct store_txn *t, void *arg)
{
	struct keyctx	*c = arg;
	const void	*v;
	size_t		 n;

	c->found = store_get(t, NS_META, CSRF_KEY, sizeof(CSRF_KEY) - 1, &v, &n,
	    NULL) == PG_OK && n == KEY_LEN;
	if (c->found)
		memcpy(c->key, v, KEY_LEN);
	return PG_OK;
}

static enum pg_err
create_txn(struct store_txn *t, void *arg)
{
	struct keyctx	*c = arg;
	enum pg_err	 e;

	/* Another process may have created it since we looked. */
	if ((e = get_txn(t, c)) != PG_OK || c->found)
		return e;
	if (rand_bytes(c->key, KEY_LEN) != PG_OK)
		return PG_CRYPTO;
	c->found = 1;
	return store_put(t, NS_META, CSRF_KEY, sizeof(CSRF_KEY) - 1, c->key,
	    KEY_LEN, 0, STORE_NOOVERWRITE);
}

/* The key: a read transaction, and a write one only the first time. */
static enum pg_err
get_key(struct store *st, struct keyctx *c)
{
	enum pg_err	 e;

	memset(c, 0, sizeof(*c));
	if ((e = store_run(st, 0, get_txn, c)) != PG_OK || c->found)
		return e;
	return store_run(st, 1, create_txn, c);
}

enum pg_err
csrf_token(struct store *st, const char *user, uint64_t hour,
    char out[CSRF_TOKEN_LEN + 1])
{
	struct keyctx	 c;
	unsigned char	 mac[32];
	char		 msg[300];
	int		 n;
	enum pg_err	 e;

	out[0] = '\0';
	n = snprintf(msg, sizeof(msg), "%s|%" PRIu64, user, hour);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return PG_TOOLARGE;
	if ((e = get_key(st, &c)) == PG_OK &&
	    (e = crypto_hmac_sha256(c.key, KEY_LEN, msg, (size_t)n, mac)) ==
	    PG_OK)
		codec_hex_encode(mac, sizeof(mac), out);
	crypto_wipe(&c, sizeof(c));
	return e;
}

int
csrf_check(struct store *st, const char *user, uint64_t hour, const char *tok)
{
	char	 want[CSRF_TOKEN_LEN + 1];

	if (tok == NULL || strlen(tok) != CSRF_TOKEN_LEN)
		return 0;
	if (csrf_token(st, user, hour, want) == PG_OK &&
	    crypto_equal(want, tok, CSRF_TOKEN_LEN))
		return 1;
	return csrf_token(st, user, hour - 1, want) == PG_OK &&
	    crypto_equal(want, tok, CSRF_TOKEN_LEN);
}
