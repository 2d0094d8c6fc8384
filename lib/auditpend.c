/*
 * payguard - settling pending accept records.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "aquery.h"
#include "ascan.h"
#include "auditpend.h"
#include "forkpage.h"
#include "inbox.h"
#include "log.h"

#define PLEN		(sizeof(INBOX_AUDIT_PENDING) - 1)
#define SKEW_US		2000000ull	/* clock steps between processes */

struct marker {
	char			 id[EVENT_ID_MAX + 1];
	struct inbox_audit_pending p;
};

struct collect {
	struct marker	*m;
	size_t		 n;
};

static int
collect_one(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t exp, void *arg)
{
	struct collect	*c = arg;

	(void)exp;
	if (klen <= PLEN || klen - PLEN > EVENT_ID_MAX ||
	    vlen != sizeof(struct inbox_audit_pending))
		return 0;
	if (c->n == AUDITPEND_BATCH)
		return 1;
	memcpy(c->m[c->n].id, (const char *)key + PLEN, klen - PLEN);
	c->m[c->n].id[klen - PLEN] = '\0';
	memcpy(&c->m[c->n].p, val, sizeof(c->m[c->n].p));
	c->n++;
	return 0;
}

static enum pg_err
collect_txn(struct store_txn *t, void *arg)
{
	char	 end[PLEN];

	((struct collect *)arg)->n = 0;
	/* The prefix with its last byte raised: the end of the range. */
	memcpy(end, INBOX_AUDIT_PENDING, PLEN);
	end[PLEN - 1]++;
	return store_scan(t, NS_META, INBOX_AUDIT_PENDING, PLEN, end, PLEN, 0,
	    collect_one, arg);
}

struct find {
	char	 needle[EVENT_ID_MAX + 32];
	size_t	 nlen;
	int	 found;
};

static int
find_row(const struct aquery_row *row, void *arg)
{
	struct find	*f = arg;

	if (memmem(row->line, row->line_len, f->needle, f->nlen) != NULL) {
		f->found = 1;
		return 1;
	}
	return 0;
}

/* Is an accept record for id in the index between since and until? */
static enum pg_err
record_exists(struct store *st, const char *id, uint64_t since_us,
    uint64_t until_us, int *found)
{
	static const enum aevent types[] = {
		AEV_WEBHOOK_VALIDATED, AEV_WEBHOOK_DELIVERY_FAILED,
		AEV_EVENT_BACKFILLED,
	};
	struct aquery_filter af;
	struct find	 f;
	size_t		 i;
	enum pg_err	 e = PG_OK;

	memset(&f, 0, sizeof(f));
	f.nlen = (size_t)snprintf(f.needle, sizeof(f.needle),
	    "\"resource\":\"webhook:%s\"", id);
	for (i = 0; i < sizeof(types) / sizeof(types[0]) && !f.found; i++) {
		aquery_filter_init(&af);
		af.since_us = since_us > SKEW_US ? since_us - SKEW_US : 0;
		af.until_us = until_us;
		snprintf(af.type, sizeof(af.type), "%s", aevent_name(types[i]));
		if ((e = aquery_run(st, &af, find_row, &f, NULL)) != PG_OK)
			break;
	}
	*found = f.found;
	return e;
}

/*
 * All markers at once: one pass over the accept records indexed since the
 * oldest marker was received, each row's event id looked up among the
 * markers' (sorted), instead of one query per marker - that was quadratic
 * in the number of events accepted between two settles (thousands at a
 * few thousand events per second).  found[i] is set for marker i when its
 * record was seen; *complete is 1 when the pass read every row (else a
 * marker not seen must still be asked about on its own).
 */
#define BATCH_PAGES	50	/* pages of AQUERY_LIMIT_MAX rows at most */

struct bfind {
	const struct marker	 *m;
	size_t			 *order;	/* marker indices by id */
	size_t			  n;
	int			 *found;
	uint64_t		  last_ts, last_seq;
	size_t			  rows;
};

static int
cmp_order(const void *a, const void *b, void *arg)
{
	const struct marker *m = arg;

	return strcmp(m[*(const size_t *)a].id, m[*(const size_t *)b].id);
}

