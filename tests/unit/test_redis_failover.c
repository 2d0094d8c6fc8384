/* Unit test: a Redis failover under Sentinel (primary + replica + one
 * sentinel + a second replica, all real, on loopback ports 19570-19573).  With
 * PAYGUARD_REDIS_REPLICAS=1 every accepted event was confirmed by the
 * replica, so SIGKILL of the primary loses none of them, and the store
 * follows the sentinel to the promoted replica by itself. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inbox.h"
#include "redis.h"
#include "store_redis.h"

#define P_PRIMARY	19570
#define P_REPLICA	19571
#define P_SENTINEL	19572
#define P_REPLICA2	19573
#define NEV		400

static char dir[4096];
static pid_t pids[4] = { -1, -1, -1, -1 };
static struct config cfg;
static struct keyring ring;

static const char body[] = "{\"id\":\"evt_F\",\"object\":\"event\","
    "\"type\":\"customer.created\",\"created\":1,\"data\":{\"object\":{}}}";

static redisReply *
cmd_at(int port, const char *fmt, ...)
{
	struct timeval	 tv = { 1, 0 };
	redisContext	*c = redisConnectWithTimeout("127.0.0.1", port, tv);
	redisReply	*r;
	va_list		 ap;

	if (c == NULL || c->err) {
		if (c != NULL)
			redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	redisFree(c);
	return r;
}

static pid_t
spawn(const char *argv[])
{
	pid_t	 pid;

	if ((pid = fork()) == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int
wait_ping(int port)
{
	redisReply	*r;
	int		 i;

	for (i = 0; i < 200; i++) {
		if ((r = cmd_at(port, "PING")) != NULL) {
			freeReplyObject(r);
			return 0;
		}
		usleep(50000);
	}
	return -1;
}

static pid_t
start_server(int port, int replica_of)
{
	char	 d[4200], p[16], of[32], log[4300];
	const char *argv[24];
	int	 n = 0;

	snprintf(d, sizeof(d), "%s/r%d", dir, port);
	mkdir(d, 0700);
	snprintf(p, sizeof(p), "%d", port);
	snprintf(log, sizeof(log), "%s/redis.log", d);
	argv[n++] = "redis-server";
	argv[n++] = "--bind"; argv[n++] = "127.0.0.1";
	argv[n++] = "--port"; argv[n++] = p;
	argv[n++] = "--dir"; argv[n++] = d;
	argv[n++] = "--appendonly"; argv[n++] = "yes";
	argv[n++] = "--appendfsync"; argv[n++] = "always";
	argv[n++] = "--save"; argv[n++] = "";
	argv[n++] = "--logfile"; argv[n++] = log;
	argv[n++] = "--repl-diskless-sync-delay"; argv[n++] = "0";
	if (replica_of > 0) {
		snprintf(of, sizeof(of), "127.0.0.1 %d", replica_of);
		argv[n++] = "--replicaof";
		argv[n++] = of;
	}
	argv[n] = NULL;
	return spawn(argv);
}

static int
setup(void **s)
{
	char	 err[256], key[FERNET_KEY_B64LEN + 1], conf[4400], sd[4300];
	const char *argv[4];
	FILE	*f;
	redisReply *r;
	int	 i, ok = 0;

	(void)s;
	snprintf(dir, sizeof(dir), "/tmp/pg-redis-fo.%d", (int)getpid());
	mkdir(dir, 0700);
	if ((pids[0] = start_server(P_PRIMARY, 0)) < 0 || wait_ping(P_PRIMARY))
		return -1;
	if ((pids[1] = start_server(P_REPLICA, P_PRIMARY)) < 0 ||
	    wait_ping(P_REPLICA))
		return -1;
	/* A second replica: after the failover the new primary still has
	 * one to confirm writes (PAYGUARD_REDIS_REPLICAS=1). */
	if ((pids[3] = start_server(P_REPLICA2, P_PRIMARY)) < 0 ||
	    wait_ping(P_REPLICA2))
		return -1;
	snprintf(sd, sizeof(sd), "%s/s", dir);
	mkdir(sd, 0700);
	snprintf(conf, sizeof(conf), "%s/sentinel.conf", sd);
	if ((f = fopen(conf, "w")) == NULL)
		return -1;
	fprintf(f, "bind 127.0.0.1\nport %d\ndir %s\nlogfile %s/sentinel.log\n"
	    "sentinel monitor pgm 127.0.0.1 %d 1\n"
	    "sentinel down-after-milliseconds pgm 1000\n"
	    "sentinel failover-timeout pgm 5000\n", P_SENTINEL, sd, sd,
	    P_PRIMARY);
	fclose(f);
	argv[0] = "redis-server";
	argv[1] = conf;
	argv[2] = "--sentinel";
	argv[3] = NULL;
	if ((pids[2] = spawn(argv)) < 0 || wait_ping(P_SENTINEL))
		return -1;
	/* Ready when the sentinel knows the replica (it may promote it). */
	for (i = 0; i < 300 && !ok; i++) {
		r = cmd_at(P_SENTINEL, "SENTINEL replicas pgm");
		ok = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2;
		if (r != NULL)
			freeReplyObject(r);
		if (!ok)
			usleep(100000);
	}
	if (!ok)
		return -1;
	setenv("PAYGUARD_STORE", "redis", 1);
	unsetenv("REDIS_URL");
	setenv("REDIS_SENTINELS", "127.0.0.1:19572", 1);
	setenv("REDIS_MASTER_NAME", "pgm", 1);
	setenv("PAYGUARD_REDIS_REPLICAS", "1", 1);
	setenv("PAYGUARD_REDIS_WAIT_MS", "500", 1);
	setenv("PAYGUARD_REDIS_TIMEOUT_MS", "500", 1);
	if (config_load(&cfg, 0, err, sizeof(err)) != PG_OK)
		return -1;
	return fernet_key_generate(key) == PG_OK &&
	    keyring_parse(key, &ring) == PG_OK ? 0 : -1;
}

