/* A job as producers push it: bare task or envelope -> the task runwared submits, or errors. */
#include "rw_job.h"

#include <limits.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rw_errors.h"
#include "rw_jv.h"
#include "rw_schema.h"
#include "rw_swar.h"

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
json_tokener *rw_job_tokener_new(void)
{
    json_tokener *tok = json_tokener_new_ex(RW_JOB_MAX_DEPTH);

    if (tok != NULL)
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    return tok;
}

static int rw_job_tokenize(json_tokener *given, const char *buf, size_t len, json_object *errs,
                           json_object **root, bool *ok)
{
    json_tokener *tok = given;
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
    if (tok == NULL && (tok = rw_job_tokener_new()) == NULL)
        goto fail;
    json_tokener_reset(tok);
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
    if (tok != given)
        json_tokener_free(tok);
    *root = obj;
    *ok = true;
    return 0;
fail:
    json_object_put(obj);
    if (tok != NULL && tok != given)
        json_tokener_free(tok);
    return rc;
}

/* The payload's bytes, once json-c has accepted them (so they are valid JSON; the scan still
 * stops at the end of the buffer whatever it holds). One pass, a byte at a time through a table:
 * a job is scanned for every submission, so this is kept cheap (about 1 ns a byte). */

enum {
    RW_C_PLAIN = 0, /* nothing to note */
    RW_C_QUOTE,     /* '"' */
    RW_C_ESCAPE,    /* '\\' */
    RW_C_CONTROL,   /* below 0x20 */
    RW_C_OPEN,      /* '{' '[' */
    RW_C_CLOSE,     /* '}' ']' */
    RW_C_COLON,     /* ':' */
    RW_C_COMMA,     /* ',' */
};

static const unsigned char rw_class[256] = {
    [0x00 ... 0x1f] = RW_C_CONTROL,
    ['"'] = RW_C_QUOTE,
    ['\\'] = RW_C_ESCAPE,
    ['{'] = RW_C_OPEN,
    ['['] = RW_C_OPEN,
    ['}'] = RW_C_CLOSE,
    [']'] = RW_C_CLOSE,
    [':'] = RW_C_COLON,
    [','] = RW_C_COMMA,
};

/* What a scan found: object members (each is the one ':' outside strings) and whether a
 * string holds a raw control character (json-c takes it, JSON does not). */
struct rw_scan {
    size_t members;
    bool control;
};

static size_t rw_skip_ws(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* i at a string's opening quote: the index after its closing quote. Prompts make up most of a
 * job, so plain stretches are skipped eight bytes at a time. */
static size_t rw_skip_string(const char *s, size_t len, size_t i, struct rw_scan *sc)
{
    for (i++; i < len; i++) {
        unsigned char k;
        uint64_t w;

        while (len - i >= 8) {
            w = rw_swar_load((const unsigned char *)s + i);
            if (rw_swar_json_special(w))
                break;
            i += 8;
        }
        if (i >= len)
            break;
        k = rw_class[(unsigned char)s[i]];
        if (k == RW_C_QUOTE)
            return i + 1;
        if (k == RW_C_ESCAPE)
            i++;
        else if (k == RW_C_CONTROL)
            sc->control = true;
    }
    return len;
}

/* i at a value's first byte: the index after its last, counting the members inside it. */
static size_t rw_skip_value(const char *s, size_t len, size_t i, struct rw_scan *sc)
{
    size_t depth = 0;

    while (i < len) {
        unsigned char k = rw_class[(unsigned char)s[i]];

        if (k == RW_C_QUOTE) {
            i = rw_skip_string(s, len, i, sc);
            if (depth == 0)
                return i;
            continue;
        }
        if (k == RW_C_OPEN) {
            depth++;
        } else if (k == RW_C_CLOSE) {
            if (depth == 0)
                return i; /* the end of a number or literal */
            if (--depth == 0)
                return i + 1;
        } else if (k == RW_C_COLON) {
            sc->members++;
        } else if (depth == 0 && (k == RW_C_COMMA || s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
                                  s[i] == '\r')) {
            return i; /* the end of a number or literal */
        }
        i++;
    }
    return len;
}

/* Object members in the tree, at any depth (json-c keeps one member per distinct key). */
static size_t rw_tree_members(json_object *v)
{
    size_t n = 0;

    if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, key, val)
        {
            (void)key;
            n += 1 + rw_tree_members(val);
        }
    } else if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0, k = json_object_array_length(v); i < k; i++)
            n += rw_tree_members(json_object_array_get_idx(v, i));
    }
    return n;
}

