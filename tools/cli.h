/*
 * payguard CLI - each command group lives in its own tools/cmd_*.c and is
 * dispatched from tools/payguard.c.  A command returns the process exit
 * status: 0 success, 1 failure, 2 usage error (alerts: 2 = fired).
 */
#ifndef PG_CLI_H
#define PG_CLI_H

#include "audit.h"
#include "config.h"
#include "crypto.h"
#include "store.h"

typedef int (*cli_fn)(int argc, char **argv, const struct config *cfg);

/* tools/cmd_webhook.c */
int	cmd_sign(int, char **, const struct config *);
int	cmd_inbox(int, char **, const struct config *);
int	cmd_worker(int, char **, const struct config *);
int	cmd_config(int, char **, const struct config *);
int	cmd_forward_secret(int, char **, const struct config *);
/* tools/cmd_crypto.c */
int	cmd_keygen(int, char **, const struct config *);
int	cmd_encrypt(int, char **, const struct config *);
int	cmd_decrypt(int, char **, const struct config *);
int	cmd_rotate_keys(int, char **, const struct config *);
int	cmd_mask(int, char **, const struct config *);

/* tools/cmd_events.c */
int	cmd_events(int, char **, const struct config *);
/* tools/cmd_metrics.c */
int	cmd_metrics(int, char **, const struct config *);
/* tools/cmd_token.c */
int	cmd_token(int, char **, const struct config *);
/* tools/cmd_audit.c */
int	cmd_audit(int, char **, const struct config *);
int	cmd_alerts(int, char **, const struct config *);

/* Opens the store and key ring of cfg; prints the reason and returns -1
 * on failure.  Release with store_close and keyring_wipe. */
int	cli_open_state(const struct config *cfg, struct store **st,
	    struct keyring *ring);
/* With PAYGUARD_STORE=redis, attaches the shared store to st (opened on
 * LMDB alone), so that the inbox, tokens and idempotency records are read
 * where the programs keep them.  0 (also without Redis), or -1 with one
 * line in err naming the variable. */
int	cli_attach_shared(const struct config *cfg, struct store *st,
	    char *err, size_t errsz);
/* tools/cmd_ips.c */
int	cmd_ips(int, char **, const struct config *);
/* tools/cmd_doctor.c */
int	cmd_doctor(int, char **, const struct config *);
/* tools/cmd_store.c */
int	cmd_store(int, char **, const struct config *);

/* What the CLI's audit records say of their author. */
struct cli_author {
	char	 who[80];	/* "cli:<login name>" */
};
/*
 * Fills ctx for a record the CLI writes itself: source "local", user
 * agent "payguard-cli", identity as given or, when NULL, "cli:<login
 * name>" kept in *au (which must outlive ctx).  st and log may be NULL.
 */
void	cli_audit_ctx(const struct config *cfg, struct store *st,
	    struct audit_log *log, const char *identity, struct cli_author *au,
	    struct audit_ctx *ctx);

/* Reads all of stdin (at most max bytes) into a malloc'd buffer. */
int	cli_read_stdin(size_t max, char **out, size_t *len);

#endif /* PG_CLI_H */
