/*
 * payguard - the inbox's record format (inbox_rec.h).
 */
#include <string.h>

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
