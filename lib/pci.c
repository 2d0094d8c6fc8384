/*
 * payguard - card-data detection for PCI DSS 3.3.1 (no sensitive
 * authentication data: CVC, track data) and 3.4/3.5 (no raw PAN).
 *
 * A PAN is 13-19 digits, optionally in groups separated by single spaces
 * or dashes, that passes Luhn and starts with a plausible IIN of a major
 * brand (first digit 2-6).  Detection in free text only looks at whole
 * digit runs and at group-aligned parts of them ("ref 1 4242 4242 4242
 * 4242" is caught); a 40-digit run without separators is not a card.
 * Masking (mask.c) is deliberately more eager than detection.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "pci.h"

#define PAN_MIN		13
#define PAN_MAX		19
#define PCI_DEPTH_MAX	64	/* deeper than json-c's parser ever goes */
#define GROUPS_MAX	64	/* groups of one run considered */

static const char *const pci_kinds[PCI__MAX] = {
	"raw_pan",		/* PCI_PAN */
	"cvc",			/* PCI_CVC */
	"track_data",		/* PCI_TRACK */
};

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
	size_t	 i, n = 0;
	int	 rc = 0;

	for (i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			if (n == sizeof(d))
				goto out;
			d[n++] = s[i];
		} else if ((s[i] == ' ' || s[i] == '-') && i > 0 &&
		    i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9' &&
		    s[i - 1] >= '0' && s[i - 1] <= '9')
			continue;	/* one separator between digits */
		else
			goto out;
	}
	rc = digits_are_pan(d, n);
out:
	return rc;
}

/*
 * Examines one run (digits joined by single separators) starting at s:
 * the whole run, then every sequence of consecutive groups, for a PAN.
 * *used gets the run's length in bytes.
 */
static int
run_has_pan(const char *s, size_t len, size_t *used)
{
	char	 d[PAN_MAX];
	size_t	 gs[GROUPS_MAX + 1], ng = 0, i = 0, a, b, n, k;
	int	 found = 0;

	/* gs[g] = byte offset of group g; the run ends at gs[ng]. */
	for (;;) {
		if (ng < GROUPS_MAX)
			gs[ng++] = i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i + 1 < len && (s[i] == ' ' || s[i] == '-') &&
		    s[i + 1] >= '0' && s[i + 1] <= '9') {
			i++;
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

/* A Fernet token: the value is already encrypted at rest. */
static int
is_fernet_token(const char *v, size_t len)
{
	uint64_t ts;

	return len >= 6 && strncmp(v, "gAAAAA", 6) == 0 &&
	    fernet_timestamp(v, len, &ts) == PG_OK;
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
check_value(const char *name, const char *key, const char *v, size_t len,
    struct pci_result *res)
{
	if (is_fernet_token(v, len))
		return;
	if (key != NULL && is_cvc_key(key) && looks_like_cvc(v, len))
		add_violation(res, PCI_CVC, name);
	if (text_has_track(v, len))
		add_violation(res, PCI_TRACK, name);
	else if (pci_text_has_pan(v, len))
		add_violation(res, PCI_PAN, name);
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
walk(struct json_object *v, const char *key, char *path, size_t pathsz,
    size_t at, int depth, struct pci_result *res)
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
			walk(child, mkey, path, pathsz, strlen(path),
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
			walk(json_object_array_get_idx(v, i), NULL, path,
			    pathsz, strlen(path), depth + 1, res);
			path[at] = '\0';
		}
		break;
	case json_type_string:
		s = json_object_get_string(v);
		check_value(path, key, s,
		    (size_t)json_object_get_string_len(v), res);
		break;
	case json_type_int:
		/* {"number": 4242424242424242} is a PAN too. */
		s = json_object_get_string(v);
		check_value(path, key, s, strlen(s), res);
		break;
	default:
		break;
	}
}

enum pg_err
pci_validate(const char *operation, struct json_object *data,
    struct pci_result *res)
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
		walk(data, NULL, path, sizeof(path), 0, 0, res);
	return res->n > 0 ? PG_EINVAL : PG_OK;
}

enum pg_err
pci_validate_pairs(const char *const *names, const char *const *values,
    size_t n, struct pci_result *res)
{
	size_t	 i;

	memset(res, 0, sizeof(*res));
	for (i = 0; i < n; i++) {
		const char *name = names[i] != NULL ? names[i] : "";

		if (pci_text_has_pan(name, strlen(name)))
			add_violation(res, PCI_PAN, "(name)");
		if (values[i] != NULL)
			check_value(name, name, values[i], strlen(values[i]),
			    res);
	}
	return res->n > 0 ? PG_EINVAL : PG_OK;
}
