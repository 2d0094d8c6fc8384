/*
 * payguard - a shared library loaded at run time (see rtload.h).
 */
#include <dlfcn.h>
#include <string.h>

#include "log.h"
#include "rtload.h"

void *
rtload_open(const char *soname)
{
	void	*h;

	if ((h = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) == NULL)
		log_warnx("%s: %s", soname, dlerror());
	return h;
}

int
rtload_sym(void *h, const char *soname, const char *name, void *slot,
    size_t n)
{
	void	*p = dlsym(h, name);

	if (p == NULL) {
		log_warnx("%s: %s missing", soname, name);
		return 0;
	}
	/* POSIX guarantees a data pointer from dlsym converts to a
	 * function pointer of the same size; copy the bits. */
	memcpy(slot, &p, n);
	return 1;
}
