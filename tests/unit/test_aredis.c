/* Unit tests: the audit index shared in Redis (PAYGUARD_STORE=redis,
 * lib/aindex.c, lib/aquery.c) against a real redis-server started here on
 * a unix socket.  Two store handles with their own state directories and
 * logs play two nodes: each writes its own hash-chained log, and either
 * lists both nodes' records, filters by node, reads and marks the other's
 * records; stats count both nodes; rebuilding from a node's log adds
 * nothing twice (records or counts). */
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
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "aindex.h"
#include "aquery.h"
#include "ascan.h"
#include "astats.h"
#include "audit.h"
#include "config.h"
#include "helpers.h"
#include "store_redis.h"

static char	 dir[4096], sock[4200], url[4300], sda[4300], sdb[4300];
static pid_t	 rpid = -1;
static struct config cfg;
static struct store *na, *nb;

static long long
rnum(const char *fmt, const char *a)
{
	redisReply	*r = th_redis_cmd(sock, fmt, a);
	long long	 v = -1;

	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	if (r != NULL)
		freeReplyObject(r);
	return v;
}

static int
setup(void **s)
{
	char	 err[256], rd[4300];

	(void)s;
	if (th_scratch(dir, sizeof(dir), "aredis-test") != 0)
		return -1;
	snprintf(sock, sizeof(sock), "%s/r/redis.sock", dir);
	snprintf(url, sizeof(url), "unix://%s", sock);
	snprintf(sda, sizeof(sda), "%s/a", dir);
	snprintf(sdb, sizeof(sdb), "%s/b", dir);
	snprintf(rd, sizeof(rd), "%s/r", dir);
	if ((rpid = th_redis_start(rd, sock, "always", 0)) < 0)
		return -1;
	setenv("PAYGUARD_STORE", "redis", 1);
	setenv("REDIS_URL", url, 1);
	setenv("PAYGUARD_REDIS_TIMEOUT_MS", "2000", 1);
	setenv("PAYGUARD_STATE_DIR", sda, 1);
	if (config_load(&cfg, 0, err, sizeof(err)) != PG_OK ||
	    store_open_config(&cfg, 0, &na, err, sizeof(err)) != PG_OK)
		return -1;
	free(cfg.state_dir);
	cfg.state_dir = strdup(sdb);
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

struct seen {
	size_t		 n, na, nb;
	uint64_t	 ts, seq;	/* the last row of node-a */
	uint64_t	 lts, lseq;	/* the last row */
	int		 mitigated;
	char		 action[64];
};

static int
see(const struct aquery_row *r, void *arg)
{
	struct seen	*s = arg;

	s->n++;
	s->lts = r->ts_us;
	s->lseq = r->seq;
	if (strcmp(r->node, "node-a") == 0) {
		s->na++;
		s->ts = r->ts_us;
		s->seq = r->seq;
	} else if (strcmp(r->node, "node-b") == 0)
		s->nb++;
	/* The line as node-a or node-b logged it. */
	assert_non_null(memmem(r->line, r->line_len, "\"node\":\"node-", 13));
	s->mitigated = r->mitigated;
	snprintf(s->action, sizeof(s->action), "%s", r->mitigation);
	return 0;
}

static void
emit(struct store *st, const char *sd, const char *node, const char *ip,
    int n)
{
	struct config	 c;
	struct audit_ctx ctx = { sd, ip, "ua", "req_x", "stripe", st, NULL,
	    &c };
	int	 i;

	memset(&c, 0, sizeof(c));
	c.node = (char *)node;
	c.audit_flood_whole = AUDIT_FLOOD_WHOLE;
	c.audit_flood_type = AUDIT_FLOOD_TYPE_WHOLE;
	for (i = 0; i < n; i++)
		assert_int_equal(audit_event(&ctx, i % 2 ? AEV_WEBHOOK_VALIDATED :
		    AEV_WEBHOOK_INVALID_SIGNATURE, i % 2 ? SEV_LOW : SEV_HIGH,
		    i % 2, "webhook", NULL, NULL), PG_OK);
}

static void
t_two_nodes(void **state)
{
	struct aquery_filter f;
	struct seen	 s;
	struct ascan_reindex_res res;
	char		 lp[4400], key[64];
	const char	*paths[1];

	(void)state;
	emit(na, sda, "node-a", "10.0.0.1", 6);
	emit(nb, sdb, "node-b", "10.0.0.2", 4);

	/* Node B lists node A's records too, newest first, with the node. */
	aquery_filter_init(&f);
	memset(&s, 0, sizeof(s));
	assert_int_equal(aquery_run(nb, &f, see, &s, NULL), PG_OK);
	assert_int_equal(s.n, 10);
	assert_int_equal(s.na, 6);
	assert_int_equal(s.nb, 4);
	/* The node filter, from either node. */
	snprintf(f.node, sizeof(f.node), "node-a");
	memset(&s, 0, sizeof(s));
	assert_int_equal(aquery_run(nb, &f, see, &s, NULL), PG_OK);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.nb, 0);
	/* With another filter on top: A's invalid signatures. */
	f.sev = SEV_HIGH;
	memset(&s, 0, sizeof(s));
	assert_int_equal(aquery_run(na, &f, see, &s, NULL), PG_OK);
	assert_int_equal(s.n, 3);
	/* Stats (and so alerts) from either node count both nodes. */
	{
		struct astats	*st = calloc(1, sizeof(*st));

		assert_non_null(st);
		assert_int_equal(astats_compute(na, 0, 1, 0, 0, st), PG_OK);
		assert_int_equal(st->total, 10);
		assert_int_equal(st->sig_bad, 5);
		assert_int_equal(st->sig_ok, 5);
		assert_int_equal(st->by_sev[SEV_HIGH], 5);
		assert_int_equal(st->ntop_ips, 2);
		free(st);
	}

	/* Paging through both nodes 3 rows at a time: every row once. */
	aquery_filter_init(&f);
	f.limit = 3;
	{
		size_t	 total = 0;
		int	 more = 1, pages = 0;

		while (more && pages < 10) {
			memset(&s, 0, sizeof(s));
			assert_int_equal(aquery_run(na, &f, see, &s, &more),
			    PG_OK);
			total += s.n;
			pages++;
			f.before_ts = s.lts;
			f.before_seq = s.lseq;
		}
		assert_int_equal(total, 10);
		assert_int_equal(pages, 4);
	}

	/* Node B opens node A's record by its key and marks it. */
	{
		struct seen	 one;

		memset(&one, 0, sizeof(one));
		aquery_filter_init(&f);
		snprintf(f.node, sizeof(f.node), "node-a");
		f.limit = 1;
		assert_int_equal(aquery_run(nb, &f, see, &one, NULL), PG_OK);
		assert_int_equal(one.na, 1);
		snprintf(key, sizeof(key), "%llu-%llu",
		    (unsigned long long)one.ts, (unsigned long long)one.seq);
		assert_int_equal(aindex_mitigate(nb, one.ts, one.seq,
		    "blocked upstream"), PG_OK);
		memset(&s, 0, sizeof(s));
		assert_int_equal(aquery_get(na, one.ts, one.seq, see, &s),
		    PG_OK);
		assert_int_equal(s.n, 1);
		assert_int_equal(s.mitigated, 1);
		assert_string_equal(s.action, "blocked upstream");
	}

	/* Rebuilding from node A's log: everything is there already. */
	snprintf(lp, sizeof(lp), "%s/logs/" AUDIT_LOG_NAME, sda);
	paths[0] = lp;
	assert_int_equal(ascan_reindex(na, sda, paths, 1, &res), PG_OK);
	assert_int_equal(res.lines, 6);
	assert_int_equal(res.shared_added, 0);
	assert_int_equal(rnum("ZCARD %s", AINDEX_RKEY "i"), 10);
	/* Redis lost the index (flushed): the first rebuild brings node A's
	 * records back, the second adds nothing. */
	assert_int_equal(rnum("DEL %s", AINDEX_RKEY "i"), 1);
	{
		redisContext	*c = redisConnectUnix(sock);
		redisReply	*r = redisCommand(c, "FLUSHDB");

		freeReplyObject(r);
		redisFree(c);
	}
	assert_int_equal(ascan_reindex(na, sda, paths, 1, &res), PG_OK);
	assert_int_equal(res.shared_added, 6);
	assert_int_equal(ascan_reindex(na, sda, paths, 1, &res), PG_OK);
	assert_int_equal(res.shared_added, 0);
	assert_int_equal(rnum("ZCARD %s", AINDEX_RKEY "i"), 6);
	aquery_filter_init(&f);
	memset(&s, 0, sizeof(s));
	assert_int_equal(aquery_run(nb, &f, see, &s, NULL), PG_OK);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.na, 6);
	/* The counters came back with the records, once. */
	{
		struct astats	*st = calloc(1, sizeof(*st));

		assert_non_null(st);
		assert_int_equal(astats_compute(nb, 0, 1, 0, 0, st), PG_OK);
		assert_int_equal(st->total, 6);
		assert_int_equal(st->sig_bad, 3);
		free(st);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_two_nodes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
