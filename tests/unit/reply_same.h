/* Do two hiredis replies say the same thing (type, value, elements, a terminated text)? Shared by
 * test_reply and fuzz_reply, which compare the daemon's reply objects with hiredis's own. */
#ifndef REPLY_SAME_H
#define REPLY_SAME_H

#include <stdbool.h>
#include <string.h>
#include <hiredis/hiredis.h>

static inline bool reply_same(const redisReply *a, const redisReply *b)
{
    if (!a || !b || a->type != b->type)
        return false;
    switch (a->type) {
    case REDIS_REPLY_INTEGER:
        return a->integer == b->integer;
    case REDIS_REPLY_NIL:
        return true;
    case REDIS_REPLY_ARRAY:
        if (a->elements != b->elements)
            return false;
        for (size_t i = 0; i < a->elements; i++)
            if (!reply_same(a->element[i], b->element[i]))
                return false;
        return true;
    default: /* string, status, error: the text, terminated */
        return a->len == b->len && memcmp(a->str, b->str, a->len) == 0 && a->str[a->len] == '\0';
    }
}

#endif
