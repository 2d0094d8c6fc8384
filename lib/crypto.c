/*
 * payguard - Fernet (fernet/spec, version 0x80) and a MultiFernet-style
 * key ring on OpenSSL 3.
 *
 * Token layout (decoded): 0x80 | be64 timestamp | IV[16] | ciphertext |
 * HMAC-SHA256[32].  Verification follows the spec's order: decode,
 * version, TTL/skew (only when a TTL is given, as pyca), constant-time
 * MAC compare, decrypt, unpad.  Base64url decoding is strict: only the
 * url-safe alphabet, '=' padding to a multiple of four, zero filler bits,
 * nothing after the padding.  pyca is laxer here; every token a compliant
 * encoder produces is accepted by both.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>

#include "buf.h"
#include "codec.h"
#include "crypto.h"
#include "statedir.h"
#include "log.h"
#include "rand.h"

#define FERNET_VERSION	0x80
#define HDR_LEN		(1 + 8 + 16)		/* version, timestamp, IV */
#define MAC_LEN		32
#define BLOCK		16
#define MIN_TOKEN_RAW	(HDR_LEN + BLOCK + MAC_LEN)	/* 73 bytes */
#define KEYFILE_NAME	"encryption.key"
#define KEYFILE_MAX	4096

/* Encoded length of n bytes with padding; 0 on overflow. */
static size_t
b64_enclen(size_t n)
{
	if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
		return 0;
	return (n + 2) / 3 * 4;
}

/*
 * OpenSSL 3 looks algorithms up by name on every implicit use
 * (EVP_aes_128_cbc(), HMAC(), EVP_sha256()); that lookup cost more than
 * the crypto on 1 KB messages.  So the cipher and the digest are fetched
 * once per process and kept, and so are one HMAC-SHA256 and one SHA-256
 * context that every call re-keys or re-initialises and reuses: a context
 * made and freed per call cost several allocations and up to 20 000
 * instructions (callgrind); a webhook request makes one MAC and two
 * digests here.  Process state: the programs are single-threaded.
 * Between calls the HMAC context holds the last key's pads, as the key
 * ring holds the keys; the digest's final step wipes its buffer.  A cipher
 * context is still made per call: reused, it would keep the tail of the
 * last plaintext.
 */
static EVP_CIPHER	*aes_cbc;
static EVP_MD		*sha256;
static EVP_MD_CTX	*md_ctx;
static EVP_MAC_CTX	*hmac_ctx;

static const EVP_CIPHER *
cipher_aes_cbc(void)
{
	if (aes_cbc == NULL)
		aes_cbc = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL);
	return aes_cbc;
}

/* The process's HMAC-SHA256 context, made on first use; NULL if not. */
static EVP_MAC_CTX *
hmac_get(void)
{
	OSSL_PARAM	 params[2];
	EVP_MAC		*mac;

	if (hmac_ctx != NULL ||
	    (mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		goto out;
	hmac_ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);	/* the context holds its own ref */
	if (hmac_ctx == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hmac_ctx, params) != 1) {
		EVP_MAC_CTX_free(hmac_ctx);
		hmac_ctx = NULL;
	}
out:
	return hmac_ctx;
}

enum pg_err
crypto_hmac_init(void)
{
	return hmac_get() != NULL ? PG_OK : PG_CRYPTO;
}

enum pg_err
crypto_hmac_sha256v(const void *key, size_t keylen,
    const struct crypto_part *parts, size_t n, unsigned char mac[32])
{
	EVP_MAC_CTX	*ctx;
	size_t		 maclen = 0, i;
	enum pg_err	 rc = PG_CRYPTO;

	/* A NULL key would make OpenSSL reuse the last caller's key. */
	if (key == NULL && keylen == 0)
		key = "";
	if (key == NULL || (ctx = hmac_get()) == NULL ||
	    EVP_MAC_init(ctx, key, keylen, NULL) != 1)
		goto out;
	for (i = 0; i < n; i++)
		if (EVP_MAC_update(ctx, parts[i].p, parts[i].n) != 1)
			goto out;
	if (EVP_MAC_final(ctx, mac, &maclen, 32) != 1 || maclen != 32)
		goto out;
	rc = PG_OK;
out:
	return rc;
}

