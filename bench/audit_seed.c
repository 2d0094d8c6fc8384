/*
 * payguard bench/test helper - fills the audit index fast.
 *
 *   audit_seed DIR N [HOURS [NODE]]
 *                              N index records spread evenly over the
 *                              last HOURS (default 720 = the 30-day
 *                              retention), built and chained as the
 *                              writer builds them (with "node" when
 *                              NODE is given), written with aindex_add
 *                              in large transactions on a NOSYNC store
 *                              (index only: the log file is not written)
 *   audit_seed DIR --hostile   one real record through audit_emit with
 *                              an XSS payload in the user agent and in
 *                              the details (for the e2e suite)
 * The mix: 70 % webhook_validated, 10 % invalid signatures, 5 % invalid
 * IPs, 5 % rate limits, 3 % replays, 4 % API requests, 3 % bad payloads,
 * from 200 addresses.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "aindex.h"
#include "codec.h"
#include "rand.h"
#include "store.h"

#define BATCH	20000

struct kind {
	enum aevent	 type;
	enum audit_sev	 sev;
	int		 ok;
	int		 pct;
};

static const struct kind kinds[] = {
	{ AEV_WEBHOOK_VALIDATED, SEV_LOW, 1, 70 },
	{ AEV_WEBHOOK_INVALID_SIGNATURE, SEV_HIGH, 0, 10 },
	{ AEV_WEBHOOK_INVALID_IP, SEV_HIGH, 0, 5 },
	{ AEV_WEBHOOK_RATE_LIMIT_EXCEEDED, SEV_MEDIUM, 0, 5 },
	{ AEV_WEBHOOK_REPLAY_DETECTED, SEV_MEDIUM, 1, 3 },
	{ AEV_API_REQUEST_PROCESSED, SEV_LOW, 1, 4 },
	{ AEV_WEBHOOK_INVALID_PAYLOAD, SEV_MEDIUM, 0, 3 },
};

struct seed {
	uint64_t	 n, done, start_us, step_us;
	unsigned char	 prev[ARECORD_HASH_LEN];	/* the chain so far */
	char		 node[65];
};

static const struct kind *
pick(uint64_t i)
{
	uint64_t	 r = (i * 2654435761u) % 100;
	size_t		 k;
	int		 acc = 0;

	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		acc += kinds[k].pct;
		if ((int)r < acc)
			return &kinds[k];
	}
	return &kinds[0];
}

/* "webhook:evt_1" and 23 base62 characters, like Stripe's ids (which
 * the packer cannot shorten as it shortens hex). */
