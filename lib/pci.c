/*
 * payguard - card-data detection for PCI DSS 3.3.1 (no sensitive
 * authentication data: CVC, track data) and 3.4/3.5 (no raw PAN).
 *
 * A PAN is 13-19 digits, optionally in groups separated by separators
 * (pci_sep_len: one to three of space, tab, '-', '.', '/' and the Unicode
 * spaces and dashes), that passes Luhn and starts with a plausible IIN of a major
 * brand (first digit 2-6).  Detection in free text only looks at whole
 * digit runs and at group-aligned parts of them ("ref 1 4242 4242 4242
 * 4242" is caught); a 40-digit run without separators is not a card.
 * Masking (mask.c) is deliberately more eager than detection.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "pci.h"

#define PAN_MIN		13
#define PAN_MAX		19
#define PCI_DEPTH_MAX	64	/* deeper than json-c's parser ever goes */
#define GROUPS_MAX	64	/* groups of one run considered */

static const char *const pci_kinds[PCI__MAX] = {
	"raw_pan",		/* PCI_PAN */
	"cvc",			/* PCI_CVC */
	"track_data",		/* PCI_TRACK */
	"card_field",		/* PCI_FIELD */
};

/*
 * Card-data fields, refused by name whatever their value: these leaves
 * under a "card" or "source" hash (card[number], source[cvc],
 * payment_method_data[card][exp_month] and their JSON equivalents).
 */
static const char *const card_leaves[] = {
	"number", "cvc", "cvv", "cvc2", "cvv2", "exp_month", "exp_year",
};
static const char *const card_parents[] = { "card", "source" };

/* Parameter names whose 3-4 digit value is a card verification code. */
static const char *const cvc_keys[] = {
	"cvc", "cvv", "cvc2", "cvv2", "cid", "security_code", "csc",
	"card_verification", "card_verification_code", "cvn",
};

const char *
pci_kind_name(enum pci_kind k)
{
	if ((unsigned)k >= PCI__MAX)
		return "unknown";
	return pci_kinds[k];
}

int
pci_luhn(const char *s, size_t len)
{
	size_t	 i;
	int	 sum = 0, d, dbl = 0;

	if (len == 0)
		return 0;
	for (i = len; i > 0; i--) {
		if (s[i - 1] < '0' || s[i - 1] > '9')
			return 0;
		d = s[i - 1] - '0';
		if (dbl && (d *= 2) > 9)
			d -= 9;
		sum += d;
		dbl = !dbl;
	}
	return sum % 10 == 0;
}

/*
 * One separator character at s: its length in bytes, or 0.  ASCII space,
 * tab, '-', '.', '/'; in UTF-8 the no-break, typographic and ideographic
 * spaces, the zero-width characters, soft hyphen, the Unicode hyphens and
 * dashes (figure, en, em, bar) and the minus sign.
 */
static size_t
sep_char(const unsigned char *s, size_t len)
{
	if (len >= 1 && (s[0] == ' ' || s[0] == '\t' || s[0] == '-' ||
	    s[0] == '.' || s[0] == '/'))
		return 1;
	if (len >= 2 && s[0] == 0xc2 && (s[1] == 0xa0 || s[1] == 0xad))
		return 2;
	if (len < 3)
		return 0;
	if (s[0] == 0xe2 && s[1] == 0x80 && ((s[2] >= 0x80 && s[2] <= 0x8d) ||
	    (s[2] >= 0x90 && s[2] <= 0x95) || s[2] == 0xaf))
		return 3;	/* U+2000-200D spaces, U+2010-2015 dashes, U+202F */
	if (s[0] == 0xe2 && s[1] == 0x81 && (s[2] == 0x9f || s[2] == 0xa0))
		return 3;	/* U+205F, U+2060 */
	if ((s[0] == 0xe2 && s[1] == 0x88 && s[2] == 0x92) ||	/* U+2212 */
	    (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80) ||	/* U+3000 */
	    (s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf))	/* U+FEFF */
		return 3;
	return 0;
}

size_t
pci_sep_len(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t	 i = 0, c, k;

	for (k = 0; k < PCI_SEP_MAX && (c = sep_char(u + i, len - i)) > 0; k++)
		i += c;
	return i > 0 && i < len && u[i] >= '0' && u[i] <= '9' ? i : 0;
}

