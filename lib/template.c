/*
 * payguard - the template engine: escaping by default, sections, nothing
 * else.  The design is kcgi's: "do it the easily-auditable way".  The
 * whole template is in memory; sections are found by scanning for their
 * matching close tag, and rendered recursively with a bounded context
 * stack.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asset.h"
#include "log.h"
#include "template.h"

#define NAME_MAX_LEN	128

struct rctx {
	struct json_object	*stack[TMPL_DEPTH + 1];
	size_t			 depth;		/* entries used */
	size_t			 missing;
	struct buf		*out;
};

enum pg_err
tmpl_escape(struct buf *out, const char *s, size_t n)
{
	const char	*rep;
	size_t		 i, run = 0;
	enum pg_err	 e = PG_OK;

	for (i = 0; i < n && e == PG_OK; i++) {
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '`': rep = "&#96;"; break;
		default: rep = NULL; break;
		}
		if (rep == NULL)
			continue;
		/* Copy the clean run before the special character at once. */
		if (i > run)
			e = buf_append(out, s + run, i - run);
		if (e == PG_OK)
			e = buf_puts(out, rep);
		run = i + 1;
	}
	if (e == PG_OK && n > run)
		e = buf_append(out, s + run, n - run);
	return e;
}

/* Finds "{{" at or after p; NULL when none before end. */
static const char *
find_open(const char *p, const char *end)
{
	for (; p + 1 < end; p++)
		if (p[0] == '{' && p[1] == '{')
			return p;
	return NULL;
}

/* Parses the tag at p ("{{" ... "}}"): *kind is the sigil or 0, the name
 * is trimmed into name.  Returns the byte after "}}", or NULL. */
static const char *
parse_tag(const char *p, const char *end, char *kind, char *name)
{
	const char	*q, *s, *t;
	size_t		 n;

	p += 2;
	for (q = p; q + 1 < end; q++)
		if (q[0] == '}' && q[1] == '}')
			break;
	if (q + 1 >= end)
		return NULL;
	s = p;
	*kind = 0;
	if (s < q && (*s == '#' || *s == '^' || *s == '/' || *s == '!'))
		*kind = *s++;
	if (*kind == '!') {
		name[0] = '\0';
		return q + 2;
	}
	while (s < q && (*s == ' ' || *s == '\t'))
		s++;
	t = q;
	while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
		t--;
	n = (size_t)(t - s);
	if (n == 0 || n >= NAME_MAX_LEN)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return NULL;
	}
	memcpy(name, s, n);
	name[n] = '\0';
	return q + 2;
}

/*
 * From p (just after an opening section tag for name), finds the
 * matching "{{/name}}": *inner_end gets its start, the return value the
 * byte after it.  Sections must nest properly.
 */
static const char *
find_close(const char *p, const char *end, const char *name,
    const char **inner_end)
{
	char		 kind, tname[NAME_MAX_LEN];
	const char	*o, *after;
	size_t		 depth = 0;

	while ((o = find_open(p, end)) != NULL) {
		if ((after = parse_tag(o, end, &kind, tname)) == NULL)
			return NULL;
		if (kind == '#' || kind == '^') {
			if (++depth > TMPL_DEPTH)
				return NULL;
		} else if (kind == '/') {
			if (depth == 0) {
				if (strcmp(tname, name) != 0)
					return NULL;
				*inner_end = o;
				return after;
			}
			depth--;
		}
		p = after;
	}
	return NULL;
}

/* Looks a (possibly dotted) name up, innermost context first. */
static struct json_object *
lookup(struct rctx *r, const char *name, int *found)
{
	struct json_object	*v = NULL;
	char			 seg[NAME_MAX_LEN];
	const char		*p = name, *dot;
	size_t			 i, n;

	*found = 0;
	if (strcmp(name, ".") == 0) {
		*found = 1;
		return r->stack[r->depth - 1];
	}
	dot = strchr(p, '.');
	n = dot ? (size_t)(dot - p) : strlen(p);
	memcpy(seg, p, n);
	seg[n] = '\0';
	for (i = r->depth; i > 0; i--) {
		struct json_object *c = r->stack[i - 1];
		if (json_object_is_type(c, json_type_object) &&
		    json_object_object_get_ex(c, seg, &v))
			break;
	}
	if (i == 0)
		return NULL;
	while (dot != NULL) {
		p = dot + 1;
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		memcpy(seg, p, n);
		seg[n] = '\0';
		if (!json_object_is_type(v, json_type_object) ||
		    !json_object_object_get_ex(v, seg, &v))
			return NULL;
	}
	*found = 1;
	return v;
}

static int
truthy(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return 0;
	case json_type_boolean:
		return json_object_get_boolean(v);
	case json_type_int:
		return json_object_get_int64(v) != 0;
	case json_type_double:
		return json_object_get_double(v) != 0.0;
	case json_type_string:
		return json_object_get_string_len(v) > 0;
	case json_type_array:
		return json_object_array_length(v) > 0;
	default:
		return 1;
	}
}

static enum pg_err
emit_value(struct rctx *r, struct json_object *v)
{
	const char	*s;

	switch (json_object_get_type(v)) {
	case json_type_null:
	case json_type_object:
	case json_type_array:
		return PG_OK;
	case json_type_boolean:
		return buf_puts(r->out, json_object_get_boolean(v) ?
		    "true" : "false");
	case json_type_int:
		return buf_printf(r->out, "%" PRId64, json_object_get_int64(v));
	case json_type_double:
		return buf_printf(r->out, "%.6g", json_object_get_double(v));
	default:
		s = json_object_get_string(v);
		return tmpl_escape(r->out, s, (size_t)json_object_get_string_len(v));
	}
}

static enum pg_err render(struct rctx *, const char *, const char *);

