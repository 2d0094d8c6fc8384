/* Unit tests: lib/config (env, INI, NAME_FILE, refusal, masking). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define SECRET	"whsec_UnitTestSecretValue9876"

static char tmp[4096];

static void
clear_env(void)
{
	static const char *vars[] = { "STRIPE_WEBHOOK_SECRET",
	    "STRIPE_WEBHOOK_SECRET_FILE", "PAYGUARD_CONFIG", "PAYGUARD_SYNC",
	    "PAYGUARD_RATE_LIMITS", "STRIPE_RATE_LIMIT_WINDOW",
	    "PAYGUARD_WEBHOOK_DELIVERY", "STRIPE_SECRET_KEY",
	    "PAYGUARD_MAX_BODY", "STRIPE_RATE_LIMIT_ENABLED",
	    "PAYGUARD_AUDIT_FLOOD_WHOLE", "PAYGUARD_AUDIT_FLOOD_TYPE_WHOLE" };
	size_t	 i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

static void
write_file(const char *path, const char *text)
{
	FILE	*f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
setup(void **s)
{
	(void)s;
	snprintf(tmp, sizeof(tmp), "/tmp/pg-config-test.%d", (int)getpid());
	return mkdir(tmp, 0700);
}

static int
teardown(void **s)
{
	char	 cmd[4200];

	(void)s;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_defaults_and_env(void **s)
{
	struct config	 c;
	char		 err[256];

	(void)s;
	clear_env();
	assert_int_equal(config_load(&c, CFG_NEED_WEBHOOK, err, sizeof(err)), PG_CONFIG);
	assert_string_equal(err, "STRIPE_WEBHOOK_SECRET: not set");
	config_free(&c);
	setenv("STRIPE_WEBHOOK_SECRET", SECRET ", whsec_SecondSecretForRotation", 1);
	setenv("PAYGUARD_RATE_LIMITS", "webhook=7, refund=3", 1);
	setenv("PAYGUARD_WEBHOOK_DELIVERY", "sync", 1);
	assert_int_equal(config_load(&c, CFG_NEED_WEBHOOK, err, sizeof(err)), PG_OK);
	assert_int_equal(c.wh_nsecrets, 2);
	assert_string_equal(c.wh_secrets[1], "whsec_SecondSecretForRotation");
	assert_int_equal(c.sync, 1);
	assert_int_equal(c.max_body, 524288);
	assert_int_equal(c.rl_window, 60);
	assert_int_equal(c.wh_tolerance, 300);
	assert_int_equal(c.rl_enabled, 1);
	assert_int_equal(c.wh_delivery, DELIVERY_SYNC);
	assert_int_equal(config_rate_limit(&c, "webhook"), 7);
	assert_int_equal(config_rate_limit(&c, "refund"), 3);
	assert_int_equal(config_rate_limit(&c, "customer"), 100);
	config_free(&c);
}

static void
test_malformed(void **s)
{
	struct config	 c;
	char		 err[256];
	static const struct { const char *var, *val, *msg; } bad[] = {
		{ "STRIPE_WEBHOOK_SECRET", "sk_live_notawebhooksecret",
		  "STRIPE_WEBHOOK_SECRET: malformed (expected comma-separated whsec_ secrets)" },
		{ "STRIPE_WEBHOOK_SECRET", "whsec_has space inside",
		  "STRIPE_WEBHOOK_SECRET: malformed (expected comma-separated whsec_ secrets)" },
		{ "PAYGUARD_SYNC", "maybe", "PAYGUARD_SYNC: expected true or false" },
		{ "PAYGUARD_MAX_BODY", "12abc", "PAYGUARD_MAX_BODY: expected a number in range" },
		{ "PAYGUARD_MAX_BODY", "-1", "PAYGUARD_MAX_BODY: expected a number in range" },
		{ "PAYGUARD_RATE_LIMITS", "webhook", "PAYGUARD_RATE_LIMITS: expected op=limit[,op=limit]" },
		{ "PAYGUARD_RATE_LIMITS", "webhook=0", "PAYGUARD_RATE_LIMITS: expected op=limit[,op=limit]" },
		{ "STRIPE_RATE_LIMIT_WINDOW", "0", "STRIPE_RATE_LIMIT_WINDOW: must be at least 1" },
		{ "PAYGUARD_WEBHOOK_DELIVERY", "later", "PAYGUARD_WEBHOOK_DELIVERY: expected queue or sync" },
		{ "PAYGUARD_AUDIT_FLOOD_WHOLE", "0", "PAYGUARD_AUDIT_FLOOD_WHOLE: must be at least 1" },
		{ "PAYGUARD_AUDIT_FLOOD_WHOLE", "lots", "PAYGUARD_AUDIT_FLOOD_WHOLE: expected a number in range" },
		{ "PAYGUARD_AUDIT_FLOOD_WHOLE", "2000000", "PAYGUARD_AUDIT_FLOOD_WHOLE: expected a number in range" },
		{ "PAYGUARD_AUDIT_FLOOD_TYPE_WHOLE", "99", "PAYGUARD_AUDIT_FLOOD_TYPE_WHOLE: must be at least PAYGUARD_AUDIT_FLOOD_WHOLE (it bounds all addresses together)" },
	};
	size_t	 i;

	(void)s;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clear_env();
		setenv("STRIPE_WEBHOOK_SECRET", SECRET, 1);
		setenv(bad[i].var, bad[i].val, 1);
		assert_int_equal(config_load(&c, CFG_NEED_WEBHOOK, err,
		    sizeof(err)), PG_CONFIG);
		assert_string_equal(err, bad[i].msg);
		/* The message names the variable, never the value. */
		assert_null(strstr(err, bad[i].val));
		config_free(&c);
	}
	/* The flood bounds: defaults, and values taken as given. */
	clear_env();
	setenv("STRIPE_WEBHOOK_SECRET", SECRET, 1);
	assert_int_equal(config_load(&c, CFG_NEED_WEBHOOK, err, sizeof(err)),
	    PG_OK);
	assert_int_equal(c.audit_flood_whole, 100);
	assert_int_equal(c.audit_flood_type, 1000);
	config_free(&c);
	setenv("PAYGUARD_AUDIT_FLOOD_WHOLE", "7", 1);
	setenv("PAYGUARD_AUDIT_FLOOD_TYPE_WHOLE", "7", 1);
	assert_int_equal(config_load(&c, CFG_NEED_WEBHOOK, err, sizeof(err)),
	    PG_OK);
	assert_int_equal(c.audit_flood_whole, 7);
	assert_int_equal(c.audit_flood_type, 7);
	config_free(&c);
	clear_env();
	setenv("STRIPE_SECRET_KEY", "pk_live_publishablekey", 1);
	assert_int_equal(config_load(&c, CFG_NEED_API, err, sizeof(err)), PG_CONFIG);
	assert_null(strstr(err, "pk_live_publishablekey"));
	config_free(&c);
}

