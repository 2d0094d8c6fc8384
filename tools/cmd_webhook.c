/*
 * payguard CLI - webhook commands: sign, inbox, worker, config.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "crypto.h"
#include "deliver.h"
#include "forward.h"
#include "inbox.h"
#include "store_redis.h"
#include "log.h"
#include "sig.h"
#include "store.h"

#define SIGN_MAX	(64u << 20)

static volatile sig_atomic_t stop_worker;

static void
on_signal(int sig)
{
	(void)sig;
	stop_worker = 1;
}

int
cmd_sign(int argc, char **argv, const struct config *cfg)
{
	const char	*secret = NULL;
	char		*body = NULL, *ep, hex[65];
	size_t		 len;
	long long	 t = (long long)time(NULL);
	int		 i, rc = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--secret") == 0 && i + 1 < argc)
			secret = argv[++i];
		else if (strcmp(argv[i], "--timestamp") == 0 && i + 1 < argc) {
			t = strtoll(argv[++i], &ep, 10);
			if (*ep != '\0' || t < 0) {
				fprintf(stderr, "sign: bad --timestamp\n");
				return 2;
			}
		} else {
			fprintf(stderr, "usage: payguard sign [--secret S] "
			    "[--timestamp T] < payload\n");
			return 2;
		}
	}
	/* Without --secret, the configured primary secret (not on argv). */
	if (secret == NULL && cfg->wh_nsecrets > 0)
		secret = cfg->wh_secrets[0];
	if (secret == NULL) {
		fprintf(stderr, "sign: no --secret and no STRIPE_WEBHOOK_SECRET\n");
		return 2;
	}
	if (cli_read_stdin(SIGN_MAX, &body, &len) < 0) {
		fprintf(stderr, "sign: cannot read the payload\n");
		return 1;
	}
	if (sig_compute(secret, t, body, len, hex) == PG_OK) {
		printf("t=%lld,v1=%s\n", t, hex);
		rc = 0;
	}
	free(body);
	return rc;
}

static struct json_object *
hdr_json(const char *id, const struct ev_hdr *h)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "type", json_object_new_string(h->type));
	json_object_object_add(o, "state",
	    json_object_new_string(ev_state_name(h->state)));
	json_object_object_add(o, "source",
	    json_object_new_string(ev_source_name(h->source)));
	json_object_object_add(o, "attempts", json_object_new_int((int)h->attempts));
	json_object_object_add(o, "livemode", json_object_new_boolean(h->livemode));
	json_object_object_add(o, "created", json_object_new_int64(h->created));
	json_object_object_add(o, "received_ms",
	    json_object_new_int64((int64_t)h->received_ms));
	json_object_object_add(o, "next_attempt_ms", h->state == EV_PENDING ?
	    json_object_new_int64((int64_t)h->queue_due_ms) : NULL);
	json_object_object_add(o, "delivered_ms", h->delivered_ms ?
	    json_object_new_int64((int64_t)h->delivered_ms) : NULL);
	json_object_object_add(o, "last_status", json_object_new_int(h->last_status));
	json_object_object_add(o, "last_error", h->last_error[0] ?
	    json_object_new_string(h->last_error) : NULL);
	return o;
}

struct list_out {
	struct json_object	*arr;
	size_t			 n;
};

static int
list_cb(const char *id, const struct ev_hdr *h, void *arg)
{
	struct list_out	*l = arg;

	l->n++;
	if (l->arr != NULL)
		json_object_array_add(l->arr, hdr_json(id, h));
	else
		printf("%-32s %-11s %3u  %s%s%s\n", id, ev_state_name(h->state),
		    h->attempts, h->type, h->last_error[0] ? "  " : "",
		    h->last_error);
	return 0;
}

static int
inbox_show(struct store *st, const struct keyring *ring, const char *id)
{
	struct ev_hdr		 h;
	unsigned char		*body = NULL;
	size_t			 len;
	struct json_object	*o;
	enum pg_err		 e;

	if ((e = inbox_get(st, ring, id, &h, &body, &len)) != PG_OK) {
		fprintf(stderr, "inbox show: %s: %s\n", id, pg_strerror(e));
		return 1;
	}
	o = hdr_json(id, &h);
	/* The raw event, exactly as received. */
	json_object_object_add(o, "event",
	    json_object_new_string_len((const char *)body, (int)len));
	printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	free(body);
	return 0;
}

