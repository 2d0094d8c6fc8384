/*
 * payguard - the audit log writer (see audit.h).
 *
 * The record is built (arecord_build), then the chain fields are
 * appended under the append lock: seq and prev come from the last line
 * of the file itself, the hash covers the bytes before ,"hash":.  Order
 * of locks: the store's write transaction (when there is a store), then
 * flock(2) on the file; file-only writers take just the flock, so no
 * cycle is possible.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aindex.h"
#include "arecord.h"
#include "audit.h"
#include "buf.h"
#include "config.h"
#include "codec.h"
#include "log.h"
#include "metrics.h"
#include "statedir.h"
#include "store.h"

#define TAIL_CHUNK	4096

/*
 * Reads the chain head from the file's last complete line (sb: the
 * file's fstat): *seq 0 and a zero hash when the file is empty or its
 * last line is unchained.
 */
static enum pg_err
file_head(int fd, const struct stat *sb, uint64_t *seq,
    unsigned char hash[ARECORD_HASH_LEN])
{
	unsigned char	 prev[ARECORD_HASH_LEN];
	char		*b = NULL;
	size_t		 want, n, i, start = 0;
	ssize_t		 r;
	int		 self_ok, whole;
	enum pg_err	 e = PG_SYSTEM;

	*seq = 0;
	memset(hash, 0, ARECORD_HASH_LEN);
	e = PG_OK;
	if (sb->st_size == 0)
		goto out;
	e = PG_ENOMEM;
	if ((b = malloc(ARECORD_LINE_MAX + 2)) == NULL)
		goto out;
	/* Most lines are far below TAIL_CHUNK; read more only if needed. */
	for (want = TAIL_CHUNK; ; want = ARECORD_LINE_MAX + 2) {
		n = (uintmax_t)sb->st_size < want ? (size_t)sb->st_size : want;
		whole = (uintmax_t)n == (uintmax_t)sb->st_size;
		e = PG_SYSTEM;
		if ((r = pread(fd, b, n, sb->st_size - (off_t)n)) < 0 ||
		    (size_t)r != n)
			goto out;
		e = PG_OK;
		/* Ignore a torn last line (no newline): the previous one
		 * is the head, and verify will report the torn line. */
		while (n > 0 && b[n - 1] != '\n')
			n--;
		if (n > 0) {
			n--;	/* the newline */
			for (i = n; i > 0 && b[i - 1] != '\n'; i--)
				;
			start = i;
			if (start > 0 || whole)
				break;
		}
		if (whole || want > ARECORD_LINE_MAX)
			goto out;
	}
	if (arecord_chain_parse(b + start, n - start, seq, prev, hash,
	    &self_ok) != PG_OK) {
		*seq = 0;
		memset(hash, 0, ARECORD_HASH_LEN);
	}
out:
	free(b);
	return e;
}

/*
 * The tail: where the last indexed append left the file - its device,
 * inode and size after the line, with that line's seq and hash - kept
 * in the volatile environment beside the index.  Appends with a store
 * write it in the same write transaction, under the append lock, so
 * when the file is still exactly that (same inode, same size) its last
 * line is that record and the chain head needs no read of the file.
 * Anything else - a file-only writer appended, the file was rotated or
 * replaced, a transaction rolled back after its line was written -
 * shows as another size or inode, and the head is read from the file.
 */
#define TAIL_KEY	"Ztail"
#define TAIL_LEN	(32 + ARECORD_HASH_LEN)

struct tail {
	uint64_t	 dev, ino, size, seq;
	unsigned char	 hash[ARECORD_HASH_LEN];
};

/* 1 when the store holds a tail (*tl). */
static int
tail_get(struct store_txn *t, struct tail *tl)
{
	const unsigned char *v;
	const void	*pv;
	size_t		 n;

	if (store_get(t, NS_AUDIT_X, TAIL_KEY, sizeof(TAIL_KEY) - 1, &pv, &n,
	    NULL) != PG_OK || n != TAIL_LEN)
		return 0;
	v = pv;
	tl->dev = codec_be64_get(v);
	tl->ino = codec_be64_get(v + 8);
	tl->size = codec_be64_get(v + 16);
	tl->seq = codec_be64_get(v + 24);
	memcpy(tl->hash, v + 32, ARECORD_HASH_LEN);
	return 1;
}

/* 1 when the file (sb) is still exactly as the tail left it. */
static int
tail_matches(const struct tail *tl, const struct stat *sb)
{
	return tl->dev == (uint64_t)sb->st_dev &&
	    tl->ino == (uint64_t)sb->st_ino &&
	    tl->size == (uint64_t)sb->st_size;
}