static void
test_ini_and_files(void **s)
{
	struct config	 c;
	char		 err[256], ini[4200], sec[4200];

	(void)s;
	clear_env();
	snprintf(sec, sizeof(sec), "%s/secret", tmp);
	write_file(sec, SECRET "\n");
	snprintf(ini, sizeof(ini), "%s/payguard.ini", tmp);
	{
		char text[9000];
		snprintf(text, sizeof(text), "; comment\n[payguard]\n"
		    "STRIPE_WEBHOOK_SECRET_FILE = %s\nPAYGUARD_SYNC = 0\n"
		    "STRIPE_RATE_LIMIT_WINDOW = 30\nUNKNOWN_KEY = x\n", sec);
		write_file(ini, text);
	}
	setenv("PAYGUARD_CONFIG", ini, 1);
	assert_int_equal(config_load(&c, CFG_NEED_WEBHOOK, err, sizeof(err)), PG_OK);
	assert_int_equal(c.wh_nsecrets, 1);
	assert_string_equal(c.wh_secrets[0], SECRET);	/* newline stripped */
	assert_int_equal(c.sync, 0);
	assert_int_equal(c.rl_window, 30);
	config_free(&c);
	/* The environment wins over the file. */
	setenv("STRIPE_RATE_LIMIT_WINDOW", "45", 1);
	assert_int_equal(config_load(&c, CFG_NEED_WEBHOOK, err, sizeof(err)), PG_OK);
	assert_int_equal(c.rl_window, 45);
	config_free(&c);
	/* NAME_FILE pointing nowhere is a clear error. */
	clear_env();
	setenv("STRIPE_WEBHOOK_SECRET_FILE", "/nonexistent/secret", 1);
	assert_int_equal(config_load(&c, CFG_NEED_WEBHOOK, err, sizeof(err)), PG_CONFIG);
	assert_string_equal(err, "STRIPE_WEBHOOK_SECRET_FILE: cannot read the file");
	config_free(&c);
	/* A broken INI file. */
	clear_env();
	write_file(ini, "[payguard\nthis is not ini\n");
	setenv("PAYGUARD_CONFIG", ini, 1);
	assert_int_equal(config_load(&c, 0, err, sizeof(err)), PG_CONFIG);
	assert_non_null(strstr(err, "PAYGUARD_CONFIG: syntax error"));
	config_free(&c);
	clear_env();
}

