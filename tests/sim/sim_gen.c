/* runware-sim: tasks and their images: scheduling, failures, callbacks to hand to sim_hook, the
 * getResponse store keyed by taskUUID, retention and expiry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>

#include "rw_uuid.h"
#include "sim.h"

struct sim_image {
    char uuid[SIM_UUIDSZ];
    int64_t seed;
    bool ready;
};

/* One thing that happens to a task at a time after acceptance. */
struct gen_step {
    int64_t due_ms; /* after acceptance */
    int image;      /* image index, or -1 for the generation failure */
};

struct sim_delivery {
    char image_uuid[SIM_UUIDSZ]; /* empty for an error callback */
    const char *kind;            /* "image", "error" or "duplicate" */
    int attempts;
    int status; /* last HTTP status, 0 for none or a connection failure */
    bool dropped;
};

struct sim_waiter {
    sim_task_done_fn fn;
    void *arg;
    struct sim_waiter *next;
};

struct sim_task {
    struct sim *sim;
    char uuid[SIM_UUIDSZ];
    struct sim_task *hnext; /* hash chain */
    int refs;               /* the store's until expiry, plus one per delivery in flight */
    bool stored;            /* findable by getResponse */
    struct sim_task_params p;
    char *webhook; /* owned copy of p.webhook_url */
    int submissions;
    struct sim_image *img; /* p.number_results entries */
    struct gen_step *steps;
    int nsteps, next_step;
    struct timespec started;
    struct event *ev; /* next step, then the retention timer */
    int ready;
    bool finished;
    bool failed;
    const char *fail_code;
    struct sim_delivery *dl;
    size_t ndl, capdl;
    struct sim_waiter *waiters;
};

struct sim_store {
    struct sim_task **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
};

static uint64_t hash_uuid(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

int sim_store_init(struct sim *sim)
{
    struct sim_store *st = calloc(1, sizeof(*st));

    if (!st)
        return -1;
    st->nbuckets = 1024;
    st->buckets = calloc(st->nbuckets, sizeof(*st->buckets));
    if (!st->buckets) {
        free(st);
        return -1;
    }
    sim->store = st;
    return 0;
}

static void task_free(struct sim_task *t)
{
    struct sim_waiter *w, *wn;

    if (!t)
        return;
    if (t->ev)
        event_free(t->ev);
    for (w = t->waiters; w; w = wn) {
        wn = w->next;
        free(w);
    }
    free(t->webhook);
    free(t->img);
    free(t->steps);
    free(t->dl);
    free(t);
}

void sim_store_free(struct sim *sim)
{
    struct sim_store *st = sim->store;

    if (!st)
        return;
    for (size_t i = 0; i < st->nbuckets; i++) {
        struct sim_task *t = st->buckets[i], *next;

        for (; t; t = next) {
            next = t->hnext;
            task_free(t);
        }
    }
    free(st->buckets);
    free(st);
    sim->store = NULL;
}

struct sim_task *sim_task_find(struct sim *sim, const char *uuid)
{
    struct sim_store *st = sim->store;
    struct sim_task *t = st->buckets[hash_uuid(uuid) & (st->nbuckets - 1)];

    for (; t; t = t->hnext)
        if (strcmp(t->uuid, uuid) == 0)
            return t;
    return NULL;
}

/* Doubles the table when it gets crowded; on allocation failure it just stays crowded. */
static void store_grow(struct sim_store *st)
{
    size_t nb = st->nbuckets * 2;
    struct sim_task **b;

    if (st->count < st->nbuckets)
        return;
    b = calloc(nb, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < st->nbuckets; i++) {
        struct sim_task *t = st->buckets[i], *next;

        for (; t; t = next) {
            size_t h = hash_uuid(t->uuid) & (nb - 1);

            next = t->hnext;
            t->hnext = b[h];
            b[h] = t;
        }
    }
    free(st->buckets);
    st->buckets = b;
    st->nbuckets = nb;
}

static void store_insert(struct sim *sim, struct sim_task *t)
{
    struct sim_store *st = sim->store;
    size_t h;

    store_grow(st);
    h = hash_uuid(t->uuid) & (st->nbuckets - 1);
    t->hnext = st->buckets[h];
    st->buckets[h] = t;
    st->count++;
    t->stored = true;
}

static void store_remove(struct sim *sim, struct sim_task *t)
{
    struct sim_store *st = sim->store;
    struct sim_task **pp = &st->buckets[hash_uuid(t->uuid) & (st->nbuckets - 1)];

    for (; *pp; pp = &(*pp)->hnext) {
        if (*pp == t) {
            *pp = t->hnext;
            t->hnext = NULL;
            st->count--;
            t->stored = false;
            return;
        }
    }
}

void sim_task_ref(struct sim_task *t)
{
    t->refs++;
}

void sim_task_unref(struct sim_task *t)
{
    if (--t->refs == 0 && !t->stored)
        task_free(t);
}

const char *sim_task_uuid(const struct sim_task *t)
{
    return t->uuid;
}

bool sim_task_finished(const struct sim_task *t)
{
    return t->finished;
}

bool sim_task_failed(const struct sim_task *t)
{
    return t->failed;
}

size_t sim_task_delivery_add(struct sim_task *t, const char *image_uuid, const char *kind,
                             bool dropped)
{
    struct sim_delivery *d;

    if (t->ndl == t->capdl) {
        size_t cap = t->capdl ? t->capdl * 2 : 4;

        d = realloc(t->dl, cap * sizeof(*d));
        if (!d)
            return SIZE_MAX;
        t->dl = d;
        t->capdl = cap;
    }
    d = &t->dl[t->ndl];
    memset(d, 0, sizeof(*d));
    snprintf(d->image_uuid, sizeof(d->image_uuid), "%s", image_uuid ? image_uuid : "");
    d->kind = kind;
    d->dropped = dropped;
    return t->ndl++;
}

void sim_task_delivery_update(struct sim_task *t, size_t rec, int attempts, int status)
{
    if (rec >= t->ndl)
        return;
    t->dl[rec].attempts = attempts;
    if (status >= 0)
        t->dl[rec].status = status;
}

static int64_t elapsed_ms(const struct sim_task *t)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - t->started.tv_sec) * 1000 +
           (now.tv_nsec - t->started.tv_nsec) / 1000000;
}

