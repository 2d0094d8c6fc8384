/*
 * payguard CLI - the store between its backends:
 *
 *   payguard store migrate --to redis|lmdb
 *
 * --to redis copies this node's LMDB state (tokens, the inbox with its
 * delivery state, idempotency records) into the Redis that REDIS_URL (or
 * the sentinels) names, whatever PAYGUARD_STORE says; --to lmdb the other
 * way.  Resumable, verified by counts (lib/migrate.h); one audit record
 * per run (store_migrated), in this node's log.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "migrate.h"
#include "store_redis.h"

struct mig_progress {
	size_t		 next;		/* next count worth reporting */
#ifdef PG_FAULTS
	size_t		 kill_at;	/* PAYGUARD_FAULT=migrate_kill:N */
#endif
};

static void
progress(enum migrate_kind k, size_t done, void *arg)
{
	struct mig_progress *p = arg;

#ifdef PG_FAULTS
	/* A test build dies here, as a SIGKILL mid-run would. */
	if (p->kill_at != 0 && done == p->kill_at)
		raise(SIGKILL);
#endif
	if (done < p->next)
		return;
	fprintf(stderr, "store migrate: %zu record(s) copied (now: %s)\n",
	    done, migrate_kind_name(k));
	p->next = done + 1000;
}

static struct json_object *
report_json(const char *to, const struct migrate_report *rep, enum pg_err e)
{
	struct json_object *d = json_object_new_object(), *o;
	const struct migrate_count *c;
	int		 k;

	json_object_object_add(d, "to", json_object_new_string(to));
	for (k = 0; k < MIG__N; k++) {
		c = &rep->k[k];
		o = json_object_new_object();
		json_object_object_add(o, "source",
		    json_object_new_int64((int64_t)c->source));
		json_object_object_add(o, "copied",
		    json_object_new_int64((int64_t)c->copied));
		json_object_object_add(o, "already_there",
		    json_object_new_int64((int64_t)c->present));
		json_object_object_add(o, "verified",
		    json_object_new_int64((int64_t)c->verified));
		json_object_object_add(o, "skipped",
		    json_object_new_int64((int64_t)c->skipped));
		json_object_object_add(d,
		    migrate_kind_name((enum migrate_kind)k), o);
	}
	json_object_object_add(d, "outcome", json_object_new_string(
	    e == PG_OK ? "complete" : e == PG_CONFLICT ? "incomplete" :
	    "failed"));
	if (e != PG_OK && e != PG_CONFLICT)
		json_object_object_add(d, "error",
		    json_object_new_string(pg_strerror(e)));
	return d;
}

static int
store_migrate(int argc, char **argv, const struct config *cfg)
{
	struct migrate_report rep;
	struct mig_progress p;
	struct audit_ctx actx;
	struct cli_author au;
	struct keyring	 ring;
	struct store	*st = NULL;
	struct rstore	*rs = NULL;
	const struct migrate_count *c;
	const char	*to = NULL;
	char		 err[256];
	int		 i, k, rc = 1;
	enum pg_err	 e;

	memset(&ring, 0, sizeof(ring));
	memset(&p, 0, sizeof(p));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else {
			to = NULL;	/* anything else: usage */
			break;
		}
	}
	if (to == NULL || (strcmp(to, "redis") != 0 &&
	    strcmp(to, "lmdb") != 0)) {
		fprintf(stderr, "usage: payguard store migrate --to "
		    "redis|lmdb\n");
		return 2;
	}
	p.next = 1000;
#ifdef PG_FAULTS
	if (getenv("PAYGUARD_FAULT") != NULL &&
	    strncmp(getenv("PAYGUARD_FAULT"), "migrate_kill:", 13) == 0)
		p.kill_at = strtoul(getenv("PAYGUARD_FAULT") + 13, NULL, 10);
#endif
	if (cfg->state_dir == NULL) {
		fprintf(stderr, "payguard: store migrate: PAYGUARD_STATE_DIR "
		    "is not set\n");
		goto out;
	}
	if ((e = keyring_load(cfg->enc_keys, cfg->state_dir, &ring)) != PG_OK) {
		fprintf(stderr, "payguard: encryption key: %s\n",
		    pg_strerror(e));
		goto out;
	}
	if ((e = store_open(cfg->state_dir, cfg->sync ? 0 : STORE_NOSYNC,
	    &st)) != PG_OK) {
		fprintf(stderr, "payguard: store migrate: cannot open the store "
		    "in %s: %s\n", cfg->state_dir, pg_strerror(e));
		goto out;
	}
	if (rstore_open(cfg, &rs, err, sizeof(err)) != PG_OK) {
		fprintf(stderr, "payguard: store migrate: %s\n", err);
		goto out;
	}
	e = migrate_run(st, rs, &ring, strcmp(to, "redis") == 0, progress, &p,
	    &rep);
	for (k = 0; k < MIG__N; k++) {
		c = &rep.k[k];
		printf("%-12s %zu in the source, %zu of them in the destination "
		    "(copied now %zu, already there %zu)", migrate_kind_name(
		    (enum migrate_kind)k), c->source, c->verified, c->copied,
		    c->present);
		if (c->skipped > 0)
			printf("; %zu skipped: written by a version that did "
			    "not keep their key", c->skipped);
		printf("\n");
	}
	if (e == PG_OK)
		printf("store migrate --to %s: complete, every record "
		    "verified\n", to);
	else if (e == PG_CONFLICT)
		fprintf(stderr, "payguard: store migrate --to %s: the "
		    "destination lacks records the source has (it changed "
		    "during the run?): run it again\n", to);
	else
		fprintf(stderr, "payguard: store migrate --to %s: %s; what "
		    "was copied stays, run it again to resume\n", to,
		    pg_strerror(e));
	cli_audit_ctx(cfg, st, NULL, NULL, &au, &actx);
	if (audit_event(&actx, AEV_STORE_MIGRATED, e == PG_OK ? SEV_LOW :
	    SEV_MEDIUM, e == PG_OK, "store", report_json(to, &rep, e),
	    NULL) != PG_OK)
		fprintf(stderr, "payguard: store migrate: could not write the "
		    "audit record\n");
	rc = e == PG_OK ? 0 : 1;
out:
	rstore_close(rs);
	store_close(st);
	keyring_wipe(&ring);
	return rc;
}

int
cmd_store(int argc, char **argv, const struct config *cfg)
{
	if (argc >= 2 && strcmp(argv[1], "migrate") == 0)
		return store_migrate(argc - 1, argv + 1, cfg);
	fprintf(stderr, "usage: payguard store migrate --to redis|lmdb\n");
	return 2;
}
