/*
 * payguard - unit tests for lib/mask.c: tables of valid and hostile
 * inputs for each string masker, mask_text's run rules, and deep masking
 * of json-c values (key names, embedded PANs, depth bound, UTF-8).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mask.h"

typedef enum pg_err (*mask_fn)(const char *, char *, size_t);

struct mcase {
	const char	*in;
	const char	*want;
};

static void
run_table(const char *name, mask_fn fn, const struct mcase *c, size_t n)
{
	char	 out[256];
	size_t	 i;

	for (i = 0; i < n; i++) {
		memset(out, 'Z', sizeof(out));
		if (fn(c[i].in, out, sizeof(out)) != PG_OK)
			fail_msg("%s(%s) failed", name, c[i].in);
		if (strcmp(out, c[i].want) != 0)
			fail_msg("%s(%s) = \"%s\", want \"%s\"", name, c[i].in,
			    out, c[i].want);
	}
}

static void
test_card(void **state)
{
	static const struct mcase c[] = {
		{ "4242424242424242", "************4242" },
		{ "4242 4242 4242 4242", "************4242" },
		{ "4242-4242-4242-4242", "************4242" },
		{ "378282246310005", "***********0005" },
		{ "12345678", "****5678" },
		{ "1234567", "*******" },		/* too short to show */
		{ "4242", "****" },
		{ "1", "*" },
		{ "", "****" },
		{ "-- --", "****" },
		{ "4242424242424242x", "****" },	/* not a card */
		{ "4242\xc3\xa9", "****" },
		{ "4242424242424242424242424242424242424242",
		  "************************************4242" },
	};

	(void)state;
	run_table("mask_card", mask_card, c, sizeof(c) / sizeof(c[0]));
}

static void
test_card_bin(void **state)
{
	static const struct mcase c[] = {
		{ "4242424242424242", "424242******4242" },
		{ "4242 4242 4242 4242", "424242******4242" },
		{ "378282246310005", "378282*****0005" },
		{ "4222222222222", "422222***2222" },	/* 13 digits */
		{ "123456789012", "********9012" },	/* 12: last four */
		{ "1234567", "*******" },
		{ "", "****" },
		{ "abc", "****" },
	};

	(void)state;
	run_table("mask_card_bin", mask_card_bin, c,
	    sizeof(c) / sizeof(c[0]));
}

static void
test_email(void **state)
{
	static const struct mcase c[] = {
		{ "user@example.com", "u***r@example.com" },
		{ "jo@example.com", "j***@example.com" },
		{ "a@x.com", "***@x.com" },
		{ "abc@x.com", "a***c@x.com" },
		{ "noatsign", "****" },
		{ "", "****" },
		{ "@", "****" },
		{ "@example.com", "****" },
		{ "user@", "****" },
		{ "a@b@c.com", "****" },
		{ "\xc3\xa9mile@example.com", "\xc3\xa9***e@example.com" },
		{ "\xc3\xa9\xc3\xa8@x.fr", "\xc3\xa9***@x.fr" },
		{ "\xe2\x82\xac@x.fr", "***@x.fr" },
		{ "z\xf0\x9f\x98\x80@x.fr", "z***@x.fr" },
		{ "ab\xf0\x9f\x98\x80@x.fr", "a***\xf0\x9f\x98\x80@x.fr" },
		{ "us\xc3r@example.com", "****" },	/* invalid UTF-8 */
		{ "user@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.ru",
		  "u***r@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.ru" },
	};

	(void)state;
	run_table("mask_email", mask_email, c, sizeof(c) / sizeof(c[0]));
}

static void
test_secret(void **state)
{
	static const struct mcase c[] = {
		{ "sk_live_51H8abcdefghijklmnopqrstuvwxyzWXYZ",
		  "sk_live_****WXYZ" },
		{ "sk_test_4eC39HqLyjWDarjtT1zdp7dc", "sk_test_****p7dc" },
		{ "rk_live_0123456789abcdefABCD", "rk_live_****ABCD" },
		{ "rk_test_0123456789abcdefABCD", "rk_test_****ABCD" },
		{ "pk_live_0123456789abcdefABCD", "pk_live_****ABCD" },
		{ "pk_test_0123456789abcdefABCD", "pk_test_****ABCD" },
		{ "whsec_0123456789abcdef01234567", "whsec_****4567" },
		{ "pgk_0123456789abcdefghij", "pgk_****ghij" },
		{ "sk_live_short", "****" },		/* short: nothing */
		{ "sk_live_", "****" },
		{ "whsec_", "****" },
		{ "secretvalue-without-prefix-0123456789", "****" },
		{ "", "****" },
		{ "x", "****" },
		{ "sk_live_0123456789abcdef\xc3\xa9\xc3\xa9", "****" },
		{ "sk_live_0123456789abcdef\n\n\n\n", "****" },
	};

	(void)state;
	run_table("mask_secret", mask_secret, c, sizeof(c) / sizeof(c[0]));
}

