#include "nftjson.h"

#include <stdio.h>

json_t *nftjson_list(const char *json, size_t len, json_t **root, char *err, size_t errlen)
{
	json_error_t je;
	json_t *list;

	*root = json_loadb(json, len, 0, &je);
	if (!*root) {
		snprintf(err, errlen, "not JSON: line %d: %s", je.line, je.text);
		return NULL;
	}
	list = json_object_get(*root, "nftables");
	if (!json_is_array(list)) {
		snprintf(err, errlen, "no \"nftables\" array");
		json_decref(*root);
		*root = NULL;
		return NULL;
	}
	return list;
}
