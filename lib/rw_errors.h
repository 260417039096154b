/* Runware-style error objects: {"code","message","parameter"?, ...} collected in a json-c array. */
#ifndef RW_ERRORS_H
#define RW_ERRORS_H

#include <json-c/json.h>

/* Stable error codes used by runwared itself (Runware's own codes pass through unchanged). */
#define RW_E_INVALID_JSON      "invalidJSON"      /* payload is not JSON */
#define RW_E_INVALID_JOB       "invalidJob"       /* payload is JSON but not an object */
#define RW_E_INVALID_PARAMETER "invalidParameter" /* a value of the wrong type or out of range */
#define RW_E_MISSING_PARAMETER "missingParameter" /* a required field is absent */
#define RW_E_UNKNOWN_PARAMETER "unknownParameter" /* a field the contract does not know */
#define RW_E_CONFLICTING       "conflictingParameters"
#define RW_E_UNSUPPORTED                                                                           \
    "unsupportedParameter" /* valid for Runware, but runwared can't honour it */
#define RW_E_DUPLICATE_TASK                                                                        \
    "duplicateTaskUUID"                         /* a task with this taskUUID is already in flight  \
                                                 */
#define RW_E_SUBMIT_FAILED    "submitFailed"    /* Runware could not be reached after retries */
#define RW_E_NOT_ACKNOWLEDGED "notAcknowledged" /* Runware answered without mentioning the task */
#define RW_E_RESULT_LIST      "invalidResultList" /* the job's resultList could not take the record */

/* Appends {"code":code,"message":<fmt>} (and "parameter" when param is non-NULL) to arr.
 * Returns the new object, borrowed from arr, so a caller may add fields such as "min";
 * NULL when allocation failed. */
json_object *rw_errors_add(json_object *arr, const char *code, const char *param, const char *fmt,
                           ...) __attribute__((format(printf, 4, 5)));

/* One error array with one error: a convenience for the single-error cases. NULL on ENOMEM. */
json_object *rw_errors_one(const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
