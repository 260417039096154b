/* Batches registered tasks into POSTs to Runware; acknowledgements, per-task errors, retries.
 *
 * A task is queued, then in flight in one POST of up to submit_batch tasks, then either
 * acknowledged (it leaves the submitting set; the callback completes it later), or ended
 * with an error record, or back in the queue after a backoff when Runware said it failed
 * (408, 429, 500, 503, 504, or a connection that never opened).
 *
 * When the outcome is unknown (the request may have reached Runware: a timeout, a connection
 * lost during the answer, a 502, an answer that does not mention the task), and for every task
 * a previous run or a dead instance may have sent already, the task is first checked: one
 * getResponse request for up to CHECK_MAX tasks. Only a task Runware does not know is sent
 * (again); a known one counts as acknowledged. So a task is paid for twice only when Runware
 * itself loses track of it.
 *
 * Account problems stop all submission: 401/403 (the key is refused) until a reload, 402 (no
 * balance) with a probe at growing intervals. Tasks stay held meanwhile, and the intake, which
 * asks rwd_submit_paused(), takes no more jobs. */
#include "submit.h"

#include <stdarg.h>
#include <string.h>
#include <sys/queue.h>
#include <curl/curl.h>

#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "rw_errors.h"
#include "rw_jv.h"
#include "rw_record.h"
#include "rw_response.h"
#include "rw_uuid.h"
#include "util.h"

#define RETRY_BASE_MS  1000
#define RETRY_CAP_MS   30000
#define CREDIT_BASE_MS 30000  /* 402: first probe after this */
#define CREDIT_CAP_MS  300000 /* 402: probes at most this far apart */
#define SETTLE_WAIT_MS 1000   /* Redis unreachable when noting a task's end: try again after this */
#define CHECK_MAX      50     /* tasks per getResponse check */

enum task_state { T_QUEUED, T_INFLIGHT, T_DELAYED, T_SETTLING, T_CHECK, T_CHECKING };

/* T_SETTLING: the task's end is being noted in Redis: an error record (its tail set), or
 * Runware's acknowledgement, which tasks acknowledged in the same loop turn share (one script
 * call per group of up to RWD_ACKED_MAX, usually one POST's tasks). The task stays held until
 * Redis has it, so that recovery after a reconnect does not submit it a second time. */

struct task {
    TAILQ_ENTRY(task) entry; /* in queue, delayed, checkq or acks, by state */
    struct task *hnext;      /* uuid hash chain */
    struct rwd_submit *s;
    enum task_state state;
    char uuid[RW_UUID_LEN + 1];
    char *body;
    size_t len;
    int attempts;        /* POSTs of it */
    int checks;          /* getResponse checks that brought no answer */
    int64_t due_ms;      /* T_DELAYED, T_CHECK after a failed check: not before this */
    int64_t added_ms;    /* when it was handed to us: a partial POST waits submit_wait_ms */
    char *tail;          /* T_SETTLING with an error: the record tail, kept for a retry */
    struct event *again; /* T_SETTLING with an error: retry after Redis came back */
};

TAILQ_HEAD(task_list, task);

enum pause { P_NONE, P_KEY, P_CREDIT };

struct rwd_submit {
    struct event_base *base;
    const struct rw_config *cfg;
    struct rwd_http *http;
    struct rwd_store *st;
    struct task_list queue, delayed, checkq;
    struct task_list acks;         /* acknowledged, not yet in an ack group */
    LIST_HEAD(, batch) batches;    /* in flight */
    LIST_HEAD(, ack_group) groups; /* acknowledgements being noted in Redis */
    struct task **buckets;
    size_t nbuckets;
    size_t count;       /* tasks held */
    size_t requests;    /* POSTs in flight (tasks and checks) */
    int overloads;      /* consecutive 429/503/504 answers */
    int64_t hold_until; /* no POST before this (ms), after an overload or a 402 answer */
    int64_t delay_at;   /* when delay_ev fires (ms), 0 when it is not armed */
    enum pause pause;
    int credit_probes; /* consecutive 402 answers */
    char pause_why[160];
    bool draining;
    struct event *flush_ev, *delay_ev, *ack_ev;
    struct event *wait_ev;   /* a partial batch's wait for more tasks ends */
    struct rw_jdoc *ack_doc; /* acknowledgements read without json-c's tree (acked_fast) */
    void (*on_room)(void *);
    void *room_arg;
    void (*on_empty)(void *);
    void *empty_arg;
};

