/*
 * payguard ips - Stripe's webhook source-address list (lib/iplist.h).
 *
 *   payguard ips update [--url U] [--file F] [--force]
 *       fetch Stripe's JSON ({"WEBHOOKS": [...]}, default IPLIST_URL),
 *       validate it (parses, every entry an address or CIDR, not empty,
 *       not shrinking by more than half unless --force), replace F
 *       atomically (default: PAYGUARD_WEBHOOK_IPS_FILE, else
 *       STATE_DIR/stripe-webhook-ips.txt, which the receiver prefers to
 *       the installed and the built-in list), audit the outcome with the
 *       diff.  Exit 0 updated or unchanged, 1 failed (old list kept),
 *       2 usage.  Programs already running keep the list they loaded:
 *       FastCGI processes read it once, before the first accept.
 *   payguard ips show
 *       which list the receiver would use now, and its entries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "audit.h"
#include "cli.h"
#include "iplist.h"
#include "store.h"

static int
usage_ips(void)
{
	fprintf(stderr, "usage: payguard ips update [--url U] [--file F] [--force]\n"
	    "       payguard ips show\n");
	return 2;
}

/* Is s in the sorted-or-not list v (n entries)? */
static int
has(char **v, size_t n, const char *s)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

/* Entries of a in b's complement, as a JSON array (at most 64 named). */
static struct json_object *
minus(char **a, size_t na, char **b, size_t nb, size_t *count)
{
	struct json_object	*arr = json_object_new_array();
	size_t			 i;

	*count = 0;
	for (i = 0; i < na; i++)
		if (!has(b, nb, a[i])) {
			if (*count < 64 && arr != NULL)
				json_object_array_add(arr,
				    json_object_new_string(a[i]));
			(*count)++;
		}
	return arr;
}

/* One audit record for the run: config_error (MEDIUM) on failure. */
static void
audit_ips(const struct config *cfg, int ok, const char *outcome,
    struct json_object *d)
{
	struct audit_ctx	 actx;
	struct cli_author	 au;
	struct store		*st = NULL;

	/* Indexed when the store opens; the log line is written regardless. */
	if (cfg->state_dir != NULL && store_open(cfg->state_dir, 0, &st) != PG_OK)
		st = NULL;
	cli_audit_ctx(cfg, st, NULL, NULL, &au, &actx);
	json_object_object_add(d, "outcome", json_object_new_string(outcome));
	if (cfg->state_dir == NULL ||
	    audit_event(&actx, ok ? AEV_IPS_UPDATED : AEV_IPS_UPDATE_FAILED,
	    ok ? SEV_LOW : SEV_MEDIUM, ok, "ips", d, NULL) != PG_OK)
		fprintf(stderr, "ips update: could not write the audit record\n");
	if (cfg->state_dir == NULL)
		json_object_put(d);
	store_close(st);
}

