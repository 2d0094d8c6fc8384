/* Unit tests: the gateway's modules - lib/form, lib/route, lib/stripe's
 * retry decisions, lib/token, lib/idem. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "form.h"
#include "idem.h"
#include "route.h"
#include "stripe.h"
#include "token.h"

static char dir[4096];
static struct config cfg;

static int
setup(void **s)
{
	char	 err[256];

	(void)s;
	snprintf(dir, sizeof(dir), "/tmp/pg-gw-test.%d", (int)getpid());
	setenv("PAYGUARD_STATE_DIR", dir, 1);
	setenv("PAYGUARD_IDEMPOTENCY_LOCK_TIMEOUT", "1", 1);
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

static char *
enc(const struct form *f, int canonical)
{
	struct buf	 b;

	buf_init(&b, 1 << 20);
	assert_int_equal(canonical ? form_canonical(f, &b) : form_encode(f, &b),
	    PG_OK);
	return buf_take(&b, NULL);
}

static void
test_form_parse(void **s)
{
	struct form	 f;
	char		*e;
	static const char *bad[] = { "a=%zz", "a=%4", "a=%", "%00=1", "a=%00",
	    "=x", "a=1&=2", "a[b=1", "a]b=1", "[x]=1", "a[b]c=1", "a[[b]]=1",
	    "a[b]]=1", "a=caf%E9", "a=%C0%AF", "a=%ED%A0%80", "a%FF=1" };
	size_t		 i;

	(void)s;
	form_init(&f);
	static const char in[] = "email=a%40b.c&metadata%5Bk%5D=v+w&"
	    "expand[]=x&expand[]=y&&flag";

	assert_int_equal(form_parse(in, strlen(in), &f), PG_OK);
	assert_int_equal(f.n, 5);
	assert_string_equal(f.p[0].value, "a@b.c");
	assert_string_equal(f.p[1].name, "metadata[k]");
	assert_string_equal(f.p[1].value, "v w");
	assert_string_equal(f.p[4].name, "flag");
	assert_string_equal(f.p[4].value, "");
	{
		struct form	 u;
		static const char ok8[] = "n=caf%C3%A9+%F0%9F%98%80&items[0][x]=1&e[]=";

		form_init(&u);
		assert_int_equal(form_parse(ok8, strlen(ok8), &u), PG_OK);
		assert_int_equal(u.n, 3);
		assert_string_equal(u.p[0].value, "caf\xc3\xa9 \xf0\x9f\x98\x80");
		form_free(&u);
	}
	e = enc(&f, 0);
	assert_string_equal(e, "email=a%40b.c&metadata%5Bk%5D=v%20w&"
	    "expand%5B%5D=x&expand%5B%5D=y&flag=");
	free(e);
	/* Canonical: sorted by name, same-named pairs keep their order. */
	e = enc(&f, 1);
	assert_string_equal(e, "email=a%40b.c&expand%5B%5D=x&expand%5B%5D=y&"
	    "flag=&metadata%5Bk%5D=v%20w");
	free(e);
	form_free(&f);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		form_init(&f);
		assert_int_equal(form_parse(bad[i], strlen(bad[i]), &f), PG_EINVAL);
		form_free(&f);
	}
}

static void
test_form_json(void **s)
{
	struct form	 f;
	char		*e;
	static const char *bad[] = { "[]", "\"x\"", "{", "{\"a\":1} x",
	    "{\"a\":\"\\u0000\"}", "{\"\":1}", "{\"a\":\"caf\xe9\"}",
	    "{\"a[b\":1}", "{\"a\":{\"]\":1}}",
	    "{\"email\":\"a\xc0\x93.c\"}" /* overlong, found by fuzzing */ };
	size_t		 i;
	char		 deep[400];

	(void)s;
	form_init(&f);
	static const char js[] = "{\"email\":\"a@b.c\",\"metadata\":"
	    "{\"k\":\"v\"},\"items\":[{\"price\":\"p1\",\"quantity\":2}],"
	    "\"paid\":true,\"desc\":null,\"amount\":1.5}";

	assert_int_equal(form_from_json(js, strlen(js), &f), PG_OK);
	e = enc(&f, 0);
	assert_string_equal(e, "email=a%40b.c&metadata%5Bk%5D=v&"
	    "items%5B0%5D%5Bprice%5D=p1&items%5B0%5D%5Bquantity%5D=2&"
	    "paid=true&desc=&amount=1.5");
	free(e);
	form_free(&f);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		form_init(&f);
		assert_int_equal(form_from_json(bad[i], strlen(bad[i]), &f),
		    PG_EINVAL);
		form_free(&f);
	}
	/* Nesting beyond FORM_JSON_DEPTH. */
	memset(deep, 0, sizeof(deep));
	for (i = 0; i < 40; i++)
		strcat(deep, "{\"a\":");
	strcat(deep, "1");
	for (i = 0; i < 40; i++)
		strcat(deep, "}");
	form_init(&f);
	assert_int_equal(form_from_json(deep, strlen(deep), &f), PG_EINVAL);
	form_free(&f);
}

