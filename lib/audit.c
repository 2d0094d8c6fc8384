/*
 * payguard - audit records as JSON lines, hash-chained, and indexed.
 *
 * The line is built with json-c (so every string is escaped), then the
 * chain fields are appended under the append lock: seq and prev come
 * from the last line of the file itself, the hash covers the bytes
 * before ,"hash":.  Order of locks: the store's write transaction (when
 * there is a store), then flock(2) on the file; file-only writers take
 * just the flock, so no cycle is possible.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "audit.h"
#include "statedir.h"
#include "auditdb.h"
#include "buf.h"
#include "log.h"
#include "mask.h"
#include "store.h"
#include "rand.h"

#define AUDIT_STR_MAX	256	/* bytes kept of a request string */
#define AUDIT_LINE_MAX	(64u << 10)
#define TAIL_CHUNK	4096

static const char *const sev_names[SEV__MAX] = {
	"LOW",		/* SEV_LOW */
	"MEDIUM",	/* SEV_MEDIUM */
	"HIGH",		/* SEV_HIGH */
	"CRITICAL",	/* SEV_CRITICAL */
};

static const char *const vstatus_names[AV__MAX] = {
	"ok",		/* AV_OK */
	"altered",	/* AV_ALTERED */
	"removed",	/* AV_REMOVED */
	"inserted",	/* AV_INSERTED */
	"malformed",	/* AV_MALFORMED */
};

/* Sanitised copies of what the index needs, filled by build(). */
struct fields {
	char	 type[AUDIT_STR_MAX];
	char	 ip[AUDIT_STR_MAX];
	char	 identity[AUDIT_STR_MAX];
	char	 op[AUDIT_STR_MAX];
	int	 has_op;
};

const char *
audit_sev_name(enum audit_sev s)
{
	return (unsigned)s < SEV__MAX ? sev_names[s] : "LOW";
}

enum pg_err
audit_sev_parse(const char *name, enum audit_sev *s)
{
	int	 i;

	for (i = 0; name != NULL && i < SEV__MAX; i++)
		if (strcasecmp(name, sev_names[i]) == 0) {
			*s = (enum audit_sev)i;
			return PG_OK;
		}
	return PG_EINVAL;
}

const char *
audit_vstatus_name(enum audit_vstatus s)
{
	return (unsigned)s < AV__MAX ? vstatus_names[s] : "malformed";
}

/* Bounded copy without control characters (CR/LF cannot split lines). */
static void
sanitize(const char *in, char *out, size_t outsz)
{
	size_t	 i, n = 0;

	for (i = 0; in != NULL && in[i] != '\0' && n + 1 < outsz; i++)
		out[n++] = ((unsigned char)in[i] < 0x20 || in[i] == 0x7f) ?
		    ' ' : in[i];
	out[n] = '\0';
}

static void
uuid4(char out[37])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	 r[16];
	size_t		 i, j = 0;

	if (rand_bytes(r, sizeof(r)) != PG_OK)
		memset(r, 0, sizeof(r));
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[j++] = '-';
		out[j++] = hex[r[i] >> 4];
		out[j++] = hex[r[i] & 15];
	}
	out[j] = '\0';
}

static void
rfc3339_ms(const struct timespec *ts, char out[96])
{
	struct tm	 tm;

	gmtime_r(&ts->tv_sec, &tm);
	snprintf(out, 96, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts->tv_nsec / 1000000);
}

/*
 * Every string of a record (resource, user agent, request id, identity,
 * ...) is bounded, stripped of control characters and masked here, so no
 * caller can forget: a card number in a URL or a header never reaches the
 * log, the index or the pages and exports built from them.
 */
static void
add_str(struct json_object *o, const char *k, const char *v, char *copy)
{
	char	 s[AUDIT_STR_MAX], *m = NULL;
	size_t	 mlen = 0, i;

	sanitize(v, s, sizeof(s));
	if (mask_text_len(s, strlen(s), &m, &mlen) == PG_OK && mlen < sizeof(s))
		memcpy(s, m, mlen + 1);
	else	/* fail closed: no digit at all */
		for (i = 0; s[i] != '\0'; i++)
			if (s[i] >= '0' && s[i] <= '9')
				s[i] = '*';
	free(m);
	json_object_object_add(o, k, json_object_new_string(s));
	if (copy != NULL)
		memcpy(copy, s, strlen(s) + 1);
}

