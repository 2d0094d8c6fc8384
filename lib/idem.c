/*
 * payguard - idempotency records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "buf.h"
#include "codec.h"
#include "forkpage.h"
#include "idem.h"
#include "log.h"
#include "rand.h"
#include "redis.h"
#include "seal.h"
#include "store_redis.h"

#define REC_VERSION	1

enum idem_state {
	IDEM_INFLIGHT = 0,
	IDEM_DONE
};

struct idem_hdr {
	uint32_t	 version;
	uint32_t	 state;
	int32_t		 owner_pid;
	int32_t		 status;
	uint64_t	 created_ms;
	uint64_t	 locked_ms;	/* 0: unlocked (outcome unknown) */
	unsigned char	 fp[32];
	char		 upstream_key[IDEM_UPKEY_MAX + 1];
};

/*
 * The records on Redis (PAYGUARD_STORE=redis, store_redis.h), one hash
 * per key: pg:{i:<sha256 hex>} with st own locked fp up status rec, and
 * k (the record's key as on LMDB, identity 0x1f key: what `payguard store
 * migrate --to lmdb` files it under; a record written before k existed
 * cannot go back).  Each step of the state machine is one script.
 */
_Static_assert(2 * SHA256_DIGEST_LENGTH + 7 <= RS_CLAIM_KEY_MAX,
    "record keys fit a claim");

/*
 * KEYS: record.  ARGV: fp, owner, upstream key, ttl ms, lock timeout ms,
 * the LMDB key.  {outcome, upstream key, taken over | status, rec}.
 */
static struct redis_script s_idem_begin = { "idem_begin",
	RS_LUA_NOW_MS
	"local ttl, lock = tonumber(ARGV[4]), tonumber(ARGV[5])\n"
	"if not ttl or not lock or #ARGV[1] ~= 32 or ARGV[2] == '' or\n"
	"  ARGV[3] == '' then\n"
	"  return redis.error_reply('ERR payguard idem_begin: bad arguments')\n"
	"end\n"
	"if redis.call('EXISTS', KEYS[1]) == 0 then\n"
	"  redis.call('HSET', KEYS[1], 'st', 0, 'own', ARGV[2], 'locked', now,\n"
	"    'fp', ARGV[1], 'up', ARGV[3], 'status', 0, 'rec', '', 'k',\n"
	"    ARGV[6] or '')\n"
	"  redis.call('PEXPIRE', KEYS[1], ttl)\n"
	"  return {0, ARGV[3], 0}\n"
	"end\n"
	"local v = redis.call('HMGET', KEYS[1], 'st', 'locked', 'fp', 'up',\n"
	"  'status', 'rec')\n"
	"if v[3] ~= ARGV[1] then return {3, v[4] or ''} end\n"
	"if tonumber(v[1]) == 1 then return {1, v[4], v[5], v[6]} end\n"
	"local locked = tonumber(v[2]) or 0\n"
	"if locked ~= 0 and locked + lock > now then return {2, v[4]} end\n"
	"redis.call('HSET', KEYS[1], 'own', ARGV[2], 'locked', now)\n"
	"return {0, v[4], 1}\n", "" };

/* KEYS: record.  ARGV: owner, mode, status, rec.  0, -1 gone, -3 not ours. */
static struct redis_script s_idem_finish = { "idem_finish",
	"local status = tonumber(ARGV[3])\n"
	"if not status or ARGV[1] == '' then\n"
	"  return redis.error_reply('ERR payguard idem_finish: bad arguments')\n"
	"end\n"
	"local own = redis.call('HGET', KEYS[1], 'own')\n"
	"if not own then return -1 end\n"
	"if own ~= ARGV[1] then return -3 end\n"
	"if ARGV[2] == '2' then\n"
	"  redis.call('DEL', KEYS[1])\n"
	"elseif ARGV[2] == '1' then\n"
	"  redis.call('HSET', KEYS[1], 'locked', 0)\n"
	"else\n"
	"  redis.call('HSET', KEYS[1], 'st', 1, 'status', status, 'rec',\n"
	"    ARGV[4], 'locked', 0)\n"
	"end\n"
	"return 0\n", "" };

