/*
 * payguard - unit tests for lib/pci.c: Luhn, the PAN detector, track data
 * and CVC detection, and pci_validate over nested JSON and form pairs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"
#include "pci.h"

struct luhn_case {
	const char	*s;
	int		 want;
};

static void
test_luhn(void **state)
{
	static const struct luhn_case cases[] = {
		{ "79927398713", 1 }, { "4242424242424242", 1 },
		{ "12344", 1 }, { "0", 1 }, { "79927398710", 0 },
		{ "4242424242424241", 0 }, { "", 0 }, { "4242 4242", 0 },
		{ "42a2", 0 }, { "378282246310005", 1 },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (pci_luhn(cases[i].s, strlen(cases[i].s)) != cases[i].want)
			fail_msg("luhn(%s) != %d", cases[i].s, cases[i].want);
}

static void
test_is_pan(void **state)
{
	static const struct luhn_case cases[] = {
		{ "4242424242424242", 1 },		/* Visa */
		{ "4242 4242 4242 4242", 1 },
		{ "4242-4242-4242-4242", 1 },
		{ "5555555555554444", 1 },		/* Mastercard */
		{ "2223003122003222", 1 },		/* Mastercard 2-series */
		{ "378282246310005", 1 },		/* Amex */
		{ "6011111111111117", 1 },		/* Discover */
		{ "3056930009020004", 1 },		/* Diners */
		{ "3566002020360505", 1 },		/* JCB */
		{ "6200000000000005", 1 },		/* UnionPay */
		{ "4000056655665556", 1 },
		{ "4242424242424241", 0 },		/* Luhn fails */
		{ "1234567812345670", 0 },		/* Luhn ok, no IIN */
		{ "9999999999999995", 0 },
		{ "424242424242", 0 },			/* 12 digits */
		{ "42424242424242424242", 0 },		/* 20 digits */
		/* Separators (issue 9): one to three of space, tab, '-',
		 * '.', '/', Unicode spaces and dashes, between groups. */
		{ "4242  4242 4242 4242", 1 },		/* double space */
		{ "4242   4242   4242   4242", 1 },
		{ "4242    4242 4242 4242", 0 },	/* four: too many */
		{ "4242.4242.4242.4242", 1 },
		{ "4242/4242/4242/4242", 1 },
		{ "4242\t4242\t4242\t4242", 1 },
		{ "4242 - 4242 - 4242 - 4242", 1 },
		{ "4242\xc2\xa0" "4242\xc2\xa0" "4242\xc2\xa0" "4242", 1 },	/* NBSP */
		{ "4242\xe2\x80\x93" "4242\xe2\x80\x93" "4242\xe2\x80\x93" "4242", 1 },
		{ "4242\xe2\x80\x94" "4242\xe2\x80\x94" "4242\xe2\x80\x94" "4242", 1 },
		{ "4242\xe2\x80\x89" "4242\xe3\x80\x80" "4242\xe2\x80\xaf" "4242", 1 },
		{ "4242\xe2\x80\x8b" "4242\xef\xbb\xbf" "4242\xc2\xad" "4242", 1 },
		{ "4242\xe2\x80\x93" "4242\xe2\x80", 0 },	/* cut UTF-8 */
		{ "4242_4242_4242_4242", 0 },		/* not a separator */
		{ "4242..4242..4242...4242", 1 },
		{ "4242....4242.4242.4242", 0 },
		{ " 4242424242424242", 0 },
		{ "4242424242424242 ", 0 },
		{ "-4242424242424242", 0 },
		{ "4242 4242 4242 424x", 0 },
		{ "", 0 },
		{ "2720990000000007", 1 },
		{ "2721000000000005", 0 },		/* past 2720 */
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (pci_is_pan(cases[i].s, strlen(cases[i].s)) != cases[i].want)
			fail_msg("is_pan(%s) != %d", cases[i].s, cases[i].want);
}