/* Finds the task object's bytes (the root, or the envelope's "task") and the envelope's meta
 * value, when the text holds exactly the members json-c's tree has (no key repeated anywhere,
 * which json-c would have resolved to one) and no raw control character. Leaves the spans 0
 * otherwise. */
static void rw_job_spans(const char *s, size_t len, json_object *root, bool envelope,
                         struct rw_job *job)
{
    struct rw_scan sc = {0, false};
    size_t i = rw_skip_ws(s, len, 0), root_at = i;
    size_t task_at = 0, task_len = 0, meta_at = 0, meta_len = 0;

    if (i >= len || s[i] != '{')
        return;
    /* the root's members one by one, each value skipped (and counted inside) */
    for (i = rw_skip_ws(s, len, i + 1); i < len && s[i] == '"';) {
        size_t key = i + 1, keylen, v;

        i = rw_skip_string(s, len, i, &sc);
        keylen = i - key - 1;
        i = rw_skip_ws(s, len, i);
        if (i >= len || s[i] != ':')
            return;
        sc.members++;
        v = rw_skip_ws(s, len, i + 1);
        i = rw_skip_value(s, len, v, &sc);
        if (envelope && keylen == 4 && memcmp(s + key, "task", 4) == 0 && v < len && s[v] == '{') {
            task_at = v;
            task_len = i - v;
        } else if (envelope && keylen == 4 && memcmp(s + key, "meta", 4) == 0) {
            meta_at = v;
            meta_len = i - v;
        }
        i = rw_skip_ws(s, len, i);
        if (i < len && s[i] == ',')
            i = rw_skip_ws(s, len, i + 1);
    }
    if (i >= len || s[i] != '}' || sc.control || sc.members != rw_tree_members(root))
        return;
    if (!envelope) {
        task_at = root_at;
        task_len = i + 1 - root_at;
    }
    job->task_at = task_at;
    job->task_len = task_len;
    job->meta_at = meta_at;
    job->meta_len = meta_len;
}

/* NULL when v is a usable resultList, else why not. */
static const char *rw_result_list_problem(const struct rw_jv *v)
{
    if (v->type != RW_JV_STRING)
        return "resultList must be a string";
    if (v->n == 0 || v->n > RW_RESULT_LIST_MAX)
        return "resultList must be 1 to 512 bytes long";
    for (size_t i = 0; i < v->n; i++)
        if ((unsigned char)v->s[i] <= ' ' || v->s[i] == 0x7f)
            return "resultList must not contain spaces or control characters";
    return NULL;
}

/* The task's members the structural checks look at, NULL when absent. */
struct rw_task_fields {
    const struct rw_jv *prompt, *type, *model, *uuid, *nres, *hook, *delivery;
};

/* What the structural checks found, in the tree they ran on. */
struct rw_job_found {
    const struct rw_jv *task; /* the task object, NULL when there is none */
    const struct rw_jv *meta; /* the envelope's meta, NULL when it has none */
    bool envelope;
    struct rw_task_fields tf;
};

/* Finds them all in one pass over the task's members (names are never repeated in a tree). */
static void rw_task_fields(const struct rw_jv *task, struct rw_task_fields *tf)
{
    static const struct {
        const char *name;
        size_t len, at;
    } want[] = {
        {"positivePrompt", 14, offsetof(struct rw_task_fields, prompt)},
        {"taskType", 8, offsetof(struct rw_task_fields, type)},
        {"model", 5, offsetof(struct rw_task_fields, model)},
        {"taskUUID", 8, offsetof(struct rw_task_fields, uuid)},
        {"numberResults", 13, offsetof(struct rw_task_fields, nres)},
        {"webhookURL", 10, offsetof(struct rw_task_fields, hook)},
        {"deliveryMethod", 14, offsetof(struct rw_task_fields, delivery)},
    };

    memset(tf, 0, sizeof(*tf));
    for (uint32_t k = 0; k < task->n; k++) {
        const struct rw_jmember *m = &task->m[k];

        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            if (m->klen == want[i].len && memcmp(m->key, want[i].name, m->klen) == 0) {
                *(const struct rw_jv **)((char *)tf + want[i].at) = &m->v;
                break;
            }
        }
    }
}

