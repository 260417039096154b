/* The HTTP listener: Runware's webhook callbacks (/metrics, /healthz and /readyz are admin.c's).
 *
 * POST <public_url>/callback/<taskUUID>?token=<hmac>: the token is checked first (401), the body
 * parsed (400), then every item or error is handed to the store, and the answer waits for Redis:
 * 200 once everything is recorded (repeats included), 404 for a task Redis does not know, 503
 * when Redis could not record it, so that Runware retries. */
#include "callback.h"

#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "complete.h"
#include "log.h"
#include "metrics.h"
#include "rw_response.h"
#include "rw_token.h"

struct rwd_callback {
    const struct rw_config *cfg;
    struct rwd_store *st;
    const struct rwd_secret *secret;
    struct evhttp *http;
    int ready;
    void (*gauges)(struct evbuffer *, void *);
    void *gauges_arg;
};

/* One callback request waiting for Redis. */
struct cb_req {
    struct evhttp_request *req; /* NULL once the client has gone */
    char uuid[RW_UUID_LEN + 1];
    int outstanding; /* store calls not answered yet */
    int unknown, failed, stored;
};

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *body)
{
    struct evbuffer *b = evbuffer_new();

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    if (b)
        evbuffer_add_printf(b, "%s\n", body);
    evhttp_send_reply(req, code, reason, b);
    if (b)
        evbuffer_free(b);
}

/* The answer to a callback, counted by outcome. */
static void reply_outcome(struct evhttp_request *req, enum rwd_cb_outcome o, const char *error)
{
    static const struct {
        int code;
        const char *reason;
    } http[RWD_CB_OUTCOMES] = {
        [RWD_CB_OK] = {200, "OK"},
        [RWD_CB_UNAUTHORIZED] = {401, "Unauthorized"},
        [RWD_CB_BAD_REQUEST] = {400, "Bad Request"},
        [RWD_CB_UNKNOWN] = {404, "Not Found"},
        [RWD_CB_UNAVAILABLE] = {503, "Service Unavailable"},
    };
    char body[160];

    rwd_metrics.callbacks[o]++;
    if (o == RWD_CB_OK)
        snprintf(body, sizeof(body), "{\"status\":\"ok\"}");
    else
        snprintf(body, sizeof(body), "{\"error\":\"%s\"}", error);
    reply_text(req, http[o].code, http[o].reason, body);
}

static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
    struct cb_req *c = arg;

    c->req = NULL;
}

static void cb_req_answer(struct cb_req *c)
{
    if (c->req) {
        evhttp_connection_set_closecb(evhttp_request_get_connection(c->req), NULL, NULL);
        if (c->failed)
            reply_outcome(c->req, RWD_CB_UNAVAILABLE, "cannot record the result now; retry");
        else if (c->unknown && !c->stored)
            reply_outcome(c->req, RWD_CB_UNKNOWN, "unknown task");
        else
            reply_outcome(c->req, RWD_CB_OK, NULL);
    } else {
        log_debug("task %s: callback client went away before the answer", c->uuid);
    }
    free(c);
}

static void on_stored(redisReply *reply, void *arg)
{
    struct cb_req *c = arg;

    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        log_warnx("task %s: cannot record a callback: %s", c->uuid,
                  reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "Redis connection lost");
        c->failed++;
    } else if (reply->integer == RWD_DONE_UNKNOWN) {
        c->unknown++;
    } else {
        c->stored++;
        if (reply->integer == RWD_DONE_COMPLETE) {
            rwd_metrics.records_completed++;
            log_info("task %s: complete", c->uuid);
        }
    }
    if (--c->outstanding == 0)
        cb_req_answer(c);
}

/* Hands each item and the task's errors to the store. Returns the number of store calls. */
static int dispatch(struct rwd_callback *cb, struct cb_req *c, const struct rw_response *r)
{
    json_object *errors = NULL;
    int calls = 0;

    for (size_t i = 0; i < r->nitems; i++) {
        const char *u = rw_item_task_uuid(r->items[i]);

        if (u && strcmp(u, c->uuid) != 0) {
            log_warnx("task %s: callback item for task %s ignored", c->uuid, u);
            continue;
        }
        if (!rw_item_image_uuid(r->items[i])) {
            log_warnx("task %s: callback item without imageUUID ignored", c->uuid);
            continue;
        }
        calls++;
        c->outstanding++;
        if (rwd_complete_item(cb->st, c->uuid, r->items[i], on_stored, c) < 0) {
            c->outstanding--;
            c->failed++;
        }
    }
    for (size_t i = 0; i < r->nerrors; i++) {
        const char *u = rw_item_task_uuid(r->errors[i]);

        if (u && strcmp(u, c->uuid) != 0)
            continue;
        if (!errors && !(errors = json_object_new_array()))
            break;
        json_object_array_add(errors, json_object_get(r->errors[i]));
    }
    if (errors) {
        calls++;
        c->outstanding++;
        if (rwd_complete_errors(cb->st, c->uuid, errors, on_stored, c) < 0) {
            c->outstanding--;
            c->failed++;
        }
        json_object_put(errors);
    }
    return calls;
}

