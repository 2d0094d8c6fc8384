/*
 * payguard - the state store on LMDB.
 *
 * Two environments, one named database per namespace.  The main one
 * (state_dir/data.mdb) holds everything that must survive: events,
 * idempotency records, tokens.  Its commits are either fully synced or,
 * for derived data only, synced without the meta page (MDB_NOMETASYNC:
 * LMDB keeps its integrity, a system crash may undo that last
 * transaction).  It never sees an MDB_NOSYNC commit, which LMDB warns can
 * corrupt the file after a system crash.
 *
 * Rate windows and the audit index live in state_dir/volatile/, opened
 * MDB_NOSYNC: no fsync per request.  That file is only trusted within one
 * boot of the kernel (its boot id is kept beside it): after a reboot, when
 * a torn write could have left it corrupt, it is deleted and starts empty
 * - which forgets rate windows that a reboot outlasted anyway, and an
 * audit index that is rebuilt from the audit log (ascan_reindex).  A
 * killed process loses nothing there: its writes are in the page cache.
 *
 * Every value is
 * stored as [u64 expiry ms][payload]; expired records read as absent and
 * are swept a bounded number at a time.  LMDB facts this module relies on
 * (lmdb.h caveats): one writer at a time across all processes; an env must
 * not be used after fork(); killed readers leave stale slots that
 * mdb_reader_check() clears; a full map needs abort + grow + retry; a map
 * grown by another process shows up as MDB_MAP_RESIZED.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "forkpage.h"
#include "log.h"
#include "statedir.h"
#include "store.h"
#include "store_redis.h"

#define MAP_INITIAL	(64UL << 20)	/* address space only, not disk */
#define MAP_MAX		(64UL << 30)
#define MAX_READERS	1024
#define RUN_RETRIES	8
#define VHDR		8		/* expiry prefix of every value */

enum { ENV_MAIN = 0, ENV_VOL, ENV__MAX };

/* Which environment holds each namespace. */
static const int ns_env[NS__MAX] = {
	ENV_MAIN,	/* NS_META */
	ENV_VOL,	/* NS_RATE */
	ENV_MAIN,	/* NS_EVENT */
	ENV_MAIN,	/* NS_QUEUE */
	ENV_MAIN,	/* NS_IDEM */
	ENV_MAIN,	/* NS_TOKEN */
	ENV_VOL,	/* NS_AUDIT */
	ENV_VOL,	/* NS_AUDIT_X */
	ENV_VOL,	/* NS_STAGE */
};

static const char *const ns_names[NS__MAX] = {
	"meta",		/* NS_META */
	"rate",		/* NS_RATE */
	"event",	/* NS_EVENT */
	"queue",	/* NS_QUEUE */
	"idem",		/* NS_IDEM */
	"token",	/* NS_TOKEN */
	"audit",	/* NS_AUDIT */
	"audit_x",	/* NS_AUDIT_X */
	"stage",	/* NS_STAGE */
};

struct store {
	MDB_env		*env[ENV__MAX];
	size_t		 mapsize[ENV__MAX];
	MDB_dbi		 dbi[NS__MAX];
	unsigned int	 flags;
	pid_t		 pid;		/* the process that opened it */
	uint64_t	 last_maint;	/* ms, last store_maintain sweep */
	struct rstore	*shared;	/* Redis backend, or NULL */
	char		 dir[PATH_MAX];	/* the state directory */
	struct {
		char	 name[32];
		int	 fd;
	}		 lock[STORE_LOCKS];	/* store_lock_fd's, name "" free */
	/* Per-process sweep position for each namespace. */
	unsigned char	 sweep_key[NS__MAX][STORE_KEY_MAX];
	size_t		 sweep_len[NS__MAX];
};

struct store_txn {
	struct store	*st;
	MDB_txn		*txn;		/* begun at the first access */
	int		 env;		/* its environment, -1 before */
	int		 write;
	int		 durable;	/* a put of durable (not derived) data */
	int		 mapfull;	/* MDB_MAP_FULL seen: grow and rerun */
};

uint64_t
store_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t
store_now_ms(void)
{
	return store_now_us() / 1000u;
}

