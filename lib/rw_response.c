/* Runware answers, acknowledgements and webhook bodies -> result items and errors. */
#include "rw_response.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rw_cbody.h"

/* Collects the object entries of arr (borrowed) into a new pointer array. Returns -1 on ENOMEM. */
static int rw_response_objects(json_object *arr, json_object ***out, size_t *n)
{
    size_t len = json_object_array_length(arr), k = 0;
    json_object **v;

    *out = NULL;
    *n = 0;
    if (len == 0)
        return 0;
    if ((v = calloc(len, sizeof(*v))) == NULL)
        return -1;
    for (size_t i = 0; i < len; i++) {
        json_object *e = json_object_array_get_idx(arr, i);

        if (json_object_is_type(e, json_type_object))
            v[k++] = e;
    }
    if (k == 0) {
        free(v);
        return 0;
    }
    *out = v;
    *n = k;
    return 0;
}

static bool rw_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int rw_response_parse(const char *buf, size_t len, struct rw_response *out, char *err,
                      size_t errlen)
{
    return rw_response_parse_with(NULL, buf, len, out, err, errlen);
}

int rw_response_read(const char *buf, size_t len, struct rw_response *out, char *err, size_t errlen)
{
    struct rw_cbody strict;

    if (rw_cbody_read(buf, len, &strict, err, errlen) == RW_CBODY_INVALID) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return rw_response_parse_with(NULL, buf, len, out, err, errlen);
}

int rw_response_parse_with(json_tokener *reuse, const char *buf, size_t len,
                           struct rw_response *out, char *err, size_t errlen)
{
    json_tokener *tok = reuse;
    json_object *root = NULL, *data = NULL, *errs = NULL;
    bool has_data, has_errors;
    size_t end;

    memset(out, 0, sizeof(*out));
    if (len > INT_MAX) {
        snprintf(err, errlen, "body too large (%zu bytes)", len);
        goto fail;
    }
    if (tok != NULL)
        json_tokener_reset(tok);
    else if ((tok = json_tokener_new()) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, buf, (int)len);
    end = json_tokener_get_parse_end(tok);
    if (root == NULL && json_tokener_get_error(tok) == json_tokener_continue) {
        /* a top-level number ends only at a delimiter: a space supplies one */
        root = json_tokener_parse_ex(tok, " ", 1);
        end = len;
    }
    if (root == NULL && json_tokener_get_error(tok) != json_tokener_success) {
        enum json_tokener_error je = json_tokener_get_error(tok);

        if (je == json_tokener_continue)
            je = json_tokener_error_parse_eof;
        snprintf(err, errlen, "not JSON: %s at byte %zu", json_tokener_error_desc(je), end);
        goto fail;
    }
    for (; end < len; end++) {
        if (!rw_is_space(buf[end])) {
            snprintf(err, errlen, "not JSON: unexpected data after the value at byte %zu", end);
            goto fail;
        }
    }
    if (!json_object_is_type(root, json_type_object)) {
        snprintf(err, errlen, "not a JSON object but %s",
                 json_type_to_name(json_object_get_type(root)));
        goto fail;
    }
    has_data = json_object_object_get_ex(root, "data", &data);
    has_errors = json_object_object_get_ex(root, "errors", &errs);
    if (has_data && !json_object_is_type(data, json_type_array)) {
        snprintf(err, errlen, "\"data\" is not an array");
        goto fail;
    }
    if (has_errors && !json_object_is_type(errs, json_type_array)) {
        snprintf(err, errlen, "\"errors\" is not an array");
        goto fail;
    }
    if (!has_data && !has_errors) {
        if (rw_item_task_uuid(root) == NULL) {
            snprintf(err, errlen, "neither \"data\", \"errors\" nor a result item with a taskUUID");
            goto fail;
        }
        if ((out->items = calloc(1, sizeof(*out->items))) == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        out->items[0] = root;
        out->nitems = 1;
    }
    if (has_data && rw_response_objects(data, &out->items, &out->nitems) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (has_errors && rw_response_objects(errs, &out->errors, &out->nerrors) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    out->root = root;
    if (tok != reuse)
        json_tokener_free(tok);
    return 0;
fail:
    rw_response_clear(out);
    json_object_put(root);
    if (tok != NULL && tok != reuse)
        json_tokener_free(tok);
    return -1;
}

void rw_response_clear(struct rw_response *r)
{
    if (r == NULL)
        return;
    free(r->items);
    free(r->errors);
    json_object_put(r->root);
    memset(r, 0, sizeof(*r));
}

static const char *rw_field_string(json_object *obj, const char *key)
{
    json_object *v;

    if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

const char *rw_item_task_uuid(json_object *item)
{
    return rw_field_string(item, "taskUUID");
}

const char *rw_item_image_uuid(json_object *item)
{
    return rw_field_string(item, "imageUUID");
}

const char *rw_item_status(json_object *item)
{
    return rw_field_string(item, "status");
}

json_object *rw_error_for_record(json_object *err)
{
    json_object *copy = NULL;

    if ((copy = json_object_new_object()) == NULL)
        goto fail;
    if (!json_object_is_type(err, json_type_object))
        return copy;
    json_object_object_foreach(err, key, val)
    {
        json_object *v = NULL;

        if (strcmp(key, "taskUUID") == 0 || strcmp(key, "taskType") == 0)
            continue;
        if (val != NULL && json_object_deep_copy(val, &v, NULL) != 0)
            goto fail; /* JSON null is a NULL object, which deep_copy refuses */
        if (json_object_object_add(copy, key, v) != 0) {
            json_object_put(v);
            goto fail;
        }
    }
    return copy;
fail:
    json_object_put(copy);
    return NULL;
}

bool rw_error_is_not_found(json_object *err)
{
    json_object *code;

    return json_object_object_get_ex(err, "code", &code) &&
           json_object_is_type(code, json_type_string) &&
           strcasestr(json_object_get_string(code), "notfound") != NULL;
}
