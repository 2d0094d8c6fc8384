/* Unit tests: lib/ratelimit (exact sliding window, headers, fail-open,
 * many processes against one window). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/mman.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ratelimit.h"

#define S	1000000ULL	/* one second in us */

static char dir[4096];
static struct config cfg;

static int
setup(void **s)
{
	char	 err[256];

	(void)s;
	snprintf(dir, sizeof(dir), "/tmp/pg-rl-test.%d", (int)getpid());
	setenv("PAYGUARD_RATE_LIMITS", "test=5,big=300", 1);
	setenv("STRIPE_RATE_LIMIT_WINDOW", "10", 1);
	setenv("STRIPE_RATE_LIMIT_ENABLED", "true", 1);
	return config_load(&cfg, 0, err, sizeof(err)) == PG_OK ? 0 : -1;
}

static int
teardown(void **s)
{
	char	 cmd[4200];

	(void)s;
	config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_window(void **s)
{
	struct store	*st;
	struct rl_result r;
	uint64_t	 t0 = store_now_us() + 3600 * S;	/* records expire by wall clock */
	int		 i;

	(void)s;
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	/* L=5 per 10 s: five at t0 .. t0+4s pass, remaining counts down. */
	for (i = 0; i < 5; i++) {
		assert_int_equal(rl_check_at(st, &cfg, "test", "1.2.3.4",
		    t0 + (uint64_t)i * S, &r), PG_OK);
		assert_true(r.allowed);
		assert_int_equal(r.limit, 5);
		assert_int_equal(r.remaining, 4 - i);
	}
	/* Sixth inside the window: refused until t0+10s, rounded up. */
	assert_int_equal(rl_check_at(st, &cfg, "test", "1.2.3.4",
	    t0 + 5 * S + 300000, &r), PG_OK);
	assert_false(r.allowed);
	assert_int_equal(r.remaining, 0);
	assert_int_equal(r.retry_after, 5);	/* 4.7 s -> 5 */
	assert_int_equal(r.reset_ms, (t0 + 10 * S) / 1000);
	/* Another identity is independent. */
	assert_int_equal(rl_check_at(st, &cfg, "test", "5.6.7.8",
	    t0 + 5 * S, &r), PG_OK);
	assert_true(r.allowed);
	/* Exactly W after the first admission one slot frees. */
	assert_int_equal(rl_check_at(st, &cfg, "test", "1.2.3.4",
	    t0 + 10 * S - 1, &r), PG_OK);
	assert_false(r.allowed);
	assert_int_equal(r.retry_after, 1);
	assert_int_equal(rl_check_at(st, &cfg, "test", "1.2.3.4",
	    t0 + 10 * S, &r), PG_OK);
	assert_true(r.allowed);
	assert_int_equal(r.remaining, 0);
	assert_int_equal(rl_check_at(st, &cfg, "test", "1.2.3.4",
	    t0 + 10 * S + 1, &r), PG_OK);
	assert_false(r.allowed);
	/* Long idle: the full limit is back. */
	assert_int_equal(rl_check_at(st, &cfg, "test", "1.2.3.4",
	    t0 + 100 * S, &r), PG_OK);
	assert_true(r.allowed);
	assert_int_equal(r.remaining, 4);
	store_close(st);
}

/*
 * A client at exactly L per W, in a pattern that a fixed window or a
 * GCRA would handle differently (bursts at window edges), is never
 * refused; and over a random pattern no W interval ever holds more
 * than L admissions.
 */
static void
test_exactness(void **s)
{
	struct store	*st;
	struct rl_result r;
	uint64_t	 t0 = 1800000000ULL * S, t, adm[4000];
	size_t		 n = 0, i, j;
	unsigned int	 seed = 42;

	(void)s;
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	/* Burst of 5 at the end of one window, 5 more exactly W later. */
	for (i = 0; i < 5; i++) {
		assert_int_equal(rl_check_at(st, &cfg, "test", "edge",
		    t0 + 9 * S + i, &r), PG_OK);
		assert_true(r.allowed);
	}
	for (i = 0; i < 5; i++) {
		assert_int_equal(rl_check_at(st, &cfg, "test", "edge",
		    t0 + 19 * S + i, &r), PG_OK);
		assert_true(r.allowed);
	}
	/* Random arrivals: check the invariant over every admission. */
	t = t0 + 1000 * S;
	for (i = 0; i < 3000; i++) {
		t += (uint64_t)(rand_r(&seed) % 400) * 10000;	/* 0-4 s */
		assert_int_equal(rl_check_at(st, &cfg, "test", "rand", t, &r),
		    PG_OK);
		if (r.allowed)
			adm[n++] = t;
	}
	for (i = 0; i < n; i++) {
		for (j = i; j < n && adm[j] < adm[i] + 10 * S; j++)
			;
		assert_true(j - i <= 5);
	}
	assert_true(n > 500);
	store_close(st);
}

static void
test_headers_disabled_failopen(void **s)
{
	struct rl_result r;
	struct http_resp resp;
	struct config	 off;
	char		 err[256];

	(void)s;
	/* Store failure: fail open, and say so. */
	assert_int_equal(rl_check(NULL, &cfg, "test", "x", &r), PG_STORE);
	assert_true(r.allowed);
	assert_true(r.failed_open);
	/* Disabled: everything passes without touching the store. */
	setenv("STRIPE_RATE_LIMIT_ENABLED", "false", 1);
	assert_int_equal(config_load(&off, 0, err, sizeof(err)), PG_OK);
	assert_int_equal(rl_check(NULL, &off, "test", "x", &r), PG_OK);
	assert_true(r.allowed);
	assert_false(r.failed_open);
	config_free(&off);
	setenv("STRIPE_RATE_LIMIT_ENABLED", "true", 1);
	/* Header rendering for a refusal. */
	memset(&r, 0, sizeof(r));
	r.limit = 5;
	r.window = 10;
	r.remaining = 0;
	r.reset_ms = store_now_ms() + 4500;
	r.retry_after = 5;
	http_resp_init(&resp);
	rl_headers(&r, "webhook", &resp);
	assert_non_null(strstr(resp.headers.data, "X-RateLimit-Limit: 5\r\n"));
	assert_non_null(strstr(resp.headers.data, "X-RateLimit-Remaining: 0\r\n"));
	assert_non_null(strstr(resp.headers.data, "RateLimit-Policy: \"webhook\";q=5;w=10\r\n"));
	assert_non_null(strstr(resp.headers.data, "RateLimit: \"webhook\";r=0;t=5\r\n"));
	assert_non_null(strstr(resp.headers.data, "Retry-After: 5\r\n"));
	http_resp_free(&resp);
	/* The documented defaults (README, PAYGUARD_RATE_LIMITS). */
	assert_int_equal(config_rate_limit(&cfg, "customer"), 100);
	assert_int_equal(config_rate_limit(&cfg, "subscription"), 50);
	assert_int_equal(config_rate_limit(&cfg, "payment_intent"), 200);
	assert_int_equal(config_rate_limit(&cfg, "webhook"), 1000);
	assert_int_equal(config_rate_limit(&cfg, "unknown_op"), 100);
}

/* 8 processes x 100 attempts against L=300 in one 10 s window: exactly
 * 300 admitted, whatever the interleaving. */
static void
test_processes(void **s)
{
	int		*admitted;
	pid_t		 pids[8];
	int		 i, total = 0, st;

	(void)s;
	admitted = mmap(NULL, sizeof(int) * 8, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(admitted != MAP_FAILED);
	for (i = 0; i < 8; i++) {
		if ((pids[i] = fork()) == 0) {
			struct store *sto;
			struct rl_result r;
			int k, n = 0;
			if (store_open(dir, 0, &sto) != PG_OK)
				_exit(2);
			for (k = 0; k < 100; k++)
				if (rl_check(sto, &cfg, "big", "shared", &r) ==
				    PG_OK && r.allowed)
					n++;
			admitted[i] = n;
			store_close(sto);
			_exit(0);
		}
	}
	for (i = 0; i < 8; i++) {
		waitpid(pids[i], &st, 0);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		total += admitted[i];
	}
	assert_int_equal(total, 300);
	munmap(admitted, sizeof(int) * 8);
}

/* The state per identity is bounded, and a large limit costs the same
 * per check: L = 100000 works with one chunk touched per check. */
static void
test_large_limit(void **s)
{
	struct store	*st;
	struct rl_result r;
	struct config	 c2;
	char		 err[256];
	uint64_t	 t0 = 1900000000ULL * S;
	int		 i;

	(void)s;
	setenv("PAYGUARD_RATE_LIMITS", "huge=100000", 1);
	assert_int_equal(config_load(&c2, 0, err, sizeof(err)), PG_OK);
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	for (i = 0; i < 1000; i++)
		assert_int_equal(rl_check_at(st, &c2, "huge", "id", t0 + (uint64_t)i,
		    &r), PG_OK);
	assert_true(r.allowed);
	assert_int_equal(r.remaining, 99000);
	store_close(st);
	config_free(&c2);
	setenv("PAYGUARD_RATE_LIMITS", "test=5,big=300", 1);
}

/* IPv4 by address, IPv6 by prefix (issue 9). */
static void
test_ip_key(void **state)
{
	static const struct {
		const char	*addr;
		unsigned int	 prefix;
		const char	*want;
	} cases[] = {
		{ "192.0.2.7", 64, "ip:192.0.2.7" },
		{ "::ffff:192.0.2.7", 64, "ip:192.0.2.7" },
		{ "2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64, "ip:2001:db8:1:2::/64" },
		{ "2001:db8:1:2::1", 64, "ip:2001:db8:1:2::/64" },
		{ "2001:db8:1:2::1", 48, "ip:2001:db8:1::/48" },
		{ "2001:db8:1:2::1", 56, "ip:2001:db8:1::/56" },
		{ "2001:db8:1:2ff::1", 56, "ip:2001:db8:1:200::/56" },
		{ "2001:db8:1:2::1", 128, "ip:2001:db8:1:2::1/128" },
		{ "2001:db8:1:2::1", 0, "ip:2001:db8:1:2::1/128" },
		{ "2001:db8:1:2::1", 61, "ip:2001:db8:1::/61" },
		{ "not an address", 64, "ip:not an address" },
	};
	char	 out[96], a[96], b[96];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rl_ip_key(cases[i].addr, cases[i].prefix, out, sizeof(out));
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("%s/%u: %s, want %s", cases[i].addr,
			    cases[i].prefix, out, cases[i].want);
	}
	/* Rotating inside the /64 keeps the key; another /64 does not. */
	rl_ip_key("2001:db8:0:7::1", 64, a, sizeof(a));
	rl_ip_key("2001:db8:0:7:ffff:ffff:ffff:fffe", 64, b, sizeof(b));
	assert_string_equal(a, b);
	rl_ip_key("2001:db8:0:8::1", 64, b, sizeof(b));
	assert_string_not_equal(a, b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_exactness),
		cmocka_unit_test(test_headers_disabled_failopen),
		cmocka_unit_test(test_processes),
		cmocka_unit_test(test_large_limit),
		cmocka_unit_test(test_ip_key),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
