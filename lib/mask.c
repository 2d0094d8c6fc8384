/*
 * payguard - masking for display and logs (PCI DSS 3.4.1: at most the
 * BIN and the last four digits of a PAN are ever shown).
 *
 * Rules, chosen to fail towards over-masking:
 *  - mask_card: spaces and dashes are dropped; 8 or more digits keep the
 *    last four, fewer keep nothing; any other character makes the value
 *    "not a card" and it becomes "****".
 *  - mask_email: exactly one '@' with text on both sides and valid UTF-8,
 *    or the whole value becomes "****".  The local part keeps its first
 *    and last character from three characters on, only its first at two,
 *    nothing at one: "a@x.com" -> "***@x.com", "ab@x.com" -> "a***@x.com".
 *    Characters, not bytes, so a multibyte character is never split.
 *  - mask_secret: a known prefix and the last four only when at least 16
 *    characters follow the prefix; anything shorter or unknown is "****".
 *  - mask_text: a run is digits joined by separators (pci_sep_len: the
 *    same rule as detection).  A run
 *    of 13-19 digits that passes Luhn as a whole becomes its mask_card
 *    form.  A longer run (or a non-Luhn one) that contains any Luhn-valid
 *    window of 13-19 consecutive digits has every digit replaced by '*',
 *    separators kept: we cannot know which digits were the card, so none
 *    are shown.  No IIN check here, unlike pci_is_pan: a masked order
 *    number costs less than a leaked PAN.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mask.h"
#include "pci.h"

#define MASK_DEPTH_MAX	32	/* nesting levels mask_json descends */
#define MASK_STARS	"****"
#define SECRET_MIN_TAIL	16	/* chars after the prefix to show last 4 */
#define PAN_MIN		13
#define PAN_MAX		19

enum key_class {
	KC_NONE = 0,
	KC_DROP,	/* sensitive authentication data: removed */
	KC_CARD,	/* last four kept */
	KC_EMAIL,
	KC_SECRET,	/* known prefix and last four kept */
	KC_REDACT,	/* replaced by "****" */
};

struct key_rule {
	const char	*name;
	enum key_class	 kc;
};

/* Leaf names, lowercased, '-' read as '_'.  Suffix rules are in key_class. */
static const struct key_rule key_rules[] = {
	{ "cvc", KC_DROP }, { "cvv", KC_DROP }, { "cvc2", KC_DROP },
	{ "cvv2", KC_DROP }, { "cid", KC_DROP }, { "csc", KC_DROP },
	{ "cvn", KC_DROP }, { "security_code", KC_DROP },
	{ "card_verification", KC_DROP },
	{ "card_verification_code", KC_DROP }, { "pin", KC_DROP },
	{ "pin_block", KC_DROP }, { "track", KC_DROP },
	{ "track1", KC_DROP }, { "track2", KC_DROP },
	{ "track_data", KC_DROP },
	{ "number", KC_CARD }, { "card_number", KC_CARD },
	{ "cardnumber", KC_CARD }, { "pan", KC_CARD },
	{ "account_number", KC_CARD }, { "routing_number", KC_CARD },
	{ "iban", KC_CARD },
	{ "email", KC_EMAIL },
	{ "password", KC_SECRET }, { "passwd", KC_SECRET },
	{ "secret", KC_SECRET }, { "token", KC_SECRET },
	{ "api_key", KC_SECRET }, { "apikey", KC_SECRET },
	{ "secret_key", KC_SECRET }, { "private_key", KC_SECRET },
	{ "authorization", KC_SECRET }, { "proxy_authorization", KC_SECRET },
	{ "cookie", KC_SECRET }, { "set_cookie", KC_SECRET },
	{ "stripe_signature", KC_SECRET },
	{ "phone", KC_REDACT }, { "phone_number", KC_REDACT },
	{ "line1", KC_REDACT }, { "line2", KC_REDACT },
	{ "address_line1", KC_REDACT }, { "address_line2", KC_REDACT },
	{ "ssn", KC_REDACT }, { "id_number", KC_REDACT },
	{ "personal_id_number", KC_REDACT }, { "tax_id", KC_REDACT },
};

static const char *const secret_prefixes[] = {
	"sk_live_", "sk_test_", "rk_live_", "rk_test_", "pk_live_",
	"pk_test_", "whsec_", "pgk_",
};