static enum pg_err
tail_put(struct store_txn *t, const struct stat *sb, uint64_t size,
    uint64_t seq, const unsigned char hash[ARECORD_HASH_LEN])
{
	unsigned char	 v[TAIL_LEN];

	codec_be64_put(v, (uint64_t)sb->st_dev);
	codec_be64_put(v + 8, (uint64_t)sb->st_ino);
	codec_be64_put(v + 16, size);
	codec_be64_put(v + 24, seq);
	memcpy(v + 32, hash, ARECORD_HASH_LEN);
	return store_put(t, NS_AUDIT_X, TAIL_KEY, sizeof(TAIL_KEY) - 1, v,
	    sizeof(v), 0, STORE_DERIVED);
}

struct emit {
	int			 fd;
	struct buf		*pre;		/* record without '}' */
	struct buf		 line;		/* the chained line */
	struct arecord_fields	 f;
	struct arecord_entry	 en;
	unsigned char		 hash[ARECORD_HASH_LEN];
	int			 written;
	int			 suppressed;	/* past the flood bound */
	uint32_t		 whole;		/* N: per (type, ip, identity) */
	uint32_t		 type_whole;	/* M: per type, all of them */
};

/* Under the append lock: chain fields, one write(2). */
static enum pg_err
append_chained(struct emit *em, struct store_txn *t)
{
	unsigned char	 prev[ARECORD_HASH_LEN];
	char		 hex[2 * ARECORD_HASH_LEN + 1];
	struct stat	 sb;
	struct tail	 tl;
	uint64_t	 seq, hseq;
	size_t		 hashed;
	int		 have_tail;
	ssize_t		 w;
	enum pg_err	 e;
	int		 locked = 0;

	buf_reset(&em->line);
	/* Before the flock: the first read opens the store's write
	 * transaction, and the lock order is transaction, then flock. */
	have_tail = t != NULL && tail_get(t, &tl);
	e = PG_SYSTEM;
	if (flock(em->fd, LOCK_EX) != 0) {
		log_warn("flock audit log");
		goto out;
	}
	locked = 1;
	if (fstat(em->fd, &sb) != 0)
		goto out;
	if (have_tail && tail_matches(&tl, &sb)) {
		seq = tl.seq;
		memcpy(prev, tl.hash, ARECORD_HASH_LEN);
	} else {
		if ((e = file_head(em->fd, &sb, &seq, prev)) != PG_OK)
			goto out;
		/* A fresh (rotated) file continues the chain kept in the
		 * store. */
		if (sb.st_size == 0 && t != NULL &&
		    aindex_head_get(t, &hseq, prev) == PG_OK)
			seq = hseq;
	}
	codec_hex_encode(prev, ARECORD_HASH_LEN, hex);
	if ((e = buf_append(&em->line, em->pre->data, em->pre->len)) != PG_OK ||
	    (e = buf_printf(&em->line, ",\"seq\":%" PRIu64 ",\"prev\":\"%s\"",
	    seq + 1, hex)) != PG_OK)
		goto out;
	hashed = em->line.len;
	arecord_hash(em->line.data, hashed, em->hash);
	codec_hex_encode(em->hash, ARECORD_HASH_LEN, hex);
	if ((e = buf_printf(&em->line, ",\"hash\":\"%s\"}\n", hex)) != PG_OK)
		goto out;
	/* One write with O_APPEND: a record is never interleaved. */
	e = PG_SYSTEM;
	if ((w = write(em->fd, em->line.data, em->line.len)) < 0 ||
	    (size_t)w != em->line.len) {
		log_warn("audit write");
		goto out;
	}
	em->en.seq = seq + 1;
	em->written = 1;
	e = PG_OK;
	/* Only a shortcut: without it the next append reads the file. */
	if (t != NULL)
		(void)tail_put(t, &sb, (uint64_t)sb.st_size + em->line.len,
		    em->en.seq, em->hash);
out:
	if (locked)
		flock(em->fd, LOCK_UN);
	return e;
}

/*
 * The flood counter of en: 'F' | be64 minute | type | 0 | ip | 0 |
 * identity -> be64 count | summarised flag, in the volatile environment.
 */
