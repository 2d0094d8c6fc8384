/*
 * payguard CLI - key and token commands, and masking.
 *
 *   payguard keygen                      prints a new Fernet key
 *   payguard encrypt [--key K | --key-file F] < plain > token
 *   payguard decrypt [--key K | --key-file F] [--ttl N] < token > plain
 *   payguard rotate-keys [--batch N]     re-encrypts the store's sealed
 *                                        records under the first key
 *   payguard mask card|card_bin|email|secret|auto|text VALUE
 *
 * K may be a comma-separated ring (the first key encrypts, every key
 * decrypts), as STRIPE_ENCRYPTION_KEY.  Without --key the configured ring
 * is used (STRIPE_ENCRYPTION_KEY, else the state directory's generated
 * key).  --key puts the key on the command line, where other local users
 * may see it (ps, shell history): an operator convenience for scratch
 * work; --key-file is the way for real keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "crypto.h"
#include "idem.h"
#include "inbox_redis.h"
#include "log.h"
#include "mask.h"
#include "seal.h"
#include "store.h"
#include "store_redis.h"

#define STDIN_MAX	(64UL << 20)	/* largest message or token read */
#define KEYFILE_MAX	4096

struct crypto_opts {
	const char	*key;		/* --key */
	const char	*key_file;	/* --key-file */
	long		 ttl;		/* --ttl, FERNET_NO_TTL when absent */
	size_t		 batch;		/* --batch */
};

/* Parses a non-negative decimal number no larger than max. */
static int
parse_num(const char *s, unsigned long max, unsigned long *out)
{
	char		*end;
	unsigned long	 v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Parses the options every crypto command shares; -1 on a usage error. */
static int
parse_opts(int argc, char **argv, int allow_ttl, int allow_batch,
    struct crypto_opts *o)
{
	unsigned long	 v;
	int		 i;

	memset(o, 0, sizeof(*o));
	o->ttl = FERNET_NO_TTL;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--key") == 0 && i + 1 < argc && !allow_batch)
			o->key = argv[++i];
		else if (strcmp(argv[i], "--key-file") == 0 && i + 1 < argc &&
		    !allow_batch)
			o->key_file = argv[++i];
		else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc &&
		    allow_ttl) {
			if (parse_num(argv[++i], LONG_MAX, &v) != 0) {
				fprintf(stderr, "payguard: --ttl: not a number "
				    "of seconds\n");
				return -1;
			}
			o->ttl = (long)v;
		} else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc &&
		    allow_batch) {
			if (parse_num(argv[++i], 1000000, &v) != 0 || v == 0) {
				fprintf(stderr, "payguard: --batch: 1 to "
				    "1000000\n");
				return -1;
			}
			o->batch = v;
		} else {
			fprintf(stderr, "payguard: %s: unexpected argument: "
			    "%s\n", argv[0], argv[i]);
			return -1;
		}
	}
	if (o->key != NULL && o->key_file != NULL) {
		fprintf(stderr, "payguard: --key and --key-file exclude each "
		    "other\n");
		return -1;
	}
	return 0;
}