static void
test_routes(void **s)
{
	struct routes	 rt;
	const struct route *r;

	(void)s;
	assert_int_equal(routes_parse(NULL, &rt), PG_OK);
	r = route_match(&rt, "POST", "/v1/customers");
	assert_non_null(r);
	assert_string_equal(r->op, "customer");
	assert_non_null(route_match(&rt, "GET", "/v1/customers/cus_123"));
	assert_non_null(route_match(&rt, "DELETE", "/v1/customers/cus_123"));
	r = route_match(&rt, "POST", "/v1/payment_intents/pi_1/confirm");
	assert_string_equal(r->op, "payment_intent");
	r = route_match(&rt, "POST", "/v1/checkout/sessions");
	assert_string_equal(r->op, "checkout");
	assert_non_null(route_match(&rt, "GET", "/v1/events/evt_1"));
	assert_null(route_match(&rt, "POST", "/v1/events"));
	assert_null(route_match(&rt, "DELETE", "/v1/events/evt_1"));
	assert_null(route_match(&rt, "GET", "/v1/charges"));
	assert_null(route_match(&rt, "GET", "/v1/customersX"));
	assert_null(route_match(&rt, "GET", "/v1/customers/../charges"));
	assert_null(route_match(&rt, "GET", "/v1/customers/cus_1/x/y"));
	assert_null(route_match(&rt, "GET", "/v1/customers//x"));
	assert_null(route_match(&rt, "PUT", "/v1/customers"));
	assert_null(route_match(&rt, "GET", "/v2/customers"));
	assert_null(route_match(&rt, "GET", "/v1/customers/a%2Fb"));
	assert_int_equal(routes_parse("refunds=refund,events:ro=event", &rt), PG_OK);
	assert_int_equal(rt.n, 2);
	assert_null(route_match(&rt, "POST", "/v1/customers"));
	/* v2 routes: the same syntax under /v2, and only there. */
	assert_int_equal(routes_parse("customers=customer,v2/core/accounts=account,"
	    "v2/core/event_destinations=event_destination", &rt), PG_OK);
	r = route_match(&rt, "POST", "/v2/core/accounts");
	assert_non_null(r);
	assert_string_equal(r->op, "account");
	assert_true(r->v2);
	assert_non_null(route_match(&rt, "GET", "/v2/core/accounts/acct_1"));
	assert_non_null(route_match(&rt, "POST", "/v2/core/event_destinations/ed_1/enable"));
	assert_non_null(route_match(&rt, "DELETE", "/v2/core/event_destinations/ed_1"));
	assert_null(route_match(&rt, "POST", "/v1/core/accounts"));
	assert_null(route_match(&rt, "GET", "/v2/customers"));
	assert_false(route_match(&rt, "GET", "/v1/customers")->v2);
	assert_null(route_match(&rt, "GET", "/v2/core/accountsX"));
	assert_null(route_match(&rt, "GET", "/v3/core/accounts"));
	assert_int_equal(routes_parse("v2/=x", &rt), PG_EINVAL);
	assert_int_equal(routes_parse("customers", &rt), PG_EINVAL);
	assert_int_equal(routes_parse("cu stomers=x", &rt), PG_EINVAL);
	assert_int_equal(routes_parse("", &rt), PG_EINVAL);
}

