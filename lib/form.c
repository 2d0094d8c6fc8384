/*
 * payguard - form encoding with Stripe's bracket notation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "codec.h"
#include "form.h"

void
form_init(struct form *f)
{
	f->n = f->cap = 0;
	f->p = NULL;
}

void
form_free(struct form *f)
{
	size_t	 i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n; i++) {
		free(f->p[i].name);
		free(f->p[i].value);
	}
	free(f->p);
	form_init(f);
}

static enum pg_err
add_owned(struct form *f, char *name, char *value)
{
	struct form_pair *np;
	size_t		 ncap;

	if (f->n == FORM_MAX_PAIRS) {
		free(name);
		free(value);
		return PG_TOOLARGE;
	}
	if (f->n == f->cap) {
		ncap = f->cap ? f->cap * 2 : 16;
		if ((np = realloc(f->p, ncap * sizeof(*np))) == NULL) {
			free(name);
			free(value);
			return PG_ENOMEM;
		}
		f->p = np;
		f->cap = ncap;
	}
	f->p[f->n].name = name;
	f->p[f->n].value = value;
	f->n++;
	return PG_OK;
}

enum pg_err
form_add(struct form *f, const char *name, const char *value)
{
	char	*n = strdup(name), *v = strdup(value);

	if (n == NULL || v == NULL) {
		free(n);
		free(v);
		return PG_ENOMEM;
	}
	return add_owned(f, n, v);
}

/* Decodes s[0..len) into a fresh string; NULL on a bad escape or NUL. */
static char *
decode(const char *s, size_t len)
{
	char	*out;

	if ((out = malloc(len + 1)) != NULL &&
	    codec_pct_decode(s, len, out, len + 1, NULL) != PG_OK) {
		free(out);
		out = NULL;
	}
	return out;
}

/* Returns 1 if s is well-formed UTF-8 (no overlongs, no surrogates). */
static int
utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned int	 cp, n, i;

	while (*p != '\0') {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			n = 1;
			cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 2;
			cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			n = 3;
			cp = *p & 0x07;
		} else
			return 0;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
}

/*
 * Returns 1 if name is Stripe's bracket notation: a base without
 * brackets, then zero or more "[segment]" groups whose segments hold no
 * brackets ("expand[]" allowed).
 */
static int
name_ok(const char *name)
{
	size_t	 n = strcspn(name, "[]");

	if (n == 0)
		return 0;
	name += n;
	while (*name != '\0') {
		if (*name != '[')
			return 0;
		n = strcspn(name + 1, "[]");
		if (name[1 + n] != ']')
			return 0;
		name += n + 2;
	}
	return 1;
}

enum pg_err
form_parse(const char *s, size_t len, struct form *f)
{
	const char		*p = s;
	struct codec_pair	 pr;
	char			*name, *value;
	enum pg_err		 e;

	while (codec_query_next(&p, s + len, &pr)) {
		name = decode(pr.name, pr.nlen);
		value = pr.value != NULL ? decode(pr.value, pr.vlen) :
		    strdup("");
		if (name == NULL || value == NULL || *name == '\0' ||
		    strlen(name) > FORM_NAME_MAX || !name_ok(name) ||
		    !utf8_ok(name) || !utf8_ok(value)) {
			free(name);
			free(value);
			return PG_EINVAL;
		}
		if ((e = add_owned(f, name, value)) != PG_OK)
			return e;
	}
	return PG_OK;
}

static enum pg_err
walk(struct json_object *v, char *prefix, size_t plen, int depth,
    struct form *f)
{
	char		 num[32];
	enum pg_err	 e = PG_OK;
	size_t		 i, n, klen;