static void handle_callback(struct rwd_callback *cb, struct evhttp_request *req, const char *uuid,
                            const char *token)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = (const char *)evbuffer_pullup(in, -1);
    struct rw_response r = {0};
    struct cb_req *c;
    char err[200];

    if (!cb->secret->len) {
        reply_outcome(req, RWD_CB_UNAVAILABLE, "starting");
        return;
    }
    if (!rw_token_check(cb->secret->key, cb->secret->len, uuid, token)) {
        log_warnx("task %s: callback with a bad token refused", uuid);
        reply_outcome(req, RWD_CB_UNAUTHORIZED, "bad token");
        return;
    }
    if (rw_response_parse(body ? body : "", len, &r, err, sizeof(err)) < 0) {
        log_warnx("task %s: unreadable callback body: %s", uuid, err);
        reply_outcome(req, RWD_CB_BAD_REQUEST, "unreadable body");
        return;
    }
    if (!(c = calloc(1, sizeof(*c)))) {
        reply_outcome(req, RWD_CB_UNAVAILABLE, "out of memory");
        goto out;
    }
    c->req = req;
    snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
    c->outstanding = 1; /* held until every call is out, so no answer goes early */
    if (dispatch(cb, c, &r) == 0 && !c->failed) {
        free(c);
        reply_outcome(req, RWD_CB_BAD_REQUEST, "nothing for this task in the body");
        goto out;
    }
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), on_conn_close, c);
    if (--c->outstanding == 0)
        cb_req_answer(c);
out:
    rw_response_clear(&r);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct rwd_callback *cb = arg;
    const char *uri = evhttp_request_get_uri(req);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    char uuid[RW_UUID_LEN + 1], token[RW_TOKEN_LEN + 1];

    if (rw_webhook_parse(uri, uuid, token) < 0) {
        reply_text(req, 404, "Not Found", "{\"error\":\"not found\"}");
        return;
    }
    if (cmd != EVHTTP_REQ_POST) {
        reply_text(req, 405, "Method Not Allowed", "{\"error\":\"POST only\"}");
        return;
    }
    handle_callback(cb, req, uuid, token);
}

struct rwd_callback *rwd_callback_new(struct event_base *base, const struct rw_config *cfg,
                                      struct rwd_store *st, const struct rwd_secret *secret)
{
    struct rwd_callback *cb = calloc(1, sizeof(*cb));
    char *host = NULL, err[200];
    int port;

    if (!cb)
        return NULL;
    cb->cfg = cfg;
    cb->st = st;
    cb->secret = secret;
    if (rw_hostport_parse(cfg->listen, &host, &port, err, sizeof(err)) < 0) {
        log_warnx("listen %s: %s", cfg->listen, err);
        goto fail;
    }
    if (!(cb->http = evhttp_new(base)))
        goto fail;
    evhttp_set_max_body_size(cb->http, cfg->callback_max_bytes);
    evhttp_set_timeout(cb->http, 30);
    evhttp_set_allowed_methods(cb->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    evhttp_set_gencb(cb->http, on_request, cb);
    if (evhttp_bind_socket(cb->http, host ? host : "0.0.0.0", port) != 0) {
        log_warn("cannot listen on %s", cfg->listen);
        goto fail;
    }
    free(host);
    return cb;
fail:
    free(host);
    rwd_callback_free(cb);
    return NULL;
}

void rwd_callback_set_ready(struct rwd_callback *cb, int ready)
{
    cb->ready = ready;
}

void rwd_callback_set_gauges(struct rwd_callback *cb, void (*fn)(struct evbuffer *, void *),
                             void *arg)
{
    cb->gauges = fn;
    cb->gauges_arg = arg;
}

void rwd_callback_free(struct rwd_callback *cb)
{
    if (!cb)
        return;
    if (cb->http)
        evhttp_free(cb->http);
    free(cb);
}