/* Checks the envelope's keys: takes a valid resultList into job, the task object and meta into
 * f. Returns -1 on ENOMEM. */
static int rw_job_envelope(const struct rw_jv *root, struct rw_job *job, struct rw_job_found *f,
                           json_object *errs)
{
    for (uint32_t k = 0; k < root->n; k++) {
        const struct rw_jmember *m = &root->m[k];
        const struct rw_jv *val = &m->v;

        if (m->klen == 4 && memcmp(m->key, "task", 4) == 0) {
            if (val->type == RW_JV_OBJECT)
                f->task = val;
            else if (rw_errors_add(errs, RW_E_INVALID_PARAMETER, "task",
                                   "task must be a JSON object, got %s", rw_jv_kind(val)) == NULL)
                return -1;
        } else if (m->klen == 4 && memcmp(m->key, "meta", 4) == 0) {
            f->meta = val;
        } else if (m->klen == 10 && memcmp(m->key, "resultList", 10) == 0) {
            const char *why = rw_result_list_problem(val);

            if (why != NULL) {
                if (rw_errors_add(errs, RW_E_INVALID_PARAMETER, "resultList", "%s", why) == NULL)
                    return -1;
            } else if ((job->result_list = strndup(val->s, val->n)) == NULL) {
                return -1;
            }
        } else {
            char *key = strndup(m->key, m->klen); /* names hold no NUL */
            bool added = key && rw_errors_add(errs, RW_E_UNKNOWN_PARAMETER, key,
                                              "unknown key \"%s\" in the job envelope (allowed: "
                                              "task, meta, resultList)",
                                              key) != NULL;

            free(key);
            if (!added)
                return -1;
        }
    }
    return 0;
}

/* The structural checks of one task (its fields in tf); each problem found is appended to errs. A
 * valid taskUUID goes to job->task_uuid (*uuid set), a valid numberResults to job->number_results.
 * Returns -1 on ENOMEM. */
static int rw_job_check_task(const struct rw_task_fields *tf, json_object *errs, struct rw_job *job,
                             bool *uuid)
{
    const struct rw_jv *v;

    if ((v = tf->prompt) == NULL) {
        if (rw_errors_add(errs, RW_E_MISSING_PARAMETER, "positivePrompt",
                          "positivePrompt is required") == NULL)
            return -1;
    } else if (v->type != RW_JV_STRING) {
        if (rw_errors_add(errs, RW_E_INVALID_PARAMETER, "positivePrompt",
                          "positivePrompt must be a string, got %s", rw_jv_kind(v)) == NULL)
            return -1;
    }
    if ((v = tf->type) != NULL && !rw_jv_str_is(v, RW_TASK_TYPE)) {
        if (rw_errors_add(errs, RW_E_INVALID_PARAMETER, "taskType",
                          "taskType must be \"%s\" (or absent)", RW_TASK_TYPE) == NULL)
            return -1;
    }
    if ((v = tf->model) != NULL && v->type != RW_JV_STRING) {
        if (rw_errors_add(errs, RW_E_INVALID_PARAMETER, "model", "model must be a string, got %s",
                          rw_jv_kind(v)) == NULL)
            return -1;
    }
    if ((v = tf->uuid) != NULL) {
        char id[RW_UUID_LEN + 1] = "";

        if (v->type == RW_JV_STRING && v->n == RW_UUID_LEN)
            memcpy(id, v->s, RW_UUID_LEN);
        if (rw_uuid_valid(id)) {
            memcpy(job->task_uuid, id, sizeof(id));
            *uuid = true;
        } else if (rw_errors_add(errs, RW_E_INVALID_PARAMETER, "taskUUID",
                                 "taskUUID must be a UUID string (8-4-4-4-12 hex digits)") ==
                   NULL) {
            return -1;
        }
    }
    if ((v = tf->nres) != NULL) {
        /* as json_object_get_int64 reads it: saturated */
        int64_t n = v->type != RW_JV_INT ? 0 : v->f & RW_JV_U64 ? INT64_MAX : v->i;

        if (v->type != RW_JV_INT) {
            if (rw_errors_add(errs, RW_E_INVALID_PARAMETER, "numberResults",
                              "numberResults must be an integer, got %s", rw_jv_kind(v)) == NULL)
                return -1;
        } else if (n < 1 || n > INT_MAX) {
            if (rw_errors_add(errs, RW_E_INVALID_PARAMETER, "numberResults",
                              "numberResults must be an integer of at least 1") == NULL)
                return -1;
        } else {
            job->number_results = (int)n;
        }
    }
    if (tf->hook != NULL) {
        if (rw_errors_add(errs, RW_E_UNSUPPORTED, "webhookURL",
                          "runwared sets webhookURL itself; results arrive on your resultList") ==
            NULL)
            return -1;
    }
    if ((v = tf->delivery) != NULL && !rw_jv_str_is(v, "async")) {
        if (rw_errors_add(errs, RW_E_UNSUPPORTED, "deliveryMethod",
                          "runwared delivers results asynchronously; deliveryMethod must be "
                          "\"async\" or absent") == NULL)
            return -1;
    }
    return 0;
}