/* First digits of the major brands (ISO/IEC 7812 IIN ranges). */
static int
iin_plausible(const char *d, size_t n)
{
	int	 two, four;

	if (n < PAN_MIN)
		return 0;
	two = (d[0] - '0') * 10 + (d[1] - '0');
	four = two * 100 + (d[2] - '0') * 10 + (d[3] - '0');
	switch (d[0]) {
	case '2':	/* Mastercard 2-series */
		return four >= 2221 && four <= 2720;
	case '3':	/* Amex 34/37, Diners 30/36/38/39, JCB 35 */
		return two == 30 || (two >= 34 && two <= 39);
	case '4':	/* Visa */
	case '5':	/* Mastercard 51-55, Maestro 50/56-58 */
	case '6':	/* Discover, UnionPay, Maestro, RuPay */
		return 1;
	default:
		return 0;
	}
}

/* Luhn and IIN over a compacted digit string. */
static int
digits_are_pan(const char *d, size_t n)
{
	return n >= PAN_MIN && n <= PAN_MAX && pci_luhn(d, n) &&
	    iin_plausible(d, n);
}

int
pci_is_pan(const char *s, size_t len)
{
	char	 d[PAN_MAX];
	size_t	 i, n = 0, sep;
	int	 rc = 0;

	for (i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			if (n == sizeof(d))
				goto out;
			d[n++] = s[i];
		} else if (n > 0 && (sep = pci_sep_len(s + i, len - i)) > 0)
			i += sep - 1;	/* one separator between digits */
		else
			goto out;
	}
	rc = digits_are_pan(d, n);
out:
	return rc;
}

/*
 * Examines one run (digits joined by separators) starting at s:
 * the whole run, then every sequence of consecutive groups, for a PAN.
 * *used gets the run's length in bytes.
 */
static int
run_has_pan(const char *s, size_t len, size_t *used)
{
	char	 d[PAN_MAX];
	size_t	 gs[GROUPS_MAX + 1], ng = 0, i = 0, a, b, n, k, sep;
	int	 found = 0;

	/* gs[g] = byte offset of group g; the run ends at gs[ng]. */
	for (;;) {
		if (ng < GROUPS_MAX)
			gs[ng++] = i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i < len && (sep = pci_sep_len(s + i, len - i)) > 0) {
			i += sep;
			continue;
		}
		break;
	}
	*used = i;
	gs[ng] = i + 1;		/* as if a separator followed the run */
	for (a = 0; a < ng && !found; a++)
		for (b = a + 1; b <= ng && !found; b++) {
			n = 0;
			/* Groups a..b-1 span [gs[a], gs[b] - 1). */
			for (k = gs[a]; k + 1 < gs[b]; k++) {
				if (s[k] < '0' || s[k] > '9')
					continue;
				if (n == sizeof(d)) {
					n = PAN_MAX + 1;
					break;
				}
				d[n++] = s[k];
			}
			if (n > PAN_MAX)
				break;	/* longer sequences only grow */
			found = digits_are_pan(d, n);
		}
	return found;
}

int
pci_text_has_pan(const char *s, size_t len)
{
	size_t	 i = 0, used;
	int	 rc = 0;

	while (i < len) {
		if (s[i] < '0' || s[i] > '9') {
			i++;
			continue;
		}
		if (run_has_pan(s + i, len - i, &used)) {
			rc = 1;
			break;
		}
		i += used > 0 ? used : 1;
	}
	return rc;
}

/* Length of the digit run at s (no separators). */
static size_t
digit_span(const char *s, size_t len)
{
	size_t	 i = 0;

	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/*
 * Track 1 ("%B<PAN>^NAME^YYMM...") or track 2 (";<PAN>=YYMM...") in s.
 * With the sentinel the PAN need not pass Luhn; without it (a stripped
 * track) it must, and track 2 needs at least four digits after '='.
 */
static int
text_has_track(const char *s, size_t len)
{
	size_t	 i, n;
	int	 sentinel;

	for (i = 0; i < len; i++) {
		if ((s[i] == 'B' || s[i] == 'b') && i + 1 < len) {
			sentinel = i > 0 && s[i - 1] == '%';
			n = digit_span(s + i + 1, len - i - 1);
			if (n >= PAN_MIN && n <= PAN_MAX && i + 1 + n < len &&
			    s[i + 1 + n] == '^' &&
			    (sentinel || pci_luhn(s + i + 1, n)))
				return 1;
		}
		if (s[i] >= '0' && s[i] <= '9' &&
		    (i == 0 || s[i - 1] < '0' || s[i - 1] > '9')) {
			sentinel = i > 0 && s[i - 1] == ';';
			n = digit_span(s + i, len - i);
			if (n >= PAN_MIN && n <= PAN_MAX && i + n < len &&
			    s[i + n] == '=' &&
			    digit_span(s + i + n + 1, len - i - n - 1) >= 4 &&
			    (sentinel || pci_luhn(s + i, n)))
				return 1;
		}
	}
	return 0;
}

/* The last bracket component of a parameter name, lowercased. */
static void
leaf_name(const char *name, char *out, size_t outsz)
{
	const char	*p, *e;
	size_t		 n;

	e = name + strlen(name);
	if (e > name && e[-1] == ']') {
		e--;
		for (p = e; p > name && p[-1] != '['; p--)
			;
	} else
		p = name;
	n = (size_t)(e - p);
	if (n >= outsz)
		n = outsz - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)p[i]);
	out[n] = '\0';
}

