/*
 * payguard - sealed store records and their key rotation.
 *
 * Record: [u32 LE hlen][hlen bytes clear header][Fernet token], the token
 * kept as its bytes (first byte 0x80, Fernet's version): a quarter
 * smaller than its base64 text, so that a typical ~1.5 KB event stays
 * inline in an LMDB leaf page instead of taking an overflow page of its
 * own in every inbox commit.  Records written before that hold the text
 * (first byte 'g') and are read alike; a record rotated is written as
 * bytes.
 * Rotation
 * walks a namespace in key order, one write transaction per batch, and
 * rewrites each record whose token is not under keys[0] (header and
 * expiry unchanged, original token timestamp kept).  Every token that was
 * readable stays readable, because every ring key decrypts, and each
 * record is replaced atomically inside its transaction.  The last key of
 * each committed batch is kept in NS_META under "rotate:<ns>", tagged with
 * a fingerprint of keys[0], so an interrupted run resumes there and a run
 * under a different primary key starts over.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "log.h"
#include "seal.h"

#define SEAL_HDR_MAX	(1U << 20)	/* clear headers are small */
#define FPR_LEN		8		/* bytes of the key fingerprint */
#define BATCH_MAX	10000

static enum pg_err seal_build(const void *, size_t, const char *, size_t,
		    void **, size_t *);

enum pg_err
seal_pack(const struct keyring *r, const void *hdr, size_t hlen,
    const void *plain, size_t plen, void **rec, size_t *reclen)
{
	char		*tok = NULL;
	size_t		 toklen = 0;
	enum pg_err	 rc;

	*rec = NULL;
	if (hlen > SEAL_HDR_MAX || (hdr == NULL && hlen > 0)) {
		rc = PG_TOOLARGE;
		goto out;
	}
	if ((rc = keyring_encrypt_bytes(r, plain, plen, &tok, &toklen)) !=
	    PG_OK)
		goto out;
	rc = seal_build(hdr, hlen, tok, toklen, rec, reclen);
out:
	free(tok);
	return rc;
}

enum pg_err
seal_split(const void *rec, size_t reclen, const void **hdr, size_t *hlen,
    const char **tok, size_t *toklen)
{
	const unsigned char *p = rec;
	size_t		 h;
	enum pg_err	 rc = PG_EINVAL;

	if (rec == NULL || reclen < 4)
		goto out;
	h = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 |
	    (size_t)p[3] << 24;
	/* A token is never empty, so the header cannot fill the record. */
	if (h > SEAL_HDR_MAX || h >= reclen - 4)
		goto out;
	*hdr = p + 4;
	*hlen = h;
	*tok = (const char *)p + 4 + h;
	*toklen = reclen - 4 - h;
	rc = PG_OK;
out:
	return rc;
}

enum pg_err
seal_open(const struct keyring *r, const void *rec, size_t reclen,
    unsigned char **plain, size_t *plen)
{
	const void	*hdr;
	const char	*tok;
	size_t		 hlen, toklen;
	enum pg_err	 rc;

	*plain = NULL;
	if ((rc = seal_split(rec, reclen, &hdr, &hlen, &tok, &toklen)) ==
	    PG_OK)
		rc = keyring_decrypt(r, tok, toklen, FERNET_NO_TTL, plain,
		    plen);
	return rc;
}

/* Builds [hdr][tok] as a new record. */
static enum pg_err
seal_build(const void *hdr, size_t hlen, const char *tok, size_t toklen,
    void **out, size_t *outlen)
{
	unsigned char	*p;
	enum pg_err	 rc = PG_TOOLARGE;

	*out = NULL;
	if (hlen > SEAL_HDR_MAX || (hdr == NULL && hlen > 0) ||
	    toklen > SIZE_MAX - 4 - hlen)
		goto out;
	rc = PG_ENOMEM;
	if ((p = malloc(4 + hlen + toklen)) == NULL)
		goto out;
	p[0] = (unsigned char)(hlen & 0xff);
	p[1] = (unsigned char)((hlen >> 8) & 0xff);
	p[2] = (unsigned char)((hlen >> 16) & 0xff);
	p[3] = (unsigned char)((hlen >> 24) & 0xff);
	if (hlen > 0)
		memcpy(p + 4, hdr, hlen);
	memcpy(p + 4 + hlen, tok, toklen);
	*out = p;
	*outlen = 4 + hlen + toklen;
	rc = PG_OK;
out:
	return rc;
}

enum pg_err
seal_rehead(const void *rec, size_t reclen, const void *hdr, size_t hlen,
    void **out, size_t *outlen)
{
	const void	*oh;
	const char	*tok;
	size_t		 ohlen, toklen;
	enum pg_err	 rc;

	*out = NULL;
	if ((rc = seal_split(rec, reclen, &oh, &ohlen, &tok, &toklen)) ==
	    PG_OK)
		rc = seal_build(hdr, hlen, tok, toklen, out, outlen);
	return rc;
}

