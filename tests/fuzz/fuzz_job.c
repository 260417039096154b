/* libFuzzer: any bytes as a job -> rw_job_parse (with the shipped schema) -> the record the
 * daemon would write, which must be valid JSON whatever came in. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rw_job.h"
#include "rw_record.h"
#include "rw_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rw_schema *schema;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rw_job job = {0};
    json_object *errors = NULL, *back;
    char err[256], *rec;
    int rc;

    if (!schema && !(schema = rw_schema_load(RW_FUZZ_SPEC, err, sizeof(err))))
        abort();
    rc = rw_job_parse((const char *)data, size, schema, &job, &errors);
    if (rc == -1) {
        rec = rw_record_error(job.task_uuid, job.meta, 1, errors,
                              job.task ? NULL : (const char *)data, size, 2);
        if (rec) {
            if (!(back = json_tokener_parse(rec)))
                abort(); /* an error record that is not JSON */
            json_object_put(back);
            free(rec);
        }
    } else if (rc == 0) {
        /* the body (the job's own bytes where kept) parses back to the task as checked, with
         * the delivery fields set; so does the record head's meta */
        size_t n;
        char *body =
            rw_job_body(&job, (const char *)data, size, "http://127.0.0.1:8480/cb/\"x", &n);

        if (body) {
            if (!(back = json_tokener_parse(body)) ||
                rw_job_set_delivery(&job, "http://127.0.0.1:8480/cb/\"x") != 0 ||
                !json_object_equal(back, job.task))
                abort();
            json_object_put(back);
            free(body);
        }
        if (job.meta_len &&
            (rec = rw_record_head_raw(job.task_uuid, (const char *)data + job.meta_at, job.meta_len,
                                      1))) {
            json_object *m = NULL;
            size_t hl = strlen(rec);
            char *whole = malloc(hl + 3);

            if (!whole)
                abort();
            memcpy(whole, rec, hl);
            memcpy(whole + hl, "]}", 3);
            if (!(back = json_tokener_parse(whole)) ||
                !json_object_object_get_ex(back, "meta", &m) || !json_object_equal(m, job.meta))
                abort();
            json_object_put(back);
            free(whole);
            free(rec);
        }
    }
    json_object_put(errors);
    rw_job_clear(&job);
    return 0;
}
