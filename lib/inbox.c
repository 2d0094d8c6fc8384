/*
 * payguard - the durable webhook inbox on the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "codec.h"
#include "forkpage.h"
#include "gcommit.h"
#include "inbox.h"
#include "log.h"
#include "seal.h"
#include "inbox_redis.h"

#define LEASE_MARGIN_MS	10000
#define MAX_BACKOFF_S	3600
#define BACKLOG_SCAN	100000	/* queue entries counted at most */
#define BACKLOG_AGE	1000	/* queue entries whose age is read */

static void
qkey(uint64_t due, const char *id, unsigned char *k, size_t *klen)
{
	size_t	 n = strlen(id);

	codec_be64_put(k, due);
	memcpy(k + 8, id, n);
	*klen = 8 + n;
}

/* Moves the event's queue entry to due (0: out of the queue). */
static enum pg_err
requeue(struct store_txn *txn, const char *id, struct ev_hdr *h, uint64_t due)
{
	unsigned char	 k[8 + EVENT_ID_MAX];
	size_t		 klen;
	enum pg_err	 e;

	if (h->queue_due_ms != 0) {
		qkey(h->queue_due_ms, id, k, &klen);
		e = store_del(txn, NS_QUEUE, k, klen);
		if (e != PG_OK && e != PG_NOTFOUND)
			return e;
	}
	h->queue_due_ms = due;
	if (due == 0)
		return PG_OK;
	qkey(due, id, k, &klen);
	return store_put(txn, NS_QUEUE, k, klen, "", 0, 0, 0);
}

static void
claim_hdr(struct ev_hdr *h, const struct config *cfg, uint64_t now)
{
	h->state = EV_DELIVERING;
	h->attempts++;
	h->owner_pid = (int32_t)forkpage_pid();
	h->lease_ms = now + (uint64_t)cfg->wh_handler_timeout * 1000 +
	    LEASE_MARGIN_MS;
}

/* Rewrites the header of id's record, keeping its sealed body. */
static enum pg_err
write_hdr(struct store_txn *txn, const char *id, const void *rec,
    size_t reclen, const struct ev_hdr *h, uint64_t expires)
{
	void		*nrec = NULL;
	size_t		 nlen;
	enum pg_err	 e;

	if ((e = seal_rehead(rec, reclen, h, sizeof(*h), &nrec, &nlen)) != PG_OK)
		return e;
	e = store_put(txn, NS_EVENT, id, strlen(id), nrec, nlen, expires, 0);
	free(nrec);
	return e;
}

