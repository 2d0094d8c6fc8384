/* Unit tests: lib/sig (Stripe-Signature parsing and verification). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sig.h"

#define KNOWN_HEX "aef8c8a913734e55689d9c6644763ad956d722c4570197f6ad996b5b07645276"

static char *secrets[2] = { (char *)"whsec_old_secret_abcdef", (char *)"whsec_new_secret_123456" };
static const char body[] = "{\"id\":\"evt_1\",\"object\":\"event\"}";

static void
hdr(char *out, size_t n, const char *secret, long long t, const char *extra)
{
	char	 hex[65];

	assert_int_equal(sig_compute(secret, t, body, strlen(body), hex), PG_OK);
	snprintf(out, n, "t=%lld,v1=%s%s", t, hex, extra);
}

/* Known answer: printf '1700000000.{"id":"evt_1","object":"event"}' |
 * openssl dgst -sha256 -hmac whsec_old_secret_abcdef */
static void
test_known_answer(void **s)
{
	char	 hex[65];

	(void)s;
	assert_int_equal(sig_compute(secrets[0], 1700000000, body,
	    strlen(body), hex), PG_OK);
	assert_string_equal(hex, KNOWN_HEX);
}

static void
test_valid_and_rotation(void **s)
{
	char	 h[512];
	size_t	 which = 9;

	(void)s;
	hdr(h, sizeof(h), secrets[1], 1000, "");
	assert_int_equal(sig_verify(h, body, strlen(body), secrets, 2,
	    300, 1000, &which), SIG_OK);
	assert_int_equal(which, 1);
	/* One secret configured, the other not: mismatch. */
	assert_int_equal(sig_verify(h, body, strlen(body), secrets, 1,
	    300, 1000, &which), SIG_MISMATCH);
	/* Several v1 during Stripe's own roll: any match passes. */
	char h2[600], hex[65];
	sig_compute(secrets[0], 1000, body, strlen(body), hex);
	snprintf(h2, sizeof(h2), "t=1000,v1=%064d,v1=%s,v0=%s", 0, hex, hex);
	assert_int_equal(sig_verify(h2, body, strlen(body), secrets, 1,
	    300, 1000, &which), SIG_OK);
}

static void
test_tolerance(void **s)
{
	char	 h[512];
	size_t	 w;

	(void)s;
	hdr(h, sizeof(h), secrets[0], 1000, "");
	assert_int_equal(sig_verify(h, body, strlen(body), secrets, 1,
	    300, 1300, &w), SIG_OK);
	assert_int_equal(sig_verify(h, body, strlen(body), secrets, 1,
	    300, 1301, &w), SIG_TOO_OLD);
	assert_int_equal(sig_verify(h, body, strlen(body), secrets, 1,
	    300, 700, &w), SIG_OK);
	assert_int_equal(sig_verify(h, body, strlen(body), secrets, 1,
	    300, 699, &w), SIG_TOO_NEW);
}

static void
test_body_changed(void **s)
{
	char	 h[512];
	size_t	 w;

	(void)s;
	hdr(h, sizeof(h), secrets[0], 1000, "");
	assert_int_equal(sig_verify(h, body, strlen(body) - 1, secrets, 1,
	    300, 1000, &w), SIG_MISMATCH);
	/* Re-serialised JSON (a space) must fail: the raw bytes count. */
	assert_int_equal(sig_verify(h, "{\"id\": \"evt_1\",\"object\":\"event\"}",
	    strlen(body) + 1, secrets, 1, 300, 1000, &w), SIG_MISMATCH);
}

static void
test_parse_errors(void **s)
{
	struct sig_header h;
	size_t	 w;
	char	 big[SIG_HDR_MAX + 10];

	(void)s;
	assert_int_equal(sig_parse(NULL, &h), SIG_HEADER_MISSING);
	assert_int_equal(sig_parse("", &h), SIG_HEADER_MISSING);
	assert_int_equal(sig_parse("garbage", &h), SIG_HEADER_MALFORMED);
	assert_int_equal(sig_parse("v1=abc", &h), SIG_HEADER_MALFORMED);
	assert_int_equal(sig_parse("t=12x,v1=ab", &h), SIG_HEADER_MALFORMED);
	assert_int_equal(sig_parse("t=,v1=ab", &h), SIG_HEADER_MALFORMED);
	assert_int_equal(sig_parse("t=-5,v1=ab", &h), SIG_HEADER_MALFORMED);
	assert_int_equal(sig_parse("t=5,,v1=ab", &h), SIG_HEADER_MALFORMED);
	assert_int_equal(sig_parse("t=99999999999999999999", &h), SIG_HEADER_MALFORMED);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "t=5,v1=", 7);
	assert_int_equal(sig_parse(big, &h), SIG_HEADER_MALFORMED);
	/* First t wins; unknown schemes ignored. */
	assert_int_equal(sig_parse("t=5,t=6,v9=xx,foo=bar", &h), SIG_OK);
	assert_int_equal(h.t, 5);
	assert_int_equal(h.nv1, 0);
	assert_int_equal(sig_verify("t=5,v0=abcd", body, strlen(body),
	    secrets, 1, 300, 5, &w), SIG_NO_V1);
	/* A malformed v1 is present but cannot match. */
	assert_int_equal(sig_verify("t=5,v1=zz", body, strlen(body),
	    secrets, 1, 300, 5, &w), SIG_MISMATCH);
	/* CRLF injection inside the header value. */
	assert_int_equal(sig_parse("t=5\r\nX-Evil: 1,v1=ab", &h), SIG_HEADER_MALFORMED);
}

static void
test_codes(void **s)
{
	(void)s;
	assert_string_equal(sig_code(SIG_HEADER_MISSING), "signature_header_missing");
	assert_string_equal(sig_code(SIG_HEADER_MALFORMED), "signature_header_malformed");
	assert_string_equal(sig_code(SIG_NO_V1), "signature_no_v1");
	assert_string_equal(sig_code(SIG_MISMATCH), "signature_mismatch");
	assert_string_equal(sig_code(SIG_TOO_OLD), "timestamp_too_old");
	assert_string_equal(sig_code(SIG_TOO_NEW), "timestamp_too_new");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_valid_and_rotation),
		cmocka_unit_test(test_tolerance),
		cmocka_unit_test(test_body_changed),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