static void
test_text_has_pan(void **state)
{
	static const struct luhn_case cases[] = {
		{ "my card is 4242424242424242, thanks", 1 },
		{ "card:4242-4242-4242-4242.", 1 },
		{ "ref 1 4242 4242 4242 4242", 1 },	/* group aligned */
		{ "4242 4242 4242 4242 99", 1 },
		{ "abc4242424242424242xyz", 1 },
		{ "order 1234567812345670", 0 },
		{ "4242424242424242424242424242424242424242", 0 },
		{ "ts 1700000000000", 0 },
		{ "", 0 },
		{ "no digits here", 0 },
		{ "\xc3\xa9t\xc3\xa9 4242424242424242 \xe2\x82\xac", 1 },
		{ "pay 4242.4242.4242.4242 now", 1 },
		{ "ref 5555/5555/5555/4444.", 1 },
		{ "a\t4111\t1111\t1111\t1111\tb", 1 },
		/* Ordinary text with numbers stays clean. */
		{ "v1.2.3 on 2024/06/20 at 10.30, 192.168.100.200", 0 },
		{ "tel. +49 30 1234 5678 / fax 030-1234-5679", 0 },
		{ "1.000.000,00 EUR on 31.12.2024", 0 },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (pci_text_has_pan(cases[i].s, strlen(cases[i].s)) !=
		    cases[i].want)
			fail_msg("text_has_pan(%s) != %d", cases[i].s,
			    cases[i].want);
}

static struct json_object *
parse(const char *s)
{
	struct json_object *o = json_tokener_parse(s);

	assert_non_null(o);
	return o;
}

struct validate_case {
	const char	*json;
	size_t		 n;
	enum pci_kind	 kind;		/* of the first violation */
	const char	*field;		/* of the first violation */
};

static void
test_validate(void **state)
{
	static const struct validate_case cases[] = {
		{ "{\"amount\": 1000, \"currency\": \"usd\"}", 0, 0, NULL },
		{ "{\"card\": {\"number\": \"4242424242424242\"}}", 1, PCI_PAN,
		  "card[number]" },
		{ "{\"card\": {\"number\": 4242424242424242}}", 1, PCI_PAN,
		  "card[number]" },
		{ "{\"card\": {\"cvc\": \"123\"}}", 1, PCI_CVC, "card[cvc]" },
		{ "{\"cvv\": 1234}", 1, PCI_CVC, "cvv" },
		{ "{\"card[cvc]\": \"123\"}", 1, PCI_CVC, "card[cvc]" },
		{ "{\"security_code\": \" 999 \"}", 1, PCI_CVC,
		  "security_code" },
		{ "{\"cvc\": \"12\"}", 0, 0, NULL },
		{ "{\"cvc\": \"12345\"}", 0, 0, NULL },
		{ "{\"cvc_check\": \"123\"}", 0, 0, NULL },
		{ "{\"description\": \"%B4242424242424242^DOE/JOHN^2512101\"}",
		  1, PCI_TRACK, "description" },
		{ "{\"t\": \";4242424242424242=25121010000000000000?\"}", 1,
		  PCI_TRACK, "t" },
		{ "{\"t\": \"4242424242424242=2512101\"}", 1, PCI_TRACK, "t" },
		{ "{\"items\": [{\"meta\": \"x\"}, {\"note\": "
		  "\"pay 5555 5555 5555 4444\"}]}", 1, PCI_PAN,
		  "items[1][note]" },
		{ "{\"metadata\": {\"order\": \"1234567812345670\"}}", 0, 0,
		  NULL },
		{ "{\"card\": {\"number\": \"4242424242424242\", "
		  "\"cvc\": \"314\"}}", 2, PCI_PAN, "card[number]" },
		{ "[\"4242424242424242\"]", 1, PCI_PAN, "0" },
		{ "{\"4242424242424242\": true}", 1, PCI_PAN, "(key)" },
		{ "{\"card\": {\"token\": \"tok_visa\", \"last4\": \"4242\"}}",
		  0, 0, NULL },
	};
	struct pci_result res;
	struct json_object *o;
	size_t		 i;
	enum pg_err	 rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o = parse(cases[i].json);
		rc = pci_validate("create_payment", o, &res);
		if (res.n != cases[i].n)
			fail_msg("%s: %zu violations, want %zu", cases[i].json,
			    res.n, cases[i].n);
		assert_int_equal(rc, cases[i].n ? PG_EINVAL : PG_OK);
		if (cases[i].n > 0) {
			assert_int_equal(res.v[0].kind, cases[i].kind);
			assert_string_equal(res.v[0].field, cases[i].field);
		}
		json_object_put(o);
	}
	assert_int_equal(pci_validate("x", NULL, &res), PG_OK);
	assert_string_equal(pci_kind_name(PCI_PAN), "raw_pan");
	assert_string_equal(pci_kind_name(PCI_CVC), "cvc");
	assert_string_equal(pci_kind_name(PCI_TRACK), "track_data");
	assert_string_equal(pci_kind_name(PCI__MAX), "unknown");
}

