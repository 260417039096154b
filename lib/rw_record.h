/* Result records: the one contract producers read (see README "Result records"). */
#ifndef RW_RECORD_H
#define RW_RECORD_H

#include <stdint.h>
#include <json-c/json.h>

/*
 * A record is
 *   {"taskUUID":…, "status":"success"|"error", "data":[items], "errors":[…], "meta":…,
 *    "takenAt":ms, "completedAt":ms [, "payload":"<raw job>"]}
 * Success records are glued together in Redis, atomically with the last image's arrival, from
 * three pieces: a head made at intake, the items as received, and a tail made at completion:
 *   head ++ items joined by "," ++ tail
 * so that "data" holds the items exactly as Runware sent them.
 */

/* '{"taskUUID":…,"meta":…,"takenAt":…,"data":[' — meta may be NULL (then null). malloc'd. */
char *rw_record_head(const char *task_uuid, json_object *meta, int64_t taken_ms);

/* The same head with meta given as JSON text (meta_len bytes, valid JSON, e.g. the envelope's
 * own bytes for it): copied as it came, without the whitespace between tokens. NULL on ENOMEM
 * or without meta. */
char *rw_record_head_raw(const char *task_uuid, const char *meta, size_t meta_len,
                         int64_t taken_ms);

/* '],"status":"success","errors":[],"completedAt":…}' for the success tail, or with status
 * "error" and the given errors (borrowed) when images had arrived before an error. malloc'd. */
char *rw_record_tail(json_object *errors, int64_t completed_ms);

#define RW_RECORD_TAIL_MAX 72 /* the success tail's longest length, with its NUL */

/* The success tail (as rw_record_tail(NULL, completed_ms)) into buf, allocating nothing; for
 * each result item of a callback. Returns its length. */
size_t rw_record_tail_success(char buf[RW_RECORD_TAIL_MAX], int64_t completed_ms);

/* A complete error record with no data: head + "]" + tail, plus "payload" (the raw job text, kept
 * whole) when payload is non-NULL. malloc'd, NULL on ENOMEM. */
char *rw_record_error(const char *task_uuid, json_object *meta, int64_t taken_ms,
                      json_object *errors, const char *payload, size_t payload_len,
                      int64_t completed_ms);

#endif