/* The rate-limit operation a record names, before masking. */
static void
rate_op(const struct audit_rec *rec, struct fields *f)
{
	struct json_object	*v;

	f->has_op = 0;
	if (rec->event_type == NULL ||
	    strstr(rec->event_type, "rate_limit_exceeded") == NULL)
		return;
	if (rec->details != NULL &&
	    json_object_object_get_ex(rec->details, "operation", &v) &&
	    json_object_is_type(v, json_type_string))
		sanitize(json_object_get_string(v), f->op, sizeof(f->op));
	else
		sanitize(rec->resource ? rec->resource : "unknown", f->op,
		    sizeof(f->op));
	f->has_op = 1;
}

/*
 * Builds the record as a JSON object string without its closing brace
 * into b (the chain fields follow).  f (may be NULL) gets the indexed
 * fields.  Takes rec->details.
 */
static enum pg_err
build(const struct audit_ctx *ctx, struct audit_rec *rec,
    const struct timespec *now, struct buf *b, struct fields *f)
{
	struct json_object	*o = NULL;
	struct fields		 dummy;
	const char		*s;
	char			 id[37], ts[96];
	enum pg_err		 e = PG_ENOMEM;

	if (f == NULL)
		f = &dummy;
	rate_op(rec, f);
	if ((o = json_object_new_object()) == NULL)
		goto out;
	uuid4(id);
	rfc3339_ms(now, ts);
	json_object_object_add(o, "event_id", json_object_new_string(id));
	add_str(o, "event_type", rec->event_type, f->type);
	json_object_object_add(o, "timestamp", json_object_new_string(ts));
	add_str(o, "source_ip", ctx->source_ip, f->ip);
	add_str(o, "user_agent", ctx->user_agent, NULL);
	add_str(o, "request_id", ctx->request_id, NULL);
	json_object_object_add(o, "severity",
	    json_object_new_string(audit_sev_name(rec->severity)));
	add_str(o, "identity", ctx->identity ? ctx->identity : "anonymous",
	    f->identity);
	json_object_object_add(o, "outcome",
	    json_object_new_string(rec->success ? "success" : "failure"));
	add_str(o, "resource", rec->resource ? rec->resource : "", NULL);
	if (rec->details == NULL)
		rec->details = json_object_new_object();
	/* Masked here, so no caller can forget it. */
	mask_json(rec->details);
	json_object_object_add(o, "details", rec->details);
	rec->details = NULL;
	json_object_object_add(o, "mitigated",
	    json_object_new_boolean(rec->mitigated));
	if (rec->mitigation_action != NULL)
		add_str(o, "mitigation_action", rec->mitigation_action, NULL);
	else
		json_object_object_add(o, "mitigation_action", NULL);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL || strlen(s) < 2)
		goto out;
	e = buf_append(b, s, strlen(s) - 1);
out:
	json_object_put(rec->details);
	rec->details = NULL;
	json_object_put(o);
	return e;
}

enum pg_err
audit_format(const struct audit_ctx *ctx, struct audit_rec *rec,
    char **line, size_t *len)
{
	struct timespec	 now;
	struct buf	 b;
	enum pg_err	 e;

	*line = NULL;
	buf_init(&b, AUDIT_LINE_MAX);
	clock_gettime(CLOCK_REALTIME, &now);
	if ((e = build(ctx, rec, &now, &b, NULL)) == PG_OK &&
	    (e = buf_puts(&b, "}\n")) == PG_OK)
		*line = buf_take(&b, len);
	buf_free(&b);
	return e;
}

static void
sha256(const void *p, size_t n, unsigned char out[AUDIT_HASH_LEN])
{
	unsigned int	 len = AUDIT_HASH_LEN;

	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1)
		memset(out, 0, AUDIT_HASH_LEN);
}

