/* Unit tests: lib/ipallow (allowlists, CIDRs, X-Forwarded-For). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipallow.h"

static struct ipset set, trusted;

static void
test_match(void **s)
{
	size_t	 bad;

	(void)s;
	assert_int_equal(ipset_parse("3.18.12.63, 10.0.0.0/8,2001:db8::/32\n"
	    "# comment 1.2.3.4\n192.168.1.128/25 ::1", &set, &bad), PG_OK);
	assert_int_equal(set.n, 5);
	assert_true(ipset_match(&set, "3.18.12.63"));
	assert_false(ipset_match(&set, "3.18.12.64"));
	assert_true(ipset_match(&set, "10.255.0.1"));
	assert_false(ipset_match(&set, "11.0.0.1"));
	assert_true(ipset_match(&set, "2001:db8:ffff::1"));
	assert_false(ipset_match(&set, "2001:db9::1"));
	assert_true(ipset_match(&set, "192.168.1.200"));
	assert_false(ipset_match(&set, "192.168.1.127"));
	assert_false(ipset_match(&set, "1.2.3.4"));
	assert_true(ipset_match(&set, "::1"));
	assert_true(ipset_match(&set, "::ffff:10.1.2.3"));	/* mapped v4 */
	assert_false(ipset_match(&set, ""));
	assert_false(ipset_match(&set, "not-an-ip"));
	assert_false(ipset_match(&set, "10.0.0.0/8"));
	assert_false(ipset_match(&set, NULL));
}

static void
test_bad_entries(void **s)
{
	size_t	 bad;

	(void)s;
	assert_int_equal(ipset_parse("1.2.3.4,1.2.3.400", &set, &bad), PG_EINVAL);
	assert_int_equal(bad, 2);
	assert_int_equal(ipset_parse("1.2.3.4/33", &set, &bad), PG_EINVAL);
	assert_int_equal(ipset_parse("::1/129", &set, &bad), PG_EINVAL);
	assert_int_equal(ipset_parse("1.2.3.4/", &set, &bad), PG_EINVAL);
	assert_int_equal(ipset_parse("1.2.3.4/x", &set, &bad), PG_EINVAL);
	assert_int_equal(ipset_parse("", &set, &bad), PG_OK);
	assert_int_equal(set.n, 0);
	assert_false(ipset_match(&set, "1.2.3.4"));
}

static void
test_shipped_file(void **s)
{
	char	 path[4096];
	const char *src = getenv("PAYGUARD_SRCDIR");

	(void)s;
	snprintf(path, sizeof(path), "%s/data/stripe-webhook-ips.txt", src ? src : ".");
	assert_int_equal(ipset_load_file(path, &set), PG_OK);
	assert_int_equal(set.n, 12);
	assert_true(ipset_match(&set, "54.187.216.72"));
	assert_false(ipset_match(&set, "127.0.0.1"));
	assert_int_equal(ipset_load_file("/nonexistent/ips", &set), PG_NOTFOUND);
}

static void
test_forwarded(void **s)
{
	char	 out[IP_STR_MAX];
	size_t	 bad;

	(void)s;
	assert_int_equal(ipset_parse("127.0.0.1,10.0.0.0/8", &trusted, &bad), PG_OK);
	/* Untrusted peer: the header is ignored. */
	ip_client("8.8.8.8", "3.18.12.63", &trusted, out, sizeof(out));
	assert_string_equal(out, "8.8.8.8");
	/* Trusted peer: right-most untrusted hop. */
	ip_client("127.0.0.1", "1.1.1.1, 3.18.12.63, 10.0.0.5", &trusted, out, sizeof(out));
	assert_string_equal(out, "3.18.12.63");
	/* Spoofed left-most entries are not believed. */
	ip_client("127.0.0.1", "3.18.12.63, 9.9.9.9", &trusted, out, sizeof(out));
	assert_string_equal(out, "9.9.9.9");
	/* Garbage keeps the peer. */
	ip_client("127.0.0.1", "evil\r\nX: y", &trusted, out, sizeof(out));
	assert_string_equal(out, "127.0.0.1");
	ip_client("127.0.0.1", NULL, &trusted, out, sizeof(out));
	assert_string_equal(out, "127.0.0.1");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_bad_entries),
		cmocka_unit_test(test_shipped_file),
		cmocka_unit_test(test_forwarded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
