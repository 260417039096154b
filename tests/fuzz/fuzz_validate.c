/* libFuzzer: any bytes as JSON -> rw_schema_validate with the shipped schema, on whatever the
 * input parses to (not only objects a job would carry), with every error well formed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "rw_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rw_schema *schema;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_tokener *tok;
    json_object *task, *errors;
    char err[256];
    int n;

    if (!schema && !(schema = rw_schema_load(RW_FUZZ_SPEC, err, sizeof(err))))
        abort();
    if (size > 1 << 20 || !(tok = json_tokener_new_ex(32)))
        return 0;
    task = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    json_tokener_free(tok);
    /* the contract: a task is an object (rw_job_parse refuses anything else first) */
    if (!json_object_is_type(task, json_type_object) || !(errors = json_object_new_array())) {
        json_object_put(task);
        return 0;
    }
    n = rw_schema_validate(schema, task, errors);
    if (n > RW_SCHEMA_MAX_ERRORS || (n >= 0 && (size_t)n != json_object_array_length(errors)))
        abort();
    for (size_t i = 0; n > 0 && i < (size_t)n; i++) {
        json_object *e = json_object_array_get_idx(errors, i), *code, *msg;
        if (!json_object_object_get_ex(e, "code", &code) ||
            !json_object_object_get_ex(e, "message", &msg) || !json_object_get_string(msg))
            abort(); /* an error without code or message */
    }
    json_object_put(errors);
    json_object_put(task);
    return 0;
}
