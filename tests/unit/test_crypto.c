/*
 * payguard - unit tests for lib/crypto.c: the fernet/spec vectors, every
 * invalid-token category, strict base64url, TTL and skew edges, the key
 * ring (MultiFernet decrypt and rotate), and keyring_load's key file,
 * including several processes racing to create it.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec.h"
#include "crypto.h"

/* fernet/spec generate.json and verify.json (one shared secret). */
#define SPEC_SECRET	"cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4="
#define SPEC_TOKEN	"gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4" \
			"BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA=="
#define SPEC_NOW	499162800ULL	/* 1985-10-26T01:20:00-07:00 */

static const unsigned char spec_iv[16] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
};

/*
 * The invalid.json categories, regenerated with pyca/cryptography
 * (Debian python3-cryptography) from the same secret, now and IV, plus
 * the extra cases of the 11-case forks and our strictness rules.
 */
struct bad_token {
	const char	*desc;
	const char	*token;
	long		 ttl;
	enum pg_err	 want;
};

static const struct bad_token bad_tokens[] = {
	{ "incorrect mac",
	  "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmr"
	  "huVUPgJobwOz7JcbmrR64jVmpU4IwqDQ==", 60, PG_CRYPTO },
	{ "too short",
	  "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmr"
	  "huVUPgJobwOz7JcbmrR64jVmpU4Iwq", 60, PG_CRYPTO },
	{ "invalid base64",
	  "%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%"
	  "%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%", 60, PG_CRYPTO },
	{ "payload size not multiple of block size",
	  "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BMeTZDT7Rwa9JD"
	  "J2Oji9qpn0b4Yy5GwlkJZVdqiFG-Ul", 60, PG_CRYPTO },
	{ "payload padding error",
	  "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0OD183wTU5nnsZ1OWvOQ9O8PQ_caxpcqR1sK"
	  "7c5q2mIlRivuHhhB7n0-j-3Xm6z8VmXQ==", 60, PG_CRYPTO },
	{ "far-future TS (unacceptable clock skew)",
	  "gAAAAAAdwJ7tAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLf1H74pnWJ5P"
	  "wdtGFz0WQlogHQ84nMUbLU_5aTpz1yAQ==", 60, PG_EXPIRED },
	{ "expired TTL",
	  "gAAAAAAdwJ5zAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLJR1BhG6aP5lR"
	  "F3EUSiSFE5lLP1Cx2JVNJ98ODjwtHVzw==", 60, PG_EXPIRED },
	{ "incorrect IV (causes padding error)",
	  "gAAAAAAdwJ6wAQEBAQEBAQEBAQEBAQEBAS021cpGVWKZ_eEwCGM4BLL7Y2Lo407wln"
	  "wdFeSqDjwiCsDxNRwO7FXKnUQBXCvQkg==", 60, PG_CRYPTO },
	/* The extra categories. */
	{ "trailing characters after padding", SPEC_TOKEN "A", 60,
	  PG_CRYPTO },
	{ "trailing padding quartet", SPEC_TOKEN "====", 60, PG_CRYPTO },
	{ "trailing newline", SPEC_TOKEN "\n", 60, PG_CRYPTO },
	{ "invalid characters inside",
	  "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmr"
	  "huVUPgJobwOz7JcbmrR64jVmpU4Iw*DA==", 60, PG_CRYPTO },
	{ "space inside",
	  "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmr"
	  "huVUPgJobwOz7JcbmrR64jVmpU4Iw DA==", 60, PG_CRYPTO },
	{ "missing padding",
	  "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmr"
	  "huVUPgJobwOz7JcbmrR64jVmpU4IwqDA", 60, PG_CRYPTO },
	{ "non-zero filler bits before padding",
	  "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmr"
	  "huVUPgJobwOz7JcbmrR64jVmpU4IwqDB==", 60, PG_CRYPTO },
	{ "padding in the middle",
	  "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmr"
	  "huVUPgJobwOz7JcbmrR64jVmp=4IwqDA==", 60, PG_CRYPTO },
	{ "wrong version byte",
	  "gQAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmr"
	  "huVUPgJobwOz7JcbmrR64jVmpU4IwqDA==", 60, PG_CRYPTO },
	{ "empty", "", 60, PG_CRYPTO },
	{ "padding only", "====", 60, PG_CRYPTO },
};

