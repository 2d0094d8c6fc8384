/*
 * payguard fuzz target - the audit page's query-string parser, the
 * chain-field parser of log lines and the index rebuild's line parser.
 *
 * Invariants: a parsed filter holds only what the validators admit
 * (type [A-Za-z0-9_.:-], ip hex/'.'/':', severity in range, hours within
 * AINDEX_HOURS_MAX), both strings NUL-terminated in their arrays; the chain
 * parser never reads outside the line; a line the rebuild accepts has
 * NUL-terminated fields, a severity in range, a millisecond timestamp and
 * an exact copy of the line.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "audit.h"
#include "aquery.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_line(const char *line, size_t size)
{
	struct arecord_line al;

	if (arecord_parse_line(line, size, &al) == PG_OK) {
		if (al.en.sev >= SEV__MAX || al.en.ts_us % 1000 != 0 ||
		    memchr(al.type, '\0', sizeof(al.type)) == NULL ||
		    memchr(al.ip, '\0', sizeof(al.ip)) == NULL ||
		    memchr(al.identity, '\0', sizeof(al.identity)) == NULL ||
		    memchr(al.op, '\0', sizeof(al.op)) == NULL ||
		    memchr(al.note, '\0', sizeof(al.note)) == NULL ||
		    al.en.line_len != size || memcmp(al.line, line, size) != 0 ||
		    al.en.type_name != al.type)
			abort();
	}
	arecord_line_free(&al);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aquery_filter f;
	unsigned char	 prev[ARECORD_HASH_LEN], hash[ARECORD_HASH_LEN];
	unsigned int	 hours;
	uint64_t	 seq;
	char		*s, *line;
	size_t		 i, n;
	unsigned int	 hl = ARECORD_HASH_LEN;
	int		 ok;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (aquery_parse(s, 1000000000000000ull, &f, &hours) == PG_OK) {
		if (hours == 0 || hours > AINDEX_HOURS_MAX || f.sev >= SEV__MAX ||
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
	(void)arecord_chain_parse(line, size, &seq, prev, hash, &ok);
	check_line(line, size);
	free(line);
	/* The input as the body of a record with a valid chain tail, so that
	 * the rebuild's JSON reading is reached, not only the hash check. */
	if ((line = malloc(size + 256)) == NULL)
		return 0;
	memcpy(line, data, size);
	n = size + (size_t)snprintf(line + size, 256, ",\"seq\":7,\"prev\":\"%064d\"", 0);
	EVP_Digest(line, n, hash, &hl, EVP_sha256(), NULL);
	n += (size_t)snprintf(line + n, 256 - (n - size), ",\"hash\":\"");
	for (i = 0; i < ARECORD_HASH_LEN; i++)
		n += (size_t)snprintf(line + n, 3, "%02x", hash[i]);
	line[n++] = '"';
	line[n++] = '}';
	check_line(line, n);
	free(line);
	return 0;
}

