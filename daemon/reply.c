/* hiredis reply objects made with one allocation each.
 *
 * hiredis's own reader functions take a calloc per object, which glibc serves without its
 * per-thread cache, and a second allocation for a string's text or an array's element vector:
 * three or four calls into malloc's slow path for a script's {2, takenAt} answer. Here an object
 * is one malloc, its text or its element vector right after it. */
#include "reply.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/read.h>

static redisReply *reply_new(const redisReadTask *task, int type, size_t room)
{
    redisReply *r;

    if (room > SIZE_MAX - sizeof(*r) || !(r = malloc(sizeof(*r) + room)))
        return NULL;
    *r = (redisReply){.type = type};
    if (task->parent) /* an array's element: hiredis leaves linking it in to us */
        ((redisReply *)task->parent->obj)->element[task->idx] = r;
    return r;
}

static void *reply_string(const redisReadTask *task, char *str, size_t len)
{
    redisReply *r = reply_new(task, task->type, len + 1);

    if (r) {
        r->str = (char *)(r + 1);
        memcpy(r->str, str, len);
        r->str[len] = '\0';
        r->len = len;
    }
    return r;
}

static void *reply_array(const redisReadTask *task, int elements)
{
    size_t n = elements > 0 ? (size_t)elements : 0;
    redisReply *r = reply_new(task, REDIS_REPLY_ARRAY, n * sizeof(redisReply *));

    if (r && n) {
        r->element = (redisReply **)(r + 1);
        r->elements = n;
        for (size_t i = 0; i < n; i++) /* a reply cut short is freed with what it has */
            r->element[i] = NULL;
    }
    return r;
}

static void *reply_integer(const redisReadTask *task, long long value)
{
    redisReply *r = reply_new(task, REDIS_REPLY_INTEGER, 0);

    if (r)
        r->integer = value;
    return r;
}

static void *reply_nil(const redisReadTask *task)
{
    return reply_new(task, REDIS_REPLY_NIL, 0);
}

static void reply_free(void *obj)
{
    redisReply *r = obj;

    if (!r)
        return;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        reply_free(r->element[i]);
    free(r);
}

redisReplyObjectFunctions rwd_reply_fns = {
    .createString = reply_string,
    .createArray = reply_array,
    .createInteger = reply_integer,
    .createNil = reply_nil,
    .freeObject = reply_free,
};
