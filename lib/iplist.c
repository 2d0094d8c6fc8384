/*
 * payguard - Stripe's webhook IP list: search order, Stripe's JSON,
 * atomic replacement (see iplist.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "asset.h"
#include "curlrt.h"
#include "forkpage.h"
#include "iplist.h"
#include "log.h"
#include "statedir.h"

#define LIST_MAX	(1u << 20)	/* bytes of a list file */

/*
 * Appends the file at path to b.  A path below state_dir (may be NULL) is
 * opened as statedir_open_path does: the web user owns that directory,
 * and a symlink it planted there is refused, not followed.  PG_NOTFOUND
 * when it does not exist.
 */
static enum pg_err
read_file(const char *state_dir, const char *path, struct buf *b)
{
	char		 chunk[4096];
	ssize_t		 r;
	int		 fd;
	struct stat	 sb;
	enum pg_err	 e = PG_OK;

	/* A read never creates the state directory (statedir_open would):
	 * without one there is no list in it. */
	if (statedir_below(state_dir, path) != NULL &&
	    lstat(state_dir, &sb) != 0 && errno == ENOENT)
		return PG_NOTFOUND;
	if ((fd = statedir_open_path(state_dir, path, O_RDONLY, 0)) < 0) {
		if (errno == ENOENT)
			return PG_NOTFOUND;
		if (errno == ELOOP)
			log_warnx("%s: a symlink: refused, never followed",
			    path);
		else
			log_warn("%s", path);
		return PG_SYSTEM;
	}
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = PG_SYSTEM;
			break;
		}
		if ((e = buf_append(b, chunk, (size_t)r)) != PG_OK)
			break;
	}
	close(fd);
	return e;
}

enum pg_err
iplist_read(const struct config *c, struct buf *text, char *from,
    size_t fromsz)
{
	const unsigned char	*a;
	const char		*dirs[2];
	char			 path[4096];
	size_t			 alen, i;
	enum pg_err		 e;

	snprintf(from, fromsz, "%s", "built-in");
	if (c->wh_ips_file != NULL) {
		snprintf(from, fromsz, "%s", c->wh_ips_file);
		return read_file(c->state_dir, c->wh_ips_file, text);
	}
	dirs[0] = c->state_dir;
	dirs[1] = c->data_dir;
	for (i = 0; i < 2; i++) {
		if (dirs[i] == NULL)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dirs[i],
		    IPLIST_NAME) >= sizeof(path))
			continue;
		if ((e = read_file(c->state_dir, path, text)) == PG_NOTFOUND)
			continue;
		snprintf(from, fromsz, "%s", path);
		return e;
	}
	if ((e = asset_find(IPLIST_NAME, &a, &alen)) != PG_OK)
		return e;
	return buf_append(text, a, alen);
}

enum pg_err
iplist_load(const struct config *c, struct ipset *set, char *from,
    size_t fromsz)
{
	struct buf	 b;
	size_t		 bad;
	enum pg_err	 e;

	buf_init(&b, LIST_MAX);
	if ((e = iplist_read(c, &b, from, fromsz)) == PG_OK)
		e = ipset_parse(b.data ? b.data : "", set, &bad);
	buf_free(&b);
	return e;
}

