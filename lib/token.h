/*
 * payguard - gateway tokens ("pgk_" + 43 url-safe characters).
 *
 * The token is shown once, at creation; the store keeps only its keyed
 * hash (HMAC-SHA256 under a server-side pepper: PAYGUARD_TOKEN_PEPPER, or
 * a generated state_dir/token.key), so a copy of the store does not yield
 * usable tokens.  NS_TOKEN holds "n:<name>" -> record and
 * "h:<hash>" -> name for the lookup by token.
 */
#ifndef PG_TOKEN_H
#define PG_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "store.h"

#define TOKEN_NAME_MAX	64
#define TOKEN_STR_MAX	64	/* "pgk_" + 43 + NUL fits */
#define TOKEN_OPS_MAX	256
#define TOKEN_ACCOUNTS_MAX 512
#define TOKEN_ACCOUNT_MAX 64	/* one "acct_..." id */

enum token_scope {
	SCOPE_READ = 0,	/* GET only */
	SCOPE_WRITE	/* GET, POST, DELETE */
};

struct token_rec {
	uint32_t	 version;
	uint32_t	 scope;
	uint32_t	 revoked;
	uint32_t	 pad;
	uint64_t	 created_ms;
	uint64_t	 revoked_ms;
	unsigned char	 hash[32];
	char		 ops[TOKEN_OPS_MAX];	/* "" = every operation */
	/* Connect accounts the token may name (Stripe-Account or
	 * Stripe-Context): "acct_1,acct_2", "*" for any, "" for none.
	 * Absent from version 1 records, which read as "". */
	char		 accounts[TOKEN_ACCOUNTS_MAX];
};

struct token_ctx {
	unsigned char	 key[64];
	size_t		 keylen;
};

/* Loads the pepper (configured, or the generated key file). */
enum pg_err	 token_ctx_init(const struct config *cfg, struct token_ctx *t);
/* Wipes the pepper. */
void		 token_ctx_wipe(struct token_ctx *t);
/* Returns 1 if name is 1-64 of [A-Za-z0-9._-]. */
int		 token_valid_name(const char *name);
/*
 * Creates token name; out gets the token (shown once).  accounts: the
 * Connect accounts it may act on ("acct_1,acct_2", "*" any, "" none).
 * PG_EXISTS when a live token has that name; PG_EINVAL for a bad name,
 * ops list or accounts list.
 */
enum pg_err	 token_create(struct store *st, const struct token_ctx *t,
		    const char *name, enum token_scope scope, const char *ops,
		    const char *accounts, char out[TOKEN_STR_MAX]);
/*
 * Finds the live token tok: PG_OK with its name and record, PG_NOTFOUND
 * for unknown or revoked tokens, PG_EINVAL for a malformed one.
 */
enum pg_err	 token_verify(struct store *st, const struct token_ctx *t,
		    const char *tok, char name[TOKEN_NAME_MAX + 1],
		    struct token_rec *rec);
/* Revokes name (its hash stops resolving).  PG_NOTFOUND when absent. */
enum pg_err	 token_revoke(struct store *st, const char *name);

typedef int (*token_list_fn)(const char *name, const struct token_rec *r,
		    void *arg);
/* Visits every token record in name order. */
enum pg_err	 token_list(struct store *st, token_list_fn fn, void *arg);
/* Returns 1 if s is an "acct_" id of [A-Za-z0-9], at most 63 chars. */
int		 token_valid_account(const char *s, size_t len);
/*
 * Returns 1 if r may act on account (an acct_ id, or a Stripe-Context
 * path "acct_1/acct_2": every account in it must be allowed).
 */
int		 token_allows_account(const struct token_rec *r,
		    const char *account);
/* Returns 1 if r may call method on operation op. */
int		 token_allows(const struct token_rec *r, const char *method,
		    const char *op);

/*
 * Migration between the backends (`payguard store migrate`); rs NULL
 * means the LMDB environment st, else Redis.  A token travels as its
 * name record: key "n:<name>", value struct token_rec (only the keyed
 * hash, never the token); the hash index is rebuilt on arrival.
 *   token_export  visits every name record (revoked ones too):
 *                 fn(key, klen, rec, reclen, 0, arg), 0 to go on
 *   token_import  stores one unless the name is present (*added 1 when
 *                 stored now; never overwrites)
 *   token_has     PG_OK when the name is stored, PG_NOTFOUND when not
 */
struct rstore;
enum pg_err	 token_export(struct store *st, struct rstore *rs,
		    store_scan_fn fn, void *arg);
enum pg_err	 token_import(struct store *st, struct rstore *rs,
		    const void *key, size_t klen, const void *val, size_t vlen,
		    int *added);
enum pg_err	 token_has(struct store *st, struct rstore *rs,
		    const void *key, size_t klen);

#endif /* PG_TOKEN_H */
