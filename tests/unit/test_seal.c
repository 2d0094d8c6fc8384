/*
 * payguard - unit tests for lib/seal.c: the sealed-record layout and key
 * rotation over a real store: everything rotated, headers, expiries and
 * token timestamps kept, foreign records untouched, an interrupted run
 * resumed, and records readable by a concurrent reader throughout.
 */
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

#include "crypto.h"
#include "seal.h"
#include "store.h"

#define NREC	250

static struct keyring	 ring_old, ring_new, ring_k1;
static char		 k1[FERNET_KEY_B64LEN + 1], k2[FERNET_KEY_B64LEN + 1];

static int
setup_rings(void **state)
{
	char	 csv[128];

	(void)state;
	if (fernet_key_generate(k1) != PG_OK ||
	    fernet_key_generate(k2) != PG_OK)
		return -1;
	snprintf(csv, sizeof(csv), "%s,%s", k1, k2);
	if (keyring_parse(k2, &ring_old) != PG_OK ||
	    keyring_parse(csv, &ring_new) != PG_OK ||
	    keyring_parse(k1, &ring_k1) != PG_OK)
		return -1;
	return 0;
}

static void
test_pack_open(void **state)
{
	static const unsigned char hdr[] = { 1, 0, 2, 0, 0xff };
	void		*rec = NULL, *rec2 = NULL;
	const void	*h;
	const char	*tok;
	char		*text = NULL;
	unsigned char	*plain = NULL;
	size_t		 reclen = 0, rec2len = 0, hlen, toklen, plen = 0, textlen;

	(void)state;
	assert_int_equal(seal_pack(&ring_old, hdr, sizeof(hdr), "payload", 7,
	    &rec, &reclen), PG_OK);
	assert_int_equal(seal_split(rec, reclen, &h, &hlen, &tok, &toklen),
	    PG_OK);
	assert_int_equal(hlen, sizeof(hdr));
	assert_memory_equal(h, hdr, sizeof(hdr));
	/* Kept as bytes (Fernet's version byte first), a quarter smaller
	 * than the text form, which is the token Python reads. */
	assert_int_equal((unsigned char)tok[0], 0x80);
	assert_int_equal(fernet_token_text((const unsigned char *)tok, toklen,
	    &text, &textlen), PG_OK);
	assert_memory_equal(text, "gAAAAA", 6);
	assert_int_equal(textlen, (toklen + 2) / 3 * 4);
	free(text);
	assert_int_equal(seal_open(&ring_new, rec, reclen, &plain, &plen),
	    PG_OK);
	assert_int_equal(plen, 7);
	assert_string_equal((char *)plain, "payload");
	free(plain);
	assert_int_equal(seal_open(&ring_k1, rec, reclen, &plain, &plen),
	    PG_CRYPTO);
	/* Rehead: new header, same token. */
	assert_int_equal(seal_rehead(rec, reclen, "HDR", 3, &rec2, &rec2len),
	    PG_OK);
	assert_int_equal(rec2len, reclen - sizeof(hdr) + 3);
	assert_int_equal(seal_split(rec2, rec2len, &h, &hlen, &tok, &toklen),
	    PG_OK);
	assert_memory_equal(h, "HDR", 3);
	assert_int_equal(seal_open(&ring_old, rec2, rec2len, &plain, &plen),
	    PG_OK);
	free(plain);
	free(rec2);
	/* Empty header and empty payload. */
	free(rec);
	assert_int_equal(seal_pack(&ring_old, NULL, 0, "", 0, &rec, &reclen),
	    PG_OK);
	assert_int_equal(seal_open(&ring_old, rec, reclen, &plain, &plen),
	    PG_OK);
	assert_int_equal(plen, 0);
	free(plain);
	free(rec);
}

