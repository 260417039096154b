/* Takes jobs from Redis, validates them, registers them and hands them to submit, or writes
 * their error record.
 *
 * A job moves atomically from the jobs list to this instance's processing list, and leaves it
 * only in the same step that either writes its error record or registers its task (with the
 * taskUUID it was given) in the submitting set. A crash therefore loses nothing: the next start
 * queues the processing list again and submits the submitting set again. */
#include "intake.h"

#include <string.h>

#include "log.h"
#include "metrics.h"
#include "rw_errors.h"
#include "rw_job.h"
#include "rw_keys.h"
#include "rw_record.h"
#include "rw_token.h"
#include "rw_uuid.h"

#define TAKE_MAX       64 /* jobs moved by one take */
#define WAIT_S         5  /* a blocking wait returns at least this often */
#define RETRY_AFTER_MS 1000
#define BOUND_WAIT_MS  200 /* at max_inflight: look again after this */
#define HEARTBEAT_S    5   /* how often this instance says it is alive (and adopts the silent) */

struct rwd_intake {
    const struct rw_config *cfg;
    struct rwd_store *st;
    struct rwd_submit *sub;
    const struct rw_schema *schema;
    const struct rwd_secret *secret;
    struct event *retry_ev;
    struct event *heartbeat_ev;
    struct rw_job_reader *reader; /* reads every job, one after the other */
    bool recovered; /* leftovers (of a previous run, or of a lost connection) taken up again */
    bool taking;    /* a recover, take or wait is outstanding */
    bool stopped;
    bool at_bound; /* max_inflight tasks registered and not completed: waiting for results */
    size_t busy;   /* jobs being registered or refused */
};

/* A job between its parse and Redis's answer; its bytes follow it in the same allocation. */
struct job_ctx {
    struct rwd_intake *in;
    char *raw; /* NUL-terminated */
    size_t rawlen;
    char uuid[RW_UUID_LEN + 1];
    char *list;
    json_object *meta; /* NULL for an accepted job: its bytes are at raw + meta_at */
    size_t meta_at, meta_len;
    int64_t taken_ms;
    char *body; /* the task as submitted */
    size_t bodylen;
    int number_results;
};

static void pump(struct rwd_intake *in);

static void job_ctx_free(struct job_ctx *c)
{
    if (!c)
        return;
    free(c->list);
    json_object_put(c->meta);
    free(c->body);
    free(c);
}

static void job_done(struct job_ctx *c)
{
    struct rwd_intake *in = c->in;

    job_ctx_free(c);
    in->busy--;
    if (!in->recovered)
        rwd_intake_start(in); /* waiting for the last job in hand to recover */
    else
        pump(in);
}

static void on_rejected(redisReply *reply, void *arg)
{
    struct job_ctx *c = arg;

    if (!reply || reply->type == REDIS_REPLY_ERROR)
        log_warnx("task %s: cannot write its error record (%s); the job stays in the "
                  "processing list",
                  c->uuid, reply ? reply->str : "Redis connection lost");
    else if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 0)
        log_warnx("task %s: the job left the processing list meanwhile; its record is left to "
                  "whoever has it now",
                  c->uuid);
    else
        rwd_metrics.records[RWD_REC_ERROR]++;
    job_done(c);
}

/* An accepted job refused after all (its taskUUID in flight, its resultList not a list): its
 * meta as a tree, from its bytes, for the record. -1 on ENOMEM. */
static int meta_tree(struct job_ctx *c)
{
    const char *m = c->raw + c->meta_at;

    if (c->meta || !c->meta_len || (c->meta_len == 4 && memcmp(m, "null", 4) == 0))
        return 0;
    return (c->meta = rw_job_meta_tree(m, c->meta_len)) ? 0 : -1;
}

/* Writes the error record of a job that will not be submitted. with_payload: the raw job is
 * kept in the record (it was not a JSON object). dead: the raw job also goes to the dead-letter
 * list. list NULL: the default results list. */
static void reject(struct job_ctx *c, json_object *errors, bool with_payload, bool dead,
                   const char *list)
{
    json_object *first, *code = NULL, *param = NULL;
    char *rec;

    if (!errors || meta_tree(c) < 0) { /* ENOMEM */
        on_rejected(NULL, c);
        return;
    }
    first = json_object_array_get_idx(errors, 0);
    rwd_metrics.jobs_refused++;
    if (dead)
        rwd_metrics.jobs_dead++;
    json_object_object_get_ex(first, "code", &code);
    json_object_object_get_ex(first, "parameter", &param);
    log_info("task %s: job refused: %s%s%s (errors: %zu)%s", c->uuid,
             code ? json_object_get_string(code) : "?", param ? " " : "",
             param ? json_object_get_string(param) : "", json_object_array_length(errors),
             dead ? "; its payload is kept in the dead-letter list" : "");
    rec = rw_record_error(c->uuid, c->meta, c->taken_ms, errors, with_payload ? c->raw : NULL,
                          c->rawlen, rwd_now_ms());
    if (!rec || rwd_store_reject(c->in->st, c->raw, c->rawlen, list, rec, dead, on_rejected, c) < 0)
        on_rejected(NULL, c);
    free(rec);
}

