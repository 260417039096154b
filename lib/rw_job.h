/* A job as producers push it: bare task or envelope -> the task runwared submits, or errors. */
#ifndef RW_JOB_H
#define RW_JOB_H

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
    json_object *meta;               /* owned, NULL when the job had none; echoed verbatim */
    char *result_list;               /* owned, NULL: the default results list */
    char task_uuid[RW_UUID_LEN + 1]; /* the producer's or a fresh one; set even on rejection */
    int number_results;              /* images the task will produce (numberResults, default 1) */
};

/* Parses one job payload (buf need not be NUL-terminated) and, when schema is non-NULL, validates
 * the task with rw_schema_validate() (structural checks only when it is NULL).
 * Returns 0 and fills job when it may be submitted. Returns -1 when it is refused: *errors is then
 * a new array of Runware-style errors (one per problem found) and job holds whatever could be
 * recovered for the error record: task_uuid always, meta and result_list when the envelope had
 * valid ones, task when the payload was a JSON object. Returns -2 on ENOMEM (job is cleared).
 * Either way the caller frees job with rw_job_clear() and *errors with json_object_put(). */
int rw_job_parse(const char *buf, size_t len, const struct rw_schema *schema, struct rw_job *job,
                 json_object **errors);

/* Sets deliveryMethod "async" and webhookURL on job->task. Returns -1 on ENOMEM. */
int rw_job_set_delivery(struct rw_job *job, const char *webhook_url);

void rw_job_clear(struct rw_job *job);

#endif
