/* runware-sim internals shared by its files: options, counters, PRNG, logging, module entry
 * points. Nothing here is part of runwared. */
#ifndef SIM_H
#define SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct event_base;
struct evdns_base;
struct evhttp;
struct evhttp_request;

#define SIM_MODEL  "runware:111@1"
#define SIM_UUIDSZ 37 /* 36 characters and the NUL */

/* Fault rates, changeable at run time through POST /_sim/faults. */
struct sim_rates {
    double fail_500;
    double fail_429;
    double fail_503;
    double fail_504;
    double fail_402;     /* insufficient balance */
    double reset_before; /* connection closed, request not processed */
    double reset_after;  /* request processed (tasks accepted), connection closed unanswered */
    double drop_callback;
    double dup_callback;
    double bare_item;
    double gen_fail;
    double reorder_acks; /* an answer's data entries in reverse order */
};

struct sim_opts {
    char listen_host[256];
    int listen_port;
    char api_key[256];
    long delay_ms;
    long answer_delay_ms; /* before answering a POST, as a loaded API takes its time */
    long jitter_ms;
    uint64_t seed;
    bool seed_given;
    struct sim_rates rates;
    long callback_attempts;
    long callback_conns; /* kept-alive connections per receiver */
    long retain_s;
    long max_body;
    int verbosity; /* 0 quiet, 1 normal, 2 verbose */
};

struct sim_stats {
    uint64_t requests; /* requests outside /_sim/ */
    uint64_t by_status[600];
    uint64_t tasks_accepted;
    uint64_t resubmissions;     /* submissions of a taskUUID already accepted */
    uint64_t tasks_resubmitted; /* distinct tasks submitted (and accepted) more than once */
    uint64_t connections_reset; /* reset_before and reset_after faults */
    uint64_t task_errors;
    uint64_t images_generated;
    uint64_t callbacks_delivered;
    uint64_t callback_attempts;
    uint64_t callback_failed_attempts;
    uint64_t callbacks_dropped;
    uint64_t callbacks_duplicated;
    uint64_t callbacks_abandoned;
    uint64_t gen_failures;
    uint64_t inflight_tasks;
};

struct sim_store; /* sim_gen.c */
struct sim_hooks; /* sim_hook.c */
struct sim_api;   /* sim_api.c */

struct sim {
    struct event_base *base;
    struct evdns_base *dns;
    struct evhttp *http;
    struct sim_opts opt;
    struct sim_stats st;
    uint64_t rng[4];
    struct sim_store *store;
    struct sim_hooks *hooks;
    struct sim_api *api;
    bool stopping; /* after SIGTERM/SIGINT: the store is gone, requests get 503 */
};

/* sim.c: logging (stderr), PRNG, replies, run-time fault table. Log levels: 0 errors (always),
 * 1 normal, 2 verbose. */
