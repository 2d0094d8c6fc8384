/*
 * payguard - unit tests for the audit flood bound (lib/audit.c, issue 9):
 * per (type, address, identity, minute) the first AUDIT_FLOOD_WHOLE
 * suspicious records are kept whole, the rest only counted, then one
 * summary record carries their number; the stats count every one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "aindex.h"
#include "astats.h"
#include "audit.h"
#include "config.h"
#include "store.h"

static char	 dir[4096], logpath[4300];

/* Lines of the log, and of them those whose event_type is type. */
static size_t
count_lines(const char *type, size_t *all, struct json_object **last)
{
	FILE		*fp = fopen(logpath, "r");
	char		 line[8192];
	size_t		 n = 0;
	struct json_object *o, *t;

	*all = 0;
	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		(*all)++;
		if ((o = json_tokener_parse(line)) == NULL)
			continue;
		if (json_object_object_get_ex(o, "event_type", &t) &&
		    strcmp(json_object_get_string(t), type) == 0) {
			n++;
			if (last != NULL) {
				json_object_put(*last);
				*last = json_object_get(o);
			}
		}
		json_object_put(o);
	}
	fclose(fp);
	return n;
}

static void
test_flood(void **state)
{
	const char	*base = getenv("PAYGUARD_STATE_DIR");
	char		 cmd[8400];
	struct store	*st = NULL;
	struct audit_ctx ctx = { dir, "198.51.100.9", "flood/1.0", "req_f",
			    "stripe", NULL, NULL, NULL };
	struct audit_ctx other = { dir, "198.51.100.10", "flood/1.0",
			    "req_g", "stripe", NULL, NULL, NULL };
	struct astats	*s;
	struct json_object *last = NULL, *d, *v;
	size_t		 i, all, n;
	time_t		 now = time(NULL);

	(void)state;
	/* Stay inside one minute: the bound is per minute. */
	if (now % 60 > 45)
		sleep((unsigned)(61 - now % 60));
	snprintf(dir, sizeof(dir), "%s/flood", base ? base : "/tmp");
	snprintf(logpath, sizeof(logpath), "%s/logs/" AUDIT_LOG_NAME, dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", dir, dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(store_open(dir, STORE_NOSYNC, &st), PG_OK);
	ctx.st = other.st = st;
	for (i = 0; i < 3 * AUDIT_FLOOD_WHOLE; i++)
		assert_int_equal(audit_event(&ctx,
		    AEV_WEBHOOK_INVALID_SIGNATURE, SEV_HIGH, 0, "webhook", NULL,
		    NULL), PG_OK);
	/* Another address has its own allowance; a success is never bound. */
	for (i = 0; i < 3; i++)
		assert_int_equal(audit_event(&other,
		    AEV_WEBHOOK_INVALID_SIGNATURE, SEV_HIGH, 0, "webhook", NULL,
		    NULL), PG_OK);
	for (i = 0; i < AUDIT_FLOOD_WHOLE + 5; i++)
		assert_int_equal(audit_event(&ctx, AEV_WEBHOOK_VALIDATED,
		    SEV_LOW, 1, "webhook", NULL, NULL), PG_OK);
	n = count_lines("webhook_invalid_signature", &all, NULL);
	assert_int_equal(n, AUDIT_FLOOD_WHOLE + 3);
	assert_int_equal(count_lines("webhook_validated", &all, NULL),
	    AUDIT_FLOOD_WHOLE + 5);
	/* The stats (and so the alerts) saw every refused request. */
	assert_non_null(s = calloc(1, sizeof(*s)));
	assert_int_equal(astats_compute(st, 0, 1, 0, 0, s), PG_OK);
	assert_int_equal(s->sig_bad, 3 * AUDIT_FLOOD_WHOLE + 3);
	free(s);
	/* Within the minute: no summary yet. */
	assert_int_equal(audit_flood_flush(&ctx), PG_OK);
	assert_int_equal(count_lines("audit_flood_summary", &all, NULL), 0);
	/* Once it is over: exactly one, with the count of the rest. */
	assert_int_equal(audit_flood_flush_at(&ctx, store_now_us() +
	    AINDEX_MIN_US), PG_OK);
	assert_int_equal(audit_flood_flush_at(&ctx, store_now_us() +
	    AINDEX_MIN_US), PG_OK);
	assert_int_equal(count_lines("audit_flood_summary", &all, &last), 1);
	assert_true(json_object_object_get_ex(last, "details", &d));
	assert_true(json_object_object_get_ex(d, "suppressed", &v));
	assert_int_equal(json_object_get_int64(v), 2 * AUDIT_FLOOD_WHOLE);
	assert_true(json_object_object_get_ex(d, "event_type", &v));
	assert_string_equal(json_object_get_string(v),
	    "webhook_invalid_signature");
	assert_true(json_object_object_get_ex(last, "source_ip", &v));
	assert_string_equal(json_object_get_string(v), "198.51.100.9");
	json_object_put(last);
	store_close(st);
}

/* The summary records of scope ("address" or "type") in the log: how
 * many, and the sum of their suppressed counts. */
static size_t
summaries(const char *scope, int64_t *suppressed, int64_t *kept)
{
	FILE		*fp = fopen(logpath, "r");
	char		 line[8192];
	size_t		 n = 0;
	struct json_object *o, *t, *d, *v;

	*suppressed = *kept = 0;
	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if ((o = json_tokener_parse(line)) == NULL)
			continue;
		if (json_object_object_get_ex(o, "event_type", &t) &&
		    strcmp(json_object_get_string(t), "audit_flood_summary") ==
		    0 && json_object_object_get_ex(o, "details", &d) &&
		    json_object_object_get_ex(d, "scope", &v) &&
		    strcmp(json_object_get_string(v), scope) == 0) {
			n++;
			if (json_object_object_get_ex(d, "suppressed", &v))
				*suppressed += json_object_get_int64(v);
			if (json_object_object_get_ex(d, "kept", &v))
				*kept = json_object_get_int64(v);
		}
		json_object_put(o);
	}
	fclose(fp);
	return n;
}

