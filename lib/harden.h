/*
 * payguard - process hardening shared by every program and the CLI.
 */
#ifndef PG_HARDEN_H
#define PG_HARDEN_H

#include "err.h"

/*
 * Disables core dumps (RLIMIT_CORE 0, soft and hard) and marks the process
 * not dumpable (PR_SET_DUMPABLE 0: no core, no ptrace attach by the same
 * user, /proc/self owned by root).  Call first in main, before any secret
 * is loaded.  Returns PG_OK, or PG_SYSTEM after logging which step failed
 * (the caller carries on: a failure here is no reason not to serve).
 */
enum pg_err	 harden_nocore(void);

#endif /* PG_HARDEN_H */