static void
test_retry_rules(void **s)
{
	struct stripe_resp r;

	(void)s;
	memset(&r, 0, sizeof(r));
	r.should_retry = -1;
	r.retry_after = -1;
	r.status = 500;
	assert_true(stripe_should_retry(&r, 0, 2));
	assert_true(stripe_should_retry(&r, 1, 2));
	assert_false(stripe_should_retry(&r, 2, 2));
	r.status = 409;
	assert_true(stripe_should_retry(&r, 0, 2));
	r.status = 429;
	assert_false(stripe_should_retry(&r, 0, 2));
	r.should_retry = 1;
	assert_true(stripe_should_retry(&r, 0, 2));
	r.status = 503;
	r.should_retry = 0;
	assert_false(stripe_should_retry(&r, 0, 2));
	r.status = 402;
	r.should_retry = -1;
	assert_false(stripe_should_retry(&r, 0, 2));
	r.status = 0;
	r.conn_retryable = 1;
	assert_true(stripe_should_retry(&r, 0, 2));
	r.conn_retryable = 0;
	assert_false(stripe_should_retry(&r, 0, 2));
	/* Backoff: the ranges from stripe-python. */
	assert_true(stripe_sleep_time(1, -1, 0.0) == 0.5);
	assert_true(stripe_sleep_time(1, -1, 1.0) == 0.5);
	assert_true(stripe_sleep_time(2, -1, 0.0) == 0.5);
	assert_true(stripe_sleep_time(2, -1, 1.0) == 1.0);
	assert_true(stripe_sleep_time(3, -1, 0.0) == 1.0);
	assert_true(stripe_sleep_time(3, -1, 1.0) == 2.0);
	assert_true(stripe_sleep_time(5, -1, 1.0) == 5.0);
	assert_true(stripe_sleep_time(9, -1, 0.0) == 2.5);
	assert_true(stripe_sleep_time(1, 3, 0.5) == 3.0);
	assert_true(stripe_sleep_time(1, 61, 0.5) == 0.5);	/* over 60: ignored */
}

static void
test_tokens(void **s)
{
	struct store		*st;
	struct token_ctx	 t;
	struct token_rec	 r;
	char			 tok[TOKEN_STR_MAX], tok2[TOKEN_STR_MAX];
	char			 name[TOKEN_NAME_MAX + 1];

	(void)s;
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	assert_int_equal(token_ctx_init(&cfg, &t), PG_OK);
	assert_int_equal(token_create(st, &t, "reports", SCOPE_READ, "", "", tok), PG_OK);
	assert_int_equal(strncmp(tok, "pgk_", 4), 0);
	assert_int_equal(strlen(tok), 47);
	assert_int_equal(token_create(st, &t, "reports", SCOPE_WRITE, "", "", tok2),
	    PG_EXISTS);
	assert_int_equal(token_create(st, &t, "bad name", SCOPE_READ, "", "", tok2),
	    PG_EINVAL);
	assert_int_equal(token_create(st, &t, "shop", SCOPE_WRITE,
	    "customer,payment_intent", "", tok2), PG_OK);
	assert_int_equal(token_verify(st, &t, tok, name, &r), PG_OK);
	assert_string_equal(name, "reports");
	assert_true(token_allows(&r, "GET", "customer"));
	assert_false(token_allows(&r, "POST", "customer"));
	assert_int_equal(token_verify(st, &t, tok2, name, &r), PG_OK);
	assert_string_equal(name, "shop");
	assert_true(token_allows(&r, "POST", "payment_intent"));
	assert_true(token_allows(&r, "DELETE", "customer"));
	assert_false(token_allows(&r, "POST", "refund"));
	assert_false(token_allows(&r, "GET", "payment"));	/* no prefix match */
	/* A near miss, a malformed token. */
	tok2[10] = tok2[10] == 'A' ? 'B' : 'A';
	assert_int_equal(token_verify(st, &t, tok2, name, &r), PG_NOTFOUND);
	assert_int_equal(token_verify(st, &t, "pgk_short", name, &r), PG_EINVAL);
	assert_int_equal(token_verify(st, &t, "sk_test_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", name, &r), PG_EINVAL);
	/* Revoked: gone; the name can be reused with a new token. */
	assert_int_equal(token_revoke(st, "reports"), PG_OK);
	assert_int_equal(token_verify(st, &t, tok, name, &r), PG_NOTFOUND);
	assert_int_equal(token_revoke(st, "reports"), PG_NOTFOUND);
	assert_int_equal(token_create(st, &t, "reports", SCOPE_READ, "", "", tok2), PG_OK);
	assert_int_equal(token_verify(st, &t, tok, name, &r), PG_NOTFOUND);
	/* Connect accounts: none by default, a list, or any. */
	assert_int_equal(token_verify(st, &t, tok2, name, &r), PG_OK);
	assert_false(token_allows_account(&r, "acct_1A"));
	assert_int_equal(token_create(st, &t, "platform", SCOPE_WRITE, "",
	    "acct_1A,acct_2B", tok2), PG_OK);
	assert_int_equal(token_verify(st, &t, tok2, name, &r), PG_OK);
	assert_string_equal(r.accounts, "acct_1A,acct_2B");
	assert_true(token_allows_account(&r, "acct_1A"));
	assert_true(token_allows_account(&r, "acct_2B"));
	assert_true(token_allows_account(&r, "acct_1A/acct_2B"));
	assert_false(token_allows_account(&r, "acct_1A/acct_3C"));
	assert_false(token_allows_account(&r, "acct_1"));	/* no prefix match */
	assert_false(token_allows_account(&r, "acct_1AB"));
	assert_false(token_allows_account(&r, "acct_1A,acct_2B"));
	assert_false(token_allows_account(&r, ""));
	assert_int_equal(token_create(st, &t, "any", SCOPE_WRITE, "", "*", tok2),
	    PG_OK);
	assert_int_equal(token_verify(st, &t, tok2, name, &r), PG_OK);
	assert_true(token_allows_account(&r, "acct_9Z"));
	assert_false(token_allows_account(&r, "cus_9Z"));
	assert_false(token_allows_account(&r, "acct_9Z/"));
	assert_int_equal(token_create(st, &t, "bad1", SCOPE_WRITE, "", "acct_1,",
	    tok2), PG_EINVAL);
	assert_int_equal(token_create(st, &t, "bad2", SCOPE_WRITE, "", "cus_1",
	    tok2), PG_EINVAL);
	assert_int_equal(token_create(st, &t, "bad3", SCOPE_WRITE, "", "acct_1 ",
	    tok2), PG_EINVAL);
	token_ctx_wipe(&t);
	store_close(st);
}

