/* Unit tests: lib/iplist (Stripe's webhook IP list: JSON, search order,
 * atomic replacement) and lib/asset (the built-in copy). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asset.h"
#include "iplist.h"

static struct ipset set;

static enum pg_err
from_json(const char *j, struct buf *out, size_t *n)
{
	buf_reset(out);
	return iplist_from_json(j, strlen(j), "test", out, n);
}

static void
test_json(void **s)
{
	struct buf	 out;
	size_t		 n;
	char		**v;

	(void)s;
	buf_init(&out, 1 << 20);
	assert_int_equal(from_json("{\"WEBHOOKS\":[\"3.18.12.63\",\"1.2.3.0/24\","
	    "\"2001:db8::1\",\"3.18.12.63\"],\"API\":[]}\n", &out, &n), PG_OK);
	assert_int_equal(n, 3);		/* the duplicate is dropped */
	assert_int_equal(iplist_entries(out.data, &v, &n), PG_OK);
	assert_int_equal(n, 3);
	/* Sorted, one per line. */
	assert_string_equal(v[0], "1.2.3.0/24");
	assert_string_equal(v[1], "2001:db8::1");
	assert_string_equal(v[2], "3.18.12.63");
	assert_null(v[3]);
	iplist_entries_free(v);
	/* Refusals: empty, not JSON, wrong shapes, bad or smuggled entries. */
	assert_int_equal(from_json("{\"WEBHOOKS\":[]}", &out, &n), PG_EINVAL);
	assert_int_equal(from_json("", &out, &n), PG_EINVAL);
	assert_int_equal(from_json("{\"WEBHOOKS\":[\"1.2.3.4\"", &out, &n), PG_EINVAL);
	assert_int_equal(from_json("<html>502</html>", &out, &n), PG_EINVAL);
	assert_int_equal(from_json("{\"WEBHOOKS\":\"1.2.3.4\"}", &out, &n), PG_EINVAL);
	assert_int_equal(from_json("{\"webhooks\":[\"1.2.3.4\"]}", &out, &n), PG_EINVAL);
	assert_int_equal(from_json("[\"1.2.3.4\"]", &out, &n), PG_EINVAL);
	assert_int_equal(from_json("{\"WEBHOOKS\":[\"1.2.3.4\",7]}", &out, &n), PG_EINVAL);
	assert_int_equal(from_json("{\"WEBHOOKS\":[\"1.2.3.999\"]}", &out, &n), PG_EINVAL);
	assert_int_equal(from_json("{\"WEBHOOKS\":[\"1.2.3.4 0.0.0.0/0\"]}", &out, &n), PG_EINVAL);
	assert_int_equal(from_json("{\"WEBHOOKS\":[\"1.2.3.4#x\"]}", &out, &n), PG_EINVAL);
	assert_int_equal(from_json("{\"WEBHOOKS\":[\"1.2.3.4\"]} trailing", &out, &n), PG_EINVAL);
	buf_free(&out);
}

static void
test_entries(void **s)
{
	char	**v;
	size_t	  n;

	(void)s;
	assert_int_equal(iplist_entries("# only a comment\n\n  \n", &v, &n), PG_OK);
	assert_int_equal(n, 0);
	assert_null(v[0]);
	iplist_entries_free(v);
	assert_int_equal(iplist_entries(" 1.2.3.4 # a\r\n5.6.7.8", &v, &n), PG_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "1.2.3.4");
	assert_string_equal(v[1], "5.6.7.8");
	iplist_entries_free(v);
}

