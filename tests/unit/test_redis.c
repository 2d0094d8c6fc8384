/* Unit tests: the Redis backend (store_redis.c, redis.c) against a real
 * redis-server started here on a unix socket in a scratch directory, AOF
 * always.  Two store handles play two nodes sharing it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deliver.h"
#include "helpers.h"
#include "idem.h"
#include "inbox.h"
#include "ratelimit.h"
#include "redis.h"
#include "store_redis.h"
#include "token.h"

static char dir[4096], sock[4200], url[4300];
static pid_t rpid = -1;
static struct config cfg;
static struct keyring ring;
static struct store *na, *nb;	/* node A, node B */

static const char body[] = "{\"id\":\"evt_R1\",\"object\":\"event\","
    "\"type\":\"customer.created\",\"created\":1,"
    "\"data\":{\"object\":{\"email\":\"plaintext.canary@example.com\"}}}";

static void
cmd_ok(const char *fmt, const char *a, const char *b)
{
	redisReply *r = th_redis_cmd(sock, fmt, a, b);

	assert_non_null(r);
	assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
	freeReplyObject(r);
}

static int
setup(void **s)
{
	char	 err[256], sd[4400];

	(void)s;
	if (th_scratch(dir, sizeof(dir), "redis-test") != 0)
		return -1;
	snprintf(sock, sizeof(sock), "%s/r/redis.sock", dir);
	snprintf(url, sizeof(url), "unix://%s", sock);
	snprintf(sd, sizeof(sd), "%s/r", dir);
	if ((rpid = th_redis_start(sd, sock, "always", 0)) < 0)
		return -1;
	setenv("PAYGUARD_STORE", "redis", 1);
	setenv("REDIS_URL", url, 1);
	setenv("PAYGUARD_REDIS_TIMEOUT_MS", "500", 1);
	setenv("PAYGUARD_RATE_LIMITS", "test=5", 1);
	setenv("STRIPE_RATE_LIMIT_WINDOW", "3", 1);
	setenv("PAYGUARD_MAX_ATTEMPTS", "3", 1);
	setenv("PAYGUARD_RETRY_BASE", "0", 1);
	setenv("PAYGUARD_IDEMPOTENCY_LOCK_TIMEOUT", "90", 1);
	snprintf(sd, sizeof(sd), "%s/a", dir);
	setenv("PAYGUARD_STATE_DIR", sd, 1);
	if (th_config_ring(&cfg, &ring) != 0)
		return -1;
	if (store_open_config(&cfg, 0, &na, err, sizeof(err)) != PG_OK)
		return -1;
	/* Node B: its own state directory, the same Redis. */
	free(cfg.state_dir);
	snprintf(sd, sizeof(sd), "%s/b", dir);
	cfg.state_dir = strdup(sd);
	return store_open_config(&cfg, 0, &nb, err, sizeof(err)) == PG_OK ?
	    0 : -1;
}

static int
teardown(void **s)
{
	(void)s;
	store_close(na);
	store_close(nb);
	th_stop(rpid);
	config_free(&cfg);
	return th_remove(dir);
}

static void
test_url_parse(void **s)
{
	struct redis_url u;

	(void)s;
	assert_int_equal(redis_url_parse("redis://u1:p@ss:w0rd@db.example:6380/3",
	    &u), PG_OK);
	assert_string_equal(u.host, "db.example");
	assert_int_equal(u.port, 6380);
	assert_int_equal(u.db, 3);
	assert_string_equal(u.user, "u1");
	assert_string_equal(u.pass, "p@ss:w0rd");
	redis_url_free(&u);
	assert_int_equal(redis_url_parse("redis://:secret@127.0.0.1", &u), PG_OK);
	assert_null(u.user);
	assert_string_equal(u.pass, "secret");
	assert_int_equal(u.port, 6379);
	redis_url_free(&u);
	assert_int_equal(redis_url_parse("unix:///run/redis/r.sock?db=2", &u),
	    PG_OK);
	assert_string_equal(u.path, "/run/redis/r.sock");
	assert_int_equal(u.db, 2);
	redis_url_free(&u);
	assert_int_equal(redis_url_parse("http://x", &u), PG_CONFIG);
	assert_int_equal(redis_url_parse("redis://h:99999/0", &u), PG_CONFIG);
	assert_int_equal(redis_url_parse("redis://h:1/x", &u), PG_CONFIG);
	assert_int_equal(redis_url_parse("unix://rel/path", &u), PG_CONFIG);
	assert_int_equal(redis_url_parse(NULL, &u), PG_CONFIG);
}

