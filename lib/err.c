/*
 * payguard - strerror table for enum pg_err.
 */
#include "err.h"

static const char *const pg_errs[PG__MAX] = {
	"success",			/* PG_OK */
	"out of memory",		/* PG_ENOMEM */
	"invalid input",		/* PG_EINVAL */
	"not found",			/* PG_NOTFOUND */
	"already exists",		/* PG_EXISTS */
	"too large",			/* PG_TOOLARGE */
	"state store failure",		/* PG_STORE */
	"cryptographic failure",	/* PG_CRYPTO */
	"system error",			/* PG_SYSTEM */
	"configuration error",		/* PG_CONFIG */
	"timed out",			/* PG_TIMEOUT */
	"conflict",			/* PG_CONFLICT */
	"expired",			/* PG_EXPIRED */
	"upstream failure",		/* PG_UPSTREAM */
};

const char *
pg_strerror(enum pg_err e)
{
	if ((unsigned)e >= PG__MAX)
		return "unknown error";
	return pg_errs[e];
}
