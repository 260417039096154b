/* The rules a model's spec states only in its descriptions ("must be greater than startStep"),
 * as a table of checks run on a task after its schema (docs/validation.md lists them). */
#ifndef RW_RULES_H
#define RW_RULES_H

#include <json-c/json.h>

/* Checks every rule on task and appends one Runware-style error per violation to errors, at most
 * max of them ("code", "parameter", "message", and "min"/"max"/"allowed" where they apply).
 * A rule is skipped when a value it compares is absent or not of the type the schema requires
 * (the schema reports that). Returns the number appended, -1 on ENOMEM. */
int rw_rules_check(json_object *task, json_object *errors, int max);

/* The same on a task read with rw_jv. */
struct rw_jv;
int rw_rules_check_jv(const struct rw_jv *task, json_object *errors, int max);

#endif
