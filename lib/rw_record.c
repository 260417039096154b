/* Result records: head (at intake) ++ items ++ tail (at completion), and whole error records. */
#include "rw_record.h"
#include "rw_utf8.h"

#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rw_uuid.h"

#define RW_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* A growing string; on ENOMEM `failed` is set and later appends do nothing. */
struct rw_sbuf {
    char *s;
    size_t len, cap;
    bool failed;
};

static void rw_sbuf_add(struct rw_sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (n > SIZE_MAX / 4 - b->len) {
        b->failed = true;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;

        while (cap < b->len + n + 1)
            cap *= 2;
        if ((p = realloc(b->s, cap)) == NULL) {
            b->failed = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void rw_sbuf_str(struct rw_sbuf *b, const char *s)
{
    rw_sbuf_add(b, s, strlen(s));
}

/* Appends obj serialised (NULL: null). */
static void rw_sbuf_json(struct rw_sbuf *b, json_object *obj)
{
    size_t n;
    const char *s = json_object_to_json_string_length(obj, RW_JSON_FLAGS, &n);

    if (s == NULL) {
        b->failed = true;
        return;
    }
    rw_sbuf_add(b, s, n);
}

/* Appends s (len bytes, any content) as a JSON string. */
static void rw_sbuf_json_string(struct rw_sbuf *b, const char *s, size_t len)
{
    json_object *str;

    if (len > INT_MAX) {
        b->failed = true;
        return;
    }
    if ((str = json_object_new_string_len(s, (int)len)) == NULL) {
        b->failed = true;
        return;
    }
    rw_sbuf_json(b, str);
    json_object_put(str);
}

static void rw_sbuf_int(struct rw_sbuf *b, int64_t v)
{
    char num[32];
    int n = snprintf(num, sizeof(num), "%" PRId64, v);

    rw_sbuf_add(b, num, (size_t)n);
}

/* Returns the finished string (the caller frees it), or NULL if any append failed. */
static char *rw_sbuf_take(struct rw_sbuf *b)
{
    if (b->failed || b->s == NULL) {
        free(b->s);
        return NULL;
    }
    return b->s;
}

static void rw_sbuf_json_utf8(struct rw_sbuf *b, const char *raw, size_t len)
{
    static const char repl[] = "\xef\xbf\xbd";
    const unsigned char *s = (const unsigned char *)raw;
    struct rw_sbuf clean = {0};
    size_t i = 0, start = 0;

    while (i < len) {
        size_t n = rw_utf8_seq(s + i, len - i);

        if (n > 0) {
            i += n;
            continue;
        }
        rw_sbuf_add(&clean, raw + start, i - start);
        rw_sbuf_add(&clean, repl, sizeof(repl) - 1);
        start = ++i;
    }
    if (start == 0) {
        rw_sbuf_json_string(b, raw, len);
    } else {
        rw_sbuf_add(&clean, raw + start, len - start);
        if (clean.failed)
            b->failed = true;
        else
            rw_sbuf_json_string(b, clean.s, clean.len);
    }
    free(clean.s);
}

/* '{"taskUUID":<uuid>,"meta":' */
static void rw_sbuf_head_start(struct rw_sbuf *b, const char *task_uuid)
{
    rw_sbuf_str(b, "{\"taskUUID\":");
    if (rw_uuid_valid(task_uuid)) { /* hex digits and dashes: nothing to escape */
        rw_sbuf_add(b, "\"", 1);
        rw_sbuf_add(b, task_uuid, RW_UUID_LEN);
        rw_sbuf_add(b, "\"", 1);
    } else {
        rw_sbuf_json_string(b, task_uuid, strlen(task_uuid));
    }
    rw_sbuf_str(b, ",\"meta\":");
}

static char *rw_sbuf_head_end(struct rw_sbuf *b, int64_t taken_ms)
{
    rw_sbuf_str(b, ",\"takenAt\":");
    rw_sbuf_int(b, taken_ms);
    rw_sbuf_str(b, ",\"data\":[");
    return rw_sbuf_take(b);
}

char *rw_record_head(const char *task_uuid, json_object *meta, int64_t taken_ms)
{
    struct rw_sbuf b = {0};

    if (task_uuid == NULL)
        return NULL;
    rw_sbuf_head_start(&b, task_uuid);
    rw_sbuf_json(&b, meta);
    return rw_sbuf_head_end(&b, taken_ms);
}

char *rw_record_head_raw(const char *task_uuid, const char *meta, size_t meta_len, int64_t taken_ms)
{
    struct rw_sbuf b = {0};
    size_t i = 0, run = 0;
    bool in_string = false;

    if (task_uuid == NULL || meta == NULL || meta_len == 0)
        return NULL;
    /* room for all of it at once: the head is a few bytes more than meta */
    if (meta_len > SIZE_MAX / 2 || (b.s = malloc(meta_len + 128)) == NULL)
        return NULL;
    b.cap = meta_len + 128;
    rw_sbuf_head_start(&b, task_uuid);
    /* the value as it came, without the whitespace between its tokens */
    for (; i < meta_len; i++) {
        char c = meta[i];

        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            rw_sbuf_add(&b, meta + run, i - run);
            run = i + 1;
        }
    }
    rw_sbuf_add(&b, meta + run, (i < meta_len ? i : meta_len) - run);
    return rw_sbuf_head_end(&b, taken_ms);
}

/* '],"status":…,"errors":[…],"completedAt":…' without the closing brace. errors (borrowed) may
 * be NULL for []; anything but an array is refused. */
static void rw_sbuf_tail(struct rw_sbuf *b, const char *status, json_object *errors,
                         int64_t completed_ms)
{
    if (errors != NULL && !json_object_is_type(errors, json_type_array)) {
        b->failed = true;
        return;
    }
    rw_sbuf_str(b, "],\"status\":\"");
    rw_sbuf_str(b, status);
    rw_sbuf_str(b, "\",\"errors\":");
    if (errors != NULL)
        rw_sbuf_json(b, errors);
    else
        rw_sbuf_str(b, "[]");
    rw_sbuf_str(b, ",\"completedAt\":");
    rw_sbuf_int(b, completed_ms);
}

/* Status "error" exactly when errors holds at least one entry. NULL on ENOMEM or when errors is
 * neither NULL nor an array. */
char *rw_record_tail(json_object *errors, int64_t completed_ms)
{
    struct rw_sbuf b = {0};
    bool failed = errors != NULL && json_object_is_type(errors, json_type_array) &&
                  json_object_array_length(errors) > 0;

    rw_sbuf_tail(&b, failed ? "error" : "success", errors, completed_ms);
    rw_sbuf_str(&b, "}");
    return rw_sbuf_take(&b);
}

size_t rw_record_tail_success(char buf[RW_RECORD_TAIL_MAX], int64_t completed_ms)
{
    static const char head[] = "],\"status\":\"success\",\"errors\":[],\"completedAt\":";
    uint64_t v = completed_ms < 0 ? -(uint64_t)completed_ms : (uint64_t)completed_ms;
    char digits[20];
    size_t n = sizeof(head) - 1, k = 0;

    memcpy(buf, head, n);
    if (completed_ms < 0)
        buf[n++] = '-';
    do {
        digits[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k)
        buf[n++] = digits[--k];
    buf[n++] = '}';
    buf[n] = '\0';
    return n;
}

char *rw_record_error(const char *task_uuid, json_object *meta, int64_t taken_ms,
                      json_object *errors, const char *payload, size_t payload_len,
                      int64_t completed_ms)
{
    struct rw_sbuf b = {0};
    char *head;

    if ((head = rw_record_head(task_uuid, meta, taken_ms)) == NULL)
        return NULL;
    b.s = head;
    b.len = strlen(head);
    b.cap = b.len + 1;
    rw_sbuf_tail(&b, "error", errors, completed_ms);
    if (payload != NULL) {
        rw_sbuf_str(&b, ",\"payload\":");
        rw_sbuf_json_utf8(&b, payload, payload_len);
    }
    rw_sbuf_str(&b, "}");
    return rw_sbuf_take(&b);
}
