/*
 * payguard - the skeleton every FastCGI program shares: configuration,
 * key ring and store loaded once before the first accept, then the
 * accept loop (FastCGI, or one request as plain CGI) with the store's
 * background sweep between requests.
 */
#ifndef PG_APP_H
#define PG_APP_H

#include "audit.h"
#include "config.h"
#include "crypto.h"
#include "http.h"
#include "store.h"

struct app_core {
	struct config	 cfg;
	int		 ready;	/* configuration and store usable */
	struct store	*st;
	struct keyring	 ring;
	struct audit_log alog;	/* the audit log, kept open */
	uint64_t	 last_ckpt;	/* ms of the last aindex_checkpoint */
	int		 settle_audit;	/* settle pending accept records
					   (auditpend.h) between requests */
};

/* Per-request handler of a program; app is the program's own state. */
typedef void (*app_handle_fn)(void *app, struct http_req *req);

/*
 * Sets the process up (logging name, SIGPIPE ignored, umask 077) and
 * loads the configuration (need: CFG_NEED_*), the key ring and the store
 * into c.  Returns 0, or -1 after logging one "refusing to serve: ..."
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
/* Releases c (wipes the key ring, closes the store). */
void		 app_free(struct app_core *c);

#endif /* PG_APP_H */
