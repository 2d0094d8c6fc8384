/*
 * payguard - random bytes from the kernel (getrandom(2)).
 *
 * Used for keys, IVs, tokens and ids.  Not OpenSSL's RAND_bytes: its
 * first call instantiates OpenSSL 3's DRBG, about 3.3 million instructions
 * that a plain CGI process would pay on every request, for bytes that come
 * from the same kernel source anyway.
 */
#ifndef PG_RAND_H
#define PG_RAND_H

#include <stddef.h>

#include "err.h"

/* Fills p with n random bytes; PG_SYSTEM if the kernel cannot. */
enum pg_err	 rand_bytes(void *p, size_t n);

#endif /* PG_RAND_H */
