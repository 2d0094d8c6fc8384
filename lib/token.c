/*
 * payguard - gateway tokens, stored as keyed hashes.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto.h"
#include "log.h"
#include "buf.h"
#include "codec.h"
#include "rand.h"
#include "redis.h"
#include "store_redis.h"
#include "token.h"

#define REC_VERSION	2
/* A version 1 record: everything before accounts. */
#define REC_V1_SIZE	offsetof(struct token_rec, accounts)
#define TOKEN_PREFIX	"pgk_"
#define TOKEN_RAND	32

/*
 * The tokens on Redis (PAYGUARD_STORE=redis, store_redis.h):
 *   pg:{tok}:n:<name>           hash: rec (struct token_rec), rev
 *   pg:{tok}:h:<hash hex>       the name, while the token is live
 */
#define TOK_NAME	"pg:{tok}:n:"
#define TOK_HASH	"pg:{tok}:h:"

/* KEYS: name record, hash key.  ARGV: rec, name.  0, -2 exists. */
static struct redis_script s_tok_create = { "token_create",
	"if ARGV[1] == '' or ARGV[2] == '' then\n"
	"  return redis.error_reply('ERR payguard token_create: bad arguments')\n"
	"end\n"
	"if redis.call('HGET', KEYS[1], 'rev') == '0' then return -2 end\n"
	"if redis.call('EXISTS', KEYS[2]) == 1 then return -2 end\n"
	"redis.call('SET', KEYS[2], ARGV[2])\n"
	"redis.call('HSET', KEYS[1], 'rec', ARGV[1], 'rev', 0)\n"
	"return 0\n", "" };

/* KEYS: name record, hash key.  ARGV: the record read, the revoked one. */
static struct redis_script s_tok_revoke = { "token_revoke",
	"local v = redis.call('HMGET', KEYS[1], 'rec', 'rev')\n"
	"if v[2] ~= '0' or v[1] ~= ARGV[1] then return -1 end\n"
	"redis.call('DEL', KEYS[2])\n"
	"redis.call('HSET', KEYS[1], 'rec', ARGV[2], 'rev', 1)\n"
	"return 0\n", "" };

/* "pg:{tok}:n:<name>" and "pg:{tok}:h:<hex>". */
static void
tok_keys(const char *name, const unsigned char hash[32], char *nk,
    size_t nksz, char *hk)
{
	snprintf(nk, nksz, TOK_NAME "%s", name);
	memcpy(hk, TOK_HASH, strlen(TOK_HASH));
	codec_hex_encode(hash, 32, hk + strlen(TOK_HASH));
}

#define TOK_NK_MAX	(sizeof(TOK_NAME) + TOKEN_NAME_MAX)
#define TOK_HK_MAX	(sizeof(TOK_HASH) + 64)

static enum pg_err
rs_token_create(struct rstore *rs, const char *name,
    const struct token_rec *rec)
{
	char		 nk[TOK_NK_MAX], hk[TOK_HK_MAX];
	const char	*argv[4] = { nk, hk, (const char *)rec, name };
	size_t		 al[4];
	redisReply	*rep = NULL;
	long long	 v = 0;
	enum pg_err	 e;

	tok_keys(name, rec->hash, nk, sizeof(nk), hk);
	al[0] = strlen(nk);
	al[1] = strlen(hk);
	al[2] = sizeof(*rec);
	al[3] = strlen(name);
	if ((e = redis_eval(rstore_redis(rs), &s_tok_create, 2, 4, argv, al, &rep)) !=
	    PG_OK)
		return e;
	e = rs_int_result(rep, &v);
	redis_reply_free(rep);
	if (e == PG_OK && v == -2)
		return PG_EXISTS;
	return e == PG_OK ? redis_wait_replicas(rstore_redis(rs)) : e;
}

