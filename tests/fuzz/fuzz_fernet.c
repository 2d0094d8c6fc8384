/*
 * payguard fuzz target - Fernet token decoding and verification.
 *
 * The input is a token candidate.  It is checked under a fixed key with
 * and without a TTL, through the ring, the timestamp reader and rotation;
 * anything that decrypts must round-trip through encrypt.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define SECRET	"cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4="

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct keyring	 r;
	static int		 ready;
	unsigned char		*out = NULL, *out2 = NULL;
	char			*tok, *t2 = NULL;
	size_t			 outlen = 0, out2len = 0, t2len = 0;
	uint64_t		 ts;

	if (!ready) {
		if (keyring_parse(SECRET, &r) != PG_OK)
			abort();
		ready = 1;
	}
	/* Tokens are C strings to most callers: give a NUL after them. */
	if ((tok = malloc(size + 1)) == NULL)
		return 0;
	memcpy(tok, data, size);
	tok[size] = '\0';
	(void)fernet_timestamp(tok, size, &ts);
	(void)fernet_decrypt_at(&r.keys[0], tok, size, 60, 499162800, &out,
	    &outlen);
	free(out);
	out = NULL;
	if (fernet_decrypt_at(&r.keys[0], tok, size, FERNET_NO_TTL, 0, &out,
	    &outlen) == PG_OK) {
		/* Only a genuine token gets here: re-encrypt and compare. */
		if (fernet_encrypt_at(&r.keys[0], out, outlen, 1, NULL, &t2,
		    &t2len) != PG_OK ||
		    fernet_decrypt_at(&r.keys[0], t2, t2len, FERNET_NO_TTL, 0,
		    &out2, &out2len) != PG_OK || out2len != outlen ||
		    memcmp(out, out2, outlen) != 0)
			abort();
	}
	(void)keyring_is_primary(&r, tok, size);
	free(t2);
	t2 = NULL;
	if (keyring_rotate(&r, tok, size, &t2, &t2len) == PG_OK &&
	    out == NULL)
		abort();	/* rotated something that did not decrypt */
	free(t2);
	free(out);
	free(out2);
	free(tok);
	return 0;
}