/* One POST and the tasks it carries: their bodies (submit) or their UUIDs (check). */
struct batch {
    LIST_ENTRY(batch) entry;
    struct rwd_submit *s;
    bool check;
    size_t n;
    struct task *tasks[];
};

/* Acknowledged tasks noted in Redis by one script call. */
struct ack_group {
    LIST_ENTRY(ack_group) entry;
    struct rwd_submit *s;
    struct event *again; /* retry after Redis came back */
    size_t n;
    struct task *tasks[RWD_ACKED_MAX];
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

const char *rwd_submit_paused(const struct rwd_submit *s)
{
    return s->pause == P_NONE ? NULL : s->pause_why;
}

/* Lets go of a task: its state in Redis is final, or stays for the next start to take up. */
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

int rwd_submit_add(struct rwd_submit *s, const char *uuid, char *body, size_t len, bool maybe_sent)
{
    struct task *t = malloc(sizeof(*t)); /* not calloc: glibc serves it without its tcache */
    size_t ulen = strnlen(uuid, RW_UUID_LEN);
    struct task **pp;

    if (!t) {
        free(body);
        return -1;
    }
    *t = (struct task){.s = s,
                       .state = maybe_sent ? T_CHECK : T_QUEUED,
                       .body = body,
                       .len = len,
                       .added_ms = rwd_now_ms()};
    memcpy(t->uuid, uuid, ulen);
    t->uuid[ulen] = '\0';
    pp = hash_slot(s, uuid);
    t->hnext = *pp;
    *pp = t;
    s->count++;
    TAILQ_INSERT_TAIL(maybe_sent ? &s->checkq : &s->queue, t, entry);
    flush_soon(s);
    return 0;
}

static void settle(struct task *t);

static void on_settle_again(evutil_socket_t fd, short what, void *arg)
{
    settle(arg);
}

/* The answer to settle(): done, or try again once Redis is back. */
static void on_settled(redisReply *reply, void *arg)
{
    struct task *t = arg;
    struct timeval tv = rwd_tv_ms(SETTLE_WAIT_MS);

    if (reply && reply->type != REDIS_REPLY_ERROR) {
        if (reply->type == REDIS_REPLY_INTEGER && reply->integer == RWD_DONE_COMPLETE)
            rwd_metrics.records[RWD_REC_ERROR]++;
        task_free(t);
        return;
    }
    log_warnx("task %s: cannot note its error record in Redis (%s); trying again", t->uuid,
              reply ? reply->str : "connection lost");
    if (!t->again && !(t->again = evtimer_new(t->s->base, on_settle_again, t))) {
        log_warnx("task %s: out of memory; a restart takes it up again", t->uuid);
        task_free(t);
        return;
    }
    evtimer_add(t->again, &tv);
}

/* Notes the task's error record (its tail) in Redis. */
static void settle(struct task *t)
{
    t->state = T_SETTLING;
    if (rwd_store_complete(t->s->st, t->uuid, NULL, NULL, 0, t->tail, on_settled, t) < 0)
        on_settled(NULL, t);
}

static void ack_group_free(struct ack_group *g)
{
    LIST_REMOVE(g, entry);
    if (g->again)
        event_free(g->again);
    free(g);
}

static void ack_send(struct ack_group *g);

static void on_ack_again(evutil_socket_t fd, short what, void *arg)
{
    ack_send(arg);
}

/* The answer to ack_send(): the group's tasks are let go, or it is sent again once Redis is
 * back (the script does nothing twice). */
static void on_group_acked(redisReply *reply, void *arg)
{
    struct ack_group *g = arg;
    struct timeval tv = rwd_tv_ms(SETTLE_WAIT_MS);

    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        log_warnx("submit: cannot note the acknowledgement of %zu tasks in Redis (%s); trying "
                  "again",
                  g->n, reply ? reply->str : "connection lost");
        if (g->again || (g->again = evtimer_new(g->s->base, on_ack_again, g))) {
            evtimer_add(g->again, &tv);
            return;
        }
        log_warnx("submit: out of memory; a restart takes up those %zu tasks again", g->n);
    }
    for (size_t i = 0; i < g->n; i++)
        task_free(g->tasks[i]);
    ack_group_free(g);
}

