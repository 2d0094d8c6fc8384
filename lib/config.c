/*
 * payguard - configuration loading.
 *
 * A table names every setting once: its variable, type, default and
 * whether it is a secret.  Loading walks the table; dumping walks it again
 * and masks secrets, so the two can never disagree.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>
#include <openssl/crypto.h>

#include "codec.h"
#include "config.h"
#include "log.h"

/* A numeric macro as the string the table holds. */
#define NUMSTR_(x)	#x
#define NUMSTR(x)	NUMSTR_(x)

#ifndef PG_DATADIR
#define PG_DATADIR "/usr/local/share/payguard"
#endif

#define CFG_SECRET_MAX	4096	/* bytes read from a NAME_FILE */

enum cfg_type {
	T_STR,		/* char * */
	T_SECRET,	/* char *, masked when shown, NAME_FILE allowed */
	T_BOOL,		/* int */
	T_U32,		/* uint32_t */
	T_SIZE,		/* size_t */
	T_SPECIAL	/* parsed by its own code after the table pass */
};

struct cfg_var {
	const char	*name;
	enum cfg_type	 type;
	size_t		 off;
	const char	*def;	/* default, or NULL */
	unsigned long	 max;	/* upper bound for numbers */
};

#define F(x)	offsetof(struct config, x)