static int
hex_dec(const char *s, unsigned char *out, size_t n)
{
	size_t	 i;
	int	 hi, lo;

	for (i = 0; i < n; i++) {
		hi = s[2 * i] >= 'a' && s[2 * i] <= 'f' ? s[2 * i] - 'a' + 10 :
		    s[2 * i] >= '0' && s[2 * i] <= '9' ? s[2 * i] - '0' : -1;
		lo = s[2 * i + 1] >= 'a' && s[2 * i + 1] <= 'f' ?
		    s[2 * i + 1] - 'a' + 10 : s[2 * i + 1] >= '0' &&
		    s[2 * i + 1] <= '9' ? s[2 * i + 1] - '0' : -1;
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* Last occurrence of needle (nlen) in p[0..n). */
static const char *
memrmem(const char *p, size_t n, const char *needle, size_t nlen)
{
	size_t	 i;

	if (n < nlen)
		return NULL;
	for (i = n - nlen + 1; i > 0; i--)
		if (memcmp(p + i - 1, needle, nlen) == 0)
			return p + i - 1;
	return NULL;
}

/*
 * The chain suffix is fixed: ,"seq":N,"prev":"<64>","hash":"<64>"}.  A
 * raw ," cannot occur inside a json-c string (quotes are escaped), so
 * the last ,"seq": of a line is ours.
 */
enum pg_err
audit_chain_parse(const char *line, size_t len, uint64_t *seq,
    unsigned char prev[AUDIT_HASH_LEN], unsigned char hash[AUDIT_HASH_LEN],
    int *self_ok)
{
	static const char ks[] = ",\"seq\":", kp[] = ",\"prev\":\"",
	    kh[] = "\",\"hash\":\"";
	unsigned char	 h[AUDIT_HASH_LEN];
	const char	*p, *q, *end = line + len;
	uint64_t	 v = 0;

	*self_ok = 0;
	/* ...,"hash":"<64 hex>"} */
	if (len < 2 * AUDIT_HASH_LEN + 2 || end[-1] != '}' ||
	    end[-2] != '"')
		return PG_NOTFOUND;
	if ((p = memrmem(line, len, ks, sizeof(ks) - 1)) == NULL)
		return PG_NOTFOUND;
	q = p + sizeof(ks) - 1;
	if (q >= end || *q < '0' || *q > '9')
		return PG_NOTFOUND;
	for (; q < end && *q >= '0' && *q <= '9'; q++) {
		if (v > (UINT64_MAX - 9) / 10)
			return PG_NOTFOUND;
		v = v * 10 + (uint64_t)(*q - '0');
	}
	if ((size_t)(end - q) != sizeof(kp) - 1 + 2 * AUDIT_HASH_LEN +
	    sizeof(kh) - 1 + 2 * AUDIT_HASH_LEN + 2 ||
	    memcmp(q, kp, sizeof(kp) - 1) != 0)
		return PG_NOTFOUND;
	q += sizeof(kp) - 1;
	if (hex_dec(q, prev, AUDIT_HASH_LEN) != 0)
		return PG_NOTFOUND;
	q += 2 * AUDIT_HASH_LEN;
	if (memcmp(q, kh, sizeof(kh) - 1) != 0)
		return PG_NOTFOUND;
	/* The hash covers everything up to the closing quote of prev. */
	sha256(line, (size_t)(q + 1 - line), h);
	q += sizeof(kh) - 1;
	if (hex_dec(q, hash, AUDIT_HASH_LEN) != 0)
		return PG_NOTFOUND;
	*seq = v;
	*self_ok = memcmp(h, hash, AUDIT_HASH_LEN) == 0;
	return PG_OK;
}

/*
 * Reads the chain head from the file's last complete line: *seq 0 and a
 * zero hash when the file is empty or its last line is unchained.
 * *size gets the file size.
 */
static enum pg_err
file_head(int fd, uint64_t *seq, unsigned char hash[AUDIT_HASH_LEN],
    off_t *size)
{
	struct stat	 sb;
	unsigned char	 prev[AUDIT_HASH_LEN];
	char		*b = NULL;
	size_t		 want, n, i, start = 0;
	ssize_t		 r;
	int		 self_ok, whole;
	enum pg_err	 e = PG_SYSTEM;

	*seq = 0;
	memset(hash, 0, AUDIT_HASH_LEN);
	if (fstat(fd, &sb) != 0)
		goto out;
	*size = sb.st_size;
	e = PG_OK;
	if (sb.st_size == 0)
		goto out;
	e = PG_ENOMEM;
	if ((b = malloc(AUDIT_LINE_MAX + 2)) == NULL)
		goto out;
	/* Most lines are far below TAIL_CHUNK; read more only if needed. */
	for (want = TAIL_CHUNK; ; want = AUDIT_LINE_MAX + 2) {
		n = (uintmax_t)sb.st_size < want ? (size_t)sb.st_size : want;
		whole = (uintmax_t)n == (uintmax_t)sb.st_size;
		e = PG_SYSTEM;
		if ((r = pread(fd, b, n, sb.st_size - (off_t)n)) < 0 ||
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
		if (whole || want > AUDIT_LINE_MAX)
			goto out;
	}
	if (audit_chain_parse(b + start, n - start, seq, prev, hash,
	    &self_ok) != PG_OK) {
		*seq = 0;
		memset(hash, 0, AUDIT_HASH_LEN);
	}
out:
	free(b);
	return e;
}

struct emit {
	int			 fd;
	struct buf		*pre;		/* record without '}' */
	struct buf		 line;		/* the chained line */
	struct fields		 f;
	struct audit_entry	 en;
	unsigned char		 hash[AUDIT_HASH_LEN];
	int			 written;
};

/* Under the append lock: chain fields, one write(2). */
static enum pg_err
append_chained(struct emit *em, struct store_txn *t)
{
	unsigned char	 prev[AUDIT_HASH_LEN];
	char		 hex[2 * AUDIT_HASH_LEN + 1];
	uint64_t	 seq, hseq;
	off_t		 size = 0;
	size_t		 hashed;
	ssize_t		 w;
	enum pg_err	 e;
	int		 locked = 0;

	buf_reset(&em->line);
	e = PG_SYSTEM;
	if (flock(em->fd, LOCK_EX) != 0) {
		log_warn("flock audit log");
		goto out;
	}
	locked = 1;
	if ((e = file_head(em->fd, &seq, prev, &size)) != PG_OK)
		goto out;
	/* A fresh (rotated) file continues the chain kept in the store. */
	if (size == 0 && t != NULL &&
	    auditdb_head_get(t, &hseq, prev) == PG_OK)
		seq = hseq;
	hex_encode(prev, AUDIT_HASH_LEN, hex);
	if ((e = buf_append(&em->line, em->pre->data, em->pre->len)) != PG_OK ||
	    (e = buf_printf(&em->line, ",\"seq\":%" PRIu64 ",\"prev\":\"%s\"",
	    seq + 1, hex)) != PG_OK)
		goto out;
	hashed = em->line.len;
	sha256(em->line.data, hashed, em->hash);
	hex_encode(em->hash, AUDIT_HASH_LEN, hex);
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
out:
	if (locked)
		flock(em->fd, LOCK_UN);
	return e;
}

static enum pg_err
emit_txn(struct store_txn *t, void *arg)
{
	struct emit	*em = arg;
	enum pg_err	 e;

	/* store_run may rerun us (map grown): the line is written once. */
	if (!em->written && (e = append_chained(em, t)) != PG_OK)
		return e;
	em->en.line = em->line.data;
	em->en.line_len = em->line.len - 1;
	if ((e = auditdb_add(t, &em->en)) != PG_OK)
		return e;
	return auditdb_head_put(t, em->en.seq, em->hash);
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
audit_prepare(const struct audit_ctx *ctx, struct audit_rec *rec,
    struct audit_pending **out)
{
	struct audit_pending *p;
	struct timespec	 now;
	enum pg_err	 e;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		json_object_put(rec->details);
		rec->details = NULL;
		return PG_ENOMEM;
	}
	p->em.fd = -1;
	buf_init(&p->pre, AUDIT_LINE_MAX);
	buf_init(&p->em.line, AUDIT_LINE_MAX);
	p->em.pre = &p->pre;
	clock_gettime(CLOCK_REALTIME, &now);
	if ((e = build(ctx, rec, &now, &p->pre, &p->em.f)) != PG_OK)
		goto out;
	e = PG_SYSTEM;
	if ((p->em.fd = log_fd(ctx, &p->own_fd, &p->size)) < 0)
		goto out;
	/* The line's own precision (ms): a rebuilt index gets the same
	 * key (auditdb_reindex). */
	p->em.en.ts_us = ((uint64_t)now.tv_sec * 1000u +
	    (uint64_t)now.tv_nsec / 1000000u) * 1000u;
	p->em.en.sev = rec->severity;
	p->em.en.success = rec->success;
	p->em.en.type = p->em.f.type;
	p->em.en.ip = p->em.f.ip;
	p->em.en.identity = p->em.f.identity;
	p->em.en.op = p->em.f.has_op ? p->em.f.op : NULL;
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
	e = p->em.written ? PG_OK : append_chained(&p->em, NULL);
	audit_discard(p);
	return e;
}

static enum pg_err
commit_txn(struct store_txn *t, void *arg)
{
	return emit_txn(t, &((struct audit_pending *)arg)->em);
}

enum pg_err
audit_event(const struct audit_ctx *ctx, const char *type, enum audit_sev sev,
    int success, const char *resource, struct json_object *details,
    const char *action)
{
	struct audit_rec rec;

	memset(&rec, 0, sizeof(rec));
	rec.event_type = type;
	rec.severity = sev;
	rec.success = success;
	rec.resource = resource;
	rec.details = details;
	rec.mitigated = action != NULL;
	rec.mitigation_action = action;
	return audit_emit(ctx, &rec);
}

enum pg_err
audit_emit(const struct audit_ctx *ctx, struct audit_rec *rec)
{
	struct audit_pending *p = NULL;
	enum pg_err	 e;

	if ((e = audit_prepare(ctx, rec, &p)) != PG_OK)
		return e;
	/* A fresh (rotated) file continues the chain from the store's head;
	 * after a reboot that head comes back from the durable checkpoint. */
	if (ctx->st != NULL && p->size == 0)
		(void)auditdb_prime(ctx->st);
	if (ctx->st != NULL && (e = store_run(ctx->st, 1, commit_txn, p)) !=
	    PG_OK)
		/* The primary log matters more than the index. */
		log_warnx("audit index: %s", pg_strerror(e));
	return audit_finish(p);
}

/* Copies the event_id of a line into out (best effort). */
static void
line_event_id(const char *line, size_t len, char out[40])
{
	static const char k[] = "\"event_id\":\"";
	const char	*p;
	size_t		 i;

	out[0] = '\0';
	if (len < sizeof(k) || (p = memmem(line, len, k, sizeof(k) - 1)) == NULL)
		return;
	p += sizeof(k) - 1;
	for (i = 0; i < 39 && p + i < line + len && p[i] != '"'; i++)
		out[i] = p[i];
	out[i] = '\0';
}

struct walk {
	struct audit_verify	*res;
	int			 have_prev, have_pp;
	uint64_t		 prev_seq;
	unsigned char		 prev_hash[AUDIT_HASH_LEN];
	unsigned char		 pp_hash[AUDIT_HASH_LEN];
	uint64_t		 prev_line;
	char			 prev_id[40];
};

static void
verdict(struct walk *w, enum audit_vstatus s, uint64_t line,
    const char *id, const char *fmt, uint64_t a, uint64_t b)
{
	struct audit_verify *r = w->res;

	r->status = s;
	r->line = line;
	snprintf(r->event_id, sizeof(r->event_id), "%s", id);
	snprintf(r->msg, sizeof(r->msg), fmt, a, b);
}

/* One line of the walk; returns 1 when a verdict was reached. */
static int
walk_line(struct walk *w, const char *line, size_t len, uint64_t lineno)
{
	unsigned char	 prev[AUDIT_HASH_LEN], hash[AUDIT_HASH_LEN];
	char		 id[40];
	uint64_t	 seq;
	int		 self_ok;

	line_event_id(line, len, id);
	if (audit_chain_parse(line, len, &seq, prev, hash, &self_ok) != PG_OK) {
		if (!w->have_prev && len > 0 && line[0] == '{') {
			w->res->legacy++;
			return 0;
		}
		verdict(w, w->have_prev ? AV_INSERTED : AV_MALFORMED, lineno,
		    id, "line %" PRIu64 " is not a chained record%.0" PRIu64,
		    lineno, 0);
		return 1;
	}
	if (!self_ok) {
		verdict(w, AV_ALTERED, lineno, id, "record seq %" PRIu64
		    " (line %" PRIu64 ") does not match its own hash", seq,
		    lineno);
		return 1;
	}
	if (!w->have_prev) {
		w->res->first_seq = seq;
	} else if (memcmp(prev, w->prev_hash, AUDIT_HASH_LEN) == 0) {
		if (seq != w->prev_seq + 1) {
			verdict(w, AV_INSERTED, lineno, id, "record at line %"
			    PRIu64 " links correctly but has seq %" PRIu64
			    " out of order", lineno, seq);
			return 1;
		}
	} else if (seq <= w->prev_seq) {
		verdict(w, AV_INSERTED, lineno, id, "record at line %" PRIu64
		    " repeats seq %" PRIu64 " (not part of the chain)",
		    lineno, seq);
		return 1;
	} else if (w->have_pp &&
	    memcmp(prev, w->pp_hash, AUDIT_HASH_LEN) == 0) {
		verdict(w, AV_INSERTED, w->prev_line, w->prev_id,
		    "record at line %" PRIu64 " was inserted: the next record"
		    " links to the one before it%.0" PRIu64, w->prev_line, 0);
		return 1;
	} else if (seq > w->prev_seq + 1) {
		verdict(w, AV_REMOVED, lineno, id, "records seq %" PRIu64
		    "..%" PRIu64 " were removed", w->prev_seq + 1, seq - 1);
		return 1;
	} else {
		verdict(w, AV_ALTERED, w->prev_line, w->prev_id,
		    "record at line %" PRIu64 " was altered: its hash is not "
		    "the one record seq %" PRIu64 " recorded", w->prev_line,
		    seq);
		return 1;
	}
	memcpy(w->pp_hash, w->prev_hash, AUDIT_HASH_LEN);
	w->have_pp = w->have_prev;
	memcpy(w->prev_hash, hash, AUDIT_HASH_LEN);
	w->prev_seq = seq;
	w->prev_line = lineno;
	memcpy(w->prev_id, id, sizeof(id));
	w->have_prev = 1;
	w->res->records++;
	w->res->last_seq = seq;
	return 0;
}

struct head_arg {
	uint64_t	 seq;
	unsigned char	 hash[AUDIT_HASH_LEN];
	enum pg_err	 e;
};

static enum pg_err
head_txn(struct store_txn *t, void *arg)
{
	struct head_arg	*h = arg;

	h->e = auditdb_head_get(t, &h->seq, h->hash);
	return PG_OK;
}

enum pg_err
audit_verify_file(const char *path, struct store *st, struct audit_verify *res)
{
	struct walk	 w;
	struct head_arg	 h;
	unsigned char	 dhash[AUDIT_HASH_LEN];
	uint64_t	 dseq = 0;
	FILE		*fp = NULL;
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 n;
	uint64_t	 lineno = 0;
	enum pg_err	 e = PG_SYSTEM;

	memset(res, 0, sizeof(*res));
	memset(&w, 0, sizeof(w));
	w.res = res;
	if ((fp = fopen(path, "re")) == NULL) {
		log_warn("%s", path);
		goto out;
	}
	e = PG_OK;
	while ((n = getline(&line, &cap, fp)) > 0) {
		lineno++;
		if (line[n - 1] != '\n') {
			verdict(&w, AV_MALFORMED, lineno, "", "line %" PRIu64
			    " is torn (no newline)%.0" PRIu64, lineno, 0);
			goto out;
		}
		if (walk_line(&w, line, (size_t)n - 1, lineno))
			goto out;
	}
	snprintf(res->msg, sizeof(res->msg), "%" PRIu64 " records, seq %"
	    PRIu64 "..%" PRIu64 ", chain intact", res->records,
	    res->first_seq, res->last_seq);
	if (st == NULL || store_run(st, 0, head_txn, &h) != PG_OK)
		goto out;
	/* After a reboot the volatile head restarts from the log: the
	 * durable checkpoint still knows how far the chain had got. */
	if (auditdb_head_durable(st, &dseq, dhash) == PG_OK &&
	    (h.e != PG_OK || dseq > h.seq)) {
		h.seq = dseq;
		memcpy(h.hash, dhash, AUDIT_HASH_LEN);
		h.e = PG_OK;
	}
	if (h.e != PG_OK)
		goto out;
	/* The head in the store catches a cut tail or a replaced last
	 * record, which the file alone cannot show. */
	if (h.seq > res->last_seq)
		verdict(&w, AV_REMOVED, lineno + 1, "", "records seq %" PRIu64
		    "..%" PRIu64 " were removed from the end", res->last_seq + 1,
		    h.seq);
	else if (h.seq == res->last_seq &&
	    memcmp(h.hash, w.prev_hash, AUDIT_HASH_LEN) != 0)
		verdict(&w, AV_ALTERED, w.prev_line, w.prev_id,
		    "the last record (line %" PRIu64 ", seq %" PRIu64 ") "
		    "differs from the chain head in the store", w.prev_line,
		    h.seq);
out:
	free(line);
	if (fp != NULL)
		fclose(fp);
	return e;
}
