/*
 * payguard - per-process caches on a page the kernel wipes on fork.
 */
#include <sys/mman.h>

#include <unistd.h>

#include "forkpage.h"

/* The page: NULL before the first call, ours, or "none" (refused). */
static struct forkpage	*page;
static int		 refused;

struct forkpage *
forkpage_get(void)
{
	long	 psz;
	void	*p;

	if (page != NULL || refused)
		goto out;
	psz = sysconf(_SC_PAGESIZE);
	if (psz < (long)sizeof(struct forkpage))
		goto refuse;
	p = mmap(NULL, (size_t)psz, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		goto refuse;
	if (madvise(p, (size_t)psz, MADV_WIPEONFORK) != 0) {
		munmap(p, (size_t)psz);
		goto refuse;
	}
	/* Best effort: the pool holds bytes not yet handed out. */
	(void)madvise(p, (size_t)psz, MADV_DONTDUMP);
	page = p;
	goto out;
refuse:
	refused = 1;
out:
	return refused ? NULL : page;
}

pid_t
forkpage_pid(void)
{
	struct forkpage	*fp = forkpage_get();

	if (fp == NULL)
		return getpid();
	if (fp->pid == 0)
		fp->pid = getpid();
	return fp->pid;
}

void
forkpage_refuse(void)
{
	refused = 1;
}
