/* Batches registered tasks into POSTs to Runware; acknowledgements, per-task errors, retries.
 *
 * A task is queued, then in flight in one POST of up to submit_batch tasks, then either
 * acknowledged (it leaves the submitting set; the callback completes it later), or ended
 * with an error record, or back in the queue after a backoff when the failure was transient
 * (network, timeout, 408, 429, 5xx, or an answer that did not mention it). */
#include "submit.h"

#include <string.h>
#include <sys/queue.h>

#include "log.h"
#include "metrics.h"
#include "rw_errors.h"
#include "rw_record.h"
#include "rw_response.h"
#include "rw_uuid.h"
#include "util.h"

#define RETRY_BASE_MS  1000
#define RETRY_CAP_MS   30000
#define SETTLE_WAIT_MS 1000 /* Redis unreachable when noting a task's end: try again after this */

enum task_state { T_QUEUED, T_INFLIGHT, T_DELAYED, T_SETTLING };

struct task {
    TAILQ_ENTRY(task) entry; /* in queue or delayed, by state */
    struct task *hnext;      /* uuid hash chain */
    struct rwd_submit *s;
    enum task_state state;
    char uuid[RW_UUID_LEN + 1];
    char *body;
    size_t len;
    int attempts;
    int64_t due_ms;      /* T_DELAYED: when to queue again */
    char *tail;          /* T_SETTLING with an error: the record tail, kept for a retry */
    struct event *again; /* T_SETTLING: retry after Redis came back */
};

TAILQ_HEAD(task_list, task);

struct rwd_submit {
    struct event_base *base;
    const struct rw_config *cfg;
    struct rwd_http *http;
    struct rwd_store *st;
    struct task_list queue, delayed;
    LIST_HEAD(, batch) batches; /* in flight */
    struct task **buckets;
    size_t nbuckets;
    size_t count;       /* tasks held */
    size_t requests;    /* POSTs in flight */
    int overloads;      /* consecutive 429/503/504 answers */
    int64_t hold_until; /* no POST before this (ms), after an overload answer */
    struct event *flush_ev, *delay_ev;
    void (*on_room)(void *);
    void *room_arg;
    void (*on_empty)(void *);
    void *empty_arg;
};

/* One POST and the tasks it carries. */
struct batch {
    LIST_ENTRY(batch) entry;
    struct rwd_submit *s;
    size_t n;
    struct task *tasks[];
};

static void flush_soon(struct rwd_submit *s);

static size_t hash_uuid(const char *u, size_t nbuckets)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *u; u++)
        h = (h ^ (unsigned char)*u) * 1099511628211ULL;
    return h & (nbuckets - 1);
}

static struct task **hash_slot(const struct rwd_submit *s, const char *uuid)
{
    struct task **pp = &s->buckets[hash_uuid(uuid, s->nbuckets)];

    while (*pp && strcmp((*pp)->uuid, uuid) != 0)
        pp = &(*pp)->hnext;
    return pp;
}

bool rwd_submit_has(const struct rwd_submit *s, const char *uuid)
{
    return *hash_slot(s, uuid) != NULL;
}

size_t rwd_submit_count(const struct rwd_submit *s)
{
    return s->count;
}

static void task_free(struct task *t)
{
    struct rwd_submit *s = t->s;
    struct task **pp = hash_slot(s, t->uuid);

    if (*pp == t)
        *pp = t->hnext;
    s->count--;
    if (t->again)
        event_free(t->again);
    free(t->body);
    free(t->tail);
    free(t);
    if (s->on_room && !s->on_empty)
        s->on_room(s->room_arg);
    if (s->count == 0 && s->on_empty)
        s->on_empty(s->empty_arg);
}

int rwd_submit_add(struct rwd_submit *s, const char *uuid, char *body, size_t len)
{
    struct task *t = calloc(1, sizeof(*t));
    struct task **pp;

    if (!t) {
        free(body);
        return -1;
    }
    t->s = s;
    t->body = body;
    t->len = len;
    snprintf(t->uuid, sizeof(t->uuid), "%s", uuid);
    pp = hash_slot(s, uuid);
    t->hnext = *pp;
    *pp = t;
    s->count++;
    t->state = T_QUEUED;
    TAILQ_INSERT_TAIL(&s->queue, t, entry);
    flush_soon(s);
    return 0;
}

static void settle(struct task *t);

static void on_settle_again(evutil_socket_t fd, short what, void *arg)
{
    settle(arg);
}

