/* Placeholder until the schema validator lands (issue 3); replaced whole by it. */
#include "rw_schema.h"

#include <stdio.h>

struct rw_schema *rw_schema_load(const char *path, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: schema validation is not built yet", path);
    return NULL;
}

int rw_schema_validate(const struct rw_schema *schema, json_object *task, json_object *errors)
{
    return 0;
}

void rw_schema_free(struct rw_schema *schema)
{
}
