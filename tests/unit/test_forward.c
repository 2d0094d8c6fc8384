/* Unit tests: lib/forward (Standard Webhooks signing, configuration). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "forward.h"

static void
test_sign_vector(void **s)
{
	char	 out[128];
	static const char body[] = "{\"test\": 2432232314}";

	(void)s;
	/* The Standard Webhooks example, also what the standardwebhooks npm
	 * package computes for it. */
	assert_int_equal(forward_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	    "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, strlen(body),
	    out, sizeof(out)), PG_OK);
	assert_string_equal(out, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	/* Any change of id, time or body changes it. */
	assert_int_equal(forward_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	    "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body, strlen(body),
	    out, sizeof(out)), PG_OK);
	assert_string_not_equal(out, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

static void
test_bad_secrets(void **s)
{
	char	 out[128];
	size_t	 i;
	static const char *bad[] = {
		NULL, "", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",	/* not 4k chars */
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La!aSw",	/* not base64 */
		"whsec_MfKQ9r8GKYqrTwjUPD8I=PZIo2LaLaSw",	/* '=' inside */
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZI",		/* 16 bytes: short */
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La-aSw",	/* url-safe alphabet */
	};

	(void)s;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (forward_sign(bad[i], "evt_1", 1, "{}", 2, out, sizeof(out)) !=
		    PG_EINVAL)
			fail_msg("accepted secret %zu", i);
	/* Padding is fine: 25 bytes. */
	assert_int_equal(forward_sign("whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3OA==",
	    "evt_1", 1, "{}", 2, out, sizeof(out)), PG_OK);
}

static void
test_secret_new(void **s)
{
	char	 a[FORWARD_SECRET_STR_MAX], b[FORWARD_SECRET_STR_MAX], out[128];

	(void)s;
	assert_int_equal(forward_secret_new(a), PG_OK);
	assert_int_equal(forward_secret_new(b), PG_OK);
	assert_int_equal(strncmp(a, "whsec_", 6), 0);
	assert_int_equal(strlen(a), 6 + 44);
	assert_string_not_equal(a, b);
	assert_int_equal(forward_sign(a, "evt_1", 1, "{}", 2, out, sizeof(out)),
	    PG_OK);
}

static void
test_check(void **s)
{
	struct config	 c;
	char		 why[192];

	(void)s;
	memset(&c, 0, sizeof(c));
	assert_int_equal(forward_check(&c, why, sizeof(why)), PG_OK);
	c.forward_secret = (char *)"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
	c.wh_forward_url = (char *)"https://shop.example.com/stripe/events";
	assert_int_equal(forward_check(&c, why, sizeof(why)), PG_OK);
	c.wh_forward_url = (char *)"http://127.0.0.1:8080/events";
	assert_int_equal(forward_check(&c, why, sizeof(why)), PG_OK);
	c.wh_forward_url = (char *)"http://[::1]/events";
	assert_int_equal(forward_check(&c, why, sizeof(why)), PG_OK);
	c.wh_forward_url = (char *)"http://localhost/events";
	assert_int_equal(forward_check(&c, why, sizeof(why)), PG_OK);
	c.wh_forward_url = (char *)"http://shop.example.com/events";
	assert_int_equal(forward_check(&c, why, sizeof(why)), PG_CONFIG);
	assert_non_null(strstr(why, "PAYGUARD_WEBHOOK_FORWARD_URL"));
	c.wh_forward_url = (char *)"http://127.0.0.1.example.com/events";
	assert_int_equal(forward_check(&c, why, sizeof(why)), PG_CONFIG);
	c.wh_forward_url = (char *)"ftp://127.0.0.1/events";
	assert_int_equal(forward_check(&c, why, sizeof(why)), PG_CONFIG);
	c.wh_forward_url = (char *)"not a url";
	assert_int_equal(forward_check(&c, why, sizeof(why)), PG_CONFIG);
	c.wh_forward_url = (char *)"https://shop.example.com/events";
	c.forward_secret = NULL;
	assert_int_equal(forward_check(&c, why, sizeof(why)), PG_CONFIG);
	assert_non_null(strstr(why, "PAYGUARD_FORWARD_SECRET"));
	c.forward_secret = (char *)"whsec_short";
	assert_int_equal(forward_check(&c, why, sizeof(why)), PG_CONFIG);
	assert_null(strstr(why, "whsec_short"));	/* never the value */
	c.forward_secret = (char *)"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
	c.wh_handler = (char *)"/usr/local/bin/on-event";
	assert_int_equal(forward_check(&c, why, sizeof(why)), PG_CONFIG);
	assert_non_null(strstr(why, "PAYGUARD_WEBHOOK_HANDLER"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_vector),
		cmocka_unit_test(test_bad_secrets),
		cmocka_unit_test(test_secret_new),
		cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