/* Record key of an idempotency key on Redis: its SHA-256, hex, as its own tag. */
static void
idem_rkey(const char *key, size_t klen, char out[2 * SHA256_DIGEST_LENGTH + 8])
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)key, klen, md);
	memcpy(out, "pg:{i:", 6);
	codec_hex_encode(md, sizeof(md), out + 6);
	memcpy(out + 6 + 2 * SHA256_DIGEST_LENGTH, "}", 2);
}

static enum pg_err
rs_idem_begin(struct rstore *rs, const char *key, size_t klen,
    const unsigned char fp[32], const char *upkey, uint64_t ttl_ms,
    uint64_t lock_ms, struct idem_result *res, void **rec, size_t *reclen)
{
	char		 rk[2 * SHA256_DIGEST_LENGTH + 8], owner[RS_OWNER_LEN + 1],
			 ttl[24], lock[24];
	const char	*argv[7];
	size_t		 al[7];
	redisReply	*rep = NULL, *up;
	long long	 o;
	enum pg_err	 e;

	*rec = NULL;
	if ((e = rs_new_owner(owner)) != PG_OK)
		return e;
	idem_rkey(key, klen, rk);
	snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)ttl_ms);
	snprintf(lock, sizeof(lock), "%llu", (unsigned long long)lock_ms);
	argv[0] = rk;
	argv[1] = (const char *)fp;
	argv[2] = owner;
	argv[3] = upkey;
	argv[4] = ttl;
	argv[5] = lock;
	al[0] = strlen(rk);
	al[1] = 32;
	al[2] = RS_OWNER_LEN;
	al[3] = strlen(upkey);
	al[4] = strlen(ttl);
	al[5] = strlen(lock);
	argv[6] = key;
	al[6] = klen;
	if ((e = redis_eval(rstore_redis(rs), &s_idem_begin, 1, 7, argv, al, &rep)) !=
	    PG_OK)
		return e;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 ||
	    rep->element[1]->type != REDIS_REPLY_STRING ||
	    rep->element[1]->len > IDEM_UPKEY_MAX) {
		redis_reply_free(rep);
		return PG_STORE;
	}
	o = rs_snum(rep->element[0]);
	up = rep->element[1];
	memcpy(res->upstream_key, up->str, up->len);
	res->upstream_key[up->len] = '\0';
	switch (o) {
	case 0:
		res->outcome = IDEM_PROCEED;
		res->taken_over = rep->elements > 2 && rs_snum(rep->element[2]) == 1;
		rs_claim_set(rs, RS_CLAIM_IDEM, rk, owner);
		break;
	case 1:
		res->outcome = IDEM_REPLAY;
		if (rep->elements != 4 ||
		    rep->element[3]->type != REDIS_REPLY_STRING) {
			e = PG_STORE;
			break;
		}
		res->status = (int)rs_snum(rep->element[2]);
		if ((*rec = malloc(rep->element[3]->len + 1)) == NULL) {
			e = PG_ENOMEM;
			break;
		}
		memcpy(*rec, rep->element[3]->str, rep->element[3]->len);
		*reclen = rep->element[3]->len;
		break;
	case 2:
		res->outcome = IDEM_IN_PROGRESS;
		break;
	default:
		res->outcome = IDEM_MISMATCH;
		break;
	}
	redis_reply_free(rep);
	if (e == PG_OK && res->outcome == IDEM_PROCEED)
		e = redis_wait_replicas(rstore_redis(rs));
	return e;
}

static enum pg_err
rs_idem_finish(struct rstore *rs, const char *key, size_t klen, int mode,
    int status, const void *rec, size_t reclen)
{
	char		 rk[2 * SHA256_DIGEST_LENGTH + 8], m[4], st[16];
	const char	*argv[5];
	size_t		 al[5];
	redisReply	*rep = NULL;
	long long	 v = 0;
	enum pg_err	 e;

	idem_rkey(key, klen, rk);
	snprintf(m, sizeof(m), "%d", mode);
	snprintf(st, sizeof(st), "%d", status);
	argv[0] = rk;
	argv[1] = rs_claim_owner(rs, RS_CLAIM_IDEM, rk);
	argv[2] = m;
	argv[3] = st;
	argv[4] = rec != NULL ? rec : "";
	al[0] = strlen(rk);
	al[1] = strlen(argv[1]);
	al[2] = strlen(m);
	al[3] = strlen(st);
	al[4] = rec != NULL ? reclen : 0;
	if ((e = redis_eval(rstore_redis(rs), &s_idem_finish, 1, 5, argv, al, &rep)) !=
	    PG_OK)
		return e;
	e = rs_int_result(rep, &v);
	redis_reply_free(rep);
	if (e == PG_OK && v == -1)
		e = mode == 2 ? PG_OK : PG_NOTFOUND;
	else if (e == PG_OK && v == -3) {
		log_warnx("idempotency: the key was taken over by another "
		    "request; this outcome is not recorded");
		e = PG_CONFLICT;
	}
	if (e == PG_OK)
		e = redis_wait_replicas(rstore_redis(rs));
	return e;
}