/* The checks both readers share, on the tree of a payload (root NULL: it did not parse, errs
 * says why): the job's shape, the envelope, the task. Sets job->task_uuid (the producer's or a
 * fresh one), result_list and number_results, and *f. Returns -1 on ENOMEM. */
static int rw_job_check(const struct rw_jv *root, struct rw_job *job, struct rw_job_found *f,
                        json_object *errs)
{
    bool uuid = false;

    memset(f, 0, sizeof(*f));
    if (root != NULL && root->type != RW_JV_OBJECT) {
        if (rw_errors_add(errs, RW_E_INVALID_JOB, NULL, "a job must be a JSON object, got %s",
                          rw_jv_kind(root)) == NULL)
            return -1;
    } else if (root != NULL && rw_jv_get(root, "task") != NULL) {
        f->envelope = true;
        if (rw_job_envelope(root, job, f, errs) != 0)
            return -1;
    } else if (root != NULL) {
        f->task = root;
    }
    if (f->task != NULL) {
        rw_task_fields(f->task, &f->tf);
        if (rw_job_check_task(&f->tf, errs, job, &uuid) != 0)
            return -1;
    }
    if (!uuid && rw_uuid_v4(job->task_uuid) != 0)
        return -1;
    return 0;
}

/* Fills taskType, model and taskUUID when absent (noting which in job->filled). Returns -1 on
 * ENOMEM. */
static int rw_job_defaults(struct rw_job *job)
{
    if (!json_object_object_get_ex(job->task, "taskType", NULL)) {
        if (rw_set_string(job->task, "taskType", RW_TASK_TYPE) != 0)
            return -1;
        job->filled |= RW_JOB_FILLED_TYPE;
    }
    if (!json_object_object_get_ex(job->task, "model", NULL)) {
        if (rw_set_string(job->task, "model", RW_MODEL_AIR) != 0)
            return -1;
        job->filled |= RW_JOB_FILLED_MODEL;
    }
    if (!json_object_object_get_ex(job->task, "taskUUID", NULL)) {
        if (rw_set_string(job->task, "taskUUID", job->task_uuid) != 0)
            return -1;
        job->filled |= RW_JOB_FILLED_UUID;
    }
    return 0;
}

static json_object *rw_job_start(struct rw_job *job, json_object **errors)
{
    memset(job, 0, sizeof(*job));
    job->number_results = 1;
    *errors = NULL;
    return json_object_new_array();
}

int rw_job_parse(const char *buf, size_t len, const struct rw_schema *schema, struct rw_job *job,
                 json_object **errors)
{
    return rw_job_parse_with(NULL, buf, len, schema, job, errors);
}

int rw_job_parse_with(json_tokener *tok, const char *buf, size_t len,
                      const struct rw_schema *schema, struct rw_job *job, json_object **errors)
{
    json_object *errs, *root = NULL, *v;
    struct rw_jdoc *doc = NULL;
    const struct rw_jv *tree = NULL;
    struct rw_job_found f;
    bool refused = false, parsed;

    if ((errs = rw_job_start(job, errors)) == NULL)
        goto fail;
    if (rw_job_tokenize(tok, buf, len, errs, &root, &parsed) != 0)
        goto fail;
    /* json-c's tree, seen through rw_jv for the checks */
    if (parsed && ((doc = rw_jdoc_new()) == NULL || rw_jv_from_json(doc, root, &tree) != RW_JV_OK))
        goto fail;
    if (rw_job_check(tree, job, &f, errs) != 0)
        goto fail;
    if (f.task != NULL)
        job->task =
            json_object_get(f.envelope && json_object_object_get_ex(root, "task", &v) ? v : root);
    if (f.meta != NULL && json_object_object_get_ex(root, "meta", &v))
        job->meta = json_object_get(v);
    refused = json_object_array_length(errs) > 0;
    if (!refused && job->task != NULL) {
        rw_job_spans(buf, len, root, f.envelope, job);
        if (rw_job_defaults(job) != 0)
            goto fail;
        if (schema != NULL) {
            int n = rw_schema_validate(schema, job->task, errs);

            if (n < 0)
                goto fail;
            refused = n > 0;
        }
    }
    rw_jdoc_free(doc);
    json_object_put(root);
    if (refused) {
        job->task_len = job->meta_len = 0;
        *errors = errs;
        return -1;
    }
    json_object_put(errs);
    return 0;
fail:
    rw_jdoc_free(doc);
    json_object_put(root);
    json_object_put(errs);
    rw_job_clear(job);
    return -2;
}

