/* Unit tests: lib/inbox and lib/deliver (dedup, claims, leases, retries,
 * dead letters, encryption at rest, handler environment and timeout). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "alert.h"
#include "auditpend.h"
#include "helpers.h"
#include "deliver.h"
#include "inbox.h"
#include "seal.h"

static char dir[4096], hdir[4200];
static struct config cfg;
static struct keyring ring;
static struct store *st;

static const char body[] = "{\"id\":\"evt_A1\",\"object\":\"event\","
    "\"type\":\"customer.created\",\"created\":1,"
    "\"data\":{\"object\":{\"email\":\"plaintext.canary@example.com\"}}}";

static void
write_script(const char *name, const char *text)
{
	char	 p[4400];
	FILE	*f;

	snprintf(p, sizeof(p), "%s/%s", hdir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(p, 0755);
}

static int
setup(void **s)
{
	(void)s;
	if (th_scratch(dir, sizeof(dir), "inbox-test") != 0)
		return -1;
	snprintf(hdir, sizeof(hdir), "%s-h", dir);
	mkdir(hdir, 0700);
	setenv("PAYGUARD_MAX_ATTEMPTS", "3", 1);
	setenv("PAYGUARD_RETRY_BASE", "0", 1);
	setenv("PAYGUARD_HANDLER_TIMEOUT", "2", 1);
	if (th_config_ring(&cfg, &ring) != 0)
		return -1;
	return store_open(dir, 0, &st) == PG_OK ? 0 : -1;
}

static int
teardown(void **s)
{
	(void)s;
	store_close(st);
	config_free(&cfg);
	return th_remove(dir) == 0 && th_remove(hdir) == 0 ? 0 : -1;
}

static void
test_accept_dedup_queue(void **s)
{
	struct event_info ev = th_event("evt_A1");
	enum inbox_outcome out;
	struct ev_hdr	 h, claim;
	char		 id[EVENT_ID_MAX + 1];
	unsigned char	*b = NULL;
	size_t		 len;
	uint64_t	 n, oldest;

	(void)s;
	assert_int_equal(inbox_backlog(st, &n, &oldest), PG_OK);
	assert_int_equal(n, 0);
	assert_int_equal(oldest, 0);
	assert_int_equal(inbox_accept(st, &ring, &cfg, &ev, body, strlen(body),
	    0, &out, &h), PG_OK);
	assert_int_equal(out, INBOX_NEW);
	assert_int_equal(h.state, EV_PENDING);
	/* The backlog the audit metrics are given: one pending event. */
	assert_int_equal(inbox_backlog(st, &n, &oldest), PG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(oldest, h.received_ms);
	assert_int_equal(inbox_accept(st, &ring, &cfg, &ev, body, strlen(body),
	    0, &out, &h), PG_OK);
	assert_int_equal(out, INBOX_DUPLICATE);
	/* The worker claims it once; a second claim finds nothing due. */
	assert_int_equal(inbox_claim_next(st, &ring, &cfg, id, &h, &b, &len), PG_OK);
	claim = h;
	assert_string_equal(id, "evt_A1");
	assert_int_equal(h.state, EV_DELIVERING);
	assert_int_equal(h.attempts, 1);
	assert_int_equal(len, strlen(body));
	assert_memory_equal(b, body, len);
	free(b);
	assert_int_equal(inbox_claim_next(st, &ring, &cfg, id, &h, &b, &len),
	    PG_NOTFOUND);
	assert_int_equal(inbox_complete(st, &cfg, "evt_A1", &claim, 1, 0, NULL),
	    PG_OK);
	assert_int_equal(inbox_get(st, &ring, "evt_A1", &h, NULL, NULL), PG_OK);
	assert_int_equal(h.state, EV_DELIVERED);
	assert_int_equal(inbox_backlog(st, &n, &oldest), PG_OK);
	assert_int_equal(n, 0);
	assert_int_equal(oldest, 0);
	/* Still a duplicate after delivery. */
	assert_int_equal(inbox_accept(st, &ring, &cfg, &ev, body, strlen(body),
	    1, &out, &h), PG_OK);
	assert_int_equal(out, INBOX_DUPLICATE);
}

