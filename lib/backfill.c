/*
 * payguard - backfill from Stripe's Events API.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "backfill.h"
#include "codec.h"
#include "form.h"
#include "inbox.h"
#include "log.h"

#define POS_KEY		"backfill.position"
#define POS_MAX		4096	/* bytes of the saved position */
#define TIME_MAX	4102444800LL	/* 2100-01-01: no later TIME */

enum pg_err
backfill_parse_time(const char *s, int64_t now, int64_t *out)
{
	static const char *const fmts[] = {
		"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
		"%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M", "%Y-%m-%d",
	};
	struct tm	 tm;
	const char	*end;
	char		*ep;
	long long	 v;
	size_t		 i, n = strlen(s);
	int64_t		 unit = 0;

	if (n == 0 || n > 32)
		return PG_EINVAL;
	for (i = 0; i < n && isdigit((unsigned char)s[i]); i++)
		;
	if (i > 0 && i + 1 == n) {
		switch (s[i]) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default: break;
		}
	}
	if (i == n || unit != 0) {
		errno = 0;
		v = strtoll(s, &ep, 10);
		if (errno != 0 || v < 0 || v > TIME_MAX)
			return PG_EINVAL;
		*out = unit ? now - (int64_t)v * unit : (int64_t)v;
		return *out >= 0 ? PG_OK : PG_EINVAL;
	}
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, fmts[i], &tm);
		if (end != NULL && *end == '\0') {
			*out = (int64_t)timegm(&tm);
			return *out >= 0 && *out <= TIME_MAX ? PG_OK : PG_EINVAL;
		}
	}
	return PG_EINVAL;
}

enum pg_err
backfill_check_types(const char *types)
{
	size_t	 i, len = 0, n = 1;

	if (types == NULL || *types == '\0')
		return PG_EINVAL;
	for (i = 0; types[i] != '\0'; i++) {
		if (types[i] == ',') {
			if (len == 0)
				return PG_EINVAL;
			len = 0;
			n++;
			continue;
		}
		if (!islower((unsigned char)types[i]) &&
		    !isdigit((unsigned char)types[i]) &&
		    strchr("_.*", types[i]) == NULL)
			return PG_EINVAL;
		if (++len > BACKFILL_TYPE_LEN)
			return PG_EINVAL;
	}
	return len > 0 && n <= BACKFILL_TYPES_MAX ? PG_OK : PG_EINVAL;
}

enum pg_err
backfill_query(int64_t since, int64_t until, const char *types,
    const char *after, struct buf *q)
{
	struct form	 f;
	char		 num[32], t[BACKFILL_TYPE_LEN + 1];
	const char	*p, *c;
	size_t		 n;
	enum pg_err	 e;

	form_init(&f);
	snprintf(num, sizeof(num), "%lld", (long long)since);
	e = form_add(&f, "created[gte]", num);
	snprintf(num, sizeof(num), "%lld", (long long)until);
	if (e == PG_OK)
		e = form_add(&f, "created[lte]", num);
	snprintf(num, sizeof(num), "%d", BACKFILL_PAGE);
	if (e == PG_OK)
		e = form_add(&f, "limit", num);
	for (p = types; e == PG_OK && p != NULL && *p != '\0'; p = c ? c + 1 : NULL) {
		c = strchr(p, ',');
		n = c ? (size_t)(c - p) : strlen(p);
		if (n == 0 || n >= sizeof(t)) {
			e = PG_EINVAL;
			break;
		}
		memcpy(t, p, n);
		t[n] = '\0';
		e = form_add(&f, "types[]", t);
	}
	if (e == PG_OK && after != NULL && *after != '\0')
		e = form_add(&f, "starting_after", after);
	if (e == PG_OK)
		e = form_encode(&f, q);
	form_free(&f);
	return e;
}

/* ------------------------------------------------------- the position */

struct pos_ctx {
	const char	*val;		/* put: JSON text; NULL: delete */
	char		 got[POS_MAX];	/* get */
	int		 found;
};

static enum pg_err
pos_get_txn(struct store_txn *t, void *arg)
{
	struct pos_ctx	*p = arg;
	const void	*v;
	size_t		 vlen;
	enum pg_err	 e;

	p->found = 0;
	e = store_get(t, NS_META, POS_KEY, strlen(POS_KEY), &v, &vlen, NULL);
	if (e == PG_NOTFOUND)
		return PG_OK;
	if (e != PG_OK)
		return e;
	if (vlen >= sizeof(p->got))
		return PG_OK;	/* not ours: start afresh */
	memcpy(p->got, v, vlen);
	p->got[vlen] = '\0';
	p->found = 1;
	return PG_OK;
}

static enum pg_err
pos_put_txn(struct store_txn *t, void *arg)
{
	struct pos_ctx	*p = arg;
	enum pg_err	 e;

	if (p->val != NULL)
		return store_put(t, NS_META, POS_KEY, strlen(POS_KEY), p->val,
		    strlen(p->val), 0, 0);
	e = store_del(t, NS_META, POS_KEY, strlen(POS_KEY));
	return e == PG_NOTFOUND ? PG_OK : e;
}