size_t
inbox_marker_key(char *key, size_t size, const char *id)
{
	int	 n = snprintf(key, size, "%s%s", INBOX_AUDIT_PENDING, id);

	return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

/* The accept record process pid now owes (see inbox.h). */
static enum pg_err
audit_pending_put(struct store_txn *txn, const char *id,
    const struct ev_hdr *h, uint64_t now, int32_t pid)
{
	struct inbox_audit_pending p;
	char		 k[INBOX_MARKER_KEY_MAX];
	size_t		 n;

	memset(&p, 0, sizeof(p));
	p.received_ms = h->received_ms;
	p.pid = pid;
	p.source = h->source;
	if ((n = inbox_marker_key(k, sizeof(k), id)) == 0)
		return PG_EINVAL;
	return store_put(txn, NS_META, k, n, &p, sizeof(p),
	    now + INBOX_AUDIT_PENDING_TTL_MS, 0);
}

struct accept_ctx {
	const struct config	*cfg;
	const struct event_info	*ev;
	const void		*rec;	/* sealed record of a new event */
	size_t			 reclen;
	int			 claim;
	enum inbox_outcome	 out;
	struct ev_hdr		 h;
};

static enum pg_err
accept_txn(struct store_txn *txn, void *arg)
{
	struct accept_ctx	*a = arg;
	const char		*id = a->ev->id;
	const void		*old;
	size_t			 oldlen;
	uint64_t		 now = store_now_ms();
	void			*copy = NULL;
	enum pg_err		 e;

	e = store_put(txn, NS_EVENT, id, strlen(id), a->rec, a->reclen, 0,
	    STORE_NOOVERWRITE);
	if (e == PG_OK) {
		a->out = INBOX_NEW;
		/* The header inside rec already says pending/claimed; only
		 * the queue entry is missing. */
		if (inbox_read_hdr(a->rec, a->reclen, &a->h) != PG_OK)
			return PG_STORE;
		if ((e = requeue(txn, id, &a->h, a->h.queue_due_ms)) != PG_OK)
			return e;
		return audit_pending_put(txn, id, &a->h, now,
		    (int32_t)forkpage_pid());
	}
	if (e != PG_EXISTS)
		return e;
	if ((e = store_get(txn, NS_EVENT, id, strlen(id), &old, &oldlen,
	    NULL)) != PG_OK || (e = inbox_read_hdr(old, oldlen, &a->h)) != PG_OK)
		return e;
	a->out = INBOX_DUPLICATE;
	if (!a->claim || a->h.state == EV_DELIVERED || a->h.state == EV_DEAD)
		return PG_OK;
	if (a->h.state == EV_DELIVERING && a->h.lease_ms > now) {
		a->out = INBOX_IN_PROGRESS;
		return PG_OK;
	}
	/* Undelivered (a failed attempt, or a lease that ran out): this
	 * retry from Stripe delivers it again. */
	if ((copy = malloc(oldlen)) == NULL)
		return PG_ENOMEM;
	memcpy(copy, old, oldlen);
	claim_hdr(&a->h, a->cfg, now);
	if ((e = requeue(txn, id, &a->h, a->h.lease_ms)) == PG_OK)
		e = write_hdr(txn, id, copy, oldlen, &a->h, 0);
	free(copy);
	if (e == PG_OK)
		a->out = INBOX_RECLAIMED;
	return e;
}

/*
 * Group commit (gcommit.h) of a new event: staged as [be64 owner pid]
 * [sealed record], applied by whichever process leads the batch, exactly
 * as accept_txn stores a new event (record, queue entry, the owner's
 * pending audit record).
 */
static enum pg_err
gc_probe(struct store_txn *txn, const void *key, size_t klen)
{
	const void	*v;
	size_t		 vlen;

	return store_get(txn, NS_EVENT, key, klen, &v, &vlen, NULL);
}

static enum pg_err
gc_apply(struct store_txn *txn, const void *key, size_t klen,
    const void *val, size_t vlen, int *res)
{
	char		 id[EVENT_ID_MAX + 1];
	const unsigned char *v = val;
	const void	*old;
	size_t		 oldlen;
	struct ev_hdr	 h;
	enum pg_err	 e;

	if (klen == 0 || klen > EVENT_ID_MAX || vlen <= 8)
		return PG_STORE;
	memcpy(id, key, klen);
	id[klen] = '\0';
	e = store_put(txn, NS_EVENT, id, klen, v + 8, vlen - 8, 0,
	    STORE_NOOVERWRITE);
	if (e == PG_EXISTS) {
		/* The very bytes (a sealed record has a random IV): a
		 * leader killed after its commit stored it; finish it. */
		if ((e = store_get(txn, NS_EVENT, id, klen, &old, &oldlen,
		    NULL)) != PG_OK)
			return e;
		if (oldlen != vlen - 8 || memcmp(old, v + 8, oldlen) != 0) {
			*res = GC_EXISTS;
			return PG_OK;
		}
	} else if (e != PG_OK)
		return e;
	if ((e = inbox_read_hdr(v + 8, vlen - 8, &h)) != PG_OK)
		return e;
	if ((e = requeue(txn, id, &h, h.queue_due_ms)) != PG_OK ||
	    (e = audit_pending_put(txn, id, &h, store_now_ms(),
	    (int32_t)codec_be64_get(v))) != PG_OK)
		return e;
	*res = GC_NEW;
	return PG_OK;
}

/* A new event through the group commit; falls back to accept_txn for
 * everything but a new event (duplicates, reclaims: their outcome
 * depends on the stored header). */
static enum pg_err
accept_grouped(struct store *st, struct accept_ctx *a)
{
	unsigned char	*v;
	int		 res = 0;
	enum pg_err	 e;

	if ((v = malloc(8 + a->reclen)) == NULL)
		return PG_ENOMEM;
	codec_be64_put(v, (uint64_t)forkpage_pid());
	memcpy(v + 8, a->rec, a->reclen);
	e = gc_submit(st, a->ev->id, strlen(a->ev->id), v,
	    8 + a->reclen, gc_probe, gc_apply, &res);
	free(v);
	if (e != PG_OK)
		return e;
	if (res == GC_NEW) {
		a->out = INBOX_NEW;
		return inbox_read_hdr(a->rec, a->reclen, &a->h);
	}
	return store_run(st, 1, accept_txn, a);
}

enum pg_err
inbox_accept(struct store *st, const struct keyring *ring,
    const struct config *cfg, const struct event_info *ev, const void *body,
    size_t len, int claim, enum inbox_outcome *out, struct ev_hdr *h)
{
	struct accept_ctx	 a;
	uint64_t		 now = store_now_ms();
	void			*rec = NULL;
	enum pg_err		 e;

	memset(&a, 0, sizeof(a));
	a.h.version = INBOX_HDR_VERSION;
	a.h.state = EV_PENDING;
	a.h.livemode = ev->livemode;
	a.h.last_status = -1;
	a.h.received_ms = now;
	a.h.created = ev->created;
	a.h.source = ev->source >= 0 && ev->source < EV_SRC__MAX ?
	    (uint32_t)ev->source : EV_SRC_WEBHOOK;
	snprintf(a.h.type, sizeof(a.h.type), "%s", ev->type);
	if (claim) {
		claim_hdr(&a.h, cfg, now);
		a.h.queue_due_ms = a.h.lease_ms;
	} else
		a.h.queue_due_ms = now;
	/* Encrypt outside the transaction: the write lock is shared by
	 * every process, so keep it short. */
	if ((e = seal_pack(ring, &a.h, sizeof(a.h), body, len, &rec,
	    &a.reclen)) != PG_OK)
		return e;
	a.cfg = cfg;
	a.ev = ev;
	a.rec = rec;
	a.claim = claim;
	if (store_shared(st) != NULL)
		e = rs_inbox_accept(store_shared(st), cfg, ev->id, rec,
		    a.reclen, claim, &a.out, &a.h);
	else if (cfg->sync && cfg->group_commit &&
	    strlen(ev->id) <= GC_KEY_MAX)
		/* Durable: share the fsync with concurrent requests. */
		e = accept_grouped(st, &a);
	else
		e = store_run(st, 1, accept_txn, &a);
	free(rec);
	if (e == PG_OK) {
		*out = a.out;
		*h = a.h;
	}
	return e;
}

struct claim_ctx {
	const struct config	*cfg;
	uint64_t		 now;
	char			 id[EVENT_ID_MAX + 1];
	struct ev_hdr		 h;
	void			*rec;
	size_t			 reclen;
	int			 found;
};

static int
first_due(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t exp, void *arg)
{
	struct claim_ctx *c = arg;

	(void)val; (void)vlen; (void)exp;
	if (klen <= 8 || klen - 8 > EVENT_ID_MAX)
		return 0;
	memcpy(c->id, (const char *)key + 8, klen - 8);
	c->id[klen - 8] = '\0';
	c->found = 1;
	return 1;
}

static enum pg_err
claim_txn(struct store_txn *txn, void *arg)
{
	struct claim_ctx *c = arg;
	unsigned char	 end[8];
	const void	*rec;
	size_t		 reclen, i;
	enum pg_err	 e;

	free(c->rec);
	c->rec = NULL;
	c->found = 0;
	for (i = 0; i < 8; i++)
		end[i] = (unsigned char)((c->now + 1) >> (56 - 8 * i));
	if ((e = store_scan(txn, NS_QUEUE, NULL, 0, end, 8, 0, first_due,
	    c)) != PG_OK)
		return e;
	if (!c->found)
		return PG_NOTFOUND;
	if ((e = store_get(txn, NS_EVENT, c->id, strlen(c->id), &rec, &reclen,
	    NULL)) != PG_OK || (e = inbox_read_hdr(rec, reclen, &c->h)) != PG_OK)
		return e == PG_NOTFOUND ? PG_STORE : e;
	if ((c->rec = malloc(reclen)) == NULL)
		return PG_ENOMEM;
	memcpy(c->rec, rec, reclen);
	c->reclen = reclen;
	claim_hdr(&c->h, c->cfg, c->now);
	if ((e = requeue(txn, c->id, &c->h, c->h.lease_ms)) != PG_OK)
		return e;
	return write_hdr(txn, c->id, c->rec, c->reclen, &c->h, 0);
}

enum pg_err
inbox_claim_next(struct store *st, const struct keyring *ring,
    const struct config *cfg, char id[EVENT_ID_MAX + 1], struct ev_hdr *h,
    unsigned char **body, size_t *len)
{
	struct claim_ctx c;
	enum pg_err	 e;

	memset(&c, 0, sizeof(c));
	c.cfg = cfg;
	c.now = store_now_ms();
	if (store_shared(st) != NULL)
		e = rs_inbox_claim_next(store_shared(st), cfg, c.id, &c.h,
		    &c.rec, &c.reclen);
	else
		e = store_run(st, 1, claim_txn, &c);
	if (e == PG_OK)
		e = seal_open(ring, c.rec, c.reclen, body, len);
	if (e == PG_OK) {
		memcpy(id, c.id, sizeof(c.id));
		*h = c.h;
	} else if (e == PG_CRYPTO)
		log_warnx("inbox: event %s cannot be decrypted with the "
		    "configured keys", c.id);
	free(c.rec);
	return e;
}

struct complete_ctx {
	const struct config	*cfg;
	const char		*id;
	const struct ev_hdr	*claim;
	int			 ok;
	int			 status;
	const char		*error;
};

static enum pg_err
complete_txn(struct store_txn *txn, void *arg)
{
	struct complete_ctx *c = arg;
	struct ev_hdr	 h;
	const void	*rec;
	void		*copy = NULL;
	size_t		 reclen;
	uint64_t	 now = store_now_ms(), expires = 0, delay;
	enum pg_err	 e;

	if ((e = store_get(txn, NS_EVENT, c->id, strlen(c->id), &rec, &reclen,
	    NULL)) != PG_OK || (e = inbox_read_hdr(rec, reclen, &h)) != PG_OK)
		return e;
	/*
	 * Only the holder of the current claim records an outcome: a worker
	 * whose lease ran out while its handler was still running must not
	 * overwrite what the worker that took the event over decides.  A
	 * claim is (owner pid, attempt number): every claim increments the
	 * attempts, so a pid reused later cannot match an old claim.
	 */
	if (h.state != EV_DELIVERING || h.owner_pid != c->claim->owner_pid ||
	    h.attempts != c->claim->attempts)
		return PG_CONFLICT;
	if ((copy = malloc(reclen)) == NULL)
		return PG_ENOMEM;
	memcpy(copy, rec, reclen);
	h.last_status = c->status;
	h.owner_pid = 0;
	h.lease_ms = 0;
	snprintf(h.last_error, sizeof(h.last_error), "%s",
	    c->error ? c->error : "");
	if (c->ok) {
		h.state = EV_DELIVERED;
		h.delivered_ms = now;
		/* The replay record outlives Stripe's retries and resends. */
		expires = now + (uint64_t)c->cfg->wh_dedup_ttl * 1000;
		e = requeue(txn, c->id, &h, 0);
	} else if (h.attempts >= c->cfg->wh_max_attempts) {
		h.state = EV_DEAD;
		e = requeue(txn, c->id, &h, 0);
	} else {
		h.state = EV_PENDING;
		delay = (uint64_t)c->cfg->wh_retry_base << (h.attempts - 1 < 20 ?
		    h.attempts - 1 : 20);
		if (delay > MAX_BACKOFF_S)
			delay = MAX_BACKOFF_S;
		e = requeue(txn, c->id, &h, now + delay * 1000);
	}
	if (e == PG_OK)
		e = write_hdr(txn, c->id, copy, reclen, &h, expires);
	free(copy);
	return e;
}

enum pg_err
inbox_complete(struct store *st, const struct config *cfg, const char *id,
    const struct ev_hdr *claim, int ok, int status, const char *error)
{
	struct complete_ctx c = { cfg, id, claim, ok, status, error };
	enum pg_err	 e;

	/* Redis checks the same claim (owner token and attempt) in its
	 * script, and logs a refusal itself. */
	if (store_shared(st) != NULL)
		return rs_inbox_complete(store_shared(st), cfg, id, claim, ok,
		    status, error);
	if ((e = store_run(st, 1, complete_txn, &c)) == PG_CONFLICT)
		log_warnx("inbox: the outcome of %s (attempt %u) is not "
		    "recorded: its lease ran out and another process holds "
		    "the event now", id, claim->attempts);
	return e;
}

struct get_ctx {
	const char	*id;
	struct ev_hdr	*h;
	void		*rec;
	size_t		 reclen;
};

static enum pg_err
get_txn(struct store_txn *txn, void *arg)
{
	struct get_ctx	*g = arg;
	const void	*rec;
	size_t		 reclen;
	enum pg_err	 e;

	if ((e = store_get(txn, NS_EVENT, g->id, strlen(g->id), &rec, &reclen,
	    NULL)) != PG_OK || (e = inbox_read_hdr(rec, reclen, g->h)) != PG_OK)
		return e;
	if ((g->rec = malloc(reclen)) == NULL)
		return PG_ENOMEM;
	memcpy(g->rec, rec, reclen);
	g->reclen = reclen;
	return PG_OK;
}

enum pg_err
inbox_get(struct store *st, const struct keyring *ring, const char *id,
    struct ev_hdr *h, unsigned char **body, size_t *len)
{
	struct get_ctx	 g = { id, h, NULL, 0 };
	enum pg_err	 e;

	if (strlen(id) == 0 || strlen(id) > EVENT_ID_MAX)
		return PG_EINVAL;
	if (store_shared(st) != NULL)
		e = rs_inbox_get(store_shared(st), id, h, &g.rec, &g.reclen);
	else
		e = store_run(st, 0, get_txn, &g);
	if (e == PG_OK && body != NULL)
		e = seal_open(ring, g.rec, g.reclen, body, len);
	free(g.rec);
	return e;
}

struct list_ctx {
	inbox_list_fn	 fn;
	void		*arg;
};

static int
list_one(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t exp, void *arg)
{
	struct list_ctx	*l = arg;
	struct ev_hdr	 h;
	char		 id[EVENT_ID_MAX + 1];

	(void)exp;
	if (klen > EVENT_ID_MAX || inbox_read_hdr(val, vlen, &h) != PG_OK)
		return 0;
	memcpy(id, key, klen);
	id[klen] = '\0';
	return l->fn(id, &h, l->arg) != 0;
}

static enum pg_err
list_txn(struct store_txn *txn, void *arg)
{
	return store_scan(txn, NS_EVENT, NULL, 0, NULL, 0, 0, list_one, arg);
}

enum pg_err
inbox_list(struct store *st, inbox_list_fn fn, void *arg)
{
	struct list_ctx	 l = { fn, arg };

	if (store_shared(st) != NULL)
		return rs_inbox_list(store_shared(st), fn, arg);
	return store_run(st, 0, list_txn, &l);
}

static enum pg_err
retry_txn(struct store_txn *txn, void *arg)
{
	const char	*id = arg;
	struct ev_hdr	 h;
	const void	*rec;
	void		*copy;
	size_t		 reclen;
	enum pg_err	 e;

	if ((e = store_get(txn, NS_EVENT, id, strlen(id), &rec, &reclen,
	    NULL)) != PG_OK || (e = inbox_read_hdr(rec, reclen, &h)) != PG_OK)
		return e;
	if (h.state == EV_DELIVERED || h.state == EV_DELIVERING)
		return PG_CONFLICT;
	if ((copy = malloc(reclen)) == NULL)
		return PG_ENOMEM;
	memcpy(copy, rec, reclen);
	h.state = EV_PENDING;
	h.attempts = 0;
	if ((e = requeue(txn, id, &h, store_now_ms())) == PG_OK)
		e = write_hdr(txn, id, copy, reclen, &h, 0);
	free(copy);
	return e;
}

enum pg_err
inbox_retry(struct store *st, const char *id)
{
	if (strlen(id) == 0 || strlen(id) > EVENT_ID_MAX)
		return PG_EINVAL;
	if (store_shared(st) != NULL)
		return rs_inbox_retry(store_shared(st), id);
	return store_run(st, 1, retry_txn, (void *)id);
}

struct purge_ctx {
	int		 all;
	size_t		 n;
	size_t		 cap;
	char		(*ids)[EVENT_ID_MAX + 1];
	uint64_t	*due;
};

static int
purge_pick(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t exp, void *arg)
{
	struct purge_ctx *p = arg;
	struct ev_hdr	 h;

	(void)exp;
	if (klen > EVENT_ID_MAX || inbox_read_hdr(val, vlen, &h) != PG_OK)
		return 0;
	if (!p->all && h.state != EV_DEAD)
		return 0;
	if (p->n == p->cap)
		return 1;	/* the rest goes in the next batch */
	memcpy(p->ids[p->n], key, klen);
	p->ids[p->n][klen] = '\0';
	p->due[p->n++] = h.queue_due_ms;
	return 0;
}

static enum pg_err
purge_txn(struct store_txn *txn, void *arg)
{
	struct purge_ctx *p = arg;
	unsigned char	 k[8 + EVENT_ID_MAX];
	size_t		 i, klen;
	enum pg_err	 e;

	p->n = 0;
	if ((e = store_scan(txn, NS_EVENT, NULL, 0, NULL, 0, 0, purge_pick,
	    p)) != PG_OK)
		return e;
	for (i = 0; i < p->n; i++) {
		if (p->due[i] != 0) {
			qkey(p->due[i], p->ids[i], k, &klen);
			(void)store_del(txn, NS_QUEUE, k, klen);
		}
		if ((e = store_del(txn, NS_EVENT, p->ids[i],
		    strlen(p->ids[i]))) != PG_OK)
			return e;
	}
	return PG_OK;
}

enum pg_err
inbox_purge(struct store *st, int all, size_t *n)
{
	struct purge_ctx p;
	enum pg_err	 e = PG_OK;

	if (store_shared(st) != NULL)
		return rs_inbox_purge(store_shared(st), all, n);
	memset(&p, 0, sizeof(p));
	p.all = all;
	p.cap = 256;
	*n = 0;
	p.ids = calloc(p.cap, sizeof(*p.ids));
	p.due = calloc(p.cap, sizeof(*p.due));
	if (p.ids == NULL || p.due == NULL)
		e = PG_ENOMEM;
	/* Batches keep each write transaction short. */
	while (e == PG_OK) {
		if ((e = store_run(st, 1, purge_txn, &p)) != PG_OK)
			break;
		*n += p.n;
		if (p.n < p.cap)
			break;
	}
	free(p.ids);
	free(p.due);
	return e;
}

struct blctx {
	uint64_t	 n;
	size_t		 nids;
	char		(*ids)[EVENT_ID_MAX + 1];
};

static int
bl_one(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t exp, void *arg)
{
	struct blctx	*c = arg;

	(void)val; (void)vlen; (void)exp;
	if (klen <= 8 || klen - 8 > EVENT_ID_MAX)
		return 0;
	c->n++;
	if (c->nids < BACKLOG_AGE) {
		memcpy(c->ids[c->nids], (const char *)key + 8, klen - 8);
		c->ids[c->nids][klen - 8] = '\0';
		c->nids++;
	}
	return c->n >= BACKLOG_SCAN;
}

static enum pg_err
bl_txn(struct store_txn *t, void *arg)
{
	return store_scan(t, NS_QUEUE, NULL, 0, NULL, 0, 0, bl_one, arg);
}

enum pg_err
inbox_backlog(struct store *st, uint64_t *n, uint64_t *oldest_ms)
{
	struct blctx	 c;
	struct ev_hdr	 h;
	size_t		 i;
	enum pg_err	 e = PG_ENOMEM;

	memset(&c, 0, sizeof(c));
	*n = *oldest_ms = 0;
	if ((c.ids = calloc(BACKLOG_AGE, sizeof(*c.ids))) == NULL)
		goto out;
	if (store_shared(st) != NULL)
		e = rs_inbox_queue(store_shared(st), c.ids, BACKLOG_AGE,
		    &c.nids, &c.n);
	else
		e = store_run(st, 0, bl_txn, &c);
	if (e != PG_OK)
		goto out;
	*n = c.n;
	/* Oldest pending: read outside the scan (inbox_get has its own
	 * transaction); the backlog is small when things are healthy. */
	for (i = 0; i < c.nids; i++)
		if (inbox_get(st, NULL, c.ids[i], &h, NULL, NULL) == PG_OK &&
		    (h.state == EV_PENDING || h.state == EV_DELIVERING) &&
		    (*oldest_ms == 0 || h.received_ms < *oldest_ms))
			*oldest_ms = h.received_ms;
out:
	free(c.ids);
	return e;
}

struct export_ctx {
	store_scan_fn	 fn;
	void		*arg;
};

static enum pg_err
export_txn(struct store_txn *t, void *arg)
{
	const struct export_ctx *x = arg;

	return store_scan(t, NS_EVENT, NULL, 0, NULL, 0, 0, x->fn, x->arg);
}

enum pg_err
inbox_export(struct store *st, struct rstore *rs, store_scan_fn fn,
    void *arg)
{
	struct export_ctx x = { fn, arg };

	if (rs != NULL)
		return rs_inbox_export(rs, fn, arg);
	return store_run(st, 0, export_txn, &x);
}

struct import_ctx {
	const char	*id;
	const void	*rec;
	size_t		 reclen;
	uint64_t	 expires;
	int		 added;
};

static enum pg_err
import_txn(struct store_txn *t, void *arg)
{
	struct import_ctx *c = arg;
	struct ev_hdr	 h;
	uint64_t	 due;
	enum pg_err	 e;

	c->added = 0;
	if (inbox_read_hdr(c->rec, c->reclen, &h) != PG_OK)
		return PG_EINVAL;
	e = store_put(t, NS_EVENT, c->id, strlen(c->id), c->rec, c->reclen,
	    c->expires, STORE_NOOVERWRITE);
	if (e == PG_EXISTS)
		return PG_OK;
	if (e != PG_OK)
		return e;
	c->added = 1;
	if (h.state != EV_PENDING && h.state != EV_DELIVERING)
		return PG_OK;
	/* Queued as the header says (a claim from the other backend is
	 * owned by nobody here: due when its lease ends). */
	due = h.queue_due_ms != 0 ? h.queue_due_ms : store_now_ms();
	h.queue_due_ms = 0;
	return requeue(t, c->id, &h, due);
}

enum pg_err
inbox_import(struct store *st, struct rstore *rs, const char *id,
    const void *rec, size_t reclen, uint64_t expires, int *added)
{
	struct import_ctx c = { id, rec, reclen, expires, 0 };
	enum pg_err	 e;

	*added = 0;
	if (strlen(id) == 0 || strlen(id) > EVENT_ID_MAX)
		return PG_EINVAL;
	if (rs != NULL)
		return rs_inbox_import(rs, id, rec, reclen, expires, added);
	if ((e = store_run(st, 1, import_txn, &c)) == PG_OK)
		*added = c.added;
	return e;
}

static enum pg_err
has_txn(struct store_txn *t, void *arg)
{
	const char	*id = arg;
	const void	*v;
	size_t		 vlen;

	return store_get(t, NS_EVENT, id, strlen(id), &v, &vlen, NULL);
}

enum pg_err
inbox_has(struct store *st, struct rstore *rs, const char *id)
{
	if (strlen(id) == 0 || strlen(id) > EVENT_ID_MAX)
		return PG_EINVAL;
	if (rs != NULL)
		return rs_inbox_has(rs, id);
	return store_run(st, 0, has_txn, (void *)id);
}
