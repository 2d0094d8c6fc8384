/*
 * payguard - the two walks over the audit log (see ascan.h): the index
 * rebuild and the chain verification.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aindex.h"
#include "arecord.h"
#include "ascan.h"
#include "audit.h"
#include "log.h"
#include "statedir.h"

static const char *const vstatus_names[AV__MAX] = {
	"ok",		/* AV_OK */
	"altered",	/* AV_ALTERED */
	"removed",	/* AV_REMOVED */
	"inserted",	/* AV_INSERTED */
	"malformed",	/* AV_MALFORMED */
};

const char *
ascan_vstatus_name(enum ascan_vstatus s)
{
	return (unsigned)s < AV__MAX ? vstatus_names[s] : "malformed";
}

/*
 * Opens a log file for reading, never through a symlink: below the state
 * directory every component is checked (statedir_open_path), elsewhere
 * the last one (O_NOFOLLOW).  The web user owns the state directory, and
 * the administrator's CLI must not read root's files on its behalf.
 * Logs why it failed, unless the file is just missing (errno ENOENT: the
 * caller decides).
 */
static FILE *
open_log(const char *state_dir, const char *path)
{
	FILE	*fp = NULL;
	int	 fd, saved;

	if ((fd = statedir_open_path(state_dir, path, O_RDONLY | O_NOFOLLOW,
	    0)) < 0) {
		saved = errno;
		if (saved == ELOOP)
			log_warnx("%s: a symlink (or one on its way): refused, "
			    "never followed", path);
		else if (saved != ENOENT)
			log_warn("%s", path);
		errno = saved;
		goto out;
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
	}
out:
	return fp;
}

/* ----------------------------------------------------------- reindex */

#define RX_BATCH	64	/* records per write transaction */

struct rxctx {
	struct arecord_line	*recs;
	size_t		 n;
	struct ascan_reindex_res *res;
	uint64_t	 added;		/* by the last batch (it may rerun) */
	int		 done;		/* set the "reindexed" mark */
};


static enum pg_err
rx_txn(struct store_txn *t, void *arg)
{
	struct rxctx	*c = arg;
	size_t		 i, before;
	enum pg_err	 e;

	c->added = 0;
	for (i = 0; i < c->n; i++) {
		before = store_count(t, NS_AUDIT);
		if ((e = aindex_add(t, &c->recs[i].en)) != PG_OK ||
		    (e = aindex_head_put(t, c->recs[i].en.seq,
		    c->recs[i].hash)) != PG_OK)
			return e;
		if (store_count(t, NS_AUDIT) > before)
			c->added++;
		if (c->recs[i].mit) {
			/* The marked record may have expired: not an error. */
			if ((e = aindex_mitigate_txn(t, c->recs[i].mit_ts,
			    c->recs[i].mit_seq, c->recs[i].note)) != PG_OK &&
			    e != PG_NOTFOUND)
				return e;
		}
	}
	if (c->done)
		return aindex_complete_put(t);
	return PG_OK;
}

static void
rx_clear(struct rxctx *c)
{
	size_t	 i;

	for (i = 0; i < c->n; i++)
		arecord_line_free(&c->recs[i]);
	c->n = 0;
}

static enum pg_err
rx_flush(struct store *st, struct rxctx *c)
{
	size_t		 i;
	int		 added;
	enum pg_err	 e;

	e = store_run(st, 1, rx_txn, c);
	if (e == PG_OK)
		c->res->added += c->added;
	/* With Redis, the shared index too: a record it has (by node and
	 * seq) is not added again. */
	for (i = 0; e == PG_OK && store_shared(st) != NULL && i < c->n; i++) {
		if ((e = aindex_shared_add(st, &c->recs[i].en, &added)) ==
		    PG_OK && added)
			c->res->shared_added++;
		if (e == PG_OK && c->recs[i].mit && (e = aindex_shared_mitigate(
		    st, c->recs[i].mit_ts, c->recs[i].mit_seq,
		    c->recs[i].note)) == PG_NOTFOUND)
			e = PG_OK;
	}
	rx_clear(c);
	return e;
}

static enum pg_err
rx_file(struct store *st, const char *state_dir, const char *path,
    uint64_t cutoff_us, struct rxctx *c)
{
	FILE		*fp;
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 n;
	enum pg_err	 e = PG_OK;

	if ((fp = open_log(state_dir, path)) == NULL)
		return errno == ENOENT ? PG_NOTFOUND : PG_SYSTEM;
	c->res->files++;
	while (e == PG_OK && (n = getline(&line, &cap, fp)) > 0) {
		/* A torn last line (no newline) is no record yet. */
		if (line[n - 1] != '\n')
			break;
		c->res->lines++;
		if (arecord_parse_line(line, (size_t)n - 1, &c->recs[c->n]) !=
		    PG_OK) {
			arecord_line_free(&c->recs[c->n]);
			c->res->skipped++;
			continue;
		}
		if (c->recs[c->n].en.ts_us < cutoff_us) {
			arecord_line_free(&c->recs[c->n]);
			c->res->expired++;
			continue;
		}
		if (++c->n == RX_BATCH)
			e = rx_flush(st, c);
	}
	free(line);
	fclose(fp);
	return e;
}