static void
test_split_rejects(void **state)
{
	static const unsigned char r1[] = { 1, 0, 0 };
	static const unsigned char r2[] = { 2, 0, 0, 0, 'a', 'b' };
	static const unsigned char r3[] = { 9, 0, 0, 0, 'a', 'b' };
	static const unsigned char r4[] = { 0, 0, 0, 0x80, 'a', 'b' };
	const void	*h;
	const char	*tok;
	size_t		 hlen, toklen;
	unsigned char	*plain = NULL;
	size_t		 plen;

	(void)state;
	assert_int_equal(seal_split(NULL, 0, &h, &hlen, &tok, &toklen),
	    PG_EINVAL);
	assert_int_equal(seal_split(r1, sizeof(r1), &h, &hlen, &tok, &toklen),
	    PG_EINVAL);
	assert_int_equal(seal_split(r2, sizeof(r2), &h, &hlen, &tok, &toklen),
	    PG_EINVAL);	/* no token left */
	assert_int_equal(seal_split(r3, sizeof(r3), &h, &hlen, &tok, &toklen),
	    PG_EINVAL);
	assert_int_equal(seal_split(r4, sizeof(r4), &h, &hlen, &tok, &toklen),
	    PG_EINVAL);
	assert_int_equal(seal_open(&ring_old, r2, sizeof(r2), &plain, &plen),
	    PG_EINVAL);
	assert_null(plain);
}

/* ---- rotation over a real store ---- */

struct fill {
	size_t	 n;
	int	 foreign;	/* also add a non-sealed and a bad record */
};

static void
rec_key(size_t i, char *key, size_t keysz)
{
	snprintf(key, keysz, "evt_%06zu", i);
}

static enum pg_err
fill_fn(struct store_txn *txn, void *arg)
{
	struct fill	*f = arg;
	char		 key[32], hdr[32], body[64];
	void		*rec = NULL;
	size_t		 reclen, i;
	struct fernet_key fk;
	char		*tok = NULL;
	size_t		 toklen;
	enum pg_err	 rc = PG_OK;

	for (i = 0; i < f->n && rc == PG_OK; i++) {
		rec_key(i, key, sizeof(key));
		snprintf(hdr, sizeof(hdr), "state=%zu", i % 3);
		snprintf(body, sizeof(body), "{\"id\":\"evt_%zu\"}", i);
		/* Old tokens, all made at one known past time. */
		fk = ring_old.keys[0];
		if ((rc = fernet_encrypt_at(&fk, body, strlen(body),
		    1600000000 + i, NULL, &tok, &toklen)) != PG_OK)
			break;
		reclen = 4 + strlen(hdr) + toklen;
		if ((rec = malloc(reclen)) == NULL)
			return PG_ENOMEM;
		memset(rec, 0, 4);
		((unsigned char *)rec)[0] = (unsigned char)strlen(hdr);
		memcpy((char *)rec + 4, hdr, strlen(hdr));
		memcpy((char *)rec + 4 + strlen(hdr), tok, toklen);
		rc = store_put(txn, NS_EVENT, key, strlen(key), rec, reclen,
		    i % 10 == 0 ? store_now_ms() + 3600 * 1000 : 0, 0);
		free(rec);
		free(tok);
	}
	if (rc == PG_OK && f->foreign) {
		rc = store_put(txn, NS_EVENT, "zz_plain", 8, "ab", 2, 0, 0);
		if (rc == PG_OK)
			rc = store_put(txn, NS_EVENT, "zz_bad", 6,
			    "\0\0\0\0gAAAAAAAbad", 16, 0, 0);
	}
	return rc;
}

struct check {
	size_t	 primary, readable, unreadable, foreign, with_expiry;
	size_t	 as_bytes;	/* tokens kept as bytes (not legacy text) */
	int	 ts_kept, hdr_kept;
};

static int
check_scan(const void *key, size_t klen, const void *val, size_t vlen,
    uint64_t expires, void *arg)
{
	struct check	*c = arg;
	const void	*h;
	const char	*tok;
	char		*text = NULL;
	size_t		 hlen, toklen, plen, i;
	unsigned char	*plain = NULL;
	uint64_t	 ts;
	char		 want[32], kbuf[64];

	if (klen >= 3 && memcmp(key, "zz_", 3) == 0) {
		c->foreign++;
		return 0;
	}
	if (seal_split(val, vlen, &h, &hlen, &tok, &toklen) != PG_OK) {
		c->unreadable++;
		return 0;
	}
	/* Seeded as text (records from before tokens were kept as bytes);
	 * rotated ones are bytes: both must read. */
	if ((unsigned char)tok[0] == 0x80) {
		if (fernet_token_text((const unsigned char *)tok, toklen, &text,
		    &toklen) != PG_OK)
			return -1;
		tok = text;
		c->as_bytes++;
	}
	if (keyring_is_primary(&ring_new, tok, toklen))
		c->primary++;
	if (seal_open(&ring_new, val, vlen, &plain, &plen) == PG_OK)
		c->readable++;
	else
		c->unreadable++;
	free(plain);
	/* Keys are not NUL-terminated: copy before parsing. */
	if (klen >= sizeof(kbuf)) {
		free(text);
		return -1;
	}
	memcpy(kbuf, key, klen);
	kbuf[klen] = '\0';
	i = (size_t)strtoul(kbuf + 4, NULL, 10);
	if (fernet_timestamp(tok, toklen, &ts) != PG_OK ||
	    ts != 1600000000 + i)
		c->ts_kept = 0;
	snprintf(want, sizeof(want), "state=%zu", i % 3);
	if (hlen != strlen(want) || memcmp(h, want, hlen) != 0)
		c->hdr_kept = 0;
	if (expires != 0)
		c->with_expiry++;
	free(text);
	return 0;
}