/* The answer to settle(): done, or try again once Redis is back. Until then the task stays
 * held, so that recovery after a reconnect does not submit it a second time. */
static void on_settled(redisReply *reply, void *arg)
{
    struct task *t = arg;
    struct timeval tv = rwd_tv_ms(SETTLE_WAIT_MS);

    if (reply && reply->type != REDIS_REPLY_ERROR) {
        if (t->tail && reply->type == REDIS_REPLY_INTEGER && reply->integer == RWD_DONE_COMPLETE)
            rwd_metrics.records[RWD_REC_ERROR]++;
        task_free(t);
        return;
    }
    log_warnx("task %s: cannot note its %s in Redis (%s); trying again", t->uuid,
              t->tail ? "error record" : "acknowledgement", reply ? reply->str : "connection lost");
    if (!t->again && !(t->again = evtimer_new(t->s->base, on_settle_again, t))) {
        log_warnx("task %s: out of memory; a restart submits it again", t->uuid);
        task_free(t);
        return;
    }
    evtimer_add(t->again, &tv);
}

/* Notes the task's end in Redis: its error record when it has a tail, else Runware's
 * acknowledgement. */
static void settle(struct task *t)
{
    int rc;

    t->state = T_SETTLING;
    if (t->tail)
        rc = rwd_store_complete(t->s->st, t->uuid, NULL, NULL, 0, t->tail, on_settled, t);
    else
        rc = rwd_store_acked(t->s->st, t->uuid, rwd_now_ms(), on_settled, t);
    if (rc < 0)
        on_settled(NULL, t);
}

static void acked(struct task *t)
{
    rwd_metrics.tasks_acked++;
    log_debug("task %s: acknowledged", t->uuid);
    settle(t);
}

/* Ends a task with an error record (errors: borrowed, NULL only after ENOMEM). */
static void finish(struct task *t, json_object *errors)
{
    json_object *code = NULL;

    rwd_metrics.tasks_failed++;
    if (errors)
        json_object_object_get_ex(json_object_array_get_idx(errors, 0), "code", &code);
    log_warnx("task %s: failed: %s", t->uuid, code ? json_object_get_string(code) : "?");
    if (!errors || !(t->tail = rw_record_tail(errors, rwd_now_ms()))) {
        log_warnx("task %s: out of memory; a restart submits it again", t->uuid);
        task_free(t);
        return;
    }
    settle(t);
}

static void finish_one(struct task *t, const char *code, const char *msg)
{
    json_object *errors = rw_errors_one(code, NULL, "%s", msg);

    finish(t, errors);
    json_object_put(errors);
}

/* A transient failure: queue again after a backoff, or give up after submit_retries. */
static void retry(struct task *t, enum rwd_retry_reason reason, const char *why)
{
    struct rwd_submit *s = t->s;

    if (t->attempts > s->cfg->submit_retries) {
        char msg[256];

        snprintf(msg, sizeof(msg), "Runware did not accept the task after %d attempts: %s",
                 t->attempts, why);
        finish_one(t, RW_E_SUBMIT_FAILED, msg);
        return;
    }
    rwd_metrics_retry(reason);
    t->state = T_DELAYED;
    t->due_ms = rwd_now_ms() + rwd_backoff_ms(t->attempts, RETRY_BASE_MS, RETRY_CAP_MS);
    TAILQ_INSERT_TAIL(&s->delayed, t, entry);
    log_info("task %s: attempt %d failed (%s); retrying", t->uuid, t->attempts, why);
    if (!evtimer_pending(s->delay_ev, NULL)) {
        struct timeval tv = rwd_tv_ms(t->due_ms - rwd_now_ms());

        evtimer_add(s->delay_ev, &tv);
    }
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
    struct rwd_submit *s = arg;
    struct task *t, *next;
    int64_t now = rwd_now_ms(), soonest = 0;

    /* Due tasks go to the head of the queue, in the order they were delayed. */
    struct task_list due = TAILQ_HEAD_INITIALIZER(due);
    for (t = TAILQ_FIRST(&s->delayed); t; t = next) {
        next = TAILQ_NEXT(t, entry);
        if (t->due_ms <= now) {
            TAILQ_REMOVE(&s->delayed, t, entry);
            TAILQ_INSERT_TAIL(&due, t, entry);
            t->state = T_QUEUED;
        } else if (!soonest || t->due_ms < soonest) {
            soonest = t->due_ms;
        }
    }
    while ((t = TAILQ_LAST(&due, task_list))) {
        TAILQ_REMOVE(&due, t, entry);
        TAILQ_INSERT_HEAD(&s->queue, t, entry);
    }
    if (soonest) {
        struct timeval tv = rwd_tv_ms(soonest - now);

        evtimer_add(s->delay_ev, &tv);
    }
    flush_soon(s);
}

