/*
 * payguard CLI - audit commands:
 *
 *   payguard audit [--hours N] [--severity S] [--type T] [--ip IP]
 *                  [--limit N] [--json|--csv]     records, newest first
 *   payguard audit stats [--hours N] [--json]     the metrics (astats.h)
 *   payguard audit verify [--file F]              walk the hash chain
 *   payguard audit sweep                          apply the retention now
 *   payguard audit reindex [--file F]...          rebuild the index
 *   payguard alerts [--json]                      exit 2 when one fired
 *
 * Queries and metrics read the index (aquery.h, astats.h), first rebuilding
 * it from the log if a reboot emptied it; verify reads the log file.
 * Exit status: 0 ok, 1 failure (verify: chain broken), 2 usage error
 * (alerts: an alert fired).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "alert.h"
#include "audit.h"
#include "aindex.h"
#include "aout.h"
#include "aquery.h"
#include "ascan.h"
#include "astats.h"
#include "auditpend.h"
#include "cli.h"
#include "inbox.h"
#include "log.h"
#include "store.h"
#include "store_redis.h"

enum fmt { FMT_TEXT, FMT_JSON, FMT_CSV };

struct out {
	enum fmt	 fmt;
	size_t		 n;
	struct buf	 b;
};

/* The store as the programs open it: with PAYGUARD_STORE=redis the
 * shared index (every node's records) is what the audit commands read. */
static int
open_store(const struct config *cfg, unsigned int flags, struct store **st)
{
	char		 err[256];

	if (cfg->state_dir == NULL) {
		fprintf(stderr, "audit: PAYGUARD_STATE_DIR is not set\n");
		return -1;
	}
	if (store_open_config(cfg, flags, st, err, sizeof(err)) != PG_OK) {
		fprintf(stderr, "audit: cannot open the store in %s: %s\n",
		    cfg->state_dir, err);
		return -1;
	}
	return 0;
}

/*
 * The store with a complete index: after a reboot emptied the volatile
 * environment, the index is rebuilt from the log first.  Without write
 * access the store is read as it is.
 */
static int
open_index(const struct config *cfg, struct store **st)
{
	struct ascan_reindex_res r;
	char		 err[256];
	enum pg_err	 e;

	if (cfg->state_dir == NULL ||
	    store_open_config(cfg, 0, st, err, sizeof(err)) != PG_OK)
		return open_store(cfg, STORE_RDONLY, st);
	if ((e = ascan_ensure_indexed(*st, cfg->state_dir, 0, &r)) != PG_OK)
		fprintf(stderr, "audit: rebuilding the index failed: %s\n",
		    pg_strerror(e));
	else if (r.ran)
		fprintf(stderr, "audit: index rebuilt from the log: %" PRIu64
		    " record(s) added\n", r.added);
	return 0;
}