static int put(json_object *obj, const char *key, json_object *value)
{
    if (!value || json_object_object_add(obj, key, value) != 0) {
        json_object_put(value);
        return -1;
    }
    return 0;
}

/* USD, scaled from 0.0019 for a 1024x1024 image at 28 steps. */
static json_object *cost_json(const struct sim_task *t)
{
    char text[32];
    double cost = 0.0019 * ((double)t->p.width * t->p.height / (1024.0 * 1024.0)) *
                  ((double)t->p.steps / 28.0);

    if (cost < 0.0000001)
        cost = 0.0000001;
    snprintf(text, sizeof(text), "%.7f", cost);
    for (size_t n = strlen(text); n > 0 && text[n - 1] == '0'; n--)
        text[n - 1] = '\0';
    return json_object_new_double_s(strtod(text, NULL), text);
}

/* The result item for image i (new reference, NULL if out of memory). */
static json_object *item_new(const struct sim_task *t, int i, bool with_status)
{
    const struct sim_image *im = &t->img[i];
    json_object *o = json_object_new_object();
    char url[128];
    char *uri = NULL;
    const char *b64;

    if (!o || put(o, "taskType", json_object_new_string("imageInference")) != 0 ||
        put(o, "taskUUID", json_object_new_string(t->uuid)) != 0 ||
        put(o, "imageUUID", json_object_new_string(im->uuid)) != 0 ||
        put(o, "seed", json_object_new_int64(im->seed)) != 0)
        goto fail;
    switch (t->p.out) {
    case SIM_OUT_URL:
        snprintf(url, sizeof(url), "https://im.runware.ai/image/ws/2/ii/%s.%s", im->uuid,
                 sim_img_ext(t->p.fmt));
        if (put(o, "imageURL", json_object_new_string(url)) != 0)
            goto fail;
        break;
    case SIM_OUT_BASE64:
        if (put(o, "imageBase64Data", json_object_new_string(sim_img_base64(t->p.fmt))) != 0)
            goto fail;
        break;
    case SIM_OUT_DATAURI:
        b64 = sim_img_base64(t->p.fmt);
        if (asprintf(&uri, "data:%s;base64,%s", sim_img_mime(t->p.fmt), b64) < 0) {
            uri = NULL;
            goto fail;
        }
        if (put(o, "imageDataURI", json_object_new_string(uri)) != 0)
            goto fail;
        break;
    }
    if (t->p.include_cost && put(o, "cost", cost_json(t)) != 0)
        goto fail;
    if (t->p.check_content && put(o, "NSFWContent", json_object_new_boolean(0)) != 0)
        goto fail;
    if (with_status && put(o, "status", json_object_new_string("success")) != 0)
        goto fail;
    free(uri);
    return o;
fail:
    free(uri);
    json_object_put(o);
    return NULL;
}

