/*
 * payguard - the Redis connection: URL, Sentinel, scripts, WAIT.
 *
 * hiredis 0.14 facts relied on: redisConnectWithTimeout and
 * redisConnectUnixWithTimeout bound the connect; redisSetTimeout bounds
 * every later read and write (a timeout sets c->err to REDIS_ERR_IO with
 * errno EAGAIN); a context with c->err set is unusable and must be freed;
 * redisCommandArgv is binary-safe.  No TLS and no Sentinel support: the
 * primary is found with SENTINEL get-master-addr-by-name and checked with
 * ROLE, and the connection is dropped on READONLY so a failover is
 * followed at the next call.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "buf.h"
#include "codec.h"
#include "log.h"
#include "redis.h"
#include "rtload.h"

#define SENTINELS_MAX	8

/*
 * hiredis is loaded when the Redis backend is opened (dlopen), not linked:
 * on the default LMDB store a program never maps it, and a plain-CGI
 * start does not pay its relocations (callgrind: ~85 000 instructions
 * of a ~14 M webhook request; lib/curlrt.h does the same for libcurl).
 * The soname is the one of the headers built against (hiredis.h's
 * HIREDIS_SONAME: 0.14 on Debian 12, 1.1.0 on 13).
 */
#define STR_(x)		#x
#define STR(x)		STR_(x)
#define HR_SONAME	"libhiredis.so." STR(HIREDIS_SONAME)

/* The functions used, filled once by hiredis_load and never changed
 * after: read-only process state, like the configuration. */
static struct {
	redisContext	*(*connect)(const char *, int, const struct timeval);
	redisContext	*(*connect_unix)(const char *, const struct timeval);
	int		 (*set_timeout)(redisContext *, const struct timeval);
	int		 (*keepalive)(redisContext *);
	void		*(*command_argv)(redisContext *, int, const char **,
			    const size_t *);
	void		 (*free_ctx)(redisContext *);
	void		 (*free_reply)(void *);
}			 hr;
static int		 hr_state;	/* 0 not tried, 1 loaded, -1 failed */

#define HR_SYM(h, f, name)	rtload_sym((h), HR_SONAME, (name), &hr.f, \
				    sizeof(hr.f))

/* Loads hiredis once; 0, or -1 with the reason in err. */
static int
hiredis_load(char *err, size_t errsz)
{
	void	*h;

	if (hr_state != 0)
		goto out;
	hr_state = -1;
	if ((h = rtload_open(HR_SONAME)) == NULL)
		goto out;
	if (HR_SYM(h, connect, "redisConnectWithTimeout") &&
	    HR_SYM(h, connect_unix, "redisConnectUnixWithTimeout") &&
	    HR_SYM(h, set_timeout, "redisSetTimeout") &&
	    HR_SYM(h, keepalive, "redisEnableKeepAlive") &&
	    HR_SYM(h, command_argv, "redisCommandArgv") &&
	    HR_SYM(h, free_ctx, "redisFree") &&
	    HR_SYM(h, free_reply, "freeReplyObject"))
		hr_state = 1;
	/* On failure the handle stays open: harmless. */
out:
	if (hr_state < 0)
		snprintf(err, errsz, "PAYGUARD_STORE=redis: cannot load %s "
		    "(package libhiredis)", HR_SONAME);
	return hr_state > 0 ? 0 : -1;
}

void
redis_reply_free(redisReply *rep)
{
	/* A reply exists only after hiredis was loaded. */
	if (rep != NULL)
		hr.free_reply(rep);
}

struct redis {
	redisContext	*c;
	struct redis_url url;
	char		 sentinels[SENTINELS_MAX][REDIS_ADDR_MAX];
	int		 sport[SENTINELS_MAX];
	size_t		 nsentinels;
	char		 master[128];
	struct timeval	 tv;
	uint32_t	 replicas;
	uint32_t	 wait_ms;
	char		 node[128];
	/* REDIS_DEFER: the server's settings are still to be checked at
	 * the first connection (it was unreachable at start); refused holds
	 * the one-line reason once a check failed, and every call then
	 * fails (503) without trying again. */
	int		 pending_check;
	int		 durable;
	char		 refused[256];
};

