/*
 * payguard - Stripe event payload validation with json-c.
 */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "event.h"

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static int
id_chars(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

/* Account ids ("acct_...") and v2 contexts ("acct_1/acct_2"). */
static int
account_ok(const char *s)
{
	if (strncmp(s, "acct_", 5) != 0 || strlen(s) > EVENT_ACCOUNT_MAX ||
	    strlen(s) < 6)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '/')
			return 0;
	return 1;
}

/* n digits at *p into *v; advances *p.  0 when they are not digits. */
static int
digits(const char **p, int n, int *v)
{
	*v = 0;
	for (; n > 0; n--, (*p)++) {
		if (**p < '0' || **p > '9')
			return 0;
		*v = *v * 10 + (**p - '0');
	}
	return 1;
}

/*
 * RFC 3339 date-time ("2024-09-26T00:00:00.000Z", "...+02:00") to
 * seconds since the epoch.  0 when malformed.
 */
static int
rfc3339(const char *s, int64_t *out)
{
	struct tm	 tm;
	int		 y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0, x;
	time_t		 t;

	if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) ||
	    *s++ != '-' || !digits(&s, 2, &d) ||
	    (*s != 'T' && *s != 't' && *s != ' ') || !(s++, digits(&s, 2, &h)) ||
	    *s++ != ':' || !digits(&s, 2, &mi) || *s++ != ':' ||
	    !digits(&s, 2, &sec))
		return 0;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return 0;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		if (!digits(&s, 2, &oh) || *s++ != ':' || !digits(&s, 2, &om) ||
		    oh > 23 || om > 59)
			return 0;
	} else
		return 0;
	if (*s != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || sec > 60)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm normalises 31 February into March: refuse that. */
	x = tm.tm_mday;
	if (t == (time_t)-1 || x != d)
		return 0;
	*out = (int64_t)t - sign * (oh * 3600 + om * 60);
	return 1;
}

/* An optional string member: absent or null is fine (""), else ok(). */
static int
opt_string(struct json_object *root, const char *key, int (*ok)(const char *),
    char *dst, size_t dstsz)
{
	struct json_object	*v;
	const char		*s;

	dst[0] = '\0';
	if (!json_object_object_get_ex(root, key, &v) || v == NULL)
		return 1;
	if (!json_object_is_type(v, json_type_string))
		return 0;
	s = json_object_get_string(v);
	if (!ok(s) || strlen(s) >= dstsz)
		return 0;
	memcpy(dst, s, strlen(s) + 1);
	return 1;
}

static int
related_member(struct json_object *o, const char *key)
{
	struct json_object	*v;

	return json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) > 0 &&
	    printable(json_object_get_string(v));
}

