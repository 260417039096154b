/* Runware answers, acknowledgements and webhook bodies -> result items and errors. */
#ifndef RW_RESPONSE_H
#define RW_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

struct rw_response {
    json_object *root;   /* owned: the parsed body */
    json_object **items; /* borrowed from root: entries of "data", or the bare item */
    size_t nitems;
    json_object **errors; /* borrowed from root: entries of "errors" (objects only) */
    size_t nerrors;
};

/* Parses any of the shapes Runware sends: {"data":[...]} (with or without "errors"),
 * {"errors":[...]}, or a bare result item (an object with "taskUUID" and neither "data" nor
 * "errors"). Non-object entries in the arrays are skipped. Returns 0, or -1 with a message in
 * err (not JSON, not an object, "data"/"errors" not arrays, nothing recognisable). */
int rw_response_parse(const char *buf, size_t len, struct rw_response *out, char *err,
                      size_t errlen);
/* The same with a tokener of the caller's (from json_tokener_new(), reset here before use), so
 * that a caller parsing many bodies does not make one each time; NULL: as rw_response_parse. */
int rw_response_parse_with(json_tokener *tok, const char *buf, size_t len, struct rw_response *out,
                           char *err, size_t errlen);
/* rw_response_parse of a body first checked to be JSON as RFC 8259 defines it, by rw_cbody_read's
 * reader: what Runware's own answers (acknowledgements, getResponse) go through, so that nothing
 * json-c takes but JSON forbids (NaN, comments, "1.", overlong UTF-8...) reaches a record. A body
 * that fails the check gets the reader's "not JSON: <what> at byte <offset>". */
int rw_response_read(const char *buf, size_t len, struct rw_response *out, char *err,
                     size_t errlen);
void rw_response_clear(struct rw_response *r);

/* Field accessors on one item or error object: a borrowed string, or NULL when absent or not
 * a string. */
const char *rw_item_task_uuid(json_object *item);
const char *rw_item_image_uuid(json_object *item);
const char *rw_item_status(json_object *item); /* getResponse: processing | success | error */

/* A copy of a Runware error for a record: code, message, parameter and any other fields, less
 * taskUUID/taskType which the record already carries. NULL on ENOMEM. */
json_object *rw_error_for_record(json_object *err);

/* Does this getResponse error only say that Runware does not know the task (code containing
 * "notFound", any case, as in taskNotFound)? */
bool rw_error_is_not_found(json_object *err);

#endif