/* Reads name's record. */
static enum pg_err
tok_get(struct rstore *rs, const char *name, struct token_rec *rec,
    int *revoked)
{
	char		 nk[TOK_NK_MAX];
	const char	*argv[4] = { "HMGET", nk, "rec", "rev" };
	redisReply	*rep = NULL;
	enum pg_err	 e;

	snprintf(nk, sizeof(nk), TOK_NAME "%s", name);
	if ((e = redis_cmd(rstore_redis(rs), 4, argv, NULL, &rep)) != PG_OK)
		return e;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_STRING)
		e = PG_NOTFOUND;
	else if (rep->element[0]->len != sizeof(*rec))
		e = PG_STORE;
	else {
		memcpy(rec, rep->element[0]->str, sizeof(*rec));
		*revoked = rs_num(rep->element[1]) != 0;
	}
	redis_reply_free(rep);
	return e;
}

/* KEYS: hash key.  ARGV: the name-record prefix.  {name, rec, rev}, or
 * {} when the hash is not live.  One round trip per gateway request; the
 * name record shares the {tok} tag with the hash key. */
static struct redis_script s_tok_lookup = { "token_lookup",
	"local name = redis.call('GET', KEYS[1])\n"
	"if not name then return {} end\n"
	"local v = redis.call('HMGET', ARGV[1] .. name, 'rec', 'rev')\n"
	"if not v[1] then return {} end\n"
	"return {name, v[1], v[2] or '0'}\n", "" };

static enum pg_err
rs_token_lookup(struct rstore *rs, const unsigned char hash[32],
    char name[TOKEN_NAME_MAX + 1], struct token_rec *rec)
{
	char		 hk[TOK_HK_MAX];
	const char	*argv[2] = { hk, TOK_NAME };
	redisReply	*rep = NULL, *n, *r;
	enum pg_err	 e;

	memcpy(hk, TOK_HASH, strlen(TOK_HASH));
	codec_hex_encode(hash, 32, hk + strlen(TOK_HASH));
	if ((e = redis_eval(rstore_redis(rs), &s_tok_lookup, 1, 2, argv, NULL,
	    &rep)) != PG_OK)
		return e;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3) {
		e = PG_NOTFOUND;
		goto out;
	}
	n = rep->element[0];
	r = rep->element[1];
	if (n->type != REDIS_REPLY_STRING || n->len == 0 ||
	    n->len > TOKEN_NAME_MAX || r->type != REDIS_REPLY_STRING ||
	    r->len != sizeof(*rec)) {
		e = PG_STORE;
		goto out;
	}
	memcpy(name, n->str, n->len);
	name[n->len] = '\0';
	memcpy(rec, r->str, sizeof(*rec));
	/* The hash must be this name's current one, and still live. */
	if (rs_num(rep->element[2]) != 0 || rec->revoked ||
	    CRYPTO_memcmp(rec->hash, hash, 32) != 0)
		e = PG_NOTFOUND;
out:
	redis_reply_free(rep);
	return e;
}

static enum pg_err
rs_token_revoke(struct rstore *rs, const char *name)
{
	struct token_rec old, nrec;
	char		 nk[TOK_NK_MAX], hk[TOK_HK_MAX];
	const char	*argv[4] = { nk, hk, (const char *)&old,
			    (const char *)&nrec };
	size_t		 al[4];
	redisReply	*rep = NULL;
	int		 revoked = 0;
	long long	 v = 0;
	enum pg_err	 e;

	if ((e = tok_get(rs, name, &old, &revoked)) != PG_OK)
		return e;
	if (revoked || old.revoked)
		return PG_NOTFOUND;
	nrec = old;
	nrec.revoked = 1;
	nrec.revoked_ms = store_now_ms();
	tok_keys(name, old.hash, nk, sizeof(nk), hk);
	al[0] = strlen(nk);
	al[1] = strlen(hk);
	al[2] = al[3] = sizeof(old);
	if ((e = redis_eval(rstore_redis(rs), &s_tok_revoke, 2, 4, argv, al, &rep)) !=
	    PG_OK)
		return e;
	e = rs_int_result(rep, &v);
	redis_reply_free(rep);
	if (e == PG_OK && v == -1)
		return PG_NOTFOUND;	/* revoked or replaced meanwhile */
	return e == PG_OK ? redis_wait_replicas(rstore_redis(rs)) : e;
}

