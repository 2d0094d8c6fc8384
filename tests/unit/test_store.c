/* Unit tests: lib/store_lmdb (expiry, insert-if-absent across processes,
 * scans, sweeping, map growth, permissions). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

static char dir[4096];

struct kv {
	const char	*k;
	const char	*v;
	uint64_t	 exp;
	unsigned int	 flags;
	enum pg_err	 rc;
};

static enum pg_err
put_txn(struct store_txn *t, void *arg)
{
	struct kv *kv = arg;

	kv->rc = store_put(t, NS_META, kv->k, strlen(kv->k), kv->v,
	    strlen(kv->v), kv->exp, kv->flags);
	return kv->rc == PG_OK ? PG_OK : kv->rc;
}

struct getr {
	const char	*k;
	char		 v[256];
	enum pg_err	 rc;
};

static enum pg_err
get_txn(struct store_txn *t, void *arg)
{
	struct getr	*g = arg;
	const void	*v;
	size_t		 n;

	g->rc = store_get(t, NS_META, g->k, strlen(g->k), &v, &n, NULL);
	if (g->rc == PG_OK) {
		memcpy(g->v, v, n < 255 ? n : 255);
		g->v[n < 255 ? n : 255] = '\0';
	}
	return PG_OK;
}

static enum pg_err
sput(struct store *st, const char *k, const char *v, uint64_t exp,
    unsigned int flags)
{
	struct kv kv = { k, v, exp, flags, PG_OK };

	return store_run(st, 1, put_txn, &kv);
}

static enum pg_err
sget(struct store *st, const char *k, char *out)
{
	struct getr g;

	memset(&g, 0, sizeof(g));
	g.k = k;
	assert_int_equal(store_run(st, 0, get_txn, &g), PG_OK);
	if (out != NULL)
		strcpy(out, g.v);
	return g.rc;
}

static int
setup(void **s)
{
	(void)s;
	snprintf(dir, sizeof(dir), "/tmp/pg-store-test.%d", (int)getpid());
	return 0;
}

static void
test_basic_and_expiry(void **s)
{
	struct store	*st;
	char		 v[256];
	struct stat	 sb;
	char		 p[4200];

	(void)s;
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sput(st, "a", "1", 0, 0), PG_OK);
	assert_int_equal(sget(st, "a", v), PG_OK);
	assert_string_equal(v, "1");
	assert_int_equal(sget(st, "missing", NULL), PG_NOTFOUND);
	/* Expired records read as absent, and can be re-inserted. */
	assert_int_equal(sput(st, "old", "x", store_now_ms() - 1, 0), PG_OK);
	assert_int_equal(sget(st, "old", NULL), PG_NOTFOUND);
	assert_int_equal(sput(st, "old", "y", 0, STORE_NOOVERWRITE), PG_OK);
	assert_int_equal(sget(st, "old", v), PG_OK);
	assert_string_equal(v, "y");
	/* A live one is not overwritten. */
	assert_int_equal(sput(st, "old", "z", 0, STORE_NOOVERWRITE), PG_EXISTS);
	assert_int_equal(sget(st, "old", v), PG_OK);
	assert_string_equal(v, "y");
	store_close(st);
	/* Reopen: still there. */
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	assert_int_equal(sget(st, "a", v), PG_OK);
	store_close(st);
}

struct scan_acc {
	char	 keys[64][16];
	size_t	 n;
	size_t	 stop_at;
};

static int
scan_cb(const void *k, size_t klen, const void *v, size_t vlen, uint64_t e,
    void *arg)
{
	struct scan_acc *a = arg;

	(void)v; (void)vlen; (void)e;
	memcpy(a->keys[a->n], k, klen);
	a->keys[a->n][klen] = '\0';
	a->n++;
	return a->n == a->stop_at;
}

struct scan_args {
	const char	*start, *end;
	int		 rev;
	struct scan_acc	*acc;
};

