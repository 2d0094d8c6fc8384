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

#include "helpers.h"
#include "inbox.h"
#include "redis.h"
#include "store_redis.h"

/* Ports, also in the address form of helpers.h. */
#define P_PRIMARY	19570
#define P_REPLICA	19571
#define P_SENTINEL	19572
#define P_REPLICA2	19573
#define A_PRIMARY	"19570"
#define A_REPLICA	"19571"
#define A_SENTINEL	"19572"
#define A_REPLICA2	"19573"
#define NEV		400

static char dir[4096];
static pid_t pids[4] = { -1, -1, -1, -1 };
static struct config cfg;
static struct keyring ring;

static const char body[] = "{\"id\":\"evt_F\",\"object\":\"event\","
    "\"type\":\"customer.created\",\"created\":1,\"data\":{\"object\":{}}}";

static int
setup(void **s)
{
	char	 conf[4400], sd[4300], d[4300];
	const char *argv[4];
	FILE	*f;
	redisReply *r;
	int	 i, ok = 0;

	(void)s;
	if (th_scratch(dir, sizeof(dir), "redis-fo") != 0)
		return -1;
	snprintf(d, sizeof(d), "%s/r%d", dir, P_PRIMARY);
	if ((pids[0] = th_redis_start(d, A_PRIMARY, "always", 0)) < 0)
		return -1;
	snprintf(d, sizeof(d), "%s/r%d", dir, P_REPLICA);
	if ((pids[1] = th_redis_start(d, A_REPLICA, "always", P_PRIMARY)) < 0)
		return -1;
	/* A second replica: after the failover the new primary still has
	 * one to confirm writes (PAYGUARD_REDIS_REPLICAS=1). */
	snprintf(d, sizeof(d), "%s/r%d", dir, P_REPLICA2);
	if ((pids[3] = th_redis_start(d, A_REPLICA2, "always", P_PRIMARY)) < 0)
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
	if ((pids[2] = th_spawn(argv)) < 0 || th_redis_wait(A_SENTINEL))
		return -1;
	/* Ready when the sentinel knows the replica (it may promote it). */
	for (i = 0; i < 300 && !ok; i++) {
		r = th_redis_cmd(A_SENTINEL, "SENTINEL replicas pgm");
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
	return th_config_ring(&cfg, &ring);
}

static int
teardown(void **s)
{
	int	 i;

	(void)s;
	for (i = 0; i < 4; i++)
		th_stop(pids[i]);
	config_free(&cfg);
	return th_remove(dir);
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
	char		 newp[16];

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
	r = th_redis_cmd(A_SENTINEL, "SENTINEL get-master-addr-by-name pgm");
	assert_non_null(r);
	assert_int_equal(r->elements, 2);
	snprintf(newp, sizeof(newp), "%s", r->element[1]->str);
	freeReplyObject(r);
	assert_true(strcmp(newp, A_REPLICA) == 0 ||
	    strcmp(newp, A_REPLICA2) == 0);
	r = th_redis_cmd(newp, "ROLE");
	assert_non_null(r);
	assert_string_equal(r->element[0]->str, "master");
	freeReplyObject(r);
	for (i = 0; i < NEV; i++) {
		if (!acked[i])
			continue;
		r = th_redis_cmd(newp, "EXISTS pg:{ev}:e:evt_fo%d", i);
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
