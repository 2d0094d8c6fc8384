/*
 * payguard - card-data detection: a PAN detector (Luhn, 13-19 digits,
 * plausible IIN) and a screen of a request's fields, by operation.
 */
#ifndef PG_PCI_H
#define PG_PCI_H

#include <stddef.h>

#include <json-c/json.h>

#include "err.h"

/* The caller's exemption check: fn returns 1 when v (len bytes) is a
 * Fernet token that verifies under its key ring (already encrypted). */
struct pci_exempt {
	int	(*fn)(const char *v, size_t len, void *arg);
	void	*arg;
};

enum pci_kind {
	PCI_PAN = 0,	/* a raw primary account number */
	PCI_CVC,	/* a card verification code */
	PCI_TRACK,	/* magnetic-stripe track data */
	PCI_FIELD,	/* a card-data field name (card[number], ...) */
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

/*
 * The digit-group separator rule, shared by detection and masking: at s,
 * one to PCI_SEP_MAX separator characters (ASCII space, tab, '-', '.',
 * '/'; NBSP and the other Unicode spaces, zero-width characters, soft
 * hyphen, Unicode hyphens and dashes, minus sign) followed by a digit.
 * Returns the separator's length in bytes, 0 when there is none.
 */
#define PCI_SEP_MAX	3
size_t		 pci_sep_len(const char *s, size_t len);
/* Returns 1 if s (len bytes) passes the Luhn check, digits only. */
int		 pci_luhn(const char *s, size_t len);
/* Returns 1 if s is a PAN: 13-19 digits (separators between groups
 * allowed, see pci_sep_len), Luhn-valid, plausible IIN. */
int		 pci_is_pan(const char *s, size_t len);
/* Returns 1 if free text contains an embedded PAN. */
int		 pci_text_has_pan(const char *s, size_t len);
/* Returns a short static name for k ("raw_pan", "cvc", "track_data",
 * "card_field"). */
const char	*pci_kind_name(enum pci_kind k);
/*
 * Inspects every field of data (a JSON object, nested allowed) for the
 * operation and fills res: PANs (pci_text_has_pan), CVCs under CVC names,
 * track data, and card-data field names (number, cvc, exp_month, exp_year
 * under a card or source hash) whatever their value.  A value that
 * the exemption check ring accepts (may be NULL: nothing is exempt) is
 * compliant: it is encrypted.  Returns PG_OK when compliant, PG_EINVAL
 * when res->n > 0.
 */
enum pg_err	 pci_validate_ring(const char *operation,
		    struct json_object *data, const struct pci_exempt *ring,
		    struct pci_result *res);
/* pci_validate_ring without a key ring (no value is exempt). */
enum pg_err	 pci_validate(const char *operation,
		    struct json_object *data, struct pci_result *res);
/* As pci_validate_ring over form-style pairs: names[i] = values[i]
 * (values[i] may be NULL). */
enum pg_err	 pci_validate_pairs_ring(const char *const *names,
		    const char *const *values, size_t n,
		    const struct pci_exempt *ring, struct pci_result *res);
/* pci_validate_pairs_ring without a key ring. */
enum pg_err	 pci_validate_pairs(const char *const *names,
		    const char *const *values, size_t n,
		    struct pci_result *res);

#endif /* PG_PCI_H */
