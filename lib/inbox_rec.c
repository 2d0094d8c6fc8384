/*
 * payguard - the inbox's record format (inbox_rec.h).
 */
#include <string.h>

#include <json-c/json.h>

#include "event.h"
#include "inbox_rec.h"
#include "seal.h"

/* Version 1 headers lacked the trailing source and spare fields: they
 * read as webhook events. */
#define HDR_V1_SIZE	(sizeof(struct ev_hdr) - 2 * sizeof(uint32_t))

static const char *const state_names[EV__MAX] = {
	"pending",	/* EV_PENDING */
	"delivering",	/* EV_DELIVERING */
	"delivered",	/* EV_DELIVERED */
	"dead",		/* EV_DEAD */
};

const char *
ev_state_name(uint32_t s)
{
	return s < EV__MAX ? state_names[s] : "unknown";
}

static const char *const source_names[EV_SRC__MAX] = {
	"webhook",	/* EV_SRC_WEBHOOK */
	"backfill",	/* EV_SRC_BACKFILL */
};

const char *
ev_source_name(uint32_t s)
{
	return s < EV_SRC__MAX ? source_names[s] : "unknown";
}

static void
add_str(struct json_object *d, const char *k, const char *v)
{
	json_object_object_add(d, k, json_object_new_string(v));
}

struct json_object *
inbox_accept_detail(const struct event_info *ev, const struct ev_hdr *h,
    uint32_t source, unsigned int flags)
{
	struct json_object *d;
	int		 web = (flags & INBOX_DETAIL_WEBHOOK) && ev != NULL;

	if ((d = json_object_new_object()) == NULL)
		return NULL;
	if (h != NULL) {
		add_str(d, "event_type", ev != NULL ? ev->type : h->type);
		if (web) {
			add_str(d, "event_kind", event_kind_name(ev->kind));
			if (ev->account[0] != '\0')
				add_str(d, "account", ev->account);
		}
		json_object_object_add(d, "livemode", json_object_new_boolean(
		    ev != NULL ? ev->livemode : h->livemode));
		add_str(d, "state", ev_state_name(h->state));
		if (web)
			json_object_object_add(d, "attempts",
			    json_object_new_int((int)h->attempts));
	}
	add_str(d, "source", ev_source_name(source));
	return d;
}

/* Reads the header of a stored record into h. */
enum pg_err
inbox_read_hdr(const void *rec, size_t reclen, struct ev_hdr *h)
{
	const void	*hdr;
	const char	*tok;
	size_t		 hlen, toklen;

	if (seal_split(rec, reclen, &hdr, &hlen, &tok, &toklen) != PG_OK)
		return PG_STORE;
	memset(h, 0, sizeof(*h));
	if (hlen == sizeof(*h)) {
		memcpy(h, hdr, sizeof(*h));
		return h->version == INBOX_HDR_VERSION ? PG_OK : PG_STORE;
	}
	if (hlen != HDR_V1_SIZE)
		return PG_STORE;
	/* Rewritten as version 2 by the next header update. */
	memcpy(h, hdr, HDR_V1_SIZE);
	if (h->version != 1)
		return PG_STORE;
	h->version = INBOX_HDR_VERSION;
	h->source = EV_SRC_WEBHOOK;
	return PG_OK;
}