static int
is_cvc_key(const char *name)
{
	char	 leaf[64];
	size_t	 i;

	leaf_name(name, leaf, sizeof(leaf));
	for (i = 0; i < sizeof(cvc_keys) / sizeof(cvc_keys[0]); i++)
		if (strcmp(leaf, cvc_keys[i]) == 0)
			return 1;
	return 0;
}

/* 3 or 4 digits, surrounding spaces ignored. */
static int
looks_like_cvc(const char *v, size_t len)
{
	size_t	 s = 0, e = len, n;

	while (s < e && v[s] == ' ')
		s++;
	while (e > s && v[e - 1] == ' ')
		e--;
	n = digit_span(v + s, e - s);
	return n == e - s && (n == 3 || n == 4);
}

/*
 * A value the caller vouches for: a Fernet token that verifies under
 * payguard's key ring (the caller's exemption check does the verifying;
 * looking like one is not enough: digits are base64url characters, so a
 * PAN could hide inside a forged "token").
 */
static int
is_exempt(const struct pci_exempt *ex, const char *v, size_t len)
{
	return ex != NULL && ex->fn != NULL && len >= 6 &&
	    strncmp(v, "gAAAAA", 6) == 0 && ex->fn(v, len, ex->arg);
}

/*
 * Component up (0 = the leaf, 1 = its parent) of a bracket path such as
 * "payment_method_data[card][number]", lowercased into out.  -1 when
 * there is no such component or it does not fit.
 */
static int
path_component(const char *path, int up, char *out, size_t outsz)
{
	const char	*e = path + strlen(path), *p, *ce;
	size_t		 n, i;
	int		 k;

	for (k = 0;; k++) {
		if (e > path && e[-1] == ']') {
			for (p = e - 1; p > path && p[-1] != '['; p--)
				;
			if (p == path)
				return -1;	/* "x]" without its '[' */
			ce = e - 1;
		} else {
			p = path;
			ce = e;
		}
		if (k == up)
			break;
		if (p == path)
			return -1;	/* the first component: no parent */
		e = p - 1;		/* before the '[' */
	}
	if ((n = (size_t)(ce - p)) >= outsz)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)p[i]);
	out[n] = '\0';
	return 0;
}

/* 1 when path names a card-data field (see card_leaves). */
static int
is_card_field(const char *path)
{
	char	 leaf[32], parent[32];
	size_t	 i, j;

	if (path_component(path, 0, leaf, sizeof(leaf)) != 0 ||
	    path_component(path, 1, parent, sizeof(parent)) != 0)
		return 0;
	for (i = 0; i < sizeof(card_parents) / sizeof(card_parents[0]); i++)
		if (strcmp(parent, card_parents[i]) == 0)
			for (j = 0; j < sizeof(card_leaves) /
			    sizeof(card_leaves[0]); j++)
				if (strcmp(leaf, card_leaves[j]) == 0)
					return 1;
	return 0;
}

