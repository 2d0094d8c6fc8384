/*
 * payguard - safe access to the state directory (see statedir.h).
 *
 * Paths are walked one component at a time with openat(O_NOFOLLOW), so a
 * symlink planted anywhere below the state directory makes the open fail
 * (ELOOP) instead of redirecting it; the state directory itself is checked
 * with lstat and opened O_NOFOLLOW.  Ownership is compared with the
 * effective uid: the programs run as the state's owner, and the CLI drops
 * to that owner before it gets here (tools/payguard.c).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "statedir.h"

/* 0 when sb (of what) is a directory fit to hold state, else -1 and one
 * log line naming the problem. */
static int
dir_ok(const char *what, const struct stat *sb)
{
	int	 rc = -1;

	if (!S_ISDIR(sb->st_mode))
		log_warnx("state directory %s: not a directory", what);
	else if (sb->st_uid != geteuid())
		log_warnx("state directory %s: owned by uid %lu, not by the "
		    "running user (uid %lu): refused", what,
		    (unsigned long)sb->st_uid, (unsigned long)geteuid());
	else if ((sb->st_mode & (S_IWGRP | S_IWOTH)) != 0)
		log_warnx("state directory %s: group- or world-writable (mode "
		    "%04o): refused, make it 0700", what,
		    (unsigned)(sb->st_mode & 07777));
	else
		rc = 0;
	return rc;
}

enum pg_err
statedir_check(const char *dir)
{
	struct stat	 sb;
	enum pg_err	 e = PG_CONFIG;

	if (dir == NULL || dir[0] == '\0') {
		log_warnx("no state directory configured");
		goto out;
	}
	if (lstat(dir, &sb) != 0) {
		if (errno != ENOENT || (mkdir(dir, 0700) != 0 &&
		    errno != EEXIST) || lstat(dir, &sb) != 0) {
			log_warn("state directory %s", dir);
			e = PG_SYSTEM;
			goto out;
		}
	}
	if (S_ISLNK(sb.st_mode)) {
		log_warnx("state directory %s: is a symlink: refused, name "
		    "the directory itself", dir);
		goto out;
	}
	if (dir_ok(dir, &sb) != 0)
		goto out;
	e = PG_OK;
out:
	return e;
}

int
statedir_dirfd(const char *dir)
{
	struct stat	 sb;
	int		 fd = -1;

	if (statedir_check(dir) != PG_OK) {
		errno = EPERM;
		goto out;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		goto out;
	/* Checked by name above; the descriptor is what counts (a rename
	 * between the lstat and the open). */
	if (fstat(fd, &sb) != 0 || dir_ok(dir, &sb) != 0) {
		close(fd);
		fd = -1;
		errno = EPERM;
	}
out:
	return fd;
}

const char *
statedir_below(const char *dir, const char *path)
{
	size_t		 n;
	const char	*rel = NULL;

	if (dir == NULL || path == NULL)
		goto out;
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n > 0 && strncmp(path, dir, n) == 0 && path[n] == '/') {
		rel = path + n;
		while (*rel == '/')
			rel++;
		if (*rel == '\0')
			rel = NULL;
	}
out:
	return rel;
}

int
statedir_open_path(const char *dir, const char *path, int flags,
    mode_t mode)
{
	const char	*rel = statedir_below(dir, path);

	if (rel != NULL)
		return statedir_open(dir, rel, flags, mode);
	return open(path, flags | O_CLOEXEC, mode);
}

int
statedir_open(const char *dir, const char *rel, int flags, mode_t mode)
{
	char		 comp[NAME_MAX + 1];
	const char	*p = rel, *slash;
	struct stat	 sb;
	size_t		 n;
	int		 dfd = -1, nfd, fd = -1, saved;

	if ((dfd = statedir_dirfd(dir)) < 0)
		goto out;
	/* Every directory between dir and the file. */
	while ((slash = strchr(p, '/')) != NULL) {
		n = (size_t)(slash - p);
		if (n == 0 || n > NAME_MAX || (n <= 2 && p[0] == '.' &&
		    (n == 1 || p[1] == '.'))) {
			errno = EINVAL;
			goto out;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		if ((flags & O_CREAT) && mkdirat(dfd, comp, 0700) != 0 &&
		    errno != EEXIST)
			goto out;
		if ((nfd = openat(dfd, comp, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) < 0)
			goto out;
		close(dfd);
		dfd = nfd;
		if (fstat(dfd, &sb) != 0)
			goto out;
		if (dir_ok(comp, &sb) != 0) {
			errno = EPERM;
			goto out;
		}
		p = slash + 1;
	}
	fd = openat(dfd, p, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd >= 0 && (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_uid != geteuid())) {
		/* A hard link to someone else's file, a fifo, a device. */
		log_warnx("%s/%s: not a regular file owned by the running "
		    "user: refused", dir, rel);
		close(fd);
		fd = -1;
		errno = EPERM;
	}
out:
	saved = errno;
	if (dfd >= 0)
		close(dfd);
	errno = saved;
	return fd;
}

enum pg_err
statedir_check_file(const char *path)
{
	struct stat	 sb;
	enum pg_err	 e = PG_CONFIG;

	if (lstat(path, &sb) != 0) {
		if (errno == ENOENT)
			e = PG_OK;
		else {
			log_warn("%s", path);
			e = PG_SYSTEM;
		}
	} else if (!S_ISREG(sb.st_mode))
		log_warnx("%s: not a regular file (a symlink?): refused", path);
	else if (sb.st_uid != geteuid())
		log_warnx("%s: owned by uid %lu, not by the running user: "
		    "refused", path, (unsigned long)sb.st_uid);
	else
		e = PG_OK;
	return e;
}