static enum pg_err
rs_token_list(struct rstore *rs, token_list_fn fn, void *arg)
{
	char		 cursor[32] = "0";
	const char	*argv[6] = { "SCAN", cursor, "MATCH", TOK_NAME "*",
			    "COUNT", RS_SCAN_COUNT };
	redisReply	*rep = NULL, *keys;
	char		**names = NULL, **nn;
	size_t		 n = 0, cap = 0, i, plen = strlen(TOK_NAME);
	struct token_rec rec;
	int		 revoked;
	enum pg_err	 e = PG_OK;

	do {
		if ((e = redis_cmd(rstore_redis(rs), 6, argv, NULL, &rep)) != PG_OK)
			break;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->len >= sizeof(cursor)) {
			e = PG_STORE;
			break;
		}
		memcpy(cursor, rep->element[0]->str, rep->element[0]->len + 1);
		keys = rep->element[1];
		for (i = 0; i < keys->elements && e == PG_OK; i++) {
			if (keys->element[i]->len <= plen ||
			    keys->element[i]->len - plen > TOKEN_NAME_MAX)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 32;
				if ((nn = realloc(names, cap * sizeof(*nn))) ==
				    NULL) {
					e = PG_ENOMEM;
					break;
				}
				names = nn;
			}
			if ((names[n] = strndup(keys->element[i]->str + plen,
			    keys->element[i]->len - plen)) == NULL)
				e = PG_ENOMEM;
			else
				n++;
		}
		redis_reply_free(rep);
		rep = NULL;
	} while (e == PG_OK && strcmp(cursor, "0") != 0);
	if (rep != NULL)
		redis_reply_free(rep);
	if (e == PG_OK && n > 0)
		qsort(names, n, sizeof(*names), rs_strcmp_p);
	for (i = 0; i < n && e == PG_OK; i++) {
		if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
			continue;
		if ((e = tok_get(rs, names[i], &rec, &revoked)) == PG_NOTFOUND) {
			e = PG_OK;
			continue;
		}
		if (e == PG_OK && fn(names[i], &rec, arg) != 0)
			break;
	}
	rs_strv_free(names, n);
	return e;
}

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

/*
 * Migration (`payguard store migrate`, token.h): a token travels as its
 * LMDB name record, key "n:<name>", value struct token_rec; the hash
 * index is derived from it on arrival.
 */

/* KEYS: name record, hash key.  ARGV: rec, name, revoked.  1 stored, 0
 * already there (never overwritten). */
static struct redis_script s_tok_import = { "token_import",
	"if ARGV[1] == '' or ARGV[2] == '' then\n"
	"  return redis.error_reply('ERR payguard token_import: bad arguments')\n"
	"end\n"
	"if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
	"if ARGV[3] == '0' then\n"
	"  if redis.call('EXISTS', KEYS[2]) == 1 then\n"
	"    return redis.error_reply('ERR payguard token_import: hash taken')\n"
	"  end\n"
	"  redis.call('SET', KEYS[2], ARGV[2])\n"
	"end\n"
	"redis.call('HSET', KEYS[1], 'rec', ARGV[1], 'rev', ARGV[3])\n"
	"return 1\n", "" };

struct tok_mig {
	store_scan_fn	 fn;
	void		*arg;
	const char	*name;
	struct token_rec rec;
	int		 added;
};

static int
rs_export_one(const char *name, const struct token_rec *r, void *arg)
{
	struct tok_mig	*m = arg;
	char		 k[TOKEN_NAME_MAX + 3];

	return m->fn(k, name_key(name, k), r, sizeof(*r), 0, m->arg);
}

static enum pg_err
mig_export_txn(struct store_txn *t, void *arg)
{
	struct tok_mig	*m = arg;

	return store_scan(t, NS_TOKEN, "n:", 2, "n;", 2, 0, m->fn, m->arg);
}