	if (depth > FORM_JSON_DEPTH)
		return PG_EINVAL;
	switch (json_object_get_type(v)) {
	case json_type_object: {
		struct json_object_iterator it = json_object_iter_begin(v);
		struct json_object_iterator ie = json_object_iter_end(v);
		for (; e == PG_OK && !json_object_iter_equal(&it, &ie);
		    json_object_iter_next(&it)) {
			const char *k = json_object_iter_peek_name(&it);
			klen = strlen(k);
			/* A bracket inside a key would forge nesting. */
			if (klen == 0 || plen + klen + 2 >= FORM_NAME_MAX ||
			    strpbrk(k, "[]") != NULL || !utf8_ok(k))
				return PG_EINVAL;
			if (plen == 0)
				memcpy(prefix, k, klen + 1);
			else
				snprintf(prefix + plen, FORM_NAME_MAX + 1 - plen,
				    "[%s]", k);
			e = walk(json_object_iter_peek_value(&it), prefix,
			    plen == 0 ? klen : plen + klen + 2, depth + 1, f);
			prefix[plen] = '\0';
		}
		return e;
	}
	case json_type_array:
		if (plen == 0)
			return PG_EINVAL;
		n = json_object_array_length(v);
		for (i = 0; e == PG_OK && i < n; i++) {
			int w = snprintf(prefix + plen, FORM_NAME_MAX + 1 - plen,
			    "[%zu]", i);
			if (w < 0 || plen + (size_t)w >= FORM_NAME_MAX)
				return PG_EINVAL;
			e = walk(json_object_array_get_idx(v, i), prefix,
			    plen + (size_t)w, depth + 1, f);
			prefix[plen] = '\0';
		}
		return e;
	case json_type_null:
		return form_add(f, prefix, "");
	case json_type_boolean:
		return form_add(f, prefix, json_object_get_boolean(v) ?
		    "true" : "false");
	case json_type_int:
		snprintf(num, sizeof(num), "%lld",
		    (long long)json_object_get_int64(v));
		return form_add(f, prefix, num);
	case json_type_string:
		/* json-c lets overlong UTF-8 through; the form decoder (and
		 * Stripe) would not: refuse it here too. */
		if (strlen(json_object_get_string(v)) !=
		    (size_t)json_object_get_string_len(v) ||
		    !utf8_ok(json_object_get_string(v)))
			return PG_EINVAL;
		return form_add(f, prefix, json_object_get_string(v));
	case json_type_double:
		/* As written in the body, not as re-printed by json-c. */
		return form_add(f, prefix, json_object_get_string(v));
	}
	return PG_EINVAL;
}

enum pg_err
form_from_json(const char *json, size_t len, struct form *f)
{
	struct json_tokener	*tok;
	struct json_object	*root = NULL;
	char			 prefix[FORM_NAME_MAX + 1];
	size_t			 off;
	enum pg_err		 e = PG_EINVAL;

	if (len > (size_t)INT32_MAX || memchr(json, '\0', len) != NULL)
		return PG_EINVAL;
	if ((tok = json_tokener_new_ex(FORM_JSON_DEPTH + 2)) == NULL)
		return PG_ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, json, (int)len);
	if (root == NULL)
		goto out;
	off = json_tokener_get_parse_end(tok);
	while (off < len && strchr(" \t\r\n", json[off]) != NULL)
		off++;
	if (off != len || !json_object_is_type(root, json_type_object))
		goto out;
	prefix[0] = '\0';
	e = walk(root, prefix, 0, 0, f);
out:
	json_object_put(root);
	json_tokener_free(tok);
	return e;
}


static enum pg_err
encode_pairs(const struct form_pair *const *pp, size_t n, struct buf *out)
{
	enum pg_err	 e = PG_OK;
	size_t		 i;

	for (i = 0; i < n && e == PG_OK; i++) {
		if (i > 0)
			e = buf_putc(out, '&');
		if (e == PG_OK)
			e = codec_pct_encode(out, pp[i]->name);
		if (e == PG_OK)
			e = buf_putc(out, '=');
		if (e == PG_OK)
			e = codec_pct_encode(out, pp[i]->value);
	}
	if (e == PG_OK && out->data == NULL)
		e = buf_append(out, "", 0);
	return e;
}

enum pg_err
form_encode(const struct form *f, struct buf *out)
{
	const struct form_pair **pp;
	size_t		 i;
	enum pg_err	 e;

	if ((pp = calloc(f->n + 1, sizeof(*pp))) == NULL)
		return PG_ENOMEM;
	for (i = 0; i < f->n; i++)
		pp[i] = &f->p[i];
	e = encode_pairs(pp, f->n, out);
	free(pp);
	return e;
}

enum pg_err
form_canonical(const struct form *f, struct buf *out)
{
	const struct form_pair **pp, *t;
	size_t		 i, j;
	enum pg_err	 e;

	if ((pp = calloc(f->n + 1, sizeof(*pp))) == NULL)
		return PG_ENOMEM;
	for (i = 0; i < f->n; i++)
		pp[i] = &f->p[i];
	/* Insertion sort: stable, and forms are small (bounded). */
	for (i = 1; i < f->n; i++) {
		t = pp[i];
		for (j = i; j > 0 && strcmp(pp[j - 1]->name, t->name) > 0; j--)
			pp[j] = pp[j - 1];
		pp[j] = t;
	}
	e = encode_pairs(pp, f->n, out);
	free(pp);
	return e;
}
