/* Unit tests: lib/buf and the response side of lib/http. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "codec.h"
#include "http.h"

static void
test_buf_bounds(void **s)
{
	struct buf	 b;
	char		*p;
	size_t		 n;

	(void)s;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "12345"), PG_OK);
	assert_int_equal(buf_puts(&b, "6789"), PG_TOOLARGE);
	assert_string_equal(b.data, "12345");	/* unchanged on failure */
	assert_int_equal(buf_printf(&b, "%d", 678), PG_OK);
	assert_int_equal(b.len, 8);
	assert_int_equal(buf_putc(&b, 'x'), PG_TOOLARGE);
	p = buf_take(&b, &n);
	assert_int_equal(n, 8);
	assert_string_equal(p, "12345678");
	free(p);
	assert_null(b.data);
	buf_init(&b, 100);
	assert_int_equal(codec_json_str(&b, "a\"b\\c\n\x01", 7), PG_OK);
	assert_string_equal(b.data, "\"a\\\"b\\\\c\\u000a\\u0001\"");
	buf_free(&b);
	buf_free(NULL);
}

static void
test_headers_refuse_crlf(void **s)
{
	struct http_resp r;

	(void)s;
	http_resp_init(&r);
	assert_int_equal(http_resp_header(&r, "X-Ok", "%s", "value"), PG_OK);
	assert_int_equal(http_resp_header(&r, "X-Evil", "%s", "a\r\nSet-Cookie: x=1"), PG_EINVAL);
	assert_int_equal(http_resp_header(&r, "X-Evil", "%s", "a\nb"), PG_EINVAL);
	assert_int_equal(http_resp_header(&r, "Bad Name", "%s", "v"), PG_EINVAL);
	assert_int_equal(http_resp_header(&r, "Bad:Name", "%s", "v"), PG_EINVAL);
	assert_string_equal(r.headers.data, "X-Ok: value\r\n");
	http_resp_free(&r);
}

static void
test_error_body(void **s)
{
	struct http_resp r;

	(void)s;
	http_resp_init(&r);
	http_resp_error(&r, 400, "invalid_request_error", "signature_mismatch",
	    NULL, "quote \" and newline\n");
	assert_int_equal(r.status, 400);
	assert_string_equal(r.body.data, "{\"error\":{\"type\":\"invalid_request_error\","
	    "\"code\":\"signature_mismatch\",\"message\":\"quote \\\" and newline\\u000a\"}}\n");
	http_resp_free(&r);
}

static void
test_request_ids(void **s)
{
	char	 rid[HTTP_RID_MAX + 1];
	char	 long_id[HTTP_RID_MAX + 2];

	(void)s;
	assert_true(http_valid_rid("abc-123_X.y"));
	assert_false(http_valid_rid(""));
	assert_false(http_valid_rid(NULL));
	assert_false(http_valid_rid("a b"));
	assert_false(http_valid_rid("a\r\nb"));
	assert_false(http_valid_rid("<script>"));
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	assert_false(http_valid_rid(long_id));
	long_id[HTTP_RID_MAX] = '\0';
	assert_true(http_valid_rid(long_id));
	http_new_rid(rid);
	assert_true(http_valid_rid(rid));
	assert_int_equal(strlen(rid), 28);
	assert_string_equal(http_reason(429), "Too Many Requests");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_bounds),
		cmocka_unit_test(test_headers_refuse_crlf),
		cmocka_unit_test(test_error_body),
		cmocka_unit_test(test_request_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
