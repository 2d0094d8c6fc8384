/*
 * payguard - a small, auditable HTML template engine (kcgi's template.c
 * and Redis' sdstemplate, with mustache's section syntax).
 *
 * Syntax, nothing more:
 *   {{name}}  {{a.b}}  {{.}}   the value, ALWAYS HTML-escaped (& < > " '
 *                              and `); there is no unescaped form
 *   {{#name}}...{{/name}}      array: once per element (element is the
 *                              context); object: once inside it; other
 *                              truthy value: once; falsy/missing: never
 *   {{^name}}...{{/name}}      once when name is falsy or missing
 *   {{! comment }}             nothing
 * Names are looked up from the innermost context outwards.  A missing
 * name renders as "" and is counted, so tests and strict callers can
 * refuse it.  Falsy: missing, null, false, 0, "", [].
 */
#ifndef PG_TEMPLATE_H
#define PG_TEMPLATE_H

#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"
#include "err.h"

#define TMPL_MAX	(256u << 10)	/* bytes of one template file */
#define TMPL_DEPTH	16		/* nested sections */

/*
 * Renders src (len bytes) with data into out (appending).  *missing
 * (may be NULL) gets the number of names that were not found.
 * PG_EINVAL on a syntax error (unclosed tag or section, bad nesting,
 * too deep), PG_TOOLARGE when out's ceiling is reached.
 */
enum pg_err	 tmpl_render(const char *src, size_t len,
		    struct json_object *data, struct buf *out, size_t *missing);
/*
 * Reads dir/name (name: [A-Za-z0-9._-], no "..") into *src (malloc'd,
 * NUL-terminated, caller frees).  Refuses empty files and files over
 * TMPL_MAX (PG_TOOLARGE); PG_NOTFOUND / PG_SYSTEM otherwise.
 */
enum pg_err	 tmpl_load(const char *dir, const char *name, char **src,
		    size_t *len);
/*
 * tmpl_load, falling back to the copy built into the program (asset.h)
 * when dir has no file of that name: a program copied alone still
 * renders, and a file on disk always wins.  Same ownership and errors.
 */
enum pg_err	 tmpl_open(const char *dir, const char *name, char **src,
		    size_t *len);
/* Appends s (n bytes) HTML-escaped. */
enum pg_err	 tmpl_escape(struct buf *out, const char *s, size_t n);

#endif /* PG_TEMPLATE_H */