static size_t
flood_key(unsigned char *k, const struct arecord_entry *en, uint64_t minute)
{
	size_t	 n = 0, l;

	k[n++] = AUDIT_FLOOD_KIND;
	codec_be64_put(k + n, minute);
	n += 8;
	l = strlen(en->type_name);
	memcpy(k + n, en->type_name, l > 64 ? 64 : l);
	n += l > 64 ? 64 : l;
	k[n++] = 0;
	l = strlen(en->ip);
	memcpy(k + n, en->ip, l > 128 ? 128 : l);
	n += l > 128 ? 128 : l;
	k[n++] = 0;
	l = strlen(en->identity);
	memcpy(k + n, en->identity, l > 128 ? 128 : l);
	n += l > 128 ? 128 : l;
	return n;
}

/* The per-type flood counter of en: 'G' | be64 minute | type. */
static size_t
flood_type_key(unsigned char *k, const struct arecord_entry *en,
    uint64_t minute)
{
	size_t	 n = 0, l;

	k[n++] = AUDIT_FLOOD_TYPE_KIND;
	codec_be64_put(k + n, minute);
	n += 8;
	l = strlen(en->type_name);
	memcpy(k + n, en->type_name, l > 64 ? 64 : l);
	n += l > 64 ? 64 : l;
	return n;
}

/* Adds one to the counter at k (be64 count | summarised flag); *n gets
 * the new count. */
static enum pg_err
flood_count(struct store_txn *t, const unsigned char *k, size_t klen,
    uint64_t *n)
{
	unsigned char	 v[9];
	const void	*pv;
	size_t		 pn;

	*n = 0;
	if (store_get(t, NS_AUDIT_X, k, klen, &pv, &pn, NULL) == PG_OK &&
	    pn == 9)
		*n = codec_be64_get(pv);
	codec_be64_put(v, ++*n);
	v[8] = 0;
	return store_put(t, NS_AUDIT_X, k, klen, v, 9, store_now_ms() +
	    AUDIT_FLOOD_KEEP_MS, STORE_DERIVED);
}

/*
 * Counts a suspicious record against its (type, address, identity,
 * minute) and tells whether it is past the first N of those, or, within
 * them, past the first M of its (type, minute): then it is only tallied
 * (counters, metrics), not kept.  The per-type count holds only records
 * within their N, so the two summaries never count one record twice.
 */
static enum pg_err
flood_check(struct store_txn *t, struct emit *em)
{
	unsigned char	 k[STORE_KEY_MAX];
	size_t		 klen;
	uint64_t	 n = 0, minute = em->en.ts_us / AINDEX_MIN_US;
	enum pg_err	 e;

	em->suppressed = 0;
	if (!aevent_suspicious(em->en.type, em->en.success))
		return PG_OK;
	klen = flood_key(k, &em->en, minute);
	if ((e = flood_count(t, k, klen, &n)) != PG_OK)
		return e;
	if (n <= em->whole) {
		klen = flood_type_key(k, &em->en, minute);
		if ((e = flood_count(t, k, klen, &n)) != PG_OK)
			return e;
		if (n <= em->type_whole)
			return PG_OK;
	}
	em->suppressed = 1;
	if ((e = aindex_tally(t, &em->en)) != PG_OK)
		return e;
	return metrics_audit_txn(t, em->en.type, em->en.sev, em->en.op);
}

static enum pg_err
emit_txn(struct store_txn *t, void *arg)
{
	struct emit	*em = arg;
	enum pg_err	 e;

	if (!em->written) {
		if ((e = flood_check(t, em)) != PG_OK)
			return e;
		if (em->suppressed)
			return PG_OK;
	}
	/* store_run may rerun us (map grown): the line is written once. */
	if (!em->written && (e = append_chained(em, t)) != PG_OK)
		return e;
	em->en.line = em->line.data;
	em->en.line_len = em->line.len - 1;
	if ((e = aindex_add(t, &em->en)) != PG_OK)
		return e;
	/* Live records only: a rebuilt index does not count again. */
	if ((e = metrics_audit_txn(t, em->en.type, em->en.sev, em->en.op)) !=
	    PG_OK)
		return e;
	return aindex_head_put(t, em->en.seq, em->hash);
}

static int
log_path(const char *state_dir, char *path, size_t n, int dir)
{
	int	 r;

	r = dir ? snprintf(path, n, "%s/logs", state_dir) :
	    snprintf(path, n, "%s/logs/" AUDIT_LOG_NAME, state_dir);
	return r < 0 || (size_t)r >= n ? -1 : 0;
}

int
audit_log_path(const char *state_dir, char *path, size_t n)
{
	return log_path(state_dir, path, n, 0);
}