/* The parts only a snapshot event has. */
static int
snapshot_fields(struct json_object *root, struct event_info *ev,
    const char **why)
{
	struct json_object	*v;
	const char		*s;

	*why = "created must be an integer";
	if (!json_object_object_get_ex(root, "created", &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	ev->created = json_object_get_int64(v);
	*why = "account must be null or an acct_ id";
	if (!opt_string(root, "account", account_ok, ev->account,
	    sizeof(ev->account)))
		return 0;
	if (json_object_object_get_ex(root, "api_version", &v) &&
	    json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		if (strlen(s) >= sizeof(ev->api_version) || !printable(s)) {
			*why = "api_version is malformed";
			return 0;
		}
		memcpy(ev->api_version, s, strlen(s) + 1);
	}
	return 1;
}

/* The parts only a thin event notification has. */
static int
thin_fields(struct json_object *root, struct event_info *ev,
    const char **why)
{
	struct json_object	*v;

	*why = "created must be an RFC 3339 date-time string";
	if (!json_object_object_get_ex(root, "created", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !rfc3339(json_object_get_string(v), &ev->created))
		return 0;
	*why = "context must be null or an acct_ id";
	if (!opt_string(root, "context", account_ok, ev->account,
	    sizeof(ev->account)))
		return 0;
	*why = "related_object must be null or an object with string id, "
	    "type and url";
	if (json_object_object_get_ex(root, "related_object", &v) &&
	    v != NULL && (!json_object_is_type(v, json_type_object) ||
	    !related_member(v, "id") || !related_member(v, "type") ||
	    !related_member(v, "url")))
		return 0;
	return 1;
}

const char *
event_kind_name(enum event_kind k)
{
	return k == EVENT_THIN ? "thin" : "snapshot";
}

enum pg_err
event_kinds_parse(const char *s, unsigned int *set)
{
	const char	*p, *e;
	size_t		 n;

	*set = 0;
	for (p = s; p != NULL && *p != '\0'; p = *e == ',' ? e + 1 : e) {
		while (*p == ' ')
			p++;
		e = p + strcspn(p, ",");
		for (n = (size_t)(e - p); n > 0 && p[n - 1] == ' '; n--)
			;
		if (n == 8 && strncmp(p, "snapshot", 8) == 0)
			*set |= EVENT_KIND_BIT(EVENT_SNAPSHOT);
		else if (n == 4 && strncmp(p, "thin", 4) == 0)
			*set |= EVENT_KIND_BIT(EVENT_THIN);
		else
			return PG_EINVAL;
	}
	return *set != 0 ? PG_OK : PG_EINVAL;
}

enum pg_err
event_validate(const char *body, size_t len, struct event_info *ev,
    const char **why)
{
	struct json_tokener	*tok = NULL;
	struct json_object	*root = NULL, *v;
	const char		*s;
	size_t			 off;
	enum pg_err		 e = PG_EINVAL;

	memset(ev, 0, sizeof(*ev));
	*why = "body is not a JSON object";
	if (len == 0 || len > (size_t)INT32_MAX)
		goto out;
	/* json-c would stop at a NUL and accept the prefix. */
	if (memchr(body, '\0', len) != NULL) {
		*why = "body contains a NUL byte";
		goto out;
	}
	if ((tok = json_tokener_new_ex(EVENT_MAX_DEPTH)) == NULL) {
		e = PG_ENOMEM;
		goto out;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, body, (int)len);
	if (root == NULL) {
		enum json_tokener_error je = json_tokener_get_error(tok);
		*why = je == json_tokener_error_depth ? "JSON nested too deeply" :
		    je == json_tokener_continue ? "JSON is truncated" :
		    je == json_tokener_error_parse_utf8_string ?
		    "body is not valid UTF-8" : "body is not valid JSON";
		goto out;
	}
	off = json_tokener_get_parse_end(tok);
	while (off < len && strchr(" \t\r\n", body[off]) != NULL)
		off++;
	if (off != len) {
		*why = "trailing data after the JSON object";
		goto out;
	}
	if (!json_object_is_type(root, json_type_object))
		goto out;
	*why = "id must be a string starting evt_";
	if (!json_object_object_get_ex(root, "id", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    (s = json_object_get_string(v)) == NULL ||
	    strncmp(s, "evt_", 4) != 0 || strlen(s) > EVENT_ID_MAX ||
	    strlen(s) < 5 || !id_chars(s))
		goto out;
	memcpy(ev->id, s, strlen(s) + 1);
	*why = "object must be \"event\" or \"v2.core.event\"";
	if (!json_object_object_get_ex(root, "object", &v) ||
	    !json_object_is_type(v, json_type_string))
		goto out;
	if (strcmp(json_object_get_string(v), "event") == 0)
		ev->kind = EVENT_SNAPSHOT;
	else if (strcmp(json_object_get_string(v), "v2.core.event") == 0)
		ev->kind = EVENT_THIN;
	else
		goto out;
	*why = "type must be a string";
	if (!json_object_object_get_ex(root, "type", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    (s = json_object_get_string(v)) == NULL || *s == '\0' ||
	    strlen(s) > EVENT_TYPE_MAX || !printable(s))
		goto out;
	memcpy(ev->type, s, strlen(s) + 1);
	if (json_object_object_get_ex(root, "livemode", &v))
		ev->livemode = json_object_get_boolean(v);
	if (ev->kind == EVENT_SNAPSHOT ? !snapshot_fields(root, ev, why) :
	    !thin_fields(root, ev, why))
		goto out;
	*why = NULL;
	e = PG_OK;
out:
	json_object_put(root);
	if (tok != NULL)
		json_tokener_free(tok);
	return e;
}