enum pg_err
crypto_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n,
    unsigned char mac[32])
{
	struct crypto_part	 part = { msg, n };

	return crypto_hmac_sha256v(key, keylen, &part, 1, mac);
}

enum pg_err
crypto_sha256v(const struct crypto_part *parts, size_t n,
    unsigned char out[32])
{
	unsigned int	 len = 0;
	size_t		 i;
	enum pg_err	 rc = PG_CRYPTO;

	if (sha256 == NULL)
		sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (md_ctx == NULL)
		md_ctx = EVP_MD_CTX_new();
	if (sha256 == NULL || md_ctx == NULL ||
	    EVP_DigestInit_ex2(md_ctx, sha256, NULL) != 1)
		goto out;
	for (i = 0; i < n; i++)
		if (EVP_DigestUpdate(md_ctx, parts[i].p, parts[i].n) != 1)
			goto out;
	if (EVP_DigestFinal_ex(md_ctx, out, &len) != 1 || len != 32)
		goto out;
	rc = PG_OK;
out:
	if (rc != PG_OK)
		memset(out, 0, 32);
	return rc;
}

enum pg_err
crypto_sha256(const void *p, size_t n, unsigned char out[32])
{
	struct crypto_part	 part = { p, n };

	return crypto_sha256v(&part, 1, out);
}

int
crypto_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void
crypto_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

/* HMAC-SHA256 of n bytes under the signing key into mac. */
static int
fernet_mac(const struct fernet_key *k, const unsigned char *p, size_t n,
    unsigned char mac[MAC_LEN])
{
	return crypto_hmac_sha256(k->sign, sizeof(k->sign), p, n, mac) ==
	    PG_OK ? 0 : -1;
}

/*
 * Copies tok's bytes into a malloc'd buffer -- decoding it when it is the
 * base64url text, taking it as is when it is already the bytes (first
 * byte 0x80; a text token starts with 'g') -- and checks the framing
 * every token shares: minimum length, version byte, block-sized
 * ciphertext.
 */
static enum pg_err
fernet_unpack(const char *tok, size_t toklen, unsigned char **raw,
    size_t *rawlen)
{
	unsigned char	*p = NULL;
	size_t		 n = 0;
	enum pg_err	 rc = PG_CRYPTO;

	*raw = NULL;
	if (tok == NULL || toklen == 0)
		goto out;
	if ((unsigned char)tok[0] == FERNET_VERSION) {
		if ((p = malloc(toklen)) == NULL) {
			rc = PG_ENOMEM;
			goto out;
		}
		memcpy(p, tok, toklen);
		n = toklen;
	} else {
		if (toklen < 4 || toklen % 4 != 0)
			goto out;
		if ((p = malloc(toklen / 4 * 3)) == NULL) {
			rc = PG_ENOMEM;
			goto out;
		}
		if (codec_b64url_decode(tok, toklen, p, &n) != 0)
			goto out;
	}
	if (n < MIN_TOKEN_RAW || p[0] != FERNET_VERSION ||
	    (n - HDR_LEN - MAC_LEN) % BLOCK != 0)
		goto out;
	*raw = p;
	*rawlen = n;
	p = NULL;
	rc = PG_OK;
out:
	free(p);
	return rc;
}

/* The spec's TTL and pyca's clock-skew check; 0 when acceptable. */
static int
fernet_too_old(uint64_t ts, long ttl, uint64_t now)
{
	if (ttl < 0)
		return 0;
	/* ts + ttl < now, written so that nothing can overflow. */
	if (ts < now && now - ts > (uint64_t)ttl)
		return 1;
	/* now + FERNET_MAX_SKEW < ts */
	if (ts > now && ts - now > FERNET_MAX_SKEW)
		return 1;
	return 0;
}