void
redis_url_free(struct redis_url *u)
{
	if (u->user != NULL) {
		OPENSSL_cleanse(u->user, strlen(u->user));
		free(u->user);
	}
	if (u->pass != NULL) {
		OPENSSL_cleanse(u->pass, strlen(u->pass));
		free(u->pass);
	}
	u->user = u->pass = NULL;
}

/* Parses a decimal in [lo, hi] from s..end; -1 when it is not one. */
static int
parse_num(const char *s, const char *end, int lo, int hi)
{
	long	 v = 0;

	if (s >= end)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9' || v > hi)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v < lo || v > hi ? -1 : (int)v;
}

enum pg_err
redis_url_parse(const char *url, struct redis_url *u)
{
	const char	*p, *at, *hp, *colon, *slash, *q;
	size_t		 n;
	enum pg_err	 e = PG_CONFIG;

	memset(u, 0, sizeof(*u));
	u->port = 6379;
	if (url == NULL)
		return PG_CONFIG;
	if (strncmp(url, "unix://", 7) == 0) {
		p = url + 7;
		q = strchr(p, '?');
		n = q != NULL ? (size_t)(q - p) : strlen(p);
		if (n == 0 || n >= sizeof(u->path) || p[0] != '/')
			goto out;
		memcpy(u->path, p, n);
		if (q != NULL) {
			if (strncmp(q, "?db=", 4) != 0 ||
			    (u->db = parse_num(q + 4, q + strlen(q), 0, 1000)) < 0)
				goto out;
		}
		e = PG_OK;
		goto out;
	}
	if (strncmp(url, "redis://", 8) != 0)
		goto out;
	p = url + 8;
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	/* The last '@' before the path: a password may contain '@'. */
	at = NULL;
	for (q = p; q < slash; q++)
		if (*q == '@')
			at = q;
	hp = p;
	if (at != NULL) {
		colon = memchr(p, ':', (size_t)(at - p));
		if (colon == NULL) {
			/* redis://password@host: Redis's own CLI reading. */
			u->pass = strndup(p, (size_t)(at - p));
		} else {
			if (colon > p)
				u->user = strndup(p, (size_t)(colon - p));
			u->pass = strndup(colon + 1, (size_t)(at - colon - 1));
			if (colon > p && u->user == NULL) {
				e = PG_ENOMEM;
				goto out;
			}
		}
		if (u->pass == NULL) {
			e = PG_ENOMEM;
			goto out;
		}
		hp = at + 1;
	}
	colon = memchr(hp, ':', (size_t)(slash - hp));
	n = (size_t)((colon != NULL ? colon : slash) - hp);
	if (n == 0 || n >= sizeof(u->host))
		goto out;
	memcpy(u->host, hp, n);
	if (colon != NULL && (u->port = parse_num(colon + 1, slash, 1,
	    65535)) < 0)
		goto out;
	if (*slash == '/' && slash[1] != '\0' &&
	    (u->db = parse_num(slash + 1, slash + strlen(slash), 0, 1000)) < 0)
		goto out;
	e = PG_OK;
out:
	if (e != PG_OK)
		redis_url_free(u);
	return e;
}

const char *
redis_node(const struct redis *r)
{
	return r->node;
}

static void
drop(struct redis *r)
{
	if (r->c != NULL)
		hr.free_ctx(r->c);
	r->c = NULL;
}

/* Runs a command on c directly (setup steps); NULL on any failure. */
static redisReply *
raw(redisContext *c, int argc, const char **argv)
{
	redisReply	*rep;

	rep = hr.command_argv(c, argc, argv, NULL);
	if (rep == NULL)
		return NULL;
	if (rep->type == REDIS_REPLY_ERROR) {
		redis_reply_free(rep);
		return NULL;
	}
	return rep;
}

static redisContext *
connect_to(const char *host, int port, const char *path,
    const struct timeval *tv)
{
	redisContext	*c;

	c = path != NULL && *path != '\0' ?
	    hr.connect_unix(path, *tv) :
	    hr.connect(host, port, *tv);
	if (c == NULL)
		return NULL;
	if (c->err != 0 || hr.set_timeout(c, *tv) != REDIS_OK) {
		hr.free_ctx(c);
		return NULL;
	}
	if (path == NULL || *path == '\0')
		(void)hr.keepalive(c);
	return c;
}

