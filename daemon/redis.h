/* hiredis async on the event loop: connect, AUTH/SELECT, reconnect with backoff, Lua scripts. */
#ifndef RWD_REDIS_H
#define RWD_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "rw_config.h"

struct rwd_redis;

/* reply is borrowed and valid only during the call; NULL when the connection was lost (or is
 * being closed) before the answer came: the command may or may not have run. */
typedef void rwd_redis_cb(redisReply *reply, void *arg);

/* A Lua script, run with EVALSHA and, if Redis does not know it (after a restart), EVAL. */
struct rwd_script {
    const char *name; /* for logs */
    const char *src;
    char sha[41]; /* filled by rwd_script_init */
};

void rwd_script_init(struct rwd_script *s);

/* name appears in logs ("redis cmd"). Copies what it needs from addr. NULL on ENOMEM. */
struct rwd_redis *rwd_redis_new(struct event_base *base, const struct rw_redis_addr *addr,
                                const char *name);

/* on_ready runs after each successful (re)connect, AUTH and SELECT; on_lost when a ready
 * connection is lost. Either may be NULL. */
void rwd_redis_set_handlers(struct rwd_redis *r, void (*on_ready)(void *), void (*on_lost)(void *),
                            void *arg);

/* Group commit: while a written batch of commands awaits its replies, new commands wait and go
 * out together once it is answered. Not for a connection that blocks (BLMOVE). */
void rwd_redis_one_batch(struct rwd_redis *r);

/* What a group-commit connection tells its batch hook:
 * - RWD_BATCH_SENT: a batch of commands was written (or the rest of one); its replies are awaited.
 * - RWD_BATCH_GATHER: the batches out are answered and the next is about to be written. Commands
 *   the hook issues now join it; they are not written before the hook returns.
 * - RWD_BATCH_IDLE: after SENT, all is answered and nothing waits to be written; or the connection
 *   was lost. GATHER and IDLE come only after a SENT. */
enum rwd_batch_event { RWD_BATCH_SENT, RWD_BATCH_GATHER, RWD_BATCH_IDLE };
typedef void rwd_redis_batch_fn(void *arg, enum rwd_batch_event ev);

/* One hook per connection, for a rwd_redis_one_batch connection; set before commands are sent. */
void rwd_redis_batch_hook(struct rwd_redis *r, rwd_redis_batch_fn *hook, void *arg);

/* Starts connecting; reconnects by itself until freed. */
void rwd_redis_start(struct rwd_redis *r);
bool rwd_redis_ready(const struct rwd_redis *r);

/* Sends a command. Returns 0 when sent (cb then runs exactly once), -1 when the connection is not
 * ready or on ENOMEM (cb does not run). */
int rwd_redis_cmd(struct rwd_redis *r, rwd_redis_cb *cb, void *arg, int argc, const char **argv,
                  const size_t *lens);

/* EVALSHA script with nkeys keys then args (argv holds keys then args). Same contract. */
int rwd_redis_eval(struct rwd_redis *r, const struct rwd_script *s, rwd_redis_cb *cb, void *arg,
                   int nkeys, int argc, const char **argv, const size_t *lens);

/* The same call with its arguments written in place, with no copy of them in between:
 * rwd_redis_eval_begin reserves room for argc arguments of bytes bytes in all (NULL when the
 * connection is not ready, or on ENOMEM); rwd_redis_eval_arg then returns where the next
 * argument's n bytes go, for the caller to fill (NULL past argc arguments or bytes bytes); and
 * rwd_redis_eval_send sends the call, with the contract of rwd_redis_eval (it fails, and frees e,
 * unless all argc arguments were given). rwd_redis_eval_cancel drops a call not sent. */
struct rwd_eval;
struct rwd_eval *rwd_redis_eval_begin(struct rwd_redis *r, const struct rwd_script *s, int nkeys,
                                      int argc, size_t bytes);
char *rwd_redis_eval_arg(struct rwd_eval *e, size_t n);
int rwd_redis_eval_send(struct rwd_eval *e, rwd_redis_cb *cb, void *arg);
void rwd_redis_eval_cancel(struct rwd_eval *e);

/* Closes the connection (pending callbacks run with NULL) and frees r. Accepts NULL. */
void rwd_redis_free(struct rwd_redis *r);

#endif
