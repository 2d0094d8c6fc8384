/*
 * payguard - group commit (see gcommit.h).
 *
 * The stage (NS_STAGE, volatile environment) holds, per item:
 *   "e" key        -> [state][result][be64 seq]   what became of key
 *   "p" be64 seq   -> [be16 klen][key][val]       the pending list, in order
 *   "c"            -> be64                        the last seq handed out
 * A pending item has both; the leader deletes its "p" entry and marks the
 * "e" entry done (or failed) after the main commit, and the "e" entry then
 * expires after GC_KEEP_MS (only a shortcut for late duplicates: the
 * main environment answers for them afterwards).
 *
 * Lock order: a process holds at most one environment's write lock at a
 * time (stage, main, mark are three transactions), and the commit lock is
 * taken with no transaction open, so nothing waits in a cycle.  The stage
 * transaction reads the main environment (a read transaction, no lock).
 */
#include <sys/file.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "gcommit.h"
#include "log.h"

#define GC_KEEP_MS	60000u
#define GC_LOCK		"commit.lock"	/* in state_dir/volatile */
#define GC_WAIT0	"commit.wait"
#define GC_WAIT1	"commit.wait1"
/*
 * Three locks, all kept open by the store (store_lock_fd).  The leader
 * holds GC_LOCK exclusively while it leads, and a wait lock exclusively
 * over each batch (collect, synced commit, mark): GC_WAIT0 for its even
 * batches, GC_WAIT1 for its odd ones, the next one taken before the last
 * is let go.  The others wait for a batch with a shared lock on the wait
 * lock held, so that when it is over they all wake at once and each
 * finds its item done - rather than taking the leader's lock one after
 * another only to learn that, which made the waiters a queue and kept
 * batches small.  Two wait locks, because with one the leader took it
 * again for its next batch before the woken waiters ran, and they slept
 * through that batch too (measured: half a millisecond more, median,
 * from an item's commit to its return).  A waiter whose item is still
 * pending tries to lead (GC_LOCK without blocking); one that keeps
 * finding no batch in flight and no lead (it raced a leader between two
 * batches) queues for GC_LOCK after GC_SPINS tries, so the loop always
 * ends.
 */
#define GC_SPINS	4
#define GC_LEAD_MAX	8	/* batches one leader runs at most */

enum gc_state { ST_PENDING = 0, ST_DONE = 1, ST_FAILED = 2 };

#define EVAL_LEN	10	/* state, result, be64 seq */

struct gc_item {
	uint64_t	 seq;
	unsigned char	 key[GC_KEY_MAX];
	size_t		 klen;
	unsigned char	*val;	/* malloc'd copy */
	size_t		 vlen;
	int		 res;
};

struct stage_ctx {
	struct store	*st;
	const void	*key;
	size_t		 klen;
	const void	*val;
	size_t		 vlen;
	gc_probe_fn	 probe;
	int		 staged;	/* this call staged the item */
	int		 settled;	/* res is final (no wait needed) */
	int		 res;
	uint64_t	 seq;		/* the pending item's seq */
};

static size_t
ekey(unsigned char *k, const void *key, size_t klen)
{
	k[0] = 'e';
	memcpy(k + 1, key, klen);
	return klen + 1;
}

static void
pkey(unsigned char *k, uint64_t seq)
{
	k[0] = 'p';
	codec_be64_put(k + 1, seq);
}

struct probe_arg {
	gc_probe_fn	 fn;
	const void	*key;
	size_t		 klen;
};

static enum pg_err
probe_txn(struct store_txn *t, void *arg)
{
	struct probe_arg *p = arg;

	return p->fn(t, p->key, p->klen);
}

/* Volatile write transaction: the stage and then the main environment
 * checked under the stage's write lock, so no other process can stage or
 * unstage key meanwhile. */