static uint64_t
now_seconds(void)
{
	time_t	 t = time(NULL);

	return t < 0 ? 0 : (uint64_t)t;
}

enum pg_err
fernet_key_parse(const char *b64, size_t len, struct fernet_key *out)
{
	unsigned char	 raw[FERNET_KEY_B64LEN];
	size_t		 n = 0;
	enum pg_err	 rc = PG_EINVAL;

	if (b64 == NULL || len != FERNET_KEY_B64LEN)
		goto out;
	if (codec_b64url_decode(b64, len, raw, &n) != 0 || n != 32)
		goto out;
	memcpy(out->sign, raw, 16);
	memcpy(out->enc, raw + 16, 16);
	rc = PG_OK;
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

enum pg_err
fernet_key_generate(char out[FERNET_KEY_B64LEN + 1])
{
	unsigned char	 raw[32];
	enum pg_err	 rc = PG_CRYPTO;

	if (rand_bytes(raw, sizeof(raw)) != PG_OK)
		goto out;
	codec_b64url_encode(raw, sizeof(raw), 1, out);
	rc = PG_OK;
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

/* fernet_encrypt_at, the token as text or (bytes != 0) as its bytes. */
static enum pg_err
encrypt_form(const struct fernet_key *k, const void *msg, size_t len,
    uint64_t now, const unsigned char *iv, int bytes, char **tok,
    size_t *toklen)
{
	EVP_CIPHER_CTX	*ctx = NULL;
	unsigned char	*raw = NULL;
	char		*t = NULL;
	size_t		 ctmax, rawlen, tlen;
	int		 n1 = 0, n2 = 0;
	enum pg_err	 rc = PG_CRYPTO;

	*tok = NULL;
	/* EVP takes int lengths; keep every size far from overflow. */
	if (len > INT_MAX - 2 * BLOCK || (msg == NULL && len > 0)) {
		rc = PG_TOOLARGE;
		goto out;
	}
	ctmax = len / BLOCK * BLOCK + BLOCK;
	rawlen = HDR_LEN + ctmax + MAC_LEN;
	if ((raw = malloc(rawlen)) == NULL) {
		rc = PG_ENOMEM;
		goto out;
	}
	raw[0] = FERNET_VERSION;
	codec_be64_put(raw + 1, now);
	if (iv != NULL)
		memcpy(raw + 9, iv, 16);
	else if (rand_bytes(raw + 9, 16) != PG_OK)
		goto out;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (EVP_EncryptInit_ex(ctx, cipher_aes_cbc(), NULL, k->enc,
	    raw + 9) != 1)
		goto out;
	if (EVP_EncryptUpdate(ctx, raw + HDR_LEN, &n1,
	    msg != NULL ? msg : (const void *)"", (int)len) != 1)
		goto out;
	if (EVP_EncryptFinal_ex(ctx, raw + HDR_LEN + n1, &n2) != 1)
		goto out;
	if ((size_t)n1 + (size_t)n2 != ctmax)
		goto out;
	if (fernet_mac(k, raw, HDR_LEN + ctmax, raw + HDR_LEN + ctmax) != 0)
		goto out;
	if (bytes) {
		*tok = (char *)raw;
		*toklen = rawlen;
		raw = NULL;
		rc = PG_OK;
		goto out;
	}
	if ((tlen = b64_enclen(rawlen)) == 0 ||
	    (t = malloc(tlen + 1)) == NULL) {
		rc = PG_ENOMEM;
		goto out;
	}
	codec_b64url_encode(raw, rawlen, 1, t);
	*tok = t;
	*toklen = tlen;
	t = NULL;
	rc = PG_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (raw != NULL) {
		/* The buffer held no plaintext, but wipe it cheaply anyway. */
		OPENSSL_cleanse(raw, rawlen < 64 ? rawlen : 64);
		free(raw);
	}
	free(t);
	return rc;
}

enum pg_err
fernet_encrypt_at(const struct fernet_key *k, const void *msg, size_t len,
    uint64_t now, const unsigned char *iv, char **tok, size_t *toklen)
{
	return encrypt_form(k, msg, len, now, iv, 0, tok, toklen);
}

/*
 * Verifies the MAC of a decoded token under k; 0 when it matches.
 * CRYPTO_memcmp keeps the comparison time independent of the contents.
 */
static int
fernet_check_mac(const struct fernet_key *k, const unsigned char *raw,
    size_t rawlen)
{
	unsigned char	 mac[MAC_LEN];
	int		 rc = -1;

	if (fernet_mac(k, raw, rawlen - MAC_LEN, mac) != 0)
		goto out;
	if (CRYPTO_memcmp(mac, raw + rawlen - MAC_LEN, MAC_LEN) != 0)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

/* Decrypts and unpads the ciphertext of an already verified token. */
static enum pg_err
fernet_open(const struct fernet_key *k, const unsigned char *raw,
    size_t rawlen, unsigned char **out, size_t *outlen)
{
	EVP_CIPHER_CTX	*ctx = NULL;
	unsigned char	*p = NULL;
	size_t		 ctlen = rawlen - HDR_LEN - MAC_LEN;
	int		 n1 = 0, n2 = 0;
	enum pg_err	 rc = PG_CRYPTO;

	if (ctlen > INT_MAX - BLOCK)
		goto out;
	if ((p = malloc(ctlen + 1)) == NULL) {
		rc = PG_ENOMEM;
		goto out;
	}
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (EVP_DecryptInit_ex(ctx, cipher_aes_cbc(), NULL, k->enc,
	    raw + 9) != 1)
		goto out;
	if (EVP_DecryptUpdate(ctx, p, &n1, raw + HDR_LEN, (int)ctlen) != 1)
		goto out;
	/* PKCS#7 padding is checked here; a bad pad is an invalid token. */
	if (EVP_DecryptFinal_ex(ctx, p + n1, &n2) != 1)
		goto out;
	p[n1 + n2] = '\0';
	*out = p;
	*outlen = (size_t)n1 + (size_t)n2;
	p = NULL;
	rc = PG_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (p != NULL) {
		OPENSSL_cleanse(p, ctlen + 1);
		free(p);
	}
	return rc;
}

/*
 * Verifies and decrypts tok with the first of keys[0..n) whose MAC
 * matches.  Decoded once: the framing and the TTL do not depend on the key.
 */
static enum pg_err
decrypt_keys(const struct fernet_key *keys, size_t n, const char *tok,
    size_t toklen, long ttl, uint64_t now, unsigned char **out,
    size_t *outlen)
{
	unsigned char	*raw = NULL;
	size_t		 rawlen = 0, i;
	enum pg_err	 rc;

	*out = NULL;
	*outlen = 0;
	if ((rc = fernet_unpack(tok, toklen, &raw, &rawlen)) != PG_OK)
		goto out;
	if (fernet_too_old(codec_be64_get(raw + 1), ttl, now)) {
		rc = PG_EXPIRED;
		goto out;
	}
	rc = PG_CRYPTO;
	for (i = 0; i < n; i++)
		if (fernet_check_mac(&keys[i], raw, rawlen) == 0) {
			rc = fernet_open(&keys[i], raw, rawlen, out, outlen);
			if (rc == PG_OK || rc == PG_ENOMEM)
				break;
		}
out:
	free(raw);
	return rc;
}

enum pg_err
fernet_decrypt_at(const struct fernet_key *k, const char *tok,
    size_t toklen, long ttl, uint64_t now, unsigned char **out,
    size_t *outlen)
{
	return decrypt_keys(k, 1, tok, toklen, ttl, now, out, outlen);
}

enum pg_err
fernet_timestamp(const char *tok, size_t toklen, uint64_t *ts)
{
	unsigned char	*raw = NULL;
	size_t		 rawlen = 0;
	enum pg_err	 rc;

	if ((rc = fernet_unpack(tok, toklen, &raw, &rawlen)) != PG_OK)
		goto out;
	*ts = codec_be64_get(raw + 1);
out:
	free(raw);
	return rc;
}

enum pg_err
keyring_parse(const char *csv, struct keyring *r)
{
	const char	*p, *s, *e;
	enum pg_err	 rc = PG_EINVAL;

	memset(r, 0, sizeof(*r));
	if (csv == NULL)
		goto out;
	p = csv;
	for (;;) {
		/* One entry: [spaces] key [spaces] (',' | end). */
		s = p;
		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		e = s;
		while (*e != '\0' && *e != ',' && *e != ' ' && *e != '\t' &&
		    *e != '\n' && *e != '\r')
			e++;
		p = e;
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p != '\0' && *p != ',')
			goto out;	/* a space inside a key */
		if (r->n == KEYRING_MAX) {
			rc = PG_TOOLARGE;
			goto out;
		}
		if (fernet_key_parse(s, (size_t)(e - s), &r->keys[r->n]) !=
		    PG_OK)
			goto out;
		r->n++;
		if (*p == '\0')
			break;
		p++;
	}
	rc = PG_OK;
out:
	if (rc != PG_OK)
		keyring_wipe(r);
	return rc;
}

/* Reads the whole key file at path (at most KEYFILE_MAX bytes) into buf. */
static enum pg_err
keyfile_read(const char *path, char *buf, size_t bufsz)
{
	struct stat	 sb;
	size_t		 n = 0;
	ssize_t		 r;
	int		 fd = -1;
	enum pg_err	 rc = PG_SYSTEM;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		rc = errno == ENOENT ? PG_NOTFOUND : PG_SYSTEM;
		goto out;
	}
	if (fstat(fd, &sb) == -1)
		goto out;
	if (!S_ISREG(sb.st_mode) || (sb.st_mode & 077) != 0 ||
	    sb.st_uid != geteuid()) {
		/* A key others can read is no longer a secret, and one that
		 * someone else owns was not made by us: refuse it. */
		log_warnx("%s: must be a regular file of mode 0600 owned by "
		    "the running user", path);
		rc = PG_CONFIG;
		goto out;
	}
	while (n < bufsz - 1) {
		if ((r = read(fd, buf + n, bufsz - 1 - n)) == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	rc = PG_OK;
out:
	if (fd != -1)
		close(fd);
	return rc;
}

/*
 * Creates path holding a fresh key, atomically: the key is written and
 * synced to a private temporary file first, then link(2)ed into place.
 * link never replaces an existing file, so when processes race, exactly
 * one key wins and every loser then reads the winner's file.  Returns
 * PG_OK also when another process won; *won says whether this one did.
 */
static enum pg_err
keyfile_create(const char *dir, const char *path, int *won)
{
	char		 tmp[PATH_MAX], key[FERNET_KEY_B64LEN + 2];
	size_t		 n;
	int		 fd = -1, dfd = -1, tmpmade = 0;
	enum pg_err	 rc = PG_SYSTEM;

	*won = 0;
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, KEYFILE_NAME) >=
	    (int)sizeof(tmp)) {
		rc = PG_TOOLARGE;
		goto out;
	}
	if ((rc = fernet_key_generate(key)) != PG_OK)
		goto out;
	rc = PG_SYSTEM;
	n = FERNET_KEY_B64LEN;
	key[n++] = '\n';
	/* mkstemp creates the file 0600 whatever the umask. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		log_warn("%s: mkstemp", dir);
		goto out;
	}
	tmpmade = 1;
	if (fchmod(fd, 0600) == -1 || write(fd, key, n) != (ssize_t)n ||
	    fsync(fd) == -1) {
		log_warn("%s", tmp);
		goto out;
	}
	if (link(tmp, path) == 0)
		*won = 1;
	else if (errno != EEXIST) {
		log_warn("link %s", path);
		goto out;
	}
	/* Make the new name durable before anything is encrypted under it. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1)
		(void)fsync(dfd);
	rc = PG_OK;
out:
	OPENSSL_cleanse(key, sizeof(key));
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	if (tmpmade)
		(void)unlink(tmp);
	return rc;
}

enum pg_err
keyring_load(const char *csv, const char *state_dir, struct keyring *r)
{
	char		 path[PATH_MAX], buf[KEYFILE_MAX];
	int		 won;
	enum pg_err	 rc = PG_CONFIG;

	memset(r, 0, sizeof(*r));
	if (csv != NULL && csv[0] != '\0') {
		if ((rc = keyring_parse(csv, r)) != PG_OK) {
			/* Never the key itself: it might be almost right. */
			log_warnx("STRIPE_ENCRYPTION_KEY: %s: each key must be "
			    "32 url-safe base64-encoded bytes (44 characters)"
			    ", at most %d keys, comma-separated",
			    pg_strerror(rc), KEYRING_MAX);
			rc = PG_CONFIG;
		}
		goto out;
	}
	if (state_dir == NULL || state_dir[0] == '\0') {
		log_warnx("no STRIPE_ENCRYPTION_KEY and no state directory");
		goto out;
	}
	if (snprintf(path, sizeof(path), "%s/%s", state_dir, KEYFILE_NAME) >=
	    (int)sizeof(path)) {
		log_warnx("state directory path too long");
		goto out;
	}
	if ((rc = statedir_check(state_dir)) != PG_OK)
		goto out;
	rc = keyfile_read(path, buf, sizeof(buf));
	if (rc == PG_NOTFOUND) {
		if ((rc = keyfile_create(state_dir, path, &won)) != PG_OK)
			goto out;
		/*
		 * Said once, by the process whose key won, not on every CGI
		 * run nor by each process of a first burst.
		 */
		if (won)
			log_warnx("STRIPE_ENCRYPTION_KEY not set: using a newly "
			    "generated key in %s; back it up, or set "
			    "STRIPE_ENCRYPTION_KEY", path);
		rc = keyfile_read(path, buf, sizeof(buf));
	}
	if (rc != PG_OK) {
		if (rc == PG_SYSTEM)
			log_warn("%s", path);
		goto out;
	}
	if (keyring_parse(buf, r) != PG_OK) {
		log_warnx("%s: malformed key file", path);
		rc = PG_CONFIG;
		goto out;
	}
	log_info("using the generated encryption key in %s", path);
	rc = PG_OK;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rc != PG_OK)
		keyring_wipe(r);
	return rc;
}