enum pg_err
ascan_reindex(struct store *st, const char *state_dir,
    const char *const *paths, size_t npaths, struct ascan_reindex_res *res)
{
	struct rxctx	 c;
	uint64_t	 ret = 0;
	size_t		 i;
	enum pg_err	 e = PG_ENOMEM;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	c.res = res;
	/* Not calloc: arecord_parse_line initialises each record it is
	 * given, and zeroing the whole batch is most of a short run's cost
	 * (a fresh state directory's first reindex, under plain CGI). */
	if ((c.recs = malloc(RX_BATCH * sizeof(*c.recs))) == NULL)
		return PG_ENOMEM;
	if ((e = aindex_retention(st, &ret)) != PG_OK)
		goto out;
	/* Oldest file first, so a mitigation follows the record it marks. */
	for (i = 0; i < npaths; i++) {
		e = rx_file(st, state_dir, paths[i], store_now_us() - ret * 1000u, &c);
		if (e == PG_NOTFOUND)
			continue;
		if (e != PG_OK)
			goto out;
	}
	c.done = 1;
	e = rx_flush(st, &c);
out:
	rx_clear(&c);
	free(c.recs);
	return e;
}

enum pg_err
ascan_ensure_indexed(struct store *st, const char *state_dir, int force,
    struct ascan_reindex_res *res)
{
	char		 cur[PATH_MAX], old[PATH_MAX + 4];
	const char	*paths[2];
	int		 done = 0;
	enum pg_err	 e;

	memset(res, 0, sizeof(*res));
	if (!force && ((e = aindex_complete_get(st, &done)) != PG_OK || done))
		return e;
	if (audit_log_path(state_dir, cur, sizeof(cur)) != 0)
		return PG_TOOLARGE;
	snprintf(old, sizeof(old), "%s.1", cur);
	paths[0] = old;		/* the last rotated file, if any */
	paths[1] = cur;
	if ((e = ascan_reindex(st, state_dir, paths, 2, res)) == PG_OK)
		res->ran = 1;
	return e;
}

/* ------------------------------------------------------------ verify */

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
	struct ascan_verify	*res;
	int			 have_prev, have_pp;
	uint64_t		 prev_seq;
	unsigned char		 prev_hash[ARECORD_HASH_LEN];
	unsigned char		 pp_hash[ARECORD_HASH_LEN];
	uint64_t		 prev_line;
	char			 prev_id[40];
};

static void
verdict(struct walk *w, enum ascan_vstatus s, uint64_t line,
    const char *id, const char *fmt, uint64_t a, uint64_t b)
{
	struct ascan_verify *r = w->res;

	r->status = s;
	r->line = line;
	snprintf(r->event_id, sizeof(r->event_id), "%s", id);
	snprintf(r->msg, sizeof(r->msg), fmt, a, b);
}

/* One line of the walk; returns 1 when a verdict was reached. */
static int
walk_line(struct walk *w, const char *line, size_t len, uint64_t lineno)
{
	unsigned char	 prev[ARECORD_HASH_LEN], hash[ARECORD_HASH_LEN];
	char		 id[40];
	uint64_t	 seq;
	int		 self_ok;

	line_event_id(line, len, id);
	if (arecord_chain_parse(line, len, &seq, prev, hash, &self_ok) != PG_OK) {
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
	} else if (memcmp(prev, w->prev_hash, ARECORD_HASH_LEN) == 0) {
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
	    memcmp(prev, w->pp_hash, ARECORD_HASH_LEN) == 0) {
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
	memcpy(w->pp_hash, w->prev_hash, ARECORD_HASH_LEN);
	w->have_pp = w->have_prev;
	memcpy(w->prev_hash, hash, ARECORD_HASH_LEN);
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
	unsigned char	 hash[ARECORD_HASH_LEN];
	enum pg_err	 e;
};

static enum pg_err
head_txn(struct store_txn *t, void *arg)
{
	struct head_arg	*h = arg;

	h->e = aindex_head_get(t, &h->seq, h->hash);
	return PG_OK;
}

enum pg_err
ascan_verify_file(const char *state_dir, const char *path, struct store *st,
    struct ascan_verify *res)
{
	struct walk	 w;
	struct head_arg	 h;
	unsigned char	 dhash[ARECORD_HASH_LEN];
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
	if ((fp = open_log(state_dir, path)) == NULL) {
		if (errno == ENOENT)
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
	if (aindex_head_durable(st, &dseq, dhash) == PG_OK &&
	    (h.e != PG_OK || dseq > h.seq)) {
		h.seq = dseq;
		memcpy(h.hash, dhash, ARECORD_HASH_LEN);
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
	    memcmp(h.hash, w.prev_hash, ARECORD_HASH_LEN) != 0)
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