static enum pg_err
stage_txn(struct store_txn *t, void *arg)
{
	struct stage_ctx *c = arg;
	struct probe_arg pa = { c->probe, c->key, c->klen };
	unsigned char	 ek[1 + GC_KEY_MAX], pk[9], ev[EVAL_LEN], cv[8];
	unsigned char	*pv = NULL;
	const void	*v;
	size_t		 vlen, eklen;
	enum pg_err	 e;

	c->staged = c->settled = 0;
	c->res = 0;
	c->seq = 0;
	eklen = ekey(ek, c->key, c->klen);
	e = store_get(t, NS_STAGE, ek, eklen, &v, &vlen, NULL);
	if (e == PG_OK && vlen == EVAL_LEN) {
		const unsigned char *b = v;

		if (b[0] == ST_PENDING) {
			c->seq = codec_be64_get(b + 2);
			return PG_OK;	/* staged by another: wait for it */
		}
		if (b[0] == ST_DONE) {
			c->settled = 1;
			c->res = GC_EXISTS;
			return PG_OK;
		}
		/* ST_FAILED: its batch did not commit; stage it afresh. */
	} else if (e != PG_OK && e != PG_NOTFOUND)
		return e;
	e = store_run(c->st, 0, probe_txn, &pa);
	if (e == PG_OK) {
		c->settled = 1;
		c->res = GC_EXISTS;
		return PG_OK;
	}
	if (e != PG_NOTFOUND)
		return e;
	c->seq = 1;
	if (store_get(t, NS_STAGE, "c", 1, &v, &vlen, NULL) == PG_OK &&
	    vlen == 8)
		c->seq = codec_be64_get(v) + 1;
	codec_be64_put(cv, c->seq);
	if ((e = store_put(t, NS_STAGE, "c", 1, cv, 8, 0, 0)) != PG_OK)
		return e;
	ev[0] = ST_PENDING;
	ev[1] = 0;
	codec_be64_put(ev + 2, c->seq);
	if ((e = store_put(t, NS_STAGE, ek, eklen, ev, EVAL_LEN, 0, 0)) != PG_OK)
		return e;
	if ((pv = malloc(2 + c->klen + c->vlen)) == NULL)
		return PG_ENOMEM;
	pv[0] = (unsigned char)(c->klen >> 8);
	pv[1] = (unsigned char)c->klen;
	memcpy(pv + 2, c->key, c->klen);
	memcpy(pv + 2 + c->klen, c->val, c->vlen);
	pkey(pk, c->seq);
	e = store_put(t, NS_STAGE, pk, 9, pv, 2 + c->klen + c->vlen, 0, 0);
	free(pv);
	if (e == PG_OK)
		c->staged = 1;
	return e;
}

struct look_ctx {
	const void	*key;
	size_t		 klen;
	int		 found;
	int		 state;
	int		 res;
	uint64_t	 seq;
};

static enum pg_err
look_txn(struct store_txn *t, void *arg)
{
	struct look_ctx	*l = arg;
	unsigned char	 ek[1 + GC_KEY_MAX];
	const unsigned char *b;
	const void	*v;
	size_t		 vlen;
	enum pg_err	 e;

	l->found = 0;
	e = store_get(t, NS_STAGE, ek, ekey(ek, l->key, l->klen), &v, &vlen,
	    NULL);
	if (e == PG_NOTFOUND)
		return PG_OK;
	if (e != PG_OK)
		return e;
	if (vlen != EVAL_LEN)
		return PG_STORE;
	b = v;
	l->found = 1;
	l->state = b[0];
	l->res = b[1];
	l->seq = codec_be64_get(b + 2);
	return PG_OK;
}

struct batch {
	struct gc_item	*it;
	size_t		 n;
	gc_apply_fn	 apply;
};

static void
batch_clear(struct batch *b)
{
	size_t	 i;

	for (i = 0; i < b->n; i++)
		free(b->it[i].val);
	b->n = 0;
}

static int
collect_one(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t exp, void *arg)
{
	struct batch	*b = arg;
	struct gc_item	*it;
	const unsigned char *v = val;
	size_t		 kl;

	(void)exp;
	if (b->n >= GC_BATCH)
		return 1;
	if (klen != 9 || vlen < 2)
		return -1;
	kl = ((size_t)v[0] << 8) | v[1];
	if (kl == 0 || kl > GC_KEY_MAX || kl > vlen - 2)
		return -1;
	it = &b->it[b->n];
	memset(it, 0, sizeof(*it));
	it->seq = codec_be64_get((const unsigned char *)key + 1);
	memcpy(it->key, v + 2, kl);
	it->klen = kl;
	it->vlen = vlen - 2 - kl;
	if ((it->val = malloc(it->vlen > 0 ? it->vlen : 1)) == NULL)
		return -1;
	memcpy(it->val, v + 2 + kl, it->vlen);
	b->n++;
	return b->n >= GC_BATCH;
}

