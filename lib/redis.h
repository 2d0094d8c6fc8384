/*
 * payguard - one connection to the shared Redis store (PAYGUARD_STORE=redis).
 *
 * Only the Redis backend (store_redis.c) and its tests use this header.
 * hiredis 0.14 speaks the protocol; this module adds what it lacks:
 * REDIS_URL parsing (redis://[user:password@]host:port/db and
 * unix:///path?db=N), Sentinel discovery of the primary (REDIS_SENTINELS,
 * REDIS_MASTER_NAME), bounded time for every call, server-side scripts run
 * by SHA with a transparent reload on NOSCRIPT, and WAIT for replicas.
 * Redis errors are translated here: a connection error, a timeout or an
 * error reply (OOM, NOREPLICAS, READONLY, ...) is PG_STORE or PG_TIMEOUT
 * and drops the connection, so the next call reconnects (and asks the
 * sentinels again).  The password is never logged.
 */
#ifndef PG_REDIS_H
#define PG_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "config.h"
#include "err.h"

#define REDIS_ADDR_MAX	256

struct redis;

/* A server-side Lua script; sha is filled in at the first use. */
struct redis_script {
	const char	*name;		/* for log lines */
	const char	*src;
	char		 sha[41];
};

/* Where REDIS_URL points, parsed (user and password owned, wiped at free). */
struct redis_url {
	char		 host[REDIS_ADDR_MAX];	/* or "" for a socket */
	int		 port;
	char		 path[REDIS_ADDR_MAX];	/* unix socket, or "" */
	char		*user;			/* NULL: none */
	char		*pass;			/* NULL: none */
	int		 db;
};

/*
 * Parses url into u (zeroed first).  PG_CONFIG for anything else than the
 * two documented forms; never echoes the URL.  Free with redis_url_free.
 */
enum pg_err	 redis_url_parse(const char *url, struct redis_url *u);
/* Wipes and frees u's secrets. */
void		 redis_url_free(struct redis_url *u);

/* Flags for redis_open. */
#define REDIS_DEFER	0x01	/* a serving process: an unreachable server
				   is checked at its first connection */
/*
 * Connects as configured in cfg and checks the server: maxmemory-policy
 * must be noeviction, and in durable mode (cfg->sync) the AOF must be on
 * with appendfsync always.  On failure returns PG_CONFIG (or PG_STORE for
 * an unreachable server) with one line for the log in err (no secret).
 * With REDIS_DEFER an unreachable server is not a failure: PG_OK, every
 * call fails (PG_STORE: 503) until the server answers, and the check
 * runs then; a server that fails it then refuses every call of this
 * process, logged once as "refusing to serve: ...".  *out is freed by
 * redis_close.
 */
enum pg_err	 redis_open(const struct config *cfg, unsigned int flags,
		    struct redis **out, char *err, size_t errsz);
/* Closes r.  NULL-safe. */
void		 redis_close(struct redis *r);
/* Frees a reply of redis_eval or redis_cmd (hiredis is loaded at run
 * time, see redis.c: never call freeReplyObject directly).  NULL-safe. */
void		 redis_reply_free(redisReply *rep);

/*
 * Runs script s with nkeys keys followed by the other arguments (argv[i]
 * of argvlen[i] bytes: binary-safe).  On PG_OK *reply is the reply (never
 * an error reply), freed by the caller with redis_reply_free.
 */
enum pg_err	 redis_eval(struct redis *r, struct redis_script *s,
		    int nkeys, int argc, const char **argv,
		    const size_t *argvlen, redisReply **reply);
/* Runs one plain command, as redis_eval. */
enum pg_err	 redis_cmd(struct redis *r, int argc, const char **argv,
		    const size_t *argvlen, redisReply **reply);
/*
 * After an acknowledged write: when PAYGUARD_REDIS_REPLICAS=N is set,
 * waits for N replicas within PAYGUARD_REDIS_WAIT_MS; PG_STORE when fewer
 * confirmed (the caller must not acknowledge).  PG_OK at once when N = 0.
 */
enum pg_err	 redis_wait_replicas(struct redis *r);
/* The node name (PAYGUARD_NODE or the host name); never NULL. */
const char	*redis_node(const struct redis *r);

#endif /* PG_REDIS_H */