int
cmd_inbox(int argc, char **argv, const struct config *cfg)
{
	struct store	*st = NULL;
	struct keyring	 ring;
	struct list_out	 l = { NULL, 0 };
	size_t		 n = 0, done = 0, failed = 0;
	enum pg_err	 e = PG_OK;
	int		 rc = 1;

	/* A usage error never touches the state. */
	if (argc < 2 || !((strcmp(argv[1], "list") == 0 && (argc == 2 ||
	    (argc == 3 && strcmp(argv[2], "--json") == 0))) ||
	    ((strcmp(argv[1], "show") == 0 || strcmp(argv[1], "retry") == 0) &&
	    argc == 3) || (strcmp(argv[1], "purge") == 0 && (argc == 2 ||
	    (argc == 3 && (strcmp(argv[2], "--dead") == 0 ||
	    strcmp(argv[2], "--all") == 0)))) ||
	    (strcmp(argv[1], "drain") == 0 && argc == 2))) {
		fprintf(stderr, "usage: payguard inbox list [--json] | show ID | "
		    "retry ID | purge [--dead|--all] | drain\n");
		return 2;
	}
	if (cli_open_state(cfg, &st, &ring) < 0)
		return 1;
	if (strcmp(argv[1], "list") == 0) {
		if (argc > 2 && strcmp(argv[2], "--json") == 0)
			l.arr = json_object_new_array();
		e = inbox_list(st, list_cb, &l);
		if (l.arr != NULL)
			printf("%s\n", json_object_to_json_string_ext(l.arr,
			    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(l.arr);
		rc = e == PG_OK ? 0 : 1;
	} else if (strcmp(argv[1], "show") == 0 && argc == 3) {
		rc = inbox_show(st, &ring, argv[2]);
	} else if (strcmp(argv[1], "retry") == 0 && argc == 3) {
		if ((e = inbox_retry(st, argv[2])) == PG_OK) {
			printf("%s: pending\n", argv[2]);
			rc = 0;
		} else
			fprintf(stderr, "inbox retry: %s: %s\n", argv[2],
			    e == PG_CONFLICT ? "already delivered or being "
			    "delivered" : pg_strerror(e));
	} else if (strcmp(argv[1], "purge") == 0) {
		int all = argc > 2 && strcmp(argv[2], "--all") == 0;
		if ((e = inbox_purge(st, all, &n)) == PG_OK) {
			printf("purged %zu %sevent(s)\n", n, all ? "" : "dead ");
			rc = 0;
		} else
			fprintf(stderr, "inbox purge: %s\n", pg_strerror(e));
	} else if (strcmp(argv[1], "drain") == 0) {
		e = deliver_due(st, &ring, cfg, 0, &done, &failed);
		printf("delivered %zu, failed %zu\n", done, failed);
		rc = e == PG_OK ? 0 : 1;
	} else {
		fprintf(stderr, "inbox: unknown subcommand %s\n", argv[1]);
		rc = 2;
	}
	store_close(st);
	keyring_wipe(&ring);
	return rc;
}

int
cmd_worker(int argc, char **argv, const struct config *cfg)
{
	struct store	*st = NULL;
	struct keyring	 ring;
	size_t		 done, failed;
	unsigned long	 interval = 1;
	int		 i, once = 0, rc = 0;
	enum pg_err	 e;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--once") == 0)
			once = 1;
		else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc)
			interval = strtoul(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: payguard worker [--once] "
			    "[--interval SECONDS]\n");
			return 2;
		}
	}
	if (cli_open_state(cfg, &st, &ring) < 0)
		return 1;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!stop_worker) {
		e = deliver_due(st, &ring, cfg, 100, &done, &failed);
		if (e != PG_OK) {
			log_warnx("worker: %s", pg_strerror(e));
			rc = 1;
		}
		if (done + failed > 0)
			log_info("worker: delivered %zu, failed %zu", done, failed);
		store_maintain(st, 256);
		if (once)
			break;
		if (done + failed == 0)
			sleep((unsigned)(interval ? interval : 1));
	}
	store_close(st);
	keyring_wipe(&ring);
	return rc;
}

/* Prints a new PAYGUARD_FORWARD_SECRET (whsec_ + base64 of 32 bytes). */
int
cmd_forward_secret(int argc, char **argv, const struct config *cfg)
{
	char	 s[FORWARD_SECRET_STR_MAX];

	(void)argv;
	(void)cfg;
	if (argc != 1) {
		fprintf(stderr, "usage: payguard forward-secret\n");
		return 2;
	}
	if (forward_secret_new(s) != PG_OK) {
		fprintf(stderr, "forward-secret: no randomness\n");
		return 1;
	}
	printf("%s\n", s);
	OPENSSL_cleanse(s, sizeof(s));
	return 0;
}

/*
 * Prints the effective configuration (secrets masked), then whether each
 * FastCGI program would serve with it.  Exit 0 when at least one would
 * (a site may run only the gateway or only the receiver), else 1.
 */
int
cmd_config(int argc, char **argv, const struct config *cfg)
{
	static const struct {
		const char	*prog;
		unsigned int	 need;
	} progs[] = {
		{ "webhook.fcgi", CFG_NEED_WEBHOOK },
		{ "api.fcgi", CFG_NEED_API },
	};
	char		 err[256];
	struct config	 c;
	size_t		 i;
	int		 ready = 0;

	if (argc != 2 || strcmp(argv[1], "check") != 0) {
		fprintf(stderr, "usage: payguard config check\n");
		return 2;
	}
	config_dump(cfg, STDOUT_FILENO);
	for (i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		/* Loaded again for each program's own requirements. */
		if (config_load(&c, progs[i].need, err, sizeof(err)) == PG_OK) {
			printf("# %s: ready\n", progs[i].prog);
			ready++;
		} else
			printf("# %s: would refuse to serve: %s\n",
			    progs[i].prog, err);
		config_free(&c);
	}
	fflush(stdout);
	return ready > 0 ? 0 : 1;
}