enum pg_err
crypto_keyfile(const char *state_dir, const char *name, struct fernet_key *out)
{
	char		 path[PATH_MAX], buf[KEYFILE_MAX];
	size_t		 n;
	int		 won;
	enum pg_err	 rc = PG_CONFIG;

	if (snprintf(path, sizeof(path), "%s/%s", state_dir, name) >=
	    (int)sizeof(path)) {
		rc = PG_TOOLARGE;
		goto out;
	}
	if ((rc = statedir_check(state_dir)) != PG_OK)
		goto out;
	rc = keyfile_read(path, buf, sizeof(buf));
	if (rc == PG_NOTFOUND) {
		if ((rc = keyfile_create(state_dir, path, &won)) != PG_OK)
			goto out;
		rc = keyfile_read(path, buf, sizeof(buf));
	}
	if (rc != PG_OK)
		goto out;
	n = strcspn(buf, "\r\n");
	if ((rc = fernet_key_parse(buf, n, out)) != PG_OK) {
		log_warnx("%s: malformed key file", path);
		rc = PG_CONFIG;
	}
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

enum pg_err
keyring_encrypt(const struct keyring *r, const void *msg, size_t len,
    char **tok, size_t *toklen)
{
	*tok = NULL;
	if (r->n == 0)
		return PG_CONFIG;
	return encrypt_form(&r->keys[0], msg, len, now_seconds(), NULL, 0,
	    tok, toklen);
}

enum pg_err
keyring_encrypt_bytes(const struct keyring *r, const void *msg, size_t len,
    char **tok, size_t *toklen)
{
	*tok = NULL;
	if (r->n == 0)
		return PG_CONFIG;
	return encrypt_form(&r->keys[0], msg, len, now_seconds(), NULL, 1,
	    tok, toklen);
}

/* keyring_decrypt at a given time (also used by rotation with no TTL). */
static enum pg_err
keyring_decrypt_at(const struct keyring *r, const char *tok, size_t toklen,
    long ttl, uint64_t now, unsigned char **out, size_t *outlen)
{
	return decrypt_keys(r->keys, r->n, tok, toklen, ttl, now, out, outlen);
}

enum pg_err
keyring_decrypt(const struct keyring *r, const char *tok, size_t toklen,
    long ttl, unsigned char **out, size_t *outlen)
{
	return keyring_decrypt_at(r, tok, toklen, ttl, now_seconds(), out,
	    outlen);
}

/* keyring_rotate, the new token as text or (bytes != 0) as its bytes. */
static enum pg_err
rotate_form(const struct keyring *r, const char *tok, size_t toklen,
    int bytes, char **newtok, size_t *newlen)
{
	unsigned char	*plain = NULL;
	size_t		 plen = 0;
	uint64_t	 ts = 0;
	enum pg_err	 rc;

	*newtok = NULL;
	if (r->n == 0) {
		rc = PG_CONFIG;
		goto out;
	}
	if ((rc = fernet_timestamp(tok, toklen, &ts)) != PG_OK)
		goto out;
	/* As MultiFernet.rotate: no TTL, so expired tokens still rotate. */
	if ((rc = keyring_decrypt_at(r, tok, toklen, FERNET_NO_TTL, 0, &plain,
	    &plen)) != PG_OK)
		goto out;
	rc = encrypt_form(&r->keys[0], plain, plen, ts, NULL, bytes, newtok,
	    newlen);
out:
	if (plain != NULL) {
		OPENSSL_cleanse(plain, plen);
		free(plain);
	}
	return rc;
}

enum pg_err
keyring_rotate(const struct keyring *r, const char *tok, size_t toklen,
    char **newtok, size_t *newlen)
{
	return rotate_form(r, tok, toklen, 0, newtok, newlen);
}

enum pg_err
keyring_rotate_bytes(const struct keyring *r, const char *tok,
    size_t toklen, char **newtok, size_t *newlen)
{
	return rotate_form(r, tok, toklen, 1, newtok, newlen);
}

int
keyring_is_primary(const struct keyring *r, const char *tok, size_t toklen)
{
	unsigned char	*raw = NULL;
	size_t		 rawlen = 0;
	int		 rc = 0;

	if (r->n == 0 || fernet_unpack(tok, toklen, &raw, &rawlen) != PG_OK)
		goto out;
	rc = fernet_check_mac(&r->keys[0], raw, rawlen) == 0;
out:
	free(raw);
	return rc;
}

void
keyring_wipe(struct keyring *r)
{
	if (r == NULL)
		return;
	OPENSSL_cleanse(r, sizeof(*r));
}

enum pg_err
fernet_token_text(const unsigned char *raw, size_t rawlen, char **tok,
    size_t *toklen)
{
	size_t	 n = b64_enclen(rawlen);

	*tok = NULL;
	if (n == 0 || (*tok = malloc(n + 1)) == NULL)
		return n == 0 ? PG_TOOLARGE : PG_ENOMEM;
	codec_b64url_encode(raw, rawlen, 1, *tok);
	*toklen = n;
	return PG_OK;
}