/* The exemption check api.fcgi gives pci: verifies under a key ring. */
static int
verifies(const char *v, size_t len, void *arg)
{
	unsigned char	*plain = NULL;
	size_t		 plen = 0;
	int		 ok;

	ok = keyring_decrypt(arg, v, len, -1, &plain, &plen) == PG_OK;
	free(plain);
	return ok;
}

/* An encrypted card number is compliant: it is not card data any more. */
static void
test_validate_encrypted(void **state)
{
	struct fernet_key k;
	struct pci_result res;
	struct json_object *o, *card;
	struct keyring	 ring;
	struct pci_exempt ex;
	char		 key[FERNET_KEY_B64LEN + 1], *tok = NULL;
	size_t		 len = 0;

	(void)state;
	assert_int_equal(fernet_key_generate(key), PG_OK);
	assert_int_equal(fernet_key_parse(key, strlen(key), &k), PG_OK);
	assert_int_equal(fernet_encrypt_at(&k, "4242424242424242", 16,
	    1700000000, NULL, &tok, &len), PG_OK);
	assert_memory_equal(tok, "gAAAAA", 6);
	o = json_object_new_object();
	card = json_object_new_object();
	json_object_object_add(card, "number", json_object_new_string(tok));
	json_object_object_add(o, "card", card);
	/* Compliant when it verifies under payguard's key ring (issue 9:
	 * looking like a token is not enough). */
	assert_int_equal(keyring_parse(key, &ring), PG_OK);
	ex.fn = verifies;
	ex.arg = &ring;
	assert_int_equal(pci_validate_ring("store_card", o, &ex, &res), PG_OK);
	assert_int_equal(res.n, 0);
	json_object_put(o);
	free(tok);
	keyring_wipe(&ring);
}

/*
 * A "token" with the right framing whose MAC does not verify: digits are
 * base64url characters, so a PAN hides inside.  Not exempt.
 */
