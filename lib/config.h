/*
 * payguard - process configuration, read once before the first accept.
 *
 * Sources, highest precedence first: the environment variable NAME, the
 * file named by NAME_FILE (secrets), the INI file named by PAYGUARD_CONFIG
 * (same key names, any section; NAME_FILE keys allowed there too), the
 * built-in default.  After loading, the struct is read-only: it is the one
 * documented global of every program.
 */
#ifndef PG_CONFIG_H
#define PG_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define CFG_MAX_SECRETS		8
#define CFG_MAX_OPS		24
#define CFG_OPNAME		32
#define CFG_RETENTION_DAYS	30	/* PAYGUARD_AUDIT_RETENTION_DAYS default */
#define CFG_FLOOD_WHOLE		100	/* PAYGUARD_AUDIT_FLOOD_WHOLE default */
#define CFG_FLOOD_TYPE_WHOLE	1000	/* PAYGUARD_AUDIT_FLOOD_TYPE_WHOLE default */

enum delivery_mode {
	DELIVERY_QUEUE = 0,
	DELIVERY_SYNC
};

struct rate_op {
	char		 name[CFG_OPNAME];	/* "webhook", "customer", ... */
	uint32_t	 limit;			/* requests per window */
};

struct config {
	char		*state_dir;		/* PAYGUARD_STATE_DIR */
	int		 sync;			/* PAYGUARD_SYNC (1) */
	int		 group_commit;		/* PAYGUARD_GROUP_COMMIT (1) */
	size_t		 max_body;		/* PAYGUARD_MAX_BODY (512 KiB) */
	char		*data_dir;		/* PAYGUARD_DATA_DIR (share dir) */

	/* Rate limiter. */
	int		 rl_enabled;		/* STRIPE_RATE_LIMIT_ENABLED */
	uint32_t	 rl_window;		/* STRIPE_RATE_LIMIT_WINDOW (60) */
	uint32_t	 rl_ipv6_prefix;	/* PAYGUARD_IPV6_PREFIX (64 bits) */
	size_t		 rl_nops;
	struct rate_op	 rl_ops[CFG_MAX_OPS];	/* PAYGUARD_RATE_LIMITS + defaults */

	/* Webhook receiver. */
	size_t		 wh_nsecrets;
	char		*wh_secrets[CFG_MAX_SECRETS];	/* STRIPE_WEBHOOK_SECRET */
	int		 wh_secrets_bad;	/* set but malformed */
	uint32_t	 wh_tolerance;		/* STRIPE_WEBHOOK_TOLERANCE (300) */
	char		*wh_allowed_ips;	/* STRIPE_WEBHOOK_ALLOWED_IPS or NULL */
	char		*wh_ips_file;		/* PAYGUARD_WEBHOOK_IPS_FILE or NULL */
	char		*trusted_proxies;	/* PAYGUARD_TRUSTED_PROXIES or NULL */
	char		*api_version;		/* STRIPE_API_VERSION */
	int		 wh_strict_version;	/* PAYGUARD_WEBHOOK_STRICT_API_VERSION */
	char		*wh_handler;		/* PAYGUARD_WEBHOOK_HANDLER or NULL */
	enum delivery_mode wh_delivery;		/* PAYGUARD_WEBHOOK_DELIVERY */
	uint32_t	 wh_handler_timeout;	/* PAYGUARD_HANDLER_TIMEOUT (30 s) */
	uint32_t	 wh_max_attempts;	/* PAYGUARD_MAX_ATTEMPTS (8) */
	uint32_t	 wh_retry_base;		/* PAYGUARD_RETRY_BASE (10 s) */
	uint32_t	 wh_dedup_ttl;		/* PAYGUARD_DEDUP_TTL (30 days) */
	char		*wh_event_kinds;	/* PAYGUARD_EVENT_KINDS (snapshot,thin) */
	char		*wh_forward_url;	/* PAYGUARD_WEBHOOK_FORWARD_URL or NULL */
	char		*forward_secret;	/* PAYGUARD_FORWARD_SECRET or NULL */

