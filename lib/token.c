/*
 * payguard - gateway tokens, stored as keyed hashes.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto.h"
#include "log.h"
#include "buf.h"
#include "codec.h"
#include "store_redis.h"
#include "token.h"
#include "rand.h"

#define REC_VERSION	2
/* A version 1 record: everything before accounts. */
#define REC_V1_SIZE	offsetof(struct token_rec, accounts)
#define TOKEN_PREFIX	"pgk_"
#define TOKEN_RAND	32

enum pg_err
token_ctx_init(const struct config *cfg, struct token_ctx *t)
{
	struct fernet_key k;
	size_t		 n;
	enum pg_err	 e;

	memset(t, 0, sizeof(*t));
	if (cfg->token_pepper != NULL) {
		n = strlen(cfg->token_pepper);
		if (n < 16 || n > sizeof(t->key)) {
			log_warnx("PAYGUARD_TOKEN_PEPPER: must be 16-64 bytes");
			return PG_CONFIG;
		}
		memcpy(t->key, cfg->token_pepper, n);
		t->keylen = n;
		return PG_OK;
	}
	if ((e = crypto_keyfile(cfg->state_dir, "token.key", &k)) != PG_OK)
		return e;
	memcpy(t->key, k.sign, 16);
	memcpy(t->key + 16, k.enc, 16);
	t->keylen = 32;
	OPENSSL_cleanse(&k, sizeof(k));
	return PG_OK;
}

void
token_ctx_wipe(struct token_ctx *t)
{
	OPENSSL_cleanse(t, sizeof(*t));
}

