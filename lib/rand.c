/*
 * payguard - random bytes from getrandom(2).
 */
#include <sys/random.h>

#include <errno.h>

#include "log.h"
#include "rand.h"

enum pg_err
rand_bytes(void *p, size_t n)
{
	unsigned char	*b = p;
	ssize_t		 r;

	/* Blocks only until the kernel pool is first initialised. */
	while (n > 0) {
		if ((r = getrandom(b, n, 0)) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("getrandom");
			return PG_SYSTEM;
		}
		b += r;
		n -= (size_t)r;
	}
	return PG_OK;
}