static void
test_auto(void **state)
{
	static const struct mcase c[] = {
		{ "4242 4242 4242 4242", "************4242" },
		{ "user@example.com", "u***r@example.com" },
		{ "sk_test_4eC39HqLyjWDarjtT1zdp7dc", "sk_test_****p7dc" },
		{ "hello world", "****" },
		{ "", "****" },
	};

	(void)state;
	run_table("mask_auto", mask_auto, c, sizeof(c) / sizeof(c[0]));
}

/* Results that do not fit give PG_TOOLARGE and an empty string. */
static void
test_bounds(void **state)
{
	char	 out[8], big[600];
	size_t	 i;

	(void)state;
	memset(out, 'Z', sizeof(out));
	assert_int_equal(mask_card("4242424242424242", out, sizeof(out)),
	    PG_TOOLARGE);
	assert_string_equal(out, "");
	assert_int_equal(mask_email("user@example.com", out, sizeof(out)),
	    PG_TOOLARGE);
	assert_string_equal(out, "");
	assert_int_equal(mask_secret("sk_live_0123456789abcdefABCD", out,
	    sizeof(out)), PG_TOOLARGE);
	assert_string_equal(out, "");
	assert_int_equal(mask_card("1", out, 0), PG_TOOLARGE);
	{
		char	 o9[9];

		assert_int_equal(mask_card("12345678", o9, sizeof(o9)), PG_OK);
		assert_string_equal(o9, "****5678");
		assert_int_equal(mask_card("12345678", o9, 8), PG_TOOLARGE);
	}
	assert_int_equal(mask_card(NULL, out, sizeof(out)), PG_OK);
	assert_string_equal(out, "****");
	/* A long email exactly at the bound. */
	for (i = 0; i < sizeof(big) - 1; i++)
		big[i] = 'a';
	big[sizeof(big) - 1] = '\0';
	big[300] = '@';
	{
		char	 o2[600];

		/* 1 + 3 + 1 + 1 + 298 = 304 bytes + NUL. */
		assert_int_equal(mask_email(big, o2, 305), PG_OK);
		assert_int_equal(strlen(o2), 304);
		assert_int_equal(mask_email(big, o2, 304), PG_TOOLARGE);
	}
}

struct tcase {
	const char	*in;
	const char	*want;
};

static void
test_text(void **state)
{
	static const struct tcase c[] = {
		{ "paid with 4242424242424242 today",
		  "paid with ************4242 today" },
		{ "card 4242 4242 4242 4242.", "card ************4242." },
		{ "card 4242-4242-4242-4242", "card ************4242" },
		{ "no numbers", "no numbers" },
		{ "", "" },
		{ "order 1234567812345678 x", "order 1234567812345678 x" },
		{ "two 4242424242424242 and 5555555555554444",
		  "two ************4242 and ************4444" },
		/* A longer run holding a Luhn-valid window: all masked. */
		{ "id 14242424242424242", "id *****************" },
		{ "1 4242 4242 4242 4242", "* **** **** **** ****" },
		/* 40 digits: masked when any 13-19 window passes Luhn. */
		{ "4242424242424242424242424242424242424242",
		  "****************************************" },
		/* A 40-digit run with no Luhn-valid window stays. */
		{ "1111111111111111111111111111111111111111",
		  "1111111111111111111111111111111111111111" },
		/* Several spaces separate groups too (issue 9); more than
		 * PCI_SEP_MAX separator characters do not. */
		{ "4242  4242 4242 4242", "************4242" },
		{ "4242    4242 4242 4242", "4242    4242 4242 4242" },
		{ "4242.4242.4242.4242", "************4242" },
		{ "4242\xc2\xa0" "4242\xe2\x80\x93" "4242\xe3\x80\x80" "4242",
		  "************4242" },
		{ "v1.2.3 on 2024/06/20 at 10.30", "v1.2.3 on 2024/06/20 at 10.30" },
		{ "x4242424242424242y", "x************4242y" },
		{ "\xc3\xa9 4242424242424242 \xe2\x82\xac",
		  "\xc3\xa9 ************4242 \xe2\x82\xac" },
		{ "short 424242", "short 424242" },
	};
	char	*out = NULL;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		assert_int_equal(mask_text(c[i].in, strlen(c[i].in), &out),
		    PG_OK);
		if (strcmp(out, c[i].want) != 0)
			fail_msg("mask_text(%s) = \"%s\", want \"%s\"",
			    c[i].in, out, c[i].want);
		free(out);
	}
	/* Embedded NULs and non-terminated input. */
	assert_int_equal(mask_text("a\0004242424242424242b", 19, &out), PG_OK);
	assert_memory_equal(out, "a\000************4242b", 19);
	free(out);
	assert_int_equal(mask_text("4242424242424242", 4, &out), PG_OK);
	assert_string_equal(out, "4242");
	free(out);
	assert_int_equal(mask_text(NULL, 0, &out), PG_OK);
	assert_string_equal(out, "");
	free(out);
}