/* Asks the sentinels in turn for the primary's address. */
static int
ask_sentinels(struct redis *r, char *host, size_t hostsz, int *port)
{
	const char	*argv[3] = { "SENTINEL", "get-master-addr-by-name",
			    r->master };
	redisContext	*c;
	redisReply	*rep;
	size_t		 i;
	char		*ep;
	long		 lp;
	int		 ok = 0;

	for (i = 0; i < r->nsentinels && !ok; i++) {
		if ((c = connect_to(r->sentinels[i], r->sport[i], NULL,
		    &r->tv)) == NULL)
			continue;
		if ((rep = raw(c, 3, argv)) != NULL &&
		    rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
		    rep->element[0]->type == REDIS_REPLY_STRING &&
		    rep->element[1]->type == REDIS_REPLY_STRING &&
		    rep->element[0]->len < hostsz) {
			memcpy(host, rep->element[0]->str,
			    rep->element[0]->len + 1);
			/* strtol, not atoi: a port out of range is refused. */
			lp = strtol(rep->element[1]->str, &ep, 10);
			*port = *ep == '\0' && lp > 0 && lp < 65536 ? (int)lp : 0;
			ok = *port > 0;
		}
		if (rep != NULL)
			redis_reply_free(rep);
		hr.free_ctx(c);
	}
	return ok ? 0 : -1;
}

static enum pg_err check_server(struct redis *, int, char *, size_t);

/*
 * The start-up check of a server that was unreachable at start, on its
 * first connection.  A refusal is final for this process (logged once,
 * as at start); a lost connection leaves it for the next call.
 */
static enum pg_err
deferred_check(struct redis *r)
{
	char		 err[sizeof(r->refused)];
	enum pg_err	 e;

	r->pending_check = 0;	/* check_server's own calls connect */
	if ((e = check_server(r, r->durable, err, sizeof(err))) == PG_OK)
		return PG_OK;
	if (e == PG_CONFIG) {
		snprintf(r->refused, sizeof(r->refused), "%s", err);
		log_warnx("refusing to serve: %s", err);
		drop(r);
		return PG_STORE;
	}
	r->pending_check = 1;
	return e;
}

/* Connects (again) when there is no usable connection. */
static enum pg_err
ensure(struct redis *r)
{
	char		 host[REDIS_ADDR_MAX], db[16];
	const char	*argv[3];
	redisReply	*rep;
	int		 port = r->url.port, n;

	if (r->refused[0] != '\0')
		return PG_STORE;
	if (r->c != NULL && r->c->err == 0)
		return PG_OK;
	drop(r);
	snprintf(host, sizeof(host), "%s", r->url.host);
	if (r->nsentinels > 0 && ask_sentinels(r, host, sizeof(host),
	    &port) != 0) {
		log_warnx("redis: no sentinel knows the primary %s", r->master);
		return PG_STORE;
	}
	if ((r->c = connect_to(host, port, r->nsentinels > 0 ? NULL :
	    r->url.path, &r->tv)) == NULL) {
		log_warnx("redis: cannot connect to %s%s%s",
		    r->url.path[0] != '\0' && r->nsentinels == 0 ?
		    r->url.path : host, r->nsentinels > 0 ? " (primary per "
		    "the sentinels)" : "", "");
		return PG_STORE;
	}
	if (r->url.pass != NULL) {
		n = 0;
		argv[n++] = "AUTH";
		if (r->url.user != NULL)
			argv[n++] = r->url.user;
		argv[n++] = r->url.pass;
		if ((rep = raw(r->c, n, argv)) == NULL) {
			log_warnx("redis: authentication refused");
			drop(r);
			return PG_STORE;
		}
		redis_reply_free(rep);
	}
	if (r->url.db != 0) {
		snprintf(db, sizeof(db), "%d", r->url.db);
		argv[0] = "SELECT";
		argv[1] = db;
		if ((rep = raw(r->c, 2, argv)) == NULL) {
			log_warnx("redis: SELECT %s refused", db);
			drop(r);
			return PG_STORE;
		}
		redis_reply_free(rep);
	}
	if (r->nsentinels > 0) {
		/* A sentinel's answer can be stale during a failover. */
		argv[0] = "ROLE";
		rep = raw(r->c, 1, argv);
		if (rep == NULL || rep->type != REDIS_REPLY_ARRAY ||
		    rep->elements < 1 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    strcmp(rep->element[0]->str, "master") != 0) {
			log_warnx("redis: the sentinels' primary is not a "
			    "primary (failover in progress?)");
			if (rep != NULL)
				redis_reply_free(rep);
			drop(r);
			return PG_STORE;
		}
		redis_reply_free(rep);
	}
	if (r->pending_check)
		return deferred_check(r);
	return PG_OK;
}

