/*
 * payguard - random bytes from the kernel (getrandom(2)).
 *
 * Used for keys, IVs, tokens and ids.  Not OpenSSL's RAND_bytes: its
 * first call instantiates OpenSSL 3's DRBG, about 3.3 million instructions
 * that a plain CGI process would pay on every request, for bytes that come
 * from the same kernel source anyway.  Small requests are served from a
 * pool of FORKPAGE_POOL bytes that one getrandom(2) call refills (a
 * webhook request takes three sets of 12-16 bytes: three system calls
 * before), kept on forkpage's page so that a fork's child never hands
 * out its parent's bytes, and wiped as they are handed out.
 */
#ifndef PG_RAND_H
#define PG_RAND_H

#include <stddef.h>

#include "err.h"

/* Requests larger than this go straight to the kernel. */
#define RAND_POOLED_MAX	64

/* Fills p with n random bytes; PG_SYSTEM if the kernel cannot. */
enum pg_err	 rand_bytes(void *p, size_t n);

#endif /* PG_RAND_H */
