/*
 * payguard benchmark - Fernet encrypt and decrypt of 1 KB messages.
 *
 *   fernet_bench [SECONDS]   (default 2 per operation)
 *
 * Prints "encrypt OPS" and "decrypt OPS" lines (operations per second,
 * one core), for bench/bench_fernet.sh to compare with Python's Fernet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"

#define MSG_LEN	1024

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char *argv[])
{
	struct keyring	 r;
	unsigned char	 msg[MSG_LEN], *out = NULL;
	char		 key[FERNET_KEY_B64LEN + 1], *tok = NULL;
	size_t		 toklen = 0, outlen = 0, n;
	double		 secs = 2.0, t0, t;
	char		*end;
	int		 rc = 1;

	if (argc > 1 && ((secs = strtod(argv[1], &end)) <= 0 || *end != '\0'))
		goto out;
	memset(msg, 'a', sizeof(msg));
	if (fernet_key_generate(key) != PG_OK || keyring_parse(key, &r) !=
	    PG_OK)
		goto out;
	/* Encrypt: check the clock every 256 operations only. */
	t0 = now_s();
	for (n = 0;; ) {
		for (int i = 0; i < 256; i++, n++) {
			free(tok);
			if (keyring_encrypt(&r, msg, sizeof(msg), &tok,
			    &toklen) != PG_OK)
				goto out;
		}
		if ((t = now_s() - t0) >= secs)
			break;
	}
	printf("encrypt %.0f\n", (double)n / t);
	t0 = now_s();
	for (n = 0;; ) {
		for (int i = 0; i < 256; i++, n++) {
			free(out);
			if (keyring_decrypt(&r, tok, toklen, 60, &out,
			    &outlen) != PG_OK || outlen != sizeof(msg))
				goto out;
		}
		if ((t = now_s() - t0) >= secs)
			break;
	}
	printf("decrypt %.0f\n", (double)n / t);
	rc = 0;
out:
	free(tok);
	free(out);
	return rc;
}