void sim_log(const struct sim *sim, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
uint64_t sim_rand(struct sim *sim);
double sim_rand_unit(struct sim *sim);                /* [0, 1) */
uint64_t sim_rand_below(struct sim *sim, uint64_t n); /* [0, n), n > 0 */
bool sim_chance(struct sim *sim, double rate);
/* Sends obj (borrowed) as the JSON body of req with the given status; api requests are counted
 * in requests_by_status and logged in verbose mode. */
void sim_reply_json(struct sim *sim, struct evhttp_request *req, int status, json_object *obj,
                    bool api);
/* The request body as JSON (new reference), or NULL when it is not one complete JSON text. */
json_object *sim_parse_body(struct evhttp_request *req);
/* Builds {"errors":[{"code":..,"message":..}]} (new reference, NULL if out of memory). */
json_object *sim_error_body(const char *code, const char *message);
/* Sets one rate by its option name with '_' ("fail_500"); -1 unknown name, -2 out of range. */
int sim_rate_set(struct sim *sim, const char *name, double value);
/* Current rates as a new JSON object, NULL if out of memory. */
json_object *sim_rates_json(const struct sim *sim);

/* sim_api.c: POST /v1 and POST / (the Runware API). */
int sim_api_init(struct sim *sim);
void sim_api_handle(struct sim *sim, struct evhttp_request *req);
/* Answers every sync request still waiting with 503 and frees the module. */
void sim_api_shutdown(struct sim *sim);

/* sim_admin.c: /_sim/ introspection. */
void sim_admin_handle(struct sim *sim, struct evhttp_request *req, const char *path);

/* sim_gen.c: tasks, image generation, getResponse store, retention. */
enum sim_out { SIM_OUT_URL, SIM_OUT_BASE64, SIM_OUT_DATAURI };
enum sim_fmt { SIM_FMT_JPG, SIM_FMT_PNG, SIM_FMT_WEBP };

#define SIM_TRIG_GENFAIL 0x1u
#define SIM_TRIG_DROP    0x2u
#define SIM_TRIG_DUP     0x4u
#define SIM_TRIG_BARE    0x8u

/* A validated imageInference task; strings are borrowed for the duration of the call. */
struct sim_task_params {
    const char *uuid;
    int number_results;
    bool has_seed;
    int64_t seed;
    enum sim_out out;
    enum sim_fmt fmt;
    int width, height, steps;
    bool include_cost;
    bool check_content;
    const char *webhook_url; /* NULL when absent */
    unsigned triggers;
};

struct sim_task;

/* Called once when a task has finished (all images ready, or failed). The task is valid for the
 * duration of the call only. */
typedef void (*sim_task_done_fn)(struct sim *sim, void *arg, struct sim_task *task);

int sim_store_init(struct sim *sim);
void sim_store_free(struct sim *sim);
struct sim_task *sim_task_find(struct sim *sim, const char *uuid);
/* Starts a task, or counts one more submission of a known one. Returns the task or NULL when
 * out of memory. */
struct sim_task *sim_task_submit(struct sim *sim, const struct sim_task_params *p);
bool sim_task_finished(const struct sim_task *task);
/* Registers fn to run when the task finishes; runs it at once if it already has. */
int sim_task_wait(struct sim *sim, struct sim_task *task, sim_task_done_fn fn, void *arg);
/* Appends the task's images to data and its failure to errors, as getResponse shows them
 * (with_status) or as a sync response does. Returns -1 if out of memory. */
int sim_task_results(struct sim *sim, const struct sim_task *task, bool with_status,
                     json_object *data, json_object *errors);
bool sim_task_failed(const struct sim_task *task);
/* /_sim/task/<uuid> description, new reference. */
json_object *sim_task_describe(const struct sim_task *task);
/* Delivery bookkeeping used by sim_hook.c; the reference keeps a task alive past retention. */
void sim_task_ref(struct sim_task *task);
void sim_task_unref(struct sim_task *task);
/* Records attempts and the last HTTP status (0: connection failure; negative: unchanged). */
void sim_task_delivery_update(struct sim_task *task, size_t rec, int attempts, int status);
size_t sim_task_delivery_add(struct sim_task *task, const char *image_uuid, const char *kind,
                             bool dropped);
const char *sim_task_uuid(const struct sim_task *task);

/* sim_hook.c: webhook delivery with retries, one connection per host:port. */
int sim_hooks_init(struct sim *sim);
void sim_hooks_free(struct sim *sim);
/* Delivers body (copied) to url for the task's delivery record rec; dup schedules a second
 * delivery after the first success. Failures are counted and logged, never returned. */
void sim_hook_send(struct sim *sim, struct sim_task *task, size_t rec, const char *image_uuid,
                   const char *url, const char *body, bool dup);

/* sim_img.c: small real images, base64. */
const char *sim_img_base64(enum sim_fmt fmt);
const char *sim_img_mime(enum sim_fmt fmt);
const char *sim_img_ext(enum sim_fmt fmt);

#endif
