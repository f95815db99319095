/* nftjson: the top of the JSON that libnftables prints for "list ruleset"
 * (libnftables-json(5)): {"nftables": [ {...}, ... ]}. Pure: jansson only. */
#ifndef NFFLOWD_NFTJSON_H
#define NFFLOWD_NFTJSON_H

#include <jansson.h>
#include <stddef.h>

/* Parse json[0..len) and return its "nftables" array, with *root set to
 * the document (json_decref it when done with the array); NULL with the
 * reason in err (and nothing to free) if it is not JSON or has no such
 * array. */
json_t *nftjson_list(const char *json, size_t len, json_t **root, char *err, size_t errlen);

#endif
