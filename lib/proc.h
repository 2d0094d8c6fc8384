/*
 * payguard - the process runner: one program run without a shell, in an
 * environment it is given whole (nothing of ours leaks into it), the
 * input on its stdin, its stdout discarded, its stderr into our log, in
 * its own process group, killed with that group when the time limit runs
 * out.  Used for the site's webhook handler (deliver.h) and the alert
 * command (alert.h).
 */
#ifndef PG_PROC_H
#define PG_PROC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The two variables every environment we build carries. */
#define PROC_ENV_PATH	"PATH=/usr/local/bin:/usr/bin:/bin"
#define PROC_ENV_LANG	"LANG=C.UTF-8"

struct proc_result {
	int	 ok;		/* exited 0 */
	int	 status;	/* exit status, 128+signal, or -1 */
	int	 timed_out;
	char	 error[96];	/* short reason when !ok */
};

/* Milliseconds of the monotonic clock (for durations). */
uint64_t	 proc_mono_ms(void);
/*
 * Runs path (absolute; no arguments) with exactly envp as environment
 * and in (len bytes) on stdin, for at most timeout_s seconds.  PG_OK when
 * it ran (its outcome in res), PG_SYSTEM when it could not be started
 * (pipe or fork failed; res->error says which).
 */
enum pg_err	 proc_run(const char *path, char *const envp[],
		    const void *in, size_t len, uint32_t timeout_s,
		    struct proc_result *res);

#endif /* PG_PROC_H */