/* Renders a section body once with ctx pushed (ctx NULL: no push). */
static enum pg_err
render_in(struct rctx *r, struct json_object *ctx, const char *p,
    const char *end)
{
	enum pg_err	 e;

	if (ctx == NULL)
		return render(r, p, end);
	if (r->depth > TMPL_DEPTH)
		return PG_EINVAL;
	r->stack[r->depth++] = ctx;
	e = render(r, p, end);
	r->depth--;
	return e;
}

static enum pg_err
section(struct rctx *r, char kind, struct json_object *v, int found,
    const char *p, const char *end)
{
	size_t		 i, n;
	enum pg_err	 e = PG_OK;

	if (kind == '^')
		return (!found || !truthy(v)) ? render(r, p, end) : PG_OK;
	if (!found || !truthy(v))
		return PG_OK;
	if (json_object_is_type(v, json_type_array)) {
		n = json_object_array_length(v);
		for (i = 0; i < n && e == PG_OK; i++)
			e = render_in(r, json_object_array_get_idx(v, i), p, end);
		return e;
	}
	if (json_object_is_type(v, json_type_object))
		return render_in(r, v, p, end);
	return render(r, p, end);
}

static enum pg_err
render(struct rctx *r, const char *p, const char *end)
{
	struct json_object	*v;
	const char		*o, *after, *ie, *next;
	char			 kind, name[NAME_MAX_LEN];
	int			 found;
	enum pg_err		 e;

	while ((o = find_open(p, end)) != NULL) {
		if (o > p && (e = buf_append(r->out, p, (size_t)(o - p))) != PG_OK)
			return e;
		if ((after = parse_tag(o, end, &kind, name)) == NULL)
			return PG_EINVAL;
		p = after;
		if (kind == '!')
			continue;
		if (kind == '/')
			return PG_EINVAL;	/* a close without an open */
		v = lookup(r, name, &found);
		if (!found)
			r->missing++;
		if (kind == 0) {
			if (found && (e = emit_value(r, v)) != PG_OK)
				return e;
			continue;
		}
		if ((next = find_close(after, end, name, &ie)) == NULL)
			return PG_EINVAL;
		if ((e = section(r, kind, v, found, after, ie)) != PG_OK)
			return e;
		p = next;
	}
	if (end > p)
		return buf_append(r->out, p, (size_t)(end - p));
	return PG_OK;
}

enum pg_err
tmpl_render(const char *src, size_t len, struct json_object *data,
    struct buf *out, size_t *missing)
{
	struct rctx	 r;
	struct json_object *empty = NULL;
	enum pg_err	 e;

	memset(&r, 0, sizeof(r));
	r.out = out;
	if (data == NULL && (data = empty = json_object_new_object()) == NULL)
		return PG_ENOMEM;
	r.stack[r.depth++] = data;
	e = render(&r, src, src + len);
	if (missing != NULL)
		*missing = r.missing;
	json_object_put(empty);
	return e;
}

static int
safe_name(const char *n)
{
	size_t	 i;

	if (n[0] == '\0' || n[0] == '.' || strstr(n, "..") != NULL)
		return 0;
	for (i = 0; n[i] != '\0'; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' &&
		    n[i] <= 'Z') || (n[i] >= '0' && n[i] <= '9') ||
		    n[i] == '.' || n[i] == '_' || n[i] == '-'))
			return 0;
	return i < 128;
}

/* tmpl_load; quiet: a missing file is not worth a log line (the
 * caller has a built-in copy). */
static enum pg_err
load(const char *dir, const char *name, char **src, size_t *len, int quiet)
{
	struct stat	 sb;
	char		 path[4096], *p = NULL;
	size_t		 got = 0;
	ssize_t		 r;
	int		 fd = -1, n;
	enum pg_err	 e = PG_EINVAL;

	*src = NULL;
	*len = 0;
	if (dir == NULL || !safe_name(name))
		goto out;
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		goto out;
	e = PG_SYSTEM;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		e = errno == ENOENT ? PG_NOTFOUND : PG_SYSTEM;
		if (!quiet || e != PG_NOTFOUND)
			log_warn("template %s", path);
		goto out;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		goto out;
	/* kcgi's checks: an empty or oversized template is an error. */
	if (sb.st_size <= 0 || (uintmax_t)sb.st_size > TMPL_MAX) {
		e = PG_TOOLARGE;
		log_warnx("template %s: empty or over %u bytes", path, TMPL_MAX);
		goto out;
	}
	if ((p = malloc((size_t)sb.st_size + 1)) == NULL) {
		e = PG_ENOMEM;
		goto out;
	}
	while (got < (size_t)sb.st_size) {
		r = read(fd, p + got, (size_t)sb.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got != (size_t)sb.st_size)
		goto out;
	p[got] = '\0';
	*src = p;
	*len = got;
	p = NULL;
	e = PG_OK;
out:
	free(p);
	if (fd >= 0)
		close(fd);
	return e;
}

enum pg_err
tmpl_load(const char *dir, const char *name, char **src, size_t *len)
{
	return load(dir, name, src, len, 0);
}

enum pg_err
tmpl_open(const char *dir, const char *name, char **src, size_t *len)
{
	const unsigned char	*a;
	size_t			 alen;
	enum pg_err		 e;

	if ((e = load(dir, name, src, len, 1)) != PG_NOTFOUND)
		goto out;
	if ((e = asset_find(name, &a, &alen)) != PG_OK)
		goto out;
	/* A copy, so that every caller frees what it got the same way. */
	e = PG_ENOMEM;
	if ((*src = malloc(alen + 1)) == NULL)
		goto out;
	memcpy(*src, a, alen + 1);
	*len = alen;
	e = PG_OK;
out:
	return e;
}