static void
test_validate_forged_fernet(void **state)
{
	static const char *const names[] = { "metadata[note]" };
	const char	*vals[1];
	struct fernet_key k;
	struct keyring	 ring, other;
	struct pci_exempt ex = { verifies, NULL }, exo = { verifies, NULL };
	struct pci_result res;
	char		 key[FERNET_KEY_B64LEN + 1], key2[FERNET_KEY_B64LEN + 1];
	char		*tok = NULL;
	size_t		 len = 0;
	uint64_t	 ts;

	(void)state;
	assert_int_equal(fernet_key_generate(key), PG_OK);
	assert_int_equal(fernet_key_generate(key2), PG_OK);
	assert_int_equal(fernet_key_parse(key, strlen(key), &k), PG_OK);
	assert_int_equal(keyring_parse(key, &ring), PG_OK);
	assert_int_equal(keyring_parse(key2, &other), PG_OK);
	ex.arg = &ring;
	exo.arg = &other;
	assert_int_equal(fernet_encrypt_at(&k, "a harmless note, 32 bytes long!!",
	    32, 1700000000, NULL, &tok, &len), PG_OK);
	vals[0] = tok;
	/* The genuine token: exempt under its ring, not under another. */
	assert_int_equal(pci_validate_pairs_ring(names, vals, 1, &ex, &res),
	    PG_OK);
	/* Splice a PAN into the base64 text, 4-aligned: framing intact. */
	assert_true(len > 60);
	memcpy(tok + 39, "x4242424242424242y", 18);	/* no digit run around */
	assert_int_equal(fernet_timestamp(tok, len, &ts), PG_OK);
	assert_int_equal(pci_validate_pairs_ring(names, vals, 1, &ex, &res),
	    PG_EINVAL);
	assert_int_equal(res.v[0].kind, PCI_PAN);
	assert_int_equal(pci_validate_pairs_ring(names, vals, 1, &exo, &res),
	    PG_EINVAL);
	assert_int_equal(pci_validate_pairs(names, vals, 1, &res), PG_EINVAL);
	free(tok);
	keyring_wipe(&ring);
	keyring_wipe(&other);
}

struct field_case {
	const char	*name;
	const char	*value;
	int		 refused;
};

/* Card-data field names are refused whatever their value (issue 9). */
static void
test_card_fields(void **state)
{
	static const struct field_case cases[] = {
		{ "card[number]", "4242424242424241", 1 },	/* not Luhn */
		{ "card[number]", "tok_visa", 1 },
		{ "card[cvc]", "abc", 1 },
		{ "card[exp_month]", "12", 1 },
		{ "card[exp_year]", "2030", 1 },
		{ "CARD[Number]", "x", 1 },
		{ "source[number]", "x", 1 },
		{ "source[exp_year]", "30", 1 },
		{ "payment_method_data[card][number]", "x", 1 },
		{ "payment_method_data[card][cvc]", "", 1 },
		{ "payment_method_data[card][exp_month]", NULL, 1 },
		{ "source", "tok_visa", 0 },
		{ "card", "tok_visa", 0 },
		{ "card[token]", "tok_visa", 0 },
		{ "card[last4]", "4242", 0 },
		{ "number", "42", 0 },
		{ "metadata[number]", "7", 0 },
		{ "payment_method_data[type]", "card", 0 },
		{ "number]", "x", 0 },
		{ "[number]", "x", 0 },
	};
	static const struct {
		const char	*json;
		const char	*field;
	} jcases[] = {
		{ "{\"card\": {\"exp_year\": 2030}}", "card[exp_year]" },
		{ "{\"card\": {\"number\": null}}", "card[number]" },
		{ "{\"source\": {\"object\": \"card\", \"number\": \"x\"}}",
		  "source[number]" },
		{ "{\"payment_method_data\": {\"card\": {\"cvc\": \"x\"}}}",
		  "payment_method_data[card][cvc]" },
		{ "{\"card\": {\"number\": [\"x\"]}}", NULL },
	};
	struct pci_result res;
	struct json_object *o;
	const char	*n[1], *v[1];
	size_t		 i;
	enum pg_err	 rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n[0] = cases[i].name;
		v[0] = cases[i].value;
		rc = pci_validate_pairs(n, v, 1, &res);
		if ((rc != PG_OK) != cases[i].refused)
			fail_msg("%s=%s: refused %d, want %d", cases[i].name,
			    cases[i].value ? cases[i].value : "(null)",
			    rc != PG_OK, cases[i].refused);
		if (cases[i].refused && res.v[0].kind != PCI_FIELD)
			fail_msg("%s: kind %s", cases[i].name,
			    pci_kind_name(res.v[0].kind));
	}
	for (i = 0; i < sizeof(jcases) / sizeof(jcases[0]); i++) {
		o = parse(jcases[i].json);
		rc = pci_validate("x", o, &res);
		if (jcases[i].field == NULL)
			assert_int_equal(rc, PG_OK);	/* [0] is the leaf */
		else {
			assert_int_equal(rc, PG_EINVAL);
			assert_int_equal(res.v[0].kind, PCI_FIELD);
			assert_string_equal(res.v[0].field, jcases[i].field);
		}
		json_object_put(o);
	}
	assert_string_equal(pci_kind_name(PCI_FIELD), "card_field");
}

