/* Task validation: a JSON Schema subset compiled once from the model's spec, plus the rules the
 * spec states only in prose (rw_rules). */
#ifndef RW_SCHEMA_H
#define RW_SCHEMA_H

#include <stddef.h>
#include <json-c/json.h>

#define RW_SCHEMA_MAX_ERRORS 50 /* violations reported per task at most */

struct rw_schema;

/* Loads a model spec file (an OpenAPI document such as the one under conf/, or a bare JSON
 * Schema) and compiles the schema of one task. Returns NULL with a message in err. */
struct rw_schema *rw_schema_load(const char *path, char *err, size_t errlen);

/* Validates one task object against the schema and then the prose rules. Appends one
 * Runware-style error per violation to errors (at most RW_SCHEMA_MAX_ERRORS), each with "code",
 * "parameter" as a path ("controlNet[0].guideImage"), "message" and, where they apply, "min",
 * "max", "allowed". Returns the number of violations appended (0: valid), -1 on ENOMEM.
 * Never re-parses the schema; safe to call from any thread on a shared schema. */
int rw_schema_validate(const struct rw_schema *schema, json_object *task, json_object *errors);

/* The same on a task read with rw_jv (the intake's path: no json-c tree). */
struct rw_jv;
int rw_schema_validate_jv(const struct rw_schema *schema, const struct rw_jv *task,
                          json_object *errors);

void rw_schema_free(struct rw_schema *schema);

#endif
