/*
 * payguard fuzz target - the PCI screen's walk over parameter names and
 * values: the input as a JSON document (pci_validate) and as form pairs
 * "name=value&..." (pci_validate_pairs).
 *
 * Invariants: never more than PCI_MAX_VIOLATIONS, every reported field
 * NUL-terminated within its buffer, PG_EINVAL exactly when something was
 * reported, and a name ending in [card][number] always refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "form.h"
#include "pci.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(enum pg_err rc, const struct pci_result *res)
{
	size_t	 i;

	if (res->n > PCI_MAX_VIOLATIONS || (rc == PG_OK) != (res->n == 0))
		abort();
	for (i = 0; i < res->n; i++)
		if (memchr(res->v[i].field, '\0', sizeof(res->v[i].field)) ==
		    NULL || (unsigned)res->v[i].kind >= PCI__MAX)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_tokener	*tok;
	struct json_object	*o;
	struct pci_result	 res;
	struct form		 f;
	const char		**names = NULL, **vals = NULL;
	char			*name;
	size_t			 i;
	const char		*one[1], *oval[1] = { "x" };

	if ((tok = json_tokener_new_ex(64)) != NULL) {
		o = json_tokener_parse_ex(tok, (const char *)data, (int)size);
		if (o != NULL) {
			check(pci_validate("fuzz", o, &res), &res);
			json_object_put(o);
		}
		json_tokener_free(tok);
	}
	form_init(&f);
	if (form_parse((const char *)data, size, &f) == PG_OK && f.n > 0) {
		names = calloc(f.n, sizeof(*names));
		vals = calloc(f.n, sizeof(*vals));
		if (names != NULL && vals != NULL) {
			for (i = 0; i < f.n; i++) {
				names[i] = f.p[i].name;
				vals[i] = f.p[i].value;
			}
			check(pci_validate_pairs(names, vals, f.n, &res), &res);
		}
		free(names);
		free(vals);
	}
	form_free(&f);
	/* Any prefix + "[card][number]" is a card-data field. */
	if (size < 256 && memchr(data, '\0', size) == NULL &&
	    (name = malloc(size + 16)) != NULL) {
		memcpy(name, data, size);
		memcpy(name + size, "[card][number]", 15);
		one[0] = name;
		if (pci_validate_pairs(one, oval, 1, &res) != PG_EINVAL)
			abort();
		free(name);
	}
	return 0;
}
