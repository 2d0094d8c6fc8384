/* lib/backfill.c: times, types and the page query (the listing itself is
 * tested end to end against the fake Stripe: tests/e2e/test_backfill.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "backfill.h"

static void
test_parse_time(void **s)
{
	int64_t	 t, now = 1764806400;	/* 2025-12-04T00:00:00Z */

	(void)s;
	assert_int_equal(backfill_parse_time("1700000000", now, &t), PG_OK);
	assert_int_equal(t, 1700000000);
	assert_int_equal(backfill_parse_time("3d", now, &t), PG_OK);
	assert_int_equal(t, now - 3 * 86400);
	assert_int_equal(backfill_parse_time("12h", now, &t), PG_OK);
	assert_int_equal(t, now - 12 * 3600);
	assert_int_equal(backfill_parse_time("30m", now, &t), PG_OK);
	assert_int_equal(t, now - 1800);
	assert_int_equal(backfill_parse_time("2025-12-01", now, &t), PG_OK);
	assert_int_equal(t, now - 3 * 86400);
	assert_int_equal(backfill_parse_time("2025-12-01T06:30:15Z", now, &t),
	    PG_OK);
	assert_int_equal(t, now - 3 * 86400 + 6 * 3600 + 30 * 60 + 15);
	assert_int_equal(backfill_parse_time("2025-12-01T06:30Z", now, &t), PG_OK);
	assert_int_equal(t, now - 3 * 86400 + 6 * 3600 + 30 * 60);
	/* Refused: words, units unknown, trailing junk, negative, huge. */
	assert_int_equal(backfill_parse_time("", now, &t), PG_EINVAL);
	assert_int_equal(backfill_parse_time("yesterday", now, &t), PG_EINVAL);
	assert_int_equal(backfill_parse_time("3w", now, &t), PG_EINVAL);
	assert_int_equal(backfill_parse_time("3dd", now, &t), PG_EINVAL);
	assert_int_equal(backfill_parse_time("-5", now, &t), PG_EINVAL);
	assert_int_equal(backfill_parse_time("2025-12-01x", now, &t), PG_EINVAL);
	assert_int_equal(backfill_parse_time("99999999999999999999", now, &t),
	    PG_EINVAL);
	assert_int_equal(backfill_parse_time("999999d", now, &t), PG_EINVAL);
	/* Found by fuzz_backfill: a date past 2100 parsed. */
	assert_int_equal(backfill_parse_time("8025-12-01T00:15Z", now, &t),
	    PG_EINVAL);
}

static void
test_types(void **s)
{
	char	 many[400];
	int	 i;

	(void)s;
	assert_int_equal(backfill_check_types("invoice.paid"), PG_OK);
	assert_int_equal(backfill_check_types("invoice.paid,customer.*"), PG_OK);
	assert_int_equal(backfill_check_types(""), PG_EINVAL);
	assert_int_equal(backfill_check_types("a,,b"), PG_EINVAL);
	assert_int_equal(backfill_check_types("a,"), PG_EINVAL);
	assert_int_equal(backfill_check_types("invoice paid"), PG_EINVAL);
	assert_int_equal(backfill_check_types("Invoice.paid"), PG_EINVAL);
	assert_int_equal(backfill_check_types("a&b=c"), PG_EINVAL);
	many[0] = '\0';
	for (i = 0; i < 21; i++)
		strcat(many, i ? ",t" : "t");
	assert_int_equal(backfill_check_types(many), PG_EINVAL);
	many[strlen(many) - 2] = '\0';	/* 20 */
	assert_int_equal(backfill_check_types(many), PG_OK);
}

static void
test_query(void **s)
{
	struct buf	 q;

	(void)s;
	buf_init(&q, 4096);
	assert_int_equal(backfill_query(100, 200, NULL, NULL, &q), PG_OK);
	assert_string_equal(q.data,
	    "created%5Bgte%5D=100&created%5Blte%5D=200&limit=100");
	buf_reset(&q);
	assert_int_equal(backfill_query(1, 2, "invoice.paid,customer.*",
	    "evt_1Abc", &q), PG_OK);
	assert_string_equal(q.data, "created%5Bgte%5D=1&created%5Blte%5D=2&"
	    "limit=100&types%5B%5D=invoice.paid&types%5B%5D=customer.%2A&"
	    "starting_after=evt_1Abc");
	buf_free(&q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_query),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
