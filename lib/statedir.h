/*
 * payguard - safe access to the state directory.
 *
 * The state directory belongs to the web-server user, which also runs the
 * site's own code.  So nothing payguard opens there may follow a symlink
 * (an administrator's root CLI would otherwise write wherever the web user
 * pointed it), and a directory others can write to, or that belongs to
 * someone else, is refused outright.  Every open of a file in the state
 * directory goes through this module.
 */
#ifndef PG_STATEDIR_H
#define PG_STATEDIR_H

#include <sys/types.h>

#include "err.h"

/*
 * Checks that dir is a directory (not a symlink) owned by the running
 * (effective) user and writable by no one else; creates it 0700 when
 * absent.  Returns PG_OK, or PG_CONFIG after logging one line naming the
 * problem (PG_SYSTEM when a system call failed).
 */
enum pg_err	 statedir_check(const char *dir);

/*
 * Opens rel below dir ("logs/security_audit.log") without following a
 * symlink anywhere below dir: each component is opened relative to its
 * parent's descriptor with O_NOFOLLOW, and each directory on the way must
 * pass the checks of statedir_check.  With O_CREAT in flags, missing
 * directories are created 0700.  Returns a descriptor (the caller closes
 * it), or -1 with errno set (ELOOP for a symlink, EPERM for a directory
 * failing the checks).
 */
int		 statedir_open(const char *dir, const char *rel, int flags,
		    mode_t mode);

/*
 * A descriptor of the state directory itself (O_DIRECTORY, O_NOFOLLOW),
 * after the checks of statedir_check: for the *at() calls of a writer
 * that replaces a file by rename (iplist_write).  Returns the descriptor
 * (the caller closes it), or -1 with errno set (EPERM when the checks
 * fail).
 */
int		 statedir_dirfd(const char *dir);
/*
 * When path names a file below dir (textually: dir, a slash, the rest),
 * returns that rest ("logs/security_audit.log"), else NULL.  dir may be
 * NULL (then NULL).
 */
const char	*statedir_below(const char *dir, const char *path);
/*
 * Opens path: when it lies below dir (statedir_below), as statedir_open
 * does, so that no symlink under the state directory is followed;
 * otherwise (a file the administrator named elsewhere) with open(2) and
 * flags as given.  Returns a descriptor (the caller closes it), or -1
 * with errno set.
 */
int		 statedir_open_path(const char *dir, const char *path,
		    int flags, mode_t mode);

/*
 * For files another library opens by path (LMDB's data.mdb/lock.mdb):
 * checks with lstat, right before that open, that path is a regular file
 * owned by the running user, or absent.  Returns PG_OK, or PG_CONFIG
 * after logging one line naming the problem.
 */
enum pg_err	 statedir_check_file(const char *path);

#endif /* PG_STATEDIR_H */