static int
ips_update(int argc, char **argv, const struct config *cfg)
{
	struct json_object	*d = json_object_new_object();
	struct buf		 json, text, old;
	char			 path[4096], from[4096], err[256];
	char			**ov = NULL, **nv = NULL;
	const char		*url = IPLIST_URL, *file = NULL, *outcome = "failed";
	size_t			 on = 0, nn = 0, na, nr;
	int			 i, force = 0, rc = 1;
	enum pg_err		 e;

	buf_init(&json, IPLIST_JSON_MAX);
	buf_init(&text, 1u << 20);
	buf_init(&old, 1u << 20);
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--url") == 0 && i + 1 < argc)
			url = argv[++i];
		else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
			file = argv[++i];
		else if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else {
			rc = usage_ips();
			json_object_put(d);
			d = NULL;
			goto out;
		}
	}
	if (file == NULL) {
		if (iplist_update_path(cfg, path, sizeof(path)) != PG_OK) {
			fprintf(stderr, "ips update: the list path is too long\n");
			goto fail;
		}
		file = path;
	}
	json_object_object_add(d, "url", json_object_new_string(url));
	json_object_object_add(d, "file", json_object_new_string(file));
	/* What is in effect now: the file to replace, else what the
	 * receiver falls back to (installed or built-in). */
	if ((e = iplist_read(cfg, &old, from, sizeof(from))) != PG_OK ||
	    strcmp(from, file) != 0) {
		struct config c2 = *cfg;
		buf_reset(&old);
		c2.wh_ips_file = (char *)file;
		if (iplist_read(&c2, &old, from, sizeof(from)) == PG_NOTFOUND) {
			c2.wh_ips_file = NULL;
			c2.state_dir = NULL;
			buf_reset(&old);
			(void)iplist_read(&c2, &old, from, sizeof(from));
		}
	}
	if (iplist_entries(old.data ? old.data : "", &ov, &on) != PG_OK)
		goto fail;
	json_object_object_add(d, "previous", json_object_new_string(from));
	if ((e = iplist_fetch(url, &json, err, sizeof(err))) != PG_OK) {
		fprintf(stderr, "ips update: %s: %s; the list is unchanged\n",
		    url, err);
		json_object_object_add(d, "error", json_object_new_string(err));
		goto fail;
	}
	if ((e = iplist_from_json(json.data ? json.data : "", json.len, url,
	    &text, &nn)) != PG_OK) {
		snprintf(err, sizeof(err), "%s", e == PG_TOOLARGE ?
		    "too many entries" : "not Stripe's {\"WEBHOOKS\": [...]} "
		    "with at least one valid address or CIDR");
		fprintf(stderr, "ips update: %s: %s; the list is unchanged\n",
		    url, err);
		json_object_object_add(d, "error", json_object_new_string(err));
		goto fail;
	}
	if (iplist_entries(text.data, &nv, &nn) != PG_OK)
		goto fail;
	json_object_object_add(d, "added", minus(nv, nn, ov, on, &na));
	json_object_object_add(d, "removed", minus(ov, on, nv, nn, &nr));
	json_object_object_add(d, "count", json_object_new_int64((int64_t)nn));
	json_object_object_add(d, "previous_count", json_object_new_int64((int64_t)on));
	if (nn * 2 < on && !force) {
		snprintf(err, sizeof(err), "the list would shrink from %zu to "
		    "%zu entries (more than half); check it, then use --force",
		    on, nn);
		fprintf(stderr, "ips update: %s; the list is unchanged\n", err);
		json_object_object_add(d, "error", json_object_new_string(err));
		outcome = "refused";
		goto fail;
	}
	if (na == 0 && nr == 0 && strcmp(from, file) == 0) {
		printf("ips update: %s unchanged (%zu entries)\n", file, nn);
		outcome = "unchanged";
		rc = 0;
		goto fail;
	}
	if ((e = iplist_write(cfg->state_dir, file, text.data, text.len)) != PG_OK) {
		snprintf(err, sizeof(err), "cannot replace the list file: %s",
		    pg_strerror(e));
		fprintf(stderr, "ips update: %s; the list is unchanged\n", err);
		json_object_object_add(d, "error", json_object_new_string(err));
		goto fail;
	}
	printf("ips update: %s: %zu entries (%zu added, %zu removed)\n", file,
	    nn, na, nr);
	printf("ips update: running FastCGI processes keep their list until "
	    "restarted\n");
	outcome = "updated";
	rc = 0;
fail:
	audit_ips(cfg, rc == 0, outcome, d);
	d = NULL;
out:
	json_object_put(d);
	iplist_entries_free(ov);
	iplist_entries_free(nv);
	buf_free(&json);
	buf_free(&text);
	buf_free(&old);
	return rc;
}

static int
ips_show(const struct config *cfg)
{
	struct buf	 b;
	char		 from[4096], **v = NULL;
	size_t		 n = 0, i;
	int		 rc = 1;

	buf_init(&b, 1u << 20);
	if (cfg->wh_allowed_ips != NULL)
		printf("# STRIPE_WEBHOOK_ALLOWED_IPS is set: it replaces the list below\n");
	if (iplist_read(cfg, &b, from, sizeof(from)) != PG_OK ||
	    iplist_entries(b.data ? b.data : "", &v, &n) != PG_OK) {
		fprintf(stderr, "ips show: cannot read %s\n", from);
		goto out;
	}
	printf("# %s: %zu entries\n", from, n);
	for (i = 0; i < n; i++)
		printf("%s\n", v[i]);
	rc = 0;
out:
	iplist_entries_free(v);
	buf_free(&b);
	return rc;
}

int
cmd_ips(int argc, char **argv, const struct config *cfg)
{
	if (argc >= 2 && strcmp(argv[1], "update") == 0)
		return ips_update(argc, argv, cfg);
	if (argc == 2 && strcmp(argv[1], "show") == 0)
		return ips_show(cfg);
	return usage_ips();
}