static int64_t
jint(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) &&
	    json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
}

static const char *
jstr(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) &&
	    json_object_is_type(v, json_type_string) ? json_object_get_string(v) :
	    NULL;
}

/*
 * Loads a saved position for the same since and types (and until, when
 * one is asked for) into r.  Anything else is left for this run to
 * overwrite.
 */
static enum pg_err
pos_load(struct store *st, const struct backfill_opts *o,
    struct backfill_res *r)
{
	struct pos_ctx	 p;
	struct json_object *j;
	const char	*types, *after;
	enum pg_err	 e;

	memset(&p, 0, sizeof(p));
	if ((e = store_run(st, 0, pos_get_txn, &p)) != PG_OK || !p.found)
		return e;
	if ((j = json_tokener_parse(p.got)) == NULL)
		return PG_OK;
	types = jstr(j, "types");
	after = jstr(j, "after");
	if (jint(j, "since") == o->since && jint(j, "until") > 0 &&
	    (o->until == 0 || jint(j, "until") == o->until) &&
	    types != NULL && strcmp(types, o->types ? o->types : "") == 0 &&
	    after != NULL && strlen(after) <= EVENT_ID_MAX &&
	    jint(j, "listed") >= 0 && jint(j, "added") >= 0 &&
	    jint(j, "present") >= 0 && jint(j, "refused") >= 0 &&
	    jint(j, "pages") >= 0) {
		r->resumed = 1;
		r->until = jint(j, "until");
		snprintf(r->after, sizeof(r->after), "%s", after);
		memcpy(r->resumed_after, r->after, sizeof(r->after));
		r->pages = (uint64_t)jint(j, "pages");
		r->listed = (uint64_t)jint(j, "listed");
		r->added = (uint64_t)jint(j, "added");
		r->present = (uint64_t)jint(j, "present");
		r->refused = (uint64_t)jint(j, "refused");
	}
	json_object_put(j);
	return PG_OK;
}

static enum pg_err
pos_save(struct store *st, const struct backfill_opts *o,
    const struct backfill_res *r)
{
	struct pos_ctx	 p;
	struct buf	 b;
	enum pg_err	 e;

	memset(&p, 0, sizeof(p));
	buf_init(&b, POS_MAX - 1);
	e = buf_printf(&b, "{\"since\":%lld,\"until\":%lld,\"types\":",
	    (long long)r->since, (long long)r->until);
	if (e == PG_OK)
		e = codec_json_str(&b, o->types ? o->types : "",
		    o->types ? strlen(o->types) : 0);
	if (e == PG_OK)
		e = buf_puts(&b, ",\"after\":");
	if (e == PG_OK)
		e = codec_json_str(&b, r->after, strlen(r->after));
	if (e == PG_OK)
		e = buf_printf(&b, ",\"pages\":%llu,\"listed\":%llu,"
		    "\"added\":%llu,\"present\":%llu,\"refused\":%llu}",
		    (unsigned long long)r->pages, (unsigned long long)r->listed,
		    (unsigned long long)r->added, (unsigned long long)r->present,
		    (unsigned long long)r->refused);
	if (e == PG_OK) {
		p.val = b.data;
		e = store_run(st, 1, pos_put_txn, &p);
	}
	buf_free(&b);
	return e;
}

static enum pg_err
pos_clear(struct store *st)
{
	struct pos_ctx	 p;

	memset(&p, 0, sizeof(p));
	return store_run(st, 1, pos_put_txn, &p);
}

/* ------------------------------------------------------------ a page */

/* Feeds one listed event; counts it in r. */
static enum pg_err
one_event(struct store *st, const struct keyring *ring,
    const struct config *cfg, const struct backfill_opts *o,
    struct json_object *item, struct backfill_res *r)
{
	struct event_info ev;
	struct ev_hdr	 h;
	enum inbox_outcome out;
	struct json_object *d;
	const char	*body, *why = NULL;
	size_t		 len;
	char		 res[300];
	enum pg_err	 e;