/* A token record as version 1 stored it: no accounts field. */
static enum pg_err
put_v1(struct store_txn *txn, void *arg)
{
	struct token_rec	*r = arg;

	return store_put(txn, NS_TOKEN, "n:legacy", 8, r,
	    offsetof(struct token_rec, accounts), 0, 0);
}

static int
find_legacy(const char *name, const struct token_rec *r, void *arg)
{
	if (strcmp(name, "legacy") == 0)
		*(struct token_rec *)arg = *r;
	return 0;
}

static void
test_token_v1_record(void **s)
{
	struct store		*st;
	struct token_rec	 r, got;

	(void)s;
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	memset(&r, 0, sizeof(r));
	r.version = 1;
	r.scope = SCOPE_WRITE;
	snprintf(r.ops, sizeof(r.ops), "customer");
	/* Garbage where accounts would be must not be read. */
	memset(r.accounts, 'x', sizeof(r.accounts));
	assert_int_equal(store_run(st, 1, put_v1, &r), PG_OK);
	memset(&got, 0xff, sizeof(got));
	assert_int_equal(token_list(st, find_legacy, &got), PG_OK);
	assert_int_equal(got.scope, SCOPE_WRITE);
	assert_string_equal(got.ops, "customer");
	assert_string_equal(got.accounts, "");
	assert_false(token_allows_account(&got, "acct_1A"));
	assert_int_equal(token_revoke(st, "legacy"), PG_OK);
	store_close(st);
}

