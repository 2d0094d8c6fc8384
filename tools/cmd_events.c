/*
 * payguard CLI - events backfill: recover events Stripe gave up sending.
 *
 *   payguard events backfill --since TIME [--until TIME] [--types a,b]
 *                            [--dry-run]
 *
 * parse the options -> list and feed the inbox (lib/backfill.c) ->
 * deliver what is new when the site delivers synchronously (a queue
 * site's worker picks it up) -> summary on stdout, one audit record.
 * Progress goes to stderr when it is a terminal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "audit.h"
#include "backfill.h"
#include "cli.h"
#include "deliver.h"
#include "log.h"
#include "stripe.h"

#define USAGE	"usage: payguard events backfill --since TIME [--until TIME] " \
		"[--types a,b] [--dry-run]\n" \
		"  TIME: unix seconds, 3d / 12h / 30m ago, or UTC " \
		"YYYY-MM-DD[THH:MM[:SS]Z]\n"

static void
progress(const struct backfill_res *r, void *arg)
{
	(void)arg;
	fprintf(stderr, "\rbackfill: page %llu, listed %llu, new %llu, "
	    "already present %llu", (unsigned long long)r->pages,
	    (unsigned long long)r->listed, (unsigned long long)r->added,
	    (unsigned long long)r->present);
	fflush(stderr);
}

static void
fmt_time(int64_t t, char *out, size_t n)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, n, "%lld", (long long)t);
}

/* The run's audit record: what was asked, what happened. */
static void
audit_run(const struct audit_ctx *actx, const struct backfill_opts *o,
    const struct backfill_res *r, enum pg_err e, size_t done, size_t failed)
{
	struct json_object *d = json_object_new_object();
	char		 t[32];

	fmt_time(r->since, t, sizeof(t));
	json_object_object_add(d, "since", json_object_new_string(t));
	fmt_time(r->until, t, sizeof(t));
	json_object_object_add(d, "until", json_object_new_string(t));
	json_object_object_add(d, "types",
	    json_object_new_string(o->types ? o->types : "all"));
	json_object_object_add(d, "dry_run", json_object_new_boolean(o->dry_run));
	json_object_object_add(d, "resumed", json_object_new_boolean(r->resumed));
	json_object_object_add(d, "pages", json_object_new_int64((int64_t)r->pages));
	json_object_object_add(d, "listed", json_object_new_int64((int64_t)r->listed));
	json_object_object_add(d, "new", json_object_new_int64((int64_t)r->added));
	json_object_object_add(d, "present",
	    json_object_new_int64((int64_t)r->present));
	json_object_object_add(d, "refused",
	    json_object_new_int64((int64_t)r->refused));
	json_object_object_add(d, "delivered", json_object_new_int64((int64_t)done));
	json_object_object_add(d, "delivery_failed",
	    json_object_new_int64((int64_t)failed));
	json_object_object_add(d, "outcome", json_object_new_string(e == PG_OK ?
	    "complete" : "interrupted"));
	if (e != PG_OK)
		json_object_object_add(d, "error", json_object_new_string(
		    r->error[0] ? r->error : pg_strerror(e)));
	(void)audit_event(actx, AEV_EVENTS_BACKFILL, e == PG_OK ? SEV_LOW :
	    SEV_MEDIUM, e == PG_OK, "events", d, NULL);
}

