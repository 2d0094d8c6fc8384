/* Unit tests: the audit subsystem, lib/a*.c (hash chain and verify, the index
 * and its queries, per-minute stats, retention, rebuilding the index
 * after a reboot, hostile values). */
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

#include "audit.h"
#include "aindex.h"
#include "aout.h"
#include "aquery.h"
#include "ascan.h"
#include "astats.h"
#include "store.h"

static char	 dir[4096], logpath[4200];

static int
setup(void **state)
{
	char		 cmd[8400];
	const char	*base = getenv("PAYGUARD_STATE_DIR");

	(void)state;
	static int	 n;

	/* A fresh state directory per test. */
	snprintf(dir, sizeof(dir), "%s/audit.%d.%d", base ? base : "/tmp",
	    (int)getpid(), n++);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", dir, dir);
	if (system(cmd) != 0)
		return -1;
	snprintf(logpath, sizeof(logpath), "%s/logs/" AUDIT_LOG_NAME, dir);
	return 0;
}

static struct store *
open_store(void)
{
	struct store	*st = NULL;

	assert_int_equal(store_open(dir, STORE_NOSYNC, &st), PG_OK);
	return st;
}

static void
emit(struct store *st, enum aevent type, enum audit_sev sev, int ok,
    const char *ip, const char *ua, struct json_object *d)
{
	struct audit_ctx ctx = { dir, ip, ua, "req_1", "stripe", st, NULL,
			    NULL };
	struct arecord rec;

	memset(&rec, 0, sizeof(rec));
	rec.type = type;
	rec.severity = sev;
	rec.success = ok;
	rec.resource = "webhook";
	rec.details = d;
	assert_int_equal(audit_emit(&ctx, &rec), PG_OK);
}

/* Reads the log into lines[] (max 64). */
static size_t
read_lines(char lines[][4096], size_t max)
{
	FILE	*fp = fopen(logpath, "r");
	size_t	 n = 0;

	assert_non_null(fp);
	while (n < max && fgets(lines[n], 4096, fp) != NULL)
		n++;
	fclose(fp);
	return n;
}

static void
write_lines(char lines[][4096], size_t n, size_t skip)
{
	FILE	*fp = fopen(logpath, "w");
	size_t	 i;

	for (i = 0; i < n; i++)
		if (i != skip)
			fputs(lines[i], fp);
	fclose(fp);
}

static void
t_chain_verify(void **state)
{
	static char	 lines[16][4096], orig[16][4096];
	struct ascan_verify v;
	struct store	*st;
	size_t		 n, i;
	char		*p;

	(void)state;
	st = open_store();
	for (i = 0; i < 6; i++)
		emit(i % 2 ? st : NULL, AEV_WEBHOOK_VALIDATED, SEV_LOW, 1,
		    "10.0.0.1", "ua", NULL);
	assert_int_equal(ascan_verify_file(NULL, logpath, st, &v), PG_OK);
	assert_int_equal(v.status, AV_OK);
	assert_int_equal(v.records, 6);
	assert_int_equal(v.first_seq, 1);
	assert_int_equal(v.last_seq, 6);
	n = read_lines(orig, 16);
	assert_int_equal(n, 6);
	assert_non_null(strstr(orig[0], "\"prev\":\"0000000000"));

	/* Altered in place (hash not recomputed): named by itself. */
	memcpy(lines, orig, sizeof(orig));
	p = strstr(lines[2], "10.0.0.1");
	p[1] = '1';
	write_lines(lines, n, 99);
	ascan_verify_file(NULL, logpath, st, &v);
	assert_int_equal(v.status, AV_ALTERED);
	assert_int_equal(v.line, 3);

	/* Removed from the middle. */
	write_lines(orig, n, 3);
	ascan_verify_file(NULL, logpath, st, &v);
	assert_int_equal(v.status, AV_REMOVED);
	assert_int_equal(v.line, 4);
	assert_non_null(strstr(v.msg, "seq 4..4"));

	/* A copy of a record inserted after record 2. */
	memcpy(lines, orig, sizeof(orig));
	{
		FILE *fp = fopen(logpath, "w");
		for (i = 0; i < n; i++) {
			fputs(lines[i], fp);
			if (i == 1)
				fputs(lines[0], fp);
		}
		fclose(fp);
	}
	ascan_verify_file(NULL, logpath, st, &v);
	assert_int_equal(v.status, AV_INSERTED);
	assert_int_equal(v.line, 3);

	/* An unchained line inserted. */
	{
		FILE *fp = fopen(logpath, "w");
		for (i = 0; i < n; i++) {
			fputs(orig[i], fp);
			if (i == 3)
				fputs("{\"event_type\":\"forged\"}\n", fp);
		}
		fclose(fp);
	}
	ascan_verify_file(NULL, logpath, st, &v);
	assert_int_equal(v.status, AV_INSERTED);
	assert_int_equal(v.line, 5);

	/* The tail cut: only the store's head can tell. */
	write_lines(orig, n, 5);
	ascan_verify_file(NULL, logpath, NULL, &v);
	assert_int_equal(v.status, AV_OK);
	ascan_verify_file(NULL, logpath, st, &v);
	assert_int_equal(v.status, AV_REMOVED);

	/* Restored: intact again, and appends continue the chain. */
	write_lines(orig, n, 99);
	emit(st, AEV_WEBHOOK_VALIDATED, SEV_LOW, 1, "10.0.0.1", "ua", NULL);
	ascan_verify_file(NULL, logpath, st, &v);
	assert_int_equal(v.status, AV_OK);
	assert_int_equal(v.records, 7);

	/* Rotation: a fresh file continues from the store's head. */
	rename(logpath, "/dev/null/nope");	/* no-op, keep the name */
	unlink(logpath);
	emit(st, AEV_WEBHOOK_VALIDATED, SEV_LOW, 1, "10.0.0.1", "ua", NULL);
	ascan_verify_file(NULL, logpath, st, &v);
	assert_int_equal(v.status, AV_OK);
	assert_int_equal(v.first_seq, 8);
	store_close(st);
}

