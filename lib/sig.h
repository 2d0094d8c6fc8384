/*
 * payguard - Stripe-Signature verification (stripe-semantics.md §1).
 *
 * Header: comma-separated key=value items; "t" is the Unix timestamp, each
 * "v1" a 64-hex-digit HMAC-SHA256 of "<t>.<raw body>" keyed by the whole
 * endpoint secret (whsec_ prefix included).  v0 and unknown schemes are
 * ignored (downgrade protection).  Checks run in stripe-python's order:
 * parse, scheme present, signature, timestamp; unlike the SDKs a timestamp
 * further than the tolerance in the future is rejected too.
 */
#ifndef PG_SIG_H
#define PG_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SIG_MAX_V1	16	/* v1 entries considered */
#define SIG_HDR_MAX	4096	/* bytes of header accepted */

enum sig_result {
	SIG_OK = 0,
	SIG_HEADER_MISSING,
	SIG_HEADER_MALFORMED,
	SIG_NO_V1,
	SIG_MISMATCH,
	SIG_TOO_OLD,
	SIG_TOO_NEW,
	SIG__MAX
};

struct sig_header {
	int64_t		 t;
	size_t		 nv1;		/* well-formed v1 entries */
	size_t		 nv1_seen;	/* v1 entries of any form */
	unsigned char	 v1[SIG_MAX_V1][32];
};

/* Returns the error code string for r ("signature_mismatch", ...). */
const char	*sig_code(enum sig_result r);
/* Returns a human-readable message for r. */
const char	*sig_message(enum sig_result r);
/* Parses hdr (NUL-terminated) into out. */
enum sig_result	 sig_parse(const char *hdr, struct sig_header *out);
/*
 * Verifies hdr over body against any of the secrets at time now.
 * *which gets the index of the secret that matched (SIG_OK only).
 */
enum sig_result	 sig_verify(const char *hdr, const void *body, size_t len,
		    char *const *secrets, size_t nsecrets, uint32_t tolerance,
		    int64_t now, size_t *which);
/* Computes the v1 signature as 64 lowercase hex digits + NUL. */
enum pg_err	 sig_compute(const char *secret, int64_t t, const void *body,
		    size_t len, char hex[65]);

#endif /* PG_SIG_H */