static void
evt_id(char *out, size_t n)
{
	static const char b62[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char	 r[23];
	size_t		 i, o;

	rand_bytes(r, sizeof(r));
	o = (size_t)snprintf(out, n, "webhook:evt_1");
	for (i = 0; i < sizeof(r) && o + 1 < n; i++)
		out[o++] = b62[r[i] % 62];
	out[o] = '\0';
}

/* A detail object like the one webhook.c writes for an accepted event. */
static struct json_object *
details(uint64_t i, const struct kind *k)
{
	static const char *const types[] = { "payment_intent.succeeded",
	    "charge.succeeded", "invoice.paid", "customer.subscription.updated" };
	struct json_object *d = json_object_new_object();

	if (k->type == AEV_WEBHOOK_VALIDATED ||
	    k->type == AEV_WEBHOOK_REPLAY_DETECTED) {
		json_object_object_add(d, "event_type",
		    json_object_new_string(types[i % 4]));
		json_object_object_add(d, "event_kind",
		    json_object_new_string("snapshot"));
		json_object_object_add(d, "livemode", json_object_new_boolean(1));
		json_object_object_add(d, "state",
		    json_object_new_string("delivered"));
		json_object_object_add(d, "attempts", json_object_new_int(1));
		json_object_object_add(d, "source",
		    json_object_new_string("webhook"));
	} else if (k->type == AEV_WEBHOOK_INVALID_SIGNATURE)
		json_object_object_add(d, "reason",
		    json_object_new_string("no_matching_signature"));
	else if (aevent_metric(k->type) == AEM_RATE_LIMIT) {
		json_object_object_add(d, "operation",
		    json_object_new_string("webhook"));
		json_object_object_add(d, "limit", json_object_new_int(100));
		json_object_object_add(d, "window_s", json_object_new_int(60));
	}
	return d;
}

/*
 * Records as the writer logs them (arecord_build, then the chain
 * fields), so the index holds what production holds: a random UUID and
 * request id, a Stripe event id, the details of an accepted event.
 */
static enum pg_err
batch(struct store_txn *t, void *arg)
{
	struct seed		*s = arg;
	struct arecord_entry	 en;
	struct arecord_who	 who;
	struct arecord		 rec;
	const struct kind	*k;
	struct timespec		 ts;
	struct buf		 b;
	unsigned char		 r[12];
	char			 ip[32], rid[80], res[80], hex[2 * ARECORD_HASH_LEN + 1];
	uint64_t		 i, end = s->done + BATCH;
	enum pg_err		 e = PG_OK;

	if (end > s->n)
		end = s->n;
	buf_init(&b, ARECORD_LINE_MAX);
	for (i = s->done; i < end && e == PG_OK; i++) {
		k = pick(i);
		snprintf(ip, sizeof(ip), "198.51.%u.%u", (unsigned)(i % 200) / 100,
		    (unsigned)(i % 200) + 1);
		rand_bytes(r, sizeof(r));
		codec_hex_encode(r, sizeof(r), hex);
		snprintf(rid, sizeof(rid), "req_%s", hex);
		evt_id(res, sizeof(res));
		memset(&en, 0, sizeof(en));
		en.ts_us = s->start_us + i * s->step_us;
		en.ts_us -= en.ts_us % 1000;	/* the log has ms */
		en.seq = i + 1;
		ts.tv_sec = (time_t)(en.ts_us / 1000000);
		ts.tv_nsec = (long)(en.ts_us % 1000000) * 1000;
		memset(&who, 0, sizeof(who));
		who.source_ip = ip;
		who.user_agent = "Stripe/1.0 (+https://stripe.com/docs/webhooks)";
		who.request_id = rid;
		who.identity = "stripe";
		memset(&rec, 0, sizeof(rec));
		rec.type = k->type;
		rec.severity = k->sev;
		rec.success = k->ok;
		rec.resource = res;
		rec.details = details(i, k);
		buf_reset(&b);
		if ((e = arecord_build(&who, &rec, &ts, &b, NULL)) != PG_OK)
			break;
		if (s->node[0] != '\0')
			buf_printf(&b, ",\"node\":\"%s\"", s->node);
		codec_hex_encode(s->prev, ARECORD_HASH_LEN, hex);
		buf_printf(&b, ",\"seq\":%" PRIu64 ",\"prev\":\"%s\"", en.seq,
		    hex);
		arecord_hash(b.data, b.len, s->prev);
		codec_hex_encode(s->prev, ARECORD_HASH_LEN, hex);
		if ((e = buf_printf(&b, ",\"hash\":\"%s\"}", hex)) != PG_OK)
			break;
		en.sev = k->sev;
		en.success = k->ok;
		en.type = k->type;
		en.type_name = aevent_name(k->type);
		en.ip = ip;
		en.identity = "stripe";
		en.node = s->node;
		en.op = aevent_metric(k->type) == AEM_RATE_LIMIT ? "webhook" : NULL;
		en.line = b.data;
		en.line_len = b.len;
		e = aindex_add(t, &en);
	}
	buf_free(&b);
	return e;
}

static int
hostile(const char *dir, struct store *st)
{
	struct audit_ctx ctx = { dir, "203.0.113.66",
	    "<script>alert(\"ua\")</script>", "req_hostile", "stripe", st, NULL, NULL };
	struct arecord rec;

	memset(&rec, 0, sizeof(rec));
	rec.type = AEV_SECURITY_VALIDATION_FAILED;
	rec.severity = SEV_MEDIUM;
	rec.resource = "webhook";
	rec.details = json_object_new_object();
	json_object_object_add(rec.details, "reason",
	    json_object_new_string("<img src=x onerror=alert(1)>"));
	return audit_emit(&ctx, &rec) == PG_OK ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	struct store	*st = NULL;
	struct seed	 s;
	uint64_t	 hours = 720;
	int		 rc = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: audit_seed DIR N [HOURS] | DIR --hostile\n");
		return 2;
	}
	if (store_open(argv[1], strcmp(argv[2], "--hostile") == 0 ? 0 :
	    STORE_NOSYNC, &st) != PG_OK)
		return 1;
	if (strcmp(argv[2], "--hostile") == 0) {
		rc = hostile(argv[1], st);
		goto out;
	}
	memset(&s, 0, sizeof(s));
	s.n = strtoull(argv[2], NULL, 10);
	if (argc > 3)
		hours = strtoull(argv[3], NULL, 10);
	if (argc > 4)
		snprintf(s.node, sizeof(s.node), "%s", argv[4]);
	if (s.n == 0 || hours == 0)
		goto out;
	s.step_us = hours * 3600000000ull / s.n;
	s.start_us = store_now_us() - hours * 3600000000ull;
	for (s.done = 0; s.done < s.n; s.done += BATCH)
		if (store_run(st, 1, batch, &s) != PG_OK)
			goto out;
	rc = 0;
out:
	store_close(st);
	return rc;
}