enum pg_err
idem_parse_key(const char *hdr, char out[IDEM_KEY_MAX + 1])
{
	size_t	 n = 0, i, len;
	int	 quoted;

	if (hdr == NULL)
		return PG_EINVAL;
	len = strlen(hdr);
	quoted = len >= 2 && hdr[0] == '"' && hdr[len - 1] == '"';
	for (i = quoted; i < len - (size_t)quoted; i++) {
		char c = hdr[i];
		if (quoted && c == '\\') {
			if (i + 1 >= len - 1 || (hdr[i + 1] != '"' &&
			    hdr[i + 1] != '\\'))
				return PG_EINVAL;
			c = hdr[++i];
		} else if (quoted && c == '"')
			return PG_EINVAL;
		if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e ||
		    n == IDEM_KEY_MAX)
			return PG_EINVAL;
		out[n++] = c;
	}
	out[n] = '\0';
	return n > 0 ? PG_OK : PG_EINVAL;
}

enum pg_err
idem_fingerprint_query(const char *method, const char *path,
    const char *query, size_t qlen, const char *canon, size_t len,
    unsigned char fp[32])
{
	EVP_MD_CTX	*c = EVP_MD_CTX_new();
	unsigned int	 n = 32;
	enum pg_err	 e = PG_CRYPTO;

	/* The canonical query is percent-encoded: no raw '?' or newline in
	 * it, so "path?query" cannot be confused with another path. */
	if (c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(c, method, strlen(method)) &&
	    EVP_DigestUpdate(c, "\n", 1) &&
	    EVP_DigestUpdate(c, path, strlen(path)) &&
	    (qlen == 0 || (EVP_DigestUpdate(c, "?", 1) &&
	    EVP_DigestUpdate(c, query, qlen))) &&
	    EVP_DigestUpdate(c, "\n", 1) &&
	    EVP_DigestUpdate(c, canon, len) &&
	    EVP_DigestFinal_ex(c, fp, &n) && n == 32)
		e = PG_OK;
	EVP_MD_CTX_free(c);
	return e;
}

enum pg_err
idem_fingerprint(const char *method, const char *path, const char *canon,
    size_t len, unsigned char fp[32])
{
	return idem_fingerprint_query(method, path, NULL, 0, canon, len, fp);
}

static size_t
rec_key(const char *identity, const char *key, char *out, size_t outsz)
{
	/* 0x1f cannot appear in either part: no ambiguity. */
	int	 n = snprintf(out, outsz, "%s\x1f%s", identity, key);

	return n < 0 || (size_t)n >= outsz ? 0 : (size_t)n;
}

struct begin_ctx {
	const struct keyring	*ring;
	const struct config	*cfg;
	char			 k[STORE_KEY_MAX];
	size_t			 klen;
	const unsigned char	*fp;
	void			*fresh;		/* sealed in-flight record */
	size_t			 freshlen;
	struct idem_hdr		 h;
	void			*copy;		/* the existing record */
	size_t			 copylen;
	struct idem_result	*res;
};

