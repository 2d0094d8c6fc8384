/*
 * payguard - the admin CLI.
 *
 *   payguard sign --secret S [--timestamp T] < payload
 *   payguard inbox list [--json] | show ID | retry ID | purge [--dead|--all]
 *   payguard inbox drain        deliver what is due, then exit (cron)
 *   payguard worker             deliver forever (long-running)
 *   payguard config check       effective configuration, secrets masked
 *   payguard keygen | encrypt [--key K] | decrypt [--ttl N] | rotate-keys
 *   payguard mask card|card_bin|email|secret|auto|text VALUE
 *   payguard events backfill --since TIME [--until TIME] [--types a,b] [--dry-run]
 *   payguard metrics            Prometheus text exposition
 *   payguard token create --name N --scope read|write [--ops a,b] | list | revoke N
 *   payguard store migrate --to redis|lmdb
 *
 * Configuration comes from the same environment / PAYGUARD_CONFIG file as
 * the FastCGI programs.  Commands that only transform stdin do not need a
 * valid configuration.
 */
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "harden.h"
#include "log.h"
#include "store_redis.h"

struct command {
	const char	*name;
	cli_fn		 fn;
	const char	*usage;
};

static const struct command commands[] = {
	{ "sign", cmd_sign, "sign --secret S [--timestamp T] < payload" },
	{ "inbox", cmd_inbox, "inbox list [--json] | show ID | retry ID | purge [--dead|--all] | drain" },
	{ "worker", cmd_worker, "worker [--once] [--interval SECONDS]" },
	{ "config", cmd_config, "config check" },
	{ "forward-secret", cmd_forward_secret, "forward-secret   (a new PAYGUARD_FORWARD_SECRET)" },
	/* cmd_crypto.c */
	{ "keygen", cmd_keygen, "keygen" },
	{ "encrypt", cmd_encrypt, "encrypt [--key K | --key-file F] < plain > token" },
	{ "decrypt", cmd_decrypt, "decrypt [--key K | --key-file F] [--ttl N] < token > plain" },
	{ "rotate-keys", cmd_rotate_keys, "rotate-keys [--batch N]" },
	{ "mask", cmd_mask, "mask card|card_bin|email|secret|auto|text VALUE" },
	{ "token", cmd_token, "token create --name NAME --scope read|write [--ops a,b] | list [--json] | revoke NAME" },
	/* cmd_events.c */
	{ "events", cmd_events, "events backfill --since TIME [--until TIME] [--types a,b] [--dry-run]" },
	/* cmd_metrics.c */
	{ "metrics", cmd_metrics, "metrics   (Prometheus text format)" },
	/* cmd_audit.c */
	{ "audit", cmd_audit, "audit [--hours N] [--severity S] [--type T] [--ip IP] [--json|--csv] | stats [--hours N] [--json] | verify [--file F] | sweep | reindex [--file F]..." },
	{ "alerts", cmd_alerts, "alerts [--json]   (exit 2 when an alert fired)" },
	/* cmd_ips.c, cmd_doctor.c */
	{ "ips", cmd_ips, "ips update [--url U] [--file F] [--force] | show" },
	{ "doctor", cmd_doctor, "doctor [--json]   (exit 0 healthy, 1 warnings, 2 problems)" },
	/* cmd_store.c */
	{ "store", cmd_store, "store migrate --to redis|lmdb   (copy the shared state between the backends)" },
	/* COMMANDS-END (new command groups are added above this line) */
};