static void ack_send(struct ack_group *g)
{
    const char *uuids[RWD_ACKED_MAX];
    int attempts[RWD_ACKED_MAX];
    int64_t now = rwd_now_ms();

    for (size_t i = 0; i < g->n; i++) {
        uuids[i] = g->tasks[i]->uuid;
        attempts[i] = g->tasks[i]->attempts;
    }
    if (rwd_store_acked(g->s->st, uuids, attempts, g->n, now,
                        now + g->s->cfg->callback_timeout * 1000LL, on_group_acked, g) < 0)
        on_group_acked(NULL, g);
}

/* At the end of a loop turn: the tasks acknowledged meanwhile go to Redis in groups. */
static void on_ack_flush(evutil_socket_t fd, short what, void *arg)
{
    struct rwd_submit *s = arg;
    struct task *t;

    while (!TAILQ_EMPTY(&s->acks)) {
        struct ack_group *g = calloc(1, sizeof(*g));

        if (!g) {
            struct timeval tv = rwd_tv_ms(100);

            log_warnx("submit: out of memory; noting acknowledgements shortly");
            evtimer_add(s->ack_ev, &tv);
            return;
        }
        g->s = s;
        while (g->n < RWD_ACKED_MAX && (t = TAILQ_FIRST(&s->acks))) {
            TAILQ_REMOVE(&s->acks, t, entry);
            g->tasks[g->n++] = t;
        }
        LIST_INSERT_HEAD(&s->groups, g, entry);
        ack_send(g);
    }
}