static enum pg_err
begin_txn(struct store_txn *txn, void *arg)
{
	struct begin_ctx *b = arg;
	const void	*v;
	const void	*hdr;
	const char	*tok;
	size_t		 vlen, hlen, toklen;
	uint64_t	 now = store_now_ms(), exp;
	void		*nrec = NULL;
	size_t		 nlen;
	enum pg_err	 e;

	free(b->copy);
	b->copy = NULL;
	e = store_put(txn, NS_IDEM, b->k, b->klen, b->fresh, b->freshlen,
	    now + (uint64_t)b->cfg->idem_ttl * 1000, STORE_NOOVERWRITE);
	if (e == PG_OK) {
		b->res->outcome = IDEM_PROCEED;
		return PG_OK;
	}
	if (e != PG_EXISTS)
		return e;
	if ((e = store_get(txn, NS_IDEM, b->k, b->klen, &v, &vlen, &exp)) !=
	    PG_OK)
		return e;
	if (seal_split(v, vlen, &hdr, &hlen, &tok, &toklen) != PG_OK ||
	    hlen != sizeof(b->h))
		return PG_STORE;
	memcpy(&b->h, hdr, sizeof(b->h));
	if (CRYPTO_memcmp(b->h.fp, b->fp, 32) != 0) {
		b->res->outcome = IDEM_MISMATCH;
		return PG_OK;
	}
	if ((b->copy = malloc(vlen)) == NULL)
		return PG_ENOMEM;
	memcpy(b->copy, v, vlen);
	b->copylen = vlen;
	if (b->h.state == IDEM_DONE) {
		b->res->outcome = IDEM_REPLAY;
		b->res->status = b->h.status;
		return PG_OK;
	}
	if (b->h.locked_ms != 0 && b->h.locked_ms +
	    (uint64_t)b->cfg->idem_lock_timeout * 1000 > now) {
		b->res->outcome = IDEM_IN_PROGRESS;
		return PG_OK;
	}
	/* The owner died or gave up without an answer: take over, with
	 * the same upstream key so Stripe dedups whatever it already did. */
	b->h.owner_pid = (int32_t)forkpage_pid();
	b->h.locked_ms = now;
	b->res->outcome = IDEM_PROCEED;
	b->res->taken_over = 1;
	if ((e = seal_rehead(b->copy, b->copylen, &b->h, sizeof(b->h), &nrec,
	    &nlen)) != PG_OK)
		return e;
	e = store_put(txn, NS_IDEM, b->k, b->klen, nrec, nlen, exp, 0);
	free(nrec);
	return e;
}

enum pg_err
idem_upstream_key(const struct keyring *ring, const char *identity,
    const char *key, const unsigned char fp[32],
    char out[IDEM_UPKEY_MAX + 1])
{
	static const char label[] = "payguard upstream Idempotency-Key v1";
	unsigned char	 k[32], sub[32], md[32], msg[STORE_KEY_MAX + 33];
	unsigned int	 n = 0;
	size_t		 mlen;
	enum pg_err	 e = PG_CRYPTO;

	/* identity 0x1f key, as the record's key (0x1f appears in neither),
	 * then 0x1f and the fingerprint. */
	if ((mlen = rec_key(identity, key, (char *)msg, STORE_KEY_MAX)) == 0)
		return PG_EINVAL;
	msg[mlen++] = 0x1f;
	memcpy(msg + mlen, fp, 32);
	mlen += 32;
	if (ring == NULL || ring->n == 0)
		goto out;
	/* A subkey of the primary key for this purpose alone. */
	memcpy(k, ring->keys[0].sign, 16);
	memcpy(k + 16, ring->keys[0].enc, 16);
	if (HMAC(EVP_sha256(), k, sizeof(k), (const unsigned char *)label,
	    sizeof(label) - 1, sub, &n) == NULL || n != sizeof(sub))
		goto out;
	if (HMAC(EVP_sha256(), sub, sizeof(sub), msg, mlen, md, &n) == NULL ||
	    n != sizeof(md))
		goto out;
	memcpy(out, "pg_", 3);
	codec_hex_encode(md, 16, out + 3);
	e = PG_OK;
out:
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(sub, sizeof(sub));
	return e;
}