/* A string field of a record for the table: "-" when absent. */
static const char *
jstr(struct json_object *o, const char *k)
{
	const char	*s = arecord_get(o, k, 0);

	return s != NULL ? s : "-";
}
static int
print_row(const struct aquery_row *row, void *arg)
{
	struct out		*o = arg;
	struct json_object	*j;

	if (o->fmt == FMT_CSV) {
		buf_reset(&o->b);
		if (aout_csv_row(&o->b, row) == PG_OK)
			fwrite(o->b.data, 1, o->b.len, stdout);
	} else if ((j = aout_row_json(row)) != NULL) {
		if (o->fmt == FMT_JSON)
			printf("%s%s", o->n ? ",\n" : "",
			    json_object_to_json_string_ext(j,
			    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		else
			printf("%s  %-8s %-30s %-15s %-12s %-10s %-7s %s%s\n",
			    jstr(j, "timestamp"), aevent_sev_name(row->sev),
			    jstr(j, "event_type"), jstr(j, "source_ip"),
			    jstr(j, "identity"), row->node[0] != '\0' ?
			    row->node : "-", jstr(j, "outcome"),
			    jstr(j, "resource"), row->mitigated ?
			    "  [mitigated]" : "");
		json_object_put(j);
	}
	o->n++;
	return 0;
}

static int
usage_audit(void)
{
	fprintf(stderr, "usage: payguard audit [--hours N] [--severity S] "
	    "[--type T] [--ip IP] [--node N] [--limit N] [--json|--csv]\n"
	    "       payguard audit stats [--hours N] [--json]\n"
	    "       payguard audit verify [--file F]\n"
	    "       payguard audit sweep\n"
	    "       payguard audit reindex [--file F]...\n");
	return 2;
}

/* Builds the same query string the admin page takes, then parses it
 * with the one validating parser. */
static int
query_args(int argc, char **argv, struct aquery_filter *f, enum fmt *fmt,
    unsigned int *hours)
{
	struct buf	 qs;
	char		*ep;
	unsigned long	 limit = 0;
	int		 i, rc = -1;

	buf_init(&qs, 4096);
	buf_puts(&qs, "");
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *k = NULL;
		if (strcmp(a, "--json") == 0)
			*fmt = FMT_JSON;
		else if (strcmp(a, "--csv") == 0)
			*fmt = FMT_CSV;
		else if (strcmp(a, "--hours") == 0)
			k = "hours";
		else if (strcmp(a, "--severity") == 0)
			k = "severity";
		else if (strcmp(a, "--type") == 0)
			k = "type";
		else if (strcmp(a, "--ip") == 0)
			k = "ip";
		else if (strcmp(a, "--node") == 0)
			k = "node";
		else if (strcmp(a, "--limit") == 0 && i + 1 < argc) {
			limit = strtoul(argv[++i], &ep, 10);
			if (*ep != '\0' || limit == 0 || limit > AQUERY_LIMIT_MAX)
				goto out;
		} else
			goto out;
		if (k == NULL)
			continue;
		if (i + 1 >= argc || strpbrk(argv[i + 1], "&=%+") != NULL)
			goto out;
		buf_printf(&qs, "%s=%s&", k, argv[++i]);
	}
	if (aquery_parse(qs.data, store_now_us(), f, hours) != PG_OK)
		goto out;
	f->limit = limit;
	rc = 0;
out:
	buf_free(&qs);
	return rc;
}

static int
audit_query(int argc, char **argv, const struct config *cfg)
{
	struct aquery_filter f;
	struct store	*st = NULL;
	struct out	 o;
	unsigned int	 hours;
	int		 more = 0, rc = 1;
	enum pg_err	 e;

	memset(&o, 0, sizeof(o));
	buf_init(&o.b, 1u << 20);
	if (query_args(argc, argv, &f, &o.fmt, &hours) != 0) {
		rc = usage_audit();
		goto out;
	}
	if (open_index(cfg, &st) != 0)
		goto out;
	if (o.fmt == FMT_JSON)
		printf("[");
	else if (o.fmt == FMT_CSV) {
		aout_csv_header(&o.b);
		fwrite(o.b.data, 1, o.b.len, stdout);
	}
	if ((e = aquery_run(st, &f, print_row, &o, &more)) != PG_OK) {
		fprintf(stderr, "audit: query failed: %s\n", pg_strerror(e));
		goto out;
	}
	if (o.fmt == FMT_JSON)
		printf("]\n");
	else if (o.fmt == FMT_TEXT)
		fprintf(stderr, "%zu record(s) in the last %u hour(s)%s\n", o.n,
		    hours, more ? " (limit reached; use --limit)" : "");
	rc = 0;
out:
	buf_free(&o.b);
	store_close(st);
	return rc;
}

static void
print_counts(const char *title, const struct astats_count *c, size_t n)
{
	size_t	 i;

	printf("%s:%s\n", title, n == 0 ? " none" : "");
	for (i = 0; i < n; i++)
		printf("  %-40s %" PRIu64 "\n", c[i].name, c[i].n);
}

static void
print_stats(const struct astats *s)
{
	int	 j;

	printf("window: last %zu hour(s)\n", s->nhours);
	printf("events: %" PRIu64 "\n", s->total);
	for (j = 0; j < SEV__MAX; j++)
		printf("  %-8s %" PRIu64 "\n", aevent_sev_name((enum audit_sev)j),
		    s->by_sev[j]);
	if (s->sig_rate < 0)
		printf("signature verification success rate: n/a\n");
	else
		printf("signature verification success rate: %.1f%% (%" PRIu64
		    " valid, %" PRIu64 " invalid)\n", s->sig_rate, s->sig_ok,
		    s->sig_bad);
	printf("invalid IP attempts: %" PRIu64 "\n", s->invalid_ip);
	printf("replay attempts: %" PRIu64 "\n", s->replay);
	printf("payload validation failures: %" PRIu64 "\n", s->payload_bad);
	printf("rate-limit violations: %" PRIu64 "\n", s->rate_limited);
	print_counts("rate-limit violations by operation", s->rl_ops, s->nrl_ops);
	print_counts("rate-limit violations by identity", s->rl_ids, s->nrl_ids);
	printf("requests per minute: average %.2f, peak %" PRIu64 "\n",
	    s->req_avg_min, s->req_peak_min);
	print_counts("most active suspicious IPs", s->top_ips, s->ntop_ips);
	printf("inbox backlog: %" PRIu64 "\n", s->backlog);
	if (s->oldest_pending_ms > 0)
		printf("oldest pending event: %" PRIu64 " s old\n",
		    (store_now_ms() - s->oldest_pending_ms) / 1000);
	else
		printf("oldest pending event: none\n");
}

static int
audit_stats(int argc, char **argv, const struct config *cfg)
{
	struct astats *s = NULL;
	struct json_object *j;
	struct store	*st = NULL;
	unsigned long	 hours = 24;
	char		*ep, err[256];
	int		 i, json = 0, rc = 1;
	uint64_t	 backlog, oldest;
	enum pg_err	 e;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--hours") == 0 && i + 1 < argc) {
			hours = strtoul(argv[++i], &ep, 10);
			if (*ep != '\0' || hours == 0 || hours > AINDEX_HOURS_MAX)
				return usage_audit();
		} else
			return usage_audit();
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto out;
	if (open_index(cfg, &st) != 0)
		goto out;
	/* The backlog of the shared inbox under PAYGUARD_STORE=redis. */
	if (cli_attach_shared(cfg, st, err, sizeof(err)) != 0) {
		fprintf(stderr, "audit: stats: %s\n", err);
		goto out;
	}
	if ((e = inbox_backlog(st, &backlog, &oldest)) != PG_OK ||
	    (e = astats_compute(st, 0, (unsigned int)hours, backlog, oldest,
	    s)) != PG_OK) {
		fprintf(stderr, "audit: stats failed: %s\n", pg_strerror(e));
		goto out;
	}
	if (json) {
		j = aout_stats_json(s);
		printf("%s\n", json_object_to_json_string_ext(j,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(j);
	} else
		print_stats(s);
	rc = 0;
out:
	free(s);
	store_close(st);
	return rc;
}

/*
 * Appends the accept records that killed processes still owed (exactly
 * once; auditpend.h) before the chain is verified, so they are in it.
 */
static void
settle_pending(const struct config *cfg)
{
	struct audit_ctx actx;
	struct audit_log alog;
	struct auditpend_res r;
	struct store	*st = NULL;
	struct keyring	 ring;
	enum pg_err	 e;

	if (cli_open_state(cfg, &st, &ring) < 0)
		return;
	audit_log_init(&alog);
	cli_audit_ctx(cfg, st, &alog, "payguard-recovery", NULL, &actx);
	if ((e = auditpend_settle(st, &ring, cfg, &actx, 0, &r)) != PG_OK)
		fprintf(stderr, "audit verify: pending accept records: %s\n",
		    pg_strerror(e));
	else if (r.seen > 0)
		printf("pending accept records: %zu appended, %zu already "
		    "recorded, %zu still being written\n", r.appended,
		    r.confirmed, r.waiting);
	audit_log_close(&alog);
	store_close(st);
	keyring_wipe(&ring);
}

static int
audit_verify(int argc, char **argv, const struct config *cfg)
{
	struct ascan_verify v;
	struct store	*st = NULL;
	char		 path[4096];
	const char	*file = NULL;
	int		 i, rc = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
			file = argv[++i];
		else
			return usage_audit();
	}
	if (file == NULL) {
		if (cfg->state_dir == NULL) {
			fprintf(stderr, "audit: PAYGUARD_STATE_DIR is not set\n");
			return 1;
		}
		if (audit_log_path(cfg->state_dir, path, sizeof(path)) != 0) {
			fprintf(stderr, "audit: PAYGUARD_STATE_DIR is too long\n");
			return 1;
		}
		file = path;
		settle_pending(cfg);
		/* The store's head only describes the current log file. */
		if (open_store(cfg, STORE_RDONLY, &st) != 0)
			st = NULL;
	}
	if (ascan_verify_file(cfg->state_dir, file, st, &v) != PG_OK) {
		fprintf(stderr, "audit verify: cannot read %s\n", file);
		goto out;
	}
	if (v.status == AV_OK) {
		printf("OK: %s%s\n", v.msg, v.legacy ? " (after unchained "
		    "records from before the chain)" : "");
		rc = 0;
	} else
		printf("FAILED: %s: %s%s%s\n", ascan_vstatus_name(v.status),
		    v.msg, v.event_id[0] ? "; event_id " : "", v.event_id);
out:
	store_close(st);
	return rc;
}

static int
audit_sweep(const struct config *cfg)
{
	struct store	*st = NULL;
	uint64_t	 days = cfg->audit_retention_days ? cfg->audit_retention_days :
	    CFG_RETENTION_DAYS;
	size_t		 n = 0;
	enum pg_err	 e;
	int		 rc = 1;

	if (open_store(cfg, 0, &st) != 0)
		return 1;
	{
		struct audit_ctx ac = { cfg->state_dir, "", "", "",
		    "payguard", st, NULL, cfg };

		/* The summaries of floods that are over (audit.h). */
		if ((e = audit_flood_flush(&ac)) != PG_OK)
			fprintf(stderr, "audit sweep: flood summaries: %s\n",
			    pg_strerror(e));
	}
	if ((e = aindex_set_retention(st, (uint32_t)days)) != PG_OK ||
	    (e = aindex_sweep(st, store_now_us() - days * 24 * AINDEX_HOUR_US, 5000,
	    &n)) != PG_OK)
		fprintf(stderr, "audit sweep: %s\n", pg_strerror(e));
	else {
		printf("swept %zu index record(s) older than %" PRIu64
		    " day(s); the log file is kept (rotate it with logrotate)\n",
		    n, days);
		rc = 0;
	}
	store_close(st);
	return rc;
}

/* Rebuilds the index from the given files (oldest first) or from the
 * state directory's log and its ".1" rotation. */
static int
audit_reindex(int argc, char **argv, const struct config *cfg)
{
	struct ascan_reindex_res r;
	struct store	*st = NULL;
	const char	*paths[64];
	size_t		 n = 0;
	int		 i, rc = 1;
	enum pg_err	 e;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--file") != 0 || i + 1 >= argc ||
		    n == sizeof(paths) / sizeof(paths[0]))
			return usage_audit();
		paths[n++] = argv[++i];
	}
	if (open_store(cfg, 0, &st) != 0)
		return 1;
	e = n > 0 ? ascan_reindex(st, cfg->state_dir, paths, n, &r) :
	    ascan_ensure_indexed(st, cfg->state_dir, 1, &r);
	if (e != PG_OK)
		fprintf(stderr, "audit reindex: %s\n", pg_strerror(e));
	else {
		printf("read %" PRIu64 " line(s) from %" PRIu64 " file(s): %"
		    PRIu64 " record(s) added, %" PRIu64 " past the retention, %"
		    PRIu64 " not chained records\n", r.lines, r.files, r.added,
		    r.expired, r.skipped);
		if (store_shared(st) != NULL)
			printf("shared index (Redis): %" PRIu64 " record(s) "
			    "added\n", r.shared_added);
		rc = 0;
	}
	store_close(st);
	return rc;
}