static int
backfill(int argc, char **argv, const struct config *cfg)
{
	struct backfill_opts o;
	struct backfill_res r;
	struct audit_ctx actx;
	struct audit_log alog;
	struct stripe_client *sc = NULL;
	struct store	*st = NULL;
	struct keyring	 ring;
	struct cli_author au;
	const char	*since = NULL, *until = NULL;
	char		 a[32], b[32];
	size_t		 done = 0, failed = 0;
	int64_t		 now = (int64_t)time(NULL);
	int		 i, rc = 1, tty = isatty(STDERR_FILENO);
	enum pg_err	 e;

	memset(&o, 0, sizeof(o));
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--since") == 0 && i + 1 < argc)
			since = argv[++i];
		else if (strcmp(argv[i], "--until") == 0 && i + 1 < argc)
			until = argv[++i];
		else if (strcmp(argv[i], "--types") == 0 && i + 1 < argc)
			o.types = argv[++i];
		else if (strcmp(argv[i], "--dry-run") == 0)
			o.dry_run = 1;
		else {
			fprintf(stderr, USAGE);
			return 2;
		}
	}
	if (since == NULL || backfill_parse_time(since, now, &o.since) != PG_OK) {
		fprintf(stderr, "events backfill: --since needs a TIME\n" USAGE);
		return 2;
	}
	if (until != NULL && (backfill_parse_time(until, now, &o.until) !=
	    PG_OK || o.until <= 0)) {
		fprintf(stderr, "events backfill: --until needs a TIME\n" USAGE);
		return 2;
	}
	if (o.since > (o.until ? o.until : now)) {
		fprintf(stderr, "events backfill: --since is after --until\n");
		return 2;
	}
	if (o.types != NULL && backfill_check_types(o.types) != PG_OK) {
		fprintf(stderr, "events backfill: --types takes 1 to %d event "
		    "types separated by commas (e.g. invoice.paid,customer.*)\n",
		    BACKFILL_TYPES_MAX);
		return 2;
	}
	if (cfg->stripe_key == NULL || cfg->api_base == NULL) {
		fprintf(stderr, "events backfill: STRIPE_SECRET_KEY is not "
		    "configured\n");
		return 1;
	}
	if (cli_open_state(cfg, &st, &ring) < 0)
		return 1;
	if (stripe_client_new(cfg, &sc) != PG_OK) {
		fprintf(stderr, "events backfill: cannot set up the HTTP client\n");
		goto out;
	}
	audit_log_init(&alog);
	cli_audit_ctx(cfg, st, &alog, NULL, &au, &actx);
	o.actx = &actx;
	if (tty)
		o.progress = progress;
	e = backfill_run(st, &ring, cfg, sc, &o, &r);
	if (tty && r.pages > 0)
		fputc('\n', stderr);
	if (r.resumed)
		printf("resumed after %s (a run for the same range stopped "
		    "there)\n", r.resumed_after[0] ? r.resumed_after :
		    "the start");
	fmt_time(r.since, a, sizeof(a));
	fmt_time(r.until, b, sizeof(b));
	printf("%s %s .. %s%s%s: listed %llu, %s %llu, already present %llu, "
	    "refused %llu\n", o.dry_run ? "dry run:" : "backfill:", a, b,
	    o.types ? " types " : "", o.types ? o.types : "",
	    (unsigned long long)r.listed, o.dry_run ? "would add" : "new",
	    (unsigned long long)r.added, (unsigned long long)r.present,
	    (unsigned long long)r.refused);
	/* What a run stored is delivered even if it stopped half-way. */
	if (!o.dry_run && r.added > 0) {
		if (cfg->wh_delivery == DELIVERY_SYNC) {
			if (deliver_due(st, &ring, cfg, 0, &done, &failed) != PG_OK)
				fprintf(stderr, "events backfill: delivery "
				    "stopped early\n");
			printf("delivered %zu, failed %zu (failed ones are "
			    "retried by `payguard inbox drain`)\n", done, failed);
		} else
			printf("the new events are queued for `payguard worker`"
			    " / `payguard inbox drain`\n");
	}
	if (e != PG_OK) {
		fprintf(stderr, "events backfill: stopped: %s\n", r.error[0] ?
		    r.error : pg_strerror(e));
		if (!o.dry_run)
			fprintf(stderr, "events backfill: run the same command "
			    "again to carry on where it stopped\n");
	}
	audit_run(&actx, &o, &r, e, done, failed);
	audit_log_close(&alog);
	rc = e == PG_OK ? 0 : 1;
out:
	stripe_client_free(sc);
	store_close(st);
	keyring_wipe(&ring);
	return rc;
}

int
cmd_events(int argc, char **argv, const struct config *cfg)
{
	if (argc >= 2 && strcmp(argv[1], "backfill") == 0)
		return backfill(argc, argv, cfg);
	fprintf(stderr, USAGE);
	return 2;
}
