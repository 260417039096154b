/* runware-sim: the Runware API itself (POST /v1 and POST /): authentication, injected faults,
 * per-task validation, async acknowledgements, sync responses and getResponse. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "rw_uuid.h"
#include "sim.h"

/* One POST being answered; it stays alive while sync tasks of it are still generating. */
struct api_call {
    struct sim *sim;
    struct evhttp_request *req;
    json_object *resp;   /* {"data":[...],"errors":[...]} */
    json_object *data;   /* borrowed from resp */
    json_object *errors; /* borrowed from resp */
    int waiting;         /* sync tasks not finished, plus one while tasks are being read */
    int ok;              /* tasks that succeeded (acknowledged, polled, generated) */
    int gen_failed;      /* sync tasks whose generation failed */
    bool reset;          /* close the connection instead of answering (fault reset_after) */
    struct event *later; /* answer_delay_ms: the answer waits for this timer */
    struct api_call *prev, *next;
};

struct sim_api {
    struct api_call *pending; /* calls waiting for sync tasks */
};

/* The first problem found in one task. */
struct task_err {
    const char *code;
    const char *param;
    char msg[160];
};

int sim_api_init(struct sim *sim)
{
    sim->api = calloc(1, sizeof(*sim->api));
    return sim->api ? 0 : -1;
}

static void call_free(struct api_call *call)
{
    if (!call)
        return;
    if (call->later)
        event_free(call->later);
    json_object_put(call->resp);
    free(call);
}

static void call_unlink(struct sim *sim, struct api_call *call)
{
    if (call->prev)
        call->prev->next = call->next;
    else if (sim->api->pending == call)
        sim->api->pending = call->next;
    if (call->next)
        call->next->prev = call->prev;
    call->prev = call->next = NULL;
}

/* Network faults: the client gets no complete answer. Before processing, the connection just
 * closes. After processing, the answer breaks off after its headers, so that the client knows
 * nothing of what became of its tasks (and, having received something, cannot quietly send the
 * request again as an HTTP client may do when a reused connection closes without a byte). */
static void close_now(struct evhttp_request *req)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;

    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
}

static void drop_connection(struct sim *sim, struct evhttp_request *req)
{
    sim->st.connections_reset++;
    close_now(req);
    evhttp_send_reply(req, 500, "Reset", NULL); /* cannot be written; releases the request */
}

static void on_head_sent(struct evhttp_connection *conn, void *arg)
{
    struct evhttp_request *req = arg;

    close_now(req);
    evhttp_send_reply_end(req);
}

static void break_off_answer(struct sim *sim, struct evhttp_request *req)
{
    struct evbuffer *part = evbuffer_new();

    sim->st.connections_reset++;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", "4096");
    evhttp_send_reply_start(req, 200, "OK");
    if (!part || evbuffer_add(part, "{\"data\":[", 9) < 0) {
        evbuffer_free(part);
        close_now(req);
        evhttp_send_reply_end(req);
        return;
    }
    evhttp_send_reply_chunk_with_cb(req, part, on_head_sent, req);
    evbuffer_free(part);
}

/* The answer's data entries in reverse order (kept as they were if memory runs out). */
static void reverse_data(struct api_call *call)
{
    size_t n = json_object_array_length(call->data);
    json_object *rev = json_object_new_array_ext((int)n);

    if (!rev)
        return;
    for (size_t i = n; i-- > 0;) {
        json_object *e = json_object_array_get_idx(call->data, i);

        if (json_object_array_add(rev, json_object_get(e)) != 0) {
            json_object_put(e);
            json_object_put(rev);
            return;
        }
    }
    json_object_object_add(call->resp, "data", rev); /* frees the old array */
    call->data = rev;
}

/* Sends the collected answer and frees the call. */
static void call_finish(struct api_call *call)
{
    struct sim *sim = call->sim;
    int status;

    if (call->reset) {
        call_unlink(sim, call);
        break_off_answer(sim, call->req);
        call_free(call);
        return;
    }
    if (call->ok > 0 || json_object_array_length(call->data) > 0)
        status = 200;
    else if (call->gen_failed > 0)
        status = 500;
    else
        status = 400;
    if (status == 200 && json_object_array_length(call->errors) == 0)
        json_object_object_del(call->resp, "errors");
    if (sim_chance(sim, sim->opt.rates.reorder_acks))
        reverse_data(call);
    call_unlink(sim, call);
    sim_reply_json(sim, call->req, status, call->resp, true);
    call_free(call);
}