static int
open_log(const char *state_dir)
{
	int	 fd;

	/* Read too: the chain head is the last line.  Never through a
	 * symlink: the web user owns the state directory. */
	if ((fd = statedir_open(state_dir, "logs/" AUDIT_LOG_NAME,
	    O_RDWR | O_APPEND | O_CREAT, 0600)) < 0)
		log_warn("open %s/logs/" AUDIT_LOG_NAME, state_dir);
	return fd;
}

void
audit_log_init(struct audit_log *l)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
}

void
audit_log_close(struct audit_log *l)
{
	if (l != NULL && l->fd >= 0)
		close(l->fd);
	if (l != NULL)
		l->fd = -1;
}

/*
 * The descriptor to append to: the process's kept one while the path
 * still names it (one stat(2) instead of mkdir, open and close per
 * record), else a fresh one.  *own tells the caller to close it.
 */
static int
log_fd(const struct audit_ctx *ctx, int *own, off_t *size)
{
	struct audit_log *l = ctx->log;
	struct stat	 sb;
	char		 path[4096];
	int		 fd;

	*own = 0;
	if (l == NULL) {
		*own = 1;
		if ((fd = open_log(ctx->state_dir)) >= 0 && fstat(fd, &sb) != 0) {
			close(fd);
			fd = -1;
		}
		*size = fd >= 0 ? sb.st_size : 0;
		return fd;
	}
	if (l->fd >= 0 && (log_path(ctx->state_dir, path, sizeof(path), 0) < 0 ||
	    lstat(path, &sb) != 0 || sb.st_ino != l->ino || sb.st_dev != l->dev))
		audit_log_close(l);	/* rotated away or removed */
	if (l->fd < 0) {
		if ((l->fd = open_log(ctx->state_dir)) < 0)
			return -1;
		if (fstat(l->fd, &sb) != 0) {
			audit_log_close(l);
			return -1;
		}
		l->dev = sb.st_dev;
		l->ino = sb.st_ino;
	}
	*size = sb.st_size;
	return l->fd;
}

struct audit_pending {
	struct emit	 em;
	struct buf	 pre;
	int		 own_fd;
	off_t		 size;		/* of the log when it was opened */
};

static void
audit_discard(struct audit_pending *p)
{
	if (p == NULL)
		return;
	if (p->own_fd && p->em.fd >= 0)
		close(p->em.fd);
	buf_free(&p->pre);
	buf_free(&p->em.line);
	free(p);
}

static enum pg_err
audit_prepare(const struct audit_ctx *ctx, struct arecord *rec,
    struct audit_pending **out)
{
	struct arecord_who who = { ctx->source_ip, ctx->user_agent,
			    ctx->request_id, ctx->identity, NULL };
	struct audit_pending *p;
	char		 host[AUDIT_NODE_MAX + 1];
	struct timespec	 now;
	enum pg_err	 e;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		json_object_put(rec->details);
		rec->details = NULL;
		return PG_ENOMEM;
	}
	p->em.fd = -1;
	buf_init(&p->pre, ARECORD_LINE_MAX);
	buf_init(&p->em.line, ARECORD_LINE_MAX);
	p->em.pre = &p->pre;
	p->em.whole = ctx->cfg != NULL ? ctx->cfg->audit_flood_whole :
	    AUDIT_FLOOD_WHOLE;
	p->em.type_whole = ctx->cfg != NULL ? ctx->cfg->audit_flood_type :
	    AUDIT_FLOOD_TYPE_WHOLE;
	clock_gettime(CLOCK_REALTIME, &now);
	/* Every record names its node (issue 11: several web servers, one
	 * index); the host name unless PAYGUARD_NODE says otherwise. */
	if (ctx->cfg != NULL && ctx->cfg->node != NULL &&
	    ctx->cfg->node[0] != '\0')
		who.node = ctx->cfg->node;
	else if (ctx->log != NULL && ctx->log->host[0] != '\0')
		who.node = ctx->log->host;	/* a system call per record less */
	else if (gethostname(host, sizeof(host) - 1) == 0) {
		host[sizeof(host) - 1] = '\0';
		who.node = host;
		if (ctx->log != NULL)
			memcpy(ctx->log->host, host, sizeof(host));
	}
	if ((e = arecord_build(&who, rec, &now, &p->pre, &p->em.f)) != PG_OK)
		goto out;
	e = PG_SYSTEM;
	if ((p->em.fd = log_fd(ctx, &p->own_fd, &p->size)) < 0)
		goto out;
	/* The line's own precision (ms): a rebuilt index gets the same
	 * key (ascan_reindex). */
	p->em.en.ts_us = ((uint64_t)now.tv_sec * 1000u +
	    (uint64_t)now.tv_nsec / 1000000u) * 1000u;
	p->em.en.sev = rec->severity;
	p->em.en.success = rec->success;
	p->em.en.type = rec->type;
	p->em.en.type_name = aevent_name(rec->type);
	p->em.en.ip = p->em.f.ip;
	p->em.en.identity = p->em.f.identity;
	p->em.en.op = p->em.f.has_op ? p->em.f.op : NULL;
	p->em.en.node = p->em.f.node;
	*out = p;
	p = NULL;
	e = PG_OK;
