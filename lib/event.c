/*
 * payguard - Stripe event payload validation with json-c.
 */
#include <string.h>

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
	*why = "object must be \"event\"";
	if (!json_object_object_get_ex(root, "object", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "event") != 0)
		goto out;
	*why = "type must be a string";
	if (!json_object_object_get_ex(root, "type", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    (s = json_object_get_string(v)) == NULL || *s == '\0' ||
	    strlen(s) > EVENT_TYPE_MAX || !printable(s))
		goto out;
	memcpy(ev->type, s, strlen(s) + 1);
	*why = "created must be an integer";
	if (!json_object_object_get_ex(root, "created", &v) ||
	    !json_object_is_type(v, json_type_int))
		goto out;
	ev->created = json_object_get_int64(v);
	if (json_object_object_get_ex(root, "livemode", &v))
		ev->livemode = json_object_get_boolean(v);
	if (json_object_object_get_ex(root, "api_version", &v) &&
	    json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		if (strlen(s) >= sizeof(ev->api_version) || !printable(s)) {
			*why = "api_version is malformed";
			goto out;
		}
		memcpy(ev->api_version, s, strlen(s) + 1);
	}
	*why = NULL;
	e = PG_OK;
out:
	json_object_put(root);
	if (tok != NULL)
		json_tokener_free(tok);
	return e;
}