static enum pg_err
scan_txn(struct store_txn *t, void *arg)
{
	struct scan_args *a = arg;

	return store_scan(t, NS_AUDIT, a->start, a->start ? strlen(a->start) : 0,
	    a->end, a->end ? strlen(a->end) : 0, a->rev, scan_cb, a->acc);
}

static enum pg_err
put_audit(struct store_txn *t, void *arg)
{
	const char	*keys[] = { "k1", "k2", "k3", "k4", "k5" };
	size_t		 i;

	(void)arg;
	for (i = 0; i < 5; i++)
		if (store_put(t, NS_AUDIT, keys[i], 2, "v", 1,
		    i == 2 ? store_now_ms() - 5 : 0, 0) != PG_OK)
			return PG_STORE;
	return PG_OK;
}

static void
test_scan(void **s)
{
	struct store		*st;
	struct scan_acc		 acc;
	struct scan_args	 a;

	(void)s;
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	assert_int_equal(store_run(st, 1, put_audit, NULL), PG_OK);
	memset(&acc, 0, sizeof(acc));
	a = (struct scan_args){ "k2", "k5", 0, &acc };
	assert_int_equal(store_run(st, 0, scan_txn, &a), PG_OK);
	assert_int_equal(acc.n, 2);	/* k3 expired, k5 excluded */
	assert_string_equal(acc.keys[0], "k2");
	assert_string_equal(acc.keys[1], "k4");
	memset(&acc, 0, sizeof(acc));
	a = (struct scan_args){ NULL, NULL, 1, &acc };
	assert_int_equal(store_run(st, 0, scan_txn, &a), PG_OK);
	assert_int_equal(acc.n, 4);
	assert_string_equal(acc.keys[0], "k5");
	assert_string_equal(acc.keys[3], "k1");
	memset(&acc, 0, sizeof(acc));
	acc.stop_at = 2;
	a = (struct scan_args){ "k2", "k5", 1, &acc };
	assert_int_equal(store_run(st, 0, scan_txn, &a), PG_OK);
	assert_int_equal(acc.n, 2);
	assert_string_equal(acc.keys[0], "k4");
	assert_string_equal(acc.keys[1], "k2");
	store_close(st);
}

struct sweep_args {
	size_t	 swept;
	size_t	 count;
};

static enum pg_err
sweep_txn(struct store_txn *t, void *arg)
{
	struct sweep_args *a = arg;
	enum pg_err	 e;

	e = store_sweep(t, NS_AUDIT, 1000, &a->swept);
	a->count = store_count(t, NS_AUDIT);
	return e;
}

static void
test_sweep(void **s)
{
	struct store		*st;
	struct sweep_args	 a;

	(void)s;
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	/* In a read transaction the sweep counts and deletes nothing
	 * (store_maintain looks before it takes the writer lock). */
	assert_int_equal(store_run(st, 0, sweep_txn, &a), PG_OK);
	assert_int_equal(a.swept, 1);
	assert_int_equal(a.count, 5);
	assert_int_equal(store_run(st, 1, sweep_txn, &a), PG_OK);
	assert_int_equal(a.swept, 1);
	assert_int_equal(a.count, 4);
	assert_int_equal(store_run(st, 1, sweep_txn, &a), PG_OK);
	assert_int_equal(a.swept, 0);
	store_close(st);
}

static enum pg_err
big_txn(struct store_txn *t, void *arg)
{
	static char	 blob[1 << 20];
	int		*i = arg;
	char		 k[32];

	snprintf(k, sizeof(k), "big%d", *i);
	memset(blob, 'a' + *i % 26, sizeof(blob));
	return store_put(t, NS_EVENT, k, strlen(k), blob, sizeof(blob), 0, 0);
}

/* 100 MiB into a 64 MiB map: the store grows instead of failing. */
static void
test_map_growth(void **s)
{
	struct store	*st;
	int		 i;

	(void)s;
	assert_int_equal(store_open(dir, STORE_NOSYNC, &st), PG_OK);
	for (i = 0; i < 100; i++)
		assert_int_equal(store_run(st, 1, big_txn, &i), PG_OK);
	store_close(st);
}

