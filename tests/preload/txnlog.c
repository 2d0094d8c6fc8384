/*
 * payguard test preload - logs every LMDB write transaction a program
 * begins, for tests that must show a program does NOT write (audit.cgi:
 * no write transaction per view, tests/e2e/test_audit_apache.sh).
 *
 *   LD_PRELOAD=build/preload/txnlog.so PG_TXNLOG=/path/log prog ...
 *
 * Appends one line per mdb_txn_begin without MDB_RDONLY: the path of the
 * environment (the state directory or its volatile/).  It counts the
 * transactions begun, not the ones that changed data: LMDB commits an
 * empty write transaction without advancing the environment's last
 * transaction id, so mdb_stat's txnid cannot see one, yet it still takes
 * the writer lock every other process waits on.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <lmdb.h>

typedef int (*txn_begin_fn)(MDB_env *, MDB_txn *, unsigned int, MDB_txn **);

int
mdb_txn_begin(MDB_env *env, MDB_txn *parent, unsigned int flags,
    MDB_txn **txn)
{
	static txn_begin_fn real;
	const char	*path = NULL, *log = getenv("PG_TXNLOG");
	char		 line[PATH_MAX + 2];
	int		 fd, n;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "mdb_txn_begin");
	if (real == NULL)
		abort();
	/* One write(2) per line with O_APPEND: lines from concurrent
	 * processes do not interleave. */
	if ((flags & MDB_RDONLY) == 0 && log != NULL &&
	    mdb_env_get_path(env, &path) == 0 && path != NULL &&
	    (n = snprintf(line, sizeof(line), "%s\n", path)) > 0 &&
	    (size_t)n < sizeof(line) &&
	    (fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666)) >= 0) {
		if (write(fd, line, (size_t)n) != n)
			abort();
		close(fd);
	}
	return real(env, parent, flags, txn);
}