	/* Encryption at rest. */
	char		*enc_keys;		/* STRIPE_ENCRYPTION_KEY or NULL */

	/* API gateway. */
	char		*stripe_key;		/* STRIPE_SECRET_KEY */
	char		*api_base;		/* STRIPE_API_BASE */
	uint32_t	 max_retries;		/* PAYGUARD_MAX_NETWORK_RETRIES (2) */
	uint32_t	 idem_ttl;		/* PAYGUARD_IDEMPOTENCY_TTL (86400) */
	uint32_t	 idem_lock_timeout;	/* PAYGUARD_IDEMPOTENCY_LOCK_TIMEOUT (90) */
	int		 trust_remote_user;	/* PAYGUARD_TRUST_REMOTE_USER */
	char		*token_pepper;		/* PAYGUARD_TOKEN_PEPPER or NULL */
	char		*api_routes;		/* PAYGUARD_API_ROUTES or NULL */
	uint32_t	 connect_timeout;	/* PAYGUARD_CONNECT_TIMEOUT (10) */
	uint32_t	 total_timeout;		/* PAYGUARD_TIMEOUT (80) */

	/* Audit. */
	uint32_t	 audit_retention_days;	/* PAYGUARD_AUDIT_RETENTION_DAYS */
	uint32_t	 audit_flood_whole;	/* PAYGUARD_AUDIT_FLOOD_WHOLE */
	uint32_t	 audit_flood_type;	/* PAYGUARD_AUDIT_FLOOD_TYPE_WHOLE */
	char		*admin_users;		/* PAYGUARD_ADMIN_USERS or NULL */
	char		*alert_command;		/* PAYGUARD_ALERT_COMMAND or NULL */
	char		*alert_thresholds;	/* PAYGUARD_ALERT_THRESHOLDS or NULL */
	char		*template_dir;		/* PAYGUARD_TEMPLATE_DIR */

	/* Shared store (several web servers). */
	int		 store_redis;		/* PAYGUARD_STORE=redis (lmdb) */
	char		*redis_url;		/* REDIS_URL (secret) or NULL */
	char		*node;			/* PAYGUARD_NODE or NULL: host name */
	char		*redis_sentinels;	/* REDIS_SENTINELS or NULL */
	char		*redis_master;		/* REDIS_MASTER_NAME or NULL */
	uint32_t	 redis_replicas;	/* PAYGUARD_REDIS_REPLICAS (0) */
	uint32_t	 redis_wait_ms;		/* PAYGUARD_REDIS_WAIT_MS (200) */
	uint32_t	 redis_timeout_ms;	/* PAYGUARD_REDIS_TIMEOUT_MS (2000) */
};

/* What a program needs configured before it may serve. */
#define CFG_NEED_WEBHOOK	0x01	/* STRIPE_WEBHOOK_SECRET */
#define CFG_NEED_API		0x02	/* STRIPE_SECRET_KEY */

/*
 * Loads the configuration from env/INI/files into c (zeroed first).
 * Returns PG_OK, or PG_CONFIG with a one-line message naming the variable
 * (never its value) in err.  c is always usable for the parts that did
 * load; release it with config_free.
 */
enum pg_err	 config_load(struct config *c, unsigned int need,
		    char *err, size_t errsz);
/* Frees every string in c, wiping secrets first.  NULL-safe. */
void		 config_free(struct config *c);
/* Returns the limit for operation op (falls back to "default"). */
uint32_t	 config_rate_limit(const struct config *c, const char *op);
/*
 * Writes "NAME=value" lines of the effective configuration to fd, every
 * secret masked (prefix and last four at most).
 */
void		 config_dump(const struct config *c, int fd);

#endif /* PG_CONFIG_H */
