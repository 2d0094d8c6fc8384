/*
 * payguard bench/test helper - fills the audit index fast.
 *
 *   audit_seed DIR N [HOURS]   N index records spread evenly over the
 *                              last HOURS (default 720 = the 30-day
 *                              retention), written with aindex_add in
 *                              large transactions on a NOSYNC store
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

static enum pg_err
batch(struct store_txn *t, void *arg)
{
	struct seed		*s = arg;
	struct arecord_entry	 en;
	const struct kind	*k;
	char			 ip[32], line[1024];
	uint64_t		 i, end = s->done + BATCH;
	time_t			 sec;
	struct tm		 tm;
	enum pg_err		 e;
	int			 n;

	if (end > s->n)
		end = s->n;
	for (i = s->done; i < end; i++) {
		k = pick(i);
		snprintf(ip, sizeof(ip), "198.51.%u.%u", (unsigned)(i % 200) / 100,
		    (unsigned)(i % 200) + 1);
		memset(&en, 0, sizeof(en));
		en.ts_us = s->start_us + i * s->step_us;
		en.seq = i + 1;
		en.sev = k->sev;
		en.success = k->ok;
		en.type = k->type;
		en.type_name = aevent_name(k->type);
		en.ip = ip;
		en.identity = "stripe";
		en.op = aevent_metric(k->type) == AEM_RATE_LIMIT ? "webhook" : NULL;
		sec = (time_t)(en.ts_us / 1000000);
		gmtime_r(&sec, &tm);
		n = snprintf(line, sizeof(line), "{\"event_id\":\"00000000-0000-4000-8000-%012" PRIx64
		    "\",\"event_type\":\"%s\",\"timestamp\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03uZ\","
		    "\"source_ip\":\"%s\",\"user_agent\":\"Stripe/1.0 (+https://stripe.com/docs/webhooks)\","
		    "\"request_id\":\"req_bench%" PRIu64 "\",\"severity\":\"%s\",\"identity\":\"stripe\","
		    "\"outcome\":\"%s\",\"resource\":\"webhook:evt_bench%" PRIu64 "\",\"details\":{},"
		    "\"mitigated\":false,\"mitigation_action\":null}", i, en.type_name,
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec, (unsigned)(en.ts_us / 1000 % 1000), ip, i,
		    aevent_sev_name(k->sev), k->ok ? "success" : "failure", i);
		en.line = line;
		en.line_len = (size_t)n;
		if ((e = aindex_add(t, &en)) != PG_OK)
			return e;
	}
	return PG_OK;
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
