/*
 * payguard - the inbox's record format: the clear header of a sealed
 * inbox record and the outcomes of its operations, shared by the inbox
 * on LMDB (inbox.c) and on Redis (inbox_redis.c).
 */
#ifndef PG_INBOX_REC_H
#define PG_INBOX_REC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The header version written; older ones are upgraded on read. */
#define INBOX_HDR_VERSION	2

enum ev_state {
	EV_PENDING = 0,	/* waiting for (another) delivery attempt */
	EV_DELIVERING,	/* claimed by a process until lease_ms */
	EV_DELIVERED,	/* the handler exited 0 */
	EV_DEAD,	/* failed max_attempts times: dead letter */
	EV__MAX
};

/* How an event reached the inbox: recorded in its header and the audit,
 * passed to the handler as PAYGUARD_EVENT_SOURCE. */
enum ev_source {
	EV_SRC_WEBHOOK = 0,	/* a signed webhook from Stripe */
	EV_SRC_BACKFILL,	/* listed by `payguard events backfill` */
	EV_SRC__MAX
};

struct ev_hdr {
	uint32_t	 version;
	uint32_t	 state;
	uint32_t	 attempts;
	int32_t		 livemode;
	int32_t		 owner_pid;
	int32_t		 last_status;	/* handler exit status, -1 none */
	uint64_t	 received_ms;
	uint64_t	 queue_due_ms;	/* 0 when not in NS_QUEUE */
	uint64_t	 lease_ms;	/* DELIVERING: claim valid until */
	uint64_t	 delivered_ms;
	int64_t		 created;
	char		 type[128];
	char		 last_error[96];
	uint32_t	 source;	/* enum ev_source (version 2 on) */
	uint32_t	 spare;
};

enum inbox_outcome {
	INBOX_NEW = 0,		/* first time: stored (and claimed if asked) */
	INBOX_DUPLICATE,	/* seen before; nothing to do */
	INBOX_RECLAIMED,	/* seen before, undelivered, now claimed */
	INBOX_IN_PROGRESS	/* another process is delivering it now */
};

/* Reads the clear header of a sealed inbox record into h (older header
 * versions upgraded).  PG_STORE when rec is not one. */
enum pg_err	 inbox_read_hdr(const void *rec, size_t reclen,
		    struct ev_hdr *h);
/* Returns "pending", "delivering", "delivered" or "dead". */
const char	*ev_state_name(uint32_t s);
/* Returns "webhook" or "backfill" ("unknown" out of range). */
const char	*ev_source_name(uint32_t s);

struct event_info;
struct json_object;

/* inbox_accept_detail: also event_kind, account and attempts, as
 * webhook.fcgi records them. */
#define INBOX_DETAIL_WEBHOOK	0x1u

/*
 * The one builder of an accepted event's audit-record details (webhook
 * accept and replay, backfill, the settler's recovered record): returns
 * a new object the caller owns (NULL when out of memory) holding, in this
 * order, event_type, [event_kind, account (when not empty),] livemode,
 * state, [attempts,] source.  Type and livemode come from ev, the event
 * as received, or from h when ev is NULL; with h NULL (the event is no
 * longer in the inbox) only source.  The bracketed fields need
 * INBOX_DETAIL_WEBHOOK in flags and both ev and h.
 */
struct json_object *inbox_accept_detail(const struct event_info *ev,
		    const struct ev_hdr *h, uint32_t source,
		    unsigned int flags);

typedef int (*inbox_list_fn)(const char *id, const struct ev_hdr *h,
		    void *arg);

#endif /* PG_INBOX_REC_H */
