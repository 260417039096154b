/* A job as producers push it: bare task or envelope -> the task runwared submits, or errors. */
#include "rw_job.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rw_errors.h"
#include "rw_schema.h"

/* The JSON type of v as a producer would name it ("number", not "int"). */
static const char *rw_json_kind(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return "boolean";
    case json_type_double:
    case json_type_int:
        return "number";
    case json_type_object:
        return "object";
    case json_type_array:
        return "array";
    case json_type_string:
        return "string";
    }
    return "unknown";
}

static bool rw_is_string(json_object *v, const char *want)
{
    return json_object_is_type(v, json_type_string) &&
           (want == NULL || strcmp(json_object_get_string(v), want) == 0);
}

/* Sets key to a new string on obj. Returns -1 on ENOMEM. */
static int rw_set_string(json_object *obj, const char *key, const char *value)
{
    json_object *v = json_object_new_string(value);

    if (v == NULL)
        return -1;
    if (json_object_object_add(obj, key, v) != 0) {
        json_object_put(v);
        return -1;
    }
    return 0;
}

/* Parses exactly len bytes into *root and sets *ok, or adds an invalidJSON error and leaves *ok
 * false. *root is NULL for a JSON null. Returns -1 on ENOMEM. */
static int rw_job_tokenize(const char *buf, size_t len, json_object *errs, json_object **root,
                           bool *ok)
{
    json_tokener *tok = NULL;
    json_object *obj = NULL;
    enum json_tokener_error je;
    size_t end;
    int rc = -1;

    *root = NULL;
    *ok = false;
    if (len > INT_MAX) {
        if (rw_errors_add(errs, RW_E_INVALID_JSON, NULL, "payload of %zu bytes is too large", len))
            rc = 0;
        goto fail;
    }
    if ((tok = json_tokener_new_ex(RW_JOB_MAX_DEPTH)) == NULL)
        goto fail;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    obj = json_tokener_parse_ex(tok, buf, (int)len);
    je = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    if (obj == NULL && je == json_tokener_continue) {
        /* a top-level number ends only at a delimiter: a space supplies one */
        obj = json_tokener_parse_ex(tok, " ", 1);
        je = json_tokener_get_error(tok);
        if (je == json_tokener_continue)
            je = json_tokener_error_parse_eof;
        end = len; /* everything was consumed */
    }
    if (obj == NULL && je != json_tokener_success) {
        bool added;

        if (je == json_tokener_error_depth)
            added = rw_errors_add(errs, RW_E_INVALID_JSON, NULL,
                                  "payload refused: it is nested deeper than %d levels (at byte "
                                  "%zu)",
                                  RW_JOB_MAX_DEPTH, end);
        else if (je == json_tokener_error_parse_utf8_string)
            added = rw_errors_add(errs, RW_E_INVALID_JSON, NULL,
                                  "payload refused: it is not valid UTF-8 (at byte %zu)", end);
        else
            added = rw_errors_add(errs, RW_E_INVALID_JSON, NULL,
                                  "payload is not valid JSON: %s at byte %zu",
                                  json_tokener_error_desc(je), end);
        if (added)
            rc = 0;
        goto fail;
    }
    for (; end < len; end++) {
        char c = buf[end];

        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            if (rw_errors_add(errs, RW_E_INVALID_JSON, NULL,
                              "payload is not valid JSON: unexpected data after the value at "
                              "byte %zu",
                              end))
                rc = 0;
            goto fail;
        }
    }
    json_tokener_free(tok);
    *root = obj;
    *ok = true;
    return 0;
fail:
    json_object_put(obj);
    if (tok != NULL)
        json_tokener_free(tok);
    return rc;
}

/* NULL when v is a usable resultList, else why not. */
static const char *rw_result_list_problem(json_object *v)
{
    const unsigned char *s;
    size_t len;

    if (!json_object_is_type(v, json_type_string))
        return "resultList must be a string";
    s = (const unsigned char *)json_object_get_string(v);
    len = (size_t)json_object_get_string_len(v);
    if (len == 0 || len > RW_RESULT_LIST_MAX)
        return "resultList must be 1 to 512 bytes long";
    for (size_t i = 0; i < len; i++)
        if (s[i] <= ' ' || s[i] == 0x7f)
            return "resultList must not contain spaces or control characters";
    return NULL;
}

