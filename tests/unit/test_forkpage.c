/* Unit tests: lib/forkpage (per-process caches on a page the kernel
 * wipes on fork) and lib/rand's pool on it; the store's after-fork guard
 * with and without the page. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forkpage.h"
#include "helpers.h"
#include "rand.h"
#include "store.h"

static char	 dir[256];

static enum pg_err
put_txn(struct store_txn *t, void *arg)
{
	return store_put(t, NS_META, "fp", 2, arg, strlen(arg), 0, 0);
}

/* One write transaction putting v under "fp". */
static enum pg_err
sput(struct store *st, const char *v)
{
	return store_run(st, 1, put_txn, (void *)v);
}

/* A child's exit status (0 = all its checks passed). */
static int
child_status(pid_t pid)
{
	int	 status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* The cached pid is the process's own, in the parent and in a child. */
static void
test_pid(void **s)
{
	pid_t	 me = getpid(), pid;

	(void)s;
	assert_non_null(forkpage_get());
	assert_int_equal(forkpage_pid(), me);
	assert_int_equal(forkpage_get()->pid, me);
	if ((pid = fork()) == 0)
		_exit(forkpage_get()->pid == 0 && forkpage_pid() == getpid() &&
		    forkpage_pid() != me ? 0 : 1);
	assert_int_equal(child_status(pid), 0);
	assert_int_equal(forkpage_pid(), me);
}

/*
 * A fork's child never hands out its parent's pooled bytes: with the pool
 * inherited, both would draw the same 16 bytes next.
 */
static void
test_rand_fork(void **s)
{
	unsigned char	 a[16], b[16];
	int		 fd[2], round;
	pid_t		 pid;

	(void)s;
	for (round = 0; round < 8; round++) {
		assert_int_equal(rand_bytes(a, 8), PG_OK);  /* pool in use */
		assert_true(forkpage_get()->rand_left > 0);
		assert_int_equal(pipe(fd), 0);
		if ((pid = fork()) == 0) {
			close(fd[0]);
			_exit(forkpage_get()->rand_left == 0 &&
			    rand_bytes(b, sizeof(b)) == PG_OK &&
			    write(fd[1], b, sizeof(b)) == (ssize_t)sizeof(b) ?
			    0 : 1);
		}
		close(fd[1]);
		assert_int_equal(read(fd[0], b, sizeof(b)), (ssize_t)sizeof(b));
		close(fd[0]);
		assert_int_equal(child_status(pid), 0);
		assert_int_equal(rand_bytes(a, sizeof(a)), PG_OK);
		assert_memory_not_equal(a, b, sizeof(a));
	}
}

/* Bytes are handed out once: wiped from the pool, never repeated, across
 * refills; large requests bypass the pool. */
static void
test_rand_pool(void **s)
{
	static unsigned char	 got[4000][16];
	struct forkpage		*fp;
	unsigned char		 big[RAND_POOLED_MAX + 1], zero[16];
	unsigned int		 left;
	size_t			 i, j, off;

	(void)s;
	memset(zero, 0, sizeof(zero));
	fp = forkpage_get();
	assert_non_null(fp);
	for (i = 0; i < 4000; i++) {
		assert_int_equal(rand_bytes(got[i], sizeof(got[i])), PG_OK);
		off = sizeof(fp->rand_pool) - fp->rand_left;
		assert_true(off >= sizeof(got[i]));
		assert_memory_equal(fp->rand_pool + off - 16, zero, 16);
	}
	/* 4000 x 16 bytes span 125 refills; a repeat would be a pool bug. */
	for (i = 0; i < 4000; i++)
		for (j = i + 1; j < 4000; j++)
			assert_memory_not_equal(got[i], got[j], 16);
	left = fp->rand_left;
	assert_int_equal(rand_bytes(big, sizeof(big)), PG_OK);
	assert_int_equal(fp->rand_left, left);
	assert_int_equal(rand_bytes(big, RAND_POOLED_MAX), PG_OK);
	assert_int_equal(fp->rand_left, left >= RAND_POOLED_MAX ?
	    left - RAND_POOLED_MAX : FORKPAGE_POOL - RAND_POOLED_MAX);
	assert_int_equal(rand_bytes(big, 0), PG_OK);
}

/*
 * Where the kernel refuses MADV_WIPEONFORK nothing is cached: the pid and
 * random bytes come from the kernel on every call, and the store still
 * refuses a fork's child.  Run in a child, since refusing is for good.
 */
static void
test_refused(void **s)
{
	pid_t	 pid;

	(void)s;
	if ((pid = fork()) == 0) {
		struct store	*st = NULL;
		unsigned char	 a[16], b[16];
		pid_t		 gc = -1;
		int		 ok;

		forkpage_refuse();
		ok = forkpage_get() == NULL && forkpage_pid() == getpid() &&
		    rand_bytes(a, sizeof(a)) == PG_OK &&
		    rand_bytes(b, sizeof(b)) == PG_OK &&
		    memcmp(a, b, sizeof(a)) != 0 &&
		    store_open(dir, STORE_NOSYNC, &st) == PG_OK &&
		    sput(st, "x") == PG_OK;
		if (ok && (gc = fork()) == 0)
			_exit(forkpage_pid() == getpid() &&
			    sput(st, "y") == PG_STORE ? 0 : 1);
		ok = ok && child_status(gc) == 0 &&
		    sput(st, "z") == PG_OK;
		store_close(st);
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(child_status(pid), 0);
}

static int
setup(void **s)
{
	(void)s;
	return th_scratch(dir, sizeof(dir), "forkpage");
}

static int
teardown(void **s)
{
	(void)s;
	return th_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pid),
		cmocka_unit_test(test_rand_fork),
		cmocka_unit_test(test_rand_pool),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