static void on_answer_due(evutil_socket_t fd, short what, void *arg)
{
    call_finish(arg);
}

/* Answers now, or after answer_delay_ms (the call stays pending meanwhile). */
static void call_done(struct api_call *call)
{
    struct sim *sim = call->sim;
    struct timeval tv = {sim->opt.answer_delay_ms / 1000, (sim->opt.answer_delay_ms % 1000) * 1000};

    if (sim->opt.answer_delay_ms <= 0 ||
        !(call->later = evtimer_new(sim->base, on_answer_due, call)) ||
        evtimer_add(call->later, &tv) != 0) {
        call_finish(call);
    }
}

void sim_api_shutdown(struct sim *sim)
{
    if (!sim->api)
        return;
    while (sim->api->pending) {
        struct api_call *call = sim->api->pending;
        json_object *err = sim_error_body("serviceUnavailable", "The simulator is shutting down.");

        call_unlink(sim, call);
        evhttp_add_header(evhttp_request_get_output_headers(call->req), "Connection", "close");
        sim_reply_json(sim, call->req, 503, err, true);
        json_object_put(err);
        call_free(call);
    }
    free(sim->api);
    sim->api = NULL;
}

/* Adds key:value to obj, taking value; returns -1 (value released) if either failed. */
static int put(json_object *obj, const char *key, json_object *value)
{
    if (!value || json_object_object_add(obj, key, value) != 0) {
        json_object_put(value);
        return -1;
    }
    return 0;
}

static int add_task_error(struct api_call *call, const char *code, const char *param,
                          const char *msg, const char *task_type, const char *task_uuid)
{
    json_object *e = json_object_new_object();

    call->sim->st.task_errors++;
    if (!e || put(e, "code", json_object_new_string(code)) != 0 ||
        put(e, "message", json_object_new_string(msg)) != 0)
        goto fail;
    if (param && put(e, "parameter", json_object_new_string(param)) != 0)
        goto fail;
    if (task_type && put(e, "taskType", json_object_new_string(task_type)) != 0)
        goto fail;
    if (task_uuid && put(e, "taskUUID", json_object_new_string(task_uuid)) != 0)
        goto fail;
    if (json_object_array_add(call->errors, e) != 0)
        goto fail;
    return 0;
fail:
    json_object_put(e);
    return -1;
}

