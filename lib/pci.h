/*
 * payguard - card-data detection: a PAN detector (Luhn, 13-19 digits,
 * plausible IIN) and a screen of a request's fields, by operation.
 */
#ifndef PG_PCI_H
#define PG_PCI_H

#include <stddef.h>

#include <json-c/json.h>

#include "err.h"

enum pci_kind {
	PCI_PAN = 0,	/* a raw primary account number */
	PCI_CVC,	/* a card verification code */
	PCI_TRACK,	/* magnetic-stripe track data */
	PCI__MAX
};

#define PCI_MAX_VIOLATIONS	16

struct pci_violation {
	enum pci_kind	 kind;
	char		 field[128];	/* parameter path, e.g. "card[number]" */
};

struct pci_result {
	size_t			 n;
	struct pci_violation	 v[PCI_MAX_VIOLATIONS];
};

/* Returns 1 if s (len bytes) passes the Luhn check, digits only. */
int		 pci_luhn(const char *s, size_t len);
/* Returns 1 if s is a PAN: 13-19 digits (single spaces/dashes between
 * allowed), Luhn-valid, plausible IIN. */
int		 pci_is_pan(const char *s, size_t len);
/* Returns 1 if free text contains an embedded PAN. */
int		 pci_text_has_pan(const char *s, size_t len);
/* Returns a short static name for k ("raw_pan", "cvc", "track_data"). */
const char	*pci_kind_name(enum pci_kind k);
/*
 * Inspects every field of data (a JSON object, nested allowed) for the
 * operation and fills res.  A Fernet-encrypted card number is compliant.
 * Returns PG_OK when compliant, PG_EINVAL when res->n > 0.
 */
enum pg_err	 pci_validate(const char *operation,
		    struct json_object *data, struct pci_result *res);
/* As pci_validate over form-style pairs: names[i] = values[i]. */
enum pg_err	 pci_validate_pairs(const char *const *names,
		    const char *const *values, size_t n,
		    struct pci_result *res);

#endif /* PG_PCI_H */