/* Translates a failed call: no reply (I/O) or an error reply. */
static enum pg_err
failed(struct redis *r, redisReply *rep, const char *what)
{
	enum pg_err	 e = PG_STORE;

	if (rep == NULL) {
		if (r->c != NULL && r->c->err == REDIS_ERR_IO &&
		    (errno == EAGAIN || errno == EWOULDBLOCK)) {
			log_warnx("redis: %s timed out", what);
			e = PG_TIMEOUT;
		} else
			log_warnx("redis: %s failed: %s", what,
			    r->c != NULL ? r->c->errstr : "no connection");
		drop(r);
		return e;
	}
	/* The first word is the class: OOM, NOREPLICAS, READONLY, ... */
	log_warnx("redis: %s refused: %.*s", what, (int)(rep->len < 120 ?
	    rep->len : 120), rep->str);
	if (strncmp(rep->str, "READONLY", 8) == 0 ||
	    strncmp(rep->str, "LOADING", 7) == 0 ||
	    strncmp(rep->str, "MASTERDOWN", 10) == 0)
		drop(r);	/* the next call finds the primary again */
	redis_reply_free(rep);
	return e;
}

enum pg_err
redis_cmd(struct redis *r, int argc, const char **argv,
    const size_t *argvlen, redisReply **reply)
{
	redisReply	*rep;
	enum pg_err	 e;

	*reply = NULL;
	if ((e = ensure(r)) != PG_OK)
		return e;
	rep = hr.command_argv(r->c, argc, argv, argvlen);
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
		return failed(r, rep, argv[0]);
	*reply = rep;
	return PG_OK;
}

#define EVAL_ARGS_MAX	24

enum pg_err
redis_eval(struct redis *r, struct redis_script *s, int nkeys, int argc,
    const char **argv, const size_t *argvlen, redisReply **reply)
{
	const char	*av[EVAL_ARGS_MAX + 3];
	size_t		 al[EVAL_ARGS_MAX + 3];
	unsigned char	 md[SHA_DIGEST_LENGTH];
	char		 nk[16];
	redisReply	*rep;
	int		 i;
	enum pg_err	 e;

	*reply = NULL;
	if (argc > EVAL_ARGS_MAX || nkeys > argc)
		return PG_EINVAL;
	if (s->sha[0] == '\0') {
		SHA1((const unsigned char *)s->src, strlen(s->src), md);
		codec_hex_encode(md, sizeof(md), s->sha);
	}
	if ((e = ensure(r)) != PG_OK)
		return e;
	snprintf(nk, sizeof(nk), "%d", nkeys);
	av[0] = "EVALSHA";
	al[0] = 7;
	av[1] = s->sha;
	al[1] = 40;
	av[2] = nk;
	al[2] = strlen(nk);
	for (i = 0; i < argc; i++) {
		av[i + 3] = argv[i];
		al[i + 3] = argvlen != NULL ? argvlen[i] : strlen(argv[i]);
	}
	rep = hr.command_argv(r->c, argc + 3, av, al);
	if (rep != NULL && rep->type == REDIS_REPLY_ERROR &&
	    strncmp(rep->str, "NOSCRIPT", 8) == 0) {
		/* The script cache is not persisted nor replicated: after a
		 * restart or a failover send the source once more. */
		redis_reply_free(rep);
		av[0] = "EVAL";
		al[0] = 4;
		av[1] = s->src;
		al[1] = strlen(s->src);
		rep = hr.command_argv(r->c, argc + 3, av, al);
	}
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
		return failed(r, rep, s->name);
	*reply = rep;
	return PG_OK;
}

