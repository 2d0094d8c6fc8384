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

#define THIN_HEAD "{\"id\":\"evt_test_65R9Ijk8rCgMvRdhOq\",\"object\":\"v2.core.event\"," \
	"\"type\":\"v1.billing.meter.error_report_triggered\",\"livemode\":false,"

static void
test_thin(void **s)
{
	struct event_info ev;

	(void)s;
	/* The shape of stripe-node's and stripe-python's test fixtures. */
	assert_int_equal(val(THIN_HEAD "\"created\":\"2024-09-26T12:00:00.000Z\","
	    "\"context\":\"acct_1Nv0FGQ9RKHgCVdK\",\"related_object\":{\"id\":"
	    "\"mtr_123\",\"type\":\"billing.meter\",\"url\":"
	    "\"/v1/billing/meters/mtr_123\"},\"reason\":{\"type\":\"request\"}}",
	    &ev), PG_OK);
	assert_int_equal(ev.kind, EVENT_THIN);
	assert_string_equal(event_kind_name(ev.kind), "thin");
	assert_string_equal(ev.id, "evt_test_65R9Ijk8rCgMvRdhOq");
	assert_string_equal(ev.type, "v1.billing.meter.error_report_triggered");
	assert_string_equal(ev.account, "acct_1Nv0FGQ9RKHgCVdK");
	assert_string_equal(ev.api_version, "");
	assert_int_equal(ev.created, 1727352000);
	/* Offsets, no fraction, no context or related object, null ones. */
	assert_int_equal(val(THIN_HEAD "\"created\":\"2024-09-26T14:00:00+02:00\"}",
	    &ev), PG_OK);
	assert_int_equal(ev.created, 1727352000);
	assert_string_equal(ev.account, "");
	assert_int_equal(val(THIN_HEAD "\"created\":\"2024-09-26T12:00:00Z\","
	    "\"context\":null,\"related_object\":null}", &ev), PG_OK);
	/* A snapshot event from a connected account. */
	assert_int_equal(val("{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\","
	    "\"created\":1,\"account\":\"acct_1ABC\"}", &ev), PG_OK);
	assert_int_equal(ev.kind, EVENT_SNAPSHOT);
	assert_string_equal(ev.account, "acct_1ABC");
	assert_int_equal(val("{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\","
	    "\"created\":1,\"account\":null}", &ev), PG_OK);
	assert_string_equal(ev.account, "");
}

static void
test_thin_invalid(void **s)
{
	struct event_info ev;
	const char	*why;
	static const char *bad[] = {
		/* v1 rules do not carry over: integer created is wrong here. */
		THIN_HEAD "\"created\":1727352000}",
		THIN_HEAD "}",
		THIN_HEAD "\"created\":\"yesterday\"}",
		THIN_HEAD "\"created\":\"2024-09-26\"}",
		THIN_HEAD "\"created\":\"2024-09-26T12:00:00\"}",
		THIN_HEAD "\"created\":\"2024-02-31T12:00:00Z\"}",
		THIN_HEAD "\"created\":\"2024-09-26T25:00:00Z\"}",
		THIN_HEAD "\"created\":\"2024-09-26T12:00:00.Z\"}",
		THIN_HEAD "\"created\":\"2024-09-26T12:00:00Z \"}",
		THIN_HEAD "\"created\":\"2024-09-26T12:00:00Z\",\"context\":5}",
		THIN_HEAD "\"created\":\"2024-09-26T12:00:00Z\",\"context\":\"cus_1\"}",
		THIN_HEAD "\"created\":\"2024-09-26T12:00:00Z\",\"context\":\"acct_1 x\"}",
		THIN_HEAD "\"created\":\"2024-09-26T12:00:00Z\",\"related_object\":\"mtr_1\"}",
		THIN_HEAD "\"created\":\"2024-09-26T12:00:00Z\",\"related_object\":{\"id\":\"mtr_1\"}}",
		THIN_HEAD "\"created\":\"2024-09-26T12:00:00Z\",\"related_object\":"
		    "{\"id\":\"mtr_1\",\"type\":\"billing.meter\",\"url\":7}}",
		"{\"id\":\"evt_1\",\"object\":\"v2.core.eventx\",\"type\":\"x\","
		    "\"created\":\"2024-09-26T12:00:00Z\"}",
		"{\"id\":\"evt_1\",\"object\":\"v2.event\",\"type\":\"x\","
		    "\"created\":\"2024-09-26T12:00:00Z\"}",
		"{\"id\":\"ev_1\",\"object\":\"v2.core.event\",\"type\":\"x\","
		    "\"created\":\"2024-09-26T12:00:00Z\"}",
		/* ... and a snapshot event may not use the thin form. */
		"{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\","
		    "\"created\":\"2024-09-26T12:00:00Z\"}",
		"{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\","
		    "\"created\":1,\"account\":\"cus_1\"}",
		"{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\","
		    "\"created\":1,\"account\":{}}",
	};
	size_t	 i;

	(void)s;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (event_validate(bad[i], strlen(bad[i]), &ev, &why) != PG_EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(why);
	}
	assert_int_equal(val(THIN_HEAD "\"created\":1}", &ev), PG_EINVAL);
	assert_int_equal(event_validate(THIN_HEAD "\"created\":1}",
	    strlen(THIN_HEAD "\"created\":1}"), &ev, &why), PG_EINVAL);
	assert_string_equal(why, "created must be an RFC 3339 date-time string");
}

static void
test_kinds_parse(void **s)
{
	unsigned int	 k;

	(void)s;
	assert_int_equal(event_kinds_parse("snapshot,thin", &k), PG_OK);
	assert_int_equal(k, EVENT_KINDS_ALL);
	assert_int_equal(event_kinds_parse("thin", &k), PG_OK);
	assert_int_equal(k, EVENT_KIND_BIT(EVENT_THIN));
	assert_int_equal(event_kinds_parse(" snapshot ", &k), PG_OK);
	assert_int_equal(k, EVENT_KIND_BIT(EVENT_SNAPSHOT));
	assert_int_equal(event_kinds_parse("", &k), PG_EINVAL);
	assert_int_equal(event_kinds_parse("snapshot,v2", &k), PG_EINVAL);
	assert_int_equal(event_kinds_parse("thinner", &k), PG_EINVAL);
	assert_int_equal(event_kinds_parse(NULL, &k), PG_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid_fields),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_thin),
		cmocka_unit_test(test_thin_invalid),
		cmocka_unit_test(test_kinds_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