/* The password never reaches `config check`. */
static void
test_config_dump_masks_password(void **s)
{
	struct config	 c;
	char		 err[256], out[4400], buf[16384];
	FILE		*f;
	size_t		 n;
	int		 fd;

	(void)s;
	setenv("REDIS_URL", "redis://admin:Sup3rSecretPassw0rd@10.0.0.5:6379/1", 1);
	assert_int_equal(config_load(&c, 0, err, sizeof(err)), PG_OK);
	snprintf(out, sizeof(out), "%s/dump.txt", dir);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	config_dump(&c, fd);
	close(fd);
	config_free(&c);
	setenv("REDIS_URL", url, 1);
	f = fopen(out, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_null(strstr(buf, "Sup3rSecret"));
	assert_null(strstr(buf, "Passw0rd"));
	assert_non_null(strstr(buf, "REDIS_URL=redis://****@10.0.0.5:6379/1"));
	assert_non_null(strstr(buf, "PAYGUARD_STORE=redis"));
}

/* Durable mode refuses a server without fsync'd AOF; noeviction only. */
static void
test_startup_checks(void **s)
{
	char		 d2[4400], s2[4500], u2[4600], err[256];
	struct config	 c;
	struct store	*x = NULL;
	pid_t		 p2;

	(void)s;
	snprintf(d2, sizeof(d2), "%s/r2", dir);
	snprintf(s2, sizeof(s2), "%s/redis.sock", d2);
	snprintf(u2, sizeof(u2), "unix://%s", s2);
	assert_true((p2 = th_redis_start(d2, s2, "everysec", 0)) > 0);
	setenv("REDIS_URL", u2, 1);
	assert_int_equal(config_load(&c, 0, err, sizeof(err)), PG_OK);
	assert_int_equal(store_open_config(&c, 0, &x, err, sizeof(err)),
	    PG_CONFIG);
	assert_null(x);
	assert_non_null(strstr(err, "appendfsync is everysec"));
	/* PAYGUARD_SYNC=0 explicitly: served. */
	c.sync = 0;
	assert_int_equal(store_open_config(&c, STORE_NOSYNC, &x, err,
	    sizeof(err)), PG_OK);
	store_close(x);
	x = NULL;
	config_free(&c);
	setenv("REDIS_URL", url, 1);
	th_stop(p2);
	/* An evicting policy is refused in any mode. */
	cmd_ok("CONFIG SET maxmemory-policy %s%s", "volatile-lru", "");
	assert_int_equal(config_load(&c, 0, err, sizeof(err)), PG_OK);
	assert_int_equal(store_open_config(&c, 0, &x, err, sizeof(err)),
	    PG_CONFIG);
	assert_non_null(strstr(err, "volatile-lru"));
	cmd_ok("CONFIG SET maxmemory-policy %s%s", "noeviction", "");
	assert_int_equal(store_open_config(&c, 0, &x, err, sizeof(err)), PG_OK);
	store_close(x);
	config_free(&c);
}

/*
 * A serving process (STORE_SERVE) started while Redis is unreachable:
 * it opens, every call fails with PG_STORE (503) until Redis answers,
 * then the start-up check runs: a good server serves, a server that
 * fails the check (appendfsync everysec) is refused for good.  The CLI
 * (no STORE_SERVE) still refuses to open.
 */
static void
test_deferred_check(void **s)
{
	char		 d3[4400], s3[4500], u3[4600], err[256];
	struct config	 c;
	struct store	*x = NULL;
	struct rl_result rl;
	redisReply	*rep = NULL;
	const char	*ping[1] = { "PING" };
	pid_t		 p3;
	int		 i;

	(void)s;
	snprintf(d3, sizeof(d3), "%s/r3", dir);
	snprintf(s3, sizeof(s3), "%s/redis.sock", d3);
	snprintf(u3, sizeof(u3), "unix://%s", s3);
	setenv("REDIS_URL", u3, 1);
	assert_int_equal(config_load(&c, 0, err, sizeof(err)), PG_OK);
	assert_int_not_equal(store_open_config(&c, 0, &x, err, sizeof(err)),
	    PG_OK);
	assert_null(x);
	assert_int_equal(store_open_config(&c, STORE_SERVE, &x, err,
	    sizeof(err)), PG_OK);
	assert_int_equal(redis_cmd(rstore_redis(store_shared(x)), 1, ping,
	    NULL, &rep), PG_STORE);
	/* The limiter fails open, as on LMDB, and says so. */
	assert_int_equal(rl_check(x, &c, "test", "deferred", &rl), PG_STORE);
	assert_true(rl.allowed && rl.failed_open);
	assert_true((p3 = th_redis_start(d3, s3, "always", 0)) > 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(redis_cmd(rstore_redis(store_shared(x)), 1,
		    ping, NULL, &rep), PG_OK);
		freeReplyObject(rep);
	}
	store_close(x);
	x = NULL;
	th_stop(p3);
	/* Unreachable at start, then a server that fails the check. */
	assert_int_equal(store_open_config(&c, STORE_SERVE, &x, err,
	    sizeof(err)), PG_OK);
	assert_true((p3 = th_redis_start(d3, s3, "everysec", 0)) > 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(redis_cmd(rstore_redis(store_shared(x)), 1,
		    ping, NULL, &rep), PG_STORE);
	store_close(x);
	th_stop(p3);
	config_free(&c);
	setenv("REDIS_URL", url, 1);
}

/* Never more than L in W summed over both nodes; the clock is Redis's. */
static void
test_rate_across_nodes(void **s)
{
	struct rl_result r;
	int		 i, admitted = 0;

	(void)s;
	for (i = 0; i < 8; i++) {
		assert_int_equal(rl_check(i % 2 ? na : nb, &cfg, "test",
		    "9.9.9.9", &r), PG_OK);
		assert_false(r.failed_open);
		admitted += r.allowed;
		if (i == 4) {
			assert_int_equal(r.remaining, 0);
		}
	}
	assert_int_equal(admitted, 5);
	assert_false(r.allowed);
	assert_true(r.retry_after >= 1 && r.retry_after <= 3);
	/* Another identity has its own window. */
	assert_int_equal(rl_check(na, &cfg, "test", "8.8.8.8", &r), PG_OK);
	assert_true(r.allowed);
	assert_int_equal(r.remaining, 4);
	/* After W the window is open again. */
	sleep(3);
	assert_int_equal(rl_check(nb, &cfg, "test", "9.9.9.9", &r), PG_OK);
	assert_true(r.allowed);
}

/* Sync delivery across nodes: one delivery; a failed one is retried. */
static void
test_inbox_sync_across_nodes(void **s)
{
	struct event_info ev = th_event("evt_R1");
	enum inbox_outcome out;
	struct ev_hdr	 h;
	unsigned char	*b = NULL;
	size_t		 len;

	(void)s;
	assert_int_equal(inbox_accept(na, &ring, &cfg, &ev, body, strlen(body),
	    1, &out, &h), PG_OK);
	assert_int_equal(out, INBOX_NEW);
	assert_int_equal(h.state, EV_DELIVERING);
	assert_int_equal(h.attempts, 1);
	assert_string_equal(h.type, "customer.created");
	assert_int_equal(inbox_accept(nb, &ring, &cfg, &ev, body, strlen(body),
	    1, &out, &h), PG_OK);
	assert_int_equal(out, INBOX_IN_PROGRESS);
	/* B does not hold the lease: its outcome changes nothing. */
	assert_int_equal(inbox_complete(nb, &cfg, "evt_R1", &h, 1, 0, NULL),
	    PG_CONFLICT);
	assert_int_equal(inbox_complete(na, &cfg, "evt_R1", &h, 0, 1, "exit 1"),
	    PG_OK);
	assert_int_equal(inbox_get(nb, &ring, "evt_R1", &h, &b, &len), PG_OK);
	assert_int_equal(h.state, EV_PENDING);
	assert_int_equal(h.last_status, 1);
	assert_string_equal(h.last_error, "exit 1");
	assert_int_equal(len, strlen(body));
	assert_memory_equal(b, body, len);
	free(b);
	/* Stripe's retry lands on B: delivered again there. */
	assert_int_equal(inbox_accept(nb, &ring, &cfg, &ev, body, strlen(body),
	    1, &out, &h), PG_OK);
	assert_int_equal(out, INBOX_RECLAIMED);
	assert_int_equal(h.attempts, 2);
	assert_int_equal(inbox_complete(nb, &cfg, "evt_R1", &h, 1, 0, NULL), PG_OK);
	assert_int_equal(inbox_accept(na, &ring, &cfg, &ev, body, strlen(body),
	    1, &out, &h), PG_OK);
	assert_int_equal(out, INBOX_DUPLICATE);
	assert_int_equal(h.state, EV_DELIVERED);
	/* The replay record expires with the dedup horizon. */
	{
		redisReply *r = th_redis_cmd(sock, "PTTL pg:{ev}:e:evt_R1");
		assert_non_null(r);
		assert_int_equal(r->type, REDIS_REPLY_INTEGER);
		assert_true(r->integer > 0 &&
		    r->integer <= (long long)cfg.wh_dedup_ttl * 1000);
		freeReplyObject(r);
	}
	/* The body is sealed in Redis: no plaintext there. */
	{
		redisReply *r = th_redis_cmd(sock, "HGET pg:{ev}:e:evt_R1 rec");
		assert_non_null(r);
		assert_int_equal(r->type, REDIS_REPLY_STRING);
		assert_null(memmem(r->str, r->len, "plaintext.canary", 16));
		freeReplyObject(r);
	}
}

/* A worker whose lease ran out and was taken over changes nothing. */
static void
test_queue_lease_owner(void **s)
{
	struct event_info ev = th_event("evt_Q1");
	enum inbox_outcome out;
	struct ev_hdr	 h;
	char		 id[EVENT_ID_MAX + 1];
	unsigned char	*b = NULL;
	size_t		 len;

	(void)s;
	assert_int_equal(inbox_accept(na, &ring, &cfg, &ev, body, strlen(body),
	    0, &out, &h), PG_OK);
	assert_int_equal(out, INBOX_NEW);
	assert_int_equal(h.state, EV_PENDING);
	/* Node B's backlog counts node A's event. */
	{
		uint64_t n = 0, oldest = 0;
		assert_int_equal(inbox_backlog(nb, &n, &oldest), PG_OK);
		assert_int_equal(n, 1);
		assert_int_equal(oldest, h.received_ms);
	}
	assert_int_equal(inbox_claim_next(nb, &ring, &cfg, id, &h, &b, &len),
	    PG_OK);
	assert_string_equal(id, "evt_Q1");
	assert_memory_equal(b, body, len);
	free(b);
	assert_int_equal(inbox_claim_next(na, &ring, &cfg, id, &h, &b, &len),
	    PG_NOTFOUND);
	/* B's lease runs out (made due now behind its back): A takes it. */
	cmd_ok("ZADD pg:{ev}:q 0 %s%s", "evt_Q1", "");
	assert_int_equal(inbox_claim_next(na, &ring, &cfg, id, &h, &b, &len),
	    PG_OK);
	free(b);
	assert_int_equal(h.attempts, 2);
	assert_int_equal(inbox_complete(nb, &cfg, "evt_Q1", &h, 1, 0, NULL),
	    PG_CONFLICT);
	assert_int_equal(inbox_get(na, &ring, "evt_Q1", &h, NULL, NULL), PG_OK);
	assert_int_equal(h.state, EV_DELIVERING);
	assert_int_equal(inbox_complete(na, &cfg, "evt_Q1", &h, 1, 0, NULL), PG_OK);
	assert_int_equal(inbox_get(nb, &ring, "evt_Q1", &h, NULL, NULL), PG_OK);
	assert_int_equal(h.state, EV_DELIVERED);
}

/*
 * The outcome names its claim (owner token and attempt), as on LMDB: an
 * outcome computed under a claim whose lease ran out lands on nothing,
 * even when the handle holding the new claim is the same, and a lease
 * that was taken over by a raw script call (another node's token) is
 * not ours either.  Nothing changes in the record on a refusal.
 */
static void
test_outcome_checks_claim(void **s)
{
	struct event_info ev = th_event("evt_O1");
	enum inbox_outcome out;
	struct ev_hdr	 h1, h2, h;
	char		 id[EVENT_ID_MAX + 1];
	unsigned char	*b = NULL;
	size_t		 len;

	(void)s;
	assert_int_equal(inbox_accept(na, &ring, &cfg, &ev, body, strlen(body),
	    0, &out, &h), PG_OK);
	assert_int_equal(inbox_claim_next(na, &ring, &cfg, id, &h1, &b, &len),
	    PG_OK);
	free(b);
	assert_string_equal(id, "evt_O1");
	assert_int_equal(h1.attempts, 1);
	/* The lease runs out while the first attempt's handler still runs;
	 * the same worker claims the event again (attempt 2). */
	cmd_ok("ZADD pg:{ev}:q 0 %s%s", "evt_O1", "");
	assert_int_equal(inbox_claim_next(na, &ring, &cfg, id, &h2, &b, &len),
	    PG_OK);
	free(b);
	assert_int_equal(h2.attempts, 2);
	/* The first attempt's late outcome: refused, nothing recorded. */
	assert_int_equal(inbox_complete(na, &cfg, "evt_O1", &h1, 1, 0, NULL),
	    PG_CONFLICT);
	assert_int_equal(inbox_get(nb, &ring, "evt_O1", &h, NULL, NULL), PG_OK);
	assert_int_equal(h.state, EV_DELIVERING);
	assert_int_equal(h.attempts, 2);
	assert_int_equal(h.delivered_ms, 0);
	/* Another claimant's token in the record (a takeover the handle
	 * never saw): the current claim of this handle is not it any more. */
	cmd_ok("HSET pg:{ev}:e:evt_O1 own %s%s", "00000000000000000000000000000000", "");
	assert_int_equal(inbox_complete(na, &cfg, "evt_O1", &h2, 0, 1, "x"),
	    PG_CONFLICT);
	assert_int_equal(inbox_get(nb, &ring, "evt_O1", &h, NULL, NULL), PG_OK);
	assert_int_equal(h.state, EV_DELIVERING);
	assert_int_equal(h.last_error[0], '\0');
}

static int
count_cb(const char *id, const struct ev_hdr *h, void *arg)
{
	(void)id;
	(void)h;
	(*(int *)arg)++;
	return 0;
}

/* Dead letters, operator retry, list and purge, as on LMDB. */
static void
test_dead_retry_purge(void **s)
{
	struct event_info ev = th_event("evt_D1");
	enum inbox_outcome out;
	struct ev_hdr	 h;
	size_t		 done, failed, n;
	char		 hs[4400];
	FILE		*f;
	int		 cnt = 0;

	(void)s;
	snprintf(hs, sizeof(hs), "%s/fail.sh", dir);
	f = fopen(hs, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\ncat >/dev/null\nexit 3\n", f);
	fclose(f);
	chmod(hs, 0755);
	cfg.wh_handler = hs;
	assert_int_equal(inbox_accept(na, &ring, &cfg, &ev, body, strlen(body),
	    0, &out, &h), PG_OK);
	/* Node B's worker delivers node A's event: 3 attempts, then dead. */
	assert_int_equal(deliver_due(nb, &ring, &cfg, 0, &done, &failed), PG_OK);
	assert_int_equal(done, 0);
	assert_int_equal(failed, 3);
	assert_int_equal(inbox_get(na, &ring, "evt_D1", &h, NULL, NULL), PG_OK);
	assert_int_equal(h.state, EV_DEAD);
	assert_int_equal(h.attempts, 3);
	assert_string_equal(h.last_error, "handler exited 3");
	f = fopen(hs, "w");
	fputs("#!/bin/sh\ncat >/dev/null\nexit 0\n", f);
	fclose(f);
	assert_int_equal(inbox_retry(nb, "evt_D1"), PG_OK);
	assert_int_equal(deliver_due(na, &ring, &cfg, 0, &done, &failed), PG_OK);
	assert_int_equal(done, 1);
	assert_int_equal(inbox_retry(na, "evt_D1"), PG_CONFLICT);
	assert_int_equal(inbox_retry(na, "evt_nope"), PG_NOTFOUND);
	cfg.wh_handler = NULL;
	assert_int_equal(inbox_list(nb, count_cb, &cnt), PG_OK);
	assert_true(cnt >= 3);
	assert_int_equal(inbox_purge(na, 0, &n), PG_OK);
	assert_int_equal(n, 0);
	assert_int_equal(inbox_purge(na, 1, &n), PG_OK);
	assert_int_equal(n, (size_t)cnt);
	cnt = 0;
	assert_int_equal(inbox_list(nb, count_cb, &cnt), PG_OK);
	assert_int_equal(cnt, 0);
}

/* In flight on A answers 409 on B; completed replays anywhere; a
 * taken-over owner cannot overwrite the new owner's result. */
static void
test_idempotency_across_nodes(void **s)
{
	struct idem_result r;
	unsigned char	 fp1[32], fp2[32];
	char		 upkey[IDEM_UPKEY_MAX + 1];

	(void)s;
	memset(fp1, 1, sizeof(fp1));
	memset(fp2, 2, sizeof(fp2));
	assert_int_equal(idem_begin(na, &ring, &cfg, "shop", "k1", fp1, &r), PG_OK);
	assert_int_equal(r.outcome, IDEM_PROCEED);
	memcpy(upkey, r.upstream_key, sizeof(upkey));
	assert_int_equal(idem_begin(nb, &ring, &cfg, "shop", "k1", fp1, &r), PG_OK);
	assert_int_equal(r.outcome, IDEM_IN_PROGRESS);
	assert_string_equal(r.upstream_key, upkey);
	assert_int_equal(idem_begin(nb, &ring, &cfg, "shop", "k1", fp2, &r), PG_OK);
	assert_int_equal(r.outcome, IDEM_MISMATCH);
	/* B never owned it. */
	assert_int_equal(idem_finish(nb, &ring, "shop", "k1", 200, "{}", 2),
	    PG_CONFLICT);
	assert_int_equal(idem_finish(na, &ring, "shop", "k1", 402,
	    "{\"error\":{\"card\":\"4242424242424242\"}}", 38), PG_OK);
	assert_int_equal(idem_begin(nb, &ring, &cfg, "shop", "k1", fp1, &r), PG_OK);
	assert_int_equal(r.outcome, IDEM_REPLAY);
	assert_int_equal(r.status, 402);
	assert_int_equal(r.bodylen, 38);
	assert_memory_equal(r.body, "{\"error\":{\"card\":\"4242424242424242\"}}", 38);
	free(r.body);
	/* Sealed at rest in Redis too. */
	{
		redisReply *x = th_redis_cmd(sock, "KEYS pg:{i:*");
		size_t i;
		assert_non_null(x);
		assert_true(x->elements >= 1);
		for (i = 0; i < x->elements; i++) {
			redisReply *y = th_redis_cmd(sock, "HGET %s rec", x->element[i]->str);
			assert_non_null(y);
			if (y->type == REDIS_REPLY_STRING)
				assert_null(memmem(y->str, y->len,
				    "4242424242424242", 16));
			freeReplyObject(y);
		}
		freeReplyObject(x);
	}
	/* Lock timeout 0: B takes the key over at once; A's late answer
	 * must not overwrite B's. */
	cfg.idem_lock_timeout = 0;
	assert_int_equal(idem_begin(na, &ring, &cfg, "shop", "k2", fp1, &r), PG_OK);
	assert_int_equal(r.outcome, IDEM_PROCEED);
	memcpy(upkey, r.upstream_key, sizeof(upkey));
	assert_int_equal(idem_begin(nb, &ring, &cfg, "shop", "k2", fp1, &r), PG_OK);
	assert_int_equal(r.outcome, IDEM_PROCEED);
	assert_true(r.taken_over);
	assert_string_equal(r.upstream_key, upkey);
	assert_int_equal(idem_finish(na, &ring, "shop", "k2", 500, "{}", 2),
	    PG_CONFLICT);
	assert_int_equal(idem_finish(nb, &ring, "shop", "k2", 200, "{\"ok\":1}",
	    8), PG_OK);
	cfg.idem_lock_timeout = 90;
	assert_int_equal(idem_begin(na, &ring, &cfg, "shop", "k2", fp1, &r), PG_OK);
	assert_int_equal(r.outcome, IDEM_REPLAY);
	assert_int_equal(r.status, 200);
	free(r.body);
	/* Forget (a 429): the next request starts afresh. */
	assert_int_equal(idem_begin(na, &ring, &cfg, "shop", "k3", fp1, &r), PG_OK);
	assert_int_equal(idem_forget(na, "shop", "k3"), PG_OK);
	assert_int_equal(idem_begin(nb, &ring, &cfg, "shop", "k3", fp2, &r), PG_OK);
	assert_int_equal(r.outcome, IDEM_PROCEED);
	assert_false(r.taken_over);
}

static int
tok_cb(const char *name, const struct token_rec *r, void *arg)
{
	(void)r;
	if (strcmp(name, "shop") == 0)
		(*(int *)arg)++;
	return 0;
}

static void
test_tokens_across_nodes(void **s)
{
	struct token_ctx t;
	struct token_rec rec;
	char		 tok[TOKEN_STR_MAX], tok2[TOKEN_STR_MAX],
			 name[TOKEN_NAME_MAX + 1];
	int		 n = 0;

	(void)s;
	memset(&t, 0, sizeof(t));
	memset(t.key, 7, 32);
	t.keylen = 32;
	assert_int_equal(token_create(na, &t, "shop", SCOPE_WRITE, "", "", tok), PG_OK);
	assert_int_equal(token_create(nb, &t, "shop", SCOPE_READ, "", "", tok2),
	    PG_EXISTS);
	assert_int_equal(token_verify(nb, &t, tok, name, &rec), PG_OK);
	assert_string_equal(name, "shop");
	assert_int_equal(rec.scope, SCOPE_WRITE);
	assert_int_equal(token_list(nb, tok_cb, &n), PG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(token_revoke(nb, "shop"), PG_OK);
	assert_int_equal(token_verify(na, &t, tok, name, &rec), PG_NOTFOUND);
	assert_int_equal(token_revoke(na, "shop"), PG_NOTFOUND);
	/* The name is free again; the old token stays dead. */
	assert_int_equal(token_create(na, &t, "shop", SCOPE_READ, "", "", tok2), PG_OK);
	assert_int_equal(token_verify(nb, &t, tok2, name, &rec), PG_OK);
	assert_int_equal(token_verify(nb, &t, tok, name, &rec), PG_NOTFOUND);
	/* Only the keyed hash is in Redis, never the token. */
	{
		redisReply *x = th_redis_cmd(sock, "KEYS pg:{tok}:*");
		size_t i;
		assert_non_null(x);
		for (i = 0; i < x->elements; i++)
			assert_null(strstr(x->element[i]->str, tok2 + 4));
		freeReplyObject(x);
	}
}

/* The script cache is gone after a restart or failover: transparent. */
static void
test_noscript(void **s)
{
	struct rl_result r;
	struct event_info ev = th_event("evt_N1");
	enum inbox_outcome out;
	struct ev_hdr	 h;

	(void)s;
	cmd_ok("SCRIPT FLUSH%s%s", "", "");
	assert_int_equal(rl_check(na, &cfg, "test", "7.7.7.7", &r), PG_OK);
	assert_false(r.failed_open);
	cmd_ok("SCRIPT FLUSH%s%s", "", "");
	assert_int_equal(inbox_accept(nb, &ring, &cfg, &ev, body, strlen(body),
	    0, &out, &h), PG_OK);
	assert_int_equal(out, INBOX_NEW);
}

/* Refusing writes (OOM) or not answering: nothing acknowledged, the
 * limiter fails open, nothing hangs past the timeout. */
static void
test_refusal_and_timeout(void **s)
{
	struct rl_result r;
	struct event_info ev = th_event("evt_F1");
	enum inbox_outcome out;
	struct ev_hdr	 h;
	struct idem_result ir;
	unsigned char	 fp[32];
	time_t		 t0;

	(void)s;
	memset(fp, 3, sizeof(fp));
	cmd_ok("CONFIG SET maxmemory %s%s", "1", "");
	assert_int_not_equal(inbox_accept(na, &ring, &cfg, &ev, body,
	    strlen(body), 1, &out, &h), PG_OK);
	assert_int_not_equal(idem_begin(na, &ring, &cfg, "shop", "oom", fp,
	    &ir), PG_OK);
	/* The limiter's script deletes first, and Redis lets a script that
	 * has written go on: it keeps counting under OOM, or fails open. */
	(void)rl_check(na, &cfg, "test", "6.6.6.6", &r);
	assert_true(r.allowed);
	cmd_ok("CONFIG SET maxmemory %s%s", "0", "");
	/* Nothing of the refused event was stored. */
	{
		redisReply *x = th_redis_cmd(sock, "EXISTS pg:{ev}:e:evt_F1");
		assert_non_null(x);
		assert_int_equal(x->integer, 0);
		freeReplyObject(x);
	}
	/* A server that stops answering: an error within the timeout. */
	kill(rpid, SIGSTOP);
	t0 = time(NULL);
	assert_int_not_equal(inbox_accept(nb, &ring, &cfg, &ev, body,
	    strlen(body), 1, &out, &h), PG_OK);
	assert_int_not_equal(rl_check(nb, &cfg, "test", "6.6.6.6", &r), PG_OK);
	assert_true(r.failed_open);
	kill(rpid, SIGCONT);
	/* Generous bound (the machine is shared): not a speed test, only
	 * "does not hang". */
	assert_true(time(NULL) - t0 < 30);
	/* The next call reconnects by itself.  The timed-out script may
	 * still have run once the server woke up: then its unknown owner
	 * holds the lease until it runs out (Stripe's retries get 409 and
	 * then deliver), never a second concurrent delivery. */
	assert_int_equal(inbox_accept(nb, &ring, &cfg, &ev, body, strlen(body),
	    1, &out, &h), PG_OK);
	assert_true(out == INBOX_NEW || out == INBOX_IN_PROGRESS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_parse),
		cmocka_unit_test(test_config_dump_masks_password),
		cmocka_unit_test(test_startup_checks),
		cmocka_unit_test(test_deferred_check),
		cmocka_unit_test(test_rate_across_nodes),
		cmocka_unit_test(test_inbox_sync_across_nodes),
		cmocka_unit_test(test_queue_lease_owner),
		cmocka_unit_test(test_outcome_checks_claim),
		cmocka_unit_test(test_dead_retry_purge),
		cmocka_unit_test(test_idempotency_across_nodes),
		cmocka_unit_test(test_tokens_across_nodes),
		cmocka_unit_test(test_noscript),
		cmocka_unit_test(test_refusal_and_timeout),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