void
idem_generate_key(const char *op, const char *identity,
    char out[IDEM_UPKEY_MAX + 1])
{
	unsigned char	 r[32], md[32];
	char		 seed[256];
	unsigned int	 n = 32;
	EVP_MD_CTX	*c;

	if (rand_bytes(r, sizeof(r)) != PG_OK)
		memset(r, 0, sizeof(r));
	snprintf(seed, sizeof(seed), "%s|%s|%lld|", op, identity,
	    (long long)store_now_us());
	c = EVP_MD_CTX_new();
	if (c == NULL || !EVP_DigestInit_ex(c, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(c, seed, strlen(seed)) ||
	    !EVP_DigestUpdate(c, r, sizeof(r)) ||
	    !EVP_DigestFinal_ex(c, md, &n))
		memcpy(md, r, sizeof(md));	/* random alone suffices */
	EVP_MD_CTX_free(c);
	memcpy(out, "pg-", 3);
	codec_hex_encode(md, 24, out + 3);
}

enum pg_err
idem_begin(struct store *st, const struct keyring *ring,
    const struct config *cfg, const char *identity, const char *key,
    const unsigned char fp[32], struct idem_result *res)
{
	struct begin_ctx *b;
	enum pg_err	 e;

	memset(res, 0, sizeof(*res));
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return PG_ENOMEM;
	b->ring = ring;
	b->cfg = cfg;
	b->fp = fp;
	b->res = res;
	e = PG_EINVAL;
	if ((b->klen = rec_key(identity, key, b->k, sizeof(b->k))) == 0)
		goto out;
	b->h.version = REC_VERSION;
	b->h.state = IDEM_INFLIGHT;
	b->h.owner_pid = (int32_t)forkpage_pid();
	b->h.created_ms = b->h.locked_ms = store_now_ms();
	memcpy(b->h.fp, fp, 32);
	/* The same for every retry of this request, even one whose record
	 * a Redis failover lost: Stripe then sees one key, never two. */
	if ((e = idem_upstream_key(ring, identity, key, fp,
	    b->h.upstream_key)) != PG_OK)
		goto out;
	if (store_shared(st) != NULL) {
		/* The record's state lives in the hash's fields there; the
		 * response is sealed at finish, as here. */
		if ((e = rs_idem_begin(store_shared(st), b->k, b->klen, fp,
		    b->h.upstream_key, (uint64_t)cfg->idem_ttl * 1000,
		    (uint64_t)cfg->idem_lock_timeout * 1000, res, &b->copy,
		    &b->copylen)) != PG_OK)
			goto out;
		memcpy(b->h.upstream_key, res->upstream_key,
		    sizeof(res->upstream_key));
	} else {
		if ((e = seal_pack(ring, &b->h, sizeof(b->h), "", 0,
		    &b->fresh, &b->freshlen)) != PG_OK)
			goto out;
		if ((e = store_run(st, 1, begin_txn, b)) != PG_OK)
			goto out;
	}
	/* b->h is the stored header when the key existed, else ours. */
	memcpy(res->upstream_key, b->h.upstream_key, sizeof(res->upstream_key));
	if (res->outcome == IDEM_REPLAY) {
		e = seal_open(ring, b->copy, b->copylen, &res->body,
		    &res->bodylen);
		if (e == PG_CRYPTO)
			e = PG_STORE;
	}
out:
	free(b->fresh);
	free(b->copy);
	free(b);
	return e;
}

struct finish_ctx {
	char		 k[STORE_KEY_MAX];
	size_t		 klen;
	const struct keyring *ring;
	int		 status;
	const void	*body;
	size_t		 len;
	int		 mode;	/* 0 finish, 1 release, 2 forget */
};

static enum pg_err
finish_txn(struct store_txn *txn, void *arg)
{
	struct finish_ctx *f = arg;
	struct idem_hdr	 h;
	const void	*v, *hdr;
	const char	*tok;
	size_t		 vlen, hlen, toklen, nlen;
	uint64_t	 exp;
	void		*nrec = NULL, *copy = NULL;
	enum pg_err	 e;

	if (f->mode == 2) {
		e = store_del(txn, NS_IDEM, f->k, f->klen);
		return e == PG_NOTFOUND ? PG_OK : e;
	}
	if ((e = store_get(txn, NS_IDEM, f->k, f->klen, &v, &vlen, &exp)) !=
	    PG_OK)
		return e;
	if (seal_split(v, vlen, &hdr, &hlen, &tok, &toklen) != PG_OK ||
	    hlen != sizeof(h))
		return PG_STORE;
	memcpy(&h, hdr, sizeof(h));
	if (f->mode == 1) {
		h.locked_ms = 0;
		if ((copy = malloc(vlen)) == NULL)
			return PG_ENOMEM;
		memcpy(copy, v, vlen);
		e = seal_rehead(copy, vlen, &h, sizeof(h), &nrec, &nlen);
	} else {
		h.state = IDEM_DONE;
		h.status = f->status;
		h.locked_ms = 0;
		e = seal_pack(f->ring, &h, sizeof(h), f->body, f->len, &nrec,
		    &nlen);
	}
	if (e == PG_OK)
		e = store_put(txn, NS_IDEM, f->k, f->klen, nrec, nlen, exp, 0);
	free(nrec);
	free(copy);
	return e;
}

/* finish_txn on Redis: the owner check and the write are one script. */
static enum pg_err
finish_shared(struct rstore *rs, const struct finish_ctx *f)
{
	struct idem_hdr	 h;
	void		*rec = NULL;
	size_t		 reclen = 0;
	enum pg_err	 e;

	if (f->mode == 0) {
		/* The sealed header is not read there; keep it for a
		 * record that goes back to LMDB (store migrate). */
		memset(&h, 0, sizeof(h));
		h.version = REC_VERSION;
		h.state = IDEM_DONE;
		h.status = f->status;
		if ((e = seal_pack(f->ring, &h, sizeof(h), f->body, f->len,
		    &rec, &reclen)) != PG_OK)
			return e;
	}
	e = rs_idem_finish(rs, f->k, f->klen, f->mode, f->status, rec, reclen);
	free(rec);
	return e;
}

static enum pg_err
finish(struct store *st, const struct keyring *ring, const char *identity,
    const char *key, int status, const void *body, size_t len, int mode)
{
	struct finish_ctx f;

	memset(&f, 0, sizeof(f));
	if ((f.klen = rec_key(identity, key, f.k, sizeof(f.k))) == 0)
		return PG_EINVAL;
	f.ring = ring;
	f.status = status;
	f.body = body;
	f.len = len;
	f.mode = mode;
	if (store_shared(st) != NULL)
		return finish_shared(store_shared(st), &f);
	return store_run(st, 1, finish_txn, &f);
}

enum pg_err
idem_finish(struct store *st, const struct keyring *ring,
    const char *identity, const char *key, int status, const void *body,
    size_t len)
{
	return finish(st, ring, identity, key, status, body, len, 0);
}

enum pg_err
idem_release(struct store *st, const char *identity, const char *key)
{
	return finish(st, NULL, identity, key, 0, NULL, 0, 1);
}

enum pg_err
idem_forget(struct store *st, const char *identity, const char *key)
{
	return finish(st, NULL, identity, key, 0, NULL, 0, 2);
}

/*
 * Migration (`payguard store migrate`, idem.h).  The LMDB form of a
 * record: key identity 0x1f key, value the sealed record with its full
 * header (sealed responses travel as they are: still encrypted).
 */

/* KEYS: record.  {st, locked, fp, up, status, rec, k, PTTL} or {}. */
static struct redis_script s_idem_export = { "idem_export",
	"local v = redis.call('HMGET', KEYS[1], 'st', 'locked', 'fp', 'up',\n"
	"  'status', 'rec', 'k')\n"
	"if not v[1] then return {} end\n"
	"return {v[1], v[2] or '0', v[3] or '', v[4] or '', v[5] or '0',\n"
	"  v[6] or '', v[7] or '', redis.call('PTTL', KEYS[1])}\n", "" };

/* KEYS: record.  ARGV: st, locked, fp, up, status, rec, k, expiry (ms,
 * 0 none).  1 stored, 0 already there (never overwritten). */
static struct redis_script s_idem_import = { "idem_import",
	"local exp = tonumber(ARGV[8])\n"
	"if not exp or #ARGV[3] ~= 32 or ARGV[4] == '' or ARGV[7] == '' then\n"
	"  return redis.error_reply('ERR payguard idem_import: bad arguments')\n"
	"end\n"
	"if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
	"redis.call('HSET', KEYS[1], 'st', ARGV[1], 'own', '', 'locked',\n"
	"  ARGV[2], 'fp', ARGV[3], 'up', ARGV[4], 'status', ARGV[5], 'rec',\n"
	"  ARGV[6], 'k', ARGV[7])\n"
	"if exp > 0 then redis.call('PEXPIREAT', KEYS[1], exp) end\n"
	"return 1\n", "" };

/* The LMDB form of one Redis record (rep: s_idem_export's reply). */
static enum pg_err
idem_lmdb_form(const struct keyring *ring, const redisReply *rep,
    void **rec, size_t *reclen)
{
	struct idem_hdr	 h;
	const redisReply *fp = rep->element[2], *up = rep->element[3],
			 *sealed = rep->element[5];

	if (fp->type != REDIS_REPLY_STRING || fp->len != 32 ||
	    up->type != REDIS_REPLY_STRING || up->len == 0 ||
	    up->len > IDEM_UPKEY_MAX || sealed->type != REDIS_REPLY_STRING)
		return PG_STORE;
	memset(&h, 0, sizeof(h));
	h.version = REC_VERSION;
	h.state = rs_num(rep->element[0]) == 1 ? IDEM_DONE : IDEM_INFLIGHT;
	h.status = (int32_t)rs_snum(rep->element[4]);
	h.locked_ms = rs_num(rep->element[1]);
	memcpy(h.fp, fp->str, 32);
	memcpy(h.upstream_key, up->str, up->len);
	if (h.state == IDEM_DONE && sealed->len > 0)
		return seal_rehead(sealed->str, sealed->len, &h, sizeof(h),
		    rec, reclen);
	/* In flight: no response yet, an empty body sealed as on LMDB. */
	return seal_pack(ring, &h, sizeof(h), "", 0, rec, reclen);
}

static enum pg_err
rs_idem_export(struct rstore *rs, const struct keyring *ring,
    store_scan_fn fn, void *arg, size_t *unkeyed)
{
	char		**ids, rk[2 * SHA256_DIGEST_LENGTH + 8];
	const char	*argv[1] = { rk };
	redisReply	*rep = NULL, *k;
	void		*rec = NULL;
	size_t		 n, i, reclen;
	long long	 ttl;
	int		 stop = 0;
	enum pg_err	 e;

	if ((e = rs_scan_keys(rs, "pg:{i:", &ids, &n)) != PG_OK)
		return e;
	for (i = 0; i < n && e == PG_OK && !stop; i++) {
		if (snprintf(rk, sizeof(rk), "pg:{i:%s", ids[i]) !=
		    2 * SHA256_DIGEST_LENGTH + 7)
			continue;	/* not one of ours */
		if ((e = redis_eval(rstore_redis(rs), &s_idem_export, 1, 1,
		    argv, NULL, &rep)) != PG_OK)
			break;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 8) {
			redis_reply_free(rep);	/* expired meanwhile */
			continue;
		}
		k = rep->element[6];
		if (k->type != REDIS_REPLY_STRING || k->len == 0 ||
		    k->len > STORE_KEY_MAX) {
			(*unkeyed)++;
		} else if ((e = idem_lmdb_form(ring, rep, &rec, &reclen)) ==
		    PG_OK) {
			ttl = rs_snum(rep->element[7]);
			stop = fn(k->str, k->len, rec, reclen, ttl > 0 ?
			    store_now_ms() + (uint64_t)ttl : 0, arg);
			if (stop < 0)
				e = PG_STORE;
		}
		free(rec);
		rec = NULL;
		redis_reply_free(rep);
	}
	rs_strv_free(ids, n);
	return e;
}