/* Writes s into out, or "" and PG_TOOLARGE when it does not fit. */
static enum pg_err
put_str(const char *s, size_t n, char *out, size_t outsz)
{
	if (outsz == 0)
		return PG_TOOLARGE;
	if (n >= outsz) {
		out[0] = '\0';
		return PG_TOOLARGE;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return PG_OK;
}

/*
 * Counts the digits of a card-shaped value (digits, spaces, dashes);
 * returns 0 when another character appears or there is no digit.
 */
static size_t
card_digits(const char *in)
{
	size_t	 n = 0;

	for (; *in != '\0'; in++) {
		if (*in >= '0' && *in <= '9')
			n++;
		else if (*in != ' ' && *in != '-')
			return 0;
	}
	return n;
}

/* Shared by mask_card and mask_card_bin: keep head and tail digits. */
static enum pg_err
mask_digits(const char *in, size_t keep_head, char *out, size_t outsz)
{
	size_t		 n, i = 0, k = 0, tail = 4;
	enum pg_err	 rc;

	if (in == NULL || (n = card_digits(in)) == 0) {
		rc = put_str(MASK_STARS, 4, out, outsz);
		goto out;
	}
	if (n < 8)
		keep_head = tail = 0;	/* too short to show any of it */
	if (n >= outsz) {
		rc = put_str("", n + 1, out, outsz);
		goto out;
	}
	for (; *in != '\0'; in++) {
		if (*in < '0' || *in > '9')
			continue;
		out[i++] = (k < keep_head || k >= n - tail) ? *in : '*';
		k++;
	}
	out[i] = '\0';
	rc = PG_OK;
out:
	return rc;
}

enum pg_err
mask_card(const char *in, char *out, size_t outsz)
{
	return mask_digits(in, 0, out, outsz);
}

enum pg_err
mask_card_bin(const char *in, char *out, size_t outsz)
{
	size_t	 n = in != NULL ? card_digits(in) : 0;

	/* First six plus last four must leave something hidden. */
	return mask_digits(in, n >= PAN_MIN ? 6 : 0, out, outsz);
}

/* Length of the UTF-8 sequence at s, or 0 when it is not well formed. */
static size_t
utf8_len(const unsigned char *s, size_t avail)
{
	size_t	 n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (n > avail)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int
utf8_valid(const char *s, size_t len)
{
	size_t	 i = 0, n;

	while (i < len) {
		if ((n = utf8_len((const unsigned char *)s + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

enum pg_err
mask_email(const char *in, char *out, size_t outsz)
{
	const char	*at, *dom;
	size_t		 len, llen, first, last = 0, nch = 0, i, o = 0, dlen, need;
	enum pg_err	 rc;

	/* Not exactly one '@' with text on both sides: mask it all. */
	if (in == NULL || (at = strchr(in, '@')) == NULL ||
	    strchr(at + 1, '@') != NULL || at == in || at[1] == '\0' ||
	    !utf8_valid(in, strlen(in))) {
		rc = put_str(MASK_STARS, 4, out, outsz);
		goto out;
	}
	len = strlen(in);
	llen = (size_t)(at - in);
	dom = at + 1;
	dlen = len - llen - 1;
	/* Character boundaries of the local part: first and last. */
	first = utf8_len((const unsigned char *)in, llen);
	for (i = 0; i < llen; i += utf8_len((const unsigned char *)in + i,
	    llen - i)) {
		last = i;
		nch++;
	}
	need = (nch >= 2 ? first : 0) + 3 + (nch >= 3 ? llen - last : 0) +
	    1 + dlen;
	if (need >= outsz) {
		rc = put_str("", outsz, out, outsz);
		goto out;
	}
	if (nch >= 2) {
		memcpy(out, in, first);
		o = first;
	}
	memcpy(out + o, "***", 3);
	o += 3;
	if (nch >= 3) {
		memcpy(out + o, in + last, llen - last);
		o += llen - last;
	}
	out[o++] = '@';
	memcpy(out + o, dom, dlen);
	o += dlen;
	out[o] = '\0';
	rc = PG_OK;
out:
	return rc;
}

/* The known prefix of s, or NULL. */
static const char *
secret_prefix(const char *s)
{
	size_t	 i;

	for (i = 0; i < sizeof(secret_prefixes) / sizeof(secret_prefixes[0]);
	    i++)
		if (strncmp(s, secret_prefixes[i],
		    strlen(secret_prefixes[i])) == 0)
			return secret_prefixes[i];
	return NULL;
}

enum pg_err
mask_secret(const char *in, char *out, size_t outsz)
{
	const char	*pfx = NULL;
	size_t		 plen = 0, len = 0, i;
	char		 tmp[32];
	int		 show = 0;

	if (in != NULL && (pfx = secret_prefix(in)) != NULL) {
		len = strlen(in);
		plen = strlen(pfx);
		show = len - plen >= SECRET_MIN_TAIL;
		/* Only printable ASCII is shown: nothing odd reaches a log. */
		for (i = len - 4; show && i < len; i++)
			if (!isgraph((unsigned char)in[i]))
				show = 0;
	}
	if (!show)
		return put_str(MASK_STARS, 4, out, outsz);
	memcpy(tmp, pfx, plen);
	memcpy(tmp + plen, MASK_STARS, 4);
	memcpy(tmp + plen + 4, in + len - 4, 4);
	return put_str(tmp, plen + 8, out, outsz);
}

enum pg_err
mask_auto(const char *in, char *out, size_t outsz)
{
	if (in == NULL)
		return put_str(MASK_STARS, 4, out, outsz);
	if (strchr(in, '@') != NULL)
		return mask_email(in, out, outsz);
	if (card_digits(in) > 0)
		return mask_card(in, out, outsz);
	return mask_secret(in, out, outsz);
}

/*
 * Handles one run at in[0..]: digits joined by separators.  Writes
 * the (possibly masked) run to out and returns its length in bytes.
 * dig is scratch space for at least as many bytes as the run.
 */
static size_t
mask_run(const char *in, size_t len, char *dig, char *out, size_t *olen)
{
	size_t	 i = 0, n = 0, s, w, o = 0, sep;
	int	 hit = 0;

	for (;;) {
		while (i < len && in[i] >= '0' && in[i] <= '9')
			dig[n++] = in[i++];
		if (i < len && (sep = pci_sep_len(in + i, len - i)) > 0) {
			i += sep;
			continue;
		}
		break;
	}
	if (n >= PAN_MIN && n <= PAN_MAX && pci_luhn(dig, n)) {
		for (s = 0; s < n; s++)
			out[o++] = s + 4 < n ? '*' : dig[s];
		*olen = o;
		return i;
	}
	for (s = 0; s + PAN_MIN <= n && !hit; s++)
		for (w = PAN_MIN; w <= PAN_MAX && s + w <= n && !hit; w++)
			hit = pci_luhn(dig + s, w);
	for (s = 0; s < i; s++)
		out[o++] = (hit && in[s] >= '0' && in[s] <= '9') ? '*' : in[s];
	*olen = o;
	return i;
}

enum pg_err
mask_text(const char *in, size_t len, char **out)
{
	size_t	 olen;

	return mask_text_len(in, len, out, &olen);
}

enum pg_err
mask_text_len(const char *in, size_t len, char **out, size_t *outlen)
{
	char		*o = NULL, *dig = NULL;
	size_t		 i = 0, n = 0, used, olen;
	enum pg_err	 rc = PG_ENOMEM;

	*out = NULL;
	if (in == NULL)
		len = 0;
	if (len == SIZE_MAX) {
		rc = PG_TOOLARGE;
		goto out;
	}
	if ((o = malloc(len + 1)) == NULL || (dig = malloc(len + 1)) == NULL)
		goto out;
	while (i < len) {
		if (in[i] < '0' || in[i] > '9') {
			o[n++] = in[i++];
			continue;
		}
		used = mask_run(in + i, len - i, dig, o + n, &olen);
		i += used;
		n += olen;
	}
	o[n] = '\0';
	*out = o;
	*outlen = n;
	o = NULL;
	rc = PG_OK;
out:
	free(o);
	free(dig);
	return rc;
}

/* The last bracket component of key, lowercased, '-' as '_'. */
static void
key_leaf(const char *key, char *leaf, size_t leafsz)
{
	const char	*p, *e;
	size_t		 n, i;

	e = key + strlen(key);
	if (e > key && e[-1] == ']') {
		e--;
		for (p = e; p > key && p[-1] != '['; p--)
			;
	} else
		p = key;
	n = (size_t)(e - p);
	if (n >= leafsz)
		n = leafsz - 1;
	for (i = 0; i < n; i++)
		leaf[i] = p[i] == '-' ? '_' : (char)tolower((unsigned char)p[i]);
	leaf[n] = '\0';
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t	 n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static enum key_class
key_class(const char *key)
{
	char	 leaf[64];
	size_t	 i;

	if (key == NULL)
		return KC_NONE;
	key_leaf(key, leaf, sizeof(leaf));
	for (i = 0; i < sizeof(key_rules) / sizeof(key_rules[0]); i++)
		if (strcmp(leaf, key_rules[i].name) == 0)
			return key_rules[i].kc;
	if (ends_with(leaf, "_email"))
		return KC_EMAIL;
	if (ends_with(leaf, "_secret") || ends_with(leaf, "_password") ||
	    ends_with(leaf, "_api_key"))
		return KC_SECRET;
	return KC_NONE;
}

int
mask_is_sensitive_key(const char *key)
{
	return key_class(key) != KC_NONE;
}

/* The replacement for a scalar under a sensitive key (new reference). */
static struct json_object *
mask_scalar(struct json_object *v, enum key_class kc)
{
	char		 buf[512];
	const char	*s;
	enum pg_err	 rc;

	s = json_object_get_string(v);
	if (s == NULL || json_object_get_type(v) == json_type_double ||
	    (json_object_get_type(v) == json_type_string &&
	    strlen(s) != (size_t)json_object_get_string_len(v)))
		s = "";		/* embedded NUL: treat as unknown */
	switch (kc) {
	case KC_CARD:
		rc = mask_card(s, buf, sizeof(buf));
		break;
	case KC_EMAIL:
		rc = mask_email(s, buf, sizeof(buf));
		break;
	case KC_SECRET:
		rc = mask_secret(s, buf, sizeof(buf));
		break;
	default:
		rc = PG_EINVAL;
		break;
	}
	if (rc != PG_OK)
		return json_object_new_string(MASK_STARS);
	return json_object_new_string(buf);
}

/* The value-masked copy of a string or int, or NULL when unchanged. */
static enum pg_err
mask_by_value(struct json_object *v, struct json_object **repl)
{
	const char	*s;
	char		*m = NULL;
	size_t		 len, mlen = 0;
	enum pg_err	 rc = PG_OK;

	*repl = NULL;
	s = json_object_get_string(v);
	len = json_object_get_type(v) == json_type_string ?
	    (size_t)json_object_get_string_len(v) : strlen(s);
	if ((rc = mask_text_len(s, len, &m, &mlen)) != PG_OK)
		goto out;
	if ((mlen != len || memcmp(m, s, len) != 0) &&
	    (*repl = json_object_new_string_len(m, (int)mlen)) == NULL)
		rc = PG_ENOMEM;
out:
	free(m);
	return rc;
}

static int
is_container(struct json_object *v)
{
	return json_object_is_type(v, json_type_object) ||
	    json_object_is_type(v, json_type_array);
}

static enum pg_err mask_node(struct json_object *, int);

/*
 * The replacement for child (found under key, NULL in arrays), or NULL
 * when child stays; *drop is set when the member must go.
 */
static enum pg_err
mask_child(const char *key, struct json_object *child, int depth,
    struct json_object **repl, int *drop)
{
	enum key_class	 kc = key_class(key);
	enum pg_err	 rc = PG_OK;

	*repl = NULL;
	*drop = 0;
	if (kc == KC_DROP) {
		*drop = 1;
		goto out;
	}
	if (child == NULL || json_object_is_type(child, json_type_boolean))
		goto out;
	if (is_container(child)) {
		if (depth + 1 > MASK_DEPTH_MAX) {
			if ((*repl = json_object_new_string("[depth-limit]")) ==
			    NULL)
				rc = PG_ENOMEM;
			goto out;
		}
		rc = mask_node(child, depth + 1);
		goto out;
	}
	if (kc == KC_REDACT)
		*repl = json_object_new_string(MASK_STARS);
	else if (kc != KC_NONE)
		*repl = mask_scalar(child, kc);
	else if (json_object_is_type(child, json_type_string) ||
	    json_object_is_type(child, json_type_int))
		rc = mask_by_value(child, repl);
	else
		goto out;
	if (rc == PG_OK && kc != KC_NONE && *repl == NULL)
		rc = PG_ENOMEM;
out:
	return rc;
}

static enum pg_err
mask_node(struct json_object *v, int depth)
{
	struct json_object *repl;
	size_t		 i, n;
	int		 drop;
	enum pg_err	 rc = PG_OK, r;

	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, child) {
			if ((r = mask_child(key, child, depth, &repl, &drop)) !=
			    PG_OK && rc == PG_OK)
				rc = r;
			/* foreach already holds the next entry: safe. */
			if (drop)
				json_object_object_del(v, key);
			else if (repl != NULL &&
			    json_object_object_add(v, key, repl) != 0) {
				json_object_put(repl);
				rc = PG_ENOMEM;
			}
		}
	} else if (json_object_is_type(v, json_type_array)) {
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			if ((r = mask_child(NULL, json_object_array_get_idx(v,
			    i), depth, &repl, &drop)) != PG_OK && rc == PG_OK)
				rc = r;
			if (repl != NULL &&
			    json_object_array_put_idx(v, i, repl) != 0) {
				json_object_put(repl);
				rc = PG_ENOMEM;
			}
		}
	}
	return rc;
}

enum pg_err
mask_json(struct json_object *v)
{
	struct json_object *repl = NULL;
	int		 drop;
	enum pg_err	 rc = PG_OK;

	if (v == NULL)
		goto out;
	if (is_container(v)) {
		rc = mask_node(v, 0);
		goto out;
	}
	/* A bare scalar can only be masked in place when it is a string. */
	if (json_object_is_type(v, json_type_string) &&
	    (rc = mask_child(NULL, v, 0, &repl, &drop)) == PG_OK &&
	    repl != NULL) {
		json_object_set_string_len(v, json_object_get_string(repl),
		    json_object_get_string_len(repl));
		json_object_put(repl);
	}
out:
	return rc;
}
