/* Unit tests: lib/template (escaping of every value, missing keys,
 * sections and loops, syntax errors, loading). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "template.h"

/* Renders src with the JSON text data; returns the output (static). */
static const char *
render(const char *src, const char *data, size_t *missing, enum pg_err *rc)
{
	static char		 out[8192];
	struct json_object	*d = data ? json_tokener_parse(data) : NULL;
	struct buf		 b;
	enum pg_err		 e;

	buf_init(&b, sizeof(out) - 1);
	e = tmpl_render(src, strlen(src), d, &b, missing);
	if (rc != NULL)
		*rc = e;
	snprintf(out, sizeof(out), "%s", b.data ? b.data : "");
	buf_free(&b);
	json_object_put(d);
	return out;
}

static void
t_escape_all(void **state)
{
	enum pg_err	 e;

	(void)state;
	assert_string_equal(render("<p>{{v}}</p>",
	    "{\"v\":\"<script>alert('x')</script> & \\\"q\\\" `b`\"}", NULL,
	    NULL), "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
	    "&quot;q&quot; &#96;b&#96;</p>");
	/* Attribute context: a quote cannot end the attribute. */
	assert_string_equal(render("<a title=\"{{v}}\">", "{\"v\":\"\\\" onx=\\\"1\"}",
	    NULL, NULL), "<a title=\"&quot; onx=&quot;1\">");
	/* There is no raw form: triple braces are a syntax error. */
	render("{{{v}}}", "{\"v\":\"<b>\"}", NULL, &e);
	assert_int_equal(e, PG_EINVAL);
}

static void
t_types(void **state)
{
	(void)state;
	assert_string_equal(render("{{i}} {{d}} {{t}} {{f}} {{n}}",
	    "{\"i\":-42,\"d\":1.5,\"t\":true,\"f\":false,\"n\":null}", NULL,
	    NULL), "-42 1.5 true false ");
	assert_string_equal(render("{{a.b.c}}", "{\"a\":{\"b\":{\"c\":\"&\"}}}",
	    NULL, NULL), "&amp;");
}

static void
t_missing(void **state)
{
	size_t	 m = 99;

	(void)state;
	assert_string_equal(render("[{{nope}}][{{a.zz}}][{{ok}}]",
	    "{\"ok\":\"y\",\"a\":{}}", &m, NULL), "[][][y]");
	assert_int_equal(m, 2);
	assert_string_equal(render("{{#nope}}X{{/nope}}{{^nope}}none{{/nope}}",
	    "{}", &m, NULL), "none");
	assert_int_equal(m, 2);
	assert_string_equal(render("{{x}}", NULL, &m, NULL), "");
	assert_int_equal(m, 1);
}

static void
t_loops(void **state)
{
	(void)state;
	assert_string_equal(render("<ul>{{#rows}}<li>{{name}}={{n}} ({{title}})"
	    "</li>{{/rows}}</ul>", "{\"title\":\"<T>\",\"rows\":[{\"name\":"
	    "\"a<\",\"n\":1},{\"name\":\"b'\",\"n\":2}]}", NULL, NULL),
	    "<ul><li>a&lt;=1 (&lt;T&gt;)</li><li>b&#39;=2 (&lt;T&gt;)</li></ul>");
	/* Nested loops, the current element as {{.}}. */
	assert_string_equal(render("{{#g}}[{{#xs}}{{.}},{{/xs}}]{{/g}}",
	    "{\"g\":[{\"xs\":[\"<\",2]},{\"xs\":[]}]}", NULL, NULL),
	    "[&lt;,2,][]");
	/* Falsy values skip, truthy scalars render once. */
	assert_string_equal(render("{{#e}}E{{/e}}{{#z}}Z{{/z}}{{#s}}S{{/s}}"
	    "{{#o}}{{k}}{{/o}}{{^e}}!e{{/e}}", "{\"e\":[],\"z\":0,\"s\":\"x\","
	    "\"o\":{\"k\":\"K\"}}", NULL, NULL), "SK!e");
	/* Same-named nested sections close correctly. */
	assert_string_equal(render("{{#a}}1{{#a}}2{{/a}}3{{/a}}",
	    "{\"a\":true}", NULL, NULL), "123");
	assert_string_equal(render("x{{! a comment }}y", "{}", NULL, NULL), "xy");
}

static void
t_syntax(void **state)
{
	static const char *const bad[] = {
		"{{a", "{{#a}}x", "{{/a}}", "{{#a}}{{/b}}", "{{}}", "{{a b}}",
		"{{#a}}{{#b}}{{/a}}{{/b}}", "{{<x>}}",
	};
	enum pg_err	 e;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		render(bad[i], "{\"a\":true,\"b\":true}", NULL, &e);
		assert_int_equal(e, PG_EINVAL);
	}
	/* Single braces are text. */
	assert_string_equal(render("a{b}c{", "{}", NULL, &e), "a{b}c{");
	assert_int_equal(e, PG_OK);
}

static void
t_depth_and_limit(void **state)
{
	char		 src[4096];
	size_t		 i, n = 0;
	enum pg_err	 e;
	struct buf	 b;
	struct json_object *d;

	(void)state;
	for (i = 0; i < TMPL_DEPTH + 2; i++)
		n += (size_t)snprintf(src + n, sizeof(src) - n, "{{#a}}");
	for (i = 0; i < TMPL_DEPTH + 2; i++)
		n += (size_t)snprintf(src + n, sizeof(src) - n, "{{/a}}");
	render(src, "{\"a\":{\"a\":1}}", NULL, &e);
	assert_int_equal(e, PG_EINVAL);
	/* The output buffer's ceiling is honoured. */
	d = json_tokener_parse("{\"v\":\"<<<<<<<<<<\"}");
	buf_init(&b, 20);
	assert_int_equal(tmpl_render("{{v}}", 5, d, &b, NULL), PG_TOOLARGE);
	buf_free(&b);
	json_object_put(d);
}

static void
t_load(void **state)
{
	char	 dir[] = "/tmp/pg-tmpl.XXXXXX", path[256], *src;
	size_t	 len;
	FILE	*fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/page.html", dir);
	fp = fopen(path, "w");
	fputs("<h1>{{t}}</h1>", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/empty.html", dir);
	fclose(fopen(path, "w"));
	assert_int_equal(tmpl_load(dir, "page.html", &src, &len), PG_OK);
	assert_int_equal(len, 14);
	free(src);
	assert_int_equal(tmpl_load(dir, "empty.html", &src, &len), PG_TOOLARGE);
	assert_int_equal(tmpl_load(dir, "../etc/passwd", &src, &len), PG_EINVAL);
	assert_int_equal(tmpl_load(dir, "a/b", &src, &len), PG_EINVAL);
	assert_int_equal(tmpl_load(dir, "nope.html", &src, &len), PG_NOTFOUND);
	unlink(path);
	snprintf(path, sizeof(path), "%s/page.html", dir);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_escape_all),
		cmocka_unit_test(t_types),
		cmocka_unit_test(t_missing),
		cmocka_unit_test(t_loops),
		cmocka_unit_test(t_syntax),
		cmocka_unit_test(t_depth_and_limit),
		cmocka_unit_test(t_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
