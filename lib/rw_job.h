/* A job as producers push it: bare task or envelope -> the task runwared submits, or errors. */
#ifndef RW_JOB_H
#define RW_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include "rw_uuid.h"

struct rw_schema;

#define RW_TASK_TYPE       "imageInference"
#define RW_MODEL_AIR       "runware:111@1"
#define RW_RESULT_LIST_MAX 512 /* bytes of a resultList key */
#define RW_JOB_MAX_DEPTH   32  /* nesting of arrays and objects a job may have */

struct rw_job {
    json_object *task;               /* owned; the task with taskType/model/taskUUID filled */
    unsigned filled;                 /* RW_JOB_FILLED_*: the fields the job did not have */
    json_object *meta;               /* owned, NULL when the job had none; echoed verbatim */
    char *result_list;               /* owned, NULL: the default results list */
    char task_uuid[RW_UUID_LEN + 1]; /* the producer's or a fresh one; set even on rejection */
    int number_results;              /* images the task will produce (numberResults, default 1) */
    /* Where the accepted task object and the envelope's meta value lie in the payload, so that
     * their bytes can be used as they came: len 0 when not known (a refused job, no meta, or a
     * payload with a repeated key, whose bytes json-c's tree does not match). */
    size_t task_at, task_len, meta_at, meta_len;
    bool delivery; /* rw_job_read: the task has a deliveryMethod (then "async") */
};

#define RW_JOB_FILLED_TYPE  1u /* taskType */
#define RW_JOB_FILLED_MODEL 2u /* model */
#define RW_JOB_FILLED_UUID  4u /* taskUUID */

/* Parses one job payload (buf need not be NUL-terminated) and, when schema is non-NULL, validates
 * the task with rw_schema_validate() (structural checks only when it is NULL).
 * Returns 0 and fills job when it may be submitted. Returns -1 when it is refused: *errors is then
 * a new array of Runware-style errors (one per problem found) and job holds whatever could be
 * recovered for the error record: task_uuid always, meta and result_list when the envelope had
 * valid ones, task when the payload was a JSON object. Returns -2 on ENOMEM (job is cleared).
 * Either way the caller frees job with rw_job_clear() and *errors with json_object_put(). */
int rw_job_parse(const char *buf, size_t len, const struct rw_schema *schema, struct rw_job *job,
                 json_object **errors);

/* rw_job_parse with a tokener of the caller's (from rw_job_tokener_new), reused job after job
 * to save its allocation; tok NULL: one of its own. Beware: json-c 0.16's tokener keeps a
 * pending "\ud800" across json_tokener_reset: after a payload refused right after one (a bad or
 * cut \u escape, a bad UTF-8 byte), the next payload's first \u escape gains a U+FFFD
 * (rw_job_read does not reuse one). */
int rw_job_parse_with(json_tokener *tok, const char *buf, size_t len,
                      const struct rw_schema *schema, struct rw_job *job, json_object **errors);

/* A tokener set up as rw_job_parse needs it (depth, strictness, UTF-8). NULL on ENOMEM; free
 * with json_tokener_free. */
json_tokener *rw_job_tokener_new(void);

/* The intake's reader, reused job after job: rw_jv's arena. NULL on ENOMEM. */
struct rw_job_reader;
struct rw_job_reader *rw_job_reader_new(void);
void rw_job_reader_free(struct rw_job_reader *rd);

/* rw_job_parse, deciding and reporting the same, without json-c's tree for an accepted job:
 * the payload is read with rw_jv and the task checked and validated on that tree
 * (rw_schema_validate_jv). An accepted job then has task and meta NULL, its bytes at task_at,
 * task_len (and meta_at, meta_len when the envelope had meta), delivery set. A refused job has
 * task and meta as rw_job_parse gives them. What rw_jv does not read (invalid JSON, a repeated
 * key...) goes through rw_job_parse_with, so that json-c decides and words it as before. */
int rw_job_read(struct rw_job_reader *rd, const char *buf, size_t len,
                const struct rw_schema *schema, struct rw_job *job, json_object **errors);

/* json-c's tree of an accepted job's meta, from its bytes (buf + meta_at, meta_len), for the
 * rare record that needs it after the job was read. NULL for null or on ENOMEM. */
json_object *rw_job_meta_tree(const char *meta, size_t len);

/* The JSON of the task to submit: the accepted task with taskType, model and taskUUID filled,
 * deliveryMethod "async" and webhookURL set. buf, len: the payload job was parsed from. Where
 * the task's bytes are known (job->task_len) they are used as they came, the fields runwared
 * adds written before them; otherwise the task is set (rw_job_set_delivery) and serialised.
 * malloc'd and NUL-terminated, its length in *outlen; NULL on ENOMEM. */
char *rw_job_body(struct rw_job *job, const char *buf, size_t len, const char *webhook_url,
                  size_t *outlen);

/* Sets deliveryMethod "async" and webhookURL on job->task. Returns -1 on ENOMEM. */
int rw_job_set_delivery(struct rw_job *job, const char *webhook_url);

void rw_job_clear(struct rw_job *job);

#endif
