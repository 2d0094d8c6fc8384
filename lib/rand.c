/*
 * payguard - random bytes from getrandom(2), small ones through a pool.
 */
#include <sys/random.h>

#include <errno.h>
#include <string.h>

#include "forkpage.h"
#include "log.h"
#include "rand.h"

_Static_assert(RAND_POOLED_MAX <= FORKPAGE_POOL, "a pooled request fits");

/* n bytes straight from the kernel. */
static enum pg_err
kernel_bytes(unsigned char *b, size_t n)
{
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

enum pg_err
rand_bytes(void *p, size_t n)
{
	struct forkpage	*fp;
	unsigned char	*from;
	enum pg_err	 e = PG_OK;

	if (n > RAND_POOLED_MAX || (fp = forkpage_get()) == NULL) {
		e = kernel_bytes(p, n);
		goto out;
	}
	if (fp->rand_left < n) {
		/* The rest is dropped; a failed refill leaves it empty. */
		fp->rand_left = 0;
		if ((e = kernel_bytes(fp->rand_pool, sizeof(fp->rand_pool))) !=
		    PG_OK)
			goto out;
		fp->rand_left = sizeof(fp->rand_pool);
	}
	from = fp->rand_pool + sizeof(fp->rand_pool) - fp->rand_left;
	memcpy(p, from, n);
	explicit_bzero(from, n);	/* handed out once, kept nowhere */
	fp->rand_left -= (unsigned int)n;
out:
	return e;
}