static void
spec_key(struct fernet_key *k)
{
	assert_int_equal(fernet_key_parse(SPEC_SECRET, strlen(SPEC_SECRET), k),
	    PG_OK);
}

static void
test_spec_generate(void **state)
{
	struct fernet_key k;
	char		*tok = NULL;
	size_t		 len = 0;

	(void)state;
	spec_key(&k);
	assert_int_equal(fernet_encrypt_at(&k, "hello", 5, SPEC_NOW, spec_iv,
	    &tok, &len), PG_OK);
	assert_string_equal(tok, SPEC_TOKEN);
	assert_int_equal(len, strlen(SPEC_TOKEN));
	free(tok);
}

static void
test_spec_verify(void **state)
{
	struct fernet_key k;
	unsigned char	*out = NULL;
	size_t		 len = 0;
	uint64_t	 ts = 0;

	(void)state;
	spec_key(&k);
	assert_int_equal(fernet_decrypt_at(&k, SPEC_TOKEN, strlen(SPEC_TOKEN),
	    60, SPEC_NOW + 1, &out, &len), PG_OK);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(out[5], '\0');
	free(out);
	assert_int_equal(fernet_timestamp(SPEC_TOKEN, strlen(SPEC_TOKEN), &ts),
	    PG_OK);
	assert_int_equal(ts, SPEC_NOW);
}

static void
test_spec_invalid(void **state)
{
	struct fernet_key k;
	unsigned char	*out = (unsigned char *)"x";
	size_t		 i, len = 7;
	enum pg_err	 rc;

	(void)state;
	spec_key(&k);
	for (i = 0; i < sizeof(bad_tokens) / sizeof(bad_tokens[0]); i++) {
		rc = fernet_decrypt_at(&k, bad_tokens[i].token,
		    strlen(bad_tokens[i].token), bad_tokens[i].ttl, SPEC_NOW,
		    &out, &len);
		if (rc != bad_tokens[i].want)
			fail_msg("%s: got %d want %d", bad_tokens[i].desc, rc,
			    bad_tokens[i].want);
		assert_null(out);
		assert_int_equal(len, 0);
	}
}

/* pyca accepts '+' and '/'; we do not: only the url-safe alphabet. */
static void
test_non_urlsafe(void **state)
{
	struct fernet_key k;
	unsigned char	*out = NULL;
	size_t		 len = 0, i;
	char		*tok = NULL, *t2;
	int		 found = 0;

	(void)state;
	spec_key(&k);
	/* Find a token containing '-' or '_' and swap in '+' or '/'. */
	while (!found) {
		assert_int_equal(fernet_encrypt_at(&k, "hello", 5, SPEC_NOW, NULL,
		    &tok, &len), PG_OK);
		t2 = strdup(tok);
		for (i = 0; i < len; i++)
			if (t2[i] == '-' || t2[i] == '_') {
				t2[i] = t2[i] == '-' ? '+' : '/';
				found = 1;
			}
		if (found)
			assert_int_equal(fernet_decrypt_at(&k, t2, len, -1,
			    SPEC_NOW, &out, &len), PG_CRYPTO);
		free(t2);
		free(tok);
	}
}

static void
test_no_ttl_accepts_old_and_future(void **state)
{
	struct fernet_key k;
	unsigned char	*out = NULL;
	size_t		 len = 0;

	(void)state;
	spec_key(&k);
	/* The expired and far-future vectors carry valid MACs. */
	assert_int_equal(fernet_decrypt_at(&k, bad_tokens[5].token,
	    strlen(bad_tokens[5].token), FERNET_NO_TTL, SPEC_NOW, &out, &len),
	    PG_OK);
	assert_string_equal((char *)out, "hello");
	free(out);
	assert_int_equal(fernet_decrypt_at(&k, bad_tokens[6].token,
	    strlen(bad_tokens[6].token), FERNET_NO_TTL, SPEC_NOW, &out, &len),
	    PG_OK);
	free(out);
}

