/*
 * payguard - the skeleton every FastCGI program shares: configuration,
 * key ring and store loaded once before the first accept, then the
 * accept loop (FastCGI, or one request as plain CGI) with the store's
 * background sweep between requests.
 */
#ifndef PG_APP_H
#define PG_APP_H

#include <json-c/json.h>

#include "audit.h"
#include "buf.h"
#include "config.h"
#include "crypto.h"
#include "event.h"
#include "http.h"
#include "metrics.h"
#include "store.h"

/* app_setup flag beside the CFG_NEED_* ones: no key ring (audit.cgi). */
#define APP_NO_KEYRING	0x8000u

struct app_core {
	struct config	 cfg;
	int		 ready;	/* configuration and store usable */
	struct store	*st;
	struct keyring	 ring;
	struct audit_log alog;	/* the audit log, kept open */
	uint64_t	 last_ckpt;	/* ms of the last aindex_checkpoint */
	size_t		 sweep;	/* expired records swept between requests */
	int		 settle_audit;	/* settle pending accept records
					   (auditpend.h) between requests */
	uint64_t	 last_settle;	/* ms of the last app_settle_audit */
	int		 once;		/* plain CGI: this one request only */
	struct buf	 owed;		/* ids, NUL-terminated, of accept
					   markers this process owes whose
					   records are written (app_recorded) */
	size_t		 nowed;		/* ids in owed */
};

/*
 * Accept markers (auditpend.h) whose records are written are removed by
 * their owner in batches of APP_OWED_MAX, one write transaction each,
 * and whatever is left when the settling timer comes round or the loop
 * ends; as plain CGI, right after the response.  Without this a busy
 * process left every marker to the settling (256 per process every
 * 10 s) and they piled up by thousands a second, each in a random leaf
 * of a growing tree that every new event's commit then copied.
 */
#define APP_OWED_MAX	64
/* The accept record of id (a new event's) is in the log: its marker is
 * this process's to remove, after the response. */
void		 app_recorded(struct app_core *c, const char *id);

/*
 * One way a program refuses a request: the Stripe-shaped error (status,
 * type, code, message) and its audit record (type, severity).  Each
 * program keeps a table of these indexed by its own enum.
 */
struct app_refusal {
	int		 status;
	const char	*type;
	const char	*code;
	const char	*message;
	enum aevent	 atype;
	enum audit_sev	 sev;
};

/* What one refusal says beyond its row; 0 / NULL: the row's. */
struct app_refusal_ext {
	int		 status;
	const char	*code;
	const char	*param;
	const char	*message;
};

/* Per-request handler of a program; app is the program's own state. */
typedef void (*app_handle_fn)(void *app, struct http_req *req);

/*
 * Sets the process up (logging name, SIGPIPE ignored, umask 077) and
 * loads the configuration (need: CFG_NEED_*), the key ring (unless
 * APP_NO_KEYRING) and the store into c.  Returns 0, or -1 after logging one "refusing to serve: ..."
 * line that names the variable, never its value; c->ready tells which.
 */
int		 app_setup(const char *prog, struct app_core *c,
		    unsigned int need);
/* Settles pending accept records now (webhook.fcgi: at start). */
void		 app_settle_audit(struct app_core *c);
/*
 * Serves requests until there are no more; returns the exit status.
 * Requests are answered by fn even when c is not ready (with a generic
 * 500), so that the server sees a working program.
 */
int		 app_serve(struct app_core *c, app_handle_fn fn, void *app);
/*
 * Answers with the refusal row, overridden by what x (may be NULL) sets:
 * the Stripe-shaped error into resp, and its code and status added to
 * *details (created when NULL).  out gets the refusal as answered, for
 * the caller's audit record.
 */
void		 app_refuse(struct http_resp *resp, const struct app_refusal *row,
		    const struct app_refusal_ext *x, struct json_object **details,
		    struct app_refusal *out);
/*
 * Fills ctx for one request: c's state dir, store and open log, req's
 * user agent and request id, source_ip (NULL: req's remote address) and
 * identity (pointers borrowed).
 */
void		 app_audit_ctx(struct app_core *c, const struct http_req *req,
		    const char *source_ip, const char *identity,
		    struct audit_ctx *ctx);
/*
 * Card data found where it must never be: a card number in one of req's
 * headers (HTTP_*: User-Agent, Referer, ...) and, with url, in its URL
 * (REQUEST_URI, PATH_INFO, QUERY_STRING: what server logs, proxies and
 * browser histories keep).  It has been exposed on the way here whatever
 * the program answers, so the caller records a data_exposure (HIGH) with
 * the details returned: {"where": "url"|"header", "header": NAME (a
 * header only), "kind": "pan"} for the first place found, URL first.
 * Returns NULL when there is none (or out of memory); the caller owns
 * the object.
 */
struct json_object *app_exposure(const struct http_req *req, int url);
/*
 * Reads the gauges the metrics show (inbox backlog and dead letters, the
 * audit chain's length) into g, for metrics_render.
 */
enum pg_err	 app_metrics_gauges(struct store *st, struct metrics_gauges *g);
/* Releases c (wipes the key ring, closes the store). */
void		 app_free(struct app_core *c);

#endif /* PG_APP_H */