static void
test_idem(void **s)
{
	struct store		*st;
	struct keyring		 ring;
	char			 key[FERNET_KEY_B64LEN + 1], k[IDEM_KEY_MAX + 1];
	char			 upkey[IDEM_UPKEY_MAX + 1];
	unsigned char		 fp1[32], fp2[32];
	struct idem_result	 r;
	char			 long_key[300];
	static const char	 stored[] =
	    "{\"error\":{\"type\":\"card_error\",\"last4\":\"4242\"}}";

	(void)s;
	assert_int_equal(idem_parse_key("KG5LxwFBepaKHyUD", k), PG_OK);
	assert_string_equal(k, "KG5LxwFBepaKHyUD");
	assert_int_equal(idem_parse_key("\"8e03-40d5\"", k), PG_OK);
	assert_string_equal(k, "8e03-40d5");
	assert_int_equal(idem_parse_key("\"a\\\"b\"", k), PG_OK);
	assert_string_equal(k, "a\"b");
	assert_int_equal(idem_parse_key("", k), PG_EINVAL);
	assert_int_equal(idem_parse_key("\"\"", k), PG_EINVAL);
	assert_int_equal(idem_parse_key("a\nb", k), PG_EINVAL);
	memset(long_key, 'a', 256);
	long_key[256] = '\0';
	assert_int_equal(idem_parse_key(long_key, k), PG_EINVAL);
	long_key[255] = '\0';
	assert_int_equal(idem_parse_key(long_key, k), PG_OK);

	assert_int_equal(fernet_key_generate(key), PG_OK);
	assert_int_equal(keyring_parse(key, &ring), PG_OK);
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	assert_int_equal(idem_fingerprint("POST", "/v1/customers", "email=a", 7,
	    fp1), PG_OK);
	assert_int_equal(idem_fingerprint("POST", "/v1/customers", "email=b", 7,
	    fp2), PG_OK);
	assert_memory_not_equal(fp1, fp2, 32);
	assert_int_equal(idem_begin(st, &ring, &cfg, "shop", "k1", fp1, &r), PG_OK);
	assert_int_equal(r.outcome, IDEM_PROCEED);
	memcpy(upkey, r.upstream_key, sizeof(upkey));
	assert_int_equal(idem_begin(st, &ring, &cfg, "shop", "k1", fp1, &r), PG_OK);
	assert_int_equal(r.outcome, IDEM_IN_PROGRESS);
	assert_int_equal(idem_begin(st, &ring, &cfg, "shop", "k1", fp2, &r), PG_OK);
	assert_int_equal(r.outcome, IDEM_MISMATCH);
	/* Another identity's key of the same name is another record. */
	assert_int_equal(idem_begin(st, &ring, &cfg, "other", "k1", fp2, &r), PG_OK);
	assert_int_equal(r.outcome, IDEM_PROCEED);
	/* Owner gone quiet past the lock timeout: taken over, same key up. */
	sleep(2);
	assert_int_equal(idem_begin(st, &ring, &cfg, "shop", "k1", fp1, &r), PG_OK);
	assert_int_equal(r.outcome, IDEM_PROCEED);
	assert_true(r.taken_over);
	assert_string_equal(r.upstream_key, upkey);
	assert_int_equal(idem_finish(st, &ring, "shop", "k1", 402, stored,
	    strlen(stored)), PG_OK);
	assert_int_equal(idem_begin(st, &ring, &cfg, "shop", "k1", fp1, &r), PG_OK);
	assert_int_equal(r.outcome, IDEM_REPLAY);
	assert_int_equal(r.status, 402);
	assert_int_equal(r.bodylen, strlen(stored));
	assert_memory_equal(r.body, stored, strlen(stored));
	free(r.body);
	/* Released after an unknown outcome: re-driven at once. */
	assert_int_equal(idem_begin(st, &ring, &cfg, "shop", "k2", fp1, &r), PG_OK);
	assert_int_equal(idem_release(st, "shop", "k2"), PG_OK);
	assert_int_equal(idem_begin(st, &ring, &cfg, "shop", "k2", fp1, &r), PG_OK);
	assert_int_equal(r.outcome, IDEM_PROCEED);
	assert_int_equal(idem_forget(st, "shop", "k2"), PG_OK);
	store_close(st);
}

/*
 * The upstream Idempotency-Key is a keyed hash of identity, key and
 * fingerprint: a retry whose record was lost (a fresh store standing in
 * for a Redis failover that dropped it) sends Stripe the same key; other
 * parameters, another identity or another key ring give another.
 */
