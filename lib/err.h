/*
 * payguard - one error enum for every lib/ module.
 *
 * Third-party codes (LMDB, OpenSSL, json-c, libcurl) are translated into
 * these at the wrapper that calls the library; callers never see them.
 */
#ifndef PG_ERR_H
#define PG_ERR_H

enum pg_err {
	PG_OK = 0,	/* success */
	PG_ENOMEM,	/* allocation failed */
	PG_EINVAL,	/* malformed input or argument */
	PG_NOTFOUND,	/* no such record */
	PG_EXISTS,	/* record already present (insert-if-absent lost) */
	PG_TOOLARGE,	/* input exceeds a configured or fixed bound */
	PG_STORE,	/* state store failed */
	PG_CRYPTO,	/* cryptographic operation failed (bad token, bad MAC) */
	PG_SYSTEM,	/* system call failed; errno has the detail */
	PG_CONFIG,	/* configuration missing or malformed */
	PG_TIMEOUT,	/* an operation ran out of time */
	PG_CONFLICT,	/* concurrent use of the same resource */
	PG_EXPIRED,	/* record or token is past its lifetime */
	PG_UPSTREAM,	/* upstream (Stripe, handler) failed */
	PG__MAX
};

/* Returns a static, human-readable string for e; never NULL. */
const char	*pg_strerror(enum pg_err e);

#endif /* PG_ERR_H */
