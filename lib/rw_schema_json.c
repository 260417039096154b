/* Task validation on json-c's tree (runwarectl, tests): the tree seen through rw_jv, validated by
 * the one validator. Apart from rw_schema_validate.c so that a test can stand in for it. */
#include "rw_schema.h"

#include "rw_jv.h"

int rw_schema_validate(const struct rw_schema *schema, json_object *task, json_object *errors)
{
    struct rw_jdoc *doc;
    const struct rw_jv *t;
    int r = -1;

    if (!schema || !task || !errors || !(doc = rw_jdoc_new()))
        return -1;
    if (rw_jv_from_json(doc, task, &t) == RW_JV_OK)
        r = rw_schema_validate_jv(schema, t, errors);
    rw_jdoc_free(doc);
    return r;
}