/* ts + ttl < now and now + 60 < ts are the exact rejection bounds. */
static void
test_ttl_edges(void **state)
{
	struct fernet_key k;
	unsigned char	*out = NULL;
	size_t		 len = 0;
	char		*tok = NULL;
	uint64_t	 t = 1700000000;

	(void)state;
	spec_key(&k);
	assert_int_equal(fernet_encrypt_at(&k, "x", 1, t, NULL, &tok, &len),
	    PG_OK);
	assert_int_equal(fernet_decrypt_at(&k, tok, len, 10, t + 10, &out,
	    &len), PG_OK);
	free(out);
	len = strlen(tok);
	assert_int_equal(fernet_decrypt_at(&k, tok, len, 10, t + 11, &out,
	    &len), PG_EXPIRED);
	len = strlen(tok);
	assert_int_equal(fernet_decrypt_at(&k, tok, len, 0, t, &out, &len),
	    PG_OK);
	free(out);
	len = strlen(tok);
	assert_int_equal(fernet_decrypt_at(&k, tok, len, 10, t - 60, &out,
	    &len), PG_OK);
	free(out);
	len = strlen(tok);
	assert_int_equal(fernet_decrypt_at(&k, tok, len, 10, t - 61, &out,
	    &len), PG_EXPIRED);
	/* Huge values must not wrap around. */
	len = strlen(tok);
	assert_int_equal(fernet_decrypt_at(&k, tok, len, 0x7fffffffL,
	    UINT64_MAX, &out, &len), PG_EXPIRED);
	free(tok);
	assert_int_equal(fernet_encrypt_at(&k, "x", 1, UINT64_MAX, NULL, &tok,
	    &len), PG_OK);
	assert_int_equal(fernet_decrypt_at(&k, tok, len, 0x7fffffffL, 0,
	    &out, &len), PG_EXPIRED);
	free(tok);
}

static void
test_roundtrip_sizes(void **state)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 31, 32, 1024,
	    65537, 1 << 20 };
	struct fernet_key k;
	unsigned char	*msg, *out = NULL;
	char		*tok = NULL, *tok2 = NULL;
	size_t		 i, j, len = 0, len2 = 0, outlen = 0;

	(void)state;
	spec_key(&k);
	msg = malloc(1 << 20);
	assert_non_null(msg);
	for (j = 0; j < (1 << 20); j++)
		msg[j] = (unsigned char)(j * 7 + 3);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(fernet_encrypt_at(&k, msg, sizes[i], 1000,
		    NULL, &tok, &len), PG_OK);
		assert_int_equal(len % 4, 0);
		assert_int_equal(strlen(tok), len);
		assert_int_equal(fernet_decrypt_at(&k, tok, len, -1, 0, &out,
		    &outlen), PG_OK);
		assert_int_equal(outlen, sizes[i]);
		if (sizes[i] > 0)
			assert_memory_equal(out, msg, sizes[i]);
		/* A fresh IV each time: same plaintext, other token. */
		assert_int_equal(fernet_encrypt_at(&k, msg, sizes[i], 1000,
		    NULL, &tok2, &len2), PG_OK);
		assert_string_not_equal(tok, tok2);
		free(out);
		free(tok);
		free(tok2);
	}
	free(msg);
}

static void
test_key_parse(void **state)
{
	static const char *const bad[] = {
		"",
		"cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4",	/* unpadded */
		"cw_0x689RpI+jtRR7oE8h/eQsKImvJapLeSbXpwF4e4=",	/* std b64 */
		"cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4==",
		"cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e=",	/* 31 B */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 36 B */
		"cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e5=",	/* filler */
	};
	struct fernet_key k;
	char		 gen[FERNET_KEY_B64LEN + 1], gen2[FERNET_KEY_B64LEN + 1];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (fernet_key_parse(bad[i], strlen(bad[i]), &k) != PG_EINVAL)
			fail_msg("accepted bad key %zu", i);
	assert_int_equal(fernet_key_parse(NULL, 0, &k), PG_EINVAL);
	assert_int_equal(fernet_key_generate(gen), PG_OK);
	assert_int_equal(strlen(gen), FERNET_KEY_B64LEN);
	assert_int_equal(fernet_key_parse(gen, strlen(gen), &k), PG_OK);
	assert_int_equal(fernet_key_generate(gen2), PG_OK);
	assert_string_not_equal(gen, gen2);
}

