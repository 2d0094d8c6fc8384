/* Unit tests: lib/event (payload validation), including hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "event.h"

static enum pg_err
val(const char *s, struct event_info *ev)
{
	const char *why;

	return event_validate(s, strlen(s), ev, &why);
}

static void
test_valid(void **s)
{
	struct event_info ev;

	(void)s;
	assert_int_equal(val("{\"id\":\"evt_1AbC\",\"object\":\"event\","
	    "\"type\":\"invoice.paid\",\"created\":1700000000,\"livemode\":true,"
	    "\"api_version\":\"2024-06-20\",\"data\":{\"object\":{}}}\n", &ev), PG_OK);
	assert_string_equal(ev.id, "evt_1AbC");
	assert_string_equal(ev.type, "invoice.paid");
	assert_string_equal(ev.api_version, "2024-06-20");
	assert_int_equal(ev.created, 1700000000);
	assert_int_equal(ev.livemode, 1);
	assert_int_equal(val("{\"id\":\"evt_2\",\"object\":\"event\",\"type\":\"x\","
	    "\"created\":1,\"api_version\":null}", &ev), PG_OK);
	assert_string_equal(ev.api_version, "");
}

static void
test_invalid_fields(void **s)
{
	struct event_info ev;
	static const char *bad[] = {
		"",
		"[]",
		"\"evt_1\"",
		"{}",
		"{\"id\":\"ch_1\",\"object\":\"event\",\"type\":\"x\",\"created\":1}",
		"{\"id\":\"evt_\",\"object\":\"event\",\"type\":\"x\",\"created\":1}",
		"{\"id\":\"evt_a b\",\"object\":\"event\",\"type\":\"x\",\"created\":1}",
		"{\"id\":7,\"object\":\"event\",\"type\":\"x\",\"created\":1}",
		"{\"id\":\"evt_1\",\"object\":\"charge\",\"type\":\"x\",\"created\":1}",
		"{\"id\":\"evt_1\",\"type\":\"x\",\"created\":1}",
		"{\"id\":\"evt_1\",\"object\":\"event\",\"type\":5,\"created\":1}",
		"{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"\",\"created\":1}",
		"{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"a\\nb\",\"created\":1}",
		"{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\",\"created\":\"1\"}",
		"{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\",\"created\":1.5}",
		"{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\"}",
		"{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\",\"created\":1} trailing",
		"{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\",\"created\":1",
		"{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\",\"created\":1,}",
		"{'id':'evt_1'}",
	};
	size_t	 i;

	(void)s;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(val(bad[i], &ev), PG_EINVAL);
}

static void
test_hostile(void **s)
{
	struct event_info ev;
	const char	*why;
	char		*deep;
	size_t		 i, n = 5000;
	static const char nul[] = "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\",\"created\":1}\0junk";
	static const char latin1[] = "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\",\"created\":1,\"n\":\"caf\xe9\"}";

	(void)s;
	deep = malloc(2 * n + 100);
	assert_non_null(deep);
	strcpy(deep, "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\",\"created\":1,\"d\":");
	size_t off = strlen(deep);
	for (i = 0; i < n; i++)
		deep[off++] = '[';
	for (i = 0; i < n; i++)
		deep[off++] = ']';
	deep[off++] = '}';
	assert_int_equal(event_validate(deep, off, &ev, &why), PG_EINVAL);
	assert_string_equal(why, "JSON nested too deeply");
	free(deep);
	assert_int_equal(event_validate(nul, sizeof(nul) - 1, &ev, &why), PG_EINVAL);
	assert_string_equal(why, "body contains a NUL byte");
	assert_int_equal(event_validate(latin1, strlen(latin1), &ev, &why), PG_EINVAL);
	assert_string_equal(why, "body is not valid UTF-8");
	/* Valid UTF-8 is fine. */
	assert_int_equal(val("{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\","
	    "\"created\":1,\"n\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}", &ev), PG_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid_fields),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
