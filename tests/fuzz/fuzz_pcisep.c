/*
 * payguard fuzz target - the digit-group separator rule (pci_sep_len)
 * shared by detection and masking.
 *
 * Checks invariants, not just crashes: a separator is at most
 * PCI_SEP_MAX characters (12 bytes), stays inside the input and is
 * followed by a digit; a PAN the detector sees is also seen inside any
 * surrounding text; and masking leaves no PAN that detection would find.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mask.h"
#include "pci.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*s = (const char *)data;
	char		*wrapped, *m = NULL;
	size_t		 i, n, mlen = 0;

	for (i = 0; i < size; i++) {
		n = pci_sep_len(s + i, size - i);
		if (n > 0 && (n > PCI_SEP_MAX * 3 || i + n >= size ||
		    s[i + n] < '0' || s[i + n] > '9'))
			abort();
	}
	if ((wrapped = malloc(size + 3)) == NULL)
		return 0;
	wrapped[0] = 'x';
	memcpy(wrapped + 1, data, size);
	wrapped[size + 1] = 'x';
	wrapped[size + 2] = '\0';
	if (pci_is_pan(s, size) && (!pci_text_has_pan(s, size) ||
	    !pci_text_has_pan(wrapped, size + 2)))
		abort();
	if (mask_text_len(s, size, &m, &mlen) == PG_OK) {
		if (mlen > size || pci_text_has_pan(m, mlen))
			abort();
		free(m);
	}
	free(wrapped);
	return 0;
}