static void
test_idem_upstream_key(void **s)
{
	struct store		*st, *fresh;
	struct keyring		 ring, ring2;
	char			 key[FERNET_KEY_B64LEN + 1], d2[4200], cmd[4300];
	char			 a[IDEM_UPKEY_MAX + 1], b[IDEM_UPKEY_MAX + 1];
	unsigned char		 fp1[32], fp2[32];
	struct idem_result	 r;
	size_t			 i;

	(void)s;
	assert_int_equal(fernet_key_generate(key), PG_OK);
	assert_int_equal(keyring_parse(key, &ring), PG_OK);
	assert_int_equal(fernet_key_generate(key), PG_OK);
	assert_int_equal(keyring_parse(key, &ring2), PG_OK);
	assert_int_equal(idem_fingerprint("POST", "/v1/customers", "email=a", 7,
	    fp1), PG_OK);
	assert_int_equal(idem_fingerprint("POST", "/v1/customers", "email=b", 7,
	    fp2), PG_OK);
	assert_int_equal(idem_upstream_key(&ring, "shop", "u1", fp1, a), PG_OK);
	assert_int_equal(strlen(a), 35);
	assert_memory_equal(a, "pg_", 3);
	for (i = 3; i < 35; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_int_equal(idem_upstream_key(&ring, "shop", "u1", fp1, b), PG_OK);
	assert_string_equal(a, b);
	assert_int_equal(idem_upstream_key(&ring, "shop", "u1", fp2, b), PG_OK);
	assert_string_not_equal(a, b);
	assert_int_equal(idem_upstream_key(&ring, "shoq", "u1", fp1, b), PG_OK);
	assert_string_not_equal(a, b);
	assert_int_equal(idem_upstream_key(&ring, "shop", "u2", fp1, b), PG_OK);
	assert_string_not_equal(a, b);
	/* Another site (another key ring): another key. */
	assert_int_equal(idem_upstream_key(&ring2, "shop", "u1", fp1, b), PG_OK);
	assert_string_not_equal(a, b);

	/* Through idem_begin: the record in one store, then a store that
	 * never saw it. */
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	assert_int_equal(idem_begin(st, &ring, &cfg, "shop", "u1", fp1, &r),
	    PG_OK);
	assert_int_equal(r.outcome, IDEM_PROCEED);
	assert_string_equal(r.upstream_key, a);
	store_close(st);
	snprintf(d2, sizeof(d2), "%s.fresh", dir);
	assert_int_equal(store_open(d2, 0, &fresh), PG_OK);
	assert_int_equal(idem_begin(fresh, &ring, &cfg, "shop", "u1", fp1, &r),
	    PG_OK);
	assert_int_equal(r.outcome, IDEM_PROCEED);
	assert_string_equal(r.upstream_key, a);
	store_close(fresh);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d2);
	assert_int_equal(system(cmd), 0);
}

/* 16 processes, one key: exactly one proceeds. */
static void
test_idem_race(void **s)
{
	pid_t		 pids[16];
	int		 i, status, proceed = 0, busy = 0;
	char		 key[FERNET_KEY_B64LEN + 1];

	(void)s;
	/* The suite's 1 s lock timeout is for test_idem's take-over; here a
	 * child started more than 1 s after the first (a loaded machine)
	 * would rightly take the key over, which is not what this tests. */
	cfg.idem_lock_timeout = 3600;
	assert_int_equal(fernet_key_generate(key), PG_OK);
	for (i = 0; i < 16; i++) {
		if ((pids[i] = fork()) == 0) {
			struct store *st;
			struct keyring ring;
			struct idem_result r;
			unsigned char fp[32];
			if (keyring_parse(key, &ring) != PG_OK ||
			    store_open(dir, 0, &st) != PG_OK)
				_exit(9);
			if (idem_fingerprint("POST", "/v1/x", "", 0, fp) != PG_OK)
				_exit(6);
			if (idem_begin(st, &ring, &cfg, "race", "one", fp, &r) != PG_OK)
				_exit(8);
			store_close(st);
			_exit(r.outcome == IDEM_PROCEED ? 0 :
			    r.outcome == IDEM_IN_PROGRESS ? 1 : 7);
		}
	}
	for (i = 0; i < 16; i++) {
		waitpid(pids[i], &status, 0);
		assert_true(WIFEXITED(status));
		if (WEXITSTATUS(status) == 0)
			proceed++;
		else if (WEXITSTATUS(status) == 1)
			busy++;
	}
	assert_int_equal(proceed, 1);
	assert_int_equal(busy, 15);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_parse),
		cmocka_unit_test(test_form_json),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_retry_rules),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_idem),
		cmocka_unit_test(test_idem_race),
		cmocka_unit_test(test_idem_upstream_key),
		cmocka_unit_test(test_token_v1_record),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