static void
test_sync_claims(void **s)
{
	struct event_info ev = th_event("evt_S1");
	enum inbox_outcome out;
	struct ev_hdr	 h, first, second, stale;

	(void)s;
	assert_int_equal(inbox_accept(st, &ring, &cfg, &ev, body, strlen(body),
	    1, &out, &h), PG_OK);
	assert_int_equal(out, INBOX_NEW);
	assert_int_equal(h.state, EV_DELIVERING);
	first = h;
	/* While the first holds the lease: in progress, never a 2nd run. */
	assert_int_equal(inbox_accept(st, &ring, &cfg, &ev, body, strlen(body),
	    1, &out, &h), PG_OK);
	assert_int_equal(out, INBOX_IN_PROGRESS);
	/* It failed: Stripe's retry reclaims and delivers again. */
	assert_int_equal(inbox_complete(st, &cfg, "evt_S1", &first, 0, 1,
	    "exit 1"), PG_OK);
	assert_int_equal(inbox_accept(st, &ring, &cfg, &ev, body, strlen(body),
	    1, &out, &h), PG_OK);
	assert_int_equal(out, INBOX_RECLAIMED);
	assert_int_equal(h.attempts, 2);
	second = h;
	/*
	 * The first claim's holder comes back late (its lease ran out and
	 * the event was taken over): its outcome is refused, the record
	 * stays with the second claim (issue 9).  Another process with the
	 * same attempt number is refused too.
	 */
	assert_int_equal(inbox_complete(st, &cfg, "evt_S1", &first, 1, 0, NULL),
	    PG_CONFLICT);
	stale = second;
	stale.owner_pid = second.owner_pid + 1;
	assert_int_equal(inbox_complete(st, &cfg, "evt_S1", &stale, 0, 1,
	    "late"), PG_CONFLICT);
	assert_int_equal(inbox_get(st, &ring, "evt_S1", &h, NULL, NULL), PG_OK);
	assert_int_equal(h.state, EV_DELIVERING);
	assert_int_equal(h.attempts, 2);
	assert_int_equal(inbox_complete(st, &cfg, "evt_S1", &second, 1, 0, NULL),
	    PG_OK);
	/* Once recorded, no claim can record again. */
	assert_int_equal(inbox_complete(st, &cfg, "evt_S1", &second, 0, 1,
	    "again"), PG_CONFLICT);
	assert_int_equal(inbox_get(st, &ring, "evt_S1", &h, NULL, NULL), PG_OK);
	assert_int_equal(h.state, EV_DELIVERED);
	assert_int_equal(inbox_accept(st, &ring, &cfg, &ev, body, strlen(body),
	    1, &out, &h), PG_OK);
	assert_int_equal(out, INBOX_DUPLICATE);
}

static void
test_retries_dead_letter(void **s)
{
	struct event_info ev = th_event("evt_D1");
	enum inbox_outcome out;
	struct ev_hdr	 h;
	size_t		 done, failed, n;

	(void)s;
	write_script("fail.sh", "#!/bin/sh\ncat >/dev/null\nexit 3\n");
	free(cfg.wh_handler);
	cfg.wh_handler = malloc(4400);
	snprintf(cfg.wh_handler, 4400, "%s/fail.sh", hdir);
	assert_int_equal(inbox_accept(st, &ring, &cfg, &ev, body, strlen(body),
	    0, &out, &h), PG_OK);
	/* Base 0: every retry is due at once; 3 attempts, then dead. */
	assert_int_equal(deliver_due(st, &ring, &cfg, 0, &done, &failed), PG_OK);
	assert_int_equal(done, 0);
	assert_int_equal(failed, 3);
	assert_int_equal(inbox_get(st, &ring, "evt_D1", &h, NULL, NULL), PG_OK);
	assert_int_equal(h.state, EV_DEAD);
	assert_int_equal(h.attempts, 3);
	assert_int_equal(h.last_status, 3);
	assert_string_equal(h.last_error, "handler exited 3");
	/* Operator retry, with a handler that now works. */
	write_script("fail.sh", "#!/bin/sh\ncat >/dev/null\nexit 0\n");
	assert_int_equal(inbox_retry(st, "evt_D1"), PG_OK);
	assert_int_equal(deliver_due(st, &ring, &cfg, 0, &done, &failed), PG_OK);
	assert_int_equal(done, 1);
	assert_int_equal(inbox_retry(st, "evt_D1"), PG_CONFLICT);
	assert_int_equal(inbox_retry(st, "evt_nope"), PG_NOTFOUND);
	/* Purge removes only dead letters unless asked for all. */
	assert_int_equal(inbox_purge(st, 0, &n), PG_OK);
	assert_int_equal(n, 0);
	free(cfg.wh_handler);
	cfg.wh_handler = NULL;
}