static int
teardown(void **s)
{
	char	 c[4200];
	int	 i;

	(void)s;
	for (i = 0; i < 4; i++)
		if (pids[i] > 0) {
			kill(pids[i], SIGTERM);
			waitpid(pids[i], NULL, 0);
		}
	config_free(&cfg);
	snprintf(c, sizeof(c), "rm -rf %s", dir);
	return system(c) == 0 ? 0 : -1;
}

static void
test_failover_loses_no_acknowledged_event(void **s)
{
	struct store	*st = NULL;
	struct event_info ev;
	enum inbox_outcome out;
	struct ev_hdr	 h;
	char		 err[256];
	static int	 acked[NEV];
	int		 i, nacked = 0, after = 0, missing = 0, killed = 0;
	redisReply	*r;
	time_t		 t0;
	int		 newp;

	(void)s;
	assert_int_equal(store_open_config(&cfg, 0, &st, err, sizeof(err)),
	    PG_OK);
	t0 = time(NULL);
	for (i = 0; i < NEV && time(NULL) - t0 < 60; i++) {
		memset(&ev, 0, sizeof(ev));
		snprintf(ev.id, sizeof(ev.id), "evt_fo%d", i);
		snprintf(ev.type, sizeof(ev.type), "customer.created");
		if (i == NEV / 4) {
			/* The primary dies in the middle of the writes. */
			kill(pids[0], SIGKILL);
			waitpid(pids[0], NULL, 0);
			pids[0] = -1;
			killed = 1;
		}
		if (inbox_accept(st, &ring, &cfg, &ev, body, strlen(body), 0,
		    &out, &h) == PG_OK) {
			acked[i] = 1;
			nacked++;
			if (killed)
				after++;
		} else
			usleep(100000);	/* 503 to Stripe, which retries */
	}
	/* Accepted before the kill, and again once the replica took over. */
	assert_true(nacked > NEV / 4);
	assert_true(after > 0);
	/* The node followed the sentinel to the promoted replica. */
	r = cmd_at(P_SENTINEL, "SENTINEL get-master-addr-by-name pgm");
	assert_non_null(r);
	assert_int_equal(r->elements, 2);
	newp = atoi(r->element[1]->str);
	freeReplyObject(r);
	assert_true(newp == P_REPLICA || newp == P_REPLICA2);
	r = cmd_at(newp, "ROLE");
	assert_non_null(r);
	assert_string_equal(r->element[0]->str, "master");
	freeReplyObject(r);
	for (i = 0; i < NEV; i++) {
		if (!acked[i])
			continue;
		r = cmd_at(newp, "EXISTS pg:{ev}:e:evt_fo%d", i);
		assert_non_null(r);
		if (r->integer != 1)
			missing++;
		freeReplyObject(r);
	}
	print_message("failover: %d acknowledged (%d after the kill), %d "
	    "missing on the new primary\n", nacked, after, missing);
	assert_int_equal(missing, 0);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failover_loses_no_acknowledged_event),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
