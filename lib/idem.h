/*
 * payguard - idempotency records for the API gateway (Stripe's semantics,
 * stripe-semantics.md §2, and field-notes §4's state machine).
 *
 * A record per (identity, Idempotency-Key) in NS_IDEM:
 *   absent -> IN_FLIGHT (atomic insert; owner, lock time, fingerprint,
 *             the key forwarded upstream)
 *   IN_FLIGHT, lock fresh        -> 409 for a concurrent request
 *   IN_FLIGHT, lock older than the timeout (owner died) -> taken over
 *   IN_FLIGHT -> DONE with the upstream status and body (sealed)
 *   any, other fingerprint       -> 400 idempotency_error
 *   DONE, same fingerprint       -> replay
 * Records expire PAYGUARD_IDEMPOTENCY_TTL after creation.
 */
#ifndef PG_IDEM_H
#define PG_IDEM_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "crypto.h"
#include "err.h"
#include "store.h"
#include "store_redis.h"

#define IDEM_KEY_MAX	255
#define IDEM_UPKEY_MAX	64

enum idem_outcome {
	IDEM_PROCEED = 0,	/* this request owns the key: call upstream */
	IDEM_REPLAY,		/* completed before: replay status and body */
	IDEM_IN_PROGRESS,	/* another request holds the key right now */
	IDEM_MISMATCH		/* the key was used with other parameters */
};

struct idem_result {
	enum idem_outcome	 outcome;
	char			 upstream_key[IDEM_UPKEY_MAX + 1];
	int			 status;	/* IDEM_REPLAY */
	unsigned char		*body;		/* IDEM_REPLAY, malloc'd */
	size_t			 bodylen;
	int			 taken_over;	/* a dead owner's key */
};

/*
 * Parses an Idempotency-Key header value: 1-255 printable ASCII
 * characters, or the same inside an RFC 8941 sf-string ("...", with \"
 * and \\ escapes).  Writes the key into out.  PG_EINVAL otherwise.
 */
enum pg_err	 idem_parse_key(const char *hdr, char out[IDEM_KEY_MAX + 1]);
/* Computes the request fingerprint: SHA-256 of method, path and the
 * canonical parameters.  PG_CRYPTO when the digest fails (never a
 * stand-in value: two requests must not share a fingerprint by accident). */
enum pg_err	 idem_fingerprint(const char *method, const char *path,
		    const char *canonical, size_t len, unsigned char fp[32]);
/* As idem_fingerprint, also over the canonical query string (qlen bytes;
 * forwarded upstream, so part of the request).  An empty query gives
 * idem_fingerprint's value, so records stored before stay valid. */
enum pg_err	 idem_fingerprint_query(const char *method, const char *path,
		    const char *query, size_t qlen, const char *canonical,
		    size_t len, unsigned char fp[32]);
/*
 * Writes the upstream key of a client's request: "pg_" and 32 hex digits
 * of an HMAC, under a subkey of the key ring's primary key, over
 * identity, key and the request fingerprint.  Every retry of one request
 * gets the same key, even after its record was lost (a Redis failover),
 * so Stripe never sees two keys for it; the same key with other
 * parameters after the record expired (PAYGUARD_IDEMPOTENCY_TTL) is a new
 * request upstream as well.  PG_EINVAL when identity and key are too
 * long together, PG_CRYPTO without a key.
 */
enum pg_err	 idem_upstream_key(const struct keyring *ring,
		    const char *identity, const char *key,
		    const unsigned char fp[32], char out[IDEM_UPKEY_MAX + 1]);
/*
 * Writes a fresh upstream key for a POST sent without one ("pg-" and 48
 * hex digits of SHA-256 over operation, identity, time and 32 random
 * bytes), so that our own retries are safe upstream.
 */
void		 idem_generate_key(const char *op, const char *identity,
		    char out[IDEM_UPKEY_MAX + 1]);
/* Starts (or resolves) the key; see the state machine above.  The caller
 * frees res->body. */
enum pg_err	 idem_begin(struct store *st, const struct keyring *ring,
		    const struct config *cfg, const char *identity,
		    const char *key, const unsigned char fp[32],
		    struct idem_result *res);
/* Stores the final status and body (sealed) for the key. */
enum pg_err	 idem_finish(struct store *st, const struct keyring *ring,
		    const char *identity, const char *key, int status,
		    const void *body, size_t len);
/* Unlocks after an unknown outcome (no response): the next request with
 * the key re-drives it with the same upstream key. */
enum pg_err	 idem_release(struct store *st, const char *identity,
		    const char *key);
/* Forgets the key (results Stripe does not keep, such as 429s). */
enum pg_err	 idem_forget(struct store *st, const char *identity,
		    const char *key);

/*
 * Migration between the backends (`payguard store migrate`); rs NULL
 * means the LMDB environment st, else Redis.  A record travels in its
 * LMDB form: key identity 0x1f key, value the sealed record (a stored
 * response stays encrypted), absolute expiry in ms.
 *   idem_export  visits every record: fn(key, klen, rec, reclen, expiry,
 *                arg) returns 0 to go on, 1 to stop, <0 to fail; ring
 *                seals the empty body of an in-flight record read from
 *                Redis; *unkeyed counts Redis records written before they
 *                kept their key (they cannot go back to LMDB: skipped)
 *   idem_import  stores one unless its key is present (*added 1 when
 *                stored now; never overwrites)
 *   idem_has     PG_OK when stored, PG_NOTFOUND when not
 */
struct rstore;
enum pg_err	 idem_export(struct store *st, struct rstore *rs,
		    const struct keyring *ring, store_scan_fn fn, void *arg,
		    size_t *unkeyed);
enum pg_err	 idem_import(struct store *st, struct rstore *rs,
		    const void *key, size_t klen, const void *rec,
		    size_t reclen, uint64_t expires, int *added);
enum pg_err	 idem_has(struct store *st, struct rstore *rs, const void *key,
		    size_t klen);
/* Re-encrypts every stored response on Redis not under keys[0] of ring
 * (`payguard rotate-keys`; rerunnable); counts in *res. */
enum pg_err	 idem_rotate_shared(struct rstore *rs,
		    const struct keyring *ring, struct rs_rewrite *res);

#endif /* PG_IDEM_H */
