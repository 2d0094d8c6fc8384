/*
 * payguard - Fernet tokens (fernet/spec, version 0x80) and a MultiFernet-
 * style key ring.  Interoperates with pyca/cryptography's Fernet and
 * MultiFernet in both directions.
 *
 * Token = base64url(0x80 | be64 timestamp | IV[16] | AES-128-CBC ct | HMAC)
 * with '=' padding; the HMAC-SHA256 (signing key) covers everything before it.
 * Every function that reads a token takes it in either form: that text,
 * or its bytes (first byte 0x80; the text starts with 'g'), which is how
 * the store keeps them (seal.h).  The *_bytes functions write the bytes.
 */
#ifndef PG_CRYPTO_H
#define PG_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define FERNET_KEY_B64LEN	44	/* base64url of 32 bytes, padded */
#define FERNET_MAX_SKEW		60	/* seconds, as pyca's _MAX_CLOCK_SKEW */
#define KEYRING_MAX		8	/* keys in one ring */
#define FERNET_NO_TTL		(-1L)

struct fernet_key {
	unsigned char	 sign[16];	/* HMAC-SHA256 key */
	unsigned char	 enc[16];	/* AES-128 key */
};

struct keyring {
	size_t			 n;		/* keys in use; keys[0] encrypts */
	struct fernet_key	 keys[KEYRING_MAX];
};

/* Parses one base64url key of 32 decoded bytes; PG_EINVAL otherwise. */
enum pg_err	 fernet_key_parse(const char *b64, size_t len,
		    struct fernet_key *out);
/* Writes a fresh random key as 44 chars + NUL into out. */
enum pg_err	 fernet_key_generate(char out[FERNET_KEY_B64LEN + 1]);
/*
 * Encrypts msg at time now with iv (NULL: random).  On PG_OK *tok is a
 * malloc'd NUL-terminated token the caller frees, *toklen its length.
 */
enum pg_err	 fernet_encrypt_at(const struct fernet_key *k,
		    const void *msg, size_t len, uint64_t now,
		    const unsigned char *iv, char **tok, size_t *toklen);
/*
 * Verifies and decrypts tok.  ttl < 0 disables the age and skew checks
 * (as pyca with ttl=None).  PG_CRYPTO for any invalid token, PG_EXPIRED
 * when only the TTL/skew check failed.  On PG_OK *out is malloc'd (NUL
 * appended, not counted in *outlen); the caller frees it.
 */
enum pg_err	 fernet_decrypt_at(const struct fernet_key *k,
		    const char *tok, size_t toklen, long ttl, uint64_t now,
		    unsigned char **out, size_t *outlen);
/* Reads the timestamp of tok without verifying the MAC. */
enum pg_err	 fernet_timestamp(const char *tok, size_t toklen,
		    uint64_t *ts);

/* Parses comma-separated keys (spaces around commas allowed) into r. */
enum pg_err	 keyring_parse(const char *csv, struct keyring *r);
/*
 * Fills r from csv when it is non-NULL and non-empty; otherwise reads or
 * creates (atomically, mode 0600, once for all processes) the file
 * "<state_dir>/encryption.key" and logs a warning that a generated key is
 * in use.  PG_CONFIG for a malformed key (the key is never logged).
 */
enum pg_err	 keyring_load(const char *csv, const char *state_dir,
		    struct keyring *r);
/*
 * Reads, or creates once for all processes (atomically, 0600), the key
 * file state_dir/name holding one Fernet-format key, into out.
 */
enum pg_err	 crypto_keyfile(const char *state_dir, const char *name,
		    struct fernet_key *out);
/* Encrypts under keys[0] at the current time; as fernet_encrypt_at. */
enum pg_err	 keyring_encrypt(const struct keyring *r, const void *msg,
		    size_t len, char **tok, size_t *toklen);
/* keyring_encrypt, the token as its bytes (*toklen of them, malloc'd). */
enum pg_err	 keyring_encrypt_bytes(const struct keyring *r,
		    const void *msg, size_t len, char **tok, size_t *toklen);
/* Tries each key in order with the same ttl; as fernet_decrypt_at. */
enum pg_err	 keyring_decrypt(const struct keyring *r, const char *tok,
		    size_t toklen, long ttl, unsigned char **out,
		    size_t *outlen);
/*
 * MultiFernet.rotate: decrypts with any key (no TTL), re-encrypts under
 * keys[0] with a fresh IV and the original timestamp.  *newtok is malloc'd.
 */
enum pg_err	 keyring_rotate(const struct keyring *r, const char *tok,
		    size_t toklen, char **newtok, size_t *newlen);
/* keyring_rotate, the new token as its bytes. */
enum pg_err	 keyring_rotate_bytes(const struct keyring *r, const char *tok,
		    size_t toklen, char **newtok, size_t *newlen);
/* Returns 1 if tok is already encrypted under keys[0], else 0. */
int		 keyring_is_primary(const struct keyring *r, const char *tok,
		    size_t toklen);
/* A token's bytes as its text; *tok is malloc'd and NUL-terminated. */
enum pg_err	 fernet_token_text(const unsigned char *raw, size_t rawlen,
		    char **tok, size_t *toklen);
/* Overwrites the ring's key material. */
void		 keyring_wipe(struct keyring *r);

/* One piece of a message (n bytes at p). */
struct crypto_part {
	const void	*p;
	size_t		 n;
};

/* Makes the process's HMAC-SHA256 context now (OpenSSL's one-time start-up
 * comes with it); PG_CRYPTO if OpenSSL cannot. */
enum pg_err	 crypto_hmac_init(void);
/* HMAC-SHA256 of msg (n bytes) under key into mac; PG_CRYPTO on failure. */
enum pg_err	 crypto_hmac_sha256(const void *key, size_t keylen,
		    const void *msg, size_t n, unsigned char mac[32]);
/* The same over the n parts of a message, in order, as if joined. */
enum pg_err	 crypto_hmac_sha256v(const void *key, size_t keylen,
		    const struct crypto_part *parts, size_t n,
		    unsigned char mac[32]);
/* SHA-256 of n bytes at p into out; PG_CRYPTO (out zeroed) on failure. */
enum pg_err	 crypto_sha256(const void *p, size_t n,
		    unsigned char out[32]);
/* The same over the n parts of a message, in order, as if joined. */
enum pg_err	 crypto_sha256v(const struct crypto_part *parts, size_t n,
		    unsigned char out[32]);
/* Returns 1 if a and b (n bytes each) are equal, in constant time. */
int		 crypto_equal(const void *a, const void *b, size_t n);
/* Overwrites n bytes at p with zeros (never optimised away). */
void		 crypto_wipe(void *p, size_t n);

#endif /* PG_CRYPTO_H */