/* Runware says it is over capacity (429, 503, 504): no POST at all for a backoff that grows
 * while it keeps saying so, rather than each batch retrying on its own. Any other answer ends
 * the hold. */
static void overloaded(struct rwd_submit *s, long status)
{
    if (status == 429 || status == 503 || status == 504) {
        int64_t until = rwd_now_ms() + rwd_backoff_ms(++s->overloads, RETRY_BASE_MS, RETRY_CAP_MS);

        if (until > s->hold_until)
            s->hold_until = until;
    } else if (status) {
        s->overloads = 0;
    }
}

static bool transient_status(long status)
{
    return status == 408 || status == 429 || status >= 500;
}

/* Errors of the answer that name this task, or NULL. A new array. */
static json_object *errors_for(const struct rw_response *r, const char *uuid, bool unscoped)
{
    json_object *out = NULL;

    for (size_t i = 0; i < r->nerrors; i++) {
        const char *u = rw_item_task_uuid(r->errors[i]);
        json_object *e;

        if (unscoped ? u != NULL : (!u || strcmp(u, uuid) != 0))
            continue;
        if (!out && !(out = json_object_new_array()))
            return NULL;
        if ((e = rw_error_for_record(r->errors[i])))
            json_object_array_add(out, e);
    }
    return out;
}

static bool acked_in(const struct rw_response *r, const char *uuid)
{
    for (size_t i = 0; i < r->nitems; i++) {
        const char *u = rw_item_task_uuid(r->items[i]);

        if (u && strcmp(u, uuid) == 0)
            return true;
    }
    return false;
}

static void on_response(const struct rwd_http_result *res, void *arg)
{
    struct batch *b = arg;
    struct rwd_submit *s = b->s;
    struct rw_response r = {0};
    json_object *unscoped = NULL;
    char why[256], err[160];

    s->requests--;
    LIST_REMOVE(b, entry);
    if (res->curl_code == 0)
        rwd_metrics_observe(&rwd_metrics.submit_latency, res->seconds);
    overloaded(s, res->status);
    if (res->curl_code != 0 || transient_status(res->status)) {
        if (res->curl_code != 0)
            snprintf(why, sizeof(why), "%s", res->error);
        else
            snprintf(why, sizeof(why), "HTTP %ld", res->status);
        log_warnx("submit: %zu tasks: %s", b->n, why);
        for (size_t i = 0; i < b->n; i++)
            retry(b->tasks[i],
                  res->curl_code != 0  ? RWD_RETRY_NETWORK
                  : res->status == 429 ? RWD_RETRY_THROTTLED
                                       : RWD_RETRY_SERVER,
                  why);
        goto out;
    }
    if (rw_response_parse(res->body, res->len, &r, err, sizeof(err)) < 0) {
        snprintf(why, sizeof(why), "HTTP %ld with an unreadable body: %s", res->status, err);
        log_warnx("submit: %zu tasks: %s", b->n, why);
        for (size_t i = 0; i < b->n; i++) {
            if (res->status >= 400)
                finish_one(b->tasks[i], "invalidResponse", why);
            else
                retry(b->tasks[i], RWD_RETRY_UNREADABLE, why);
        }
        goto out;
    }
    unscoped = errors_for(&r, NULL, true);
    for (size_t i = 0; i < b->n; i++) {
        struct task *t = b->tasks[i];
        json_object *mine = errors_for(&r, t->uuid, false);

        if (mine) {
            finish(t, mine);
            json_object_put(mine);
        } else if (acked_in(&r, t->uuid)) {
            acked(t);
        } else if (unscoped) {
            finish(t, unscoped);
        } else {
            snprintf(why, sizeof(why), "HTTP %ld without an acknowledgement for the task",
                     res->status);
            retry(t, RWD_RETRY_NO_ACK, why);
        }
    }
out:
    json_object_put(unscoped);
    rw_response_clear(&r);
    free(b);
    flush_soon(s);
}