static void
test_dump_masks(void **s)
{
	struct config	 c;
	char		 err[256], out[4200], buf[16384];
	int		 fd;
	ssize_t		 n;

	(void)s;
	clear_env();
	setenv("STRIPE_WEBHOOK_SECRET", SECRET, 1);
	setenv("STRIPE_SECRET_KEY", "sk_test_51ExampleSecretKeyABCD", 1);
	assert_int_equal(config_load(&c, CFG_NEED_WEBHOOK, err, sizeof(err)), PG_OK);
	snprintf(out, sizeof(out), "%s/dump", tmp);
	fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0600);
	config_dump(&c, fd);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	assert_null(strstr(buf, SECRET));
	assert_null(strstr(buf, "ExampleSecretKey"));
	/* Under 32 characters nothing is revealed, not even the last four
	 * (issue 9: "whsec_****9876" showed 4 of a 29-character secret). */
	assert_non_null(strstr(buf, "STRIPE_WEBHOOK_SECRET=****\n"));
	assert_non_null(strstr(buf, "STRIPE_SECRET_KEY=****\n"));
	assert_null(strstr(buf, "9876"));
	assert_null(strstr(buf, "ABCD"));
	assert_non_null(strstr(buf, "PAYGUARD_RATE_LIMITS=customer=100,"));
	config_free(&c);
	/* From 32 characters on: the prefix and at most the last four. */
	clear_env();
	setenv("STRIPE_WEBHOOK_SECRET", "whsec_LongerUnitTestSecretValue_wxyz", 1);
	setenv("STRIPE_SECRET_KEY", "sk_live_51LongerExampleSecretKeyEFGH", 1);
	setenv("PAYGUARD_TOKEN_PEPPER", "pepper-of-15ch!", 1);
	assert_int_equal(config_load(&c, CFG_NEED_WEBHOOK, err, sizeof(err)), PG_OK);
	fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0600);
	config_dump(&c, fd);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	assert_non_null(strstr(buf, "STRIPE_WEBHOOK_SECRET=whsec_****wxyz\n"));
	assert_non_null(strstr(buf, "STRIPE_SECRET_KEY=sk_live_****EFGH\n"));
	assert_null(strstr(buf, "LongerUnitTest"));
	assert_null(strstr(buf, "h!"));
	config_free(&c);
	clear_env();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_env),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_ini_and_files),
		cmocka_unit_test(test_dump_masks),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
