/* Webhook URLs and their tokens: hex HMAC-SHA256(secret, taskUUID), checked in constant time. */
#ifndef RW_TOKEN_H
#define RW_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include "rw_uuid.h"

#define RW_TOKEN_LEN        64         /* hex digits, without the NUL */
#define RW_SECRET_MIN       16         /* bytes a webhook secret must have at least */
#define RW_CALLBACK_SEGMENT "callback" /* the path is <public_url path>/callback/<taskUUID> */

/* A secret set up for tokens once: HMAC-SHA256's inner and outer hash states after the key
 * block, so that a token costs two SHA-256 blocks and no allocation. As sensitive as the secret
 * itself; cleansed when freed. Read-only once made: threads may share one. */
struct rw_token_key;

/* The secret is binary (secretlen bytes, NULs included). NULL when out of memory or when secret
 * is NULL with secretlen > 0. */
struct rw_token_key *rw_token_key_new(const void *secret, size_t secretlen);
void rw_token_key_free(struct rw_token_key *key);

/* out receives RW_TOKEN_LEN hex digits and a NUL (just a NUL on failure). Returns -1 when key or
 * task_uuid is NULL or SHA-256 failed. */
int rw_token_sign(const struct rw_token_key *key, const char *task_uuid,
                  char out[RW_TOKEN_LEN + 1]);

/* Constant-time comparison of token (any string, possibly NULL) with task_uuid's own. */
bool rw_token_verify(const struct rw_token_key *key, const char *task_uuid, const char *token);

/* The same from the secret's bytes, setting the key up on every call: for tests and one-off
 * tools, not for a hot path. */
int rw_token_make(const void *secret, size_t secretlen, const char *task_uuid,
                  char out[RW_TOKEN_LEN + 1]);
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