/* Reads a key file (a key or a comma-separated ring) into r. */
static enum pg_err
ring_from_file(const char *path, struct keyring *r)
{
	char		 buf[KEYFILE_MAX];
	size_t		 n = 0;
	ssize_t		 k;
	int		 fd = -1;
	enum pg_err	 rc = PG_SYSTEM;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "payguard: %s: %s\n", path, strerror(errno));
		goto out;
	}
	while (n < sizeof(buf) - 1 &&
	    (k = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = '\0';
	/* keyring_parse allows whitespace around keys, so a newline is ok. */
	if ((rc = keyring_parse(buf, r)) != PG_OK) {
		fprintf(stderr, "payguard: %s: not a Fernet key (32 url-safe "
		    "base64-encoded bytes) or comma-separated keys\n", path);
		rc = PG_CONFIG;
	}
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (fd != -1)
		close(fd);
	return rc;
}

/* The ring named by the options, else the configured one. */
static enum pg_err
load_ring(const struct crypto_opts *o, const struct config *cfg,
    struct keyring *r)
{
	enum pg_err	 rc;

	if (o->key_file != NULL)
		return ring_from_file(o->key_file, r);
	if (o->key != NULL) {
		if ((rc = keyring_parse(o->key, r)) != PG_OK)
			fprintf(stderr, "payguard: --key: not a Fernet key (32 "
			    "url-safe base64-encoded bytes) or comma-separated "
			    "keys\n");
		return rc;
	}
	return keyring_load(cfg->enc_keys, cfg->state_dir, r);
}

/* Writes all of p to stdout; -1 on failure. */
static int
write_all(const void *p, size_t n)
{
	const char	*c = p;
	ssize_t		 w;

	while (n > 0) {
		if ((w = write(STDOUT_FILENO, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int
cmd_keygen(int argc, char **argv, const struct config *cfg)
{
	char	 key[FERNET_KEY_B64LEN + 2];
	int	 rc = 1;

	(void)cfg;
	if (argc > 1) {
		fprintf(stderr, "usage: payguard keygen\n");
		rc = 2;
		goto out;
	}
	(void)argv;
	if (fernet_key_generate(key) != PG_OK) {
		fprintf(stderr, "payguard: keygen: no randomness\n");
		goto out;
	}
	key[FERNET_KEY_B64LEN] = '\n';
	if (write_all(key, FERNET_KEY_B64LEN + 1) != 0)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int
cmd_encrypt(int argc, char **argv, const struct config *cfg)
{
	struct crypto_opts o;
	struct keyring	 r;
	char		*in = NULL, *tok = NULL;
	size_t		 len = 0, toklen = 0;
	int		 rc = 1;

	memset(&r, 0, sizeof(r));
	if (parse_opts(argc, argv, 0, 0, &o) != 0) {
		fprintf(stderr, "usage: payguard encrypt [--key K | --key-file "
		    "F] < plain > token\n");
		rc = 2;
		goto out;
	}
	if (load_ring(&o, cfg, &r) != PG_OK)
		goto out;
	if (cli_read_stdin(STDIN_MAX, &in, &len) != 0) {
		fprintf(stderr, "payguard: encrypt: cannot read stdin (at most "
		    "%lu bytes)\n", STDIN_MAX);
		goto out;
	}
	if (keyring_encrypt(&r, in, len, &tok, &toklen) != PG_OK) {
		fprintf(stderr, "payguard: encrypt: failed\n");
		goto out;
	}
	tok[toklen] = '\n';	/* the NUL's place: a line for the shell */
	if (write_all(tok, toklen + 1) != 0)
		goto out;
	rc = 0;
out:
	if (in != NULL) {
		OPENSSL_cleanse(in, len);
		free(in);
	}
	free(tok);
	keyring_wipe(&r);
	return rc;
}

int
cmd_decrypt(int argc, char **argv, const struct config *cfg)
{
	struct crypto_opts o;
	struct keyring	 r;
	unsigned char	*out = NULL;
	char		*in = NULL;
	size_t		 len = 0, outlen = 0;
	int		 rc = 1;
	enum pg_err	 e;

	memset(&r, 0, sizeof(r));
	if (parse_opts(argc, argv, 1, 0, &o) != 0) {
		fprintf(stderr, "usage: payguard decrypt [--key K | --key-file "
		    "F] [--ttl N] < token > plain\n");
		rc = 2;
		goto out;
	}
	if (load_ring(&o, cfg, &r) != PG_OK)
		goto out;
	if (cli_read_stdin(STDIN_MAX, &in, &len) != 0) {
		fprintf(stderr, "payguard: decrypt: cannot read stdin\n");
		goto out;
	}
	/* The shell's trailing newline is not part of the token. */
	while (len > 0 && (in[len - 1] == '\n' || in[len - 1] == '\r'))
		len--;
	e = keyring_decrypt(&r, in, len, o.ttl, &out, &outlen);
	if (e == PG_EXPIRED) {
		fprintf(stderr, "payguard: decrypt: token expired (older than "
		    "--ttl %ld s, or dated in the future)\n", o.ttl);
		goto out;
	}
	if (e != PG_OK) {
		fprintf(stderr, "payguard: decrypt: invalid token (malformed, "
		    "or not made with this key)\n");
		goto out;
	}
	if (write_all(out, outlen) != 0)
		goto out;
	rc = 0;
out:
	if (out != NULL) {
		OPENSSL_cleanse(out, outlen);
		free(out);
	}
	free(in);
	keyring_wipe(&r);
	return rc;
}

struct rot_progress {
	const char	*name;
	size_t		 next;	/* next count worth reporting */
};

/* Reports every 10% of large namespaces; small ones stay quiet. */
static void
rotate_progress(enum store_ns ns, size_t done, size_t total, void *arg)
{
	struct rot_progress *p = arg;

	(void)ns;
	if (total < 1000 || done < p->next)
		return;
	fprintf(stderr, "rotate-keys: %s: %zu/%zu records\n", p->name, done,
	    total);
	p->next = done + total / 10;
}

/* rotate-keys on the Redis backend: events, then stored responses.
 * 0, or -1 after saying why (a rerun resumes: done records are skipped). */
static int
rotate_shared(const struct config *cfg, const struct keyring *r)
{
	struct rstore	*rs = NULL;
	struct rs_rewrite res;
	char		 err[256];
	int		 i, rc = -1;
	enum pg_err	 e;

	if (rstore_open(cfg, &rs, err, sizeof(err)) != PG_OK) {
		fprintf(stderr, "payguard: rotate-keys: %s\n", err);
		goto out;
	}
	for (i = 0; i < 2; i++) {
		e = i == 0 ? rs_inbox_rotate(rs, r, &res) :
		    idem_rotate_shared(rs, r, &res);
		if (e != PG_OK) {
			fprintf(stderr, "payguard: rotate-keys: %s (Redis): %s "
			    "after %zu record(s); run it again to resume\n",
			    i == 0 ? "events" : "idempotency", pg_strerror(e),
			    res.changed);
			goto out;
		}
		fprintf(stderr, "rotate-keys: %s (Redis): %zu record(s) "
		    "re-encrypted", i == 0 ? "events" : "idempotency",
		    res.changed);
		if (res.bad > 0)
			fprintf(stderr, "; %zu readable under no configured key "
			    "(left as they are)", res.bad);
		fprintf(stderr, "\n");
	}
	rc = 0;
out:
	rstore_close(rs);
	return rc;
}

int
cmd_rotate_keys(int argc, char **argv, const struct config *cfg)
{
	static const struct {
		enum store_ns	 ns;
		const char	*name;
	} nss[] = {
		{ NS_EVENT, "events" },
		{ NS_IDEM, "idempotency" },
	};
	struct crypto_opts o;
	struct rot_progress p;
	struct keyring	 r;
	struct store	*st = NULL;
	size_t		 i, rotated;
	int		 rc = 1;
	enum pg_err	 e;

	memset(&r, 0, sizeof(r));
	if (parse_opts(argc, argv, 0, 1, &o) != 0) {
		fprintf(stderr, "usage: payguard rotate-keys [--batch N]\n");
		rc = 2;
		goto out;
	}
	if (keyring_load(cfg->enc_keys, cfg->state_dir, &r) != PG_OK)
		goto out;
	if (r.n < 2)
		fprintf(stderr, "rotate-keys: one key configured: only records "
		    "under other keys would change; put the new key first in "
		    "STRIPE_ENCRYPTION_KEY, the old ones after it\n");
	if ((e = store_open(cfg->state_dir, 0, &st)) != PG_OK) {
		fprintf(stderr, "payguard: rotate-keys: cannot open the store "
		    "in %s: %s\n", cfg->state_dir != NULL ? cfg->state_dir :
		    "(unset)", pg_strerror(e));
		goto out;
	}
	for (i = 0; i < sizeof(nss) / sizeof(nss[0]); i++) {
		p.name = nss[i].name;
		p.next = 0;
		rotated = 0;
		e = seal_rotate_ns(st, &r, nss[i].ns, o.batch, rotate_progress,
		    &p, &rotated);
		if (e != PG_OK) {
			/* Committed batches stay; a rerun resumes. */
			fprintf(stderr, "payguard: rotate-keys: %s: %s after %zu "
			    "record(s); run it again to resume\n", nss[i].name,
			    pg_strerror(e), rotated);
			goto out;
		}
		fprintf(stderr, "rotate-keys: %s: %zu record(s) re-encrypted\n",
		    nss[i].name, rotated);
	}
	/* PAYGUARD_STORE=redis: the shared records too (the local ones
	 * above may be left from before a migration). */
	if (cfg->store_redis && rotate_shared(cfg, &r) != 0)
		goto out;
	rc = 0;
out:
	store_close(st);
	keyring_wipe(&r);
	return rc;
}

int
cmd_mask(int argc, char **argv, const struct config *cfg)
{
	static const struct {
		const char	*kind;
		enum pg_err	 (*fn)(const char *, char *, size_t);
	} kinds[] = {
		{ "card", mask_card }, { "card_bin", mask_card_bin },
		{ "email", mask_email }, { "secret", mask_secret },
		{ "auto", mask_auto },
	};
	char		 out[4096], *text = NULL;
	size_t		 i, n = 0;
	int		 rc = 2;

	(void)cfg;
	if (argc != 3)
		goto usage;
	if (strcmp(argv[1], "text") == 0) {
		if (mask_text_len(argv[2], strlen(argv[2]), &text, &n) !=
		    PG_OK) {
			rc = 1;
			goto out;
		}
		printf("%.*s\n", (int)n, text);
		rc = 0;
		goto out;
	}
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(argv[1], kinds[i].kind) == 0)
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		goto usage;
	if (kinds[i].fn(argv[2], out, sizeof(out)) != PG_OK) {
		fprintf(stderr, "payguard: mask: value too long\n");
		rc = 1;
		goto out;
	}
	printf("%s\n", out);
	rc = 0;
	goto out;
usage:
	fprintf(stderr, "usage: payguard mask card|card_bin|email|secret|auto|"
	    "text VALUE\n");
out:
	free(text);
	return rc;
}