enum pg_err
iplist_update_path(const struct config *c, char *out, size_t outsz)
{
	int	 n;

	if (c->wh_ips_file != NULL)
		n = snprintf(out, outsz, "%s", c->wh_ips_file);
	else
		n = snprintf(out, outsz, "%s/%s",
		    c->state_dir ? c->state_dir : ".", IPLIST_NAME);
	return n < 0 || (size_t)n >= outsz ? PG_TOOLARGE : PG_OK;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

enum pg_err
iplist_from_json(const char *json, size_t len, const char *source,
    struct buf *out, size_t *n)
{
	struct json_tokener	*tok = NULL;
	struct json_object	*root = NULL, *arr;
	struct ipset		*one = NULL;
	const char		*v[IP_MAX_ENTRIES];
	size_t			 cnt, i, k = 0, bad;
	enum pg_err		 e = PG_TOOLARGE;

	*n = 0;
	if (len > IPLIST_JSON_MAX)
		goto out;
	e = PG_ENOMEM;
	if ((tok = json_tokener_new()) == NULL ||
	    (one = malloc(sizeof(*one))) == NULL)
		goto out;
	e = PG_EINVAL;
	root = json_tokener_parse_ex(tok, json, (int)len);
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success)
		goto out;
	/* Nothing but white space after the object. */
	for (i = json_tokener_get_parse_end(tok); i < len; i++)
		if (strchr(" \t\r\n", json[i]) == NULL || json[i] == '\0')
			goto out;
	if (!json_object_object_get_ex(root, "WEBHOOKS", &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    (cnt = json_object_array_length(arr)) == 0)
		goto out;
	e = PG_TOOLARGE;
	if (cnt > IP_MAX_ENTRIES)
		goto out;
	e = PG_EINVAL;
	for (i = 0; i < cnt; i++) {
		struct json_object *s = json_object_array_get_idx(arr, i);
		const char *str;
		if (!json_object_is_type(s, json_type_string))
			goto out;
		str = json_object_get_string(s);
		/* One entry, exactly: no separators smuggling in more. */
		if (str[0] == '\0' || strpbrk(str, " \t\r\n,#") != NULL ||
		    ipset_parse(str, one, &bad) != PG_OK || one->n != 1)
			goto out;
		v[k++] = str;
	}
	qsort(v, k, sizeof(v[0]), cmp_str);
	e = buf_printf(out, "# Stripe webhook source addresses, written by "
	    "`payguard ips update`\n# from %s; one address or CIDR per line.\n",
	    source);
	for (i = 0; e == PG_OK && i < k; i++) {
		if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
			continue;
		if ((e = buf_printf(out, "%s\n", v[i])) == PG_OK)
			(*n)++;
	}
out:
	json_object_put(root);
	if (tok != NULL)
		json_tokener_free(tok);
	free(one);
	return e;
}

void
iplist_entries_free(char **entries)
{
	size_t	 i;

	if (entries == NULL)
		return;
	for (i = 0; entries[i] != NULL; i++)
		free(entries[i]);
	free(entries);
}

enum pg_err
iplist_entries(const char *text, char ***entries, size_t *n)
{
	char		**v = NULL, **nv;
	const char	 *p = text, *end;
	size_t		  cnt = 0, cap = 0, l;
	enum pg_err	  e = PG_OK;

	*entries = NULL;
	*n = 0;
	while (*p != '\0') {
		end = p + strcspn(p, "\n");
		/* Trim blanks and a comment. */
		l = strcspn(p, "#\n");
		while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t' ||
		    p[l - 1] == '\r'))
			l--;
		while (l > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			l--;
		}
		if (l > 0) {
			if (cnt + 2 > cap) {
				cap = cap ? cap * 2 : 64;
				if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
					e = PG_ENOMEM;
					break;
				}
				v = nv;
			}
			if ((v[cnt] = strndup(p, l)) == NULL) {
				e = PG_ENOMEM;
				break;
			}
			v[++cnt] = NULL;
		}
		p = *end == '\n' ? end + 1 : end;
	}
	if (e == PG_OK && v == NULL && (v = calloc(1, sizeof(*v))) == NULL)
		e = PG_ENOMEM;
	if (e != PG_OK) {
		if (v != NULL)
			v[cnt] = NULL;
		iplist_entries_free(v);
		return e;
	}
	*entries = v;
	*n = cnt;
	return PG_OK;
}

/*
 * A descriptor of the directory holding path, its last component in
 * *base.  The state directory itself comes from statedir_dirfd (checked,
 * never a symlink); any other directory is the administrator's choice,
 * opened without following a symlink in its last component.
 */
