/* Webhook URLs and their tokens: hex HMAC-SHA256(secret, taskUUID), checked in constant time. */
#ifndef RW_TOKEN_H
#define RW_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include "rw_uuid.h"

#define RW_TOKEN_LEN        64         /* hex digits, without the NUL */
#define RW_SECRET_MIN       16         /* bytes a webhook secret must have at least */
#define RW_CALLBACK_SEGMENT "callback" /* the path is <public_url path>/callback/<taskUUID> */

/* out receives RW_TOKEN_LEN hex digits and a NUL. Returns -1 if HMAC failed. */
int rw_token_make(const void *secret, size_t secretlen, const char *task_uuid,
                  char out[RW_TOKEN_LEN + 1]);

/* Constant-time comparison of token (any string, possibly NULL) with the expected one. */
bool rw_token_check(const void *secret, size_t secretlen, const char *task_uuid, const char *token);

/* "<public_url>/callback/<uuid>?token=<hex>" (one slash between base and path whatever
 * public_url ends with). Returns the length written, or -1 when outlen is too small. */
int rw_webhook_url(const char *public_url, const char *task_uuid, const char *token, char *out,
                   size_t outlen);

/* Splits a request URI ("/any/prefix/callback/<uuid>?token=<hex>&...") into the task UUID and
 * the token. Returns 0 when the path ends in callback/<uuid> with a valid UUID (token may then be
 * "" if the query has none), -1 otherwise. */
int rw_webhook_parse(const char *uri, char uuid[RW_UUID_LEN + 1], char token[RW_TOKEN_LEN + 1]);

#endif
