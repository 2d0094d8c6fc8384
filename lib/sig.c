/*
 * payguard - Stripe-Signature parsing and verification.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "codec.h"
#include "crypto.h"
#include "sig.h"

static const char *const sig_codes[SIG__MAX] = {
	"ok",				/* SIG_OK */
	"signature_header_missing",	/* SIG_HEADER_MISSING */
	"signature_header_malformed",	/* SIG_HEADER_MALFORMED */
	"signature_no_v1",		/* SIG_NO_V1 */
	"signature_mismatch",		/* SIG_MISMATCH */
	"timestamp_too_old",		/* SIG_TOO_OLD */
	"timestamp_too_new",		/* SIG_TOO_NEW */
};

static const char *const sig_msgs[SIG__MAX] = {
	"Signature verified",
	"No Stripe-Signature header value was provided.",
	"Unable to extract timestamp and signatures from header",
	"No signatures found with expected scheme v1",
	"No signatures found matching the expected signature for payload",
	"Timestamp outside the tolerance zone",
	"Timestamp is too far in the future",
};

const char *
sig_code(enum sig_result r)
{
	return (unsigned)r < SIG__MAX ? sig_codes[r] : "signature_error";
}

const char *
sig_message(enum sig_result r)
{
	return (unsigned)r < SIG__MAX ? sig_msgs[r] : "Signature error";
}

enum sig_result
sig_parse(const char *hdr, struct sig_header *out)
{
	const char	*p, *end, *eq, *ks, *vs;
	size_t		 klen, vlen, i;
	int		 have_t = 0;

	memset(out, 0, sizeof(*out));
	if (hdr == NULL || *hdr == '\0')
		return SIG_HEADER_MISSING;
	if (strlen(hdr) > SIG_HDR_MAX)
		return SIG_HEADER_MALFORMED;
	for (p = hdr; *p != '\0'; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ",");
		ks = p;
		while (ks < end && *ks == ' ')
			ks++;
		if (ks == end)
			return SIG_HEADER_MALFORMED;	/* empty item */
		if ((eq = memchr(ks, '=', (size_t)(end - ks))) == NULL)
			return SIG_HEADER_MALFORMED;
		klen = (size_t)(eq - ks);
		vs = eq + 1;
		vlen = (size_t)(end - vs);
		while (vlen > 0 && vs[vlen - 1] == ' ')
			vlen--;
		if (klen == 1 && ks[0] == 't') {
			int64_t t = 0;
			if (have_t)
				continue;	/* the first t counts, as in the SDKs */
			if (vlen == 0 || vlen > 12)
				return SIG_HEADER_MALFORMED;
			for (i = 0; i < vlen; i++) {
				if (vs[i] < '0' || vs[i] > '9')
					return SIG_HEADER_MALFORMED;
				t = t * 10 + (vs[i] - '0');
			}
			out->t = t;
			have_t = 1;
		} else if (klen == 2 && ks[0] == 'v' && ks[1] == '1') {
			/* Not 64 hex digits: present, but cannot match. */
			out->nv1_seen++;
			if (vlen != 64 || out->nv1 == SIG_MAX_V1)
				continue;
			if (codec_hex_decode(vs, 32, out->v1[out->nv1]) == 0)
				out->nv1++;
		}
		/* v0 and unknown schemes: ignored. */
	}
	return have_t ? SIG_OK : SIG_HEADER_MALFORMED;
}

/* The v1 MAC: HMAC-SHA256 under secret of "t." and the body. */
static enum pg_err
mac_raw(const char *secret, int64_t t, const void *body, size_t len,
    unsigned char md[32])
{
	struct crypto_part parts[2];
	char		 ts[32];
	int		 n;

	n = snprintf(ts, sizeof(ts), "%lld.", (long long)t);
	parts[0].p = ts;
	parts[0].n = (size_t)n;
	parts[1].p = body;
	parts[1].n = len;
	return crypto_hmac_sha256v(secret, strlen(secret), parts, 2, md);
}

enum pg_err
sig_compute(const char *secret, int64_t t, const void *body, size_t len,
    char hex[65])
{
	unsigned char	 md[32];
	enum pg_err	 e;

	if ((e = mac_raw(secret, t, body, len, md)) != PG_OK)
		return e;
	codec_hex_encode(md, sizeof(md), hex);
	return PG_OK;
}

enum sig_result
sig_verify(const char *hdr, const void *body, size_t len,
    char *const *secrets, size_t nsecrets, uint32_t tolerance, int64_t now,
    size_t *which)
{
	struct sig_header h;
	enum sig_result	 r;
	unsigned char	 md[32];
	size_t		 s, i;
	int		 match = 0;

	if ((r = sig_parse(hdr, &h)) != SIG_OK)
		return r;
	if (h.nv1_seen == 0)
		return SIG_NO_V1;
	for (s = 0; s < nsecrets && !match; s++) {
		if (mac_raw(secrets[s], h.t, body, len, md) != PG_OK)
			return SIG_MISMATCH;
		/* Compare against every v1 in constant time each. */
		for (i = 0; i < h.nv1; i++)
			if (CRYPTO_memcmp(md, h.v1[i], 32) == 0) {
				match = 1;
				*which = s;
			}
	}
	OPENSSL_cleanse(md, sizeof(md));
	if (!match)
		return SIG_MISMATCH;
	if (h.t < now - (int64_t)tolerance)
		return SIG_TOO_OLD;
	if (h.t > now + (int64_t)tolerance)
		return SIG_TOO_NEW;
	return SIG_OK;
}