/* The string member key of obj, or NULL when absent or not a string. */
static const char *get_str(json_object *obj, const char *key)
{
    json_object *v;

    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Reads the integer member key into *out when present. Returns 0 if absent, 1 if present and a
 * JSON integer in [min, max], -1 if present but wrong. */
static int get_int(json_object *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
    json_object *v;
    int64_t i;

    if (!json_object_object_get_ex(obj, key, &v))
        return 0;
    if (!json_object_is_type(v, json_type_int))
        return -1;
    i = json_object_get_int64(v);
    /* json-c clamps integers above INT64_MAX to INT64_MAX; the unsigned view tells them apart. */
    if (i == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
        return -1;
    if (i < min || i > max)
        return -1;
    *out = i;
    return 1;
}

static size_t utf8_codepoints(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

static int set_err(struct task_err *err, const char *code, const char *param, const char *msg)
{
    err->code = code;
    err->param = param;
    snprintf(err->msg, sizeof(err->msg), "%s", msg);
    return -1;
}

static bool webhook_url_ok(const char *url)
{
    struct evhttp_uri *u;
    const char *scheme, *host;
    bool ok = false;

    if (strlen(url) > 2048)
        return false;
    u = evhttp_uri_parse_with_flags(url, 0);
    if (!u)
        return false;
    scheme = evhttp_uri_get_scheme(u);
    host = evhttp_uri_get_host(u);
    ok = scheme && (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0) && host &&
         *host;
    evhttp_uri_free(u);
    return ok;
}

/* Width and height: optional, but only together; 128..2048 in steps of 16. */
static int check_dimension(json_object *task, const char *key, const char *other, const char *code,
                           int *out, struct task_err *err)
{
    char msg[160];
    int64_t v = 0;
    int r = get_int(task, key, 128, 2048, &v);
    json_object *ignored;

    if (r == 0) {
        if (json_object_object_get_ex(task, other, &ignored)) {
            snprintf(msg, sizeof(msg), "Missing parameter %s: it is required when %s is set.", key,
                     other);
            return set_err(err, code, key, msg);
        }
        *out = 1024;
        return 0;
    }
    if (r < 0 || v % 16 != 0) {
        snprintf(msg, sizeof(msg),
                 "Invalid value for %s. It must be an integer between 128 and 2048 and a "
                 "multiple of 16.",
                 key);
        return set_err(err, code, key, msg);
    }
    *out = (int)v;
    return 0;
}

/*
 * Validates one imageInference task into p (strings borrowed from task). Like the real API,
 * each task is checked on its own and the first problem is reported. Deliberately only the
 * documented parameters a client is likely to get wrong are checked (taskUUID, model,
 * positivePrompt, width/height, numberResults, outputType, outputFormat, steps, seed,
 * deliveryMethod, webhookURL), not the whole JSON schema; other members are ignored.
 */
static int validate_inference(json_object *task, struct sim_task_params *p, bool *sync,
                              struct task_err *err)
{
    const char *s;
    json_object *v, *cc;
    int64_t i64;
    size_t cps;
    int r;

    memset(p, 0, sizeof(*p));
    p->uuid = get_str(task, "taskUUID");
    if (!p->uuid || !rw_uuid_valid(p->uuid))
        return set_err(err, "invalidTaskUUID", "taskUUID",
                       "Invalid value for taskUUID. It must be a UUID string.");
    s = get_str(task, "model");
    if (!s || strcmp(s, SIM_MODEL) != 0)
        return set_err(err, "invalidModel", "model",
                       "Invalid value for model. This endpoint serves " SIM_MODEL ".");
    if (!json_object_object_get_ex(task, "positivePrompt", &v) ||
        !json_object_is_type(v, json_type_string))
        return set_err(err, "invalidPositivePrompt", "positivePrompt",
                       "Missing or invalid positivePrompt. It must be a string.");
    s = json_object_get_string(v);
    cps = utf8_codepoints(s, (size_t)json_object_get_string_len(v));
    if (cps < 2 || cps > 3000)
        return set_err(err, "invalidPositivePrompt", "positivePrompt",
                       "Invalid value for positivePrompt. Its length must be between 2 and "
                       "3000 characters.");
    if (strstr(s, "[sim:gen-fail]"))
        p->triggers |= SIM_TRIG_GENFAIL;
    if (strstr(s, "[sim:drop]"))
        p->triggers |= SIM_TRIG_DROP;
    if (strstr(s, "[sim:dup]"))
        p->triggers |= SIM_TRIG_DUP;
    if (strstr(s, "[sim:bare]"))
        p->triggers |= SIM_TRIG_BARE;
    if (check_dimension(task, "width", "height", "invalidWidth", &p->width, err) != 0 ||
        check_dimension(task, "height", "width", "invalidHeight", &p->height, err) != 0)
        return -1;

    p->number_results = 1;
    r = get_int(task, "numberResults", 1, 20, &i64);
    if (r < 0)
        return set_err(err, "invalidNumberResults", "numberResults",
                       "Invalid value for numberResults. It must be an integer between 1 and "
                       "20.");
    if (r > 0)
        p->number_results = (int)i64;

    p->out = SIM_OUT_URL;
    if (json_object_object_get_ex(task, "outputType", &v)) {
        s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        if (strcmp(s, "URL") == 0)
            p->out = SIM_OUT_URL;
        else if (strcmp(s, "base64Data") == 0)
            p->out = SIM_OUT_BASE64;
        else if (strcmp(s, "dataURI") == 0)
            p->out = SIM_OUT_DATAURI;
        else
            return set_err(err, "invalidOutputType", "outputType",
                           "Invalid value for outputType. It must be URL, base64Data or "
                           "dataURI.");
    }
    p->fmt = SIM_FMT_JPG;
    if (json_object_object_get_ex(task, "outputFormat", &v)) {
        s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        if (strcmp(s, "JPG") == 0)
            p->fmt = SIM_FMT_JPG;
        else if (strcmp(s, "PNG") == 0)
            p->fmt = SIM_FMT_PNG;
        else if (strcmp(s, "WEBP") == 0)
            p->fmt = SIM_FMT_WEBP;
        else
            return set_err(err, "invalidOutputFormat", "outputFormat",
                           "Invalid value for outputFormat. It must be JPG, PNG or WEBP.");
    }

    p->steps = 28;
    r = get_int(task, "steps", 1, 50, &i64);
    if (r < 0)
        return set_err(err, "invalidSteps", "steps",
                       "Invalid value for steps. It must be an integer between 1 and 50.");
    if (r > 0)
        p->steps = (int)i64;

    r = get_int(task, "seed", 0, INT64_MAX, &i64);
    if (r < 0)
        return set_err(err, "invalidSeed", "seed",
                       "Invalid value for seed. It must be an integer between 0 and "
                       "9223372036854775807.");
    if (r > 0) {
        p->has_seed = true;
        p->seed = i64;
    }

    *sync = true;
    if (json_object_object_get_ex(task, "deliveryMethod", &v)) {
        s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        if (strcmp(s, "async") == 0)
            *sync = false;
        else if (strcmp(s, "sync") != 0)
            return set_err(err, "invalidDeliveryMethod", "deliveryMethod",
                           "Invalid value for deliveryMethod. It must be sync or async.");
    }
    if (json_object_object_get_ex(task, "webhookURL", &v)) {
        s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        if (!webhook_url_ok(s))
            return set_err(err, "invalidWebhookURL", "webhookURL",
                           "Invalid value for webhookURL. It must be an http or https URL.");
        p->webhook_url = s;
    }
    p->include_cost = json_object_object_get_ex(task, "includeCost", &v) &&
                      json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
    p->check_content = json_object_object_get_ex(task, "safety", &v) &&
                       json_object_is_type(v, json_type_object) &&
                       json_object_object_get_ex(v, "checkContent", &cc) &&
                       json_object_is_type(cc, json_type_boolean) && json_object_get_boolean(cc);
    return 0;
}

static void on_sync_done(struct sim *sim, void *arg, struct sim_task *task)
{
    struct api_call *call = arg;

    if (sim_task_results(sim, task, false, call->data, call->errors) != 0)
        sim_log(sim, 0, "task %s: out of memory building the sync response", sim_task_uuid(task));
    if (sim_task_failed(task))
        call->gen_failed++;
    else
        call->ok++;
    if (--call->waiting == 0)
        call_done(call);
}

static void do_inference(struct api_call *call, json_object *task)
{
    struct sim *sim = call->sim;
    struct sim_task_params p;
    struct task_err err;
    struct sim_task *t;
    json_object *ack = NULL;
    bool sync = true;

    if (validate_inference(task, &p, &sync, &err) != 0) {
        add_task_error(call, err.code, err.param, err.msg, "imageInference",
                       get_str(task, "taskUUID"));
        return;
    }
    if (sim_chance(sim, sim->opt.rates.gen_fail))
        p.triggers |= SIM_TRIG_GENFAIL;
    t = sim_task_submit(sim, &p);
    if (!t) {
        add_task_error(call, "internalServerError", NULL, "The task could not be queued.",
                       "imageInference", p.uuid);
        return;
    }
    sim->st.tasks_accepted++;
    if (sync) {
        call->waiting++;
        if (sim_task_wait(sim, t, on_sync_done, call) != 0) {
            call->waiting--;
            add_task_error(call, "internalServerError", NULL, "The task could not be queued.",
                           "imageInference", p.uuid);
        }
        return;
    }
    ack = json_object_new_object();
    if (!ack || put(ack, "taskType", json_object_new_string("imageInference")) != 0 ||
        put(ack, "taskUUID", json_object_new_string(p.uuid)) != 0 ||
        json_object_array_add(call->data, ack) != 0) {
        json_object_put(ack);
        sim_log(sim, 0, "task %s: out of memory building the acknowledgement", p.uuid);
        return;
    }
    call->ok++;
}

static void do_get_response(struct api_call *call, json_object *task)
{
    struct sim *sim = call->sim;
    const char *uuid = get_str(task, "taskUUID");
    struct sim_task *t;

    if (!uuid || !rw_uuid_valid(uuid)) {
        add_task_error(call, "invalidTaskUUID", "taskUUID",
                       "Invalid value for taskUUID. It must be a UUID string.", "getResponse",
                       uuid);
        return;
    }
    t = sim_task_find(sim, uuid);
    if (!t) {
        add_task_error(call, "taskNotFound", "taskUUID",
                       "No task with this taskUUID was found (unknown or expired).", "getResponse",
                       uuid);
        return;
    }
    if (sim_task_results(sim, t, true, call->data, call->errors) != 0)
        sim_log(sim, 0, "task %s: out of memory building getResponse", uuid);
    call->ok++;
}

static bool key_matches(const struct sim *sim, const char *key)
{
    return key && strcmp(key, sim->opt.api_key) == 0;
}

/* Returns true when the Authorization header or a leading authentication task carries the
 * key; *skip_first is set when the first element is an authentication task. */
static bool authorized(const struct sim *sim, struct evhttp_request *req, json_object *body,
                       bool *skip_first)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    bool ok = false;
    json_object *first;
    const char *tt;

    *skip_first = false;
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        h += 7;
        while (*h == ' ')
            h++;
        ok = key_matches(sim, h);
    }
    if (body && json_object_is_type(body, json_type_array) && json_object_array_length(body) > 0) {
        first = json_object_array_get_idx(body, 0);
        tt = json_object_is_type(first, json_type_object) ? get_str(first, "taskType") : NULL;
        if (tt && strcmp(tt, "authentication") == 0) {
            *skip_first = true;
            ok = ok || key_matches(sim, get_str(first, "apiKey"));
        }
    }
    return ok;
}

static void reply_error(struct sim *sim, struct evhttp_request *req, int status, const char *code,
                        const char *msg)
{
    json_object *body = sim_error_body(code, msg);

    sim_reply_json(sim, req, status, body, true);
    json_object_put(body);
}

void sim_api_handle(struct sim *sim, struct evhttp_request *req)
{
    json_object *body = sim_parse_body(req);
    struct api_call *call = NULL;
    bool skip_first;
    size_t n, first;

    if (!authorized(sim, req, body, &skip_first)) {
        reply_error(sim, req, 401, "invalidApiKey",
                    "Invalid API key. Provide it as Authorization: Bearer <key> or in an "
                    "authentication task.");
        goto done;
    }
    if (sim_chance(sim, sim->opt.rates.reset_before)) {
        drop_connection(sim, req);
        goto done;
    }
    if (sim_chance(sim, sim->opt.rates.fail_402)) {
        reply_error(sim, req, 402, "insufficientCredits",
                    "Insufficient credits. Top up your account balance to continue.");
        goto done;
    }
    if (sim_chance(sim, sim->opt.rates.fail_500)) {
        reply_error(sim, req, 500, "internalServerError",
                    "An internal error occurred. Please retry the request.");
        goto done;
    }
    if (sim_chance(sim, sim->opt.rates.fail_429)) {
        reply_error(sim, req, 429, "queueCapacityExceeded",
                    "Queue capacity exceeded. Please retry later.");
        goto done;
    }
    if (sim_chance(sim, sim->opt.rates.fail_503)) {
        reply_error(sim, req, 503, "serviceUnavailable",
                    "Temporarily unavailable because of capacity constraints. Please retry.");
        goto done;
    }
    if (sim_chance(sim, sim->opt.rates.fail_504)) {
        reply_error(sim, req, 504, "timeoutQueue",
                    "The task exceeded the maximum queue wait. Please retry.");
        goto done;
    }
    if (!body || !json_object_is_type(body, json_type_array))
        goto bad_body;
    n = json_object_array_length(body);
    first = skip_first ? 1 : 0;
    if (n <= first)
        goto bad_body;
    for (size_t i = first; i < n; i++)
        if (!json_object_is_type(json_object_array_get_idx(body, i), json_type_object))
            goto bad_body;

    call = calloc(1, sizeof(*call));
    if (!call)
        goto oom;
    call->sim = sim;
    call->req = req;
    call->resp = json_object_new_object();
    call->data = json_object_new_array();
    call->errors = json_object_new_array();
    if (!call->resp || !call->data || !call->errors) {
        json_object_put(call->data);
        json_object_put(call->errors);
        goto oom;
    }
    json_object_object_add(call->resp, "data", call->data);
    json_object_object_add(call->resp, "errors", call->errors);
    call->reset = sim_chance(sim, sim->opt.rates.reset_after);
    call->waiting = 1; /* held while the tasks are read, so no sync task finishes the call */
    call->next = sim->api->pending;
    if (call->next)
        call->next->prev = call;
    sim->api->pending = call;

    for (size_t i = first; i < n; i++) {
        json_object *task = json_object_array_get_idx(body, i);
        const char *tt = get_str(task, "taskType");

        if (tt && strcmp(tt, "imageInference") == 0) {
            do_inference(call, task);
        } else if (tt && strcmp(tt, "getResponse") == 0) {
            do_get_response(call, task);
        } else {
            add_task_error(call, "unsupportedTaskType", "taskType",
                           "Unsupported taskType. This endpoint accepts imageInference and "
                           "getResponse.",
                           tt, get_str(task, "taskUUID"));
        }
    }
    if (--call->waiting == 0)
        call_done(call);
    call = NULL;
    goto done;

bad_body:
    reply_error(sim, req, 400, "invalidRequestBody",
                "The request body must be a non-empty JSON array of task objects.");
    goto done;
oom:
    reply_error(sim, req, 500, "internalServerError", "Out of memory.");
done:
    call_free(call);
    json_object_put(body);
}
