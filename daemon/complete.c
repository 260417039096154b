/* Results into the store: one item, or a task's errors, from a callback or a poll. Counts what
 * the store's answer says happened (images, spend, records by status, job latency) before the
 * caller sees the answer. */
#include "complete.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "rw_cbody.h"
#include "rw_record.h"
#include "rw_response.h"
#include "rw_uuid.h"
#include "util.h"

#define TOK_REUSE_MAX  (64 << 10) /* bodies up to this size share the caller's tokener */
#define ITEM_STACK_MAX 2048       /* items compacted (spaces left out) on the stack */

/* One store call in flight: the caller's callback, and what to count when it is answered. */
struct done_ctx {
    rwd_redis_cb *cb;
    void *arg;
    int is_item;
    double cost;    /* the item's "cost", 0 without one */
    int64_t now_ms; /* the record's time, its tail's: the end of the job's latency */
};

static void on_done(redisReply *reply, void *arg)
{
    struct done_ctx *c = arg;
    redisReply *r = reply;

    /* a completion comes as {2, takenAt}: the caller sees the 2, as from rwd_store_complete.
     * The latency ends at the record's time rather than a clock read now, one round trip to
     * Redis later: the same to the histogram, whose buckets are seconds. */
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_INTEGER) {
        if (r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer > 0)
            rwd_metrics_observe(&rwd_metrics.job_latency,
                                (c->now_ms - r->element[1]->integer) / 1000.0);
        r = r->element[0];
    }
    if (r && r->type == REDIS_REPLY_INTEGER) {
        if (c->is_item && (r->integer == RWD_DONE_PARTIAL || r->integer == RWD_DONE_COMPLETE)) {
            rwd_metrics.images++;
            rwd_metrics.cost_usd += c->cost;
        }
        if (r->integer == RWD_DONE_COMPLETE)
            rwd_metrics.records[c->is_item ? RWD_REC_SUCCESS : RWD_REC_ERROR]++;
    }
    c->cb(r, c->arg);
    free(c);
}

/* malloc, not calloc: glibc serves calloc without its per-thread cache */
static struct done_ctx *done_ctx(rwd_redis_cb *cb, void *arg, int is_item)
{
    struct done_ctx *c = malloc(sizeof(*c));

    if (c)
        *c = (struct done_ctx){.cb = cb, .arg = arg, .is_item = is_item, .now_ms = rwd_now_ms()};
    return c;
}