static void
add_violation(struct pci_result *res, enum pci_kind k, const char *field)
{
	struct pci_violation *v;
	size_t		 n;

	if (res->n >= PCI_MAX_VIOLATIONS)
		return;
	v = &res->v[res->n++];
	v->kind = k;
	n = strlen(field);
	if (n >= sizeof(v->field)) {
		/* Cut on a character boundary so the path stays UTF-8. */
		n = sizeof(v->field) - 1;
		while (n > 0 && ((unsigned char)field[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(v->field, field, n);
	v->field[n] = '\0';
}

/*
 * Checks one value; name is the full parameter path (for the report, it
 * may have been cut), key the member name it was found under (or NULL).
 */
static void
check_value(const struct pci_exempt *ring, const char *name, const char *key,
    const char *v, size_t len, struct pci_result *res)
{
	size_t	 before = res->n;

	if (is_exempt(ring, v, len))
		return;
	if (key != NULL && is_cvc_key(key) && looks_like_cvc(v, len))
		add_violation(res, PCI_CVC, name);
	if (text_has_track(v, len))
		add_violation(res, PCI_TRACK, name);
	else if (pci_text_has_pan(v, len))
		add_violation(res, PCI_PAN, name);
	/* By name, whatever the value, when the value said nothing. */
	if (res->n == before && is_card_field(name))
		add_violation(res, PCI_FIELD, name);
}

/* Appends "[key]" (or "key" at the top) to path; 0 if it did not fit. */
static int
path_push(char *path, size_t pathsz, size_t at, const char *key)
{
	int	 r;

	if (at == 0)
		r = snprintf(path, pathsz, "%s", key);
	else
		r = snprintf(path + at, pathsz - at, "[%s]", key);
	return r >= 0 && (size_t)r < pathsz - at;
}

static void
walk(const struct pci_exempt *ring, struct json_object *v, const char *key,
    char *path, size_t pathsz, size_t at, int depth, struct pci_result *res)
{
	const char	*s;
	char		 idx[24];
	size_t		 i, n;

	if (depth > PCI_DEPTH_MAX) {
		/* Fail closed: what cannot be inspected is not compliant. */
		add_violation(res, PCI_PAN, path);
		return;
	}
	switch (json_object_get_type(v)) {
	case json_type_object: {
		json_object_object_foreach(v, mkey, child) {
			if (pci_text_has_pan(mkey, strlen(mkey)))
				add_violation(res, PCI_PAN, path[0] ? path :
				    "(key)");
			if (!path_push(path, pathsz, at, mkey)) {
				/* Keep going with the truncated path. */
				path[pathsz - 1] = '\0';
			}
			walk(ring, child, mkey, path, pathsz, strlen(path),
			    depth + 1, res);
			path[at] = '\0';
		}
		break;
	}
	case json_type_array:
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			snprintf(idx, sizeof(idx), "%zu", i);
			if (!path_push(path, pathsz, at, idx))
				path[pathsz - 1] = '\0';
			walk(ring, json_object_array_get_idx(v, i), NULL,
			    path, pathsz, strlen(path), depth + 1, res);
			path[at] = '\0';
		}
		break;
	case json_type_string:
		s = json_object_get_string(v);
		check_value(ring, path, key, s,
		    (size_t)json_object_get_string_len(v), res);
		break;
	case json_type_int:
		/* {"number": 4242424242424242} is a PAN too. */
		s = json_object_get_string(v);
		check_value(ring, path, key, s, strlen(s), res);
		break;
	default:
		/* {"card": {"number": null}}: named, so refused. */
		if (is_card_field(path))
			add_violation(res, PCI_FIELD, path);
		break;
	}
}

enum pg_err
pci_validate(const char *operation, struct json_object *data,
    struct pci_result *res)
{
	return pci_validate_ring(operation, data, NULL, res);
}

enum pg_err
pci_validate_ring(const char *operation, struct json_object *data,
    const struct pci_exempt *ring, struct pci_result *res)
{
	char	 path[512];

	/*
	 * The rules are the same for every operation today; the operation
	 * is an argument so that one may get rules of its own.
	 */
	(void)operation;
	memset(res, 0, sizeof(*res));
	path[0] = '\0';
	if (data != NULL)
		walk(ring, data, NULL, path, sizeof(path), 0, 0, res);
	return res->n > 0 ? PG_EINVAL : PG_OK;
}

enum pg_err
pci_validate_pairs(const char *const *names, const char *const *values,
    size_t n, struct pci_result *res)
{
	return pci_validate_pairs_ring(names, values, n, NULL, res);
}

enum pg_err
pci_validate_pairs_ring(const char *const *names, const char *const *values,
    size_t n, const struct pci_exempt *ring, struct pci_result *res)
{
	size_t	 i;

	memset(res, 0, sizeof(*res));
	for (i = 0; i < n; i++) {
		const char *name = names[i] != NULL ? names[i] : "";

		if (pci_text_has_pan(name, strlen(name)))
			add_violation(res, PCI_PAN, "(name)");
		if (values[i] != NULL)
			check_value(ring, name, name, values[i],
			    strlen(values[i]), res);
		else if (is_card_field(name))
			add_violation(res, PCI_FIELD, name);
	}
	return res->n > 0 ? PG_EINVAL : PG_OK;
}