struct rw_job_reader {
    struct rw_jdoc *doc;
};

struct rw_job_reader *rw_job_reader_new(void)
{
    struct rw_job_reader *rd = calloc(1, sizeof(*rd));

    if (rd && !(rd->doc = rw_jdoc_new())) {
        free(rd);
        rd = NULL;
    }
    return rd;
}

void rw_job_reader_free(struct rw_job_reader *rd)
{
    if (!rd)
        return;
    rw_jdoc_free(rd->doc);
    free(rd);
}

/* json-c's tree of v for job (task or meta); -1 on ENOMEM. */
static int rw_job_tree(const struct rw_jv *v, json_object **out)
{
    if (v == NULL)
        return 0;
    *out = rw_jv_to_json(v);
    return *out == NULL && v->type != RW_JV_NULL ? -1 : 0;
}

/* A string member runwared adds to a task (key and value outlive the tree). */
static struct rw_jmember rw_job_added(const char *key, const char *value)
{
    struct rw_jmember m = {.key = key, .klen = (uint32_t)strlen(key)};

    m.hash = rw_jv_hash(key, m.klen);
    m.v.type = RW_JV_STRING;
    m.v.s = value;
    m.v.n = (uint32_t)strlen(value);
    return m;
}

int rw_job_read(struct rw_job_reader *rd, const char *buf, size_t len,
                const struct rw_schema *schema, struct rw_job *job, json_object **errors)
{
    const struct rw_jv *root, *task;
    struct rw_jmember add[3];
    struct rw_job_found f;
    json_object *errs;
    size_t nadd = 0;
    int r = rw_jv_read(rd->doc, buf, len, &root);

    /* What rw_jv does not take, json-c reads (or says why not), as it always did; with a
     * tokener of its own: json-c 0.16's keeps a pending "\ud800" across json_tokener_reset, so a
     * payload refused right after one would change the next one's first \u escape. */
    if (r == RW_JV_REFUSED)
        return rw_job_parse_with(NULL, buf, len, schema, job, errors);
    if ((errs = rw_job_start(job, errors)) == NULL || r != RW_JV_OK)
        goto fail;
    if (rw_job_check(root, job, &f, errs) != 0)
        goto fail;
    task = f.task;
    if (json_object_array_length(errs) > 0)
        goto refused;
    /* the fields runwared adds, as rw_job_body writes them */
    if (f.tf.type == NULL) {
        add[nadd++] = rw_job_added("taskType", RW_TASK_TYPE);
        job->filled |= RW_JOB_FILLED_TYPE;
    }
    if (f.tf.model == NULL) {
        add[nadd++] = rw_job_added("model", RW_MODEL_AIR);
        job->filled |= RW_JOB_FILLED_MODEL;
    }
    if (f.tf.uuid == NULL) {
        add[nadd++] = rw_job_added("taskUUID", job->task_uuid);
        job->filled |= RW_JOB_FILLED_UUID;
    }
    job->delivery = f.tf.delivery != NULL;
    if (schema != NULL) {
        int n;

        if (nadd && (task = rw_jv_append(rd->doc, task, add, nadd)) == NULL)
            goto fail;
        if ((n = rw_schema_validate_jv(schema, task, errs)) < 0)
            goto fail;
        if (n > 0)
            goto refused;
    }
    job->task_at = f.task->at;
    job->task_len = f.task->end - f.task->at;
    if (f.meta != NULL) {
        job->meta_at = f.meta->at;
        job->meta_len = f.meta->end - f.meta->at;
    }
    json_object_put(errs);
    return 0;
refused:
    /* what the error record and the caller need, as json-c's trees (the cold path) */
    if (rw_job_tree(task, &job->task) != 0 || rw_job_tree(f.meta, &job->meta) != 0)
        goto fail;
    *errors = errs;
    return -1;
fail:
    json_object_put(errs);
    rw_job_clear(job);
    return -2;
}

