/* Unit tests: the compact audit index (lib/apack.c, lib/aindex.c,
 * lib/aquery.c): every line reads back from the index byte for byte as
 * logged, packed lines are small, and the hourly markers return exactly
 * the rows a full scan with the same filter returns. */
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

#include "aindex.h"
#include "apack.h"
#include "aquery.h"
#include "ascan.h"
#include "audit.h"
#include "codec.h"
#include "store.h"

static char	 dir[4096], logpath[4200];

static int
setup(void **state)
{
	char		 cmd[8400];
	const char	*base = getenv("PAYGUARD_STATE_DIR");
	static int	 n;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/aindex.%d.%d", base ? base : "/tmp",
	    (int)getpid(), n++);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", dir, dir);
	if (system(cmd) != 0)
		return -1;
	snprintf(logpath, sizeof(logpath), "%s/logs/" AUDIT_LOG_NAME, dir);
	return 0;
}

static int
teardown(void **state)
{
	char	 cmd[8400];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------ exact round trips */

struct rows {
	size_t	 n;
	char	 line[8][8192];
	size_t	 len[8];
	char	 node[8][80];
	int	 mitigated[8];
};

static int
keep(const struct aquery_row *r, void *arg)
{
	struct rows	*rs = arg;

	if (rs->n < 8 && r->line_len < sizeof(rs->line[0])) {
		memcpy(rs->line[rs->n], r->line, r->line_len);
		rs->len[rs->n] = r->line_len;
		snprintf(rs->node[rs->n], sizeof(rs->node[0]), "%s", r->node);
		rs->mitigated[rs->n] = r->mitigated;
		rs->n++;
	}
	return 0;
}

/* The log's lines, oldest first, without their newlines. */
static size_t
log_lines(const char *path, char lines[][8192], size_t max)
{
	FILE	*fp = fopen(path, "r");
	size_t	 n = 0, l;

	assert_non_null(fp);
	while (n < max && fgets(lines[n], 8192, fp) != NULL) {
		l = strlen(lines[n]);
		assert_true(l > 0 && lines[n][l - 1] == '\n');
		lines[n][l - 1] = '\0';
		n++;
	}
	fclose(fp);
	return n;
}

/* A record with every field populated, and values built to trip a
 * packer: strings that look like its tokens, escapes, UTF-8. */
static void
emit_full(struct store *st, int k)
{
	struct audit_ctx ctx = { dir, "2001:db8::7",
	    "Mozilla/5.0 \"quoted\" \\ back\x01slash \xc3\xa9t\xc3\xa9 "
	    "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
	    "req_0123456789abcdef01234567", "tok_admin-1", st, NULL, NULL };
	struct arecord	 rec;
	struct json_object *d = json_object_new_object(), *a;

	memset(&rec, 0, sizeof(rec));
	rec.type = k ? AEV_API_RATE_LIMIT_EXCEEDED : AEV_WEBHOOK_VALIDATED;
	rec.severity = k ? SEV_CRITICAL : SEV_HIGH;
	rec.success = !k;
	rec.resource = "webhook:evt_1NxYzABCdef0123456789abc";
	rec.mitigated = 1;
	rec.mitigation_action = "blocked 2001:db8::7 \"for\" 1h";
	json_object_object_add(d, "event_type",
	    json_object_new_string("payment_intent.succeeded"));
	json_object_object_add(d, "operation", json_object_new_string("charges"));
	json_object_object_add(d, "uuid_like", json_object_new_string(
	    "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"));
	json_object_object_add(d, "hex_odd", json_object_new_string(
	    "abcdef0123456789abcdef0123456789a"));
	json_object_object_add(d, "hex_upper", json_object_new_string(
	    "ABCDEF0123456789ABCDEF0123456789"));
	json_object_object_add(d, "seq_like", json_object_new_int(1));
	json_object_object_add(d, "dict", json_object_new_string(
	    "\",\"event_type\":\"{\"event_id\":\"stripe,\"seq\":"));
	json_object_object_add(d, "ctl", json_object_new_string("a\tb\nc\x1f"));
	json_object_object_add(d, "u2028", json_object_new_string(
	    "line\xe2\x80\xa8sep / slash"));
	json_object_object_add(d, "num", json_object_new_double(-1.5e300));
	a = json_object_new_array();
	json_object_array_add(a, json_object_new_boolean(0));
	json_object_array_add(a, NULL);
	json_object_array_add(a, json_object_new_int64(INT64_MIN));
	json_object_object_add(d, "list", a);
	rec.details = d;
	assert_int_equal(audit_emit(&ctx, &rec), PG_OK);
}

static void
t_roundtrip_full(void **state)
{
	static char	 lines[8][8192];
	static struct rows rs;
	struct aquery_filter f;
	struct ascan_reindex_res res;
	struct store	*st = NULL;
	const char	*paths[1];
	size_t		 n, i;
	char		 cmd[8400];

	(void)state;
	assert_int_equal(store_open(dir, STORE_NOSYNC, &st), PG_OK);
	emit_full(st, 0);
	emit_full(st, 1);
	n = log_lines(logpath, lines, 8);
	assert_int_equal(n, 2);
	memset(&rs, 0, sizeof(rs));
	aquery_filter_init(&f);
	assert_int_equal(aquery_run(st, &f, keep, &rs, NULL), PG_OK);
	assert_int_equal(rs.n, 2);
	/* Newest first: row i is line n - 1 - i, byte for byte. */
	for (i = 0; i < n; i++) {
		assert_int_equal(rs.len[i], strlen(lines[n - 1 - i]));
		assert_memory_equal(rs.line[i], lines[n - 1 - i], rs.len[i]);
	}
	store_close(st);

	/* After a reboot (the volatile environment gone), rebuilt from
	 * the log: the same bytes again. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/volatile'", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(store_open(dir, STORE_NOSYNC, &st), PG_OK);
	paths[0] = logpath;
	assert_int_equal(ascan_reindex(st, NULL, paths, 1, &res), PG_OK);
	assert_int_equal(res.added, 2);
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(aquery_run(st, &f, keep, &rs, NULL), PG_OK);
	assert_int_equal(rs.n, 2);
	for (i = 0; i < n; i++) {
		assert_int_equal(rs.len[i], strlen(lines[n - 1 - i]));
		assert_memory_equal(rs.line[i], lines[n - 1 - i], rs.len[i]);
	}
	store_close(st);
}

/* An index entry for a line of our own making. */
struct addarg {
	struct arecord_entry	 en;
};

static enum pg_err
add_txn(struct store_txn *t, void *arg)
{
	return aindex_add(t, &((struct addarg *)arg)->en);
}

static void
add_line(struct store *st, uint64_t ts, uint64_t seq, const char *line,
    size_t len)
{
	struct addarg	 a;

	memset(&a, 0, sizeof(a));
	a.en.ts_us = ts;
	a.en.seq = seq;
	a.en.sev = SEV_LOW;
	a.en.success = 1;
	a.en.type = AEV__MAX;
	a.en.type_name = "odd_type";
	a.en.ip = "10.0.0.9";
	a.en.identity = "x";
	a.en.line = line;
	a.en.line_len = len;
	assert_int_equal(store_run(st, 1, add_txn, &a), PG_OK);
}

/* Lines the packer cannot shorten or must refuse still read back. */
static void
t_roundtrip_odd(void **state)
{
	static const char *const odd[] = {
		"not json at all",
		"{\"event_id\":\"x\",\"hash\":\"zz\"}",
		/* A raw control byte: refused by the packer, kept raw. */
		"{\"a\":\"\x01\x02\x1f\x05\x09\"}",
		"",
		"{\"prev\":\"" "0000000000000000000000000000000000000000000000000000000000000000"
		"\",\"hash\":\"" "1111111111111111111111111111111111111111111111111111111111111111\"}",
	};
	static struct rows rs;
	struct aquery_filter f;
	struct store	*st = NULL;
	uint64_t	 now = store_now_us() - store_now_us() % 1000;
	size_t		 i, n = sizeof(odd) / sizeof(odd[0]);

	(void)state;
	assert_int_equal(store_open(dir, STORE_NOSYNC, &st), PG_OK);
	for (i = 0; i < n; i++)
		add_line(st, now - (n - i) * 1000, i + 1, odd[i], strlen(odd[i]));
	memset(&rs, 0, sizeof(rs));
	aquery_filter_init(&f);
	assert_int_equal(aquery_run(st, &f, keep, &rs, NULL), PG_OK);
	assert_int_equal(rs.n, n);
	for (i = 0; i < rs.n; i++) {
		assert_int_equal(rs.len[i], strlen(odd[n - 1 - i]));
		assert_memory_equal(rs.line[i], odd[n - 1 - i], rs.len[i]);
	}
	store_close(st);
}

/* The packer itself: exact or refused, never wrong; small for a
 * production line; and unpacking any bytes never overruns. */
static void
t_apack(void **state)
{
	static const char good[] =
	    "{\"event_id\":\"815b4ce9-93d9-4e9a-8571-3e10c37086f8\","
	    "\"event_type\":\"webhook_validated\","
	    "\"timestamp\":\"2026-12-03T20:11:41.450Z\","
	    "\"source_ip\":\"198.51.1.200\","
	    "\"user_agent\":\"Stripe/1.0 (+https://stripe.com/docs/webhooks)\","
	    "\"request_id\":\"req_55145594b7f0ad264b1d2d95\",\"severity\":\"LOW\","
	    "\"identity\":\"stripe\",\"outcome\":\"success\","
	    "\"resource\":\"webhook:evt_1NxYzABCdef0123456789abc\","
	    "\"details\":{\"event_type\":\"customer.subscription.updated\","
	    "\"event_kind\":\"snapshot\",\"livemode\":true,\"state\":\"delivered\","
	    "\"attempts\":1,\"source\":\"webhook\"},\"mitigated\":false,"
	    "\"mitigation_action\":null,\"node\":\"web-1\",\"seq\":100000,"
	    "\"prev\":\"f4f0948667cf122ec973e815756c33dcabf60d90aecd72d3b7634f3755b5a963\"";
	static const char packed[] =
	    "0a01815b4ce993d94e9a85713e10c37086f80b070c030d060e1b0f020c5514"
	    "5594b7f0ad264b1d2d95111d151c314e78597a4142430208def0123456789a"
	    "bc171f090f09112e09150900090b09030904090809053109067d181e082219"
	    "041a0220f4f0948667cf122ec973e815756c33dcabf60d90aecd72d3b7634f"
	    "3755b5a9632205227d";
	struct apack_ctx c;
	struct buf	 line, p, back;
	unsigned char	 h[ARECORD_HASH_LEN], junk[64];
	unsigned char	 want[(sizeof(packed) - 1) / 2];
	char		 hex[2 * ARECORD_HASH_LEN + 1];
	size_t		 i, j;
	unsigned int	 r = 12345;

	(void)state;
	buf_init(&line, 1 << 16);
	buf_init(&p, 1 << 17);
	buf_init(&back, 1 << 17);
	/* The chained line as the writer ends it. */
	buf_puts(&line, good);
	arecord_hash(line.data, line.len, h);
	codec_hex_encode(h, sizeof(h), hex);
	buf_printf(&line, ",\"hash\":\"%s\"}", hex);
	memset(&c, 0, sizeof(c));
	c.ts_us = 1796328701450000ull;
	c.seq = 100000;
	c.ip = "198.51.1.200";
	c.iplen = strlen(c.ip);
	c.type = "webhook_validated";
	c.tlen = strlen(c.type);
	c.node = "web-1";
	c.nlen = 5;
	assert_int_equal(apack_line(&c, line.data, line.len, &p), PG_OK);
	/* The packed bytes themselves, as the packer has always written
	 * them: indexes on disk hold this format, so a faster packer must
	 * produce it unchanged. */
	assert_int_equal(codec_hex_decode(packed, sizeof(want), want), 0);
	assert_int_equal(p.len, sizeof(want));
	assert_memory_equal(p.data, want, sizeof(want));
	/* ~620 bytes logged; what the index keeps of it is the event id,
	 * request id, Stripe id, details values and prev. */
	assert_true(p.len <= 190);
	assert_int_equal(apack_unline(&c, p.data, p.len, &back), PG_OK);
	assert_int_equal(back.len, line.len);
	assert_memory_equal(back.data, line.data, line.len);
	/* Another context (a wrong seq): the packer is not fooled into a
	 * wrong line, the unpacker tells a different one. */
	buf_reset(&back);
	c.seq = 99999;
	assert_int_equal(apack_unline(&c, p.data, p.len, &back), PG_OK);
	assert_true(back.len != line.len ||
	    memcmp(back.data, line.data, line.len) != 0);
	c.seq = 100000;
	/* Mutated lines: each packs exactly or is refused. */
	for (i = 0; i < 3000; i++) {
		struct buf	 m, chk;

		buf_init(&m, 1 << 16);
		buf_init(&chk, 1 << 17);
		buf_reset(&p);
		buf_append(&m, line.data, line.len);
		for (j = 0; j < 1 + i % 4; j++) {
			r = r * 1103515245u + 12345u;
			m.data[(r >> 8) % m.len] = (char)(r >> 20);
		}
		if (apack_line(&c, m.data, m.len, &p) != PG_OK)
			assert_int_equal(p.len, 0);
		else {
			assert_int_equal(apack_unline(&c, p.data, p.len, &chk),
			    PG_OK);
			assert_int_equal(chk.len, m.len);
			assert_memory_equal(chk.data, m.data, m.len);
		}
		buf_free(&m);
		buf_free(&chk);
	}
	/* Junk never overruns (ASan runs this): every token at the end. */
	for (i = 0; i < 2000; i++) {
		for (j = 0; j < sizeof(junk); j++) {
			r = r * 1103515245u + 12345u;
			junk[j] = (unsigned char)(r >> 16) % 40;
		}
		buf_reset(&back);
		(void)apack_unline(&c, junk, 1 + i % sizeof(junk), &back);
	}
	buf_free(&line);
	buf_free(&p);
	buf_free(&back);
}

/* ------------------------------------ hourly markers vs a full scan */

#define NREC	1500
#define NHOURS	12

struct rec {
	uint64_t	 ts, seq;
	int		 sev, type;
	char		 ip[16], node[8];
};

static struct rec recs[NREC];

struct seedarg {
	size_t	 from, to;
};

static const enum aevent types[] = {
	AEV_WEBHOOK_VALIDATED, AEV_WEBHOOK_INVALID_SIGNATURE,
	AEV_API_REQUEST_PROCESSED, AEV_PCI_COMPLIANCE_VIOLATION,
};

static enum pg_err
seed_txn(struct store_txn *t, void *arg)
{
	struct seedarg	*a = arg;
	struct arecord_entry en;
	char		 line[256];
	size_t		 i;
	enum pg_err	 e;

	for (i = a->from; i < a->to; i++) {
		memset(&en, 0, sizeof(en));
		en.ts_us = recs[i].ts;
		en.seq = recs[i].seq;
		en.sev = (enum audit_sev)recs[i].sev;
		en.type = types[recs[i].type];
		en.type_name = aevent_name(en.type);
		en.ip = recs[i].ip;
		en.identity = "stripe";
		en.node = recs[i].node;
		en.success = 1;
		en.line_len = (size_t)snprintf(line, sizeof(line),
		    "{\"n\":%zu,\"source_ip\":\"%s\"}", i, recs[i].ip);
		en.line = line;
		if ((e = aindex_add(t, &en)) != PG_OK)
			return e;
	}
	return PG_OK;
}

static void
seed(struct store *st, uint64_t base)
{
	struct seedarg	 a;
	unsigned int	 r = 7;
	size_t		 i;

	for (i = 0; i < NREC; i++) {
		r = r * 1103515245u + 12345u;
		/* Some hours rare, some busy; the last hour empty. */
		recs[i].ts = base + (uint64_t)((r >> 8) % ((NHOURS - 1) *
		    3600000ull)) * 1000ull;
		recs[i].seq = i + 1;
		/* A rare severity and type, a rare address and node. */
		recs[i].sev = i % 97 == 0 ? SEV_CRITICAL : (int)((r >> 4) % 3);
		recs[i].type = i % 89 == 0 ? 3 : (int)((r >> 12) % 3);
		snprintf(recs[i].ip, sizeof(recs[i].ip), "10.0.%u.%u",
		    i % 301 == 0 ? 9u : 0u, (unsigned)((r >> 16) % 20));
		snprintf(recs[i].node, sizeof(recs[i].node), "%s",
		    i % 53 == 0 ? "n3" : (r >> 20) % 2 ? "n1" : "n2");
	}
	/* Out of time order, as several writers commit. */
	a.from = NREC / 2;
	a.to = NREC;
	assert_int_equal(store_run(st, 1, seed_txn, &a), PG_OK);
	a.from = 0;
	a.to = NREC / 2;
	assert_int_equal(store_run(st, 1, seed_txn, &a), PG_OK);
}

struct keys {
	size_t		 n;
	uint64_t	 ts[NREC], seq[NREC];
};

static int
key_of(const struct aquery_row *r, void *arg)
{
	struct keys	*k = arg;

	if (k->n < NREC) {
		k->ts[k->n] = r->ts_us;
		k->seq[k->n] = r->seq;
		k->n++;
	}
	return 0;
}

static int
matches(const struct rec *r, const struct aquery_filter *f)
{
	return (f->sev < 0 || r->sev == f->sev) &&
	    (f->type[0] == '\0' || strcmp(aevent_name(types[r->type]),
	    f->type) == 0) &&
	    (f->ip[0] == '\0' || strcmp(r->ip, f->ip) == 0) &&
	    (f->node[0] == '\0' || strcmp(r->node, f->node) == 0);
}

static struct rec *
rec_of(uint64_t seq)
{
	return seq >= 1 && seq <= NREC ? &recs[seq - 1] : NULL;
}

/* Pages through f with limit 7 and compares every row with a full
 * unfiltered scan filtered here. */
static void
check_filter(struct store *st, const struct aquery_filter *f0)
{
	static struct keys all, got;
	struct aquery_filter f = *f0, u;
	struct keys	 page;
	size_t		 i, want = 0;
	int		 more = 1;

	/* The oracle: every row of the window, filtered here. */
	u = f;
	u.sev = -1;
	u.type[0] = u.ip[0] = u.node[0] = '\0';
	u.limit = AQUERY_LIMIT_MAX;
	memset(&all, 0, sizeof(all));
	assert_int_equal(aquery_run(st, &u, key_of, &all, NULL), PG_OK);
	memset(&got, 0, sizeof(got));
	f.limit = 7;
	while (more) {
		memset(&page, 0, sizeof(page));
		assert_int_equal(aquery_run(st, &f, key_of, &page, &more),
		    PG_OK);
		assert_true(page.n <= 7);
		assert_true(more == 0 || page.n == 7);
		for (i = 0; i < page.n; i++) {
			got.ts[got.n] = page.ts[i];
			got.seq[got.n++] = page.seq[i];
		}
		if (page.n == 0)
			break;
		f.before_ts = page.ts[page.n - 1];
		f.before_seq = page.seq[page.n - 1];
	}
	for (i = 0; i < all.n; i++) {
		if (!matches(rec_of(all.seq[i]), f0))
			continue;
		assert_true(want < got.n);
		assert_int_equal(got.ts[want], all.ts[i]);
		assert_int_equal(got.seq[want], all.seq[i]);
		want++;
	}
	assert_int_equal(got.n, want);
}

static void
t_filters_vs_scan(void **state)
{
	struct aquery_filter f;
	struct store	*st = NULL;
	uint64_t	 now = store_now_us(), base;
	size_t		 i, checked = 0;
	static const char *const ips[] = { "10.0.9.0", "10.0.9.3", "10.0.0.4",
	    "10.0.0.99" };
	static const char *const nodes[] = { "n1", "n3", "nx" };

	(void)state;
	base = now - NHOURS * 3600000000ull;
	assert_int_equal(store_open(dir, STORE_NOSYNC, &st), PG_OK);
	seed(st, base);
	for (i = 0; i < 4 * 5 * 5 * 4; i++) {
		aquery_filter_init(&f);
		f.sev = (int)(i % 5) - 1;
		if (i / 5 % 5 < 4)
			snprintf(f.type, sizeof(f.type), "%s",
			    aevent_name(types[i / 5 % 5]));
		if (i / 25 % 5 < 4)
			snprintf(f.ip, sizeof(f.ip), "%s", ips[i / 25 % 5]);
		if (i / 125 % 4 < 3)
			snprintf(f.node, sizeof(f.node), "%s",
			    nodes[i / 125 % 4]);
		/* Windows: everything, the last 5 hours, a middle slice
		 * not on hour boundaries. */
		if (i % 3 == 1)
			aquery_window(&f, now, 5);
		else if (i % 3 == 2) {
			f.since_us = base + 3 * 3600000000ull + 1234567;
			f.until_us = base + 7 * 3600000000ull + 7654321;
		}
		check_filter(st, &f);
		checked++;
	}
	assert_int_equal(checked, 400);
	store_close(st);
}

struct hcount {
	uint64_t	 before_hour;
	size_t		 old, all;
};

static int
h_one(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t exp, void *arg)
{
	struct hcount	*h = arg;

	(void)val; (void)vlen; (void)exp;
	if (klen < 10)
		return 0;
	h->all++;
	if (codec_be64_get((const unsigned char *)key + 1) < h->before_hour)
		h->old++;
	return 0;
}

static enum pg_err
hcount_txn(struct store_txn *t, void *arg)
{
	return store_scan(t, NS_AUDIT_X, "H", 1, "I", 1, 0, h_one, arg);
}

/* The retention sweep takes the markers of the hours it emptied, and
 * only those: filtered queries still agree with a full scan. */
static void
t_sweep_markers(void **state)
{
	struct aquery_filter f;
	struct hcount	 h;
	struct store	*st = NULL;
	uint64_t	 now = store_now_us(), base, cut;
	size_t		 n;

	(void)state;
	base = now - NHOURS * 3600000000ull;
	assert_int_equal(store_open(dir, STORE_NOSYNC, &st), PG_OK);
	seed(st, base);
	cut = base + 4 * 3600000000ull + 1800000000ull;
	memset(&h, 0, sizeof(h));
	h.before_hour = cut / AINDEX_HOUR_US;
	assert_int_equal(store_run(st, 0, hcount_txn, &h), PG_OK);
	assert_true(h.old > 0);
	assert_int_equal(aindex_sweep(st, cut, 100, &n), PG_OK);
	assert_true(n > 0);
	memset(&h, 0, sizeof(h));
	h.before_hour = cut / AINDEX_HOUR_US;
	assert_int_equal(store_run(st, 0, hcount_txn, &h), PG_OK);
	assert_int_equal(h.old, 0);
	assert_true(h.all > 0);
	aquery_filter_init(&f);
	snprintf(f.type, sizeof(f.type), "%s", aevent_name(types[1]));
	check_filter(st, &f);
	aquery_filter_init(&f);
	f.sev = SEV_CRITICAL;
	check_filter(st, &f);
	store_close(st);
}


/* ---------------------------------------------------------- the node */

static int
count_row(const struct aquery_row *r, void *arg)
{
	(void)r;
	(*(size_t *)arg)++;
	return 0;
}

/* PAYGUARD_NODE (else the host name) is in every record, the chain
 * holds, the node filter finds a node's records, and a line without the
 * field (written before it existed) still reads, with no node. */
static void
t_node(void **state)
{
	static char	 lines[8][8192];
	static struct rows rs;
	struct config	 c;
	struct audit_ctx ctx = { dir, "10.1.1.1", "ua", "req_n", "stripe",
	    NULL, NULL, &c };
	struct arecord_who who = { "10.1.1.2", "ua", "req_o", "stripe", NULL };
	struct arecord	 rec;
	struct arecord_line al;
	struct ascan_verify v;
	struct aquery_filter f;
	struct timespec	 now;
	struct buf	 b;
	unsigned char	 h[ARECORD_HASH_LEN];
	char		 host[128], want[200], hex[2 * ARECORD_HASH_LEN + 1];
	size_t		 n = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.node = (char *)"web-a";
	c.audit_flood_whole = AUDIT_FLOOD_WHOLE;
	c.audit_flood_type = AUDIT_FLOOD_TYPE_WHOLE;
	assert_int_equal(store_open(dir, STORE_NOSYNC, &ctx.st), PG_OK);
	assert_int_equal(audit_event(&ctx, AEV_WEBHOOK_VALIDATED, SEV_LOW, 1,
	    "webhook:evt_1", NULL, NULL), PG_OK);
	ctx.cfg = NULL;
	assert_int_equal(audit_event(&ctx, AEV_WEBHOOK_VALIDATED, SEV_LOW, 1,
	    "webhook:evt_2", NULL, NULL), PG_OK);
	c.node = (char *)"web-b";
	ctx.cfg = &c;
	assert_int_equal(audit_event(&ctx, AEV_WEBHOOK_INVALID_IP, SEV_HIGH, 0,
	    "webhook", NULL, NULL), PG_OK);
	assert_int_equal(log_lines(logpath, lines, 8), 3);
	assert_non_null(strstr(lines[0], ",\"node\":\"web-a\",\"seq\":1,"));
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	snprintf(want, sizeof(want), ",\"node\":\"%s\",\"seq\":2,", host);
	assert_non_null(strstr(lines[1], want));
	assert_non_null(strstr(lines[2], "\"node\":\"web-b\""));
	assert_int_equal(ascan_verify_file(NULL, logpath, ctx.st, &v), PG_OK);
	assert_int_equal(v.status, AV_OK);
	assert_int_equal(v.records, 3);
	/* The filter, and the node of each row. */
	aquery_filter_init(&f);
	snprintf(f.node, sizeof(f.node), "web-a");
	assert_int_equal(aquery_run(ctx.st, &f, count_row, &n, NULL), PG_OK);
	assert_int_equal(n, 1);
	aquery_filter_init(&f);
	snprintf(f.node, sizeof(f.node), "web-c");
	n = 0;
	assert_int_equal(aquery_run(ctx.st, &f, count_row, &n, NULL), PG_OK);
	assert_int_equal(n, 0);
	aquery_filter_init(&f);
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(aquery_run(ctx.st, &f, keep, &rs, NULL), PG_OK);
	assert_int_equal(rs.n, 3);
	assert_string_equal(rs.node[0], "web-b");
	assert_string_equal(rs.node[1], host);
	assert_string_equal(rs.node[2], "web-a");
	/* A filter value that is not a node name is refused. */
	aquery_filter_init(&f);
	assert_int_not_equal(aquery_parse("node=a%20b", store_now_us(), &f,
	    NULL), PG_OK);
	assert_int_equal(aquery_parse("node=web-a", store_now_us(), &f,
	    NULL), PG_OK);
	assert_string_equal(f.node, "web-a");
	store_close(ctx.st);

	/* A line from before the field: parsed, no node. */
	memset(&rec, 0, sizeof(rec));
	rec.type = AEV_WEBHOOK_VALIDATED;
	rec.success = 1;
	clock_gettime(CLOCK_REALTIME, &now);
	buf_init(&b, ARECORD_LINE_MAX);
	assert_int_equal(arecord_build(&who, &rec, &now, &b, NULL), PG_OK);
	buf_printf(&b, ",\"seq\":1,\"prev\":\"%064d\"", 0);
	arecord_hash(b.data, b.len, h);
	codec_hex_encode(h, sizeof(h), hex);
	buf_printf(&b, ",\"hash\":\"%s\"}", hex);
	assert_null(strstr(b.data, "\"node\""));
	assert_int_equal(arecord_parse_line(b.data, b.len, &al), PG_OK);
	assert_string_equal(al.node, "");
	assert_string_equal(al.en.node, "");
	arecord_line_free(&al);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_roundtrip_full, setup, teardown),
		cmocka_unit_test_setup_teardown(t_roundtrip_odd, setup, teardown),
		cmocka_unit_test(t_apack),
		cmocka_unit_test_setup_teardown(t_filters_vs_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(t_sweep_markers, setup, teardown),
		cmocka_unit_test_setup_teardown(t_node, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
