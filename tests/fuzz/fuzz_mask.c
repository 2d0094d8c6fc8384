/*
 * payguard fuzz target - the string maskers on arbitrary bytes.
 *
 * Checks invariants, not just crashes: mask_text never grows the text,
 * never leaves a Luhn-valid 13-19 digit run whole, and the string
 * maskers always NUL-terminate within the buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mask.h"
#include "pci.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

typedef enum pg_err (*mask_fn)(const char *, char *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const mask_fn fns[] = {
		mask_card, mask_card_bin, mask_email, mask_secret, mask_auto,
	};
	char		*s, *m = NULL, out[64], big[4096];
	size_t		 i, mlen = 0;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (mask_text_len(s, size, &m, &mlen) == PG_OK) {
		if (mlen > size || m[mlen] != '\0')
			abort();
		/* No PAN survives masking. */
		if (pci_text_has_pan(m, mlen))
			abort();
		free(m);
	}
	for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		memset(out, 'Z', sizeof(out));
		(void)fns[i](s, out, sizeof(out));
		if (memchr(out, '\0', sizeof(out)) == NULL)
			abort();
		(void)fns[i](s, big, sizeof(big));
		(void)fns[i](s, out, 1);
	}
	(void)mask_is_sensitive_key(s);
	free(s);
	return 0;
}