enum pg_err
redis_wait_replicas(struct redis *r)
{
	char		 n[16], ms[16];
	const char	*argv[3] = { "WAIT", n, ms };
	redisReply	*rep;
	enum pg_err	 e;

	if (r->replicas == 0)
		return PG_OK;
	snprintf(n, sizeof(n), "%u", r->replicas);
	snprintf(ms, sizeof(ms), "%u", r->wait_ms);
	if ((e = redis_cmd(r, 3, argv, NULL, &rep)) != PG_OK)
		return e;
	if (rep->type != REDIS_REPLY_INTEGER ||
	    rep->integer < (long long)r->replicas) {
		log_warnx("redis: %lld of %u replica(s) confirmed within %u ms",
		    rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1LL,
		    r->replicas, r->wait_ms);
		e = PG_STORE;
	}
	redis_reply_free(rep);
	return e;
}

/* Parses "host:port,host:port" into r's sentinel list. */
static int
parse_sentinels(struct redis *r, const char *s)
{
	const char	*p = s, *comma, *colon;
	size_t		 n;

	while (*p != '\0') {
		comma = strchr(p, ',');
		if (comma == NULL)
			comma = p + strlen(p);
		colon = NULL;
		for (const char *q = p; q < comma; q++)
			if (*q == ':')
				colon = q;
		if (colon == NULL || r->nsentinels == SENTINELS_MAX)
			return -1;
		n = (size_t)(colon - p);
		if (n == 0 || n >= REDIS_ADDR_MAX)
			return -1;
		memcpy(r->sentinels[r->nsentinels], p, n);
		r->sentinels[r->nsentinels][n] = '\0';
		if ((r->sport[r->nsentinels] = parse_num(colon + 1, comma, 1,
		    65535)) < 0)
			return -1;
		r->nsentinels++;
		p = *comma == ',' ? comma + 1 : comma;
	}
	return r->nsentinels > 0 ? 0 : -1;
}

/* Finds "field:value" in an INFO reply; copies value into out. */
static int
info_field(const redisReply *rep, const char *field, char *out,
    size_t outsz)
{
	const char	*p = rep->str;
	size_t		 n = strlen(field), m;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, field, n) == 0 && p[n] == ':') {
			m = strcspn(p + n + 1, "\r\n");
			if (m >= outsz)
				return -1;
			memcpy(out, p + n + 1, m);
			out[m] = '\0';
			return 0;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return -1;
}

/* The start-up checks of the server's settings. */
static enum pg_err
check_server(struct redis *r, int durable, char *err, size_t errsz)
{
	const char	*info_mem[2] = { "INFO", "memory" };
	const char	*info_per[2] = { "INFO", "persistence" };
	const char	*cfg_get[3] = { "CONFIG", "GET", "appendfsync" };
	char		 v[64];
	redisReply	*rep = NULL;
	enum pg_err	 e;

	if ((e = redis_cmd(r, 2, info_mem, NULL, &rep)) != PG_OK) {
		snprintf(err, errsz, "REDIS_URL: the Redis server cannot be "
		    "reached or refused INFO");
		return e;
	}
	if (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_STATUS)
		v[0] = '\0';
	else if (info_field(rep, "maxmemory_policy", v, sizeof(v)) != 0)
		v[0] = '\0';
	redis_reply_free(rep);
	if (strcmp(v, "noeviction") != 0) {
		/* Every payguard record has a TTL: volatile-* evicts live
		 * dedup and idempotency records. */
		snprintf(err, errsz, "REDIS_URL: the Redis server's "
		    "maxmemory-policy is %s, payguard needs noeviction",
		    v[0] != '\0' ? v : "unknown");
		return PG_CONFIG;
	}
	if (!durable)
		return PG_OK;
	if ((e = redis_cmd(r, 2, info_per, NULL, &rep)) != PG_OK) {
		snprintf(err, errsz, "REDIS_URL: INFO persistence refused");
		return e;
	}
	if (info_field(rep, "aof_enabled", v, sizeof(v)) != 0)
		v[0] = '\0';
	redis_reply_free(rep);
	if (strcmp(v, "1") != 0) {
		snprintf(err, errsz, "REDIS_URL: the Redis server has no "
		    "AOF (appendonly yes, appendfsync always are needed "
		    "with PAYGUARD_SYNC=1; PAYGUARD_SYNC=0 serves without)");
		return PG_CONFIG;
	}
	/* INFO has no appendfsync field: CONFIG GET tells. */
	if (redis_cmd(r, 3, cfg_get, NULL, &rep) != PG_OK) {
		snprintf(err, errsz, "REDIS_URL: CONFIG GET appendfsync "
		    "refused, so durability cannot be checked (PAYGUARD_SYNC=0 "
		    "serves without)");
		return PG_CONFIG;
	}
	v[0] = '\0';
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    rep->element[1]->type == REDIS_REPLY_STRING)
		snprintf(v, sizeof(v), "%s", rep->element[1]->str);
	redis_reply_free(rep);
	if (strcmp(v, "always") != 0) {
		snprintf(err, errsz, "REDIS_URL: the Redis server's "
		    "appendfsync is %s, PAYGUARD_SYNC=1 needs always "
		    "(PAYGUARD_SYNC=0 serves without)", v[0] != '\0' ? v : "unknown");
		return PG_CONFIG;
	}
	return PG_OK;
}