static int
parent_fd(const char *state_dir, const char *path, const char **base)
{
	char		 dir[4096];
	const char	*rel = statedir_below(state_dir, path), *slash;
	size_t		 n;

	if ((slash = strrchr(path, '/')) == NULL) {
		*base = path;
		return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	*base = slash + 1;
	if (rel != NULL && strchr(rel, '/') == NULL)
		return statedir_dirfd(state_dir);
	n = (size_t)(slash - path);
	if (n == 0)
		n = 1;		/* "/file" */
	if (n >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, n);
	dir[n] = '\0';
	return open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

enum pg_err
iplist_write(const char *state_dir, const char *path, const char *text,
    size_t len)
{
	char		 tmp[NAME_MAX + 1];
	const char	*base = NULL;
	size_t		 off = 0;
	ssize_t		 w;
	int		 fd = -1, dfd, n, made = 0;
	enum pg_err	 e = PG_SYSTEM;

	/* Everything relative to one directory descriptor: no path is
	 * resolved twice, so nothing can be swapped in between. */
	if ((dfd = parent_fd(state_dir, path, &base)) < 0)
		goto out;
	n = snprintf(tmp, sizeof(tmp), ".%s.tmp.%ld", base,
	    (long)forkpage_pid());
	if (n < 0 || (size_t)n >= sizeof(tmp) || base[0] == '\0') {
		e = PG_TOOLARGE;
		goto out;
	}
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) < 0)
		goto out;
	made = 1;
	/* umask must not narrow it: the web server reads this file. */
	if (fchmod(fd, 0644) != 0)
		goto out;
	while (off < len) {
		if ((w = write(fd, text + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	/* rename replaces a symlink planted at base, never follows it. */
	if (renameat(dfd, tmp, dfd, base) != 0)
		goto out;
	made = 0;
	/* The rename is durable once the directory is. */
	(void)fsync(dfd);
	e = PG_OK;
out:
	if (fd >= 0)
		close(fd);
	if (made)
		unlinkat(dfd, tmp, 0);
	if (dfd >= 0)
		close(dfd);
	return e;
}

/* libcurl write callback: into the bounded buffer, stop past its ceiling. */
static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct buf	*b = arg;

	if (buf_append(b, p, size * n) != PG_OK)
		return 0;	/* CURLE_WRITE_ERROR */
	return size * n;
}

enum pg_err
iplist_fetch(const char *url, struct buf *out, char *err, size_t errsz)
{
	const struct curlrt *cu = curlrt();
	CURL		*c;
	CURLcode	 cc;
	long		 status = 0;
	enum pg_err	 e = PG_ENOMEM;

	snprintf(err, errsz, "out of memory");
	if (cu == NULL) {
		snprintf(err, errsz, "libcurl cannot be loaded");
		return PG_SYSTEM;
	}
	if ((c = cu->easy_init()) == NULL)
		return e;
	cu->easy_setopt(c, CURLOPT_URL, url);
	cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	cu->easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	cu->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	cu->easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
	cu->easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	cu->easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cu->easy_setopt(c, CURLOPT_USERAGENT, "payguard-ips-update/1");
	cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	cu->easy_setopt(c, CURLOPT_WRITEDATA, out);
	cc = cu->easy_perform(c);
	cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	cu->easy_cleanup(c);
	/* libcurl's codes end here: callers see pg_err and one line. */
	if (cc == CURLE_WRITE_ERROR) {
		e = PG_TOOLARGE;
		snprintf(err, errsz, "the answer is larger than %zu bytes",
		    out->max);
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		e = PG_TIMEOUT;
		snprintf(err, errsz, "timed out");
	} else if (cc != CURLE_OK) {
		e = PG_UPSTREAM;
		snprintf(err, errsz, "%s", cu->easy_strerror(cc));
	} else if (status != 200) {
		e = PG_UPSTREAM;
		snprintf(err, errsz, "HTTP status %ld", status);
	} else {
		e = PG_OK;
		err[0] = '\0';
	}
	return e;
}