static enum pg_err
check_fn(struct store_txn *txn, void *arg)
{
	return store_scan(txn, NS_EVENT, NULL, 0, NULL, 0, 0, check_scan, arg);
}

static void
check_store(struct store *st, struct check *c)
{
	memset(c, 0, sizeof(*c));
	c->ts_kept = c->hdr_kept = 1;
	assert_int_equal(store_run(st, 0, check_fn, c), PG_OK);
}

static enum pg_err
meta_fn(struct store_txn *txn, void *arg)
{
	const void	*v;
	size_t		 vlen;
	char		 key[32];

	snprintf(key, sizeof(key), "rotate:%d", (int)NS_EVENT);
	*(enum pg_err *)arg = store_get(txn, NS_META, key, strlen(key), &v,
	    &vlen, NULL);
	return PG_OK;
}

static enum pg_err
meta_state(struct store *st)
{
	enum pg_err	 got = PG_OK;

	assert_int_equal(store_run(st, 0, meta_fn, &got), PG_OK);
	return got;
}

static char *
scratch(void)
{
	char	 tmpl[] = "/tmp/pg-seal.XXXXXX";

	assert_non_null(mkdtemp(tmpl));
	return strdup(tmpl);
}

static void
rm_dir(const char *d)
{
	char	 cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

struct progress {
	size_t	 calls, last_done, total;
};

static void
progress_fn(enum store_ns ns, size_t done, size_t total, void *arg)
{
	struct progress *p = arg;

	assert_int_equal(ns, NS_EVENT);
	assert_true(done >= p->last_done);
	p->calls++;
	p->last_done = done;
	p->total = total;
}

static void
test_rotate_all(void **state)
{
	struct store	*st = NULL;
	struct fill	 f = { NREC, 1 };
	struct check	 c;
	struct progress	 p = { 0, 0, 0 };
	size_t		 rotated = 0;
	char		*d = scratch();

	(void)state;
	assert_int_equal(store_open(d, STORE_NOSYNC, &st), PG_OK);
	assert_int_equal(store_run(st, 1, fill_fn, &f), PG_OK);
	check_store(st, &c);
	assert_int_equal(c.primary, 0);
	assert_int_equal(c.readable, NREC);
	assert_int_equal(c.as_bytes, 0);	/* seeded in the text form */
	/* Old ring: everything is already primary, nothing to do. */
	assert_int_equal(seal_rotate_ns(st, &ring_old, NS_EVENT, 17, NULL,
	    NULL, &rotated), PG_OK);
	assert_int_equal(rotated, 0);
	assert_int_equal(seal_rotate_ns(st, &ring_new, NS_EVENT, 17,
	    progress_fn, &p, &rotated), PG_OK);
	assert_int_equal(rotated, NREC);
	assert_true(p.calls >= NREC / 17);
	assert_int_equal(p.total, NREC + 2);
	assert_int_equal(p.last_done, NREC + 2);
	check_store(st, &c);
	assert_int_equal(c.primary, NREC);
	assert_int_equal(c.as_bytes, NREC);	/* rewritten as bytes */
	assert_int_equal(c.readable, NREC);
	assert_int_equal(c.unreadable, 0);
	assert_int_equal(c.foreign, 2);
	assert_int_equal(c.with_expiry, NREC / 10);
	assert_true(c.ts_kept);
	assert_true(c.hdr_kept);
	/* The position is gone once a run completes; a rerun is a no-op. */
	assert_int_equal(meta_state(st), PG_NOTFOUND);
	assert_int_equal(seal_rotate_ns(st, &ring_new, NS_EVENT, 0, NULL,
	    NULL, &rotated), PG_OK);
	assert_int_equal(rotated, 0);
	/* Bad arguments. */
	assert_int_equal(seal_rotate_ns(st, &ring_new, NS_META, 10, NULL,
	    NULL, &rotated), PG_EINVAL);
	store_close(st);
	rm_dir(d);
	free(d);
}

static void
die_after_first(enum store_ns ns, size_t done, size_t total, void *arg)
{
	(void)ns;
	(void)done;
	(void)total;
	(void)arg;
	_exit(3);	/* a crash right after the first batch committed */
}

static void
test_rotate_resume(void **state)
{
	struct store	*st = NULL;
	struct fill	 f = { NREC, 0 };
	struct check	 c;
	size_t		 rotated = 0;
	char		*d = scratch();
	pid_t		 pid;
	int		 status;

	(void)state;
	assert_int_equal(store_open(d, 0, &st), PG_OK);
	assert_int_equal(store_run(st, 1, fill_fn, &f), PG_OK);
	store_close(st);
	/* The store is opened in each process itself, never across fork. */
	if ((pid = fork()) == 0) {
		if (store_open(d, 0, &st) != PG_OK)
			_exit(1);
		(void)seal_rotate_ns(st, &ring_new, NS_EVENT, 40,
		    die_after_first, NULL, NULL);
		_exit(2);
	}
	assert_true(pid > 0);
	assert_true(waitpid(pid, &status, 0) == pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	assert_int_equal(store_open(d, 0, &st), PG_OK);
	check_store(st, &c);
	assert_int_equal(c.primary, 40);
	assert_int_equal(c.readable, NREC);
	assert_int_equal(meta_state(st), PG_OK);
	/* The rerun starts after the saved position. */
	assert_int_equal(seal_rotate_ns(st, &ring_new, NS_EVENT, 40, NULL,
	    NULL, &rotated), PG_OK);
	assert_int_equal(rotated, NREC - 40);
	check_store(st, &c);
	assert_int_equal(c.primary, NREC);
	assert_int_equal(c.readable, NREC);
	assert_true(c.ts_kept);
	assert_int_equal(meta_state(st), PG_NOTFOUND);
	store_close(st);
	rm_dir(d);
	free(d);
}

/* A reader running alongside rotation never finds an unreadable record. */
static void
test_rotate_concurrent_reader(void **state)
{
	struct store	*st = NULL;
	struct fill	 f = { NREC, 0 };
	struct check	 c;
	size_t		 rotated = 0;
	char		*d = scratch();
	pid_t		 pid;
	int		 status, stop[2];

	(void)state;
	assert_int_equal(store_open(d, STORE_NOSYNC, &st), PG_OK);
	assert_int_equal(store_run(st, 1, fill_fn, &f), PG_OK);
	store_close(st);
	assert_int_equal(pipe(stop), 0);
	if ((pid = fork()) == 0) {
		struct store *rs = NULL;
		char	 b;
		int	 loops = 0;

		close(stop[1]);
		if (store_open(d, 0, &rs) != PG_OK)
			_exit(1);
		/* Read until the parent closes the pipe, at least twice. */
		for (;;) {
			check_store(rs, &c);
			if (c.readable != NREC || c.unreadable != 0)
				_exit(2);
			if (++loops >= 2 && read(stop[0], &b, 1) == 0)
				break;
		}
		store_close(rs);
		_exit(0);
	}
	close(stop[0]);
	assert_int_equal(store_open(d, STORE_NOSYNC, &st), PG_OK);
	assert_int_equal(seal_rotate_ns(st, &ring_new, NS_EVENT, 7, NULL,
	    NULL, &rotated), PG_OK);
	assert_int_equal(rotated, NREC);
	close(stop[1]);
	assert_true(waitpid(pid, &status, 0) == pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	store_close(st);
	rm_dir(d);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pack_open),
		cmocka_unit_test(test_split_rejects),
		cmocka_unit_test(test_rotate_all),
		cmocka_unit_test(test_rotate_resume),
		cmocka_unit_test(test_rotate_concurrent_reader),
	};

	return cmocka_run_group_tests(tests, setup_rings, NULL);
}
