/* For tests and fuzzing: one payload through rw_job_parse (json-c's tree) and rw_job_read
 * (rw_jv's), which must decide and report the same. Included by the one file that uses it. */
#ifndef RW_JOB_DIFF_H
#define RW_JOB_DIFF_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rw_job.h"

#define RW_DIFF_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define RW_DIFF_HOOK  "https://rw.example/cb/\"x?token=t"

static bool rw_diff_json_same(json_object *a, json_object *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(json_object_to_json_string_ext(a, RW_DIFF_FLAGS),
                  json_object_to_json_string_ext(b, RW_DIFF_FLAGS)) == 0;
}

/* The body each job would submit, as json-c's tree; a fresh taskUUID (which differs between the
 * two runs) reads as "fresh". NULL on ENOMEM. */
static json_object *rw_diff_body(struct rw_job *job, const char *buf, size_t len)
{
    size_t n;
    char *body = rw_job_body(job, buf, len, RW_DIFF_HOOK, &n);
    json_object *o = body ? json_tokener_parse(body) : NULL;

    if (o && (job->filled & RW_JOB_FILLED_UUID))
        json_object_object_add(o, "taskUUID", json_object_new_string("fresh"));
    free(body);
    return o;
}

/* A refused job's task with a fresh taskUUID filled: that one reads "fresh". */
static void rw_diff_unfresh(struct rw_job *job)
{
    if (job->task && (job->filled & RW_JOB_FILLED_UUID))
        json_object_object_add(job->task, "taskUUID", json_object_new_string("fresh"));
}

/* NULL when both readers agree on buf, else what differs. ENOMEM on either side reads as a
 * difference (callers run with memory enough). */
static const char *rw_job_diff(struct rw_job_reader *rd, const struct rw_schema *schema,
                               const char *buf, size_t len)
{
    struct rw_job a, b;
    json_object *ea = NULL, *eb = NULL, *ba = NULL, *bb = NULL;
    int ra = rw_job_parse(buf, len, schema, &a, &ea);
    int rb = rw_job_read(rd, buf, len, schema, &b, &eb);
    char *text = malloc(len + 1);
    const char *why = NULL;

    if (text == NULL) {
        why = "ENOMEM";
        goto out;
    }
    memcpy(text, buf, len);
    text[len] = '\0';
    if (ra != rb)
        why = "return code";
    else if (ra == -2)
        why = NULL;
    else if (!rw_diff_json_same(ea, eb))
        why = "errors";
    else if ((a.result_list == NULL) != (b.result_list == NULL) ||
             (a.result_list && strcmp(a.result_list, b.result_list) != 0))
        why = "resultList";
    else if (a.number_results != b.number_results)
        why = "numberResults";
    else if ((strstr(text, a.task_uuid) || strstr(text, b.task_uuid)) &&
             strcmp(a.task_uuid, b.task_uuid) != 0)
        why = "taskUUID";
    else if (ra == -1 && (rw_diff_unfresh(&a), rw_diff_unfresh(&b),
                          a.filled != b.filled || !rw_diff_json_same(a.task, b.task) ||
                              !rw_diff_json_same(a.meta, b.meta)))
        why = "refused job's task or meta";
    else if (ra == 0 && (a.filled != b.filled || a.meta_len != b.meta_len ||
                         (a.meta_len && a.meta_at != b.meta_at) ||
                         (a.task_len && (a.task_at != b.task_at || a.task_len != b.task_len))))
        why = "spans or filled fields";
    else if (ra == 0 && b.task == NULL && (b.task_len == 0 || a.task_len == 0))
        why = "accepted without bytes or tree";
    else if (ra == 0 && b.task == NULL && a.meta != NULL && b.meta_len == 0)
        why = "meta lost";
    else if (ra == 0 &&
             !rw_diff_json_same(ba = rw_diff_body(&a, buf, len), bb = rw_diff_body(&b, buf, len)))
        why = "body";
out:
    if (why != NULL && ra != -2 && rb != -2)
        fprintf(stderr,
                "rw_job_parse: %d %s task %s meta %s uuid %s\n"
                "rw_job_read:  %d %s task %s meta %s uuid %s\n",
                ra, ea ? json_object_to_json_string_ext(ea, RW_DIFF_FLAGS) : "-",
                a.task ? json_object_to_json_string_ext(a.task, RW_DIFF_FLAGS) : "-",
                a.meta ? json_object_to_json_string_ext(a.meta, RW_DIFF_FLAGS) : "-", a.task_uuid,
                rb, eb ? json_object_to_json_string_ext(eb, RW_DIFF_FLAGS) : "-",
                b.task ? json_object_to_json_string_ext(b.task, RW_DIFF_FLAGS) : "-",
                b.meta ? json_object_to_json_string_ext(b.meta, RW_DIFF_FLAGS) : "-", b.task_uuid);
    json_object_put(ea);
    json_object_put(eb);
    json_object_put(ba);
    json_object_put(bb);
    rw_job_clear(&a);
    rw_job_clear(&b);
    free(text);
    return why;
}

#endif
