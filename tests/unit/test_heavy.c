/*
 * payguard - unit tests for the bounded heavy-hitters aggregation behind
 * the "most active suspicious IPs" panel (lib/astats.c, issue 9): decoy
 * addresses in an earlier minute, more than the table holds, must not
 * hide a real attacker.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aindex.h"
#include "astats.h"
#include "buf.h"
#include "codec.h"
#include "store.h"

struct plant {
	uint64_t	 minute;
	unsigned int	 first, count;	/* decoys 10.x.y.z, first..first+count */
	const char	*ip;		/* or one address */
	uint64_t	 hits;
};

/* Writes the suspicious-address counters ('P'|minute|ip -> count). */
static enum pg_err
plant_txn(struct store_txn *t, void *arg)
{
	const struct plant *p = arg;
	unsigned char	 k[64], v[8];
	char		 ip[32];
	size_t		 n;
	unsigned int	 i;
	enum pg_err	 e = PG_OK;
	uint64_t	 exp = store_now_ms() + 86400000ull;

	for (i = 0; i < (p->ip ? 1 : p->count) && e == PG_OK; i++) {
		if (p->ip != NULL)
			snprintf(ip, sizeof(ip), "%s", p->ip);
		else
			snprintf(ip, sizeof(ip), "10.%u.%u.%u",
			    (p->first + i) >> 16 & 255, (p->first + i) >> 8 & 255,
			    (p->first + i) & 255);
		n = strlen(ip);
		k[0] = AINDEX_K_SUSPECT;
		codec_be64_put(k + 1, p->minute);
		memcpy(k + 9, ip, n);
		codec_be64_put(v, p->hits);
		e = store_put(t, NS_AUDIT_X, k, 9 + n, v, 8, exp, STORE_DERIVED);
	}
	return e;
}

static void
test_decoys(void **state)
{
	char		 dir[4096], cmd[8400];
	const char	*base = getenv("PAYGUARD_STATE_DIR");
	struct store	*st = NULL;
	struct astats	*s;
	struct plant	 p;
	uint64_t	 now = store_now_us(), minute = now / AINDEX_MIN_US;
	size_t		 i;
	int		 found = -1;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/heavy", base ? base : "/tmp");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", dir, dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(store_open(dir, STORE_NOSYNC, &st), PG_OK);
	/* 8000 decoys, one hit each, two and three minutes ago (more than
	 * the 3072 names the table keeps)... */
	p = (struct plant){ minute - 3, 0, 4000, NULL, 1 };
	assert_int_equal(store_run(st, 1, plant_txn, &p), PG_OK);
	p = (struct plant){ minute - 2, 4000, 4000, NULL, 1 };
	assert_int_equal(store_run(st, 1, plant_txn, &p), PG_OK);
	/* ...then the attacker, 200 hits in the last minute, and a second
	 * one with 20 (above N / k = 8220 / 3073 < 3). */
	p = (struct plant){ minute - 1, 0, 0, "203.0.113.66", 200 };
	assert_int_equal(store_run(st, 1, plant_txn, &p), PG_OK);
	p = (struct plant){ minute - 1, 0, 0, "198.51.100.7", 20 };
	assert_int_equal(store_run(st, 1, plant_txn, &p), PG_OK);
	assert_non_null(s = calloc(1, sizeof(*s)));
	assert_int_equal(astats_compute(st, now, 1, 0, 0, s), PG_OK);
	assert_true(s->ntop_ips >= 2);
	assert_string_equal(s->top_ips[0].name, "203.0.113.66");
	/* Misra-Gries: short by at most N / (k + 1). */
	assert_true(s->top_ips[0].n >= 200 - 3 && s->top_ips[0].n <= 200);
	for (i = 0; i < s->ntop_ips; i++)
		if (strcmp(s->top_ips[i].name, "198.51.100.7") == 0)
			found = (int)i;
	assert_int_equal(found, 1);
	assert_true(s->top_ips[1].n >= 20 - 3);
	free(s);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decoys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