	r->listed++;
	/* The cursor moves past every listed item, valid or not. */
	if ((body = jstr(item, "id")) != NULL && *body != '\0' &&
	    strlen(body) <= EVENT_ID_MAX && strspn(body, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(body))
		snprintf(r->after, sizeof(r->after), "%s", body);
	/* The event as Stripe rendered it in the list: the handler gets
	 * the same JSON it would have got from the webhook (no signature). */
	body = json_object_to_json_string_ext(item, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	len = body ? strlen(body) : 0;
	if (body == NULL || len > cfg->max_body)
		why = "event larger than PAYGUARD_MAX_BODY";
	else if (event_validate(body, len, &ev, &why) != PG_OK)
		;
	else if (cfg->api_version != NULL && cfg->wh_strict_version &&
	    ev.api_version[0] != '\0' && strcmp(ev.api_version,
	    cfg->api_version) != 0)
		why = "API version differs from the pinned STRIPE_API_VERSION";
	if (why != NULL) {
		r->refused++;
		log_warnx("backfill: listed event %llu refused: %s",
		    (unsigned long long)r->listed, why);
		return PG_OK;
	}
	if (o->dry_run) {
		e = inbox_get(st, ring, ev.id, &h, NULL, NULL);
		if (e == PG_OK)
			r->present++;
		else if (e == PG_NOTFOUND)
			r->added++;
		return e == PG_NOTFOUND ? PG_OK : e;
	}
	ev.source = EV_SRC_BACKFILL;
	/* Never claimed here: the worker (or the drain the caller runs)
	 * delivers it, exactly once, like a queued webhook. */
	if ((e = inbox_accept(st, ring, cfg, &ev, body, len, 0, &out, &h)) !=
	    PG_OK)
		return e;
	if (out != INBOX_NEW) {
		r->present++;
		return PG_OK;
	}
	r->added++;
	if (o->actx != NULL) {
		d = inbox_accept_detail(&ev, &h, h.source, 0);
		snprintf(res, sizeof(res), "webhook:%s", ev.id);
		(void)audit_event(o->actx, AEV_EVENT_BACKFILLED, SEV_LOW, 1, res,
		    d, NULL);
	}
	return PG_OK;
}

/* Stripe's own words on a refusal: status, type, code, message. */
static void
upstream_error(const struct stripe_resp *sr, struct backfill_res *r)
{
	struct json_object *j = NULL, *err;
	const char	*type = NULL, *code = NULL, *msg = NULL;

	if (sr->body.len > 0)
		j = json_tokener_parse(sr->body.data);
	if (j != NULL && json_object_object_get_ex(j, "error", &err)) {
		type = jstr(err, "type");
		code = jstr(err, "code");
		msg = jstr(err, "message");
	}
	snprintf(r->error, sizeof(r->error), "Stripe answered %ld%s%s%s%s%s%s",
	    sr->status, type ? " " : "", type ? type : "", code ? "/" : "",
	    code ? code : "", msg ? ": " : "", msg ? msg : "");
	json_object_put(j);
}

enum pg_err
backfill_run(struct store *st, const struct keyring *ring,
    const struct config *cfg, struct stripe_client *sc,
    const struct backfill_opts *o, struct backfill_res *r)
{
	struct stripe_resp sr;
	struct json_object *page = NULL, *data, *more, *item;
	struct buf	 q;
	char		 prev[EVENT_ID_MAX + 1];
	size_t		 i, n;
	int		 has_more;
	enum pg_err	 e;

	memset(r, 0, sizeof(*r));
	memset(&sr, 0, sizeof(sr));
	buf_init(&q, 8192);
	r->since = o->since;
	r->until = o->until;
	if (!o->dry_run && (e = pos_load(st, o, r)) != PG_OK)
		goto out;
	if (r->until == 0)
		r->until = (int64_t)time(NULL);
	for (;;) {
		buf_reset(&q);
		if ((e = backfill_query(r->since, r->until, o->types, r->after,
		    &q)) != PG_OK)
			goto out;
		stripe_resp_free(&sr);
		if ((e = stripe_request(sc, "GET", "/v1/events", q.data, NULL,
		    NULL, &sr)) != PG_OK) {
			snprintf(r->error, sizeof(r->error), "no response from "
			    "Stripe after %d attempt(s): %s", sr.attempts, sr.error);
			goto out;
		}
		if (sr.status != 200) {
			upstream_error(&sr, r);
			e = PG_UPSTREAM;
			goto out;
		}
		json_object_put(page);
		page = json_tokener_parse(sr.body.data ? sr.body.data : "");
		if (page == NULL || !json_object_object_get_ex(page, "data",
		    &data) || !json_object_is_type(data, json_type_array) ||
		    !json_object_object_get_ex(page, "has_more", &more) ||
		    !json_object_is_type(more, json_type_boolean)) {
			snprintf(r->error, sizeof(r->error), "Stripe's answer is "
			    "not a list of events");
			e = PG_UPSTREAM;
			goto out;
		}
		has_more = json_object_get_boolean(more);
		n = json_object_array_length(data);
		memcpy(prev, r->after, sizeof(prev));
		for (i = 0; i < n; i++) {
			item = json_object_array_get_idx(data, i);
			if (!json_object_is_type(item, json_type_object)) {
				r->listed++;
				r->refused++;
				continue;
			}
			if ((e = one_event(st, ring, cfg, o, item, r)) != PG_OK)
				goto out;
		}
		r->pages++;
		/* Kept after every page: a run stopped now carries on here. */
		if (!o->dry_run && (e = pos_save(st, o, r)) != PG_OK)
			goto out;
		if (o->progress != NULL)
			o->progress(r, o->arg);
		if (!has_more)
			break;
		if (n == 0 || strcmp(prev, r->after) == 0) {
			/* has_more without a cursor to go on from. */
			snprintf(r->error, sizeof(r->error), "Stripe's page says "
			    "has_more but names no event to continue after");
			e = PG_UPSTREAM;
			goto out;
		}
	}
	e = o->dry_run ? PG_OK : pos_clear(st);
out:
	json_object_put(page);
	stripe_resp_free(&sr);
	buf_free(&q);
	return e;
}