static const struct cfg_var cfg_vars[] = {
	{ "PAYGUARD_STATE_DIR", T_STR, F(state_dir), "/var/lib/payguard", 0 },
	{ "PAYGUARD_SYNC", T_BOOL, F(sync), "1", 0 },
	{ "PAYGUARD_GROUP_COMMIT", T_BOOL, F(group_commit), "1", 0 },
	{ "PAYGUARD_MAX_BODY", T_SIZE, F(max_body), "524288", 64UL << 20 },
	{ "PAYGUARD_DATA_DIR", T_STR, F(data_dir), PG_DATADIR, 0 },
	{ "STRIPE_RATE_LIMIT_ENABLED", T_BOOL, F(rl_enabled), "true", 0 },
	{ "STRIPE_RATE_LIMIT_WINDOW", T_U32, F(rl_window), "60", 86400 },
	{ "PAYGUARD_RATE_LIMITS", T_SPECIAL, 0, NULL, 0 },
	{ "PAYGUARD_IPV6_PREFIX", T_U32, F(rl_ipv6_prefix), "64", 128 },
	{ "STRIPE_WEBHOOK_SECRET", T_SPECIAL, 0, NULL, 0 },
	{ "STRIPE_WEBHOOK_TOLERANCE", T_U32, F(wh_tolerance), "300", 86400 },
	{ "STRIPE_WEBHOOK_ALLOWED_IPS", T_STR, F(wh_allowed_ips), NULL, 0 },
	{ "PAYGUARD_WEBHOOK_IPS_FILE", T_STR, F(wh_ips_file), NULL, 0 },
	{ "PAYGUARD_TRUSTED_PROXIES", T_STR, F(trusted_proxies), NULL, 0 },
	{ "STRIPE_API_VERSION", T_STR, F(api_version), "2024-06-20", 0 },
	{ "PAYGUARD_WEBHOOK_STRICT_API_VERSION", T_BOOL, F(wh_strict_version), "0", 0 },
	{ "PAYGUARD_WEBHOOK_HANDLER", T_STR, F(wh_handler), NULL, 0 },
	{ "PAYGUARD_WEBHOOK_DELIVERY", T_SPECIAL, 0, NULL, 0 },
	{ "PAYGUARD_HANDLER_TIMEOUT", T_U32, F(wh_handler_timeout), "30", 3600 },
	{ "PAYGUARD_MAX_ATTEMPTS", T_U32, F(wh_max_attempts), "8", 1000 },
	{ "PAYGUARD_RETRY_BASE", T_U32, F(wh_retry_base), "10", 86400 },
	{ "PAYGUARD_DEDUP_TTL", T_U32, F(wh_dedup_ttl), "2592000", 31536000 },
	{ "PAYGUARD_EVENT_KINDS", T_STR, F(wh_event_kinds), "snapshot,thin", 0 },
	{ "PAYGUARD_WEBHOOK_FORWARD_URL", T_STR, F(wh_forward_url), NULL, 0 },
	{ "PAYGUARD_FORWARD_SECRET", T_SECRET, F(forward_secret), NULL, 0 },
	{ "STRIPE_ENCRYPTION_KEY", T_SECRET, F(enc_keys), NULL, 0 },
	{ "STRIPE_SECRET_KEY", T_SECRET, F(stripe_key), NULL, 0 },
	{ "STRIPE_API_BASE", T_STR, F(api_base), "https://api.stripe.com", 0 },
	{ "PAYGUARD_MAX_NETWORK_RETRIES", T_U32, F(max_retries), "2", 10 },
	{ "PAYGUARD_IDEMPOTENCY_TTL", T_U32, F(idem_ttl), "86400", 604800 },
	{ "PAYGUARD_IDEMPOTENCY_LOCK_TIMEOUT", T_U32, F(idem_lock_timeout), "90", 3600 },
	{ "PAYGUARD_TRUST_REMOTE_USER", T_BOOL, F(trust_remote_user), "0", 0 },
	{ "PAYGUARD_TOKEN_PEPPER", T_SECRET, F(token_pepper), NULL, 0 },
	{ "PAYGUARD_API_ROUTES", T_STR, F(api_routes), NULL, 0 },
	{ "PAYGUARD_CONNECT_TIMEOUT", T_U32, F(connect_timeout), "10", 600 },
	{ "PAYGUARD_TIMEOUT", T_U32, F(total_timeout), "80", 600 },
	{ "PAYGUARD_AUDIT_RETENTION_DAYS", T_U32, F(audit_retention_days),
	  NUMSTR(CFG_RETENTION_DAYS), 36500 },
	{ "PAYGUARD_AUDIT_FLOOD_WHOLE", T_U32, F(audit_flood_whole),
	  NUMSTR(CFG_FLOOD_WHOLE), 1000000 },
	{ "PAYGUARD_AUDIT_FLOOD_TYPE_WHOLE", T_U32, F(audit_flood_type),
	  NUMSTR(CFG_FLOOD_TYPE_WHOLE), 100000000 },
	{ "PAYGUARD_ADMIN_USERS", T_STR, F(admin_users), NULL, 0 },
	{ "PAYGUARD_ALERT_COMMAND", T_STR, F(alert_command), NULL, 0 },
	{ "PAYGUARD_ALERT_THRESHOLDS", T_STR, F(alert_thresholds), NULL, 0 },
	{ "PAYGUARD_TEMPLATE_DIR", T_STR, F(template_dir), PG_DATADIR "/templates", 0 },
	{ "PAYGUARD_STORE", T_SPECIAL, 0, NULL, 0 },
	{ "REDIS_URL", T_SECRET, F(redis_url), NULL, 0 },
	{ "PAYGUARD_NODE", T_STR, F(node), NULL, 0 },
	{ "REDIS_SENTINELS", T_STR, F(redis_sentinels), NULL, 0 },
	{ "REDIS_MASTER_NAME", T_STR, F(redis_master), NULL, 0 },
	{ "PAYGUARD_REDIS_REPLICAS", T_U32, F(redis_replicas), "0", 16 },
	{ "PAYGUARD_REDIS_WAIT_MS", T_U32, F(redis_wait_ms), "200", 60000 },
	{ "PAYGUARD_REDIS_TIMEOUT_MS", T_U32, F(redis_timeout_ms), "2000", 60000 },
};
#define NVARS	(sizeof(cfg_vars) / sizeof(cfg_vars[0]))

/* The default limits per operation per window (README). */
static const struct rate_op rate_defaults[] = {
	{ "customer", 100 },
	{ "subscription", 50 },
	{ "payment_intent", 200 },
	{ "webhook", 1000 },
	{ "default", 100 },
};

/* Values read from the INI file, by table index (owned, freed at end). */
struct ini_vals {
	char	*val[NVARS];
	char	*file[NVARS];	/* NAME_FILE entries */
	char	*err;
};

