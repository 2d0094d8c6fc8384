/*
 * payguard - sealed store records: data kept at rest encrypted.
 *
 * A sealed record is   [u32 little-endian hlen][hlen bytes header][token]
 * where the header is the owning module's clear metadata (state, counters,
 * timestamps: never personal data) and the token is a Fernet token of the
 * payload under the key ring, kept as its bytes (older records: as its
 * base64 text; both are read).  Because the layout is shared, key rotation
 * (seal_rotate_ns) works on every namespace that holds sealed records
 * without knowing their headers.
 */
#ifndef PG_SEAL_H
#define PG_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "store.h"

/* Builds a sealed record; *rec is malloc'd, the caller frees it. */
enum pg_err	 seal_pack(const struct keyring *r, const void *hdr,
		    size_t hlen, const void *plain, size_t plen, void **rec,
		    size_t *reclen);
/*
 * Splits rec without decrypting: *hdr points into rec (hlen bytes), *tok
 * into rec (toklen bytes, the token as stored: opaque to callers).
 * PG_EINVAL when rec is not a sealed record.
 */
enum pg_err	 seal_split(const void *rec, size_t reclen, const void **hdr,
		    size_t *hlen, const char **tok, size_t *toklen);
/* Decrypts the payload of rec; *plain is malloc'd (NUL appended). */
enum pg_err	 seal_open(const struct keyring *r, const void *rec,
		    size_t reclen, unsigned char **plain, size_t *plen);
/* Builds a copy of rec with its header replaced by hdr (token kept). */
enum pg_err	 seal_rehead(const void *rec, size_t reclen, const void *hdr,
		    size_t hlen, void **out, size_t *outlen);
/*
 * A copy of rec with its token re-encrypted under keys[0] (timestamp and
 * header kept) in *out (malloc'd); *out NULL when rec already is under
 * keys[0] or is no sealed record.  PG_CRYPTO when no key of r reads it.
 * For stores seal_rotate_ns cannot walk (the Redis backend).
 */
enum pg_err	 seal_reseal(const struct keyring *r, const void *rec,
		    size_t reclen, void **out, size_t *outlen);
/* seal_reseal as a rewrite callback (store_redis.h's rs_rewrite_field):
 * arg is the const struct keyring *. */
enum pg_err	 seal_reseal_cb(const void *rec, size_t reclen, void **out,
		    size_t *outlen, void *arg);

/* Progress callback for rotation: records done so far, total. */
typedef void (*seal_progress_fn)(enum store_ns ns, size_t done,
		    size_t total, void *arg);
/*
 * Re-encrypts every sealed record of ns that is not yet under keys[0]
 * (MultiFernet.rotate: original timestamps kept), batch records per write
 * transaction, so that every record stays readable at every moment and an
 * interrupted run resumes where it stopped (position kept in NS_META).
 * *rotated gets the number of records rewritten.
 */
enum pg_err	 seal_rotate_ns(struct store *st, const struct keyring *r,
		    enum store_ns ns, size_t batch, seal_progress_fn fn,
		    void *arg, size_t *rotated);

#endif /* PG_SEAL_H */