/*
 * A process opening the store must not shrink the file under another
 * that grew its map: with MDB_WRITEMAP, LMDB truncates the file to the
 * opener's map size at open, and the other process then dies of SIGBUS
 * writing the pages past that.  Run in a child, so a SIGBUS is a failure
 * here and not the end of the test program.
 */
static void
grower(void)
{
	struct store	*st, *other;
	struct store_space sp;
	pid_t		 p;
	int		 i, n, wst;

	if (store_open(dir, STORE_NOSYNC, &st) != PG_OK)
		_exit(2);
	/* Until the map has grown well past the pages in use. */
	for (i = 1000, n = 0; n < 400; i++, n++) {
		if (store_run(st, 1, big_txn, &i) != PG_OK ||
		    store_space(st, &sp) != PG_OK)
			_exit(3);
		if (sp.map >= sp.used + (48u << 20))
			break;
	}
	if ((p = fork()) == 0) {
		if (store_open(dir, STORE_NOSYNC, &other) != PG_OK)
			_exit(4);
		store_close(other);
		_exit(0);
	}
	if (waitpid(p, &wst, 0) != p || !WIFEXITED(wst) || WEXITSTATUS(wst))
		_exit(5);
	/* Into the slack of this process's map. */
	for (n = 0; n < 32; n++, i++)
		if (store_run(st, 1, big_txn, &i) != PG_OK)
			_exit(6);
	store_close(st);
	_exit(0);
}

