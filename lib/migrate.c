/*
 * payguard - moving the shared state between the backends (migrate.h).
 * Each kind's formats stay with its feature (token, inbox, idem: their
 * *_export / *_import / *_has); this walks them and counts.
 */
#include <string.h>

#include "idem.h"
#include "inbox.h"
#include "migrate.h"
#include "token.h"

/* One record in flight: a source walk's callback state. */
struct mig {
	struct store		*st;
	struct rstore		*dst_rs;	/* NULL: LMDB is the destination */
	enum migrate_kind	 kind;
	int			 verify;	/* second pass: count, check */
	struct migrate_count	*c;
	migrate_progress_fn	 progress;
	void			*parg;
	size_t			 done;		/* inserted, all kinds */
	enum pg_err		 err;
};

static enum pg_err
import_one(struct mig *m, const void *key, size_t klen, const void *val,
    size_t vlen, uint64_t expires, int *added)
{
	char		 id[EVENT_ID_MAX + 1];

	switch (m->kind) {
	case MIG_TOKENS:
		return token_import(m->st, m->dst_rs, key, klen, val, vlen,
		    added);
	case MIG_EVENTS:
		if (klen == 0 || klen > EVENT_ID_MAX)
			return PG_EINVAL;
		memcpy(id, key, klen);
		id[klen] = '\0';
		return inbox_import(m->st, m->dst_rs, id, val, vlen, expires,
		    added);
	default:
		return idem_import(m->st, m->dst_rs, key, klen, val, vlen,
		    expires, added);
	}
}

static enum pg_err
has_one(struct mig *m, const void *key, size_t klen)
{
	char		 id[EVENT_ID_MAX + 1];

	switch (m->kind) {
	case MIG_TOKENS:
		return token_has(m->st, m->dst_rs, key, klen);
	case MIG_EVENTS:
		if (klen == 0 || klen > EVENT_ID_MAX)
			return PG_EINVAL;
		memcpy(id, key, klen);
		id[klen] = '\0';
		return inbox_has(m->st, m->dst_rs, id);
	default:
		return idem_has(m->st, m->dst_rs, key, klen);
	}
}

/* The source walk's callback (store_scan_fn). */
static int
one(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t expires, void *arg)
{
	struct mig	*m = arg;
	int		 added = 0;
	enum pg_err	 e;

	if (m->verify) {
		m->c->source++;
		if ((e = has_one(m, key, klen)) == PG_OK)
			m->c->verified++;
		else if (e != PG_NOTFOUND)
			m->err = e;
	} else if ((e = import_one(m, key, klen, val, vlen, expires,
	    &added)) != PG_OK)
		m->err = e;
	else if (added) {
		m->c->copied++;
		m->done++;
		if (m->progress != NULL)
			m->progress(m->kind, m->done, m->parg);
	} else
		m->c->present++;
	return m->err != PG_OK ? -1 : 0;
}

static enum pg_err
walk(struct mig *m, struct rstore *src_rs, const struct keyring *ring)
{
	size_t		 skipped = 0;
	enum pg_err	 e;

	m->err = PG_OK;
	switch (m->kind) {
	case MIG_TOKENS:
		e = token_export(m->st, src_rs, one, m);
		break;
	case MIG_EVENTS:
		e = inbox_export(m->st, src_rs, one, m);
		break;
	default:
		e = idem_export(m->st, src_rs, ring, one, m, &skipped);
		m->c->skipped = skipped;
		break;
	}
	/* The callback's own error is the one worth reporting. */
	return m->err != PG_OK ? m->err : e;
}

enum pg_err
migrate_run(struct store *st, struct rstore *rs, const struct keyring *ring,
    int to_redis, migrate_progress_fn progress, void *arg,
    struct migrate_report *rep)
{
	struct mig	 m;
	struct rstore	*src_rs = to_redis ? NULL : rs;
	enum pg_err	 e = PG_OK;
	int		 k, missing = 0;

	memset(rep, 0, sizeof(*rep));
	memset(&m, 0, sizeof(m));
	m.st = st;
	m.dst_rs = to_redis ? rs : NULL;
	m.progress = progress;
	m.parg = arg;
	for (k = 0; k < MIG__N && e == PG_OK; k++) {
		m.kind = (enum migrate_kind)k;
		m.c = &rep->k[k];
		m.verify = 0;
		if ((e = walk(&m, src_rs, ring)) != PG_OK)
			break;
		m.verify = 1;
		e = walk(&m, src_rs, ring);
		if (m.c->verified != m.c->source)
			missing = 1;
	}
	return e == PG_OK && missing ? PG_CONFLICT : e;
}

const char *
migrate_kind_name(enum migrate_kind k)
{
	static const char *const names[MIG__N] = {
		"tokens",	/* MIG_TOKENS */
		"events",	/* MIG_EVENTS */
		"idempotency",	/* MIG_IDEM */
	};

	return (unsigned)k < MIG__N ? names[k] : "?";
}