static void
usage(void)
{
	size_t	 i;

	fprintf(stderr, "usage:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, "  payguard %s\n", commands[i].usage);
	exit(2);
}

int
cli_open_state(const struct config *cfg, struct store **st,
    struct keyring *ring)
{
	char		 err[256];
	enum pg_err	 e;

	if ((e = keyring_load(cfg->enc_keys, cfg->state_dir, ring)) != PG_OK) {
		fprintf(stderr, "payguard: encryption key: %s\n", pg_strerror(e));
		return -1;
	}
	/* PAYGUARD_STORE=redis: the shared store, as the programs use it. */
	if (store_open_config(cfg, cfg->sync ? 0 : STORE_NOSYNC, st, err,
	    sizeof(err)) != PG_OK) {
		fprintf(stderr, "payguard: cannot open the store: %s\n", err);
		keyring_wipe(ring);
		return -1;
	}
	return 0;
}

int
cli_attach_shared(const struct config *cfg, struct store *st, char *err,
    size_t errsz)
{
	struct rstore	*rs = NULL;

	err[0] = '\0';
	if (!cfg->store_redis)
		return 0;
	if (rstore_open(cfg, &rs, err, errsz) != PG_OK)
		return -1;
	store_set_shared(st, rs);
	return 0;
}

void
cli_audit_ctx(const struct config *cfg, struct store *st,
    struct audit_log *log, const char *identity, struct cli_author *au,
    struct audit_ctx *ctx)
{
	struct passwd	*pw;

	if (identity == NULL) {
		pw = getpwuid(getuid());
		snprintf(au->who, sizeof(au->who), "cli:%s",
		    pw != NULL ? pw->pw_name : "unknown");
		identity = au->who;
	}
	memset(ctx, 0, sizeof(*ctx));
	ctx->state_dir = cfg->state_dir;
	ctx->source_ip = "local";
	ctx->user_agent = "payguard-cli";
	ctx->request_id = "";
	ctx->identity = identity;
	ctx->st = st;
	ctx->log = log;
	ctx->cfg = cfg;
}

int
cli_read_stdin(size_t max, char **out, size_t *len)
{
	char	*p = NULL, *np;
	size_t	 n = 0, cap = 0;
	ssize_t	 r;

	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			if ((np = realloc(p, cap)) == NULL) {
				free(p);
				return -1;
			}
			p = np;
		}
		r = read(STDIN_FILENO, p + n, cap - n - 1);
		if (r < 0) {
			free(p);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			free(p);
			return -1;
		}
	}
	p[n] = '\0';
	*out = p;
	*len = n;
	return 0;
}

/*
 * Run as root against a state directory that belongs to another user (the
 * web-server user), become that user, groups included, before anything
 * touches the state: nothing created there is then root-owned, and no
 * symlink the web user planted there can redirect root's writes.  Returns
 * 0, or -1 after saying why (the command must not run).
 */
static int
drop_to_owner(const char *dir)
{
	struct stat	 sb;
	struct passwd	*pw;
	gid_t		 gid;
	int		 rc = -1;

	if (geteuid() != 0 || dir == NULL || lstat(dir, &sb) != 0 ||
	    sb.st_uid == 0)
		return 0;	/* not root, no state yet, or root's own */
	if (!S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "payguard: state directory %s: not a directory "
		    "(a symlink?): refused\n", dir);
		goto out;
	}
	if ((pw = getpwuid(sb.st_uid)) != NULL) {
		gid = pw->pw_gid;
		if (initgroups(pw->pw_name, gid) != 0)
			goto fail;
	} else {
		gid = sb.st_gid;
		if (setgroups(1, &gid) != 0)
			goto fail;
	}
	if (setgid(gid) != 0 || setuid(sb.st_uid) != 0)
		goto fail;
	/* As kfcgi does: make sure there is no way back. */
	if (setuid(0) == 0 || geteuid() == 0) {
		fprintf(stderr, "payguard: regained root after dropping it: "
		    "aborting\n");
		goto out;
	}
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "payguard: cannot become uid %lu, the owner of %s: "
	    "%s\n", (unsigned long)sb.st_uid, dir, strerror(errno));
out:
	return rc;
}

/* 1 when an argument asks for help: then nothing else happens. */
static int
wants_help(int argc, char **argv)
{
	int	 i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			return 1;
	return 0;
}

int
main(int argc, char *argv[])
{
	const struct command *cmd = NULL;
	struct config	 cfg;
	char		 err[256];
	size_t		 i;
	int		 rc = 2;

	log_init("payguard");
	(void)harden_nocore();	/* before any secret is loaded */
	if (argc < 2)
		usage();
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			cmd = &commands[i];
	/* Help and usage errors are answered before any configuration or
	 * state is looked at. */
	if (wants_help(argc, argv)) {
		if (cmd == NULL)
			usage();
		printf("usage: payguard %s\n", cmd->usage);
		return 0;
	}
	if (cmd == NULL) {
		fprintf(stderr, "payguard: unknown command: %s\n", argv[1]);
		usage();
	}
	/* Commands decide for themselves whether a config problem matters. */
	if (config_load(&cfg, 0, err, sizeof(err)) != PG_OK)
		log_warnx("%s", err);
	if (drop_to_owner(cfg.state_dir) != 0)
		rc = 1;
	else
		rc = cmd->fn(argc - 1, argv + 1, &cfg);
	config_free(&cfg);
	return rc;
}