static void
test_text_large(void **state)
{
	size_t	 n = 1 << 20, i;
	char	*in = malloc(n), *out = NULL;

	(void)state;
	assert_non_null(in);
	for (i = 0; i < n; i++)
		in[i] = (char)('0' + (i * 7) % 10);
	assert_int_equal(mask_text(in, n, &out), PG_OK);
	for (i = 0; i < n; i++)
		assert_true(out[i] == '*' || out[i] == in[i]);
	free(in);
	free(out);
}

static void
test_sensitive_keys(void **state)
{
	static const char *const yes[] = {
		"number", "card[number]", "cvc", "CVC", "card[cvc]", "cvv",
		"email", "receipt_email", "phone", "line1", "line2",
		"account_number", "routing_number", "iban", "password",
		"secret", "client_secret", "token", "api_key", "Api-Key",
		"authorization", "Authorization", "Stripe-Signature",
	};
	static const char *const no[] = {
		"amount", "currency", "id", "object", "last4", "brand",
		"cvc_check", "description", "", "numbers",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!mask_is_sensitive_key(yes[i]))
			fail_msg("%s not sensitive", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (mask_is_sensitive_key(no[i]))
			fail_msg("%s sensitive", no[i]);
	assert_false(mask_is_sensitive_key(NULL));
}

struct jcase {
	const char	*in;
	const char	*want;
};

static void
test_json(void **state)
{
	static const struct jcase c[] = {
		{ "{\"card\":{\"number\":\"4242424242424242\",\"cvc\":\"123\","
		  "\"exp_month\":12}}",
		  "{\"card\":{\"number\":\"************4242\",\"exp_month\":12}}" },
		{ "{\"number\":4242424242424242}",
		  "{\"number\":\"************4242\"}" },
		{ "{\"email\":\"user@example.com\",\"name\":\"x\"}",
		  "{\"email\":\"u***r@example.com\",\"name\":\"x\"}" },
		{ "{\"api_key\":\"sk_live_0123456789abcdefWXYZ\"}",
		  "{\"api_key\":\"sk_live_****WXYZ\"}" },
		{ "{\"password\":\"hunter2\"}", "{\"password\":\"****\"}" },
		{ "{\"address\":{\"line1\":\"1 Main St\",\"city\":\"Paris\"}}",
		  "{\"address\":{\"line1\":\"****\",\"city\":\"Paris\"}}" },
		{ "{\"description\":\"card 4242 4242 4242 4242\"}",
		  "{\"description\":\"card ************4242\"}" },
		{ "[\"4242424242424242\",1,true,null]",
		  "[\"************4242\",1,true,null]" },
		{ "{\"meta\":4242424242424242}",
		  "{\"meta\":\"************4242\"}" },
		{ "{\"card[cvc]\":\"123\",\"CVV\":\"999\",\"cvc2\":1,"
		  "\"security_code\":\"1\",\"a\":1}", "{\"a\":1}" },
		{ "{\"phone\":null,\"token\":{\"id\":\"tok_1\"}}",
		  "{\"phone\":null,\"token\":{\"id\":\"tok_1\"}}" },
		{ "{\"amount\":12.5,\"number\":12.5}",
		  "{\"amount\":12.5,\"number\":\"****\"}" },
		{ "{\"note\":\"\\u00e9t\\u00e9 4242424242424242\"}",
		  "{\"note\":\"\xc3\xa9t\xc3\xa9 ************4242\"}" },
		{ "\"4242424242424242\"", "\"************4242\"" },
		{ "42", "42" },
	};
	struct json_object *o;
	const char	*s;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		o = json_tokener_parse(c[i].in);
		assert_non_null(o);
		assert_int_equal(mask_json(o), PG_OK);
		s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		if (strcmp(s, c[i].want) != 0)
			fail_msg("mask_json(%s) = %s, want %s", c[i].in, s,
			    c[i].want);
		json_object_put(o);
	}
	assert_int_equal(mask_json(NULL), PG_OK);
}

static void
test_json_depth(void **state)
{
	struct json_object *o, *cur, *next;
	const char	*s;
	int		 i;

	(void)state;
	o = cur = json_object_new_object();
	for (i = 0; i < 200; i++) {
		next = (i % 2) ? json_object_new_object() :
		    json_object_new_array();
		if (json_object_is_type(cur, json_type_object))
			json_object_object_add(cur, "k", next);
		else
			json_object_array_add(cur, next);
		cur = next;
	}
	json_object_object_add(cur, "n",
	    json_object_new_string("4242424242424242"));
	assert_int_equal(mask_json(o), PG_OK);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	assert_non_null(strstr(s, "[depth-limit]"));
	assert_null(strstr(s, "4242424242424242"));
	json_object_put(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_card),
		cmocka_unit_test(test_card_bin),
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_auto),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_text_large),
		cmocka_unit_test(test_sensitive_keys),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_depth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