static enum pg_err
mig_import_txn(struct store_txn *t, void *arg)
{
	struct tok_mig	*m = arg;
	char		 nk[TOKEN_NAME_MAX + 3];
	unsigned char	 hk[34];
	size_t		 nlen = name_key(m->name, nk);
	enum pg_err	 e;

	m->added = 0;
	e = store_put(t, NS_TOKEN, nk, nlen, &m->rec, sizeof(m->rec), 0,
	    STORE_NOOVERWRITE);
	if (e == PG_EXISTS)
		return PG_OK;
	if (e != PG_OK)
		return e;
	m->added = 1;
	if (m->rec.revoked)
		return PG_OK;
	hash_key(m->rec.hash, hk);
	return store_put(t, NS_TOKEN, hk, sizeof(hk), m->name,
	    strlen(m->name), 0, STORE_NOOVERWRITE);
}

static enum pg_err
mig_has_txn(struct store_txn *t, void *arg)
{
	struct tok_mig	*m = arg;
	char		 nk[TOKEN_NAME_MAX + 3];
	const void	*v;
	size_t		 vlen;

	return store_get(t, NS_TOKEN, nk, name_key(m->name, nk), &v, &vlen,
	    NULL);
}

/* The name in an LMDB name-record key "n:<name>"; 0 when it is none. */
static int
mig_name(const void *key, size_t klen, char name[TOKEN_NAME_MAX + 1])
{
	if (klen < 3 || klen - 2 > TOKEN_NAME_MAX ||
	    memcmp(key, "n:", 2) != 0)
		return 0;
	memcpy(name, (const char *)key + 2, klen - 2);
	name[klen - 2] = '\0';
	return token_valid_name(name);
}

enum pg_err
token_export(struct store *st, struct rstore *rs, store_scan_fn fn,
    void *arg)
{
	struct tok_mig	 m;

	memset(&m, 0, sizeof(m));
	m.fn = fn;
	m.arg = arg;
	if (rs != NULL)
		return rs_token_list(rs, rs_export_one, &m);
	return store_run(st, 0, mig_export_txn, &m);
}

enum pg_err
token_import(struct store *st, struct rstore *rs, const void *key,
    size_t klen, const void *val, size_t vlen, int *added)
{
	struct tok_mig	 m;
	char		 name[TOKEN_NAME_MAX + 1], nk[TOK_NK_MAX], hk[TOK_HK_MAX];
	const char	*argv[5];
	size_t		 al[5];
	redisReply	*rep = NULL;
	long long	 v = 0;
	enum pg_err	 e;

	*added = 0;
	memset(&m, 0, sizeof(m));
	/* Version 1 records arrive as version 2 (accounts empty). */
	if (!mig_name(key, klen, name) || !rec_load(val, vlen, &m.rec))
		return PG_EINVAL;
	m.name = name;
	if (rs == NULL) {
		if ((e = store_run(st, 1, mig_import_txn, &m)) == PG_OK)
			*added = m.added;
		return e;
	}
	tok_keys(name, m.rec.hash, nk, sizeof(nk), hk);
	argv[0] = nk;
	argv[1] = hk;
	argv[2] = (const char *)&m.rec;
	argv[3] = name;
	argv[4] = m.rec.revoked ? "1" : "0";
	al[0] = strlen(nk);
	al[1] = strlen(hk);
	al[2] = sizeof(m.rec);
	al[3] = strlen(name);
	al[4] = 1;
	if ((e = redis_eval(rstore_redis(rs), &s_tok_import, 2, 5, argv, al,
	    &rep)) != PG_OK)
		return e;
	e = rs_int_result(rep, &v);
	redis_reply_free(rep);
	if (e == PG_OK && v == 1) {
		*added = 1;
		e = redis_wait_replicas(rstore_redis(rs));
	}
	return e;
}

enum pg_err
token_has(struct store *st, struct rstore *rs, const void *key, size_t klen)
{
	struct tok_mig	 m;
	char		 name[TOKEN_NAME_MAX + 1], nk[TOK_NK_MAX];

	if (!mig_name(key, klen, name))
		return PG_EINVAL;
	if (rs != NULL) {
		snprintf(nk, sizeof(nk), TOK_NAME "%s", name);
		return rs_exists(rs, nk);
	}
	memset(&m, 0, sizeof(m));
	m.name = name;
	return store_run(st, 0, mig_has_txn, &m);
}