static int
batch_row(const struct aquery_row *row, void *arg)
{
	static const char pre[] = "\"resource\":\"webhook:";
	struct bfind	*b = arg;
	const char	*p, *q, *end = row->line + row->line_len;
	char		 id[EVENT_ID_MAX + 1];
	size_t		 lo = 0, hi = b->n, mid;
	int		 c;

	b->last_ts = row->ts_us;
	b->last_seq = row->seq;
	b->rows++;
	if ((p = memmem(row->line, row->line_len, pre, sizeof(pre) - 1)) ==
	    NULL)
		return 0;
	p += sizeof(pre) - 1;
	if ((q = memchr(p, '"', (size_t)(end - p))) == NULL ||
	    (size_t)(q - p) > EVENT_ID_MAX)
		return 0;
	memcpy(id, p, (size_t)(q - p));
	id[q - p] = '\0';
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(id, b->m[b->order[mid]].id);
		if (c == 0) {
			b->found[b->order[mid]] = 1;
			break;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

static enum pg_err
batch_recorded(struct store *st, const struct marker *m, size_t n,
    int *found, int *complete)
{
	static const enum aevent types[] = {
		AEV_WEBHOOK_VALIDATED, AEV_WEBHOOK_DELIVERY_FAILED,
		AEV_EVENT_BACKFILLED,
	};
	struct aquery_filter af;
	struct bfind	 b;
	uint64_t	 since = UINT64_MAX;
	size_t		 i, t, page;
	int		 more = 0;
	enum pg_err	 e = PG_OK;

	*complete = 0;
	memset(&b, 0, sizeof(b));
	if ((b.order = calloc(n, sizeof(*b.order))) == NULL)
		return PG_ENOMEM;
	for (i = 0; i < n; i++) {
		b.order[i] = i;
		if (m[i].p.received_ms * 1000 < since)
			since = m[i].p.received_ms * 1000;
	}
	qsort_r(b.order, n, sizeof(*b.order), cmp_order, (void *)m);
	b.m = m;
	b.n = n;
	b.found = found;
	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		aquery_filter_init(&af);
		af.since_us = since > SKEW_US ? since - SKEW_US : 0;
		snprintf(af.type, sizeof(af.type), "%s", aevent_name(types[t]));
		for (page = 0; page < BATCH_PAGES; page++) {
			b.rows = 0;
			if ((e = aquery_run(st, &af, batch_row, &b, &more)) !=
			    PG_OK)
				goto out;
			if (!more || b.rows == 0)
				break;
			af.before_ts = b.last_ts;
			af.before_seq = b.last_seq;
		}
		if (more)
			goto out;	/* not every row read */
	}
	*complete = 1;
out:
	free(b.order);
	return e;
}

/* Whether m's accept record is indexed: the owner's (written within
 * stale_ms of acceptance) or one a settler wrote after taking m over. */
static enum pg_err
marker_recorded(struct store *st, const struct marker *m, uint64_t stale_ms,
    int *found)
{
	uint64_t	 rec_us = m->p.received_ms * 1000;
	enum pg_err	 e;

	e = record_exists(st, m->id, rec_us, rec_us + (stale_ms + 60000) *
	    1000, found);
	if (e == PG_OK && !*found && m->p.claimed_ms != 0)
		e = record_exists(st, m->id, m->p.claimed_ms * 1000, 0, found);
	return e;
}

/* The owner may still write the record itself. */
static int
owner_waiting(const struct inbox_audit_pending *p, uint64_t now,
    uint64_t stale_ms)
{
	uint64_t	 since = p->claimed_ms ? p->claimed_ms : p->received_ms;

	if (now > since && now - since >= stale_ms)
		return 0;
	return p->pid == (int32_t)forkpage_pid() ||
	    kill((pid_t)p->pid, 0) == 0 ||
	    errno == EPERM;
}

struct take {
	const struct marker *m;
	uint64_t	 now;
	int		 taken;
};

/* Takes the marker over unless someone else changed it meanwhile. */
static enum pg_err
take_txn(struct store_txn *t, void *arg)
{
	struct take	*k = arg;
	struct inbox_audit_pending p;
	char		 key[INBOX_MARKER_KEY_MAX];
	const void	*v;
	size_t		 vlen, n;
	enum pg_err	 e;

	k->taken = 0;
	if ((n = inbox_marker_key(key, sizeof(key), k->m->id)) == 0)
		return PG_OK;	/* no such marker (collect_one) */
	e = store_get(t, NS_META, key, n, &v, &vlen, NULL);
	if (e == PG_NOTFOUND)
		return PG_OK;
	if (e != PG_OK)
		return e;
	if (vlen != sizeof(p) || memcmp(v, &k->m->p, sizeof(p)) != 0)
		return PG_OK;
	p = k->m->p;
	p.pid = (int32_t)forkpage_pid();
	p.claimed_ms = k->now;
	if ((e = store_put(t, NS_META, key, n, &p, sizeof(p),
	    k->now + INBOX_AUDIT_PENDING_TTL_MS, 0)) == PG_OK)
		k->taken = 1;
	return e;
}

struct drop {
	const struct marker *m;
	const int	*del;
	size_t		 n;
};

static enum pg_err
drop_txn(struct store_txn *t, void *arg)
{
	struct drop	*d = arg;
	char		 key[INBOX_MARKER_KEY_MAX];
	size_t		 i, n;
	enum pg_err	 e;

	for (i = 0; i < d->n; i++) {
		if (!d->del[i] || (n = inbox_marker_key(key, sizeof(key),
		    d->m[i].id)) == 0)
			continue;
		e = store_del(t, NS_META, key, n);
		if (e != PG_OK && e != PG_NOTFOUND)
			return e;
	}
	return PG_OK;
}

struct owned {
	const char *const *ids;
	size_t		 n;
};

static enum pg_err
drop_own_txn(struct store_txn *t, void *arg)
{
	const struct owned *o = arg;
	char		 key[INBOX_MARKER_KEY_MAX];
	struct inbox_audit_pending p;
	const void	*v;
	size_t		 vlen, n, i;
	int32_t		 me = (int32_t)forkpage_pid();
	enum pg_err	 e;

	for (i = 0; i < o->n; i++) {
		if ((n = inbox_marker_key(key, sizeof(key), o->ids[i])) == 0)
			continue;
		e = store_get(t, NS_META, key, n, &v, &vlen, NULL);
		if (e == PG_NOTFOUND)
			continue;
		if (e != PG_OK)
			return e;
		if (vlen != sizeof(p))
			continue;
		memcpy(&p, v, sizeof(p));
		/* Taken over (claimed_ms): that settler removes it. */
		if (p.pid != me || p.claimed_ms != 0)
			continue;
		if ((e = store_del(t, NS_META, key, n)) != PG_OK &&
		    e != PG_NOTFOUND)
			return e;
	}
	return PG_OK;
}

enum pg_err
auditpend_drop_own(struct store *st, const char *const *ids, size_t n)
{
	struct owned	 o = { ids, n };

	if (n == 0)
		return PG_OK;
	return store_run(st, 1, drop_own_txn, &o);
}

/* Writes the record the killed owner never wrote. */
static enum pg_err
append_missing(struct store *st, const struct keyring *ring,
    const struct audit_ctx *actx, const struct marker *m)
{
	struct json_object *d;
	struct ev_hdr	 h;
	char		 res[EVENT_ID_MAX + 16], when[32];
	time_t		 tt = (time_t)(m->p.received_ms / 1000);
	struct tm	 tm;
	int		 have = inbox_get(st, ring, m->id, &h, NULL, NULL) == PG_OK;

	d = inbox_accept_detail(NULL, have ? &h : NULL, m->p.source, 0);
	if (gmtime_r(&tt, &tm) != NULL &&
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
		json_object_object_add(d, "received",
		    json_object_new_string(when));
	/* Written by the settler, not at the time of acceptance. */
	json_object_object_add(d, "recovered", json_object_new_boolean(1));
	snprintf(res, sizeof(res), "webhook:%s", m->id);
	return audit_event(actx, m->p.source == EV_SRC_BACKFILL ?
	    AEV_EVENT_BACKFILLED : AEV_WEBHOOK_VALIDATED, SEV_LOW, 1, res, d,
	    NULL);
}

enum pg_err
auditpend_settle(struct store *st, const struct keyring *ring,
    const struct config *cfg, const struct audit_ctx *actx,
    uint64_t stale_ms, struct auditpend_res *r)
{
	struct collect	 c;
	struct ascan_reindex_res rr;
	struct take	 tk;
	struct drop	 dr;
	int		*del = NULL, *seen = NULL, found, reindexed = 0;
	int		 complete = 0;
	uint64_t	 now = store_now_ms();
	size_t		 i, ndel = 0;
	enum pg_err	 e;

	memset(r, 0, sizeof(*r));
	c.n = 0;
	if (stale_ms == 0)
		stale_ms = (uint64_t)cfg->wh_handler_timeout * 1000 + 60000;
	/* Sized by what was found: usually nothing or one marker, and
	 * this runs at every start of a plain-CGI process.  collect_one
	 * fills each marker it counts. */
	if ((c.m = malloc(AUDITPEND_BATCH * sizeof(*c.m))) == NULL) {
		e = PG_ENOMEM;
		goto out;
	}
	if ((e = store_run(st, 0, collect_txn, &c)) != PG_OK || c.n == 0)
		goto out;
	if ((del = calloc(c.n, sizeof(*del))) == NULL ||
	    (seen = calloc(c.n, sizeof(*seen))) == NULL) {
		e = PG_ENOMEM;
		goto out;
	}
	r->seen = c.n;
	/* After a reboot the (volatile) index is rebuilt from the log
	 * first, or every marker would look unrecorded. */
	if ((e = ascan_ensure_indexed(st, cfg->state_dir, 0, &rr)) != PG_OK)
		goto out;
	if ((e = batch_recorded(st, c.m, c.n, seen, &complete)) != PG_OK)
		goto out;
	for (i = 0; i < c.n; i++) {
		found = seen[i];
		/* A complete pass covered every marker's window. */
		if (!found && !complete && (e = marker_recorded(st, &c.m[i],
		    stale_ms, &found)) != PG_OK)
			goto out;
		/*
		 * An owner killed after its line reached the log but before
		 * the index transaction committed (audit.c writes the line
		 * inside it) left a record the index does not show: read the
		 * log into the index (idempotent) once before calling any
		 * record missing, or it would be appended twice.
		 */
		if (!found && !reindexed &&
		    !owner_waiting(&c.m[i].p, now, stale_ms)) {
			reindexed = 1;
			if ((e = ascan_ensure_indexed(st, cfg->state_dir, 1,
			    &rr)) != PG_OK || (e = marker_recorded(st, &c.m[i],
			    stale_ms, &found)) != PG_OK)
				goto out;
		}
		if (found) {
			del[i] = 1;
			ndel++;
			r->confirmed++;
			continue;
		}
		if (owner_waiting(&c.m[i].p, now, stale_ms)) {
			r->waiting++;
			continue;
		}
		tk.m = &c.m[i];
		tk.now = now;
		if ((e = store_run(st, 1, take_txn, &tk)) != PG_OK)
			goto out;
		if (!tk.taken)
			continue;	/* another settler has it */
		if ((e = append_missing(st, ring, actx, &c.m[i])) != PG_OK)
			goto out;	/* the marker stays: tried again */
		log_warnx("audit: accept record of %s was missing; appended",
		    c.m[i].id);
		del[i] = 1;
		ndel++;
		r->appended++;
	}
out:
	if (ndel > 0) {
		dr.m = c.m;
		dr.del = del;
		dr.n = c.n;
		/* Best effort: a marker left behind is found settled later. */
		if (store_run(st, 1, drop_txn, &dr) != PG_OK)
			log_warnx("audit: settled markers not removed");
	}
	free(c.m);
	free(del);
	free(seen);
	return e;
}
