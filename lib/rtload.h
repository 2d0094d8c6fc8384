/*
 * payguard - a shared library loaded at run time (dlopen), its functions
 * looked up into a caller's table.  For libraries that only some
 * programs or configurations need - libcurl (curlrt.h), hiredis (the
 * Redis backend, redis.c) - so that the others do not map and relocate
 * them at every start (plain CGI starts once per request).
 */
#ifndef PG_RTLOAD_H
#define PG_RTLOAD_H

#include <stddef.h>

/* dlopen(soname, RTLD_NOW | RTLD_LOCAL): RTLD_NOW, so that a missing
 * symbol shows at load, before the first accept.  The handle, or NULL
 * (dlerror logged).  Never closed by its users. */
void		*rtload_open(const char *soname);
/* Looks name up in h (loaded from soname) into *slot, a function pointer
 * of n bytes: 1, or 0 when missing (logged). */
int		 rtload_sym(void *h, const char *soname, const char *name,
		    void *slot, size_t n);

#endif /* PG_RTLOAD_H */