/*
 * The bounds from the configuration (N = 5 per address, M = 20 per type),
 * and a flood spread over many addresses, each under its own N: only the
 * first M of the type are kept, one type-wide summary counts the rest,
 * and the stats still see every request.
 */
static void
test_flood_configured(void **state)
{
	const char	*base = getenv("PAYGUARD_STATE_DIR");
	char		 cmd[8400], ip[64];
	struct config	 cfg;
	struct store	*st = NULL;
	struct audit_ctx ctx = { dir, "", "flood/2.0", "req_h", "stripe",
			    NULL, NULL, NULL };
	struct astats	*s;
	size_t		 i, all;
	int64_t		 sup = 0, kept = 0;
	time_t		 now = time(NULL);

	(void)state;
	if (now % 60 > 45)
		sleep((unsigned)(61 - now % 60));
	memset(&cfg, 0, sizeof(cfg));
	cfg.audit_flood_whole = 5;
	cfg.audit_flood_type = 20;
	snprintf(dir, sizeof(dir), "%s/flood2", base ? base : "/tmp");
	snprintf(logpath, sizeof(logpath), "%s/logs/" AUDIT_LOG_NAME, dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", dir, dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(store_open(dir, STORE_NOSYNC, &st), PG_OK);
	ctx.st = st;
	ctx.cfg = &cfg;
	/* 300 addresses (IPv4 and IPv6), 2 refusals each: every address
	 * is within its N, the type is far past M. */
	for (i = 0; i < 300; i++) {
		if (i % 2)
			snprintf(ip, sizeof(ip), "203.0.%zu.%zu", i / 250,
			    i % 250);
		else
			snprintf(ip, sizeof(ip), "2001:db8:%zx::1", i);
		ctx.source_ip = ip;
		assert_int_equal(audit_event(&ctx, AEV_WEBHOOK_INVALID_IP,
		    SEV_HIGH, 0, "webhook", NULL, "request_rejected"), PG_OK);
		assert_int_equal(audit_event(&ctx, AEV_WEBHOOK_INVALID_IP,
		    SEV_HIGH, 0, "webhook", NULL, "request_rejected"), PG_OK);
	}
	/* One address past its N (another type: its own M). */
	ctx.source_ip = "198.51.100.77";
	for (i = 0; i < 12; i++)
		assert_int_equal(audit_event(&ctx,
		    AEV_WEBHOOK_INVALID_SIGNATURE, SEV_HIGH, 0, "webhook", NULL,
		    NULL), PG_OK);
	assert_int_equal(count_lines("webhook_invalid_ip", &all, NULL), 20);
	assert_int_equal(count_lines("webhook_invalid_signature", &all, NULL),
	    5);
	assert_non_null(s = calloc(1, sizeof(*s)));
	assert_int_equal(astats_compute(st, 0, 1, 0, 0, s), PG_OK);
	assert_int_equal(s->invalid_ip, 600);
	assert_int_equal(s->sig_bad, 12);
	free(s);
	/* Once the minute is over: one type-wide summary for the spread
	 * flood, one per-address summary for the other; each once. */
	assert_int_equal(audit_flood_flush_at(&ctx, store_now_us() +
	    AINDEX_MIN_US), PG_OK);
	assert_int_equal(audit_flood_flush_at(&ctx, store_now_us() +
	    AINDEX_MIN_US), PG_OK);
	assert_int_equal(summaries("type", &sup, &kept), 1);
	assert_int_equal(sup, 600 - 20);
	assert_int_equal(kept, 20);
	assert_int_equal(summaries("address", &sup, &kept), 1);
	assert_int_equal(sup, 12 - 5);
	assert_int_equal(kept, 5);
	/* 20 + 5 kept, 2 summaries: nothing else reached the log. */
	count_lines("", &all, NULL);
	assert_int_equal(all, 20 + 5 + 2);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_flood_configured),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