struct put_arg {
	const char	*id;
	const void	*rec;
	size_t		 len;
};

static enum pg_err
put_raw(struct store_txn *t, void *arg)
{
	struct put_arg	*p = arg;

	return store_put(t, NS_EVENT, p->id, strlen(p->id), p->rec, p->len,
	    0, 0);
}

static void
test_source_and_v1_header(void **s)
{
	struct event_info ev = th_event("evt_B1");
	enum inbox_outcome out;
	struct ev_hdr	 h, v1;
	struct put_arg	 pa;
	char		 id[EVENT_ID_MAX + 1];
	unsigned char	*b = NULL;
	void		*rec = NULL;
	size_t		 len;

	(void)s;
	/* A backfilled event says so in its header, also after a claim. */
	ev.source = EV_SRC_BACKFILL;
	assert_int_equal(inbox_accept(st, &ring, &cfg, &ev, body, strlen(body),
	    0, &out, &h), PG_OK);
	assert_int_equal(out, INBOX_NEW);
	assert_int_equal(h.source, EV_SRC_BACKFILL);
	assert_string_equal(ev_source_name(h.source), "backfill");
	assert_int_equal(inbox_claim_next(st, &ring, &cfg, id, &h, &b, &len), PG_OK);
	free(b);
	assert_int_equal(h.source, EV_SRC_BACKFILL);
	assert_int_equal(inbox_complete(st, &cfg, "evt_B1", &h, 1, 0, NULL), PG_OK);
	assert_int_equal(inbox_get(st, &ring, "evt_B1", &h, NULL, NULL), PG_OK);
	assert_int_equal(h.source, EV_SRC_BACKFILL);
	assert_int_equal(h.state, EV_DELIVERED);
	/* A record written before the source field (version 1, 8 bytes
	 * shorter) reads as a webhook event and is updated in place. */
	memset(&v1, 0, sizeof(v1));
	v1.version = 1;
	v1.state = EV_PENDING;
	v1.last_status = -1;
	snprintf(v1.type, sizeof(v1.type), "invoice.paid");
	assert_int_equal(seal_pack(&ring, &v1, sizeof(v1) - 2 * sizeof(uint32_t),
	    body, strlen(body), &rec, &len), PG_OK);
	pa.id = "evt_V1";
	pa.rec = rec;
	pa.len = len;
	assert_int_equal(store_run(st, 1, put_raw, &pa), PG_OK);
	free(rec);
	assert_int_equal(inbox_get(st, &ring, "evt_V1", &h, &b, &len), PG_OK);
	assert_int_equal(len, strlen(body));
	free(b);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.source, EV_SRC_WEBHOOK);
	assert_string_equal(h.type, "invoice.paid");
	assert_int_equal(inbox_retry(st, "evt_V1"), PG_OK);
	assert_int_equal(inbox_get(st, &ring, "evt_V1", &h, NULL, NULL), PG_OK);
	assert_string_equal(h.type, "invoice.paid");
	assert_int_equal(h.state, EV_PENDING);
	assert_int_equal(inbox_claim_next(st, &ring, &cfg, id, &h, &b, &len), PG_OK);
	free(b);
	assert_string_equal(id, "evt_V1");
	assert_int_equal(inbox_complete(st, &cfg, "evt_V1", &h, 1, 0, NULL), PG_OK);
	/* A header of any other size is not an inbox record. */
	assert_int_equal(seal_pack(&ring, &v1, 10, body, strlen(body), &rec,
	    &len), PG_OK);
	pa.id = "evt_V0";
	pa.rec = rec;
	pa.len = len;
	assert_int_equal(store_run(st, 1, put_raw, &pa), PG_OK);
	free(rec);
	assert_int_equal(inbox_get(st, &ring, "evt_V0", &h, NULL, NULL), PG_STORE);
}