out:
	audit_discard(p);
	return e;
}

static enum pg_err
audit_finish(struct audit_pending *p)
{
	enum pg_err	 e;

	if (p == NULL)
		return PG_EINVAL;
	e = p->em.written || p->em.suppressed ? PG_OK :
	    append_chained(&p->em, NULL);
	audit_discard(p);
	return e;
}

static enum pg_err
commit_txn(struct store_txn *t, void *arg)
{
	return emit_txn(t, &((struct audit_pending *)arg)->em);
}

enum pg_err
audit_event(const struct audit_ctx *ctx, enum aevent type, enum audit_sev sev,
    int success, const char *resource, struct json_object *details,
    const char *action)
{
	struct arecord rec;

	memset(&rec, 0, sizeof(rec));
	rec.type = type;
	rec.severity = sev;
	rec.success = success;
	rec.resource = resource;
	rec.details = details;
	rec.mitigated = action != NULL;
	rec.mitigation_action = action;
	return audit_emit(ctx, &rec);
}

enum pg_err
audit_emit(const struct audit_ctx *ctx, struct arecord *rec)
{
	struct audit_pending *p = NULL;
	enum pg_err	 e;

	if ((e = audit_prepare(ctx, rec, &p)) != PG_OK)
		return e;
	/* A fresh (rotated) file continues the chain from the store's head;
	 * after a reboot that head comes back from the durable checkpoint. */
	if (ctx->st != NULL && p->size == 0)
		(void)aindex_prime(ctx->st);
	if (ctx->st != NULL && (e = store_run(ctx->st, 1, commit_txn, p)) !=
	    PG_OK)
		/* The primary log matters more than the index. */
		log_warnx("audit index: %s", pg_strerror(e));
	/* With Redis, the index every node reads (a record it misses now
	 * comes back with the next rebuild from this node's log). */
	else if (ctx->st != NULL && store_shared(ctx->st) != NULL &&
	    p->em.written && (e = aindex_shared_add(ctx->st, &p->em.en,
	    NULL)) != PG_OK)
		log_warnx("shared audit index: %s", pg_strerror(e));
	else if (ctx->st != NULL && store_shared(ctx->st) != NULL &&
	    p->em.suppressed && (e = aindex_shared_tally(ctx->st,
	    &p->em.en)) != PG_OK)
		log_warnx("shared audit counters: %s", pg_strerror(e));
	return audit_finish(p);
}

struct flood_scan {
	uint64_t	 now_min;
	unsigned char	 kind;		/* AUDIT_FLOOD_KIND or _TYPE_KIND */
	uint64_t	 kept;		/* its bound: N or M */
	size_t		 n;
	struct {
		unsigned char	 key[STORE_KEY_MAX];
		size_t		 klen;
		uint64_t	 count;
	}		 e[AUDIT_FLOOD_BATCH];
};

static int
flood_one(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t exp, void *arg)
{
	struct flood_scan *f = arg;
	const unsigned char *v = val;

	(void)exp;
	if (vlen != 9 || v[8] != 0 || codec_be64_get(v) <= f->kept ||
	    klen >= STORE_KEY_MAX)
		return 0;
	memcpy(f->e[f->n].key, key, klen);
	f->e[f->n].klen = klen;
	f->e[f->n].count = codec_be64_get(v);
	return ++f->n == AUDIT_FLOOD_BATCH;
}

static enum pg_err
flood_scan(struct store_txn *t, struct flood_scan *f)
{
	unsigned char	 s[9], e[9];

	f->n = 0;
	s[0] = e[0] = f->kind;
	codec_be64_put(s + 1, 0);
	codec_be64_put(e + 1, f->now_min);	/* minutes that are over */
	return store_scan(t, NS_AUDIT_X, s, 9, e, 9, 0, flood_one, f);
}