static json_object *fail_error_new(const struct sim_task *t)
{
    json_object *e = json_object_new_object();
    const char *msg = strcmp(t->fail_code, "timeoutProvider") == 0
                          ? "The inference provider did not answer in time."
                          : "Image inference failed.";

    if (!e || put(e, "code", json_object_new_string(t->fail_code)) != 0 ||
        put(e, "message", json_object_new_string(msg)) != 0 ||
        put(e, "taskType", json_object_new_string("imageInference")) != 0 ||
        put(e, "taskUUID", json_object_new_string(t->uuid)) != 0) {
        json_object_put(e);
        return NULL;
    }
    return e;
}

static json_object *processing_new(const struct sim_task *t)
{
    json_object *o = json_object_new_object();

    if (!o || put(o, "taskType", json_object_new_string("imageInference")) != 0 ||
        put(o, "taskUUID", json_object_new_string(t->uuid)) != 0 ||
        put(o, "status", json_object_new_string("processing")) != 0) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

int sim_task_results(struct sim *sim, const struct sim_task *t, bool with_status, json_object *data,
                     json_object *errors)
{
    json_object *o;

    for (int i = 0; i < t->p.number_results; i++) {
        if (t->img[i].ready)
            o = item_new(t, i, with_status);
        else if (with_status && !t->finished)
            o = processing_new(t);
        else
            continue;
        if (!o || json_object_array_add(data, o) != 0) {
            json_object_put(o);
            return -1;
        }
    }
    if (t->failed) {
        o = fail_error_new(t);
        if (!o || json_object_array_add(errors, o) != 0) {
            json_object_put(o);
            return -1;
        }
    }
    return 0;
}

json_object *sim_task_describe(const struct sim_task *t)
{
    json_object *o = json_object_new_object(), *arr = json_object_new_array();

    if (!o || !arr)
        goto fail;
    for (size_t i = 0; i < t->ndl; i++) {
        const struct sim_delivery *d = &t->dl[i];
        json_object *e = json_object_new_object();

        if (!e || json_object_array_add(arr, e) != 0) {
            json_object_put(e);
            goto fail;
        }
        if (!d->image_uuid[0])
            json_object_object_add(e, "imageUUID", NULL); /* JSON null: an error callback */
        else if (put(e, "imageUUID", json_object_new_string(d->image_uuid)) != 0)
            goto fail;
        if (put(e, "kind", json_object_new_string(d->kind)) != 0 ||
            put(e, "attempts", json_object_new_int(d->attempts)) != 0 ||
            put(e, "status", json_object_new_int(d->status)) != 0 ||
            put(e, "dropped", json_object_new_boolean(d->dropped)) != 0)
            goto fail;
    }
    if (put(o, "taskUUID", json_object_new_string(t->uuid)) != 0 ||
        put(o, "submissions", json_object_new_int(t->submissions)) != 0 ||
        put(o, "numberResults", json_object_new_int(t->p.number_results)) != 0 ||
        put(o, "images", json_object_new_int(t->ready)) != 0)
        goto fail;
    if (json_object_object_add(o, "deliveries", arr) != 0)
        goto fail;
    arr = NULL;
    if (put(o, "finished", json_object_new_boolean(t->finished)) != 0 ||
        put(o, "failed", json_object_new_boolean(t->failed)) != 0)
        goto fail;
    return o;
fail:
    json_object_put(arr);
    json_object_put(o);
    return NULL;
}

/* Hands one callback body to sim_hook, or drops it, as triggers and rates decide. */
static void callback(struct sim_task *t, const char *image_uuid, const char *kind,
                     json_object *body)
{
    struct sim *sim = t->sim;
    bool drop = (t->p.triggers & SIM_TRIG_DROP) || sim_chance(sim, sim->opt.rates.drop_callback);
    bool dup = (t->p.triggers & SIM_TRIG_DUP) || sim_chance(sim, sim->opt.rates.dup_callback);
    const char *text;
    size_t rec;

    if (drop) {
        sim->st.callbacks_dropped++;
        sim_task_delivery_add(t, image_uuid, kind, true);
        sim_log(sim, 2, "task %s: %s callback dropped", t->uuid, kind);
        return;
    }
    text = json_object_to_json_string_ext(body,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!text) {
        sim_log(sim, 0, "task %s: out of memory serializing a callback", t->uuid);
        return;
    }
    rec = sim_task_delivery_add(t, image_uuid, kind, false);
    sim_hook_send(sim, t, rec, image_uuid, t->webhook, text, dup);
}

static void image_ready(struct sim_task *t, int i)
{
    struct sim *sim = t->sim;
    json_object *item = NULL, *body = NULL, *arr = NULL;
    bool bare;

    t->img[i].ready = true;
    t->ready++;
    sim->st.images_generated++;
    if (!t->webhook)
        return;
    item = item_new(t, i, false);
    if (!item)
        goto oom;
    bare = (t->p.triggers & SIM_TRIG_BARE) || sim_chance(sim, sim->opt.rates.bare_item);
    if (bare) {
        callback(t, t->img[i].uuid, "image", item);
        goto done;
    }
    body = json_object_new_object();
    arr = json_object_new_array();
    if (!body || !arr || json_object_array_add(arr, item) != 0)
        goto oom;
    item = NULL;
    if (json_object_object_add(body, "data", arr) != 0)
        goto oom;
    arr = NULL;
    callback(t, t->img[i].uuid, "image", body);
    goto done;
oom:
    sim_log(sim, 0, "task %s: out of memory building a callback", t->uuid);
done:
    json_object_put(item);
    json_object_put(arr);
    json_object_put(body);
}

static void generation_failed(struct sim_task *t)
{
    struct sim *sim = t->sim;
    json_object *err = NULL, *body = NULL, *arr = NULL;

    t->failed = true;
    sim->st.gen_failures++;
    sim_log(sim, 2, "task %s: generation failed (%s) after %d images", t->uuid, t->fail_code,
            t->ready);
    if (!t->webhook)
        return;
    err = fail_error_new(t);
    body = json_object_new_object();
    arr = json_object_new_array();
    if (!err || !body || !arr || json_object_array_add(arr, err) != 0)
        goto oom;
    err = NULL;
    if (json_object_object_add(body, "errors", arr) != 0)
        goto oom;
    arr = NULL;
    callback(t, NULL, "error", body);
    goto done;
oom:
    sim_log(sim, 0, "task %s: out of memory building an error callback", t->uuid);
done:
    json_object_put(err);
    json_object_put(arr);
    json_object_put(body);
}

static void arm(struct sim_task *t, int64_t ms)
{
    struct timeval tv;

    if (ms < 0)
        ms = 0;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    if (event_add(t->ev, &tv) != 0)
        sim_log(t->sim, 0, "task %s: cannot arm its timer", t->uuid);
}

static void finish(struct sim_task *t)
{
    struct sim *sim = t->sim;
    struct sim_waiter *w = t->waiters, *next;

    t->finished = true;
    sim->st.inflight_tasks--;
    t->waiters = NULL;
    for (; w; w = next) {
        next = w->next;
        w->fn(sim, w->arg, t);
        free(w);
    }
    arm(t, (int64_t)sim->opt.retain_s * 1000);
}

static void on_task_timer(evutil_socket_t fd, short what, void *arg)
{
    struct sim_task *t = arg;
    int64_t now;

    if (t->finished) {
        sim_log(t->sim, 2, "task %s: expired", t->uuid);
        store_remove(t->sim, t);
        sim_task_unref(t);
        return;
    }
    now = elapsed_ms(t);
    while (t->next_step < t->nsteps && t->steps[t->next_step].due_ms <= now) {
        int image = t->steps[t->next_step++].image;

        if (image >= 0)
            image_ready(t, image);
        else
            generation_failed(t);
    }
    if (t->next_step < t->nsteps)
        arm(t, t->steps[t->next_step].due_ms - now);
    else
        finish(t);
}

static int step_cmp(const void *a, const void *b)
{
    const struct gen_step *x = a, *y = b;

    if (x->due_ms != y->due_ms)
        return x->due_ms < y->due_ms ? -1 : 1;
    /* the failure (-1) comes after the images due at the same time */
    if (x->image < 0 || y->image < 0)
        return x->image < 0 ? 1 : -1;
    return x->image - y->image;
}

/* Seeds of a multi-image task count up from the task's seed, wrapping within 0..INT64_MAX. */
static int64_t image_seed(const struct sim_task_params *p, struct sim *sim, int i)
{
    if (!p->has_seed)
        return (int64_t)(sim_rand(sim) & 0xffffffffu);
    return (int64_t)(((uint64_t)p->seed + (uint64_t)i) & (uint64_t)INT64_MAX);
}

/* Image due times and the failure point, sorted into t->steps. */
static int plan(struct sim *sim, struct sim_task *t)
{
    int n = t->p.number_results;
    int upto = n;
    int64_t jitter = sim->opt.jitter_ms, last = 0;

    t->steps = calloc((size_t)n + 1, sizeof(*t->steps));
    if (!t->steps)
        return -1;
    if (t->p.triggers & SIM_TRIG_GENFAIL) {
        upto = (int)sim_rand_below(sim, (uint64_t)n);
        t->fail_code = sim_rand_below(sim, 2) ? "timeoutProvider" : "inferenceFailed";
    }
    for (int i = 0; i < upto; i++) {
        int64_t due = sim->opt.delay_ms + (int64_t)sim_rand_below(sim, (uint64_t)jitter + 1);

        t->steps[t->nsteps].due_ms = due;
        t->steps[t->nsteps++].image = i;
        if (due > last)
            last = due;
    }
    if (upto < n) {
        int64_t due = sim->opt.delay_ms + (int64_t)sim_rand_below(sim, (uint64_t)jitter + 1);

        t->steps[t->nsteps].due_ms = (due > last ? due : last) + 1;
        t->steps[t->nsteps++].image = -1;
    }
    qsort(t->steps, (size_t)t->nsteps, sizeof(*t->steps), step_cmp);
    return 0;
}

struct sim_task *sim_task_submit(struct sim *sim, const struct sim_task_params *p)
{
    struct sim_task *t = sim_task_find(sim, p->uuid);

    if (t) {
        /* A known taskUUID is acknowledged again but not generated twice. */
        if (++t->submissions == 2)
            sim->st.tasks_resubmitted++;
        sim->st.resubmissions++;
        sim_log(sim, 1, "task %s: submitted again (%d submissions); not regenerated", t->uuid,
                t->submissions);
        return t;
    }
    t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->sim = sim;
    t->p = *p;
    snprintf(t->uuid, sizeof(t->uuid), "%s", p->uuid);
    t->p.uuid = t->uuid;
    if (p->webhook_url) {
        t->webhook = strdup(p->webhook_url);
        if (!t->webhook)
            goto fail;
    }
    t->p.webhook_url = t->webhook;
    t->submissions = 1;
    t->img = calloc((size_t)p->number_results, sizeof(*t->img));
    t->ev = evtimer_new(sim->base, on_task_timer, t);
    if (!t->img || !t->ev)
        goto fail;
    for (int i = 0; i < p->number_results; i++) {
        if (rw_uuid_v4(t->img[i].uuid) != 0)
            goto fail;
        t->img[i].seed = image_seed(p, sim, i);
    }
    if (plan(sim, t) != 0)
        goto fail;
    clock_gettime(CLOCK_MONOTONIC, &t->started);
    t->refs = 1;
    store_insert(sim, t);
    sim->st.inflight_tasks++;
    arm(t, t->nsteps ? t->steps[0].due_ms : 0);
    return t;
fail:
    task_free(t);
    return NULL;
}

int sim_task_wait(struct sim *sim, struct sim_task *t, sim_task_done_fn fn, void *arg)
{
    struct sim_waiter *w;

    if (t->finished) {
        fn(sim, arg, t);
        return 0;
    }
    w = calloc(1, sizeof(*w));
    if (!w)
        return -1;
    w->fn = fn;
    w->arg = arg;
    w->next = t->waiters;
    t->waiters = w;
    return 0;
}
