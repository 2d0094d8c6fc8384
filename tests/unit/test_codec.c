/* Unit tests: lib/codec (percent-encoding, query splitting), the gateway's
 * own upstream keys (idem_generate_key) and the admin page's CSRF tokens
 * (lib/csrf). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "csrf.h"
#include "idem.h"
#include "store.h"

static void
test_pct_decode(void **s)
{
	static const struct { const char *in, *out; } ok[] = {
		{ "", "" }, { "a+b", "a b" }, { "%41%62c", "Abc" },
		{ "%e2%82%AC", "\xe2\x82\xac" }, { "x%2Fy", "x/y" },
	};
	static const char *const bad[] = {
		"%", "%4", "%zz", "a%0", "%00", "%G1",
	};
	char	 out[16];
	size_t	 i, n;

	(void)s;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(codec_pct_decode(ok[i].in, strlen(ok[i].in),
		    out, sizeof(out), &n), PG_OK);
		assert_string_equal(out, ok[i].out);
		assert_int_equal(n, strlen(ok[i].out));
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(codec_pct_decode(bad[i], strlen(bad[i]), out,
		    sizeof(out), NULL), PG_EINVAL);
	/* A raw NUL inside the span, and an output one byte too small. */
	assert_int_equal(codec_pct_decode("a\0b", 3, out, sizeof(out), NULL),
	    PG_EINVAL);
	assert_int_equal(codec_pct_decode("abcd", 4, out, 4, NULL), PG_EINVAL);
	assert_int_equal(codec_pct_decode("abc", 3, out, 4, NULL), PG_OK);
	assert_int_equal(codec_pct_decode("", 0, out, 0, NULL), PG_EINVAL);
}

static void
test_pct_encode(void **s)
{
	struct buf	 b;

	(void)s;
	buf_init(&b, 256);
	assert_int_equal(codec_pct_encode(&b, "aZ09-._~ /&=+%\xc3\xa9[]"),
	    PG_OK);
	assert_string_equal(b.data,
	    "aZ09-._~%20%2F%26%3D%2B%25%C3%A9%5B%5D");
	/* The round trip. */
	{
		char out[64];
		assert_int_equal(codec_pct_decode(b.data, b.len, out,
		    sizeof(out), NULL), PG_OK);
		assert_string_equal(out, "aZ09-._~ /&=+%\xc3\xa9[]");
	}
	buf_free(&b);
}

static void
test_query_next(void **s)
{
	const char		*q = "&a=1&&b&=x&c=&d=2=3&", *p = q;
	struct codec_pair	 pr;
	char			 got[128];
	size_t			 n = 0;

	(void)s;
	got[0] = '\0';
	while (codec_query_next(&p, q + strlen(q), &pr)) {
		n += (size_t)snprintf(got + n, sizeof(got) - n, "[%.*s|%s%.*s]",
		    (int)pr.nlen, pr.name, pr.value ? "=" : "",
		    (int)pr.vlen, pr.value ? pr.value : "");
	}
	assert_string_equal(got, "[a|=1][b|][|=x][c|=][d|=2=3]");
	p = q;
	assert_int_equal(codec_query_next(&p, q, &pr), 0);
}

/* Items as the configuration parsers see them: blanks and empty items
 * before an item skipped, blanks after it left to the caller. */
static void
test_list_next(void **s)
{
	const char	*p = " a=1 ,, b ,c,  ", *it;
	char		 got[64] = "";
	size_t		 n;

	(void)s;
	while (codec_list_next(&p, &it, &n)) {
		assert_true(strlen(got) + n + 2 < sizeof(got));
		strncat(got, it, n);
		strcat(got, "|");
	}
	assert_string_equal(got, "a=1 |b |c|");
	assert_int_equal(*p, '\0');
	p = "";
	assert_int_equal(codec_list_next(&p, &it, &n), 0);
	p = " , ,";
	assert_int_equal(codec_list_next(&p, &it, &n), 0);
}

static void
test_generated_key(void **s)
{
	char	 a[IDEM_UPKEY_MAX + 1], b[IDEM_UPKEY_MAX + 1];
	size_t	 i;

	(void)s;
	idem_generate_key("charges", "shop", a);
	idem_generate_key("charges", "shop", b);
	assert_int_equal(strlen(a), 3 + 48);
	assert_memory_equal(a, "pg-", 3);
	for (i = 3; a[i] != '\0'; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_string_not_equal(a, b);
}

static void
test_csrf(void **s)
{
	struct store	*st = NULL;
	char		 dir[1024], cmd[2200], t1[CSRF_TOKEN_LEN + 1];
	char		 t2[CSRF_TOKEN_LEN + 1], t3[CSRF_TOKEN_LEN + 1];
	const char	*base = getenv("PAYGUARD_STATE_DIR");

	(void)s;
	snprintf(dir, sizeof(dir), "%s/csrf.%d", base ? base : "/tmp",
	    (int)getpid());
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", dir, dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(store_open(dir, STORE_NOSYNC, &st), PG_OK);
	/* The first token makes the key; later ones find the same key. */
	assert_int_equal(csrf_token(st, "admin", 100, t1), PG_OK);
	assert_int_equal(strlen(t1), CSRF_TOKEN_LEN);
	assert_int_equal(csrf_token(st, "admin", 100, t2), PG_OK);
	assert_string_equal(t1, t2);
	assert_int_equal(csrf_token(st, "eve", 100, t3), PG_OK);
	assert_string_not_equal(t1, t3);
	assert_true(csrf_check(st, "admin", 100, t1));
	assert_true(csrf_check(st, "admin", 101, t1));	/* the hour turned */
	assert_false(csrf_check(st, "admin", 102, t1));
	assert_false(csrf_check(st, "eve", 100, t1));
	assert_false(csrf_check(st, "admin", 100, NULL));
	t2[0] = t2[0] == 'a' ? 'b' : 'a';
	assert_false(csrf_check(st, "admin", 100, t2));
	/* The key outlives the process (another store handle). */
	store_close(st);
	assert_int_equal(store_open(dir, STORE_NOSYNC, &st), PG_OK);
	assert_int_equal(csrf_token(st, "admin", 100, t2), PG_OK);
	assert_string_equal(t1, t2);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pct_decode),
		cmocka_unit_test(test_pct_encode),
		cmocka_unit_test(test_query_next),
		cmocka_unit_test(test_list_next),
		cmocka_unit_test(test_generated_key),
		cmocka_unit_test(test_csrf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