static void
make_key(char out[FERNET_KEY_B64LEN + 1])
{
	assert_int_equal(fernet_key_generate(out), PG_OK);
}

static void
test_keyring_parse(void **state)
{
	char		 k1[45], k2[45], csv[1024];
	struct keyring	 r;
	int		 i;

	(void)state;
	make_key(k1);
	make_key(k2);
	snprintf(csv, sizeof(csv), " %s , %s ", k1, k2);
	assert_int_equal(keyring_parse(csv, &r), PG_OK);
	assert_int_equal(r.n, 2);
	snprintf(csv, sizeof(csv), "%s,%s", k1, k2);
	assert_int_equal(keyring_parse(csv, &r), PG_OK);
	assert_int_equal(r.n, 2);
	snprintf(csv, sizeof(csv), "%s,,%s", k1, k2);
	assert_int_equal(keyring_parse(csv, &r), PG_EINVAL);
	assert_int_equal(r.n, 0);
	snprintf(csv, sizeof(csv), "%s,", k1);
	assert_int_equal(keyring_parse(csv, &r), PG_EINVAL);
	snprintf(csv, sizeof(csv), "%s %s", k1, k2);
	assert_int_equal(keyring_parse(csv, &r), PG_EINVAL);
	assert_int_equal(keyring_parse("", &r), PG_EINVAL);
	assert_int_equal(keyring_parse(NULL, &r), PG_EINVAL);
	csv[0] = '\0';
	for (i = 0; i < KEYRING_MAX + 1; i++) {
		size_t n = strlen(csv);

		snprintf(csv + n, sizeof(csv) - n, "%s%s", i ? "," : "", k1);
	}
	assert_int_equal(keyring_parse(csv, &r), PG_TOOLARGE);
}

static void
test_keyring_multi(void **state)
{
	char		 k1[45], k2[45], k3[45], csv[256];
	struct keyring	 r, old, other;
	unsigned char	*out = NULL;
	char		*tok = NULL;
	size_t		 len = 0, outlen = 0;

	(void)state;
	make_key(k1);
	make_key(k2);
	make_key(k3);
	snprintf(csv, sizeof(csv), "%s,%s", k1, k2);
	assert_int_equal(keyring_parse(csv, &r), PG_OK);
	assert_int_equal(keyring_parse(k2, &old), PG_OK);
	assert_int_equal(keyring_parse(k3, &other), PG_OK);
	/* A token of the old key decrypts with the new ring. */
	assert_int_equal(keyring_encrypt(&old, "card", 4, &tok, &len), PG_OK);
	assert_int_equal(keyring_decrypt(&r, tok, len, 60, &out, &outlen),
	    PG_OK);
	assert_memory_equal(out, "card", 4);
	free(out);
	assert_false(keyring_is_primary(&r, tok, len));
	assert_true(keyring_is_primary(&old, tok, len));
	assert_int_equal(keyring_decrypt(&other, tok, len, 60, &out, &outlen),
	    PG_CRYPTO);
	free(tok);
	/* The ring encrypts under its first key. */
	assert_int_equal(keyring_encrypt(&r, "x", 1, &tok, &len), PG_OK);
	assert_true(keyring_is_primary(&r, tok, len));
	assert_int_equal(keyring_decrypt(&old, tok, len, -1, &out, &outlen),
	    PG_CRYPTO);
	free(tok);
	keyring_wipe(&r);
	assert_int_equal(r.n, 0);
}