static void
test_handler_env_and_timeout(void **s)
{
	struct proc_result r;
	char		 script[9000], out[4400], buf[4096];
	FILE		*f;
	size_t		 n;

	(void)s;
	snprintf(out, sizeof(out), "%s/env.out", hdir);
	snprintf(script, sizeof(script), "#!/bin/sh\nenv > %s\ncat >> %s\n", out, out);
	write_script("env.sh", script);
	snprintf(script, sizeof(script), "%s/env.sh", hdir);
	setenv("STRIPE_WEBHOOK_SECRET", "whsec_must_not_leak_12345", 1);
	assert_int_equal(deliver_run(script, 5, "evt_E1", "invoice.paid", 1,
	    body, strlen(body), &r), PG_OK);
	assert_true(r.ok);
	f = fopen(out, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_non_null(strstr(buf, "PAYGUARD_EVENT_ID=evt_E1\n"));
	assert_non_null(strstr(buf, "PAYGUARD_EVENT_TYPE=invoice.paid\n"));
	assert_non_null(strstr(buf, "PAYGUARD_EVENT_LIVEMODE=true\n"));
	assert_null(strstr(buf, "PAYGUARD_EVENT_SOURCE"));
	assert_null(strstr(buf, "whsec_must_not_leak"));
	assert_non_null(strstr(buf, body));	/* raw event on stdin */
	assert_null(strstr(buf, "PAYGUARD_EVENT_KIND"));
	/* An event: its kind, and its account when it has one. */
	{
		struct event_info ev;

		memset(&ev, 0, sizeof(ev));
		snprintf(ev.id, sizeof(ev.id), "evt_K1");
		snprintf(ev.type, sizeof(ev.type), "v1.billing.meter.x");
		snprintf(ev.account, sizeof(ev.account), "acct_1Conn");
		ev.kind = EVENT_THIN;
		script[0] = '\0';
		snprintf(script, sizeof(script), "%s/env.sh", hdir);
		assert_int_equal(deliver_run_event(script, 5, &ev, body,
		    strlen(body), &r), PG_OK);
		assert_true(r.ok);
		f = fopen(out, "r");
		assert_non_null(f);
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		assert_non_null(strstr(buf, "PAYGUARD_EVENT_KIND=thin\n"));
		assert_non_null(strstr(buf, "PAYGUARD_EVENT_ACCOUNT=acct_1Conn\n"));
		assert_non_null(strstr(buf, "PAYGUARD_EVENT_LIVEMODE=false\n"));
		assert_non_null(strstr(buf, "PAYGUARD_EVENT_SOURCE=webhook\n"));
		ev.kind = EVENT_SNAPSHOT;
		ev.source = EV_SRC_BACKFILL;
		ev.account[0] = '\0';
		assert_int_equal(deliver_run_event(script, 5, &ev, body,
		    strlen(body), &r), PG_OK);
		f = fopen(out, "r");
		assert_non_null(f);
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		assert_non_null(strstr(buf, "PAYGUARD_EVENT_KIND=snapshot\n"));
		assert_null(strstr(buf, "PAYGUARD_EVENT_ACCOUNT"));
		assert_non_null(strstr(buf, "PAYGUARD_EVENT_SOURCE=backfill\n"));
	}
	/* A hanging handler is killed at the limit. */
	write_script("hang.sh", "#!/bin/sh\nsleep 30\n");
	snprintf(script, sizeof(script), "%s/hang.sh", hdir);
	assert_int_equal(deliver_run(script, 1, "evt_E2", "x", 0, body,
	    strlen(body), &r), PG_OK);
	assert_false(r.ok);
	assert_true(r.timed_out);
	/* A handler that does not read a large body still finishes. */
	{
		static char big[600000];
		memset(big, 'x', sizeof(big));
		write_script("noread.sh", "#!/bin/sh\nexit 0\n");
		snprintf(script, sizeof(script), "%s/noread.sh", hdir);
		assert_int_equal(deliver_run(script, 5, "evt_E3", "x", 0, big,
		    sizeof(big), &r), PG_OK);
		assert_true(r.ok);
	}
	/* Missing executable: a failure, not a crash. */
	assert_int_equal(deliver_run("/nonexistent/handler", 5, "evt_E4", "x",
	    0, body, strlen(body), &r), PG_OK);
	assert_false(r.ok);
	assert_int_equal(r.status, 127);
}

/* The alert command runs through the same runner: the JSON on stdin, an
 * environment of its own (no secret of ours), failures reported. */
static void
test_alert_command(void **s)
{
	char		 script[9000], out[4400], buf[4096];
	const char	 js[] = "{\"fired\":[{\"name\":\"replay\"}]}";
	FILE		*f;
	size_t		 n;

	(void)s;
	snprintf(out, sizeof(out), "%s/alert.out", hdir);
	snprintf(script, sizeof(script), "#!/bin/sh\nenv > %s\ncat >> %s\n",
	    out, out);
	write_script("alert.sh", script);
	snprintf(script, sizeof(script), "%s/alert.sh", hdir);
	setenv("STRIPE_SECRET_KEY", "sk_test_must_not_leak_999", 1);
	assert_int_equal(alert_notify(script, js, strlen(js), 5), PG_OK);
	f = fopen(out, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_non_null(strstr(buf, "PAYGUARD_EVENT_TYPE=payguard.alert\n"));
	assert_non_null(strstr(buf, "PAYGUARD_EVENT_ID=alert\n"));
	assert_null(strstr(buf, "sk_test_must_not_leak"));
	assert_non_null(strstr(buf, js));
	write_script("alert_fail.sh", "#!/bin/sh\nexit 3\n");
	snprintf(script, sizeof(script), "%s/alert_fail.sh", hdir);
	assert_int_equal(alert_notify(script, js, strlen(js), 5), PG_UPSTREAM);
	assert_int_equal(alert_notify("alert.sh", js, strlen(js), 5),
	    PG_CONFIG);
	assert_int_equal(alert_notify(NULL, js, strlen(js), 5), PG_CONFIG);
}

/* The raw store file never holds the event in plaintext. */
static void
test_encrypted_at_rest(void **s)
{
	char		 p[4200];
	int		 fd;
	static char	 data[64 << 20];
	ssize_t		 n;

	(void)s;
	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, data, sizeof(data));
	close(fd);
	assert_true(n > 0);
	assert_null(memmem(data, (size_t)n, "plaintext.canary", 16));
	assert_null(memmem(data, (size_t)n, "customer.created\",\"created", 26));
}

/* A claim whose process died is taken over when its lease runs out. */
static void
test_lease_takeover(void **s)
{
	struct event_info ev = th_event("evt_L1");
	enum inbox_outcome out;
	struct ev_hdr	 h;
	char		 id[EVENT_ID_MAX + 1];
	unsigned char	*b;
	size_t		 len;

	(void)s;
	cfg.wh_handler_timeout = 0;	/* lease = 10 s margin only */
	assert_int_equal(inbox_accept(st, &ring, &cfg, &ev, body, strlen(body),
	    1, &out, &h), PG_OK);
	assert_int_equal(out, INBOX_NEW);
	/* Nothing due yet: the lease is live. */
	assert_int_equal(inbox_claim_next(st, &ring, &cfg, id, &h, &b, &len),
	    PG_NOTFOUND);
	sleep(11);
	assert_int_equal(inbox_claim_next(st, &ring, &cfg, id, &h, &b, &len), PG_OK);
	assert_string_equal(id, "evt_L1");
	assert_int_equal(h.attempts, 2);
	free(b);
	cfg.wh_handler_timeout = 2;
}

static void
expect_detail(struct json_object *d, const char *want)
{
	assert_non_null(d);
	assert_string_equal(json_object_to_json_string_ext(d,
	    JSON_C_TO_STRING_PLAIN), want);
	json_object_put(d);
}

/* The accept-record details: the exact key order each caller logs. */
static void
test_accept_detail(void **s)
{
	struct event_info ev = th_event("evt_D1");
	struct ev_hdr	 h;

	(void)s;
	memset(&h, 0, sizeof(h));
	snprintf(h.type, sizeof(h.type), "stored.type");
	h.state = EV_DELIVERED;
	h.attempts = 2;
	h.source = EV_SRC_BACKFILL;
	ev.livemode = 1;
	ev.kind = EVENT_THIN;
	expect_detail(inbox_accept_detail(&ev, &h, h.source,
	    INBOX_DETAIL_WEBHOOK), "{\"event_type\":\"customer.created\","
	    "\"event_kind\":\"thin\",\"livemode\":true,"
	    "\"state\":\"delivered\",\"attempts\":2,\"source\":\"backfill\"}");
	snprintf(ev.account, sizeof(ev.account), "acct_1");
	expect_detail(inbox_accept_detail(&ev, &h, EV_SRC_WEBHOOK,
	    INBOX_DETAIL_WEBHOOK), "{\"event_type\":\"customer.created\","
	    "\"event_kind\":\"thin\",\"account\":\"acct_1\","
	    "\"livemode\":true,\"state\":\"delivered\",\"attempts\":2,"
	    "\"source\":\"webhook\"}");
	expect_detail(inbox_accept_detail(&ev, &h, h.source, 0),
	    "{\"event_type\":\"customer.created\",\"livemode\":true,"
	    "\"state\":\"delivered\",\"source\":\"backfill\"}");
	/* The settler: type and livemode from the stored header. */
	expect_detail(inbox_accept_detail(NULL, &h, EV_SRC_WEBHOOK, 0),
	    "{\"event_type\":\"stored.type\",\"livemode\":false,"
	    "\"state\":\"delivered\",\"source\":\"webhook\"}");
	expect_detail(inbox_accept_detail(NULL, NULL, EV_SRC_BACKFILL, 0),
	    "{\"source\":\"backfill\"}");
}

/* A pending-audit marker, read or rewritten in place. */
struct mk {
	const char	*id;
	int		 found;
	int		 rewrite;	/* 1: store p back */
	struct inbox_audit_pending p;
};

static enum pg_err
marker_txn(struct store_txn *t, void *arg)
{
	struct mk	*m = arg;
	char		 k[300];
	const void	*v;
	size_t		 vlen, n;
	enum pg_err	 e;

	n = (size_t)snprintf(k, sizeof(k), "%s%s", INBOX_AUDIT_PENDING, m->id);
	m->found = 0;
	if (m->rewrite)
		return store_put(t, NS_META, k, n, &m->p, sizeof(m->p), 0, 0);
	e = store_get(t, NS_META, k, n, &v, &vlen, NULL);
	if (e == PG_NOTFOUND)
		return PG_OK;
	if (e == PG_OK && vlen == sizeof(m->p)) {
		memcpy(&m->p, v, sizeof(m->p));
		m->found = 1;
	}
	return e;
}

static int
marker(const char *id, struct inbox_audit_pending *p)
{
	struct mk	 m = { id, 0, 0, { 0, 0, 0, 0 } };

	assert_int_equal(store_run(st, 0, marker_txn, &m), PG_OK);
	if (p != NULL)
		*p = m.p;
	return m.found;
}

static void
accept_new(const char *id)
{
	struct event_info ev = th_event(id);
	enum inbox_outcome out;
	struct ev_hdr	 h;

	assert_int_equal(inbox_accept(st, &ring, &cfg, &ev, body, strlen(body),
	    0, &out, &h), PG_OK);
	assert_int_equal(out, INBOX_NEW);
}

/* The owner's own settling: only its own markers, and not one a
 * settler has taken over; several in one call. */
static void
test_drop_own(void **s)
{
	struct mk	 m;
	const char	*one[] = { "evt_O1" };
	const char	*three[] = { "evt_O2", "evt_O3", "evt_O4" };

	(void)s;
	accept_new("evt_O1");
	assert_int_equal(marker("evt_O1", &m.p), 1);
	assert_int_equal(m.p.pid, (int32_t)getpid());
	assert_int_equal(auditpend_drop_own(st, one, 1), PG_OK);
	assert_int_equal(marker("evt_O1", NULL), 0);
	/* Nothing left: still PG_OK. */
	assert_int_equal(auditpend_drop_own(st, one, 1), PG_OK);

	/* Taken over by a settler: that settler removes it. */
	accept_new("evt_O2");
	memset(&m, 0, sizeof(m));
	m.id = "evt_O2";
	assert_int_equal(marker("evt_O2", &m.p), 1);
	m.p.claimed_ms = m.p.received_ms + 1;
	m.rewrite = 1;
	assert_int_equal(store_run(st, 1, marker_txn, &m), PG_OK);

	/* Another process's: left to the settling. */
	accept_new("evt_O3");
	memset(&m, 0, sizeof(m));
	m.id = "evt_O3";
	assert_int_equal(marker("evt_O3", &m.p), 1);
	m.p.pid = (int32_t)getpid() + 1;
	m.rewrite = 1;
	assert_int_equal(store_run(st, 1, marker_txn, &m), PG_OK);

	/* Ours: removed; in the same call as the two above, kept. */
	accept_new("evt_O4");
	assert_int_equal(auditpend_drop_own(st, three, 3), PG_OK);
	assert_int_equal(marker("evt_O2", NULL), 1);
	assert_int_equal(marker("evt_O3", NULL), 1);
	assert_int_equal(marker("evt_O4", NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_dedup_queue),
		cmocka_unit_test(test_sync_claims),
		cmocka_unit_test(test_retries_dead_letter),
		cmocka_unit_test(test_handler_env_and_timeout),
		cmocka_unit_test(test_alert_command),
		cmocka_unit_test(test_source_and_v1_header),
		cmocka_unit_test(test_encrypted_at_rest),
		cmocka_unit_test(test_lease_takeover),
		cmocka_unit_test(test_accept_detail),
		cmocka_unit_test(test_drop_own),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
