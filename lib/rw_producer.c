/* The producer API (rw_producer.h): a blocking Redis client for programs that push jobs and wait
 * for their records. Unlike the rest of lib/ it does I/O; it is its own library (rwproducer). */
#include "rw_producer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>

#include "rw_config.h"
#include "rw_keys.h"

#define KEYLEN 600

struct rw_producer {
    redisContext *c;
    struct timeval timeout; /* of ordinary commands */
    char prefix[128];
    char jobs[KEYLEN], dead[KEYLEN], pending[KEYLEN], instances[KEYLEN];
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A command's reply, or NULL with the connection's error in err. */
static redisReply *command(struct rw_producer *p, char *err, size_t errlen, int argc,
                           const char **argv, const size_t *lens)
{
    redisReply *r = redisCommandArgv(p->c, argc, argv, lens);

    if (!r) {
        fail(err, errlen, "Redis: %s", p->c->errstr[0] ? p->c->errstr : "connection lost");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        fail(err, errlen, "Redis: %s: %s", argv[0], r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

struct rw_producer *rw_producer_connect(const char *redis_url, const char *prefix, int timeout_ms,
                                        char *err, size_t errlen)
{
    struct rw_producer *p = NULL;
    struct rw_redis_addr a;
    char why[256], db[16];
    redisReply *r;

    if (rw_redis_url_parse(redis_url, &a, why, sizeof(why)) < 0) {
        fail(err, errlen, "redis_url: %s", why);
        return NULL;
    }
    if (!prefix || !*prefix || strlen(prefix) >= sizeof(p->prefix)) {
        fail(err, errlen, "key prefix: must be 1..%zu bytes", sizeof(p->prefix) - 1);
        goto fail;
    }
    if (!(p = calloc(1, sizeof(*p)))) {
        fail(err, errlen, "out of memory");
        goto fail;
    }
    p->timeout.tv_sec = timeout_ms / 1000;
    p->timeout.tv_usec = (timeout_ms % 1000) * 1000;
    snprintf(p->prefix, sizeof(p->prefix), "%s", prefix);
    if (rw_key(p->jobs, KEYLEN, prefix, RW_KEY_JOBS, NULL) < 0 ||
        rw_key(p->dead, KEYLEN, prefix, RW_KEY_DEAD, NULL) < 0 ||
        rw_key(p->pending, KEYLEN, prefix, RW_KEY_PENDING, NULL) < 0 ||
        rw_key(p->instances, KEYLEN, prefix, RW_KEY_INSTANCES, NULL) < 0) {
        fail(err, errlen, "key prefix too long");
        goto fail;
    }
    p->c = a.path ? redisConnectUnixWithTimeout(a.path, p->timeout)
                  : redisConnectWithTimeout(a.host, a.port, p->timeout);
    if (!p->c || p->c->err) {
        fail(err, errlen, "cannot connect to Redis at %s%s%d: %s", a.path ? a.path : a.host,
             a.path ? "" : ":", a.path ? 0 : a.port, p->c ? p->c->errstr : "out of memory");
        goto fail;
    }
    if (redisSetTimeout(p->c, p->timeout) != REDIS_OK) {
        fail(err, errlen, "Redis: cannot set the timeout");
        goto fail;
    }
    if (a.password) {
        const char *argv[] = {"AUTH", a.password};

        if (!(r = command(p, why, sizeof(why), 2, argv, NULL))) {
            fail(err, errlen, "Redis refused the password of redis_url");
            goto fail;
        }
        freeReplyObject(r);
    }
    if (a.db) {
        const char *argv[] = {"SELECT", db};

        snprintf(db, sizeof(db), "%d", a.db);
        if (!(r = command(p, err, errlen, 2, argv, NULL)))
            goto fail;
        freeReplyObject(r);
    }
    rw_redis_addr_free(&a);
    return p;
fail:
    rw_redis_addr_free(&a);
    rw_producer_close(p);
    return NULL;
}

void rw_producer_close(struct rw_producer *p)
{
    if (!p)
        return;
    if (p->c)
        redisFree(p->c);
    free(p);
}

int rw_producer_reply_list(const char *prefix, const char *uuid, char *buf, size_t buflen)
{
    int n = snprintf(buf, buflen, "%s:reply:%s", prefix, uuid);

    return n < 0 || (size_t)n >= buflen ? -1 : 0;
}

int rw_producer_build(const char *job, size_t len, const char *result_list,
                      char uuid[RW_UUID_LEN + 1], char **out, size_t *outlen, char *err,
                      size_t errlen)
{
    struct json_tokener *tok = json_tokener_new();
    json_object *root = NULL, *task, *v, *env = NULL;
    const char *text;
    int rc = -1;

    *out = NULL;
    if (!tok)
        return fail(err, errlen, "out of memory"), -2;
    root = json_tokener_parse_ex(tok, job, (int)len);
    if (!root || json_tokener_get_error(tok) != json_tokener_success ||
        tok->char_offset < (int)len) {
        size_t off = tok->char_offset;

        /* trailing whitespace after the value is fine */
        while (root && off < len && strchr(" \t\r\n", job[off]))
            off++;
        if (!root || off < len) {
            fail(err, errlen, "the job is not one JSON value: %s",
                 root ? "text after it" : json_tokener_error_desc(json_tokener_get_error(tok)));
            goto out;
        }
    }
    if (!json_object_is_type(root, json_type_object)) {
        fail(err, errlen, "the job must be a JSON object");
        goto out;
    }
    if (!json_object_object_get_ex(root, "task", &task)) {
        task = root; /* a bare task */
    } else if (!json_object_is_type(task, json_type_object)) {
        fail(err, errlen, "the envelope's \"task\" must be an object");
        goto out;
    }
    if (json_object_object_get_ex(task, "taskUUID", &v)) {
        const char *u = json_object_get_string(v);

        if (!json_object_is_type(v, json_type_string) || !rw_uuid_valid(u)) {
            fail(err, errlen, "taskUUID must be a UUID string");
            goto out;
        }
        snprintf(uuid, RW_UUID_LEN + 1, "%s", u);
    } else {
        if (rw_uuid_v4(uuid) < 0) {
            fail(err, errlen, "cannot make a UUID: no randomness");
            goto out;
        }
        if (json_object_object_add(task, "taskUUID", json_object_new_string(uuid)) < 0)
            goto nomem;
    }
    if (result_list) {
        if (task != root) { /* an envelope */
            if (json_object_object_get_ex(root, "resultList", NULL)) {
                fail(err, errlen, "the job names its own resultList; a reply list cannot be set");
                goto out;
            }
            env = json_object_get(root);
        } else if (!(env = json_object_new_object()) ||
                   json_object_object_add(env, "task", json_object_get(root)) < 0) {
            goto nomem;
        }
        if (json_object_object_add(env, "resultList", json_object_new_string(result_list)) < 0)
            goto nomem;
    }
    text = json_object_to_json_string_ext(env ? env : root,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!text || !(*out = strdup(text)))
        goto nomem;
    *outlen = strlen(*out);
    rc = 0;
    goto out;
nomem:
    rc = -2;
    fail(err, errlen, "out of memory");
out:
    json_object_put(env);
    json_object_put(root);
    json_tokener_free(tok);
    return rc;
}

int rw_producer_enqueue(struct rw_producer *p, const char *payload, size_t len, char *err,
                        size_t errlen)
{
    const char *argv[] = {"LPUSH", p->jobs, payload};
    size_t lens[] = {5, strlen(p->jobs), len};
    redisReply *r = command(p, err, errlen, 3, argv, lens);

    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

int rw_producer_submit(struct rw_producer *p, const char *job, size_t len,
                       char uuid[RW_UUID_LEN + 1], char list[RW_PRODUCER_LIST_MAX], char *err,
                       size_t errlen)
{
    char *first = NULL, *payload = NULL;
    size_t n;
    int rc;

    /* once to learn the taskUUID, then again with the reply list named after it */
    if ((rc = rw_producer_build(job, len, NULL, uuid, &first, &n, err, errlen)) < 0)
        return rc;
    if (rw_producer_reply_list(p->prefix, uuid, list, RW_PRODUCER_LIST_MAX) < 0) {
        free(first);
        return fail(err, errlen, "key prefix too long");
    }
    rc = rw_producer_build(first, n, list, uuid, &payload, &n, err, errlen);
    free(first);
    if (rc == 0)
        rc = rw_producer_enqueue(p, payload, n, err, errlen);
    free(payload);
    return rc;
}

/* Fills pr's state, images and expected from the task's keys. */
static void progress_of(struct rw_producer *p, const char *uuid, struct rw_progress *pr)
{
    char task[KEYLEN], seen[KEYLEN];
    redisReply *r;

    if (rw_key(task, KEYLEN, p->prefix, RW_KEY_TASK, uuid) < 0 ||
        rw_key(seen, KEYLEN, p->prefix, RW_KEY_TASK_SEEN, uuid) < 0)
        return;
    if ((r = redisCommand(p->c, "HMGET %s state n", task))) {
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
            const redisReply *st = r->element[0], *n = r->element[1];

            snprintf(pr->state, sizeof(pr->state), "%s",
                     st->type == REDIS_REPLY_STRING ? st->str : "waiting");
            pr->expected = n->type == REDIS_REPLY_STRING ? strtol(n->str, NULL, 10) : 0;
        }
        freeReplyObject(r);
    }
    if ((r = redisCommand(p->c, "HLEN %s", seen))) {
        if (r->type == REDIS_REPLY_INTEGER)
            pr->images = r->integer;
        freeReplyObject(r);
    }
}

int rw_producer_wait(struct rw_producer *p, const char *list, const char *uuid, int timeout_ms,
                     rw_progress_cb *progress, void *arg, char **record, size_t *reclen, char *err,
                     size_t errlen)
{
    int64_t start = now_ms();
    struct timeval tv = {p->timeout.tv_sec + 2, p->timeout.tv_usec};
    int rc = -1;

    *record = NULL;
    /* a blocking pop of one second must not trip the command timeout */
    if (redisSetTimeout(p->c, tv) != REDIS_OK)
        return fail(err, errlen, "Redis: cannot set the timeout");
    for (;;) {
        int64_t left = timeout_ms ? timeout_ms - (now_ms() - start) : 1000;
        char secs[32];
        const char *argv[] = {"BRPOP", list, secs};
        redisReply *r;

        if (left <= 0) {
            rc = 0;
            break;
        }
        snprintf(secs, sizeof(secs), "%.3f", (left < 1000 ? left : 1000) / 1000.0);
        if (!(r = command(p, err, errlen, 3, argv, NULL)))
            break;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[1]->type == REDIS_REPLY_STRING) {
            if (!(*record = malloc(r->element[1]->len + 1))) {
                freeReplyObject(r);
                fail(err, errlen, "out of memory");
                break;
            }
            memcpy(*record, r->element[1]->str, r->element[1]->len);
            (*record)[r->element[1]->len] = '\0';
            *reclen = r->element[1]->len;
            freeReplyObject(r);
            rc = 1;
            break;
        }
        freeReplyObject(r);
        if (progress) {
            struct rw_progress pr = {.elapsed_ms = now_ms() - start};

            progress_of(p, uuid, &pr);
            progress(&pr, arg);
        }
    }
    redisSetTimeout(p->c, p->timeout);
    return rc;
}

static long long int_of(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
}

int rw_producer_stats(struct rw_producer *p, int adopt_after_s, struct rw_producer_stats *st,
                      char *err, size_t errlen)
{
    redisReply *r[5] = {0}, *t;
    long long now;
    int rc = -1;

    if (!(t = redisCommand(p->c, "TIME")) || t->type != REDIS_REPLY_ARRAY || t->elements != 2) {
        fail(err, errlen, "Redis: TIME: %s", t ? "unexpected answer" : p->c->errstr);
        goto out;
    }
    now =
        strtoll(t->element[0]->str, NULL, 10) * 1000 + strtoll(t->element[1]->str, NULL, 10) / 1000;
    if (!(r[0] = redisCommand(p->c, "LLEN %s", p->jobs)) ||
        !(r[1] = redisCommand(p->c, "ZCARD %s", p->pending)) ||
        !(r[2] = redisCommand(p->c, "LLEN %s", p->dead)) ||
        !(r[3] = redisCommand(p->c, "ZCOUNT %s %lld +inf", p->instances,
                              now - (long long)adopt_after_s * 1000)) ||
        !(r[4] = redisCommand(p->c, "ZCARD %s", p->instances))) {
        fail(err, errlen, "Redis: %s", p->c->errstr);
        goto out;
    }
    for (int i = 0; i < 5; i++) {
        if (r[i]->type != REDIS_REPLY_INTEGER) {
            fail(err, errlen, "Redis: %s",
                 r[i]->type == REDIS_REPLY_ERROR ? r[i]->str : "unexpected answer");
            goto out;
        }
    }
    st->queued = int_of(r[0]);
    st->in_flight = int_of(r[1]);
    st->dead = int_of(r[2]);
    st->live = int_of(r[3]);
    st->instances = int_of(r[4]);
    rc = 0;
out:
    if (t)
        freeReplyObject(t);
    for (int i = 0; i < 5; i++)
        if (r[i])
            freeReplyObject(r[i]);
    return rc;
}

int rw_producer_requeue_dead(struct rw_producer *p, long max, long *moved, char *err, size_t errlen)
{
    /* oldest dead letter (right) to the producers' end of the queue (left), like a new job */
    const char *argv[] = {"LMOVE", p->dead, p->jobs, "RIGHT", "LEFT"};
    redisReply *r;

    *moved = 0;
    while (max <= 0 || *moved < max) {
        if (!(r = command(p, err, errlen, 5, argv, NULL)))
            return -1;
        if (r->type != REDIS_REPLY_STRING) {
            freeReplyObject(r);
            break;
        }
        freeReplyObject(r);
        (*moved)++;
    }
    return 0;
}

/* body with any webhookURL's query (the token) hidden. A new string, NULL on failure. */
static json_object *redacted_body(const char *body)
{
    json_object *o = json_tokener_parse(body), *w;

    if (o && json_object_object_get_ex(o, "webhookURL", &w) &&
        json_object_is_type(w, json_type_string)) {
        const char *u = json_object_get_string(w), *q = strchr(u, '?');
        char *copy = q ? strndup(u, (size_t)(q - u) + 1) : NULL;
        char *hidden = copy ? malloc(strlen(copy) + 16) : NULL;

        if (hidden) {
            sprintf(hidden, "%stoken=(hidden)", copy);
            json_object_object_add(o, "webhookURL", json_object_new_string(hidden));
        } else if (q) {
            json_object_object_del(o, "webhookURL");
        }
        free(hidden);
        free(copy);
    }
    return o;
}

static int add_int(json_object *o, const char *k, const redisReply *v)
{
    if (!v || v->type != REDIS_REPLY_STRING)
        return 0;
    return json_object_object_add(o, k, json_object_new_int64(strtoll(v->str, NULL, 10)));
}

int rw_producer_inspect(struct rw_producer *p, const char *uuid, char **json, char *err,
                        size_t errlen)
{
    char task[KEYLEN], seen[KEYLEN];
    redisReply *h = NULL, *n = NULL, *ttl = NULL, *pend = NULL;
    json_object *o = NULL;
    const char *text;
    int rc = -1;

    *json = NULL;
    if (!rw_uuid_valid(uuid))
        return fail(err, errlen, "\"%s\" is not a UUID", uuid);
    if (rw_key(task, KEYLEN, p->prefix, RW_KEY_TASK, uuid) < 0 ||
        rw_key(seen, KEYLEN, p->prefix, RW_KEY_TASK_SEEN, uuid) < 0)
        return fail(err, errlen, "key prefix too long");
    if (!(h = redisCommand(p->c, "HMGET %s state owner list n takenAt submittedAt body", task)) ||
        !(n = redisCommand(p->c, "HLEN %s", seen)) ||
        !(ttl = redisCommand(p->c, "PTTL %s", task)) ||
        !(pend = redisCommand(p->c, "ZSCORE %s %s", p->pending, uuid))) {
        fail(err, errlen, "Redis: %s", p->c->errstr);
        goto out;
    }
    if (h->type != REDIS_REPLY_ARRAY || h->elements != 7) {
        fail(err, errlen, "Redis: HMGET: %s", h->type == REDIS_REPLY_ERROR ? h->str : "unexpected");
        goto out;
    }
    if (h->element[0]->type != REDIS_REPLY_STRING) {
        rc = 0;
        goto out;
    }
    if (!(o = json_object_new_object()))
        goto nomem;
    if (json_object_object_add(o, "taskUUID", json_object_new_string(uuid)) ||
        json_object_object_add(o, "state", json_object_new_string(h->element[0]->str)) ||
        (h->element[1]->type == REDIS_REPLY_STRING &&
         json_object_object_add(o, "owner", json_object_new_string(h->element[1]->str))) ||
        (h->element[2]->type == REDIS_REPLY_STRING &&
         json_object_object_add(o, "resultList", json_object_new_string(h->element[2]->str))) ||
        add_int(o, "numberResults", h->element[3]) ||
        json_object_object_add(o, "imagesReceived", json_object_new_int64(int_of(n))) ||
        add_int(o, "takenAt", h->element[4]) || add_int(o, "submittedAt", h->element[5]) ||
        json_object_object_add(o, "pending",
                               json_object_new_boolean(pend->type == REDIS_REPLY_STRING)) ||
        (int_of(ttl) >= 0 &&
         json_object_object_add(o, "expiresInMs", json_object_new_int64(int_of(ttl)))))
        goto nomem;
    if (h->element[6]->type == REDIS_REPLY_STRING) {
        json_object *b = redacted_body(h->element[6]->str);

        if (b && json_object_object_add(o, "task", b) < 0)
            goto nomem;
    }
    text =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!text || !(*json = strdup(text)))
        goto nomem;
    rc = 1;
    goto out;
nomem:
    fail(err, errlen, "out of memory");
out:
    json_object_put(o);
    if (h)
        freeReplyObject(h);
    if (n)
        freeReplyObject(n);
    if (ttl)
        freeReplyObject(ttl);
    if (pend)
        freeReplyObject(pend);
    return rc;
}
