/* libFuzzer target: the Stripe-Signature header parser and verifier. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sig.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		*secrets[] = { (char *)"whsec_fuzz_secret_0001" };
	struct sig_header	 h;
	char			*hdr;
	size_t			 which;

	if ((hdr = malloc(size + 1)) == NULL)
		return 0;
	memcpy(hdr, data, size);
	hdr[size] = '\0';
	if (sig_parse(hdr, &h) == SIG_OK && h.nv1 > SIG_MAX_V1)
		abort();
	(void)sig_verify(hdr, data, size, secrets, 1, 300, 1700000000, &which);
	free(hdr);
	return 0;
}
