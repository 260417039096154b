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
    } else if (rc == 0 && rw_job_set_delivery(&job, "http://127.0.0.1:8480/callback/x") == 0) {
        if (!json_object_to_json_string(job.task))
            abort();
    }
    json_object_put(errors);
    rw_job_clear(&job);
    return 0;
}