int
cmd_audit(int argc, char **argv, const struct config *cfg)
{
	if (argc >= 2 && strcmp(argv[1], "reindex") == 0)
		return audit_reindex(argc - 1, argv + 1, cfg);
	if (argc >= 2 && strcmp(argv[1], "stats") == 0)
		return audit_stats(argc - 1, argv + 1, cfg);
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return audit_verify(argc - 1, argv + 1, cfg);
	if (argc == 2 && strcmp(argv[1], "sweep") == 0)
		return audit_sweep(cfg);
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0))
		return usage_audit();
	return audit_query(argc - 1, argv + 1, cfg);
}

int
cmd_alerts(int argc, char **argv, const struct config *cfg)
{
	struct astats *s = NULL;
	struct alert_cfg ac;
	struct alert_result r;
	struct json_object *j = NULL;
	struct store	*st = NULL;
	const char	*js;
	char		 err[160];
	size_t		 i;
	int		 json = 0, rc = 1;
	enum pg_err	 e;

	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else {
			fprintf(stderr, "usage: payguard alerts [--json]\n");
			return 1;
		}
	}
	if (alert_config(cfg->alert_thresholds, &ac, err, sizeof(err)) != PG_OK) {
		fprintf(stderr, "alerts: %s\n", err);
		return 1;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto out;
	if (open_index(cfg, &st) != 0)
		goto out;
	if ((e = astats_compute(st, 0, 1, 0, 0, s)) != PG_OK) {
		fprintf(stderr, "alerts: %s\n", pg_strerror(e));
		goto out;
	}
	alert_eval(&ac, s, &r);
	if ((j = alert_json(&ac, &r)) == NULL)
		goto out;
	js = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (json)
		printf("%s\n", js);
	else if (r.nfired == 0)
		printf("no alert in the last hour\n");
	for (i = 0; !json && i < AL__MAX; i++)
		if (r.fired[i])
			printf("ALERT %s: %s: %" PRIu64 " in the last hour "
			    "(threshold %" PRIu64 ")%s%s\n",
			    alert_name((enum alert_kind)i),
			    alert_title((enum alert_kind)i), r.value[i],
			    ac.threshold[i], i == AL_IDENTITY_RL ? ", identity " : "",
			    i == AL_IDENTITY_RL ? r.who : "");
	if (r.nfired > 0 && cfg->alert_command != NULL &&
	    alert_notify(cfg->alert_command, js, strlen(js), 30) != PG_OK)
		fprintf(stderr, "alerts: PAYGUARD_ALERT_COMMAND failed\n");
	/* 2 tells cron or a monitor that something fired. */
	rc = r.nfired > 0 ? 2 : 0;
out:
	json_object_put(j);
	free(s);
	store_close(st);
	return rc;
}