/* Sends batches while there are queued tasks and room for another request. */
static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    struct rwd_submit *s = arg;
    int64_t now = rwd_now_ms();

    if (now < s->hold_until) {
        struct timeval tv = rwd_tv_ms(s->hold_until - now);

        evtimer_add(s->flush_ev, &tv);
        return;
    }
    while (!TAILQ_EMPTY(&s->queue) && s->requests < (size_t)s->cfg->max_inflight) {
        struct batch *b = malloc(sizeof(*b) + s->cfg->submit_batch * sizeof(struct task *));
        size_t len = 2, off = 0;
        char *body;
        struct task *t;

        if (!b)
            goto nomem;
        b->s = s;
        b->n = 0;
        TAILQ_FOREACH(t, &s->queue, entry)
        {
            if (b->n == (size_t)s->cfg->submit_batch)
                break;
            b->tasks[b->n++] = t;
            len += t->len + 1;
        }
        if (!(body = malloc(len + 1))) {
            free(b);
            goto nomem;
        }
        body[off++] = '[';
        for (size_t i = 0; i < b->n; i++) {
            t = b->tasks[i];
            TAILQ_REMOVE(&s->queue, t, entry);
            t->state = T_INFLIGHT;
            t->attempts++;
            if (i)
                body[off++] = ',';
            memcpy(body + off, t->body, t->len);
            off += t->len;
        }
        body[off++] = ']';
        body[off] = '\0';
        log_debug("submit: POST of %zu tasks, %zu bytes", b->n, off);
        if (rwd_http_post(s->http, s->cfg->api_url, body, off, on_response, b) < 0) {
            for (size_t i = 0; i < b->n; i++)
                retry(b->tasks[i], RWD_RETRY_LOCAL, "cannot start an HTTP request");
            free(b);
            return;
        }
        s->requests++;
        rwd_metrics.submit_requests++;
        LIST_INSERT_HEAD(&s->batches, b, entry);
    }
    return;
nomem:
    log_warnx("submit: out of memory; retrying shortly");
    {
        struct timeval tv = rwd_tv_ms(100);

        evtimer_add(s->flush_ev, &tv);
    }
}

static void flush_soon(struct rwd_submit *s)
{
    /* Runs after the events already due (e.g. the rest of an intake burst), so that tasks
     * arriving together share a POST. */
    if (!evtimer_pending(s->flush_ev, NULL))
        event_active(s->flush_ev, EV_TIMEOUT, 0);
}

struct rwd_submit *rwd_submit_new(struct event_base *base, const struct rw_config *cfg,
                                  struct rwd_http *http, struct rwd_store *st)
{
    struct rwd_submit *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->base = base;
    s->cfg = cfg;
    s->http = http;
    s->st = st;
    TAILQ_INIT(&s->queue);
    TAILQ_INIT(&s->delayed);
    LIST_INIT(&s->batches);
    for (s->nbuckets = 64; s->nbuckets < (size_t)cfg->max_pending * 2;)
        s->nbuckets *= 2;
    if (!(s->buckets = calloc(s->nbuckets, sizeof(*s->buckets))) ||
        !(s->flush_ev = evtimer_new(base, on_flush, s)) ||
        !(s->delay_ev = evtimer_new(base, on_delay, s))) {
        rwd_submit_free(s);
        return NULL;
    }
    return s;
}

void rwd_submit_set_room_cb(struct rwd_submit *s, void (*on_room)(void *), void *arg)
{
    s->on_room = on_room;
    s->room_arg = arg;
}

void rwd_submit_drain(struct rwd_submit *s, void (*on_empty)(void *), void *arg)
{
    s->on_empty = on_empty;
    s->empty_arg = arg;
    if (s->count == 0)
        on_empty(arg);
}

void rwd_submit_free(struct rwd_submit *s)
{
    if (!s)
        return;
    /* Tasks still held are left to the submitting set; free their memory only. The HTTP
     * client, freed first, has dropped the requests of the batches still listed. */
    while (!LIST_EMPTY(&s->batches)) {
        struct batch *b = LIST_FIRST(&s->batches);

        LIST_REMOVE(b, entry);
        free(b);
    }
    for (size_t i = 0; s->buckets && i < s->nbuckets; i++) {
        struct task *t = s->buckets[i], *next;

        for (; t; t = next) {
            next = t->hnext;
            if (t->again)
                event_free(t->again);
            free(t->body);
            free(t->tail);
            free(t);
        }
    }
    free(s->buckets);
    if (s->flush_ev)
        event_free(s->flush_ev);
    if (s->delay_ev)
        event_free(s->delay_ev);
    free(s);
}