/*
 * Six processes append at once: four with a store, two file-only (so the
 * store's tail shortcut keeps being outdated by appends it did not see),
 * and ordinary records between suspicious ones (those touch the store
 * before the append lock, the others first at it: the lock order must
 * hold for both, or two processes deadlock - alarm() turns that into a
 * failure).
 */
static void
t_chain_processes(void **state)
{
	struct ascan_verify v;
	struct store	*st;
	pid_t		 pids[6];
	int		 i, j, status;

	(void)state;
	for (i = 0; i < 6; i++) {
		if ((pids[i] = fork()) == 0) {
			struct store *cst = NULL;

			alarm(60);
			if (i % 3 != 2 && store_open(dir, STORE_NOSYNC, &cst) !=
			    PG_OK)
				_exit(1);
			for (j = 0; j < 50; j++) {
				if (j % 2)
					emit(cst, AEV_WEBHOOK_INVALID_SIGNATURE,
					    SEV_HIGH, 0, "10.9.9.9", "ua", NULL);
				else
					emit(cst, AEV_WEBHOOK_VALIDATED,
					    SEV_LOW, 1, "10.9.9.9", "ua", NULL);
			}
			store_close(cst);
			_exit(0);
		}
	}
	for (i = 0; i < 6; i++) {
		waitpid(pids[i], &status, 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	st = open_store();
	assert_int_equal(ascan_verify_file(NULL, logpath, st, &v), PG_OK);
	assert_int_equal(v.status, AV_OK);
	assert_int_equal(v.records, 300);
	assert_int_equal(aindex_count(st), 200);
	store_close(st);
}

struct rows {
	size_t		 n;
	char		 first[4096];
	uint64_t	 ts[64], seq[64];
};

static int
collect(const struct aquery_row *r, void *arg)
{
	struct rows	*rs = arg;

	if (rs->n == 0)
		snprintf(rs->first, sizeof(rs->first), "%.*s",
		    (int)r->line_len, r->line);
	if (rs->n < 64) {
		rs->ts[rs->n] = r->ts_us;
		rs->seq[rs->n] = r->seq;
	}
	rs->n++;
	return 0;
}

/* 10 validated, 5 invalid IP (192.0.2.7), 3 bad signatures (10.0.0.1). */
static void
seed(struct store *st)
{
	int	 i;

	for (i = 0; i < 10; i++)
		emit(st, AEV_WEBHOOK_VALIDATED, SEV_LOW, 1, "10.0.0.1", "ua", NULL);
	for (i = 0; i < 5; i++)
		emit(st, AEV_WEBHOOK_INVALID_IP, SEV_HIGH, 0, "192.0.2.7", "ua", NULL);
	for (i = 0; i < 3; i++)
		emit(st, AEV_WEBHOOK_INVALID_SIGNATURE, SEV_HIGH, 0, "10.0.0.1",
		    "ua", NULL);
}

static void
t_index_queries(void **state)
{
	struct store	*st;
	struct aquery_filter f;
	struct rows	 r;
	int		 more, i;

	(void)state;
	st = open_store();
	seed(st);

	aquery_filter_init(&f);
	memset(&r, 0, sizeof(r));
	assert_int_equal(aquery_run(st, &f, collect, &r, &more), PG_OK);
	assert_int_equal(r.n, 18);
	assert_false(more);
	/* Newest first. */
	assert_non_null(strstr(r.first, "webhook_invalid_signature"));
	for (i = 1; i < 18; i++)
		assert_true(r.ts[i] < r.ts[i - 1] ||
		    (r.ts[i] == r.ts[i - 1] && r.seq[i] < r.seq[i - 1]));

	aquery_filter_init(&f);
	f.sev = SEV_HIGH;
	memset(&r, 0, sizeof(r));
	aquery_run(st, &f, collect, &r, NULL);
	assert_int_equal(r.n, 8);

	aquery_filter_init(&f);
	snprintf(f.ip, sizeof(f.ip), "10.0.0.1");
	f.sev = SEV_HIGH;
	memset(&r, 0, sizeof(r));
	aquery_run(st, &f, collect, &r, NULL);
	assert_int_equal(r.n, 3);

	aquery_filter_init(&f);
	snprintf(f.type, sizeof(f.type), "webhook_invalid_ip");
	memset(&r, 0, sizeof(r));
	aquery_run(st, &f, collect, &r, NULL);
	assert_int_equal(r.n, 5);
	assert_non_null(strstr(r.first, "192.0.2.7"));

	/* Paging: 7 + 7 + 4, no row twice. */
	aquery_filter_init(&f);
	f.limit = 7;
	memset(&r, 0, sizeof(r));
	aquery_run(st, &f, collect, &r, &more);
	assert_int_equal(r.n, 7);
	assert_true(more);
	f.before_ts = r.ts[6];
	f.before_seq = r.seq[6];
	memset(&r, 0, sizeof(r));
	aquery_run(st, &f, collect, &r, &more);
	assert_int_equal(r.n, 7);
	f.before_ts = r.ts[6];
	f.before_seq = r.seq[6];
	memset(&r, 0, sizeof(r));
	aquery_run(st, &f, collect, &r, &more);
	assert_int_equal(r.n, 4);
	assert_false(more);

	/* A time window in the future is empty. */
	aquery_filter_init(&f);
	f.since_us = store_now_us() + 3600000000ull;
	memset(&r, 0, sizeof(r));
	aquery_run(st, &f, collect, &r, NULL);
	assert_int_equal(r.n, 0);

	store_close(st);
}

/* n api_rate_limit_exceeded records (operation customer, tok_a). */
static void
rl_records(struct store *st, int n)
{
	struct json_object *d;
	int		 i;

	for (i = 0; i < n; i++) {
		d = json_object_new_object();
		json_object_object_add(d, "operation",
		    json_object_new_string("customer"));
		struct audit_ctx ctx = { dir, "198.51.100.4", "ua", "r", "tok_a",
				    st, NULL, NULL };
		struct arecord rec = { AEV_API_RATE_LIMIT_EXCEEDED, SEV_MEDIUM,
		    0, "api:customer", d, 1, "request_rejected" };
		assert_int_equal(audit_emit(&ctx, &rec), PG_OK);
	}
}

static int
check_mit(const struct aquery_row *r, void *arg)
{
	*(int *)arg = r->mitigated && strcmp(r->mitigation, "blocked") == 0;
	return 0;
}

static void
t_stats(void **state)
{
	struct astats *s = calloc(1, sizeof(*s));
	struct store	*st;

	(void)state;
	st = open_store();
	seed(st);
	rl_records(st, 4);
	emit(st, AEV_WEBHOOK_REPLAY_DETECTED, SEV_MEDIUM, 1, "10.0.0.3", "ua", NULL);
	/* The inbox backlog is the caller's, passed through. */
	assert_int_equal(astats_compute(st, 0, 24, 7, 1234, s), PG_OK);
	assert_int_equal(s->backlog, 7);
	assert_int_equal(s->oldest_pending_ms, 1234);
	assert_int_equal(s->total, 18 + 4 + 1);
	assert_int_equal(s->sig_ok, 10);
	assert_int_equal(s->sig_bad, 3);
	assert_true(s->sig_rate > 76.9 && s->sig_rate < 77.0);
	assert_int_equal(s->invalid_ip, 5);
	assert_int_equal(s->replay, 1);
	assert_int_equal(s->rate_limited, 4);
	assert_int_equal(s->by_sev[SEV_HIGH], 8);
	assert_int_equal(s->by_sev[SEV_LOW], 10);
	assert_int_equal(s->by_sev[SEV_MEDIUM], 5);
	assert_int_equal(s->nhours, 24);
	assert_int_equal(s->hourly[23][SEV_HIGH], 8);
	assert_int_equal(s->nrl_ops, 1);
	assert_string_equal(s->rl_ops[0].name, "customer");
	assert_string_equal(s->rl_ids[0].name, "tok_a");
	assert_int_equal(s->rl_ids[0].n, 4);
	/* Suspicious: 5 invalid IP, 4 rate limits, 3 bad signatures. */
	assert_int_equal(s->ntop_ips, 4);
	assert_string_equal(s->top_ips[0].name, "192.0.2.7");
	assert_int_equal(s->top_ips[0].n, 5);
	assert_string_equal(s->top_ips[1].name, "198.51.100.4");
	assert_string_equal(s->top_ips[2].name, "10.0.0.1");
	assert_true(s->requests >= 23);
	assert_true(s->req_peak_min >= 1);
	/* Counters only: nothing for an hour window in the past. */
	assert_int_equal(astats_compute(st, store_now_us() - 7200000000ull, 1,
	    0, 0, s), PG_OK);
	assert_int_equal(s->total, 0);
	store_close(st);
	free(s);
}

/* "Reboot": another boot id beside the volatile environment, which the
 * next store_open then empties. */
static void
reboot(void)
{
	char	 p[4200];
	FILE	*f;

	snprintf(p, sizeof(p), "%s/volatile/boot_id", dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("00000000-0000-0000-0000-000000000000", f);
	fclose(f);
}

struct firstrow {
	uint64_t	 ts, seq;
};

static int
first_row(const struct aquery_row *r, void *arg)
{
	struct firstrow	*f = arg;

	f->ts = r->ts_us;
	f->seq = r->seq;
	return 1;
}

/*
 * The index lives in the volatile environment: a reboot empties it and
 * ascan_ensure_indexed rebuilds it from the log - the same rows, the
 * same counters, the admin's mitigation marks - exactly once however
 * often it runs.  The durable checkpoint of the chain head still shows a
 * tail cut while the machine was down.
 */
static void
t_reindex(void **state)
{
	struct astats *s1 = calloc(1, sizeof(*s1)), *s2 = calloc(1, sizeof(*s2));
	struct ascan_reindex_res r;
	struct ascan_verify v;
	struct aquery_filter f;
	struct firstrow	 fr;
	struct rows	 rows;
	struct store	*st;
	struct json_object *d;
	char		 key[64], lines[40][4096];
	const char	*paths[1] = { logpath };
	size_t		 n;
	int		 mit = 0;

	(void)state;
	st = open_store();
	seed(st);
	rl_records(st, 4);
	/* An admin marks the newest invalid-IP record, as audit.cgi does. */
	aquery_filter_init(&f);
	snprintf(f.type, sizeof(f.type), "webhook_invalid_ip");
	assert_int_equal(aquery_run(st, &f, first_row, &fr, NULL), PG_OK);
	assert_int_equal(aindex_mitigate(st, fr.ts, fr.seq, "blocked"), PG_OK);
	snprintf(key, sizeof(key), "%llu,%03llu:%llu",
	    (unsigned long long)(fr.ts / 1000000),
	    (unsigned long long)(fr.ts / 1000 % 1000),
	    (unsigned long long)fr.seq);
	d = json_object_new_object();
	json_object_object_add(d, "record", json_object_new_string(key));
	json_object_object_add(d, "note", json_object_new_string("blocked"));
	emit(st, AEV_AUDIT_EVENT_MITIGATED, SEV_LOW, 1, "127.0.0.1", "ua", d);
	assert_int_equal(astats_compute(st, 0, 24, 0, 0, s1), PG_OK);
	assert_int_equal(s1->total, 18 + 4 + 1);
	assert_int_equal(aindex_checkpoint(st, 0), PG_OK);
	/* Not again within the gap. */
	emit(st, AEV_WEBHOOK_VALIDATED, SEV_LOW, 1, "10.0.0.1", "ua", NULL);
	assert_int_equal(aindex_checkpoint(st, 60000), PG_OK);
	store_close(st);

	reboot();
	st = open_store();
	assert_int_equal(aindex_count(st), 0);
	assert_int_equal(ascan_ensure_indexed(st, dir, 0, &r), PG_OK);
	assert_true(r.ran);
	assert_int_equal(r.added, 24);
	assert_int_equal(r.lines, 24);
	assert_int_equal(r.skipped, 0);
	assert_int_equal(aindex_count(st), 24);
	assert_int_equal(astats_compute(st, 0, 24, 0, 0, s2), PG_OK);
	assert_int_equal(s2->total, s1->total + 1);
	assert_int_equal(s2->sig_ok, s1->sig_ok + 1);
	assert_int_equal(s2->sig_bad, s1->sig_bad);
	assert_int_equal(s2->invalid_ip, s1->invalid_ip);
	assert_int_equal(s2->rate_limited, 4);
	assert_string_equal(s2->rl_ops[0].name, "customer");
	assert_string_equal(s2->rl_ids[0].name, "tok_a");
	assert_int_equal(s2->rl_ids[0].n, 4);
	assert_string_equal(s2->top_ips[0].name, "192.0.2.7");
	assert_int_equal(s2->top_ips[0].n, 5);
	assert_int_equal(aquery_get(st, fr.ts, fr.seq, check_mit, &mit), PG_OK);
	assert_true(mit);
	/* Marked complete for this boot; a forced rerun adds nothing. */
	assert_int_equal(ascan_ensure_indexed(st, dir, 0, &r), PG_OK);
	assert_false(r.ran);
	assert_int_equal(ascan_reindex(st, NULL, paths, 1, &r), PG_OK);
	assert_int_equal(r.added, 0);
	assert_int_equal(astats_compute(st, 0, 24, 0, 0, s2), PG_OK);
	assert_int_equal(s2->total, s1->total + 1);
	aquery_filter_init(&f);
	memset(&rows, 0, sizeof(rows));
	assert_int_equal(aquery_run(st, &f, collect, &rows, NULL), PG_OK);
	assert_int_equal(rows.n, 24);
	/* New records after the rebuild continue the chain. */
	emit(st, AEV_WEBHOOK_VALIDATED, SEV_LOW, 1, "10.0.0.1", "ua", NULL);
	assert_int_equal(ascan_verify_file(NULL, logpath, st, &v), PG_OK);
	assert_int_equal(v.status, AV_OK);
	assert_int_equal(v.records, 25);
	assert_int_equal(aindex_checkpoint(st, 0), PG_OK);
	store_close(st);

	/* A tail cut while the machine was down: the rebuilt index starts
	 * from the cut file, the durable checkpoint still knows better. */
	n = read_lines(lines, 40);
	assert_int_equal(n, 25);
	write_lines(lines, n - 1, n);
	reboot();
	st = open_store();
	assert_int_equal(ascan_ensure_indexed(st, dir, 0, &r), PG_OK);
	assert_int_equal(r.added, 24);
	assert_int_equal(ascan_verify_file(NULL, logpath, st, &v), PG_OK);
	assert_int_equal(v.status, AV_REMOVED);
	store_close(st);
	free(s1);
	free(s2);
}

/* A rebuild racing live writers counts every record exactly once. */
static void
t_reindex_race(void **state)
{
	struct astats *s = calloc(1, sizeof(*s));
	struct ascan_reindex_res r;
	struct store	*st;
	const char	*paths[1] = { logpath };
	pid_t		 pid;
	int		 i, status;

	(void)state;
	st = open_store();
	for (i = 0; i < 50; i++)
		emit(st, AEV_WEBHOOK_VALIDATED, SEV_LOW, 1, "10.0.0.1", "ua", NULL);
	store_close(st);
	reboot();
	st = open_store();
	store_close(st);
	if ((pid = fork()) == 0) {
		struct store *cst = NULL;
		if (store_open(dir, STORE_NOSYNC, &cst) != PG_OK)
			_exit(1);
		/* Three addresses: each stays under the audit flood bound
		 * (AUDIT_FLOOD_WHOLE per address and minute), so all 300
		 * are kept whole. */
		for (i = 0; i < 300; i++)
			emit(cst, AEV_WEBHOOK_INVALID_IP, SEV_HIGH, 0,
			    i % 3 == 0 ? "192.0.2.9" : i % 3 == 1 ? "192.0.2.10" :
			    "192.0.2.11", "ua", NULL);
		store_close(cst);
		_exit(0);
	}
	st = open_store();
	for (i = 0; i < 20; i++)
		assert_int_equal(ascan_reindex(st, NULL, paths, 1, &r), PG_OK);
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(ascan_reindex(st, NULL, paths, 1, &r), PG_OK);
	assert_int_equal(aindex_count(st), 350);
	assert_int_equal(astats_compute(st, 0, 1, 0, 0, s), PG_OK);
	assert_int_equal(s->total, 350);
	assert_int_equal(s->sig_ok, 50);
	assert_int_equal(s->invalid_ip, 300);
	store_close(st);
	free(s);
}

static void
t_retention(void **state)
{
	struct store	*st;
	struct aquery_filter f;
	struct rows	 r;
	size_t		 n, before;
	int		 ok = 0;

	(void)state;
	st = open_store();
	seed(st);
	aquery_filter_init(&f);
	f.limit = 1;
	memset(&r, 0, sizeof(r));
	aquery_run(st, &f, collect, &r, NULL);
	assert_int_equal(aindex_mitigate(st, r.ts[0], r.seq[0], "blocked"),
	    PG_OK);
	aquery_get(st, r.ts[0], r.seq[0], check_mit, &ok);
	assert_true(ok);
	before = aindex_count(st);
	assert_int_equal(before, 18);
	/* Nothing is older than an hour ago. */
	assert_int_equal(aindex_sweep(st, store_now_us() - 3600000000ull, 16,
	    &n), PG_OK);
	assert_int_equal(n, 0);
	/* Everything is older than two minutes from now (counters are
	 * per minute: a minute goes when all of it is past the cutoff);
	 * small batches. */
	assert_int_equal(aindex_sweep(st, store_now_us() + 120000000, 16, &n),
	    PG_OK);
	assert_int_equal(n, before);
	assert_int_equal(aindex_count(st), 0);
	aquery_filter_init(&f);
	memset(&r, 0, sizeof(r));
	aquery_run(st, &f, collect, &r, NULL);
	assert_int_equal(r.n, 0);
	/* Counters went too. */
	{
		struct astats *s = calloc(1, sizeof(*s));
		astats_compute(st, 0, 24, 0, 0, s);
		assert_int_equal(s->total, 0);
		free(s);
	}
	/* Retention setting: new keys expire after it (1 day here). */
	assert_int_equal(aindex_set_retention(st, 1), PG_OK);
	emit(st, AEV_WEBHOOK_VALIDATED, SEV_LOW, 1, "10.0.0.1", "ua", NULL);
	assert_int_equal(aindex_count(st), 1);
	store_close(st);
}

static void
t_hostile(void **state)
{
	static char	 lines[64][4096];
	struct store	*st;
	struct json_object *d, *o, *v;
	size_t		 n;

	(void)state;
	st = open_store();
	d = json_object_new_object();
	json_object_object_add(d, "note", json_object_new_string(
	    "<img src=x onerror=alert(1)> card 4242 4242 4242 4242"));
	emit(st, AEV_SECURITY_VALIDATION_FAILED, SEV_LOW, 0, "10.0.0.1",
	    "Mozilla\r\n{\"forged\":true}\n<script>", d);
	n = read_lines(lines, 64);
	/* One line, JSON, the CR/LF turned into spaces, the PAN masked. */
	o = json_tokener_parse(lines[n - 1]);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "user_agent", &v));
	assert_string_equal(json_object_get_string(v),
	    "Mozilla  {\"forged\":true} <script>");
	assert_null(strstr(lines[n - 1], "4242 4242 4242 4242"));
	assert_false(json_object_object_get_ex(o, "forged", &v));
	json_object_put(o);
	store_close(st);
}

/* The event table: names map back to their enum (what the rebuild and
 * the stats rely on), and the suspicious-IP rule holds per type. */
static void
t_event_table(void **state)
{
	int	 i, j;

	(void)state;
	for (i = 0; i < AEV__MAX; i++) {
		assert_int_equal(aevent_parse(aevent_name((enum aevent)i)), i);
		for (j = 0; j < i; j++)
			assert_string_not_equal(aevent_name((enum aevent)i),
			    aevent_name((enum aevent)j));
	}
	assert_int_equal(aevent_parse("webhook_validatd"), AEV__MAX);
	assert_int_equal(aevent_parse(NULL), AEV__MAX);
	assert_string_equal(aevent_name(AEV__MAX), "unknown");
	assert_true(aevent_suspicious(AEV_WEBHOOK_REPLAY_DETECTED, 1));
	assert_true(aevent_suspicious(AEV_WEBHOOK_INVALID_IP, 0));
	assert_false(aevent_suspicious(AEV_WEBHOOK_INVALID_IP, 1));
	assert_false(aevent_suspicious(AEV_STORE_FAILURE, 0));
	assert_false(aevent_suspicious(AEV_WEBHOOK_DELIVERY_FAILED, 0));
	assert_true(aevent_suspicious(AEV__MAX, 0));
	assert_int_equal(aevent_metric(AEV_API_RATE_LIMIT_EXCEEDED),
	    AEM_RATE_LIMIT);
	assert_int_equal(aevent_metric(AEV_ADMIN_ACCESS_DENIED), AEM_AUTH);
	assert_int_equal(aevent_metric(AEV__MAX), AEM_NONE);
	assert_true(aevent_is_request(AEV_SECURITY_VALIDATION_FAILED));
	assert_false(aevent_is_request(AEV_ADMIN_ACCESS));
	assert_int_equal(aevent_sev(AEV_WEBHOOK_INVALID_SIGNATURE), SEV_HIGH);
}

static void
t_parse_query(void **state)
{
	struct aquery_filter f;
	unsigned int	 h;
	uint64_t	 now = 100ull * 3600000000ull;

	(void)state;
	assert_int_equal(aquery_parse("hours=2&severity=high&type=webhook_"
	    "invalid_ip&ip=10.0.0.1&before=123-4&x=%3Cy%3E", now, &f, &h),
	    PG_OK);
	assert_int_equal(h, 2);
	assert_int_equal(f.sev, SEV_HIGH);
	assert_string_equal(f.type, "webhook_invalid_ip");
	assert_string_equal(f.ip, "10.0.0.1");
	assert_int_equal(f.before_ts, 123);
	assert_int_equal(f.before_seq, 4);
	assert_int_equal(f.since_us, now - 2 * 3600000000ull);
	assert_int_equal(aquery_parse("", now, &f, &h), PG_OK);
	assert_int_equal(h, 24);
	assert_int_equal(f.sev, -1);
	/* Hostile values are refused, not passed on. */
	assert_int_equal(aquery_parse("type=%3Cscript%3E", now, &f, &h),
	    PG_EINVAL);
	assert_int_equal(aquery_parse("ip=1.2.3.4%0d%0a", now, &f, &h),
	    PG_EINVAL);
	assert_int_equal(aquery_parse("hours=0", now, &f, &h), PG_EINVAL);
	assert_int_equal(aquery_parse("hours=99999", now, &f, &h), PG_EINVAL);
	assert_int_equal(aquery_parse("hours=1x", now, &f, &h), PG_EINVAL);
	assert_int_equal(aquery_parse("severity=urgent", now, &f, &h),
	    PG_EINVAL);
	assert_int_equal(aquery_parse("before=12", now, &f, &h), PG_EINVAL);
	assert_int_equal(aquery_parse("type=a%2", now, &f, &h), PG_EINVAL);
	assert_int_equal(aquery_parse("type=a%00b", now, &f, &h), PG_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(t_chain_verify, setup),
		cmocka_unit_test_setup(t_chain_processes, setup),
		cmocka_unit_test_setup(t_index_queries, setup),
		cmocka_unit_test_setup(t_stats, setup),
		cmocka_unit_test_setup(t_retention, setup),
		cmocka_unit_test_setup(t_reindex, setup),
		cmocka_unit_test_setup(t_reindex_race, setup),
		cmocka_unit_test_setup(t_hostile, setup),
		cmocka_unit_test_setup(t_event_table, setup),
		cmocka_unit_test_setup(t_parse_query, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