static void
test_keyring_rotate(void **state)
{
	char		 k1[45], k2[45], csv[256];
	struct keyring	 r, old, primary;
	struct fernet_key ok;
	unsigned char	*out = NULL;
	char		*tok = NULL, *nt = NULL, *nt2 = NULL;
	size_t		 len = 0, nlen = 0, nlen2 = 0, outlen = 0;
	uint64_t	 ts = 0;

	(void)state;
	make_key(k1);
	make_key(k2);
	snprintf(csv, sizeof(csv), "%s,%s", k1, k2);
	assert_int_equal(keyring_parse(csv, &r), PG_OK);
	assert_int_equal(keyring_parse(k2, &old), PG_OK);
	assert_int_equal(keyring_parse(k1, &primary), PG_OK);
	ok = old.keys[0];
	/* Ten years old: rotation ignores the TTL, as MultiFernet. */
	assert_int_equal(fernet_encrypt_at(&ok, "secret", 6, 1400000000, NULL,
	    &tok, &len), PG_OK);
	assert_int_equal(keyring_rotate(&r, tok, len, &nt, &nlen), PG_OK);
	assert_int_equal(fernet_timestamp(nt, nlen, &ts), PG_OK);
	assert_int_equal(ts, 1400000000);
	assert_true(keyring_is_primary(&r, nt, nlen));
	assert_int_equal(keyring_decrypt(&primary, nt, nlen, -1, &out,
	    &outlen), PG_OK);
	assert_memory_equal(out, "secret", 6);
	free(out);
	/* Expired under a TTL still, because the timestamp was kept. */
	assert_int_equal(keyring_decrypt(&primary, nt, nlen, 3600, &out,
	    &outlen), PG_EXPIRED);
	/* Rotating again gives a fresh IV. */
	assert_int_equal(keyring_rotate(&r, nt, nlen, &nt2, &nlen2), PG_OK);
	assert_memory_not_equal(nt + 12, nt2 + 12, 20);
	/* Garbage does not rotate. */
	free(nt);
	assert_int_equal(keyring_rotate(&r, "gAAAA", 5, &nt, &nlen),
	    PG_CRYPTO);
	assert_null(nt);
	free(tok);
	free(nt2);
}

/* Captures stderr while fn runs; the text goes into buf. */
static void
capture_stderr(char *buf, size_t bufsz, int *saved)
{
	FILE	*f;

	if (saved != NULL && *saved == -1) {
		fflush(stderr);
		*saved = dup(STDERR_FILENO);
		f = fopen("/tmp/pg-test-crypto-stderr", "w+");
		assert_non_null(f);
		dup2(fileno(f), STDERR_FILENO);
		fclose(f);
		return;
	}
	fflush(stderr);
	dup2(*saved, STDERR_FILENO);
	close(*saved);
	*saved = -1;
	f = fopen("/tmp/pg-test-crypto-stderr", "r");
	assert_non_null(f);
	buf[fread(buf, 1, bufsz - 1, f)] = '\0';
	fclose(f);
	unlink("/tmp/pg-test-crypto-stderr");
}

static void
test_keyring_load_malformed(void **state)
{
	char		 k1[45], bad[128], log[4096];
	struct keyring	 r;
	int		 saved = -1;

	(void)state;
	make_key(k1);
	/* Almost right: one character short. */
	snprintf(bad, sizeof(bad), "%s,%.43s", k1, k1);
	capture_stderr(NULL, 0, &saved);
	assert_int_equal(keyring_load(bad, "/nonexistent", &r), PG_CONFIG);
	capture_stderr(log, sizeof(log), &saved);
	assert_int_equal(r.n, 0);
	assert_non_null(strstr(log, "STRIPE_ENCRYPTION_KEY"));
	/* Neither the key nor a long piece of it is ever logged. */
	assert_null(strstr(log, k1));
	k1[20] = '\0';
	assert_null(strstr(log, k1));
	assert_int_equal(keyring_load(k1, NULL, &r), PG_CONFIG);
}