/* Volatile read transaction: the oldest pending items, up to GC_BATCH. */
static enum pg_err
collect_txn(struct store_txn *t, void *arg)
{
	struct batch	*b = arg;

	batch_clear(b);
	return store_scan(t, NS_STAGE, "p", 1, "q", 1, 0, collect_one, b);
}

/* The leader's main-environment transaction: every item of the batch. */
static enum pg_err
apply_txn(struct store_txn *t, void *arg)
{
	struct batch	*b = arg;
	size_t		 i;
	enum pg_err	 e;

	for (i = 0; i < b->n; i++) {
		b->it[i].res = 0;
		if ((e = b->apply(t, b->it[i].key, b->it[i].klen,
		    b->it[i].val, b->it[i].vlen, &b->it[i].res)) != PG_OK)
			return e;
		if (b->it[i].res != GC_NEW && b->it[i].res != GC_EXISTS)
			return PG_STORE;
	}
	return PG_OK;
}

struct mark_ctx {
	struct batch	*b;
	int		 state;
};

/* Volatile write transaction: the batch leaves the pending list. */
static enum pg_err
mark_txn(struct store_txn *t, void *arg)
{
	struct mark_ctx	*m = arg;
	unsigned char	 ek[1 + GC_KEY_MAX], pk[9], ev[EVAL_LEN];
	uint64_t	 exp = store_now_ms() + GC_KEEP_MS;
	size_t		 i;
	enum pg_err	 e;

	for (i = 0; i < m->b->n; i++) {
		struct gc_item *it = &m->b->it[i];

		pkey(pk, it->seq);
		e = store_del(t, NS_STAGE, pk, 9);
		if (e != PG_OK && e != PG_NOTFOUND)
			return e;
		ev[0] = (unsigned char)m->state;
		ev[1] = (unsigned char)it->res;
		codec_be64_put(ev + 2, it->seq);
		if ((e = store_put(t, NS_STAGE, ek, ekey(ek, it->key, it->klen),
		    ev, EVAL_LEN, exp, 0)) != PG_OK)
			return e;
	}
	return PG_OK;
}

/* flock(2) through EINTR: 0, or -1 with errno (EWOULDBLOCK with LOCK_NB). */
static int
lock_fd(int fd, int op)
{
	int	 r;

	while ((r = flock(fd, op)) != 0 && errno == EINTR)
		;
	return r;
}

/*
 * Leads batches until the one holding seq is committed (or fails), and
 * then while more items are staged, up to GC_LEAD_MAX batches in all:
 * handing over to a new leader costs a wake-up and a turn on a busy CPU,
 * during which no flush runs, while a leader already running starts the
 * next flush at once.  Called with the commit lock held.  *res gets
 * seq's result.
 */
static enum pg_err
lead(struct store *st, const int wfd[2], gc_apply_fn apply, uint64_t seq,
    int *res)
{
	struct batch	 b;
	struct mark_ctx	 m;
	size_t		 i, batches;
	int		 mine = 0;
	enum pg_err	 e, ce = PG_STORE, mine_e = PG_STORE;

	memset(&b, 0, sizeof(b));
	b.apply = apply;
	/* collect_one initialises each item it fills. */
	if ((b.it = malloc(GC_BATCH * sizeof(*b.it))) == NULL)
		return PG_ENOMEM;
	for (batches = 0; ; batches++) {
		e = PG_SYSTEM;
		if (lock_fd(wfd[batches % 2], LOCK_EX) != 0)
			break;
		if (batches > 0)	/* the batch before is over */
			(void)flock(wfd[(batches - 1) % 2], LOCK_UN);
		if ((e = store_run(st, 0, collect_txn, &b)) != PG_OK)
			break;
		if (b.n == 0) {
			if (mine)
				break;
			log_warnx("group commit: item %llu is not staged",
			    (unsigned long long)seq);
			e = PG_STORE;
			break;
		}
		/* One synced commit for the whole batch. */
		ce = store_run(st, 1, apply_txn, &b);
		m.b = &b;
		m.state = ce == PG_OK ? ST_DONE : ST_FAILED;
		if (ce != PG_OK)
			log_warnx("group commit: batch of %zu: %s", b.n,
			    pg_strerror(ce));
		/* A failed mark leaves the batch pending: the next leader
		 * applies it again, and apply recognises it. */
		if ((e = store_run(st, 1, mark_txn, &m)) != PG_OK)
			log_warnx("group commit: marking: %s", pg_strerror(e));
		for (i = 0; i < b.n; i++)
			if (b.it[i].seq == seq) {
				mine = 1;
				mine_e = ce;
				*res = b.it[i].res;
			}
		/* After a failed batch, stop: the disk may be full. */
		if (ce != PG_OK || (mine && batches + 1 >= GC_LEAD_MAX))
			break;
	}
	(void)flock(wfd[0], LOCK_UN);
	(void)flock(wfd[1], LOCK_UN);
	/* Ours is settled by the batch that held it, whatever came after. */
	if (mine)
		e = mine_e;
	else if (e == PG_OK)
		e = ce;
	batch_clear(&b);
	free(b.it);
	return e;
}