static void acked(struct task *t)
{
    struct rwd_submit *s = t->s;

    rwd_metrics.tasks_acked++;
    log_debug("task %s: acknowledged", t->uuid);
    t->state = T_SETTLING;
    TAILQ_INSERT_TAIL(&s->acks, t, entry);
    if (!evtimer_pending(s->ack_ev, NULL))
        event_active(s->ack_ev, EV_TIMEOUT, 0);
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
        log_warnx("task %s: out of memory; a restart takes it up again", t->uuid);
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

/* The delay timer fires at the earliest due time of the delayed and the checked tasks. */
static void arm_delay(struct rwd_submit *s, int64_t due_ms)
{
    struct timeval tv;

    if (s->delay_at && s->delay_at <= due_ms)
        return;
    s->delay_at = due_ms;
    tv = rwd_tv_ms(due_ms - rwd_now_ms());
    evtimer_add(s->delay_ev, &tv);
}

/* Runware said no, for now: queue again after a backoff, or give up after submit_retries. While
 * draining, the task is let go instead; it stays registered for the next start. */
static void retry(struct task *t, enum rwd_retry_reason reason, const char *why)
{
    struct rwd_submit *s = t->s;

    if (s->draining) {
        task_free(t);
        return;
    }
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
    arm_delay(s, t->due_ms);
}

/* The outcome of sending the task is unknown: ask Runware before sending it again. */
static void check(struct task *t, const char *why)
{
    struct rwd_submit *s = t->s;

    if (s->draining) {
        task_free(t); /* the next start checks it */
        return;
    }
    rwd_metrics.submit_unknown++;
    log_info("task %s: outcome unknown (%s); asking Runware before sending it again", t->uuid, why);
    t->state = T_CHECK;
    t->due_ms = 0;
    TAILQ_INSERT_TAIL(&s->checkq, t, entry);
}

/* A check brought no usable answer: check again later. After as many failed checks as
 * submit_retries allows, the task is taken as acknowledged: if Runware has it, its callbacks or
 * getResponse polls complete it; if not, job_timeout ends it with an error record. Either way
 * it is never sent twice on a guess. */
static void check_again(struct task *t, const char *why)
{
    struct rwd_submit *s = t->s;

    if (s->draining) {
        task_free(t);
        return;
    }
    if (++t->checks > s->cfg->submit_retries) {
        log_warnx("task %s: still unknown to us after %d checks (%s); left to reconciliation "
                  "(callbacks, getResponse, job_timeout)",
                  t->uuid, t->checks, why);
        acked(t);
        return;
    }
    t->state = T_CHECK;
    t->due_ms = rwd_now_ms() + rwd_backoff_ms(t->checks, RETRY_BASE_MS, RETRY_CAP_MS);
    TAILQ_INSERT_TAIL(&s->checkq, t, entry);
    arm_delay(s, t->due_ms);
}

/* Queues the task for sending right away (Runware does not know it). */
static void requeue_front(struct task *t)
{
    t->state = T_QUEUED;
    TAILQ_INSERT_HEAD(&t->s->queue, t, entry);
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
    struct rwd_submit *s = arg;
    struct task *t, *next;
    int64_t now = rwd_now_ms(), soonest = 0;

    s->delay_at = 0;
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
    TAILQ_FOREACH(t, &s->checkq, entry)
    {
        if (t->due_ms > now && (!soonest || t->due_ms < soonest))
            soonest = t->due_ms;
    }
    if (soonest)
        arm_delay(s, soonest);
    flush_soon(s);
}

static void set_pause(struct rwd_submit *s, enum pause p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_pause(struct rwd_submit *s, enum pause p, const char *fmt, ...)
{
    char status[200];
    va_list ap;

    s->pause = p;
    va_start(ap, fmt);
    vsnprintf(s->pause_why, sizeof(s->pause_why), fmt, ap);
    va_end(ap);
    /* plain text: it goes into /readyz's JSON and STATUS= as it is (Runware chose the code) */
    for (char *c = s->pause_why; *c; c++)
        if (*c == '"' || *c == '\\' || (unsigned char)*c < ' ' || *c == 0x7f)
            *c = '?';
    snprintf(status, sizeof(status), "STATUS=intake paused: %s", s->pause_why);
    rwd_notify(status);
}

static void clear_pause(struct rwd_submit *s)
{
    if (s->pause == P_NONE)
        return;
    log_info("submit: Runware accepts requests again; intake resumes");
    rwd_notify("STATUS=serving");
    s->pause = P_NONE;
    s->credit_probes = 0;
    s->pause_why[0] = '\0';
    if (s->on_room && !s->on_empty)
        s->on_room(s->room_arg);
}

static const char *first_code(const struct rwd_http_result *res, char *buf, size_t size)
{
    struct rw_response r = {0};
    char err[64];
    json_object *code = NULL;

    snprintf(buf, size, "-");
    if (res->len && rw_response_read(res->body, res->len, &r, err, sizeof(err)) == 0 &&
        r.nerrors > 0 && json_object_object_get_ex(r.errors[0], "code", &code) &&
        json_object_is_type(code, json_type_string))
        snprintf(buf, size, "%.60s", json_object_get_string(code));
    rw_response_clear(&r);
    return buf;
}

/* Runware answered with a status about the account or the capacity, not about the tasks:
 * 401/403 stop all submission until a reload, 402 until a probe passes; 429/503/504 hold all
 * POSTs for a backoff that grows while Runware keeps saying so, rather than each batch retrying
 * on its own. check: the request was getResponse lookups. Returns true when the batch's tasks
 * are to be kept queued as they were. */
static bool account_status(struct rwd_submit *s, const struct rwd_http_result *res, bool check)
{
    long status = res->status;
    char code[64];

    if (status == 401 || status == 402 || status == 403)
        first_code(res, code, sizeof(code));
    if (status == 401 || status == 403) {
        if (s->pause != P_KEY)
            log_warnx("submit: Runware refuses the API key (HTTP %ld %s): no job is taken or "
                      "sent until a reload (SIGHUP) with a valid key",
                      status, code);
        set_pause(s, P_KEY, "Runware refuses the API key (HTTP %ld %s)", status, code);
        return true;
    }
    if (status == 402) {
        int64_t wait;

        /* answers to requests sent together count as one probe */
        if (s->pause != P_CREDIT || rwd_now_ms() >= s->hold_until)
            s->credit_probes++;
        wait = rwd_backoff_ms(s->credit_probes, CREDIT_BASE_MS, CREDIT_CAP_MS);

        log_warnx("submit: Runware says the account has no balance left (HTTP 402 %s): intake "
                  "paused; trying again in %lld s",
                  code, (long long)wait / 1000);
        set_pause(s, P_CREDIT, "insufficient Runware balance (HTTP 402 %s)", code);
        s->hold_until = rwd_now_ms() + wait;
        return true;
    }
    if (status == 429 || status == 503 || status == 504) {
        int64_t until = rwd_now_ms() + rwd_backoff_ms(++s->overloads, RETRY_BASE_MS, RETRY_CAP_MS);

        if (until > s->hold_until)
            s->hold_until = until;
        return false;
    }
    if (status) {
        s->overloads = 0;
        /* only tasks accepted show the balance is back: a lookup may pass without it */
        if (s->pause == P_CREDIT && !check)
            clear_pause(s);
    }
    return false;
}

/* Runware answered that it failed: sending again is safe. 502 is not among them: a gateway
 * says it, and the request may have reached Runware. */
static bool failed_status(long status)
{
    return status == 408 || status == 429 || status == 500 || status == 503 || status == 504 ||
           status == 501 || status == 505;
}

/* curl failed before the request could leave: sending again is safe. */
static bool never_sent(int curl_code)
{
    return curl_code == CURLE_COULDNT_RESOLVE_PROXY || curl_code == CURLE_COULDNT_RESOLVE_HOST ||
           curl_code == CURLE_COULDNT_CONNECT || curl_code == CURLE_FAILED_INIT ||
           curl_code == CURLE_URL_MALFORMAT || curl_code == CURLE_UNSUPPORTED_PROTOCOL ||
           curl_code == CURLE_SSL_CONNECT_ERROR || curl_code == CURLE_PEER_FAILED_VERIFICATION;
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

/* Does the answer hold an item of this task? Runware answers a batch's tasks in the order they
 * were sent, so items[hint] is looked at first: a batch is matched in one pass, not n^2. */
static bool item_for(const struct rw_response *r, const char *uuid, size_t hint)
{
    const char *u;

    if (hint < r->nitems && (u = rw_item_task_uuid(r->items[hint])) && strcmp(u, uuid) == 0)
        return true;
    for (size_t i = 0; i < r->nitems; i++) {
        if (i != hint && (u = rw_item_task_uuid(r->items[i])) && strcmp(u, uuid) == 0)
            return true;
    }
    return false;
}

/* What a getResponse answer says of one task: -1 unknown to Runware, 1 known, 0 not said. */
static int known_in(const struct rw_response *r, const char *uuid)
{
    int said = 0;

    if (item_for(r, uuid, SIZE_MAX))
        return 1;
    for (size_t i = 0; i < r->nerrors; i++) {
        const char *u = rw_item_task_uuid(r->errors[i]);

        if (!u || strcmp(u, uuid) != 0)
            continue;
        if (!rw_error_is_not_found(r->errors[i]))
            return 1; /* e.g. its generation failed: Runware has it */
        said = -1;
    }
    return said;
}

#define ACK_FAST_MAX 100 /* submit_batch's upper bound */

/* The usual acknowledgement, {"data":[...]} with an item for every task of the batch and no
 * errors, read with rw_jv instead of json-c's tree: json-c's allocations per node were the
 * largest malloc load left in runwared. Decides as the general path below would (an item that is
 * an object whose taskUUID is the task's acknowledges it); returns false, having changed
 * nothing, for anything else (errors, a missing item, a body rw_jv leaves to json-c), which that
 * path then reads. */
static bool acked_fast(struct batch *b, const struct rwd_http_result *res)
{
    const struct rw_jv *root, *data, *errs;
    const struct rw_jv *item[ACK_FAST_MAX];

    if (b->n > ACK_FAST_MAX || rw_jv_read(b->s->ack_doc, res->body, res->len, &root) != RW_JV_OK ||
        root->type != RW_JV_OBJECT || !(data = rw_jv_get(root, "data")) ||
        data->type != RW_JV_ARRAY ||
        ((errs = rw_jv_get(root, "errors")) && (errs->type != RW_JV_ARRAY || errs->n > 0)))
        return false;
    for (size_t i = 0; i < b->n; i++) {
        item[i] = NULL;
        for (size_t k = 0; k < data->n && !item[i]; k++) {
            const struct rw_jv *e = &data->items[(i + k) % data->n], *u; /* item i first */

            if (e->type == RW_JV_OBJECT && (u = rw_jv_get(e, "taskUUID")) &&
                u->type == RW_JV_STRING && u->n == RW_UUID_LEN &&
                memcmp(u->s, b->tasks[i]->uuid, RW_UUID_LEN) == 0)
                item[i] = e;
        }
        if (!item[i])
            return false;
    }
    for (size_t i = 0; i < b->n; i++)
        acked(b->tasks[i]);
    return true;
}

/* Puts the tasks of a batch back where they were, as if it had not been sent. */
static void unsend(struct batch *b)
{
    for (size_t i = b->n; i-- > 0;) {
        struct task *t = b->tasks[i];

        if (b->check) {
            t->state = T_CHECK;
            TAILQ_INSERT_HEAD(&b->s->checkq, t, entry);
        } else {
            t->attempts--;
            requeue_front(t);
        }
    }
}

static void on_checked(struct batch *b, const struct rwd_http_result *res)
{
    struct rw_response r = {0};
    char why[256], err[160];

    /* 400 too: Runware answers it when no task of the request is known (taskNotFound each) */
    if (res->curl_code != 0 || (res->status != 200 && res->status != 400) ||
        rw_response_read(res->body, res->len, &r, err, sizeof(err)) < 0) {
        if (res->curl_code != 0)
            snprintf(why, sizeof(why), "getResponse: %s", res->error);
        else if (res->status != 200 && res->status != 400)
            snprintf(why, sizeof(why), "getResponse: HTTP %ld", res->status);
        else
            snprintf(why, sizeof(why), "getResponse: unreadable answer: %s", err);
        log_warnx("submit: checking %zu tasks: %s", b->n, why);
        for (size_t i = 0; i < b->n; i++)
            check_again(b->tasks[i], why);
        return;
    }
    for (size_t i = 0; i < b->n; i++) {
        struct task *t = b->tasks[i];
        int known = known_in(&r, t->uuid);

        if (known > 0) {
            log_info("task %s: Runware has it; not sent again", t->uuid);
            acked(t);
        } else if (known < 0) {
            if (t->attempts > 0)
                rwd_metrics.submit_unknown_resent++;
            log_info("task %s: Runware does not know it; sending it", t->uuid);
            if (t->s->draining) {
                task_free(t);
            } else if (t->attempts > t->s->cfg->submit_retries) {
                snprintf(why, sizeof(why),
                         "Runware did not take the task in %d attempts whose outcome was unknown",
                         t->attempts);
                finish_one(t, RW_E_SUBMIT_FAILED, why);
            } else {
                requeue_front(t);
            }
        } else {
            check_again(t, "getResponse did not mention the task");
        }
    }
    rw_response_clear(&r);
}

static void on_submitted(struct batch *b, const struct rwd_http_result *res)
{
    struct rw_response r = {0};
    json_object *unscoped = NULL;
    char why[256], err[160];

    if (res->curl_code != 0 || failed_status(res->status) || res->status == 502) {
        if (res->curl_code != 0)
            snprintf(why, sizeof(why), "%s", res->error);
        else
            snprintf(why, sizeof(why), "HTTP %ld", res->status);
        log_warnx("submit: %zu tasks: %s", b->n, why);
        for (size_t i = 0; i < b->n; i++) {
            if (res->curl_code ? never_sent(res->curl_code) : failed_status(res->status))
                retry(b->tasks[i],
                      res->curl_code != 0  ? RWD_RETRY_NETWORK
                      : res->status == 429 ? RWD_RETRY_THROTTLED
                                           : RWD_RETRY_SERVER,
                      why);
            else
                check(b->tasks[i], why);
        }
        goto out;
    }
    if (acked_fast(b, res))
        return;
    if (rw_response_read(res->body, res->len, &r, err, sizeof(err)) < 0) {
        snprintf(why, sizeof(why), "HTTP %ld with an unreadable body: %s", res->status, err);
        log_warnx("submit: %zu tasks: %s", b->n, why);
        for (size_t i = 0; i < b->n; i++) {
            if (res->status >= 400)
                finish_one(b->tasks[i], "invalidResponse", why);
            else
                check(b->tasks[i], why);
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
        } else if (item_for(&r, t->uuid, i)) {
            acked(t);
        } else if (unscoped) {
            finish(t, unscoped);
        } else {
            snprintf(why, sizeof(why), "HTTP %ld without an acknowledgement for the task",
                     res->status);
            check(t, why);
        }
    }
out:
    json_object_put(unscoped);
    rw_response_clear(&r);
}

static void on_response(const struct rwd_http_result *res, void *arg)
{
    struct batch *b = arg;
    struct rwd_submit *s = b->s;

    s->requests--;
    LIST_REMOVE(b, entry);
    if (res->curl_code == 0 && !b->check)
        rwd_metrics_observe(&rwd_metrics.submit_latency, res->seconds);
    if (res->curl_code == 0 && account_status(s, res, b->check)) {
        log_info("submit: %zu tasks held (%s)", b->n, s->pause_why);
        if (s->draining) {
            for (size_t i = 0; i < b->n; i++)
                task_free(b->tasks[i]); /* registered still: the next start takes them up */
        } else {
            unsend(b);
        }
    } else if (b->check) {
        on_checked(b, res);
    } else {
        on_submitted(b, res);
    }
    free(b);
    flush_soon(s);
}

/* Starts one POST of up to max tasks from list (check: getResponse for them; else their
 * bodies). Returns -1 when out of memory. */
static int send_batch(struct rwd_submit *s, struct task_list *list, bool check_only, size_t max)
{
    int64_t now = rwd_now_ms();
    struct batch *b = malloc(sizeof(*b) + max * sizeof(struct task *));
    size_t len = 2, off = 0;
    struct task *t;
    char *body;

    if (!b)
        return -1;
    b->s = s;
    b->check = check_only;
    b->n = 0;
    TAILQ_FOREACH(t, list, entry)
    {
        if (b->n == max)
            break;
        if (check_only && t->due_ms > now)
            continue;
        b->tasks[b->n++] = t;
        len += (check_only ? 64 + RW_UUID_LEN : t->len) + 1;
    }
    if (b->n == 0) {
        free(b);
        return 0;
    }
    if (!(body = malloc(len + 1))) {
        free(b);
        return -1;
    }
    body[off++] = '[';
    for (size_t i = 0; i < b->n; i++) {
        t = b->tasks[i];
        TAILQ_REMOVE(list, t, entry);
        if (i)
            body[off++] = ',';
        if (check_only) {
            t->state = T_CHECKING;
            off += (size_t)snprintf(body + off, len + 1 - off,
                                    "{\"taskType\":\"getResponse\",\"taskUUID\":\"%s\"}", t->uuid);
        } else {
            t->state = T_INFLIGHT;
            t->attempts++;
            memcpy(body + off, t->body, t->len);
            off += t->len;
        }
    }
    body[off++] = ']';
    body[off] = '\0';
    log_debug("submit: POST of %zu %s, %zu bytes", b->n, check_only ? "checks" : "tasks", off);
    if (rwd_http_post(s->http, s->cfg->api_url, body, off, on_response, b) < 0) {
        for (size_t i = 0; i < b->n; i++) {
            if (check_only)
                check_again(b->tasks[i], "cannot start an HTTP request");
            else
                retry(b->tasks[i], RWD_RETRY_LOCAL, "cannot start an HTTP request");
        }
        free(b);
        return 0;
    }
    s->requests++;
    if (check_only)
        rwd_metrics.submit_checks++;
    else
        rwd_metrics.submit_requests++;
    LIST_INSERT_HEAD(&s->batches, b, entry);
    return 0;
}

static bool check_due(const struct rwd_submit *s)
{
    int64_t now = rwd_now_ms();
    const struct task *t;

    TAILQ_FOREACH(t, &s->checkq, entry)
    {
        if (t->due_ms <= now)
            return true;
    }
    return false;
}

/* A POST of the queue's tasks may go now: it is full, or its oldest task has waited
 * submit_wait_ms for others to share it. Otherwise *left_ms says how long until it may. */
static bool batch_ready(const struct rwd_submit *s, int64_t now, int64_t *left_ms)
{
    const struct task *first = TAILQ_FIRST(&s->queue), *t;
    int64_t wait = s->cfg->submit_wait_ms;
    int n = 0;

    if (wait == 0 || now - first->added_ms >= wait)
        return true;
    TAILQ_FOREACH(t, &s->queue, entry)
    {
        if (++n >= s->cfg->submit_batch)
            return true;
    }
    *left_ms = first->added_ms + wait - now;
    return false;
}

static void on_wait_over(evutil_socket_t fd, short what, void *arg)
{
    flush_soon(arg);
}

/* Sends checks, then batches, while there is work and room for another request. */
static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    struct rwd_submit *s = arg;
    int64_t now = rwd_now_ms();

    if (s->pause == P_KEY || s->draining)
        return;
    if (now < s->hold_until) {
        struct timeval tv = rwd_tv_ms(s->hold_until - now);

        evtimer_add(s->flush_ev, &tv);
        return;
    }
    while (s->requests < (size_t)s->cfg->max_requests) {
        bool checks = check_due(s);
        int rc;

        int64_t left;

        if (checks) {
            rc = send_batch(s, &s->checkq, true, CHECK_MAX);
        } else if (!TAILQ_EMPTY(&s->queue)) {
            if (!batch_ready(s, now, &left)) {
                struct timeval tv = rwd_tv_ms(left);

                evtimer_add(s->wait_ev, &tv);
                break;
            }
            rc = send_batch(s, &s->queue, false, (size_t)s->cfg->submit_batch);
        } else {
            break;
        }
        if (rc < 0) {
            struct timeval tv = rwd_tv_ms(100);

            log_warnx("submit: out of memory; retrying shortly");
            evtimer_add(s->flush_ev, &tv);
            return;
        }
        if (s->pause == P_CREDIT)
            break; /* one probe at a time */
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
    TAILQ_INIT(&s->checkq);
    TAILQ_INIT(&s->acks);
    LIST_INIT(&s->batches);
    LIST_INIT(&s->groups);
    for (s->nbuckets = 64; s->nbuckets < (size_t)cfg->max_pending * 2;)
        s->nbuckets *= 2;
    if (!(s->buckets = calloc(s->nbuckets, sizeof(*s->buckets))) ||
        !(s->flush_ev = evtimer_new(base, on_flush, s)) ||
        !(s->delay_ev = evtimer_new(base, on_delay, s)) ||
        !(s->ack_ev = evtimer_new(base, on_ack_flush, s)) ||
        !(s->wait_ev = evtimer_new(base, on_wait_over, s)) || !(s->ack_doc = rw_jdoc_new())) {
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

void rwd_submit_reload(struct rwd_submit *s)
{
    if (s->pause == P_NONE)
        return;
    log_info("submit: reloaded; trying Runware again");
    s->hold_until = 0;
    clear_pause(s);
    evtimer_del(s->flush_ev); /* it may wait for the end of a hold */
    flush_soon(s);
}

static void let_go(struct task_list *list)
{
    struct task *t;

    while ((t = TAILQ_FIRST(list))) {
        TAILQ_REMOVE(list, t, entry);
        task_free(t);
    }
}

void rwd_submit_drain(struct rwd_submit *s, void (*on_empty)(void *), void *arg)
{
    bool was = s->draining;

    s->draining = true;
    s->on_empty = NULL; /* no call from let_go below */
    if (!was && s->count)
        log_info("submit: tasks not yet sent stay registered for the next start");
    let_go(&s->queue);
    let_go(&s->delayed);
    let_go(&s->checkq);
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
    while (!LIST_EMPTY(&s->groups))
        ack_group_free(LIST_FIRST(&s->groups));
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
    if (s->ack_ev)
        event_free(s->ack_ev);
    if (s->wait_ev)
        event_free(s->wait_ev);
    rw_jdoc_free(s->ack_doc);
    free(s);
}