static void
test_validate_many_and_deep(void **state)
{
	struct pci_result res;
	struct json_object *o, *cur, *next;
	char		 name[32];
	int		 i;

	(void)state;
	/* More violations than fit: capped, still non-compliant. */
	o = json_object_new_object();
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		json_object_object_add(o, name,
		    json_object_new_string("4242424242424242"));
	}
	assert_int_equal(pci_validate("x", o, &res), PG_EINVAL);
	assert_int_equal(res.n, PCI_MAX_VIOLATIONS);
	json_object_put(o);
	/* Deeper than the walk goes: fails closed. */
	o = cur = json_object_new_object();
	for (i = 0; i < 100; i++) {
		next = json_object_new_object();
		json_object_object_add(cur, "a", next);
		cur = next;
	}
	assert_int_equal(pci_validate("x", o, &res), PG_EINVAL);
	assert_true(res.n >= 1);
	json_object_put(o);
	/* A long path is cut, not overflowed. */
	o = cur = json_object_new_object();
	for (i = 0; i < 30; i++) {
		next = json_object_new_object();
		json_object_object_add(cur, "a_rather_long_key_name", next);
		cur = next;
	}
	json_object_object_add(cur, "cvc", json_object_new_string("123"));
	assert_int_equal(pci_validate("x", o, &res), PG_EINVAL);
	assert_int_equal(res.n, 1);
	assert_int_equal(res.v[0].kind, PCI_CVC);
	assert_true(strlen(res.v[0].field) < sizeof(res.v[0].field));
	json_object_put(o);
}

static void
test_validate_pairs(void **state)
{
	static const char *const names[] = {
		"amount", "card[number]", "card[cvc]", "card[exp_month]",
		"description", "empty",
	};
	static const char *const values[] = {
		"1000", "4242 4242 4242 4242", "123", "12",
		"refund for 5555555555554444", NULL,
	};
	/* card[cvc] is a card-data field whatever its value (issue 9):
	 * the compliant pair is now a plain token id. */
	static const char *const okn[] = { "amount", "source" };
	static const char *const okv[] = { "1000", "tok_123" };
	struct pci_result res;

	(void)state;
	assert_int_equal(pci_validate_pairs(names, values, 6, &res),
	    PG_EINVAL);
	/* card[exp_month] is refused by name since issue 9. */
	assert_int_equal(res.n, 4);
	assert_int_equal(res.v[0].kind, PCI_PAN);
	assert_string_equal(res.v[0].field, "card[number]");
	assert_int_equal(res.v[1].kind, PCI_CVC);
	assert_string_equal(res.v[1].field, "card[cvc]");
	assert_int_equal(res.v[2].kind, PCI_FIELD);
	assert_string_equal(res.v[2].field, "card[exp_month]");
	assert_int_equal(res.v[3].kind, PCI_PAN);
	assert_string_equal(res.v[3].field, "description");
	assert_int_equal(pci_validate_pairs(okn, okv, 2, &res), PG_OK);
	assert_int_equal(pci_validate_pairs(NULL, NULL, 0, &res), PG_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_luhn),
		cmocka_unit_test(test_is_pan),
		cmocka_unit_test(test_text_has_pan),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_validate_encrypted),
		cmocka_unit_test(test_validate_many_and_deep),
		cmocka_unit_test(test_validate_pairs),
		cmocka_unit_test(test_validate_forged_fernet),
		cmocka_unit_test(test_card_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