int
token_valid_name(const char *s)
{
	size_t	 n = 0;

	for (; s[n] != '\0'; n++)
		if (n >= TOKEN_NAME_MAX || !((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') ||
		    s[n] == '.' || s[n] == '_' || s[n] == '-'))
			return 0;
	return n > 0;
}

static int
valid_ops(const char *ops)
{
	size_t	 i;

	if (strlen(ops) >= TOKEN_OPS_MAX)
		return 0;
	for (i = 0; ops[i] != '\0'; i++)
		if (!((ops[i] >= 'a' && ops[i] <= 'z') || ops[i] == '_' ||
		    ops[i] == ','))
			return 0;
	return 1;
}

int
token_valid_account(const char *s, size_t len)
{
	size_t	 i;

	if (len < 6 || len >= TOKEN_ACCOUNT_MAX || strncmp(s, "acct_", 5) != 0)
		return 0;
	for (i = 5; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

/* "", "*" or comma-separated acct_ ids. */
static int
valid_accounts(const char *s)
{
	const char	*p, *e;

	if (strlen(s) >= TOKEN_ACCOUNTS_MAX)
		return 0;
	if (*s == '\0' || strcmp(s, "*") == 0)
		return 1;
	for (p = s; ; p = e + 1) {
		e = p + strcspn(p, ",");
		if (!token_valid_account(p, (size_t)(e - p)))
			return 0;
		if (*e == '\0')
			return 1;
	}
}

/* A stored record of either version into r.  0 when malformed. */
static int
rec_load(const void *v, size_t vlen, struct token_rec *r)
{
	memset(r, 0, sizeof(*r));
	if (vlen != sizeof(*r) && vlen != REC_V1_SIZE)
		return 0;
	memcpy(r, v, vlen);
	r->accounts[sizeof(r->accounts) - 1] = '\0';
	r->ops[sizeof(r->ops) - 1] = '\0';
	return 1;
}

static void
token_hash(const struct token_ctx *t, const char *tok, unsigned char out[32])
{
	unsigned int	 n = 32;

	HMAC(EVP_sha256(), t->key, (int)t->keylen,
	    (const unsigned char *)tok, strlen(tok), out, &n);
}

static size_t
name_key(const char *name, char *k)
{
	return (size_t)snprintf(k, TOKEN_NAME_MAX + 3, "n:%s", name);
}

static void
hash_key(const unsigned char h[32], unsigned char k[34])
{
	k[0] = 'h';
	k[1] = ':';
	memcpy(k + 2, h, 32);
}

struct create_ctx {
	const char		*name;
	struct token_rec	 rec;
};

static enum pg_err
create_txn(struct store_txn *txn, void *arg)
{
	struct create_ctx *c = arg;
	char		 nk[TOKEN_NAME_MAX + 3];
	unsigned char	 hk[34];
	const void	*v;
	size_t		 vlen, nlen = name_key(c->name, nk);
	struct token_rec old;

	if (store_get(txn, NS_TOKEN, nk, nlen, &v, &vlen, NULL) == PG_OK &&
	    rec_load(v, vlen, &old)) {
		if (!old.revoked)
			return PG_EXISTS;
	}
	hash_key(c->rec.hash, hk);
	if (store_put(txn, NS_TOKEN, hk, sizeof(hk), c->name,
	    strlen(c->name), 0, STORE_NOOVERWRITE) != PG_OK)
		return PG_STORE;
	return store_put(txn, NS_TOKEN, nk, nlen, &c->rec, sizeof(c->rec), 0, 0);
}

enum pg_err
token_create(struct store *st, const struct token_ctx *t, const char *name,
    enum token_scope scope, const char *ops, const char *accounts,
    char out[TOKEN_STR_MAX])
{
	struct create_ctx c;
	unsigned char	 r[TOKEN_RAND];
	enum pg_err	 e;

	if (!token_valid_name(name) || ops == NULL || !valid_ops(ops) ||
	    accounts == NULL || !valid_accounts(accounts))
		return PG_EINVAL;
	if (rand_bytes(r, sizeof(r)) != PG_OK)
		return PG_CRYPTO;
	memcpy(out, TOKEN_PREFIX, 4);
	codec_b64url_encode(r, sizeof(r), 0, out + 4);
	OPENSSL_cleanse(r, sizeof(r));
	memset(&c, 0, sizeof(c));
	c.name = name;
	c.rec.version = REC_VERSION;
	c.rec.scope = scope;
	c.rec.created_ms = store_now_ms();
	snprintf(c.rec.ops, sizeof(c.rec.ops), "%s", ops);
	snprintf(c.rec.accounts, sizeof(c.rec.accounts), "%s", accounts);
	token_hash(t, out, c.rec.hash);
	if (store_shared(st) != NULL)
		e = rs_token_create(store_shared(st), name, &c.rec);
	else
		e = store_run(st, 1, create_txn, &c);
	if (e != PG_OK)
		OPENSSL_cleanse(out, TOKEN_STR_MAX);
	return e;
}

struct verify_ctx {
	unsigned char		 hash[32];
	char			*name;
	struct token_rec	*rec;
};

static enum pg_err
verify_txn(struct store_txn *txn, void *arg)
{
	struct verify_ctx *c = arg;
	unsigned char	 hk[34];
	char		 nk[TOKEN_NAME_MAX + 3];
	const void	*v;
	size_t		 vlen;
	enum pg_err	 e;

	hash_key(c->hash, hk);
	if ((e = store_get(txn, NS_TOKEN, hk, sizeof(hk), &v, &vlen,
	    NULL)) != PG_OK)
		return e;
	if (vlen == 0 || vlen > TOKEN_NAME_MAX)
		return PG_STORE;
	memcpy(c->name, v, vlen);
	c->name[vlen] = '\0';
	if ((e = store_get(txn, NS_TOKEN, nk, name_key(c->name, nk), &v, &vlen,
	    NULL)) != PG_OK)
		return e == PG_NOTFOUND ? PG_NOTFOUND : e;
	if (!rec_load(v, vlen, c->rec))
		return PG_STORE;
	/* The hash must be this name's current one, and still live. */
	if (c->rec->revoked || CRYPTO_memcmp(c->rec->hash, c->hash, 32) != 0)
		return PG_NOTFOUND;
	return PG_OK;
}

enum pg_err
token_verify(struct store *st, const struct token_ctx *t, const char *tok,
    char name[TOKEN_NAME_MAX + 1], struct token_rec *rec)
{
	struct verify_ctx c;
	size_t		 i, n = strlen(tok);

	if (n != 4 + 43 || strncmp(tok, TOKEN_PREFIX, 4) != 0)
		return PG_EINVAL;
	for (i = 4; i < n; i++)
		if (!((tok[i] >= 'a' && tok[i] <= 'z') ||
		    (tok[i] >= 'A' && tok[i] <= 'Z') ||
		    (tok[i] >= '0' && tok[i] <= '9') || tok[i] == '-' ||
		    tok[i] == '_'))
			return PG_EINVAL;
	c.name = name;
	c.rec = rec;
	token_hash(t, tok, c.hash);
	if (store_shared(st) != NULL)
		return rs_token_lookup(store_shared(st), c.hash, name, rec);
	return store_run(st, 0, verify_txn, &c);
}

static enum pg_err
revoke_txn(struct store_txn *txn, void *arg)
{
	const char	*name = arg;
	char		 nk[TOKEN_NAME_MAX + 3];
	unsigned char	 hk[34];
	const void	*v;
	size_t		 vlen, nlen = name_key(name, nk);
	struct token_rec r;
	enum pg_err	 e;

	if ((e = store_get(txn, NS_TOKEN, nk, nlen, &v, &vlen, NULL)) != PG_OK)
		return e;
	if (!rec_load(v, vlen, &r))
		return PG_STORE;
	if (r.revoked)
		return PG_NOTFOUND;
	hash_key(r.hash, hk);
	e = store_del(txn, NS_TOKEN, hk, sizeof(hk));
	if (e != PG_OK && e != PG_NOTFOUND)
		return e;
	r.revoked = 1;
	r.revoked_ms = store_now_ms();
	return store_put(txn, NS_TOKEN, nk, nlen, &r, sizeof(r), 0, 0);
}

enum pg_err
token_revoke(struct store *st, const char *name)
{
	if (!token_valid_name(name))
		return PG_EINVAL;
	if (store_shared(st) != NULL)
		return rs_token_revoke(store_shared(st), name);
	return store_run(st, 1, revoke_txn, (void *)name);
}

struct list_ctx {
	token_list_fn	 fn;
	void		*arg;
};

static int
list_one(const void *k, size_t klen, const void *v, size_t vlen,
    uint64_t exp, void *arg)
{
	struct list_ctx	*l = arg;
	char		 name[TOKEN_NAME_MAX + 1];
	struct token_rec r;

	(void)exp;
	if (klen < 3 || klen - 2 > TOKEN_NAME_MAX || !rec_load(v, vlen, &r) ||
	    memcmp(k, "n:", 2) != 0)
		return 0;
	memcpy(name, (const char *)k + 2, klen - 2);
	name[klen - 2] = '\0';
	return l->fn(name, &r, l->arg) != 0;
}

static enum pg_err
list_txn(struct store_txn *txn, void *arg)
{
	return store_scan(txn, NS_TOKEN, "n:", 2, "n;", 2, 0, list_one, arg);
}

enum pg_err
token_list(struct store *st, token_list_fn fn, void *arg)
{
	struct list_ctx	 l = { fn, arg };

	if (store_shared(st) != NULL)
		return rs_token_list(store_shared(st), fn, arg);
	return store_run(st, 0, list_txn, &l);
}

int
token_allows(const struct token_rec *r, const char *method, const char *op)
{
	const char	*p;
	size_t		 n = strlen(op);

	if (strcmp(method, "GET") != 0 && r->scope != SCOPE_WRITE)
		return 0;
	if (r->ops[0] == '\0')
		return 1;
	for (p = r->ops; *p != '\0'; p += strcspn(p, ",")) {
		if (*p == ',')
			p++;
		if (strncmp(p, op, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
	}
	return 0;
}

/* Returns 1 if the list allows the one account a (length n). */
static int
list_has(const char *list, const char *a, size_t n)
{
	const char	*p;
	size_t		 m;

	for (p = list; *p != '\0'; p += m + (p[m] == ',')) {
		m = strcspn(p, ",");
		if (m == n && strncmp(p, a, n) == 0)
			return 1;
	}
	return 0;
}

int
token_allows_account(const struct token_rec *r, const char *account)
{
	const char	*p;
	size_t		 n;

	if (r->accounts[0] == '\0')
		return 0;
	for (p = account; ; p += n + 1) {
		n = strcspn(p, "/");
		if (!token_valid_account(p, n))
			return 0;
		if (strcmp(r->accounts, "*") != 0 && !list_has(r->accounts, p, n))
			return 0;
		if (p[n] == '\0')
			return 1;
	}
}
