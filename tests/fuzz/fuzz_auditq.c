/*
 * payguard fuzz target - the audit page's query-string parser and the
 * chain-field parser of log lines.
 *
 * Invariants: a parsed filter holds only what the validators admit
 * (type [A-Za-z0-9_.:-], ip hex/'.'/':', severity in range, hours within
 * AQ_HOURS_MAX), both strings NUL-terminated in their arrays; the chain
 * parser never reads outside the line.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "auditdb.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aq_filter f;
	unsigned char	 prev[AUDIT_HASH_LEN], hash[AUDIT_HASH_LEN];
	unsigned int	 hours;
	uint64_t	 seq;
	char		*s, *line;
	size_t		 i;
	int		 ok;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (aq_parse_query(s, 1000000000000000ull, &f, &hours) == PG_OK) {
		if (hours == 0 || hours > AQ_HOURS_MAX || f.sev >= SEV__MAX ||
		    memchr(f.type, '\0', sizeof(f.type)) == NULL ||
		    memchr(f.ip, '\0', sizeof(f.ip)) == NULL)
			abort();
		for (i = 0; f.type[i] != '\0'; i++)
			if (!isalnum((unsigned char)f.type[i]) &&
			    strchr("_.:-", f.type[i]) == NULL)
				abort();
		for (i = 0; f.ip[i] != '\0'; i++)
			if (!isxdigit((unsigned char)f.ip[i]) &&
			    f.ip[i] != '.' && f.ip[i] != ':')
				abort();
	}
	free(s);
	/* The line parser gets an exact-size copy (ASan catches overreads). */
	if ((line = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	(void)audit_chain_parse(line, size, &seq, prev, hash, &ok);
	free(line);
	return 0;
}