/* State of one rotation run, shared by the batch transactions. */
struct rot {
	const struct keyring	*ring;
	enum store_ns		 ns;
	size_t			 batch;
	char			 metakey[32];
	unsigned char		 fpr[FPR_LEN];
	/* Position: the last key handled (committed batches only). */
	unsigned char		 pos[STORE_KEY_MAX];
	size_t			 poslen;
	int			 havepos;
	int			 done;		/* namespace exhausted */
	/* Per batch, reset at the start of each (re)run of the callback. */
	size_t			 b_seen, b_rotated, b_bad;
	unsigned char		 b_pos[STORE_KEY_MAX];
	size_t			 b_poslen;
	int			 b_havepos, b_done;
	/* The record found by the scan callback. */
	unsigned char		 key[STORE_KEY_MAX];
	size_t			 klen;
	void			*val;
	size_t			 vlen;
	uint64_t		 expires;
	int			 found;
	enum pg_err		 scan_rc;
};

/* A short, non-reversible tag of keys[0] (an HMAC, not the key). */
static int
key_fingerprint(const struct fernet_key *k, unsigned char out[FPR_LEN])
{
	static const char label[] = "payguard seal rotation position";
	unsigned char	 mac[32];
	unsigned int	 n = 0;
	int		 rc = -1;

	if (HMAC(EVP_sha256(), k->sign, sizeof(k->sign),
	    (const unsigned char *)label, sizeof(label) - 1, mac, &n) == NULL)
		goto out;
	memcpy(out, mac, FPR_LEN);
	rc = 0;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

/* Scan callback: copies the first record strictly after the position. */
static int
rot_scan_one(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t expires, void *arg)
{
	struct rot	*r = arg;

	if (r->b_havepos && klen == r->b_poslen &&
	    memcmp(key, r->b_pos, klen) == 0)
		return 0;	/* the scan starts at the position itself */
	if (klen > sizeof(r->key) || (r->val = malloc(vlen + 1)) == NULL) {
		r->scan_rc = PG_ENOMEM;
		return -1;
	}
	memcpy(r->key, key, klen);
	r->klen = klen;
	memcpy(r->val, val, vlen);
	r->vlen = vlen;
	r->expires = expires;
	r->found = 1;
	return 1;
}

/* Rotates one record already copied into r; puts the new one. */
static enum pg_err
rot_record(struct store_txn *txn, struct rot *r)
{
	const void	*hdr;
	const char	*tok;
	char		*ntok = NULL;
	void		*nrec = NULL;
	size_t		 hlen, toklen, ntoklen = 0, nlen = 0;
	enum pg_err	 rc = PG_OK;

	if (seal_split(r->val, r->vlen, &hdr, &hlen, &tok, &toklen) != PG_OK)
		goto out;	/* not a sealed record: not ours to touch */
	if (keyring_is_primary(r->ring, tok, toklen))
		goto out;
	if ((rc = keyring_rotate_bytes(r->ring, tok, toklen, &ntok,
	    &ntoklen)) != PG_OK) {
		/* Unreadable under every key: leave it, report it later. */
		if (rc == PG_CRYPTO || rc == PG_EXPIRED) {
			r->b_bad++;
			rc = PG_OK;
		}
		goto out;
	}
	if ((rc = seal_build(hdr, hlen, ntok, ntoklen, &nrec, &nlen)) !=
	    PG_OK)
		goto out;
	if ((rc = store_put(txn, r->ns, r->key, r->klen, nrec, nlen,
	    r->expires, 0)) != PG_OK)
		goto out;
	r->b_rotated++;
out:
	free(ntok);
	free(nrec);
	return rc;
}

/* One batch, inside one write transaction. */
static enum pg_err
rot_batch(struct store_txn *txn, void *arg)
{
	struct rot	*r = arg;
	unsigned char	 meta[FPR_LEN + STORE_KEY_MAX];
	enum pg_err	 rc = PG_OK;

	/* store_run may rerun us: start from the committed state. */
	r->b_seen = r->b_rotated = r->b_bad = 0;
	r->b_havepos = r->havepos;
	r->b_poslen = r->poslen;
	memcpy(r->b_pos, r->pos, r->poslen);
	r->b_done = 0;
	while (r->b_seen < r->batch) {
		r->found = 0;
		r->val = NULL;
		r->scan_rc = PG_OK;
		rc = store_scan(txn, r->ns, r->b_havepos ? r->b_pos : NULL,
		    r->b_havepos ? r->b_poslen : 0, NULL, 0, 0, rot_scan_one,
		    r);
		if (r->scan_rc != PG_OK)
			rc = r->scan_rc;
		if (rc != PG_OK || !r->found) {
			free(r->val);
			r->val = NULL;
			r->b_done = rc == PG_OK;
			break;
		}
		rc = rot_record(txn, r);
		free(r->val);
		r->val = NULL;
		if (rc != PG_OK)
			break;
		memcpy(r->b_pos, r->key, r->klen);
		r->b_poslen = r->klen;
		r->b_havepos = 1;
		r->b_seen++;
	}
	if (rc != PG_OK)
		goto out;
	if (r->b_done)
		rc = store_del(txn, NS_META, r->metakey, strlen(r->metakey));
	else {
		memcpy(meta, r->fpr, FPR_LEN);
		memcpy(meta + FPR_LEN, r->b_pos, r->b_poslen);
		rc = store_put(txn, NS_META, r->metakey, strlen(r->metakey),
		    meta, FPR_LEN + r->b_poslen, 0, 0);
	}
	if (rc == PG_NOTFOUND)
		rc = PG_OK;
out:
	return rc;
}

/* Reads the saved position, if it was made under the same primary key. */
static enum pg_err
rot_resume(struct store_txn *txn, void *arg)
{
	struct rot	*r = arg;
	const void	*v;
	size_t		 vlen;
	enum pg_err	 rc;

	r->havepos = 0;
	r->poslen = 0;
	rc = store_get(txn, NS_META, r->metakey, strlen(r->metakey), &v,
	    &vlen, NULL);
	if (rc == PG_NOTFOUND)
		rc = PG_OK;
	else if (rc == PG_OK && vlen >= FPR_LEN && vlen - FPR_LEN <= STORE_KEY_MAX &&
	    memcmp(v, r->fpr, FPR_LEN) == 0) {
		r->poslen = vlen - FPR_LEN;
		memcpy(r->pos, (const unsigned char *)v + FPR_LEN, r->poslen);
		r->havepos = 1;
	}
	return rc;
}

struct count_arg {
	enum store_ns	 ns;
	size_t		 n;
};

static enum pg_err
rot_count(struct store_txn *txn, void *arg)
{
	struct count_arg *c = arg;

	c->n = store_count(txn, c->ns);
	return PG_OK;
}

enum pg_err
seal_rotate_ns(struct store *st, const struct keyring *ring,
    enum store_ns ns, size_t batch, seal_progress_fn fn, void *arg,
    size_t *rotated)
{
	struct rot	*r = NULL;
	struct count_arg cnt;
	size_t		 done = 0, bad = 0;
	enum pg_err	 rc;

	if (rotated != NULL)
		*rotated = 0;
	if (ring == NULL || ring->n == 0 || (unsigned)ns >= NS__MAX ||
	    ns == NS_META) {
		rc = PG_EINVAL;
		goto out;
	}
	/* Big: two key buffers and the position; keep it off the stack. */
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		rc = PG_ENOMEM;
		goto out;
	}
	r->ring = ring;
	r->ns = ns;
	r->batch = batch == 0 ? 100 : batch > BATCH_MAX ? BATCH_MAX : batch;
	snprintf(r->metakey, sizeof(r->metakey), "rotate:%d", (int)ns);
	if (key_fingerprint(&ring->keys[0], r->fpr) != 0) {
		rc = PG_CRYPTO;
		goto out;
	}
	cnt.ns = ns;
	cnt.n = 0;
	if ((rc = store_run(st, 0, rot_count, &cnt)) != PG_OK ||
	    (rc = store_run(st, 0, rot_resume, r)) != PG_OK)
		goto out;
	while (!r->done) {
		if ((rc = store_run(st, 1, rot_batch, r)) != PG_OK)
			goto out;
		/* Committed: only now does the batch's progress count. */
		r->havepos = r->b_havepos;
		r->poslen = r->b_poslen;
		memcpy(r->pos, r->b_pos, r->b_poslen);
		r->done = r->b_done;
		done += r->b_seen;
		bad += r->b_bad;
		if (rotated != NULL)
			*rotated += r->b_rotated;
		if (fn != NULL)
			fn(ns, done, cnt.n, arg);
	}
	if (bad > 0)
		log_warnx("rotation: %zu record(s) of namespace %d could not "
		    "be decrypted by any key and were left as they were",
		    bad, (int)ns);
	rc = PG_OK;
out:
	if (r != NULL) {
		free(r->val);
		free(r);
	}
	return rc;
}

enum pg_err
seal_reseal(const struct keyring *r, const void *rec, size_t reclen,
    void **out, size_t *outlen)
{
	const void	*hdr;
	const char	*tok;
	char		*ntok = NULL;
	size_t		 hlen, toklen, ntoklen = 0;
	enum pg_err	 rc = PG_OK;

	*out = NULL;
	if (seal_split(rec, reclen, &hdr, &hlen, &tok, &toklen) != PG_OK ||
	    keyring_is_primary(r, tok, toklen))
		goto out;	/* not ours, or nothing to do */
	if ((rc = keyring_rotate_bytes(r, tok, toklen, &ntok, &ntoklen)) !=
	    PG_OK) {
		if (rc == PG_EXPIRED)
			rc = PG_CRYPTO;
		goto out;
	}
	rc = seal_build(hdr, hlen, ntok, ntoklen, out, outlen);
out:
	free(ntok);
	return rc;
}

enum pg_err
seal_reseal_cb(const void *rec, size_t reclen, void **out, size_t *outlen,
    void *arg)
{
	return seal_reseal(arg, rec, reclen, out, outlen);
}