int rwd_complete_item(struct rwd_store *st, const char *uuid, json_object *item, rwd_redis_cb *cb,
                      void *arg)
{
    const char *img = rw_item_image_uuid(item), *json;
    char tail[RW_RECORD_TAIL_MAX];
    struct done_ctx *c = NULL;
    json_object *cost;
    int rc = -1;

    /* the store takes an empty imageUUID for an error: such an item would end the task */
    if (!img || !*img || !(c = done_ctx(cb, arg, 1)))
        return -1;
    if (json_object_object_get_ex(item, "cost", &cost) &&
        (json_object_is_type(cost, json_type_double) || json_object_is_type(cost, json_type_int)))
        c->cost = json_object_get_double(cost);
    json_object_object_del(item, "status");
    json = json_object_to_json_string_ext(item,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    rw_record_tail_success(tail, c->now_ms);
    if (json) {
        struct rwd_span span = {json, strlen(json)};

        rc = rwd_store_complete_timed(st, uuid, img, &span, 1, tail, on_done, c);
    }
    if (rc < 0)
        free(c);
    return rc;
}

int rwd_complete_errors(struct rwd_store *st, const char *uuid, json_object *errors,
                        rwd_redis_cb *cb, void *arg)
{
    json_object *copy = json_object_new_array();
    struct done_ctx *c = NULL;
    char *tail = NULL;
    int rc = -1;

    if (!copy || !(c = done_ctx(cb, arg, 0)))
        goto out;
    for (size_t i = 0; i < json_object_array_length(errors); i++) {
        json_object *e = rw_error_for_record(json_object_array_get_idx(errors, i));

        if (!e || json_object_array_add(copy, e) < 0) {
            json_object_put(e);
            goto out;
        }
    }
    if ((tail = rw_record_tail(copy, c->now_ms)))
        rc = rwd_store_complete_timed(st, uuid, NULL, NULL, 0, tail, on_done, c);
out:
    if (rc < 0)
        free(c);
    free(tail);
    json_object_put(copy);
    return rc;
}

/* One result item of the fast path, its bytes as the record takes them (the concatenation of
 * its nspans pieces): what rwd_complete_item does, with no tree and no allocation of ours. */
static int complete_raw(struct rwd_store *st, const char *uuid, const char *image_uuid,
                        const struct rwd_span *item, size_t nspans, double cost, rwd_redis_cb *cb,
                        void *arg)
{
    char tail[RW_RECORD_TAIL_MAX];
    struct done_ctx *c;

    if (!(c = done_ctx(cb, arg, 1)))
        return -1;
    c->cost = cost;
    rw_record_tail_success(tail, c->now_ms);
    if (rwd_store_complete_timed(st, uuid, image_uuid, item, nspans, tail, on_done, c) < 0) {
        free(c);
        return -1;
    }
    return 0;
}

/* rwd_complete_body for a body rw_cbody_read has read. An item goes into the store's command
 * as it stands in the body, in two pieces around its status member when it has one; only an
 * item with whitespace between its tokens is copied (compacted) first. */
static int complete_fast(struct rwd_store *st, const char *uuid, const char *body,
                         const struct rw_cbody *b, rwd_redis_cb *cb, void *arg, int *failed)
{
    int calls = 0;

    for (size_t i = 0; i < b->nitems; i++) {
        const struct rw_cbody_item *it = &b->items[i];
        char stack[ITEM_STACK_MAX], *copy = NULL;
        struct rwd_span span[2] = {{body + it->off, it->len}};
        size_t nspans = 1;

        if (it->has_task_uuid && strcmp(it->task_uuid, uuid) != 0) {
            /* the body's text reaches the log only when it is a UUID (no injected lines) */
            log_warnx("task %s: callback item for task %s ignored", uuid,
                      rw_uuid_valid(it->task_uuid) ? it->task_uuid : "(not a UUID)");
            continue;
        }
        if (!it->image_uuid[0]) {
            log_warnx("task %s: callback item without imageUUID ignored", uuid);
            continue;
        }
        if (it->spaced) {
            if (it->len > sizeof(stack) && !(copy = malloc(it->len))) {
                ++*failed;
                continue;
            }
            span[0].p = copy ? copy : stack;
            span[0].n = rw_cbody_item_copy(body, it, copy ? copy : stack);
        } else if (it->cut_len) {
            span[0].n = it->cut_off - it->off;
            span[1].p = body + it->cut_off + it->cut_len;
            span[1].n = it->off + it->len - it->cut_off - it->cut_len;
            nspans = 2;
        }
        if (complete_raw(st, uuid, it->image_uuid, span, nspans, it->cost, cb, arg) < 0)
            ++*failed;
        else
            calls++;
        free(copy);
    }
    return calls;
}

/* rwd_complete_body through json-c, for what the fast path leaves. */
static int complete_slow(struct rwd_store *st, json_tokener *tok, const char *uuid,
                         const char *body, size_t len, rwd_redis_cb *cb, void *arg, int *failed,
                         char *err, size_t errlen)
{
    struct rw_response r = {0};
    json_object *errors = NULL;
    int calls = 0;

    if (rw_response_parse_with(len <= TOK_REUSE_MAX ? tok : NULL, body, len, &r, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < r.nitems; i++) {
        const char *u = rw_item_task_uuid(r.items[i]);

        if (u && strcmp(u, uuid) != 0) {
            /* the body's text reaches the log only when it is a UUID (no injected lines) */
            log_warnx("task %s: callback item for task %s ignored", uuid,
                      rw_uuid_valid(u) ? u : "(not a UUID)");
            continue;
        }
        if (!rw_item_image_uuid(r.items[i]) || !*rw_item_image_uuid(r.items[i])) {
            log_warnx("task %s: callback item without imageUUID ignored", uuid);
            continue;
        }
        if (rwd_complete_item(st, uuid, r.items[i], cb, arg) < 0)
            ++*failed;
        else
            calls++;
    }
    for (size_t i = 0; i < r.nerrors; i++) {
        const char *u = rw_item_task_uuid(r.errors[i]);

        if (u && strcmp(u, uuid) != 0)
            continue;
        if (!errors && !(errors = json_object_new_array())) {
            ++*failed;
            break;
        }
        if (json_object_array_add(errors, json_object_get(r.errors[i])) < 0) {
            json_object_put(r.errors[i]);
            ++*failed;
            break;
        }
    }
    if (errors) {
        if (rwd_complete_errors(st, uuid, errors, cb, arg) < 0)
            ++*failed;
        else
            calls++;
        json_object_put(errors);
    }
    rw_response_clear(&r);
    return calls;
}

int rwd_complete_body(struct rwd_store *st, json_tokener *tok, const char *uuid, const char *body,
                      size_t len, rwd_redis_cb *cb, void *arg, int *failed, char *err,
                      size_t errlen)
{
    struct rw_cbody b;

    *failed = 0;
    switch (rw_cbody_read(body, len, &b, err, errlen)) {
    case RW_CBODY_OK:
        return complete_fast(st, uuid, body, &b, cb, arg, failed);
    case RW_CBODY_INVALID:
        return -1;
    default:
        return complete_slow(st, tok, uuid, body, len, cb, arg, failed, err, errlen);
    }
}
