/* Unit tests: lib/gcommit (group commit): one GC_NEW per key across
 * processes racing on the same keys, every GC_NEW durable in the main
 * environment, and nothing acknowledged lost when submitters are killed
 * mid-batch (leaders included). */
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

#include "gcommit.h"
#include "store.h"

#define NKEYS	120
#define NPROC	6

static char dir[4096];

static void
fresh_dir(void)
{
	char	 cmd[2 * sizeof(dir) + 64];

	snprintf(dir, sizeof(dir), "/tmp/pg-gcommit-XXXXXX");
	assert_non_null(mkdtemp(dir));
	chmod(dir, 0700);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/volatile && chmod 700 %s/volatile",
	    dir, dir);
	assert_int_equal(system(cmd), 0);
}

static void
rm_dir(void)
{
	char	 cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* The probe and apply a user gives: items in NS_EVENT, recognised by
 * their bytes (each submitter's value is unique). */
static enum pg_err
probe(struct store_txn *t, const void *key, size_t klen)
{
	const void	*v;
	size_t		 n;

	return store_get(t, NS_EVENT, key, klen, &v, &n, NULL);
}

static enum pg_err
apply(struct store_txn *t, const void *key, size_t klen, const void *val,
    size_t vlen, int *res)
{
	const void	*old;
	size_t		 n;
	enum pg_err	 e;

	e = store_put(t, NS_EVENT, key, klen, val, vlen, 0, STORE_NOOVERWRITE);
	if (e == PG_EXISTS) {
		if ((e = store_get(t, NS_EVENT, key, klen, &old, &n, NULL)) !=
		    PG_OK)
			return e;
		*res = n == vlen && memcmp(old, val, n) == 0 ? GC_NEW :
		    GC_EXISTS;
		return PG_OK;
	}
	if (e == PG_OK)
		*res = GC_NEW;
	return e;
}

static enum pg_err
submit(struct store *st, const char *key, int *res)
{
	char	 val[96];

	snprintf(val, sizeof(val), "%s by %ld", key, (long)getpid());
	return gc_submit(st, key, strlen(key), val, strlen(val), probe,
	    apply, res);
}

static enum pg_err
count_txn(struct store_txn *t, void *arg)
{
	*(size_t *)arg = store_count(t, NS_EVENT);
	return PG_OK;
}

static size_t
count_events(struct store *st)
{
	size_t	 n = 0;

	assert_int_equal(store_run(st, 0, count_txn, &n), PG_OK);
	return n;
}

static void
test_single(void **state)
{
	struct store	*st;
	int		 res;

	(void)state;
	fresh_dir();
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	assert_int_equal(submit(st, "evt_a", &res), PG_OK);
	assert_int_equal(res, GC_NEW);
	assert_int_equal(submit(st, "evt_a", &res), PG_OK);
	assert_int_equal(res, GC_EXISTS);
	assert_int_equal(submit(st, "evt_b", &res), PG_OK);
	assert_int_equal(res, GC_NEW);
	assert_int_equal(count_events(st), 2);
	/* Reopened: what was acknowledged is in the main environment. */
	store_close(st);
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	assert_int_equal(count_events(st), 2);
	assert_int_equal(submit(st, "evt_b", &res), PG_OK);
	assert_int_equal(res, GC_EXISTS);
	store_close(st);
	rm_dir();
}

/* Child: submits every key in its own order, one line per result. */
static void
racer(int fd, unsigned int seed)
{
	struct store	*st;
	char		 key[32], line[64];
	int		 order[NKEYS], i, j, t, res, n;

	if (store_open(dir, 0, &st) != PG_OK)
		_exit(2);
	for (i = 0; i < NKEYS; i++)
		order[i] = i;
	srand(seed);
	for (i = NKEYS - 1; i > 0; i--) {
		j = rand() % (i + 1);
		t = order[i]; order[i] = order[j]; order[j] = t;
	}
	for (i = 0; i < NKEYS; i++) {
		snprintf(key, sizeof(key), "evt_k%03d", order[i]);
		if (submit(st, key, &res) != PG_OK)
			_exit(3);
		/* The acknowledgement: written only after the return. */
		n = snprintf(line, sizeof(line), "%s %d\n", key, res);
		if (write(fd, line, (size_t)n) != n)
			_exit(4);
	}
	store_close(st);
	_exit(0);
}

static void
test_race(void **state)
{
	struct store	*st;
	pid_t		 kids[NPROC];
	char		 path[4200], key[32];
	int		 fd, i, status, res, news[NKEYS], k;
	FILE		*f;

	(void)state;
	fresh_dir();
	snprintf(path, sizeof(path), "%s/acks", dir);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0);
	for (i = 0; i < NPROC; i++) {
		assert_true((kids[i] = fork()) >= 0);
		if (kids[i] == 0)
			racer(fd, (unsigned int)i + 1);
	}
	for (i = 0; i < NPROC; i++) {
		assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	close(fd);
	memset(news, 0, sizeof(news));
	assert_non_null(f = fopen(path, "r"));
	i = 0;
	while (fscanf(f, "evt_k%d %d\n", &k, &res) == 2) {
		assert_true(k >= 0 && k < NKEYS);
		assert_true(res == GC_NEW || res == GC_EXISTS);
		news[k] += res == GC_NEW;
		i++;
	}
	fclose(f);
	assert_int_equal(i, NPROC * NKEYS);
	for (k = 0; k < NKEYS; k++)
		assert_int_equal(news[k], 1);	/* one winner per key */
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	assert_int_equal(count_events(st), NKEYS);
	snprintf(key, sizeof(key), "evt_k%03d", 7);
	assert_int_equal(submit(st, key, &res), PG_OK);
	assert_int_equal(res, GC_EXISTS);
	store_close(st);
	rm_dir();
}

/* Submitters SIGKILLed at random moments (inside a batch, holding the
 * lock, between the main commit and the marking): every key acknowledged
 * GC_NEW is committed; afterwards every key commits exactly once. */
static void
test_kills(void **state)
{
	struct store	*st;
	pid_t		 kids[NPROC];
	char		 path[4200], key[32];
	int		 fd, i, round, status, res, k, acked[NKEYS], lines = 0;
	struct timespec	 ts;
	FILE		*f;

	(void)state;
	fresh_dir();
	snprintf(path, sizeof(path), "%s/acks", dir);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0);
	for (round = 0; round < 4; round++) {
		for (i = 0; i < NPROC; i++) {
			assert_true((kids[i] = fork()) >= 0);
			if (kids[i] == 0)
				racer(fd, (unsigned int)(round * NPROC + i + 7));
		}
		/* Let them run into each other, then kill them all. */
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(20 + 15 * round) * 1000000L;
		nanosleep(&ts, NULL);
		for (i = 0; i < NPROC; i++)
			kill(kids[i], SIGKILL);
		for (i = 0; i < NPROC; i++)
			assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
	}
	close(fd);
	memset(acked, 0, sizeof(acked));
	assert_non_null(f = fopen(path, "r"));
	while (fscanf(f, "evt_k%d %d\n", &k, &res) == 2) {
		lines++;
		if (k >= 0 && k < NKEYS && res == GC_NEW)
			acked[k]++;
	}
	fclose(f);
	/* The kills did interrupt the submitters. */
	assert_true(lines > 0 && lines < 4 * NPROC * NKEYS);
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	for (k = 0; k < NKEYS; k++) {
		snprintf(key, sizeof(key), "evt_k%03d", k);
		assert_true(acked[k] <= 1);
		assert_int_equal(submit(st, key, &res), PG_OK);
		/* Acknowledged before: it must be there already. */
		if (acked[k])
			assert_int_equal(res, GC_EXISTS);
	}
	assert_int_equal(count_events(st), NKEYS);
	store_close(st);
	rm_dir();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single),
		cmocka_unit_test(test_race),
		cmocka_unit_test(test_kills),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