/*
 * Waits until key (l) is settled by some leader's batch (l->state done
 * or failed), or is still pending and ours to lead: then it returns with
 * the lead lock held.
 */
static enum pg_err
await(struct store *st, int lfd, const int wfd[2], struct look_ctx *l)
{
	int	 spins = 0, leading = 0, w;

	for (;;) {
		/* Committed by a leader (or failed with its batch)? */
		if (store_run(st, 0, look_txn, l) != PG_OK)
			return PG_STORE;
		if (!l->found)
			return PG_STORE;
		if (l->state != ST_PENDING || leading)
			return PG_OK;
		if (lock_fd(lfd, spins < GC_SPINS ? LOCK_EX | LOCK_NB :
		    LOCK_EX) == 0) {
			leading = 1;	/* look once more, then lead */
			continue;
		}
		if (errno != EWOULDBLOCK)
			return PG_SYSTEM;
		/* Someone leads: wait for the batch in flight, if any (on
		 * whichever wait lock is held). */
		w = 0;
		if (lock_fd(wfd[0], LOCK_SH | LOCK_NB) == 0) {
			(void)flock(wfd[0], LOCK_UN);
			w = 1;
			if (lock_fd(wfd[1], LOCK_SH | LOCK_NB) == 0) {
				(void)flock(wfd[1], LOCK_UN);
				spins++;	/* none: between two batches */
				continue;
			}
		}
		if (errno != EWOULDBLOCK || lock_fd(wfd[w], LOCK_SH) != 0)
			return PG_SYSTEM;
		(void)flock(wfd[w], LOCK_UN);
	}
}

enum pg_err
gc_submit(struct store *st, const void *key, size_t klen, const void *val,
    size_t vlen, gc_probe_fn probe, gc_apply_fn apply, int *res)
{
	struct stage_ctx c;
	struct look_ctx	 l;
	int		 lfd = -1, wfd[2];
	enum pg_err	 e;

	*res = 0;
	if (klen == 0 || klen > GC_KEY_MAX)
		return PG_EINVAL;
	memset(&c, 0, sizeof(c));
	c.st = st;
	c.key = key;
	c.klen = klen;
	c.val = val;
	c.vlen = vlen;
	c.probe = probe;
	if ((e = store_run(st, 1, stage_txn, &c)) != PG_OK)
		goto out;
	if (c.settled) {
		*res = c.res;
		goto out;
	}
	e = PG_SYSTEM;
	if ((lfd = store_lock_fd(st, GC_LOCK)) < 0 ||
	    (wfd[0] = store_lock_fd(st, GC_WAIT0)) < 0 ||
	    (wfd[1] = store_lock_fd(st, GC_WAIT1)) < 0) {
		log_warn("volatile/" GC_LOCK ": commit locks");
		goto out;
	}
	memset(&l, 0, sizeof(l));
	l.key = key;
	l.klen = klen;
	if ((e = await(st, lfd, wfd, &l)) != PG_OK) {
		if (e == PG_SYSTEM)
			log_warn("flock volatile/" GC_LOCK);
		goto out;
	}
	e = PG_STORE;
	if (l.state == ST_FAILED)
		goto out;
	if (l.state == ST_DONE) {
		*res = c.staged && l.seq == c.seq ? l.res : GC_EXISTS;
		e = PG_OK;
		goto out;
	}
	if ((e = lead(st, wfd, apply, l.seq, res)) == PG_OK && !c.staged)
		*res = GC_EXISTS;	/* another request's item */
out:
	/* The lead lock, if await or lead left it held (the store keeps
	 * the descriptor open, so closing would not release it). */
	if (lfd >= 0)
		(void)flock(lfd, LOCK_UN);
	return e;
}