static void
test_open_keeps_grown_map(void **s)
{
	pid_t	 p;
	int	 st;

	(void)s;
	if ((p = fork()) == 0)
		grower();
	assert_int_equal(waitpid(p, &st, 0), p);
	assert_false(WIFSIGNALED(st));	/* SIGBUS: the file was shrunk */
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* 16 processes race to insert one key: exactly one wins. */
static void
test_insert_race(void **s)
{
	pid_t	 pids[16];
	int	 i, st, wins = 0, exists = 0;

	(void)s;
	for (i = 0; i < 16; i++) {
		if ((pids[i] = fork()) == 0) {
			struct store *sto;
			enum pg_err e;
			if (store_open(dir, 0, &sto) != PG_OK)
				_exit(3);
			e = sput(sto, "race", "me", 0, STORE_NOOVERWRITE);
			store_close(sto);
			_exit(e == PG_OK ? 0 : e == PG_EXISTS ? 1 : 2);
		}
	}
	for (i = 0; i < 16; i++) {
		waitpid(pids[i], &st, 0);
		assert_true(WIFEXITED(st));
		if (WEXITSTATUS(st) == 0)
			wins++;
		else if (WEXITSTATUS(st) == 1)
			exists++;
	}
	assert_int_equal(wins, 1);
	assert_int_equal(exists, 15);
}

/* A store handle must not be used after fork(). */
static void
test_no_use_after_fork(void **s)
{
	struct store	*st;
	pid_t		 pid;
	int		 status;

	(void)s;
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	if ((pid = fork()) == 0)
		_exit(sput(st, "child", "x", 0, 0) == PG_STORE ? 0 : 1);
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	store_close(st);
}


static enum pg_err
put_rate(struct store_txn *t, void *arg)
{
	(void)arg;
	return store_put(t, NS_RATE, "r", 1, "w", 1, 0, STORE_DERIVED);
}

static enum pg_err
get_rate(struct store_txn *t, void *arg)
{
	const void	*v;
	size_t		 n;

	*(enum pg_err *)arg = store_get(t, NS_RATE, "r", 1, &v, &n, NULL);
	return PG_OK;
}

static enum pg_err
both_envs(struct store_txn *t, void *arg)
{
	const void	*v;
	size_t		 n;

	(void)arg;
	(void)store_get(t, NS_META, "a", 1, &v, &n, NULL);
	return store_put(t, NS_RATE, "x", 1, "y", 1, 0, STORE_DERIVED);
}

/*
 * Rate windows live in a volatile environment trusted for one boot only:
 * after a reboot (another kernel boot id) it starts empty, while the main
 * environment keeps everything.  A transaction never spans both.
 */
static void
test_volatile_per_boot(void **s)
{
	struct store	*st;
	enum pg_err	 got;
	char		 p[4200], v[256];
	FILE		*f;

	(void)s;
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	assert_int_equal(sput(st, "keep", "me", 0, 0), PG_OK);
	assert_int_equal(store_run(st, 1, put_rate, NULL), PG_OK);
	assert_int_equal(store_run(st, 0, get_rate, &got), PG_OK);
	assert_int_equal(got, PG_OK);
	assert_int_equal(store_run(st, 1, both_envs, NULL), PG_STORE);
	store_close(st);
	/* Same boot: the window is still there. */
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	assert_int_equal(store_run(st, 0, get_rate, &got), PG_OK);
	assert_int_equal(got, PG_OK);
	store_close(st);
	/* "Reboot": another boot id recorded beside the volatile file. */
	snprintf(p, sizeof(p), "%s/volatile/boot_id", dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("00000000-0000-0000-0000-000000000000", f);
	fclose(f);
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	assert_int_equal(store_run(st, 0, get_rate, &got), PG_OK);
	assert_int_equal(got, PG_NOTFOUND);
	assert_int_equal(sget(st, "keep", v), PG_OK);
	assert_string_equal(v, "me");
	store_close(st);
}

/*
 * store_lock_fd: one descriptor per name for the store's life, a real
 * lock file shared with other processes, never through a symlink, and
 * not usable in a forked child.
 */
static void
test_lock_fd(void **s)
{
	struct store	*st, *st2;
	struct stat	 sb;
	char		 p[4200];
	pid_t		 pid;
	int		 a, b, status;

	(void)s;
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	a = store_lock_fd(st, "a.lock");
	assert_true(a >= 0);
	assert_int_equal(store_lock_fd(st, "a.lock"), a);
	b = store_lock_fd(st, "b.lock");
	assert_true(b >= 0 && b != a);
	snprintf(p, sizeof(p), "%s/volatile/a.lock", dir);
	assert_int_equal(lstat(p, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* Plain names only, and a bounded table. */
	errno = 0;
	assert_int_equal(store_lock_fd(st, "x/y"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(store_lock_fd(st, ""), -1);
	assert_true(store_lock_fd(st, "c.lock") >= 0);
	assert_true(store_lock_fd(st, "d.lock") >= 0);
	errno = 0;
	assert_int_equal(store_lock_fd(st, "e.lock"), -1);
	assert_int_equal(errno, ENFILE);
	/* Another process's lock on the same name conflicts with ours. */
	assert_int_equal(flock(a, LOCK_EX), 0);
	if ((pid = fork()) == 0) {
		int	 rc = 1, fd;

		/* Not in a forked child of the opener... */
		if (store_lock_fd(st, "a.lock") != -1)
			_exit(2);
		/* ...but through its own store: held by the parent. */
		if (store_open(dir, 0, &st2) == PG_OK &&
		    (fd = store_lock_fd(st2, "a.lock")) >= 0 &&
		    flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK)
			rc = 0;
		_exit(rc);
	}
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(flock(a, LOCK_UN), 0);
	store_close(st);
	/* A symlink planted where a lock file goes is refused. */
	snprintf(p, sizeof(p), "%s/volatile/evil.lock", dir);
	assert_int_equal(symlink("/tmp/payguard-test-nowhere", p), 0);
	assert_int_equal(store_open(dir, 0, &st), PG_OK);
	assert_int_equal(store_lock_fd(st, "evil.lock"), -1);
	assert_int_equal(lstat("/tmp/payguard-test-nowhere", &sb), -1);
	store_close(st);
}

static int
teardown(void **s)
{
	char	 cmd[4200];

	(void)s;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_and_expiry),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_map_growth),
		cmocka_unit_test(test_open_keeps_grown_map),
		cmocka_unit_test(test_insert_race),
		cmocka_unit_test(test_no_use_after_fork),
		cmocka_unit_test(test_volatile_per_boot),
		cmocka_unit_test(test_lock_fd),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
