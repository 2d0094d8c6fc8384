/*
 * payguard - Stripe's webhook source-address list: where the receiver
 * finds it, and how `payguard ips update` replaces it.
 *
 * Search order (the first that exists wins; a file on disk always beats
 * the built-in copy; a file in the state directory is never read through
 * a symlink, see statedir.h):
 *   1. PAYGUARD_WEBHOOK_IPS_FILE when set (it must load: no fallback)
 *   2. STATE_DIR/stripe-webhook-ips.txt, written by `payguard ips update`
 *      (the state dir is the one place a hardened service may write)
 *   3. DATA_DIR/stripe-webhook-ips.txt, the installed copy
 *   4. the list built into the program from data/ (asset.h)
 */
#ifndef PG_IPLIST_H
#define PG_IPLIST_H

#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "ipallow.h"

#define IPLIST_NAME	"stripe-webhook-ips.txt"
#define IPLIST_JSON_MAX	(1u << 20)	/* bytes of Stripe's JSON we accept */

/*
 * Appends the text of the list in effect to text, following the search
 * order; from (fromsz bytes) gets the file used, or "built-in".
 * PG_NOTFOUND / PG_SYSTEM when the configured file (1) or the first
 * existing file cannot be read.
 */
enum pg_err	 iplist_read(const struct config *c, struct buf *text,
		    char *from, size_t fromsz);
/*
 * Loads the list into set, following the search order.  from (fromsz
 * bytes) gets the file used, or "built-in".  PG_NOTFOUND / PG_SYSTEM /
 * PG_EINVAL when the configured file (1) or the first existing file is
 * unusable: a broken list on disk is an error, never silently skipped.
 */
enum pg_err	 iplist_load(const struct config *c, struct ipset *set,
		    char *from, size_t fromsz);
/*
 * Writes into out the path `ips update` replaces: PAYGUARD_WEBHOOK_IPS_FILE
 * when set, else STATE_DIR/stripe-webhook-ips.txt.  PG_TOOLARGE if it
 * does not fit.
 */
enum pg_err	 iplist_update_path(const struct config *c, char *out,
		    size_t outsz);
/*
 * Validates Stripe's JSON ({"WEBHOOKS": ["ip", ...]}, len bytes) and
 * appends the list file's text to out (a header comment, then one entry
 * per line, sorted, without duplicates); *n gets the number of entries.
 * PG_EINVAL when it does not parse, has no WEBHOOKS array, an entry is
 * not an IP address or CIDR, or the array is empty; PG_TOOLARGE past
 * IPLIST_JSON_MAX bytes or IP_MAX_ENTRIES entries.
 */
enum pg_err	 iplist_from_json(const char *json, size_t len,
		    const char *source, struct buf *out, size_t *n);
/*
 * Entries (one per line, comments and blanks dropped) of a list text, as
 * a NULL-terminated malloc'd array of malloc'd strings in *entries (free
 * with iplist_entries_free), count in *n.
 */
enum pg_err	 iplist_entries(const char *text, char ***entries, size_t *n);
/* Frees what iplist_entries returned.  NULL-safe. */
void		 iplist_entries_free(char **entries);
#define IPLIST_URL	"https://stripe.com/files/ips/ips_webhooks.json"

/*
 * GETs url (http or https only, at most 3 redirects, 10 s to connect,
 * 30 s in all) into out, which must be bounded (buf_init max).  PG_OK only
 * for a 200 answer; PG_UPSTREAM (connection, TLS, other status),
 * PG_TIMEOUT, PG_TOOLARGE (past out's ceiling) otherwise, with one line
 * for humans in err (errsz bytes).
 */
enum pg_err	 iplist_fetch(const char *url, struct buf *out, char *err,
		    size_t errsz);
/*
 * Replaces path with text (len bytes) atomically: a temporary file in
 * the same directory, fsync, rename, fsync of the directory, all relative
 * to one directory descriptor (for a file in state_dir, which may be
 * NULL, statedir_dirfd's: no symlink there is followed).  Mode 0644.
 * The old file is untouched on any failure.
 */
enum pg_err	 iplist_write(const char *state_dir, const char *path,
		    const char *text, size_t len);

#endif /* PG_IPLIST_H */