enum pg_err
redis_open(const struct config *cfg, unsigned int flags, struct redis **out,
    char *err, size_t errsz)
{
	struct redis	*r;
	enum pg_err	 e = PG_CONFIG;

	*out = NULL;
	err[0] = '\0';
	if (hiredis_load(err, errsz) != 0)
		return PG_CONFIG;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return PG_ENOMEM;
	r->tv.tv_sec = cfg->redis_timeout_ms / 1000;
	r->tv.tv_usec = (cfg->redis_timeout_ms % 1000) * 1000;
	r->replicas = cfg->redis_replicas;
	r->wait_ms = cfg->redis_wait_ms;
	if (cfg->node != NULL && cfg->node[0] != '\0')
		snprintf(r->node, sizeof(r->node), "%s", cfg->node);
	else if (gethostname(r->node, sizeof(r->node) - 1) != 0)
		snprintf(r->node, sizeof(r->node), "node");
	if (cfg->redis_sentinels != NULL) {
		if (parse_sentinels(r, cfg->redis_sentinels) != 0) {
			snprintf(err, errsz, "REDIS_SENTINELS: expected "
			    "host:port[,host:port...] (at most %d)",
			    SENTINELS_MAX);
			goto out;
		}
		if (cfg->redis_master == NULL || cfg->redis_master[0] == '\0' ||
		    strlen(cfg->redis_master) >= sizeof(r->master)) {
			snprintf(err, errsz, "REDIS_MASTER_NAME: required "
			    "with REDIS_SENTINELS");
			goto out;
		}
		snprintf(r->master, sizeof(r->master), "%s", cfg->redis_master);
		/* REDIS_URL then only brings credentials and the db. */
		if (cfg->redis_url != NULL &&
		    redis_url_parse(cfg->redis_url, &r->url) != PG_OK) {
			snprintf(err, errsz, "REDIS_URL: expected redis://"
			    "[user:password@]host:port/db or unix:///path?db=N");
			goto out;
		}
	} else if (redis_url_parse(cfg->redis_url, &r->url) != PG_OK) {
		snprintf(err, errsz, cfg->redis_url == NULL ?
		    "REDIS_URL: required with PAYGUARD_STORE=redis" :
		    "REDIS_URL: expected redis://[user:password@]host:port/db "
		    "or unix:///path?db=N");
		goto out;
	}
	r->durable = cfg->sync;
	if ((e = check_server(r, cfg->sync, err, errsz)) != PG_OK) {
		if (e == PG_CONFIG || !(flags & REDIS_DEFER))
			goto out;
		/* Unreachable now: a server process starts anyway, answers
		 * 503 until Redis answers, and checks it then. */
		log_warnx("redis: %s; checked again at the first request",
		    err);
		err[0] = '\0';
		r->pending_check = 1;
		e = PG_OK;
	}
	*out = r;
	r = NULL;
out:
	redis_close(r);
	return e;
}

void
redis_close(struct redis *r)
{
	if (r == NULL)
		return;
	drop(r);
	redis_url_free(&r->url);
	free(r);
}
