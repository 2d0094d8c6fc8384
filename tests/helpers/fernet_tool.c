/*
 * payguard test helper - exposes Fernet operations the CLI does not, for
 * the Python interoperability test (tests/e2e/test_fernet_interop.py):
 *
 *   fernet_tool rotate KEYS < token       keyring_rotate under the ring
 *   fernet_tool encrypt-at KEY NOW < msg  fernet_encrypt_at at time NOW
 *   fernet_tool decrypt-at KEYS TTL NOW < token
 *
 * KEYS is a comma-separated ring.  Exit 0 on success, 1 on an invalid
 * token, 2 on a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"

static int
read_stdin(char *buf, size_t bufsz, size_t *len)
{
	size_t	 n = 0;
	ssize_t	 r;

	while (n < bufsz - 1 && (r = read(STDIN_FILENO, buf + n,
	    bufsz - 1 - n)) > 0)
		n += (size_t)r;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	*len = n;
	return 0;
}

static int
num(const char *s, unsigned long long *v)
{
	char	*end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0' && end != s ? 0 : -1;
}

int
main(int argc, char *argv[])
{
	static char	 in[1 << 20];
	struct keyring	 r;
	unsigned long long ttl, now;
	unsigned char	*plain = NULL;
	char		*tok = NULL;
	size_t		 len = 0, toklen = 0, plen = 0;
	int		 rc = 2;

	if (argc < 3 || keyring_parse(argv[2], &r) != PG_OK)
		goto out;
	read_stdin(in, sizeof(in), &len);
	if (strcmp(argv[1], "rotate") == 0 && argc == 3) {
		rc = 1;
		if (keyring_rotate(&r, in, len, &tok, &toklen) != PG_OK)
			goto out;
		printf("%s\n", tok);
	} else if (strcmp(argv[1], "encrypt-at") == 0 && argc == 4 &&
	    num(argv[3], &now) == 0) {
		rc = 1;
		if (fernet_encrypt_at(&r.keys[0], in, len, now, NULL, &tok,
		    &toklen) != PG_OK)
			goto out;
		printf("%s\n", tok);
	} else if (strcmp(argv[1], "decrypt-at") == 0 && argc == 5 &&
	    num(argv[3], &ttl) == 0 && num(argv[4], &now) == 0) {
		rc = 1;
		if (r.n == 0 || fernet_decrypt_at(&r.keys[0], in, len,
		    (long)ttl, now, &plain, &plen) != PG_OK)
			goto out;
		fwrite(plain, 1, plen, stdout);
	} else
		goto out;
	rc = 0;
out:
	free(tok);
	free(plain);
	keyring_wipe(&r);
	return rc;
}