/* Writes text to dir/name. */
static void
put(const char *dir, const char *name, const char *text)
{
	char	 p[4096];
	FILE	*f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

static void
test_search_order(void **s)
{
	struct config	 c;
	char		 base[] = "/tmp/pg-iplist.XXXXXX", st[256], da[256];
	char		 from[4096], p[4200];

	(void)s;
	memset(&c, 0, sizeof(c));
	assert_non_null(mkdtemp(base));
	snprintf(st, sizeof(st), "%s/state", base);
	snprintf(da, sizeof(da), "%s/share", base);
	assert_int_equal(mkdir(st, 0700), 0);
	assert_int_equal(mkdir(da, 0755), 0);
	c.data_dir = da;
	/* A state directory that does not exist has no list, and reading
	 * does not create it. */
	{
		char	 none[300];
		struct stat sb;

		snprintf(none, sizeof(none), "%s/nostate", base);
		c.state_dir = none;
		assert_int_equal(iplist_load(&c, &set, from, sizeof(from)),
		    PG_OK);
		assert_string_equal(from, "built-in");
		assert_int_not_equal(lstat(none, &sb), 0);
	}
	c.state_dir = st;
	/* 4. Nothing on disk: the built-in list, which is data/'s. */
	assert_int_equal(iplist_load(&c, &set, from, sizeof(from)), PG_OK);
	assert_string_equal(from, "built-in");
	assert_int_equal(set.n, 12);
	assert_true(ipset_match(&set, "54.187.216.72"));
	/* 3. The installed copy. */
	put(da, IPLIST_NAME, "10.0.0.1\n");
	assert_int_equal(iplist_load(&c, &set, from, sizeof(from)), PG_OK);
	snprintf(p, sizeof(p), "%s/%s", da, IPLIST_NAME);
	assert_string_equal(from, p);
	assert_true(ipset_match(&set, "10.0.0.1"));
	/* 2. The state dir's (updated) copy. */
	put(st, IPLIST_NAME, "10.0.0.2\n");
	assert_int_equal(iplist_load(&c, &set, from, sizeof(from)), PG_OK);
	assert_true(ipset_match(&set, "10.0.0.2"));
	assert_false(ipset_match(&set, "10.0.0.1"));
	assert_int_equal(iplist_update_path(&c, p, sizeof(p)), PG_OK);
	assert_string_equal(from, p);
	/* A symlink in the state dir is refused, not followed (the web
	 * user owns that directory), and not skipped either; iplist_write
	 * replaces the link itself and leaves its target alone. */
	{
		char	 tgt[300], lnk[300], buf[64];
		FILE	*fp;

		snprintf(tgt, sizeof(tgt), "%s/elsewhere.txt", base);
		snprintf(lnk, sizeof(lnk), "%s/%s", st, IPLIST_NAME);
		put(base, "elsewhere.txt", "10.0.0.9\n");
		assert_int_equal(unlink(lnk), 0);
		assert_int_equal(symlink(tgt, lnk), 0);
		assert_int_equal(iplist_load(&c, &set, from, sizeof(from)),
		    PG_SYSTEM);
		assert_int_equal(iplist_write(st, lnk, "10.0.0.5\n", 9), PG_OK);
		assert_non_null(fp = fopen(tgt, "r"));
		assert_non_null(fgets(buf, sizeof(buf), fp));
		fclose(fp);
		assert_string_equal(buf, "10.0.0.9\n");
		assert_int_equal(iplist_load(&c, &set, from, sizeof(from)),
		    PG_OK);
		assert_true(ipset_match(&set, "10.0.0.5"));
		assert_false(ipset_match(&set, "10.0.0.9"));
	}
	/* A broken file on disk is an error, not a reason to fall back. */
	put(st, IPLIST_NAME, "10.0.0.300\n");
	assert_int_equal(iplist_load(&c, &set, from, sizeof(from)), PG_EINVAL);
	/* 1. The configured file, which must exist. */
	snprintf(p, sizeof(p), "%s/mine.txt", base);
	c.wh_ips_file = p;
	assert_int_equal(iplist_load(&c, &set, from, sizeof(from)), PG_NOTFOUND);
	put(base, "mine.txt", "10.0.0.3\n");
	assert_int_equal(iplist_load(&c, &set, from, sizeof(from)), PG_OK);
	assert_true(ipset_match(&set, "10.0.0.3"));
	assert_int_equal(iplist_update_path(&c, from, sizeof(from)), PG_OK);
	assert_string_equal(from, p);
	/* Atomic replace: new content, mode 0644 whatever the umask. */
	umask(077);
	assert_int_equal(iplist_write(NULL, p, "10.0.0.4\n", 9), PG_OK);
	assert_int_equal(iplist_load(&c, &set, from, sizeof(from)), PG_OK);
	assert_true(ipset_match(&set, "10.0.0.4"));
	{
		struct stat sb;
		assert_int_equal(stat(p, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0644);
	}
	/* A directory that cannot take the temporary file: old list kept. */
	snprintf(p, sizeof(p), "%s/nodir/x.txt", base);
	assert_int_equal(iplist_write(NULL, p, "1.1.1.1\n", 8), PG_SYSTEM);
	snprintf(p, sizeof(p), "rm -rf '%s'", base);
	assert_int_equal(system(p), 0);
}

static void
test_asset(void **s)
{
	const unsigned char	*d;
	size_t			 n;
	FILE			*f;
	char			 p[4096], *want;
	const char		*src = getenv("PAYGUARD_SRCDIR");
	long			 sz;

	(void)s;
	assert_int_equal(asset_find("audit.css", &d, &n), PG_OK);
	/* Byte for byte the file in templates/. */
	snprintf(p, sizeof(p), "%s/templates/audit.css", src ? src : ".");
	assert_non_null(f = fopen(p, "rb"));
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	rewind(f);
	assert_int_equal((long)n, sz);
	assert_non_null(want = malloc((size_t)sz));
	assert_int_equal(fread(want, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	assert_memory_equal(d, want, n);
	assert_int_equal(d[n], '\0');
	free(want);
	assert_int_equal(asset_find("nope.html", &d, &n), PG_NOTFOUND);
	assert_null(d);
	assert_int_equal(asset_find(NULL, &d, &n), PG_NOTFOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_search_order),
		cmocka_unit_test(test_asset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