static enum pg_err
xlate(const char *what, int rc)
{
	if (rc == MDB_SUCCESS)
		return PG_OK;
	if (rc == MDB_NOTFOUND)
		return PG_NOTFOUND;
	if (rc == MDB_KEYEXIST)
		return PG_EXISTS;
	if (rc == ENOMEM)
		return PG_ENOMEM;
	log_warnx("%s failed, error %d %s", what, rc, mdb_strerror(rc));
	return PG_STORE;
}

/* data.mdb and lock.mdb in path: regular files of ours, or absent. */
static enum pg_err
lmdb_files_ok(const char *path)
{
	char		 p[PATH_MAX + 16];
	struct stat	 sb;
	enum pg_err	 e = PG_CONFIG;

	if (lstat(path, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
	    sb.st_uid != geteuid()) {
		log_warnx("%s: not a directory of the running user: refused",
		    path);
		goto out;
	}
	e = PG_TOOLARGE;
	if (snprintf(p, sizeof(p), "%s/data.mdb", path) >= (int)sizeof(p))
		goto out;
	if ((e = statedir_check_file(p)) != PG_OK)
		goto out;
	snprintf(p, sizeof(p), "%s/lock.mdb", path);
	e = statedir_check_file(p);
out:
	return e;
}

/* Unlinks name in dir (a symlink itself, never what it points to). */
static int
unlink_in(const char *dir, const char *name)
{
	char	 p[PATH_MAX + 16];

	if (snprintf(p, sizeof(p), "%s/%s", dir, name) >= (int)sizeof(p))
		return -1;
	return unlink(p);
}

/* Opens one environment at path and the databases of its namespaces. */
static enum pg_err
open_env(struct store *st, int which, const char *path, unsigned int envflags)
{
	MDB_txn		*txn = NULL;
	MDB_env		*env = NULL;
	MDB_envinfo	 info;
	struct stat	 sb;
	char		 p[PATH_MAX + 16];
	int		 rc, dead = 0, write;
	unsigned int	 rdonly;
	size_t		 i;
	enum pg_err	 e = PG_STORE;

	if ((rc = mdb_env_create(&env)) != 0)
		return xlate("mdb_env_create", rc);
	mdb_env_set_maxdbs(env, NS__MAX);
	mdb_env_set_maxreaders(env, MAX_READERS);
	/* LMDB opens its files by path: make sure, right before, that
	 * neither was replaced by a symlink or someone else's file. */
	if ((e = lmdb_files_ok(path)) != PG_OK)
		goto out;
	/*
	 * Never open with a map smaller than the file: with MDB_WRITEMAP,
	 * mdb_env_open truncates the file to the map size (down to the pages
	 * in use), and every process that had grown its map past that would
	 * die of SIGBUS at its next write there.  The file is as large as the
	 * largest map any process set.
	 */
	if (snprintf(p, sizeof(p), "%s/data.mdb", path) < (int)sizeof(p) &&
	    stat(p, &sb) == 0 && (uintmax_t)sb.st_size > MAP_INITIAL)
		mdb_env_set_mapsize(env, (size_t)sb.st_size);
	else
		mdb_env_set_mapsize(env, MAP_INITIAL);
	e = PG_STORE;
	if ((rc = mdb_env_open(env, path, envflags, 0600)) != 0) {
		e = xlate("mdb_env_open", rc);
		goto out;
	}
	/* Workers killed mid-request leave reader slots that pin pages. */
	if ((rc = mdb_reader_check(env, &dead)) != 0) {
		e = xlate("mdb_reader_check", rc);
		goto out;
	}
	if (dead > 0)
		log_warnx("store: cleared %d stale reader slot(s)", dead);
	mdb_env_info(env, &info);
	st->mapsize[which] = info.me_mapsize;
	/*
	 * The databases in a read transaction when they all exist: a plain
	 * CGI program opens the store on every request, and a write one
	 * would take the writer lock each time (an audit.cgi view waiting
	 * on a webhook's fsync).  A write transaction creates them the
	 * first time.  (LMDB keeps handles opened in a committed read
	 * transaction.)
	 */
	for (write = 0;; write = 1) {
		rdonly = write ? 0 : MDB_RDONLY;
		if ((rc = mdb_txn_begin(env, NULL, rdonly, &txn)) ==
		    MDB_MAP_RESIZED) {
			mdb_env_set_mapsize(env, 0);
			rc = mdb_txn_begin(env, NULL, rdonly, &txn);
		}
		if (rc != 0) {
			e = xlate("mdb_txn_begin", rc);
			goto out;
		}
		for (i = 0, rc = 0; i < NS__MAX && rc == 0; i++)
			if (ns_env[i] == which)
				rc = mdb_dbi_open(txn, ns_names[i],
				    write ? MDB_CREATE : 0, &st->dbi[i]);
		if (rc == 0 || write || rc != MDB_NOTFOUND)
			break;
		mdb_txn_abort(txn);
	}
	if (rc != 0) {
		e = xlate("mdb_dbi_open", rc);
		mdb_txn_abort(txn);
		goto out;
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		e = xlate("mdb_txn_commit", rc);
		goto out;
	}
	st->env[which] = env;
	env = NULL;
	e = PG_OK;
out:
	if (env != NULL)
		mdb_env_close(env);
	return e;
}

/* Reads this boot's id (the kernel's random boot_id) into out. */
static int
boot_id(char *out, size_t outsz)
{
	int	 fd;
	ssize_t	 n;

	if ((fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, out, outsz - 1);
	close(fd);
	if (n <= 0)
		return -1;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

/*
 * Opens the volatile environment, first deleting it when it was written
 * in an earlier boot (an MDB_NOSYNC file may be torn by a system crash).
 * The check runs under an exclusive lock so that no process opens the
 * file while another deletes it.  Every file here is opened through
 * statedir (no symlinks followed): the web user owns this directory.
 */
static enum pg_err
open_volatile(struct store *st, const char *dir, unsigned int envflags)
{
	char		 vdir[PATH_MAX], now[64], was[64];
	int		 lfd = -1, fd;
	ssize_t		 n;
	enum pg_err	 e = PG_SYSTEM;

	if (snprintf(vdir, sizeof(vdir), "%s/volatile", dir) >= (int)sizeof(vdir))
		return PG_TOOLARGE;
	if ((lfd = statedir_open(dir, "volatile/boot.lock", O_RDWR | O_CREAT,
	    0600)) < 0 || flock(lfd, LOCK_EX) != 0) {
		log_warn("%s/boot.lock", vdir);
		e = errno == EPERM || errno == ELOOP ? PG_CONFIG : PG_SYSTEM;
		goto out;
	}
	if (boot_id(now, sizeof(now)) == 0) {
		was[0] = '\0';
		if ((fd = statedir_open(dir, "volatile/boot_id", O_RDONLY, 0)) >=
		    0) {
			if ((n = read(fd, was, sizeof(was) - 1)) < 0)
				n = 0;
			was[n] = '\0';
			close(fd);
		} else if (errno != ENOENT) {
			log_warn("%s/boot_id", vdir);
			e = PG_CONFIG;
			goto out;
		}
		if (strcmp(now, was) != 0) {
			/* unlink removes a planted symlink, not its target. */
			(void)unlink_in(vdir, "data.mdb");
			(void)unlink_in(vdir, "lock.mdb");
			(void)unlink_in(vdir, "boot_id");
			if ((fd = statedir_open(dir, "volatile/boot_id",
			    O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
			    write(fd, now, strlen(now)) < 0)
				log_warn("%s/boot_id", vdir);
			if (fd >= 0)
				close(fd);
		}
	}
	e = open_env(st, ENV_VOL, vdir, envflags);
out:
	if (lfd >= 0)
		close(lfd);	/* releases the lock */
	return e;
}

/* Whether this is the process that opened st (never a fork's child):
 * forkpage caches the pid, so the check costs no system call. */
static int
opener(const struct store *st)
{
	return st->pid == forkpage_pid();
}

enum pg_err
store_open(const char *dir, unsigned int flags, struct store **out)
{
	struct store	*st = NULL;
	unsigned int	 envflags = MDB_NOTLS;
	enum pg_err	 e = PG_STORE;
	int		 i;

	*out = NULL;
	if ((e = statedir_check(dir)) != PG_OK)
		return e;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return PG_ENOMEM;
	st->flags = flags;
	st->pid = forkpage_pid();
	if (snprintf(st->dir, sizeof(st->dir), "%s", dir) >=
	    (int)sizeof(st->dir)) {
		e = PG_TOOLARGE;
		goto out;
	}
	/*
	 * Without durability, write straight into the map: about a third
	 * less CPU per write transaction.  Not with it: a synced commit is
	 * then an msync of the whole map, whose cost grows with the map,
	 * where fdatasync pays only for the dirty pages.  (LMDB's caveat on
	 * mixing the two modes is about durability, which NOSYNC gave up.)
	 */
	if (flags & STORE_NOSYNC)
		envflags |= MDB_NOSYNC | MDB_WRITEMAP;
	if ((e = open_env(st, ENV_MAIN, dir, envflags)) != PG_OK)
		goto out;
	if ((e = open_volatile(st, dir, MDB_NOTLS | MDB_NOSYNC |
	    MDB_WRITEMAP)) != PG_OK)
		goto out;
	*out = st;
	st = NULL;
out:
	if (st != NULL) {
		for (i = 0; i < ENV__MAX; i++)
			if (st->env[i] != NULL)
				mdb_env_close(st->env[i]);
		free(st);
	}
	return e;
}

void
store_close(struct store *st)
{
	int	 i;

	if (st == NULL)
		return;
	rstore_close(st->shared);
	if (opener(st)) {
		for (i = 0; i < ENV__MAX; i++)
			if (st->env[i] != NULL)
				mdb_env_close(st->env[i]);
		for (i = 0; i < STORE_LOCKS; i++)
			if (st->lock[i].name[0] != '\0')
				close(st->lock[i].fd);
	}
	free(st);
}

int
store_lock_fd(struct store *st, const char *name)
{
	char	 rel[64];
	int	 i, fd = -1, slot = -1;

	errno = EINVAL;
	if (st == NULL || !opener(st) || name[0] == '\0' ||
	    strlen(name) >= sizeof(st->lock[0].name) || strchr(name, '/'))
		goto out;
	for (i = 0; i < STORE_LOCKS; i++) {
		if (strcmp(st->lock[i].name, name) == 0) {
			fd = st->lock[i].fd;
			goto out;
		}
		if (slot < 0 && st->lock[i].name[0] == '\0')
			slot = i;
	}
	errno = ENFILE;
	if (slot < 0)
		goto out;
	(void)snprintf(rel, sizeof(rel), "volatile/%s", name);
	if ((fd = statedir_open(st->dir, rel, O_RDWR | O_CREAT, 0600)) < 0)
		goto out;
	st->lock[slot].fd = fd;
	(void)snprintf(st->lock[slot].name, sizeof(st->lock[slot].name), "%s",
	    name);
out:
	return fd;
}

struct rstore *
store_shared(const struct store *st)
{
	return st != NULL ? st->shared : NULL;
}

void
store_set_shared(struct store *st, struct rstore *rs)
{
	rstore_close(st->shared);
	st->shared = rs;
}

enum pg_err
store_space(struct store *st, struct store_space *sp)
{
	MDB_envinfo	 info;
	MDB_stat	 ms;

	memset(sp, 0, sizeof(*sp));
	if (st->env[ENV_MAIN] == NULL ||
	    mdb_env_info(st->env[ENV_MAIN], &info) != 0 ||
	    mdb_env_stat(st->env[ENV_MAIN], &ms) != 0)
		return PG_STORE;
	sp->used = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
	sp->map = info.me_mapsize;
	sp->map_max = MAP_MAX;
	return PG_OK;
}

static enum pg_err
grow(struct store *st, int which)
{
	size_t	 nsize = st->mapsize[which] * 2;
	int	 rc;

	if (nsize > MAP_MAX) {
		log_warnx("store: map would exceed %lu bytes", MAP_MAX);
		return PG_STORE;
	}
	if ((rc = mdb_env_set_mapsize(st->env[which], nsize)) != 0)
		return xlate("mdb_env_set_mapsize", rc);
	log_warnx("store: map grown to %zu MiB", nsize >> 20);
	st->mapsize[which] = nsize;
	return PG_OK;
}

static int
txn_begin(struct store *st, int which, int write, MDB_txn **txn)
{
	MDB_env		*env = st->env[which];
	MDB_envinfo	 info;
	int		 rc;

	rc = mdb_txn_begin(env, NULL, write ? 0 : MDB_RDONLY, txn);
	if (rc == MDB_MAP_RESIZED) {
		/* Another process grew the map: adopt its size. */
		mdb_env_set_mapsize(env, 0);
		mdb_env_info(env, &info);
		st->mapsize[which] = info.me_mapsize;
		rc = mdb_txn_begin(env, NULL, write ? 0 : MDB_RDONLY, txn);
	}
	return rc;
}

/*
 * The LMDB transaction for namespace ns: begun at the first access, in
 * that namespace's environment.  One store transaction stays within one
 * environment (so no two write locks are ever held at once); NULL when
 * asked to cross, or when the transaction cannot begin.
 */
static MDB_txn *
txn_for(struct store_txn *t, enum store_ns ns)
{
	int	 rc;

	if ((unsigned)ns >= NS__MAX)
		return NULL;
	if (t->txn == NULL) {
		if ((rc = txn_begin(t->st, ns_env[ns], t->write, &t->txn)) != 0) {
			(void)xlate("mdb_txn_begin", rc);
			t->txn = NULL;
			return NULL;
		}
		t->env = ns_env[ns];
	}
	if (t->env != ns_env[ns]) {
		log_warnx("store: one transaction across two environments");
		return NULL;
	}
	return t->txn;
}

enum pg_err
store_run(struct store *st, int write, store_fn fn, void *arg)
{
	struct store_txn t;
	MDB_env		*env;
	enum pg_err	 e = PG_STORE;
	int		 rc, tries, relax;

	if (st == NULL || !opener(st))
		return PG_STORE;	/* never across fork() */
	if (write && (st->flags & STORE_RDONLY))
		return PG_STORE;
	for (tries = 0; tries < RUN_RETRIES; tries++) {
		memset(&t, 0, sizeof(t));
		t.st = st;
		t.env = -1;
		t.write = write;
		e = fn(&t, arg);
		if (t.txn == NULL)
			return e;	/* the store was not touched */
		if (e != PG_OK || !write) {
			mdb_txn_abort(t.txn);
			if (t.mapfull && grow(st, t.env) == PG_OK)
				continue;
			return e;
		}
		env = st->env[t.env];
		/* Derived data only (the audit head checkpoint): data synced,
		 * meta not.  LMDB keeps its integrity; a system crash may undo
		 * this transaction, which the log can be checked against. */
		relax = t.env == ENV_MAIN && !t.durable &&
		    !(st->flags & STORE_NOSYNC);
		if (relax)
			mdb_env_set_flags(env, MDB_NOMETASYNC, 1);
		rc = mdb_txn_commit(t.txn);
		if (relax)
			mdb_env_set_flags(env, MDB_NOMETASYNC, 0);
		if (rc == MDB_MAP_FULL) {
			if (grow(st, t.env) != PG_OK)
				return PG_STORE;
			continue;
		}
		if (rc != 0)
			return xlate("mdb_txn_commit", rc);
		return PG_OK;
	}
	log_warnx("store: transaction retried %d times", RUN_RETRIES);
	return PG_STORE;
}

static uint64_t
val_expiry(const MDB_val *v)
{
	uint64_t	 x;

	if (v->mv_size < VHDR)
		return 1;	/* malformed: treat as long expired */
	memcpy(&x, v->mv_data, VHDR);
	return x;
}

static int
expired(uint64_t exp, uint64_t now)
{
	return exp != 0 && exp <= now;
}

enum pg_err
store_get(struct store_txn *t, enum store_ns ns, const void *key,
    size_t klen, const void **val, size_t *vlen, uint64_t *expires)
{
	MDB_txn	*txn;
	MDB_val	 k, v;
	int	 rc;
	uint64_t exp;

	if (klen == 0 || klen > STORE_KEY_MAX)
		return PG_EINVAL;
	k.mv_data = (void *)key;
	k.mv_size = klen;
	if ((txn = txn_for(t, ns)) == NULL)
		return PG_STORE;
	if ((rc = mdb_get(txn, t->st->dbi[ns], &k, &v)) != 0)
		return xlate("mdb_get", rc);
	exp = val_expiry(&v);
	if (expired(exp, store_now_ms()))
		return PG_NOTFOUND;
	*val = (const char *)v.mv_data + VHDR;
	*vlen = v.mv_size - VHDR;
	if (expires != NULL)
		*expires = exp;
	return PG_OK;
}

enum pg_err
store_put(struct store_txn *t, enum store_ns ns, const void *key,
    size_t klen, const void *val, size_t vlen, uint64_t expires,
    unsigned int flags)
{
	MDB_txn	*txn;
	MDB_val	 k, v;
	int	 rc;

	if (!t->write || klen == 0 || klen > STORE_KEY_MAX)
		return PG_EINVAL;
	if ((txn = txn_for(t, ns)) == NULL)
		return PG_STORE;
	k.mv_data = (void *)key;
	k.mv_size = klen;
	v.mv_size = vlen + VHDR;
	v.mv_data = NULL;
	rc = mdb_put(txn, t->st->dbi[ns], &k, &v,
	    MDB_RESERVE | ((flags & STORE_NOOVERWRITE) ? MDB_NOOVERWRITE : 0));
	if (rc == MDB_KEYEXIST) {
		/* v now holds the existing record: an expired one is
		 * as good as absent. */
		if (!expired(val_expiry(&v), store_now_ms()))
			return PG_EXISTS;
		v.mv_size = vlen + VHDR;
		rc = mdb_put(txn, t->st->dbi[ns], &k, &v, MDB_RESERVE);
	}
	if (rc == MDB_MAP_FULL) {
		t->mapfull = 1;
		return PG_STORE;
	}
	if (rc != 0)
		return xlate("mdb_put", rc);
	memcpy(v.mv_data, &expires, VHDR);
	if (vlen > 0)
		memcpy((char *)v.mv_data + VHDR, val, vlen);
	if (!(flags & STORE_DERIVED))
		t->durable = 1;
	return PG_OK;
}

enum pg_err
store_del(struct store_txn *t, enum store_ns ns, const void *key,
    size_t klen)
{
	MDB_txn	*txn;
	MDB_val	 k;
	int	 rc;

	if (!t->write || klen == 0 || klen > STORE_KEY_MAX)
		return PG_EINVAL;
	if ((txn = txn_for(t, ns)) == NULL)
		return PG_STORE;
	k.mv_data = (void *)key;
	k.mv_size = klen;
	rc = mdb_del(txn, t->st->dbi[ns], &k, NULL);
	if (rc == MDB_MAP_FULL) {
		t->mapfull = 1;
		return PG_STORE;
	}
	if (rc == 0)
		t->durable = 1;
	return xlate("mdb_del", rc);
}

/* memcmp order with length as tie-break: LMDB's default key order. */
static int
keycmp(const void *a, size_t alen, const void *b, size_t blen)
{
	int	 c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

enum pg_err
store_scan(struct store_txn *t, enum store_ns ns, const void *start,
    size_t slen, const void *end, size_t elen, int reverse,
    store_scan_fn fn, void *arg)
{
	MDB_txn		*txn;
	MDB_cursor	*c = NULL;
	MDB_val		 k, v;
	int		 rc, r;
	uint64_t	 now = store_now_ms(), exp;
	enum pg_err	 e = PG_OK;
	MDB_cursor_op	 step = reverse ? MDB_PREV : MDB_NEXT;

	if ((txn = txn_for(t, ns)) == NULL)
		return PG_STORE;
	if ((rc = mdb_cursor_open(txn, t->st->dbi[ns], &c)) != 0)
		return xlate("mdb_cursor_open", rc);
	if (!reverse) {
		k.mv_data = (void *)start;
		k.mv_size = slen;
		rc = start != NULL ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) :
		    mdb_cursor_get(c, &k, &v, MDB_FIRST);
	} else if (end != NULL) {
		k.mv_data = (void *)end;
		k.mv_size = elen;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		if (rc == 0)
			rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
		else if (rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	} else
		rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, step)) {
		if (!reverse && end != NULL &&
		    keycmp(k.mv_data, k.mv_size, end, elen) >= 0)
			break;
		if (reverse && start != NULL &&
		    keycmp(k.mv_data, k.mv_size, start, slen) < 0)
			break;
		exp = val_expiry(&v);
		if (expired(exp, now))
			continue;
		r = fn(k.mv_data, k.mv_size, (const char *)v.mv_data + VHDR,
		    v.mv_size - VHDR, exp, arg);
		if (r < 0) {
			e = PG_STORE;
			break;
		}
		if (r > 0)
			break;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		e = xlate("mdb_cursor_get", rc);
	mdb_cursor_close(c);
	return e;
}

enum pg_err
store_sweep(struct store_txn *t, enum store_ns ns, size_t budget,
    size_t *swept)
{
	MDB_txn		*txn;
	struct store	*st = t->st;
	MDB_cursor	*c = NULL;
	MDB_val		 k, v;
	int		 rc;
	size_t		 seen = 0, n = 0;
	uint64_t	 now = store_now_ms();
	enum pg_err	 e = PG_OK;

	*swept = 0;
	if ((txn = txn_for(t, ns)) == NULL)
		return PG_STORE;
	if ((rc = mdb_cursor_open(txn, st->dbi[ns], &c)) != 0)
		return xlate("mdb_cursor_open", rc);
	/* Continue from where this process stopped last time, so that a
	 * long run of live records cannot starve the rest. */
	k.mv_data = st->sweep_key[ns];
	k.mv_size = st->sweep_len[ns];
	rc = k.mv_size > 0 ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) :
	    mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0 && seen < budget) {
		seen++;
		/* A read transaction only counts.  LMDB marks the cursor
		 * after a delete so that MDB_NEXT lands on the record that
		 * followed. */
		if (expired(val_expiry(&v), now)) {
			if (t->write && (rc = mdb_cursor_del(c, 0)) != 0)
				break;
			n++;
		}
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	if (rc == 0 && k.mv_size <= STORE_KEY_MAX) {
		memcpy(st->sweep_key[ns], k.mv_data, k.mv_size);
		st->sweep_len[ns] = k.mv_size;
	} else
		st->sweep_len[ns] = 0;	/* wrapped: start over next time */
	if (rc == MDB_MAP_FULL) {
		t->mapfull = 1;
		e = PG_STORE;
	} else if (rc != 0 && rc != MDB_NOTFOUND && rc != EINVAL)
		e = xlate("store_sweep", rc);
	mdb_cursor_close(c);
	*swept = n;
	return e;
}

size_t
store_count(struct store_txn *t, enum store_ns ns)
{
	MDB_stat	 s;
	MDB_txn		*txn;

	if ((txn = txn_for(t, ns)) == NULL || mdb_stat(txn, t->st->dbi[ns], &s) != 0)
		return 0;
	return s.ms_entries;
}

struct maint_ctx {
	size_t	 budget;
	size_t	 swept;
	int	 env;
};

static enum pg_err
maint_txn(struct store_txn *t, void *arg)
{
	struct maint_ctx *m = arg;
	size_t		 n;
	int		 ns;
	enum pg_err	 e;

	m->swept = 0;
	for (ns = 0; ns < NS__MAX; ns++) {
		if (ns_env[ns] != m->env)
			continue;
		if ((e = store_sweep(t, (enum store_ns)ns, m->budget, &n)) != PG_OK)
			return e;
		m->swept += n;
	}
	return PG_OK;
}

enum pg_err
store_maintain(struct store *st, size_t budget)
{
	struct maint_ctx m = { budget, 0, 0 };
	unsigned char	 key[NS__MAX][STORE_KEY_MAX];
	size_t		 len[NS__MAX];
	uint64_t	 now = store_now_ms();
	enum pg_err	 e = PG_OK;

	if (st == NULL || (st->flags & STORE_RDONLY) ||
	    now - st->last_maint < 5000)
		return PG_OK;
	st->last_maint = now;
	/*
	 * One transaction per environment: never two write locks at once.
	 * A look in a read transaction first, a write one only when it saw
	 * something expired: a plain CGI program maintains the store on
	 * every request, and even an empty write transaction takes the
	 * writer lock.  The write pass starts where the look did.
	 */
	for (m.env = 0; m.env < ENV__MAX && e == PG_OK; m.env++) {
		memcpy(key, st->sweep_key, sizeof(key));
		memcpy(len, st->sweep_len, sizeof(len));
		if ((e = store_run(st, 0, maint_txn, &m)) != PG_OK ||
		    m.swept == 0)
			continue;
		memcpy(st->sweep_key, key, sizeof(key));
		memcpy(st->sweep_len, len, sizeof(len));
		e = store_run(st, 1, maint_txn, &m);
	}
	return e;
}
