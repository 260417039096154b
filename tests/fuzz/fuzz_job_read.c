/* libFuzzer, differential: any bytes as a job through rw_job_parse (json-c's tree) and
 * rw_job_read (rw_jv's), with the shipped schema and without; both must decide and report the
 * same (return code, errors, recovered fields, spans, body). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../job_diff.h"
#include "rw_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rw_schema *schema;
static struct rw_job_reader *reader;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why;
    char err[256];

    if (!schema && !(schema = rw_schema_load(RW_FUZZ_SPEC, err, sizeof(err))))
        abort();
    if (!reader && !(reader = rw_job_reader_new()))
        abort();
    if ((why = rw_job_diff(reader, schema, (const char *)data, size)) != NULL ||
        (why = rw_job_diff(reader, NULL, (const char *)data, size)) != NULL) {
        fprintf(stderr, "rw_job_read and rw_job_parse differ: %s\n", why);
        abort();
    }
    return 0;
}
