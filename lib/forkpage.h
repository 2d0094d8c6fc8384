/*
 * payguard - per-process caches that a fork's child must not inherit.
 *
 * One anonymous page mapped with MADV_WIPEONFORK (Linux 4.14): the kernel
 * hands a fork's child that page zeroed, so what is cached in it (this
 * process's id, random bytes not yet handed out) is fetched again by the
 * child instead of being inherited.  A child that reused its parent's
 * random bytes would repeat its Fernet IVs and record ids; one that
 * trusted its parent's pid would pass the store's after-fork guard.
 * glibc 2.41 keeps its vDSO getrandom state in such pages for the same
 * reason; Debian 12's glibc (2.36) has not got it.  The page is also left
 * out of core dumps (MADV_DONTDUMP).  Where the kernel refuses the advice
 * nothing is cached and every call goes to the kernel.
 *
 * The page is this module's one piece of state, per process by nature,
 * mapped on first use and never unmapped.  Not thread-safe: payguard's
 * programs are single-threaded.
 */
#ifndef PG_FORKPAGE_H
#define PG_FORKPAGE_H

#include <sys/types.h>

/* Random bytes rand.c keeps ahead (one getrandom(2) call refills them). */
#define FORKPAGE_POOL	512

/* The page's layout; all zero in a process that has not yet used it. */
struct forkpage {
	pid_t		 pid;		/* 0 until forkpage_pid() */
	unsigned int	 rand_left;	/* unread bytes, at the end */
	unsigned char	 rand_pool[FORKPAGE_POOL];	/* rand.c's */
};

/* This process's page, mapped on the first call; NULL where the kernel
 * cannot wipe a page on fork, and after forkpage_refuse(). */
struct forkpage	*forkpage_get(void);
/* The calling process's id: getpid(2) once per process, then cached. */
pid_t		 forkpage_pid(void);
/* From now on this process caches nothing, as on a kernel without
 * MADV_WIPEONFORK (the page stays mapped, unused); for tests of that
 * path. */
void		 forkpage_refuse(void);

#endif /* PG_FORKPAGE_H */