/* Checks the envelope's keys: takes meta and a valid resultList into job, a task object into
 * *task (a new reference). Returns -1 on ENOMEM. */
static int rw_job_envelope(json_object *root, struct rw_job *job, json_object **task,
                           json_object *errs)
{
    json_object_object_foreach(root, key, val)
    {
        if (strcmp(key, "task") == 0) {
            if (json_object_is_type(val, json_type_object))
                *task = json_object_get(val);
            else if (rw_errors_add(errs, RW_E_INVALID_PARAMETER, "task",
                                   "task must be a JSON object, got %s", rw_json_kind(val)) == NULL)
                return -1;
        } else if (strcmp(key, "meta") == 0) {
            job->meta = json_object_get(val);
        } else if (strcmp(key, "resultList") == 0) {
            const char *why = rw_result_list_problem(val);

            if (why != NULL) {
                if (rw_errors_add(errs, RW_E_INVALID_PARAMETER, "resultList", "%s", why) == NULL)
                    return -1;
            } else if ((job->result_list = strdup(json_object_get_string(val))) == NULL) {
                return -1;
            }
        } else if (rw_errors_add(errs, RW_E_UNKNOWN_PARAMETER, key,
                                 "unknown key \"%s\" in the job envelope (allowed: task, meta, "
                                 "resultList)",
                                 key) == NULL) {
            return -1;
        }
    }
    return 0;
}

/* The structural checks of one task; each problem found is appended to errs. *uuid receives the
 * producer's taskUUID (borrowed) when it is valid, *nres a valid numberResults. Returns -1 on
 * ENOMEM. */
static int rw_job_check_task(json_object *task, json_object *errs, const char **uuid, int *nres)
{
    json_object *v;

    if (!json_object_object_get_ex(task, "positivePrompt", &v)) {
        if (rw_errors_add(errs, RW_E_MISSING_PARAMETER, "positivePrompt",
                          "positivePrompt is required") == NULL)
            return -1;
    } else if (!rw_is_string(v, NULL)) {
        if (rw_errors_add(errs, RW_E_INVALID_PARAMETER, "positivePrompt",
                          "positivePrompt must be a string, got %s", rw_json_kind(v)) == NULL)
            return -1;
    }
    if (json_object_object_get_ex(task, "taskType", &v) && !rw_is_string(v, RW_TASK_TYPE)) {
        if (rw_errors_add(errs, RW_E_INVALID_PARAMETER, "taskType",
                          "taskType must be \"%s\" (or absent)", RW_TASK_TYPE) == NULL)
            return -1;
    }
    if (json_object_object_get_ex(task, "model", &v) && !rw_is_string(v, NULL)) {
        if (rw_errors_add(errs, RW_E_INVALID_PARAMETER, "model", "model must be a string, got %s",
                          rw_json_kind(v)) == NULL)
            return -1;
    }
    if (json_object_object_get_ex(task, "taskUUID", &v)) {
        if (rw_is_string(v, NULL) && json_object_get_string_len(v) == RW_UUID_LEN &&
            rw_uuid_valid(json_object_get_string(v))) {
            *uuid = json_object_get_string(v);
        } else if (rw_errors_add(errs, RW_E_INVALID_PARAMETER, "taskUUID",
                                 "taskUUID must be a UUID string (8-4-4-4-12 hex digits)") ==
                   NULL) {
            return -1;
        }
    }
    if (json_object_object_get_ex(task, "numberResults", &v)) {
        int64_t n = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;

        if (!json_object_is_type(v, json_type_int)) {
            if (rw_errors_add(errs, RW_E_INVALID_PARAMETER, "numberResults",
                              "numberResults must be an integer, got %s", rw_json_kind(v)) == NULL)
                return -1;
        } else if (n < 1 || n > INT_MAX) {
            if (rw_errors_add(errs, RW_E_INVALID_PARAMETER, "numberResults",
                              "numberResults must be an integer of at least 1") == NULL)
                return -1;
        } else {
            *nres = (int)n;
        }
    }
    if (json_object_object_get_ex(task, "webhookURL", &v)) {
        if (rw_errors_add(errs, RW_E_UNSUPPORTED, "webhookURL",
                          "runwared sets webhookURL itself; results arrive on your resultList") ==
            NULL)
            return -1;
    }
    if (json_object_object_get_ex(task, "deliveryMethod", &v) && !rw_is_string(v, "async")) {
        if (rw_errors_add(errs, RW_E_UNSUPPORTED, "deliveryMethod",
                          "runwared delivers results asynchronously; deliveryMethod must be "
                          "\"async\" or absent") == NULL)
            return -1;
    }
    return 0;
}