static int
var_index(const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < NVARS; i++)
		if (strlen(cfg_vars[i].name) == len &&
		    strncmp(cfg_vars[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

static int
ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct ini_vals	*iv = user;
	size_t		 n = strlen(name);
	int		 i, isfile = 0;
	char		**slot;

	(void)section;
	if (n > 5 && strcmp(name + n - 5, "_FILE") == 0) {
		isfile = 1;
		n -= 5;
	}
	if ((i = var_index(name, n)) < 0)
		return 1;	/* unknown keys are ignored, as env vars are */
	slot = isfile ? &iv->file[i] : &iv->val[i];
	free(*slot);
	*slot = strdup(value);
	return *slot != NULL;
}

/* Reads a secret file: bounded, trailing newline stripped.  NULL on error. */
static char *
read_secret_file(const char *path)
{
	char	 buf[CFG_SECRET_MAX + 1];
	ssize_t	 r;
	size_t	 n = 0;
	int	 fd;
	char	*s = NULL;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	while (n < sizeof(buf) - 1 &&
	    (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	if (n == sizeof(buf) - 1)
		goto out;	/* too long to be a secret */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	s = strdup(buf);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return s;
}

/* The raw string for variable i by precedence; malloc'd or NULL. *bad set
 * when a NAME_FILE was named but could not be read. */
static char *
raw_value(const struct ini_vals *iv, size_t i, int *bad)
{
	char		 fname[128];
	const char	*v;

	*bad = 0;
	if ((v = getenv(cfg_vars[i].name)) != NULL)
		return strdup(v);
	snprintf(fname, sizeof(fname), "%s_FILE", cfg_vars[i].name);
	if ((v = getenv(fname)) != NULL || (v = iv->file[i]) != NULL) {
		char *s = read_secret_file(v);
		if (s == NULL)
			*bad = 1;
		return s;
	}
	if (iv->val[i] != NULL)
		return strdup(iv->val[i]);
	return cfg_vars[i].def != NULL ? strdup(cfg_vars[i].def) : NULL;
}

static int
parse_bool(const char *s, int *out)
{
	if (strcasecmp(s, "1") == 0 || strcasecmp(s, "true") == 0 ||
	    strcasecmp(s, "yes") == 0 || strcasecmp(s, "on") == 0)
		*out = 1;
	else if (strcasecmp(s, "0") == 0 || strcasecmp(s, "false") == 0 ||
	    strcasecmp(s, "no") == 0 || strcasecmp(s, "off") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static int
parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char		*ep;
	unsigned long	 v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &ep, 10);
	if (errno != 0 || *ep != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
set_rate_op(struct config *c, const char *name, size_t nlen, uint32_t lim)
{
	size_t	 i;

	if (nlen == 0 || nlen >= CFG_OPNAME)
		return -1;
	for (i = 0; i < c->rl_nops; i++)
		if (strlen(c->rl_ops[i].name) == nlen &&
		    strncmp(c->rl_ops[i].name, name, nlen) == 0) {
			c->rl_ops[i].limit = lim;
			return 0;
		}
	if (c->rl_nops == CFG_MAX_OPS)
		return -1;
	memcpy(c->rl_ops[c->rl_nops].name, name, nlen);
	c->rl_ops[c->rl_nops].name[nlen] = '\0';
	c->rl_ops[c->rl_nops++].limit = lim;
	return 0;
}

/* "webhook=1000, customer=100" on top of the defaults. */
static int
parse_rate_limits(struct config *c, const char *s)
{
	const char	*q = s, *p, *eq, *end;
	char		 num[16];
	unsigned long	 v;
	size_t		 nlen, n;

	while (codec_list_next(&q, &p, &n)) {
		end = p + n;
		if ((eq = memchr(p, '=', (size_t)(end - p))) == NULL)
			return -1;
		nlen = (size_t)(eq - p);
		while (nlen > 0 && p[nlen - 1] == ' ')
			nlen--;
		eq++;
		while (*eq == ' ')
			eq++;
		if ((size_t)(end - eq) >= sizeof(num))
			return -1;
		memcpy(num, eq, (size_t)(end - eq));
		num[end - eq] = '\0';
		while (num[0] && num[strlen(num) - 1] == ' ')
			num[strlen(num) - 1] = '\0';
		if (parse_ulong(num, 1000000000UL, &v) < 0 || v == 0)
			return -1;
		if (set_rate_op(c, p, nlen, (uint32_t)v) < 0)
			return -1;
	}
	return 0;
}

/* Comma-separated whsec_ secrets; each must look like one. */
static int
parse_secrets(struct config *c, const char *s)
{
	const char	*q = s, *p;
	size_t		 n;

	while (codec_list_next(&q, &p, &n)) {
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (c->wh_nsecrets == CFG_MAX_SECRETS || n < 7 + 8 ||
		    strncmp(p, "whsec_", 6) != 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] <= 0x20 ||
			    (unsigned char)p[i] >= 0x7f)
				return -1;
		if ((c->wh_secrets[c->wh_nsecrets] = strndup(p, n)) == NULL)
			return -1;
		c->wh_nsecrets++;
	}
	return c->wh_nsecrets > 0 ? 0 : -1;
}

/* The executable's directory holds an optional payguard.ini (shared
 * hosting, where the process environment cannot be set). */
static char *
default_ini_path(void)
{
	char		 exe[PATH_MAX], path[PATH_MAX + 16];
	ssize_t		 n;
	char		*slash;
	struct stat	 sb;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return NULL;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return NULL;
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/payguard.ini", exe);
	if (stat(path, &sb) != 0)
		return NULL;
	return strdup(path);
}

static void
set_err(char *err, size_t errsz, enum pg_err *rc, const char *fmt,
    const char *name)
{
	if (*rc == PG_OK)
		snprintf(err, errsz, fmt, name);
	*rc = PG_CONFIG;
}

/* Applies one table entry. */
static void
load_var(struct config *c, const struct ini_vals *iv, size_t i,
    enum pg_err *rc, char *err, size_t errsz)
{
	const struct cfg_var	*v = &cfg_vars[i];
	char			*s;
	unsigned long		 n;
	int			 bad, b;
	void			*dst = (char *)c + v->off;

	s = raw_value(iv, i, &bad);
	if (bad) {
		set_err(err, errsz, rc, "%s_FILE: cannot read the file", v->name);
		return;
	}
	switch (v->type) {
	case T_STR:
	case T_SECRET:
		if (s != NULL && *s == '\0') {
			free(s);
			s = NULL;
		}
		*(char **)dst = s;
		return;
	case T_SPECIAL:
		if (strcmp(v->name, "PAYGUARD_RATE_LIMITS") == 0) {
			if (s != NULL && parse_rate_limits(c, s) < 0)
				set_err(err, errsz, rc,
				    "%s: expected op=limit[,op=limit]", v->name);
		} else if (strcmp(v->name, "STRIPE_WEBHOOK_SECRET") == 0) {
			if (s != NULL && *s != '\0' && parse_secrets(c, s) < 0) {
				set_err(err, errsz, rc,
				    "%s: malformed (expected comma-separated whsec_ secrets)",
				    v->name);
				c->wh_secrets_bad = 1;
			}
		} else if (strcmp(v->name, "PAYGUARD_WEBHOOK_DELIVERY") == 0) {
			if (s == NULL || strcmp(s, "queue") == 0)
				c->wh_delivery = DELIVERY_QUEUE;
			else if (strcmp(s, "sync") == 0)
				c->wh_delivery = DELIVERY_SYNC;
			else
				set_err(err, errsz, rc,
				    "%s: expected queue or sync", v->name);
		} else if (strcmp(v->name, "PAYGUARD_STORE") == 0) {
			if (s == NULL || strcmp(s, "lmdb") == 0)
				c->store_redis = 0;
			else if (strcmp(s, "redis") == 0)
				c->store_redis = 1;
			else
				set_err(err, errsz, rc,
				    "%s: expected lmdb or redis", v->name);
		}
		break;
	case T_BOOL:
		if (s == NULL || parse_bool(s, &b) < 0) {
			set_err(err, errsz, rc, "%s: expected true or false",
			    v->name);
			b = 0;
		}
		*(int *)dst = b;
		break;
	case T_U32:
	case T_SIZE:
		if (s == NULL || parse_ulong(s, v->max, &n) < 0) {
			set_err(err, errsz, rc, "%s: expected a number in range",
			    v->name);
			n = 0;
		}
		if (v->type == T_U32)
			*(uint32_t *)dst = (uint32_t)n;
		else
			*(size_t *)dst = (size_t)n;
		break;
	}
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

enum pg_err
config_load(struct config *c, unsigned int need, char *err, size_t errsz)
{
	struct ini_vals	 iv;
	const char	*ini;
	char		*defini = NULL;
	enum pg_err	 rc = PG_OK;
	size_t		 i;

	memset(c, 0, sizeof(*c));
	memset(&iv, 0, sizeof(iv));
	if (errsz > 0)
		err[0] = '\0';
	for (i = 0; i < sizeof(rate_defaults) / sizeof(rate_defaults[0]); i++)
		c->rl_ops[c->rl_nops++] = rate_defaults[i];

	if ((ini = getenv("PAYGUARD_CONFIG")) == NULL)
		ini = defini = default_ini_path();
	if (ini != NULL && *ini != '\0') {
		int r = ini_parse(ini, ini_cb, &iv);
		if (r != 0) {
			snprintf(err, errsz, r < 0 ?
			    "PAYGUARD_CONFIG: cannot open %s" :
			    "PAYGUARD_CONFIG: syntax error in %s", ini);
			rc = PG_CONFIG;
		}
	}
	for (i = 0; i < NVARS; i++)
		load_var(c, &iv, i, &rc, err, errsz);

	if ((need & CFG_NEED_WEBHOOK) && c->wh_nsecrets == 0 &&
	    !c->wh_secrets_bad)
		set_err(err, errsz, &rc, "%s: not set", "STRIPE_WEBHOOK_SECRET");
	if ((need & CFG_NEED_API) && (c->stripe_key == NULL ||
	    (strncmp(c->stripe_key, "sk_", 3) != 0 &&
	    strncmp(c->stripe_key, "rk_", 3) != 0)))
		set_err(err, errsz, &rc, c->stripe_key == NULL ?
		    "%s: not set" :
		    "%s: must be a secret (sk_) or restricted (rk_) key",
		    "STRIPE_SECRET_KEY");
	/* The node names records and is a filter value of the audit page
	 * and the CLI: a short name of [A-Za-z0-9_.:-]. */
	if (c->node != NULL && (strlen(c->node) > 64 ||
	    strspn(c->node, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_.:-") != strlen(c->node)))
		set_err(err, errsz, &rc, "%s: expected at most 64 of "
		    "[A-Za-z0-9_.:-]", "PAYGUARD_NODE");
	if (c->rl_window == 0)
		set_err(err, errsz, &rc, "%s: must be at least 1",
		    "STRIPE_RATE_LIMIT_WINDOW");
	if (c->wh_max_attempts == 0)
		c->wh_max_attempts = 1;
	/* 0 would keep no suspicious record at all: the log would lose
	 * what an attack looked like, which is what the bound must keep. */
	if (c->audit_flood_whole == 0)
		set_err(err, errsz, &rc, "%s: must be at least 1",
		    "PAYGUARD_AUDIT_FLOOD_WHOLE");
	else if (c->audit_flood_type < c->audit_flood_whole)
		set_err(err, errsz, &rc, "%s: must be at least "
		    "PAYGUARD_AUDIT_FLOOD_WHOLE (it bounds all addresses "
		    "together)", "PAYGUARD_AUDIT_FLOOD_TYPE_WHOLE");
	/* An unset PAYGUARD_WEBHOOK_IPS_FILE stays NULL: lib/iplist.c
	 * searches the state dir, the data dir, then the built-in list. */
	for (i = 0; i < NVARS; i++) {
		free(iv.val[i]);
		free(iv.file[i]);
	}
	free(defini);
	return rc;
}

static void
free_secret(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

void
config_free(struct config *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < NVARS; i++) {
		const struct cfg_var *v = &cfg_vars[i];
		if (v->type == T_STR || v->type == T_SECRET) {
			char **p = (char **)((char *)c + v->off);
			free_secret(*p);
			*p = NULL;
		}
	}
	for (i = 0; i < c->wh_nsecrets; i++)
		free_secret(c->wh_secrets[i]);
	c->wh_nsecrets = 0;
}

uint32_t
config_rate_limit(const struct config *c, const char *op)
{
	size_t	 i;

	for (i = 0; i < c->rl_nops; i++)
		if (strcmp(c->rl_ops[i].name, op) == 0)
			return c->rl_ops[i].limit;
	for (i = 0; i < c->rl_nops; i++)
		if (strcmp(c->rl_ops[i].name, "default") == 0)
			return c->rl_ops[i].limit;
	return 100;
}

/*
 * Secrets under SECRET_SHOW_MIN characters show nothing at all (four of
 * 15 would be a quarter of a pepper); longer ones their Stripe-style
 * prefix (sk_live_, whsec_: the kind, not secret material) and at most
 * the last four characters.
 */
#define SECRET_SHOW_MIN	32
static void
mask_value(const char *s, char *out, size_t outsz)
{
	size_t		 n = strlen(s), pre = 0;
	const char	*u;

	if (n < SECRET_SHOW_MIN) {
		snprintf(out, outsz, "****");
		return;
	}
	if ((u = strchr(s, '_')) != NULL && (size_t)(u - s) < 6) {
		pre = (size_t)(u - s) + 1;
		if ((u = strchr(s + pre, '_')) != NULL && (size_t)(u - s) < 10 &&
		    (strncmp(s + pre, "live", 4) == 0 ||
		    strncmp(s + pre, "test", 4) == 0))
			pre = (size_t)(u - s) + 1;
	}
	snprintf(out, outsz, "%.*s****%s", (int)pre, s, s + n - 4);
}

/* A URL with its user information (where a password sits) masked:
 * scheme, "****@" when there was any, then host, port and db. */
static void
mask_url(const char *s, char *out, size_t outsz)
{
	const char	*p = strstr(s, "://"), *at, *slash;

	if (p == NULL) {
		snprintf(out, outsz, "****");
		return;
	}
	p += 3;
	slash = p + strcspn(p, "/");
	at = NULL;
	for (const char *q = p; q < slash; q++)
		if (*q == '@')
			at = q;
	if (at == NULL)
		snprintf(out, outsz, "%s", s);
	else
		snprintf(out, outsz, "%.*s****@%s", (int)(p - s), s, at + 1);
}

void
config_dump(const struct config *c, int fd)
{
	char	 line[1024], m[64];
	size_t	 i, j;
	int	 n;

	for (i = 0; i < NVARS; i++) {
		const struct cfg_var *v = &cfg_vars[i];
		const void *p = (const char *)c + v->off;
		n = 0;
		switch (v->type) {
		case T_STR:
			n = snprintf(line, sizeof(line), "%s=%s\n", v->name,
			    *(char *const *)p ? *(char *const *)p : "");
			break;
		case T_SECRET:
			if (*(char *const *)p && v->off == F(redis_url))
				mask_url(*(char *const *)p, m, sizeof(m));
			else if (*(char *const *)p)
				mask_value(*(char *const *)p, m, sizeof(m));
			n = snprintf(line, sizeof(line), "%s=%s\n", v->name,
			    *(char *const *)p ? m : "(not set)");
			break;
		case T_BOOL:
			n = snprintf(line, sizeof(line), "%s=%s\n", v->name,
			    *(const int *)p ? "true" : "false");
			break;
		case T_U32:
			n = snprintf(line, sizeof(line), "%s=%u\n", v->name,
			    *(const uint32_t *)p);
			break;
		case T_SIZE:
			n = snprintf(line, sizeof(line), "%s=%zu\n", v->name,
			    *(const size_t *)p);
			break;
		case T_SPECIAL:
			if (strcmp(v->name, "STRIPE_WEBHOOK_SECRET") == 0) {
				size_t k = (size_t)snprintf(line, sizeof(line),
				    "%s=", v->name);
				for (j = 0; j < c->wh_nsecrets && k < sizeof(line); j++) {
					mask_value(c->wh_secrets[j], m, sizeof(m));
					k += (size_t)snprintf(line + k,
					    sizeof(line) - k, "%s%s",
					    j ? "," : "", m);
				}
				if (k < sizeof(line) - 1)
					line[k++] = '\n';
				n = (int)k;
			} else if (strcmp(v->name, "PAYGUARD_RATE_LIMITS") == 0) {
				size_t k = (size_t)snprintf(line, sizeof(line),
				    "%s=", v->name);
				for (j = 0; j < c->rl_nops && k < sizeof(line); j++)
					k += (size_t)snprintf(line + k,
					    sizeof(line) - k, "%s%s=%u",
					    j ? "," : "", c->rl_ops[j].name,
					    c->rl_ops[j].limit);
				if (k < sizeof(line) - 1)
					line[k++] = '\n';
				n = (int)k;
			} else if (strcmp(v->name, "PAYGUARD_STORE") == 0)
				n = snprintf(line, sizeof(line), "%s=%s\n",
				    v->name, c->store_redis ? "redis" : "lmdb");
			else
				n = snprintf(line, sizeof(line), "%s=%s\n",
				    v->name, c->wh_delivery == DELIVERY_SYNC ?
				    "sync" : "queue");
			break;
		}
		if (n > 0)
			(void)!write(fd, line, (size_t)n < sizeof(line) ?
			    (size_t)n : sizeof(line) - 1);
	}
}