static void reject_one(struct job_ctx *c, const char *code, const char *param, const char *msg,
                       const char *list)
{
    json_object *errors = rw_errors_one(code, param, "%s", msg);

    reject(c, errors, false, false, list);
    json_object_put(errors);
}

static void on_registered(redisReply *reply, void *arg)
{
    struct job_ctx *c = arg;

    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        log_warnx("task %s: cannot register (%s); the job stays in the processing list", c->uuid,
                  reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "Redis connection lost");
        job_done(c);
        return;
    }
    switch (reply->integer) {
    case RWD_REG_OK:
        log_debug("task %s: registered", c->uuid);
        if (rwd_submit_add(c->in->sub, c->uuid, c->body, c->bodylen, false) < 0)
            log_warnx("task %s: out of memory; a restart submits it", c->uuid);
        c->body = NULL;
        job_done(c);
        break;
    case RWD_REG_GONE:
        log_warnx("task %s: the job left the processing list meanwhile; not submitted here",
                  c->uuid);
        job_done(c);
        break;
    case RWD_REG_DUPLICATE:
        reject_one(c, RW_E_DUPLICATE_TASK, "taskUUID",
                   "a task with this taskUUID is already in flight or was completed recently",
                   c->list);
        break;
    default:
        reject_one(c, RW_E_RESULT_LIST, "resultList",
                   "resultList names a Redis key that is not a list", NULL);
        break;
    }
}

/* Builds what the submission needs: the webhook URL with its token, the task's final JSON (the
 * job's own bytes where they can be kept) and the record head. Returns -1 on ENOMEM. */
static int prepare(struct job_ctx *c, struct rw_job *job, char **head)
{
    const struct rw_config *cfg = c->in->cfg;
    char token[RW_TOKEN_LEN + 1], url[2048];
    int rc = -1;

    if (rw_token_sign(c->in->secret->key, c->uuid, token) < 0 ||
        rw_webhook_url(cfg->public_url, c->uuid, token, url, sizeof(url)) < 0 ||
        !(c->body = rw_job_body(job, c->raw, c->rawlen, url, &c->bodylen)))
        goto out;
    if (job->meta_len)
        *head = rw_record_head_raw(c->uuid, c->raw + job->meta_at, job->meta_len, c->taken_ms);
    else
        *head = rw_record_head(c->uuid, c->meta, c->taken_ms);
    rc = *head ? 0 : -1;
out:
    explicit_bzero(token, sizeof(token));
    explicit_bzero(url, sizeof(url));
    return rc;
}

static void handle_job(struct rwd_intake *in, const char *raw, size_t len)
{
    struct rw_job job = {0};
    json_object *errors = NULL;
    /* malloc, not calloc: only the record is zeroed, not the job's bytes after it */
    struct job_ctx *c = len < SIZE_MAX - sizeof(*c) ? malloc(sizeof(*c) + len + 1) : NULL;
    char *head = NULL;
    int rc;

    if (!c)
        goto nomem;
    *c = (struct job_ctx){.in = in, .raw = (char *)(c + 1), .rawlen = len};
    memcpy(c->raw, raw, len);
    c->raw[len] = '\0';
    c->taken_ms = rwd_now_ms();
    in->busy++;
    rwd_metrics.jobs_taken++;
    if (len > (size_t)in->cfg->max_job_bytes) {
        /* not parsed at all; the record has a fresh taskUUID, the job waits in :dead */
        if (rw_uuid_v4(c->uuid) < 0 ||
            !(errors = rw_errors_one(RW_E_INVALID_JOB, NULL,
                                     "job of %zu bytes is larger than max_job_bytes (%d); its "
                                     "payload is kept in %s:dead",
                                     len, in->cfg->max_job_bytes, in->cfg->key_prefix))) {
            in->busy--;
            goto nomem;
        }
        reject(c, errors, false, true, NULL);
        json_object_put(errors);
        return;
    }
    rc = rw_job_read(in->reader, c->raw, len, in->schema, &job, &errors);
    if (rc == -2) {
        in->busy--;
        goto nomem;
    }
    memcpy(c->uuid, job.task_uuid, sizeof(c->uuid));
    c->meta = job.meta;
    job.meta = NULL;
    c->meta_at = job.meta_at;
    c->meta_len = job.meta_len;
    c->list = job.result_list;
    job.result_list = NULL;
    c->number_results = job.number_results;
    if (rc == -1) {
        reject(c, errors, job.task == NULL, job.task == NULL, c->list);
    } else if (c->list && rw_key_reserved(in->cfg->key_prefix, c->list)) {
        reject_one(c, RW_E_RESULT_LIST, "resultList",
                   "resultList names one of runwared's own Redis keys", NULL);
    } else if (rwd_submit_has(in->sub, c->uuid)) {
        reject_one(c, RW_E_DUPLICATE_TASK, "taskUUID",
                   "a task with this taskUUID is already in flight", c->list);
    } else if (prepare(c, &job, &head) < 0) {
        in->busy--;
        goto nomem;
    } else if (rwd_store_register(in->st, c->uuid, c->list, c->number_results, head, c->taken_ms,
                                  c->raw, c->rawlen, c->body, c->bodylen, on_registered, c) < 0) {
        on_registered(NULL, c);
    }
    free(head);
    json_object_put(errors);
    rw_job_clear(&job);
    return;
nomem:
    log_warnx("intake: out of memory; the job stays in the processing list");
    free(head);
    json_object_put(errors);
    rw_job_clear(&job);
    job_ctx_free(c);
}

