/*
 * payguard CLI - gateway tokens: create, list, revoke.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "store.h"
#include "store_redis.h"
#include "token.h"

static int
tok_usage(void)
{
	fprintf(stderr, "usage: payguard token create --name NAME --scope "
	    "read|write [--ops op1,op2]\n"
	    "           [--accounts acct_1,acct_2|'*']\n"
	    "       payguard token list [--json]\n"
	    "       payguard token revoke NAME\n");
	return 2;
}

static int
list_cb(const char *name, const struct token_rec *r, void *arg)
{
	struct json_object	*arr = arg, *o;
	char			 when[32];
	time_t			 t = (time_t)(r->created_ms / 1000);
	struct tm		 tm;

	if (arr != NULL) {
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "scope", json_object_new_string(
		    r->scope == SCOPE_WRITE ? "write" : "read"));
		json_object_object_add(o, "ops", json_object_new_string(r->ops));
		json_object_object_add(o, "accounts",
		    json_object_new_string(r->accounts));
		json_object_object_add(o, "created_ms",
		    json_object_new_int64((int64_t)r->created_ms));
		json_object_object_add(o, "revoked",
		    json_object_new_boolean(r->revoked != 0));
		json_object_array_add(arr, o);
		return 0;
	}
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%-24s %-5s %-8s %s  %s%s%s\n", name,
	    r->scope == SCOPE_WRITE ? "write" : "read",
	    r->revoked ? "revoked" : "active", when,
	    r->ops[0] ? r->ops : "(all operations)",
	    r->accounts[0] ? "  accounts: " : "", r->accounts);
	return 0;
}

int
cmd_token(int argc, char **argv, const struct config *cfg)
{
	struct store		*st = NULL;
	struct token_ctx	 t;
	struct json_object	*arr = NULL;
	const char		*name = NULL, *scope = NULL, *ops = "";
	const char		*accounts = "";
	char			 tok[TOKEN_STR_MAX], err[256];
	int			 i, rc = 1;
	enum pg_err		 e;

	/* A usage error never touches the state. */
	if (argc < 2 || !(strcmp(argv[1], "create") == 0 ||
	    (strcmp(argv[1], "list") == 0 && (argc == 2 || (argc == 3 &&
	    strcmp(argv[2], "--json") == 0))) ||
	    (strcmp(argv[1], "revoke") == 0 && argc == 3)))
		return tok_usage();
	if (strcmp(argv[1], "create") == 0) {
		for (i = 2; i < argc; i++) {
			if ((strcmp(argv[i], "--name") == 0 ||
			    strcmp(argv[i], "--scope") == 0 ||
			    strcmp(argv[i], "--ops") == 0 ||
			    strcmp(argv[i], "--accounts") == 0) && i + 1 < argc)
				i++;
			else
				return tok_usage();
		}
	}
	if (store_open_config(cfg, cfg->sync ? 0 : STORE_NOSYNC, &st, err,
	    sizeof(err)) != PG_OK) {
		fprintf(stderr, "token: cannot open the store: %s\n", err);
		return 1;
	}
	if (strcmp(argv[1], "create") == 0) {
		for (i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
				name = argv[++i];
			else if (strcmp(argv[i], "--scope") == 0 && i + 1 < argc)
				scope = argv[++i];
			else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
				ops = argv[++i];
			else if (strcmp(argv[i], "--accounts") == 0 &&
			    i + 1 < argc)
				accounts = argv[++i];
			else {
				rc = tok_usage();
				goto out;
			}
		}
		if (name == NULL || scope == NULL || (strcmp(scope, "read") != 0 &&
		    strcmp(scope, "write") != 0)) {
			rc = tok_usage();
			goto out;
		}
		if (token_ctx_init(cfg, &t) != PG_OK) {
			fprintf(stderr, "token: cannot load the token key\n");
			goto out;
		}
		e = token_create(st, &t, name, strcmp(scope, "write") == 0 ?
		    SCOPE_WRITE : SCOPE_READ, ops, accounts, tok);
		token_ctx_wipe(&t);
		if (e == PG_OK) {
			/* Shown this once; only its keyed hash is kept. */
			printf("%s\n", tok);
			OPENSSL_cleanse(tok, sizeof(tok));
			rc = 0;
		} else
			fprintf(stderr, "token create: %s: %s\n", name,
			    e == PG_EXISTS ? "a live token has that name" :
			    e == PG_EINVAL ? "bad name (1-64 of A-Z a-z 0-9 . _ -) "
			    "or ops (comma-separated operation names) or accounts "
			    "(comma-separated acct_ ids, or *)" :
			    pg_strerror(e));
	} else if (strcmp(argv[1], "list") == 0) {
		if (argc > 2 && strcmp(argv[2], "--json") == 0)
			arr = json_object_new_array();
		e = token_list(st, list_cb, arr);
		if (arr != NULL)
			printf("%s\n", json_object_to_json_string_ext(arr,
			    JSON_C_TO_STRING_PRETTY));
		json_object_put(arr);
		rc = e == PG_OK ? 0 : 1;
	} else if (strcmp(argv[1], "revoke") == 0 && argc == 3) {
		if ((e = token_revoke(st, argv[2])) == PG_OK) {
			printf("%s: revoked\n", argv[2]);
			rc = 0;
		} else
			fprintf(stderr, "token revoke: %s: %s\n", argv[2],
			    pg_strerror(e));
	} else
		rc = tok_usage();
out:
	store_close(st);
	return rc;
}