static char *
scratch_dir(void)
{
	char	 tmpl[] = "/tmp/pg-crypto.XXXXXX";
	char	*d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void
rm_dir(const char *d)
{
	char	 cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

static void
test_keyring_load_file(void **state)
{
	struct keyring	 r1, r2;
	struct stat	 sb;
	char		*d = scratch_dir(), path[512], log[4096];
	int		 saved = -1;

	(void)state;
	snprintf(path, sizeof(path), "%s/state", d);
	capture_stderr(NULL, 0, &saved);
	assert_int_equal(keyring_load("", path, &r1), PG_OK);
	capture_stderr(log, sizeof(log), &saved);
	assert_non_null(strstr(log, "generated key"));
	assert_int_equal(r1.n, 1);
	/* Warned once, when generated; not on every later load. */
	capture_stderr(NULL, 0, &saved);
	assert_int_equal(keyring_load(NULL, path, &r2), PG_OK);
	capture_stderr(log, sizeof(log), &saved);
	assert_null(strstr(log, "generated key"));
	assert_memory_equal(&r1.keys[0], &r2.keys[0], sizeof(r1.keys[0]));
	snprintf(path, sizeof(path), "%s/state/encryption.key", d);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* A key file others can read is refused. */
	assert_int_equal(chmod(path, 0644), 0);
	snprintf(path, sizeof(path), "%s/state", d);
	assert_int_equal(keyring_load(NULL, path, &r2), PG_CONFIG);
	rm_dir(d);
	free(d);
}

#define RACERS	8

static void
test_keyring_load_race(void **state)
{
	struct keyring	 r;
	struct stat	 sb;
	char		*d = scratch_dir(), path[512], cmd[600];
	unsigned char	 got[RACERS][32];
	int		 go[2], res[2], i, st, round;
	pid_t		 pid;

	(void)state;
	for (round = 0; round < 5; round++) {
		snprintf(path, sizeof(path), "%s/r%d", d, round);
		assert_int_equal(mkdir(path, 0700), 0);
		assert_int_equal(pipe(go), 0);
		assert_int_equal(pipe(res), 0);
		for (i = 0; i < RACERS; i++) {
			if ((pid = fork()) == 0) {
				char	 c;
				unsigned char out[33];

				close(go[1]);
				/* Everyone starts when the pipe closes. */
				(void)!read(go[0], &c, 1);
				/* O_APPEND: each log line lands whole. */
				snprintf(cmd, sizeof(cmd), "%s.log", path);
				freopen(cmd, "a", stderr);
				out[0] = (unsigned char)i;
				if (keyring_load(NULL, path, &r) != PG_OK)
					_exit(1);
				memcpy(out + 1, &r.keys[0], 32);
				(void)!write(res[1], out, sizeof(out));
				_exit(0);
			}
			assert_true(pid > 0);
		}
		close(go[0]);
		close(res[1]);
		close(go[1]);
		for (i = 0; i < RACERS; i++) {
			unsigned char out[33];

			assert_int_equal(read(res[0], out, sizeof(out)),
			    sizeof(out));
			memcpy(got[out[0] % RACERS], out + 1, 32);
		}
		close(res[0]);
		for (i = 0; i < RACERS; i++) {
			assert_true(wait(&st) > 0);
			assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		}
		for (i = 1; i < RACERS; i++)
			assert_memory_equal(got[0], got[i], 32);
		/* One file, 0600, and no temporary left behind. */
		snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 1",
		    path);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd), "%s/encryption.key", path);
		assert_int_equal(stat(cmd, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
		assert_int_equal(sb.st_size, FERNET_KEY_B64LEN + 1);
		/* The back-it-up warning comes once, from the winner. */
		snprintf(cmd, sizeof(cmd), "test $(grep -c 'newly generated "
		    "key' '%s.log') -eq 1", path);
		assert_int_equal(system(cmd), 0);
	}
	rm_dir(d);
	free(d);
}

/*
 * HMAC-SHA256 against RFC 4231's vectors (test cases 2 and 4), the keys
 * alternating: the one context is re-keyed on every call.  The parted
 * form gives the MAC of the joined message.
 */
static void
test_hmac_vectors(void **s)
{
	static const char k2[] = "Jefe";
	static const char m2[] = "what do ya want for nothing?";
	static const char h2[] = "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843";
	static const char h4[] = "82558a389a443c0ea4cc819899f2083a"
	    "85f0faa3e578f8077a2e3ff46729665b";
	unsigned char	 k4[25], m4[50], mac[32];
	char		 hex[65];
	struct crypto_part parts[3];
	size_t		 i;
	int		 round;

	(void)s;
	for (i = 0; i < sizeof(k4); i++)
		k4[i] = (unsigned char)(i + 1);
	memset(m4, 0xcd, sizeof(m4));
	for (round = 0; round < 3; round++) {
		assert_int_equal(crypto_hmac_sha256(k2, 4, m2, strlen(m2), mac),
		    PG_OK);
		codec_hex_encode(mac, sizeof(mac), hex);
		assert_string_equal(hex, h2);
		assert_int_equal(crypto_hmac_sha256(k4, sizeof(k4), m4,
		    sizeof(m4), mac), PG_OK);
		codec_hex_encode(mac, sizeof(mac), hex);
		assert_string_equal(hex, h4);
	}
	parts[0].p = m2;
	parts[0].n = 4;
	parts[1].p = m2 + 4;
	parts[1].n = 0;
	parts[2].p = m2 + 4;
	parts[2].n = strlen(m2) - 4;
	assert_int_equal(crypto_hmac_sha256v(k2, 4, parts, 3, mac), PG_OK);
	codec_hex_encode(mac, sizeof(mac), hex);
	assert_string_equal(hex, h2);
	/* No key is the empty key, never the last caller's (which OpenSSL
	 * would reuse for a NULL key). */
	assert_int_equal(crypto_hmac_sha256(NULL, 0, m2, strlen(m2), mac),
	    PG_OK);
	codec_hex_encode(mac, sizeof(mac), hex);
	assert_string_equal(hex, "76d9e7194e7dbc3aa00bbe8ffb9f6fcb"
	    "5a932170f971f948bb2ab61607d2b9d6");
}

/* SHA-256 against FIPS 180-2's "abc" and two-block vectors, in turn (the
 * one context is re-initialised each time), and in parts. */
static void
test_sha256_vectors(void **s)
{
	static const char m1[] = "abc";
	static const char m2[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const char h1[] = "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad";
	static const char h2[] = "248d6a61d20638b8e5c026930c3e6039"
	    "a33ce45964ff2167f6ecedd419db06c1";
	unsigned char	 md[32];
	char		 hex[65];
	struct crypto_part parts[2];
	int		 round;

	(void)s;
	for (round = 0; round < 3; round++) {
		assert_int_equal(crypto_sha256(m1, 3, md), PG_OK);
		codec_hex_encode(md, sizeof(md), hex);
		assert_string_equal(hex, h1);
		assert_int_equal(crypto_sha256(m2, strlen(m2), md), PG_OK);
		codec_hex_encode(md, sizeof(md), hex);
		assert_string_equal(hex, h2);
	}
	parts[0].p = m2;
	parts[0].n = 10;
	parts[1].p = m2 + 10;
	parts[1].n = strlen(m2) - 10;
	assert_int_equal(crypto_sha256v(parts, 2, md), PG_OK);
	codec_hex_encode(md, sizeof(md), hex);
	assert_string_equal(hex, h2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_vectors),
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_spec_generate),
		cmocka_unit_test(test_spec_verify),
		cmocka_unit_test(test_spec_invalid),
		cmocka_unit_test(test_non_urlsafe),
		cmocka_unit_test(test_no_ttl_accepts_old_and_future),
		cmocka_unit_test(test_ttl_edges),
		cmocka_unit_test(test_roundtrip_sizes),
		cmocka_unit_test(test_key_parse),
		cmocka_unit_test(test_keyring_parse),
		cmocka_unit_test(test_keyring_multi),
		cmocka_unit_test(test_keyring_rotate),
		cmocka_unit_test(test_keyring_load_malformed),
		cmocka_unit_test(test_keyring_load_file),
		cmocka_unit_test(test_keyring_load_race),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