static enum pg_err
rs_idem_import(struct rstore *rs, const void *key, size_t klen,
    const void *rec, size_t reclen, uint64_t expires, int *added)
{
	struct idem_hdr	 h;
	char		 rk[2 * SHA256_DIGEST_LENGTH + 8], st[4], locked[24],
			 status[16], exp[24];
	const char	*argv[9], *tok;
	size_t		 al[9], hlen, toklen, i;
	const void	*hdr;
	redisReply	*rep = NULL;
	long long	 v = 0;
	enum pg_err	 e;

	if (seal_split(rec, reclen, &hdr, &hlen, &tok, &toklen) != PG_OK ||
	    hlen != sizeof(h))
		return PG_EINVAL;
	memcpy(&h, hdr, sizeof(h));
	h.upstream_key[IDEM_UPKEY_MAX] = '\0';
	idem_rkey(key, klen, rk);
	snprintf(st, sizeof(st), "%d", h.state == IDEM_DONE ? 1 : 0);
	snprintf(locked, sizeof(locked), "%llu",
	    (unsigned long long)h.locked_ms);
	snprintf(status, sizeof(status), "%d", h.status);
	snprintf(exp, sizeof(exp), "%llu", (unsigned long long)expires);
	argv[0] = rk;
	argv[1] = st;
	argv[2] = locked;
	argv[3] = (const char *)h.fp;
	argv[4] = h.upstream_key;
	argv[5] = status;
	/* A done record's response stays sealed: the LMDB record as is. */
	argv[6] = h.state == IDEM_DONE ? rec : "";
	argv[7] = key;
	argv[8] = exp;
	/* Binary arguments (fp, rec, key) by length, the others by text. */
	for (i = 0; i < 9; i++)
		al[i] = i == 3 || i == 6 || i == 7 ? 0 : strlen(argv[i]);
	al[3] = 32;
	al[6] = h.state == IDEM_DONE ? reclen : 0;
	al[7] = klen;
	if ((e = redis_eval(rstore_redis(rs), &s_idem_import, 1, 9, argv, al,
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

struct mig_ctx {
	store_scan_fn	 fn;
	void		*arg;
	const void	*key;
	size_t		 klen;
	const void	*rec;
	size_t		 reclen;
	uint64_t	 expires;
	int		 added;
};

static enum pg_err
mig_export_txn(struct store_txn *t, void *arg)
{
	struct mig_ctx	*m = arg;

	return store_scan(t, NS_IDEM, NULL, 0, NULL, 0, 0, m->fn, m->arg);
}

static enum pg_err
mig_import_txn(struct store_txn *t, void *arg)
{
	struct mig_ctx	*m = arg;
	enum pg_err	 e;

	e = store_put(t, NS_IDEM, m->key, m->klen, m->rec, m->reclen,
	    m->expires, STORE_NOOVERWRITE);
	m->added = e == PG_OK;
	return e == PG_EXISTS ? PG_OK : e;
}

static enum pg_err
mig_has_txn(struct store_txn *t, void *arg)
{
	struct mig_ctx	*m = arg;
	const void	*v;
	size_t		 vlen;

	return store_get(t, NS_IDEM, m->key, m->klen, &v, &vlen, NULL);
}

enum pg_err
idem_export(struct store *st, struct rstore *rs, const struct keyring *ring,
    store_scan_fn fn, void *arg, size_t *unkeyed)
{
	struct mig_ctx	 m;

	*unkeyed = 0;
	if (rs != NULL)
		return rs_idem_export(rs, ring, fn, arg, unkeyed);
	memset(&m, 0, sizeof(m));
	m.fn = fn;
	m.arg = arg;
	return store_run(st, 0, mig_export_txn, &m);
}

enum pg_err
idem_import(struct store *st, struct rstore *rs, const void *key,
    size_t klen, const void *rec, size_t reclen, uint64_t expires,
    int *added)
{
	struct mig_ctx	 m;
	enum pg_err	 e;

	*added = 0;
	if (klen == 0 || klen > STORE_KEY_MAX)
		return PG_EINVAL;
	if (rs != NULL)
		return rs_idem_import(rs, key, klen, rec, reclen, expires,
		    added);
	memset(&m, 0, sizeof(m));
	m.key = key;
	m.klen = klen;
	m.rec = rec;
	m.reclen = reclen;
	m.expires = expires;
	if ((e = store_run(st, 1, mig_import_txn, &m)) == PG_OK)
		*added = m.added;
	return e;
}

enum pg_err
idem_has(struct store *st, struct rstore *rs, const void *key, size_t klen)
{
	char		 rk[2 * SHA256_DIGEST_LENGTH + 8];
	struct mig_ctx	 m;

	if (klen == 0 || klen > STORE_KEY_MAX)
		return PG_EINVAL;
	if (rs != NULL) {
		idem_rkey(key, klen, rk);
		return rs_exists(rs, rk);
	}
	memset(&m, 0, sizeof(m));
	m.key = key;
	m.klen = klen;
	return store_run(st, 0, mig_has_txn, &m);
}

enum pg_err
idem_rotate_shared(struct rstore *rs, const struct keyring *ring,
    struct rs_rewrite *res)
{
	/* Only done records hold a sealed response (rec). */
	return rs_rewrite_field(rs, "pg:{i:", "rec", seal_reseal_cb,
	    (void *)ring, res);
}