/* Fills taskType, model and taskUUID when absent. Returns -1 on ENOMEM. */
static int rw_job_defaults(struct rw_job *job)
{
    if (!json_object_object_get_ex(job->task, "taskType", NULL) &&
        rw_set_string(job->task, "taskType", RW_TASK_TYPE) != 0)
        return -1;
    if (!json_object_object_get_ex(job->task, "model", NULL) &&
        rw_set_string(job->task, "model", RW_MODEL_AIR) != 0)
        return -1;
    if (!json_object_object_get_ex(job->task, "taskUUID", NULL) &&
        rw_set_string(job->task, "taskUUID", job->task_uuid) != 0)
        return -1;
    return 0;
}

int rw_job_parse(const char *buf, size_t len, const struct rw_schema *schema, struct rw_job *job,
                 json_object **errors)
{
    json_object *errs = NULL, *root = NULL, *task = NULL;
    const char *uuid = NULL;
    bool refused = false, parsed;

    memset(job, 0, sizeof(*job));
    job->number_results = 1;
    *errors = NULL;
    if ((errs = json_object_new_array()) == NULL)
        goto fail;
    if (rw_job_tokenize(buf, len, errs, &root, &parsed) != 0)
        goto fail;
    if (parsed && !json_object_is_type(root, json_type_object)) {
        if (rw_errors_add(errs, RW_E_INVALID_JOB, NULL, "a job must be a JSON object, got %s",
                          rw_json_kind(root)) == NULL)
            goto fail;
    } else if (root != NULL && json_object_object_get_ex(root, "task", NULL)) {
        if (rw_job_envelope(root, job, &task, errs) != 0)
            goto fail;
    } else if (root != NULL) {
        task = json_object_get(root);
    }
    job->task = task;
    if (task != NULL && rw_job_check_task(task, errs, &uuid, &job->number_results) != 0)
        goto fail;
    if (uuid != NULL)
        memcpy(job->task_uuid, uuid, RW_UUID_LEN + 1);
    else if (rw_uuid_v4(job->task_uuid) != 0)
        goto fail;
    refused = json_object_array_length(errs) > 0;
    if (!refused && task != NULL) {
        if (rw_job_defaults(job) != 0)
            goto fail;
        if (schema != NULL) {
            int n = rw_schema_validate(schema, task, errs);

            if (n < 0)
                goto fail;
            refused = n > 0;
        }
    }
    json_object_put(root);
    if (refused) {
        *errors = errs;
        return -1;
    }
    json_object_put(errs);
    return 0;
fail:
    json_object_put(root);
    json_object_put(errs);
    rw_job_clear(job);
    return -2;
}

int rw_job_set_delivery(struct rw_job *job, const char *webhook_url)
{
    if (job == NULL || job->task == NULL || webhook_url == NULL)
        return -1;
    if (rw_set_string(job->task, "deliveryMethod", "async") != 0 ||
        rw_set_string(job->task, "webhookURL", webhook_url) != 0)
        return -1;
    return 0;
}

void rw_job_clear(struct rw_job *job)
{
    if (job == NULL)
        return;
    json_object_put(job->task);
    json_object_put(job->meta);
    free(job->result_list);
    memset(job, 0, sizeof(*job));
}
