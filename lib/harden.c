/*
 * payguard - process hardening (see harden.h).  A core dump of any of
 * our processes would hold the Stripe secret key, the webhook secrets,
 * the encryption keys and decrypted events: none is ever written.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include "harden.h"
#include "log.h"

enum pg_err
harden_nocore(void)
{
	struct rlimit	 rl = { 0, 0 };
	enum pg_err	 e = PG_OK;

	if (setrlimit(RLIMIT_CORE, &rl) != 0) {
		log_warn("setrlimit(RLIMIT_CORE, 0)");
		e = PG_SYSTEM;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		log_warn("prctl(PR_SET_DUMPABLE, 0)");
		e = PG_SYSTEM;
	}
	return e;
}