json_object *rw_job_meta_tree(const char *meta, size_t len)
{
    struct rw_jdoc *doc = rw_jdoc_new();
    const struct rw_jv *v;
    json_object *o = NULL;

    if (doc && rw_jv_read(doc, meta, len, &v) == RW_JV_OK)
        o = rw_jv_to_json(v);
    rw_jdoc_free(doc);
    return o;
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

/* Appends s as a JSON string at o; returns the end. o has room for 2 + 6 * strlen(s) bytes. */
static char *rw_put_json_string(char *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";

    *o++ = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < 0x20) {
            memcpy(o, "\\u00", 4);
            o[4] = hex[c >> 4];
            o[5] = hex[c & 0xf];
            o += 6;
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    return o;
}

static char *rw_put(char *o, const char *s, size_t n)
{
    memcpy(o, s, n);
    return o + n;
}

#define RW_PUT_LIT(o, lit) rw_put((o), (lit), sizeof(lit) - 1)

/* The body serialised from the tree. */
static char *rw_job_body_tree(struct rw_job *job, const char *webhook_url, size_t *outlen)
{
    const char *json;
    size_t n;
    char *out;

    if (rw_job_set_delivery(job, webhook_url) != 0)
        return NULL;
    json = json_object_to_json_string_length(
        job->task, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (json == NULL || (out = malloc(n + 1)) == NULL)
        return NULL;
    memcpy(out, json, n + 1);
    *outlen = n;
    return out;
}

char *rw_job_body(struct rw_job *job, const char *buf, size_t len, const char *webhook_url,
                  size_t *outlen)
{
    size_t at = job->task_at, end = job->task_at + job->task_len, urllen, cap;
    char *out, *o;

    if ((job->task == NULL && job->task_len == 0) || webhook_url == NULL)
        return NULL;
    /* the members between the braces, which hold positivePrompt at least */
    if (job->task_len < 2 || end > len || buf[at] != '{' || buf[end - 1] != '}')
        return rw_job_body_tree(job, webhook_url, outlen);
    at = rw_skip_ws(buf, end - 1, at + 1);
    while (end - 1 > at && (buf[end - 2] == ' ' || buf[end - 2] == '\t' || buf[end - 2] == '\n' ||
                            buf[end - 2] == '\r'))
        end--;
    if (at >= end - 1)
        return rw_job_body_tree(job, webhook_url, outlen);
    urllen = strlen(webhook_url);
    if (urllen > (SIZE_MAX - 256 - (end - at)) / 6)
        return NULL;
    cap = 256 + 6 * urllen + (end - at);
    if ((out = malloc(cap)) == NULL)
        return NULL;
    o = RW_PUT_LIT(out, "{");
    if (job->filled & RW_JOB_FILLED_TYPE)
        o = RW_PUT_LIT(o, "\"taskType\":\"" RW_TASK_TYPE "\",");
    if (job->filled & RW_JOB_FILLED_MODEL)
        o = RW_PUT_LIT(o, "\"model\":\"" RW_MODEL_AIR "\",");
    if (job->filled & RW_JOB_FILLED_UUID) {
        o = RW_PUT_LIT(o, "\"taskUUID\":\"");
        o = rw_put(o, job->task_uuid, RW_UUID_LEN);
        o = RW_PUT_LIT(o, "\",");
    }
    /* a job's own deliveryMethod can only be "async" (anything else is refused) */
    if (job->task ? !json_object_object_get_ex(job->task, "deliveryMethod", NULL) : !job->delivery)
        o = RW_PUT_LIT(o, "\"deliveryMethod\":\"async\",");
    o = RW_PUT_LIT(o, "\"webhookURL\":");
    o = rw_put_json_string(o, webhook_url);
    o = RW_PUT_LIT(o, ",");
    o = rw_put(o, buf + at, end - 1 - at);
    o = RW_PUT_LIT(o, "}");
    *o = '\0';
    *outlen = (size_t)(o - out);
    return out;
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