static void retry_later(struct rwd_intake *in)
{
    struct timeval tv = rwd_tv_ms(RETRY_AFTER_MS);

    evtimer_add(in->retry_ev, &tv);
}

static void on_waited(redisReply *reply, void *arg)
{
    struct rwd_intake *in = arg;

    in->taking = false;
    if (!reply)
        return; /* connection lost: rwd_intake_start runs again on reconnect */
    if (reply->type == REDIS_REPLY_ERROR) {
        log_warnx("intake: BLMOVE failed: %s", reply->str);
        retry_later(in);
        return;
    }
    if (reply->type == REDIS_REPLY_STRING && !in->stopped)
        handle_job(in, reply->str, reply->len);
    pump(in);
}

static void on_taken(redisReply *reply, void *arg)
{
    struct rwd_intake *in = arg;

    in->taking = false;
    if (!reply)
        return;
    if (reply->type == REDIS_REPLY_INTEGER) {
        struct timeval tv = rwd_tv_ms(BOUND_WAIT_MS);

        if (!in->at_bound)
            log_info("intake: %d tasks in flight (max_inflight): waiting for results",
                     in->cfg->max_inflight);
        in->at_bound = true;
        evtimer_add(in->retry_ev, &tv);
        return;
    }
    if (in->at_bound) {
        log_info("intake: below max_inflight again");
        in->at_bound = false;
    }
    if (reply->type != REDIS_REPLY_ARRAY) {
        log_warnx("intake: taking jobs failed: %s",
                  reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        retry_later(in);
        return;
    }
    for (size_t i = 0; i < reply->elements; i++)
        if (reply->element[i]->type == REDIS_REPLY_STRING)
            handle_job(in, reply->element[i]->str, reply->element[i]->len);
    if (reply->elements == 0 && !in->stopped) {
        /* Nothing queued: block until a job arrives (or WAIT_S passes). */
        if (rwd_store_wait(in->st, WAIT_S, on_waited, in) == 0)
            in->taking = true;
        return;
    }
    pump(in);
}

static void pump(struct rwd_intake *in)
{
    long room;

    if (in->stopped || in->taking || !in->recovered || rwd_submit_paused(in->sub))
        return; /* a room callback calls again when the pause ends */
    room = (long)in->cfg->max_pending - (long)(rwd_submit_count(in->sub) + in->busy);
    if (room <= 0)
        return; /* rwd_intake_room() calls again */
    /* jobs in hand are not in the pending set yet: they count against the bound too */
    if (rwd_store_take(in->st, room < TAKE_MAX ? (int)room : TAKE_MAX,
                       in->cfg->max_inflight - (int)in->busy, on_taken, in) == 0)
        in->taking = true;
}

/* Hands the uuid, body pairs of reply (from element `from` on) to submit, skipping tasks it
 * holds already. Returns how many it took. */
static size_t submit_pairs(struct rwd_intake *in, const redisReply *reply, size_t from)
{
    size_t n = 0;

    for (size_t i = from; i + 1 < reply->elements; i += 2) {
        const redisReply *u = reply->element[i], *b = reply->element[i + 1];
        char *body;

        if (u->type != REDIS_REPLY_STRING || b->type != REDIS_REPLY_STRING ||
            rwd_submit_has(in->sub, u->str))
            continue;
        if ((body = malloc(b->len + 1))) {
            memcpy(body, b->str, b->len);
            body[b->len] = '\0';
        }
        if (!body || rwd_submit_add(in->sub, u->str, body, b->len, true) < 0) {
            log_warnx("task %s: out of memory; a restart submits it", u->str);
            continue;
        }
        n++;
    }
    return n;
}

static void on_unsubmitted(redisReply *reply, void *arg)
{
    struct rwd_intake *in = arg;
    size_t n;

    in->taking = false;
    if (!reply)
        return;
    if (reply->type != REDIS_REPLY_ARRAY) {
        log_warnx("intake: cannot read the tasks a previous run left unsubmitted: %s",
                  reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        retry_later(in);
        return;
    }
    if ((n = submit_pairs(in, reply, 0)))
        log_info("intake: %zu tasks registered earlier are submitted again", n);
    in->recovered = true;
    pump(in);
}

static void on_heartbeat(redisReply *reply, void *arg)
{
    struct rwd_intake *in = arg;
    size_t n;

    if (!reply)
        return;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
        reply->element[0]->type != REDIS_REPLY_STRING) {
        log_warnx("intake: heartbeat failed: %s",
                  reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        return;
    }
    if (reply->element[0]->len == 0)
        return;
    n = submit_pairs(in, reply, 1);
    log_warnx("intake: adopted the leftovers of instances silent for %d s: %s; submitting %zu "
              "tasks",
              in->cfg->adopt_after, reply->element[0]->str, n);
    pump(in);
}

static void on_heartbeat_tick(evutil_socket_t fd, short what, void *arg)
{
    struct rwd_intake *in = arg;

    if (!in->stopped)
        rwd_store_heartbeat(in->st, in->cfg->adopt_after, on_heartbeat, in);
}

static void on_recovered(redisReply *reply, void *arg)
{
    struct rwd_intake *in = arg;

    in->taking = false;
    if (!reply)
        return;
    if (reply->type != REDIS_REPLY_INTEGER) {
        log_warnx("intake: cannot recover the processing list: %s",
                  reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        retry_later(in);
        return;
    }
    if (reply->integer > 0)
        log_info("intake: %lld jobs a previous run had taken are queued again", reply->integer);
    if (rwd_store_unsubmitted(in->st, on_unsubmitted, in) == 0)
        in->taking = true;
    else
        retry_later(in);
}

void rwd_intake_start(struct rwd_intake *in)
{
    if (in->stopped || in->taking)
        return;
    if (!in->recovered) {
        /* Recovery moves the processing list back: not while a job taken from it is in hand
         * (its register or reject is outstanding); job_done calls again. */
        if (in->busy)
            return;
        if (rwd_store_recover(in->st, on_recovered, in) == 0)
            in->taking = true;
        return;
    }
    pump(in);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    rwd_intake_start(arg);
}

void rwd_intake_lost(void *arg)
{
    struct rwd_intake *in = arg;

    /* Answers lost with the connection may have left jobs in the processing list, or registered
     * tasks nobody will submit: take them up again once reconnected. */
    in->recovered = false;
}

void rwd_intake_room(void *arg)
{
    pump(arg);
}

void rwd_intake_stop(struct rwd_intake *in)
{
    in->stopped = true;
    evtimer_del(in->retry_ev);
    event_del(in->heartbeat_ev); /* a stopping instance adopts nothing */
}

void rwd_intake_set_schema(struct rwd_intake *in, const struct rw_schema *schema)
{
    in->schema = schema;
}

size_t rwd_intake_busy(const struct rwd_intake *in)
{
    return in->busy;
}

struct rwd_intake *rwd_intake_new(const struct rw_config *cfg, struct rwd_store *st,
                                  struct rwd_submit *sub, const struct rw_schema *schema,
                                  const struct rwd_secret *secret, struct event_base *base)
{
    struct rwd_intake *in = calloc(1, sizeof(*in));
    struct timeval beat = {HEARTBEAT_S, 0};

    if (!in)
        return NULL;
    in->cfg = cfg;
    in->st = st;
    in->sub = sub;
    in->schema = schema;
    in->secret = secret;
    if (!(in->reader = rw_job_reader_new()) || !(in->retry_ev = evtimer_new(base, on_retry, in)) ||
        !(in->heartbeat_ev = event_new(base, -1, EV_PERSIST, on_heartbeat_tick, in)) ||
        event_add(in->heartbeat_ev, &beat) != 0) {
        rwd_intake_free(in);
        return NULL;
    }
    return in;
}

void rwd_intake_free(struct rwd_intake *in)
{
    if (!in)
        return;
    if (in->retry_ev)
        event_free(in->retry_ev);
    if (in->heartbeat_ev)
        event_free(in->heartbeat_ev);
    rw_job_reader_free(in->reader);
    free(in);
}
