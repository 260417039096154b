/* Results into the store: one item, or a task's errors, from a callback or a poll. */
#include "complete.h"

#include <stdlib.h>
#include <string.h>

#include "rw_record.h"
#include "rw_response.h"
#include "util.h"

int rwd_complete_item(struct rwd_store *st, const char *uuid, json_object *item, rwd_redis_cb *cb,
                      void *arg)
{
    const char *img = rw_item_image_uuid(item), *json;
    char *tail = NULL;
    int rc = -1;

    if (!img)
        return -1;
    json_object_object_del(item, "status");
    json = json_object_to_json_string_ext(item,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (json && (tail = rw_record_tail(NULL, rwd_now_ms())))
        rc = rwd_store_complete(st, uuid, img, json, strlen(json), tail, cb, arg);
    free(tail);
    return rc;
}

int rwd_complete_errors(struct rwd_store *st, const char *uuid, json_object *errors,
                        rwd_redis_cb *cb, void *arg)
{
    json_object *copy = json_object_new_array();
    char *tail = NULL;
    int rc = -1;

    if (!copy)
        return -1;
    for (size_t i = 0; i < json_object_array_length(errors); i++) {
        json_object *e = rw_error_for_record(json_object_array_get_idx(errors, i));

        if (!e || json_object_array_add(copy, e) < 0) {
            json_object_put(e);
            goto out;
        }
    }
    if ((tail = rw_record_tail(copy, rwd_now_ms())))
        rc = rwd_store_complete(st, uuid, NULL, NULL, 0, tail, cb, arg);
out:
    free(tail);
    json_object_put(copy);
    return rc;
}