static enum pg_err
flood_peek_txn(struct store_txn *t, void *arg)
{
	return flood_scan(t, arg);
}

/* Finds the ended floods not yet summarised and marks them summarised:
 * one writer at a time, so exactly one process reports each. */
static enum pg_err
flood_claim_txn(struct store_txn *t, void *arg)
{
	struct flood_scan *f = arg;
	unsigned char	 v[9];
	size_t		 i;
	enum pg_err	 err;

	if ((err = flood_scan(t, f)) != PG_OK)
		return err;
	for (i = 0; i < f->n; i++) {
		codec_be64_put(v, f->e[i].count);
		v[8] = 1;
		if ((err = store_put(t, NS_AUDIT_X, f->e[i].key, f->e[i].klen, v,
		    9, store_now_ms() + AUDIT_FLOOD_KEEP_MS, STORE_DERIVED)) !=
		    PG_OK)
			return err;
	}
	return PG_OK;
}

/* Writes the summary of the i-th flood f found. */
static void
flood_summary(const struct audit_ctx *ctx, struct flood_scan *f, size_t i)
{
	struct audit_ctx c;
	struct json_object *d;
	const char	*type, *ip = "*", *id = "*", *end;
	char		 res[96];

	/* type [\0 ip \0 identity] after kind and minute (klen is below
	 * STORE_KEY_MAX: flood_one), NUL-terminated here */
	f->e[i].key[f->e[i].klen] = 0;
	type = (const char *)f->e[i].key + 9;
	end = (const char *)f->e[i].key + f->e[i].klen;
	if (f->kind == AUDIT_FLOOD_KIND) {
		ip = type + strlen(type) + 1;
		id = ip < end ? ip + strlen(ip) + 1 : end;
		if (ip >= end || id > end)
			return;
	}
	c = *ctx;
	c.source_ip = ip;
	c.identity = id;
	c.user_agent = "";
	c.request_id = "";
	d = json_object_new_object();
	json_object_object_add(d, "event_type", json_object_new_string(type));
	json_object_object_add(d, "scope", json_object_new_string(
	    f->kind == AUDIT_FLOOD_KIND ? "address" : "type"));
	json_object_object_add(d, "minute_start_ms",
	    json_object_new_int64((int64_t)(codec_be64_get(f->e[i].key + 1) *
	    (AINDEX_MIN_US / 1000))));
	json_object_object_add(d, "kept", json_object_new_int64(
	    (int64_t)f->kept));
	json_object_object_add(d, "suppressed", json_object_new_int64(
	    (int64_t)(f->e[i].count - f->kept)));
	snprintf(res, sizeof(res), "audit:%s", type);
	(void)audit_event(&c, AEV_AUDIT_FLOOD_SUMMARY, SEV_MEDIUM, 1, res, d,
	    NULL);
}

enum pg_err
audit_flood_flush_at(const struct audit_ctx *ctx, uint64_t now_us)
{
	struct flood_scan *f;
	size_t		 i, pass;
	enum pg_err	 e = PG_ENOMEM;

	if (ctx->st == NULL)
		return PG_OK;
	/* Not calloc: flood_one fills each entry it counts, and this runs
	 * once per plain-CGI process. */
	if ((f = malloc(sizeof(*f))) == NULL)
		goto out;
	f->n = 0;
	f->now_min = now_us / AINDEX_MIN_US;
	for (pass = 0; pass < 2; pass++) {
		f->kind = pass == 0 ? AUDIT_FLOOD_KIND : AUDIT_FLOOD_TYPE_KIND;
		if (ctx->cfg != NULL)
			f->kept = pass == 0 ? ctx->cfg->audit_flood_whole :
			    ctx->cfg->audit_flood_type;
		else
			f->kept = pass == 0 ? AUDIT_FLOOD_WHOLE :
			    AUDIT_FLOOD_TYPE_WHOLE;
		/* A read first: usually there is no flood, and no write
		 * needed. */
		if ((e = store_run(ctx->st, 0, flood_peek_txn, f)) != PG_OK)
			goto out;
		if (f->n == 0)
			continue;
		if ((e = store_run(ctx->st, 1, flood_claim_txn, f)) != PG_OK)
			goto out;
		for (i = 0; i < f->n; i++)
			flood_summary(ctx, f, i);
	}
	e = PG_OK;
out:
	free(f);
	return e;
}

enum pg_err
audit_flood_flush(const struct audit_ctx *ctx)
{
	return audit_flood_flush_at(ctx, store_now_us());
}
