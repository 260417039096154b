/* Runware-style error objects ({"code","message","parameter"?}) built into json-c arrays. */
#include "rw_errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adds key -> a new string to obj; the string is released if obj cannot take it. */
static int rw_errors_set_string(json_object *obj, const char *key, const char *s, size_t len)
{
    json_object *v = json_object_new_string_len(s, (int)len);

    if (v == NULL)
        return -1;
    if (json_object_object_add(obj, key, v) != 0) {
        json_object_put(v);
        return -1;
    }
    return 0;
}

/* A new error object; NULL on ENOMEM. */
__attribute__((format(printf, 3, 0))) static json_object *
rw_errors_vmake(const char *code, const char *param, const char *fmt, va_list ap)
{
    json_object *e = NULL;
    char small[256], *msg = small, *big = NULL;
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0)
        goto fail;
    if ((size_t)n >= sizeof(small)) {
        if ((big = malloc((size_t)n + 1)) == NULL)
            goto fail;
        va_copy(ap2, ap);
        n = vsnprintf(big, (size_t)n + 1, fmt, ap2);
        va_end(ap2);
        if (n < 0)
            goto fail;
        msg = big;
    }
    if ((e = json_object_new_object()) == NULL)
        goto fail;
    if (rw_errors_set_string(e, "code", code, strlen(code)) != 0)
        goto fail;
    if (rw_errors_set_string(e, "message", msg, (size_t)n) != 0)
        goto fail;
    if (param != NULL && rw_errors_set_string(e, "parameter", param, strlen(param)) != 0)
        goto fail;
    free(big);
    return e;
fail:
    json_object_put(e);
    free(big);
    return NULL;
}

json_object *rw_errors_add(json_object *arr, const char *code, const char *param, const char *fmt,
                           ...)
{
    json_object *e;
    va_list ap;

    if (arr == NULL || !json_object_is_type(arr, json_type_array))
        return NULL;
    va_start(ap, fmt);
    e = rw_errors_vmake(code, param, fmt, ap);
    va_end(ap);
    if (e == NULL)
        return NULL;
    if (json_object_array_add(arr, e) != 0) {
        json_object_put(e);
        return NULL;
    }
    return e;
}

json_object *rw_errors_one(const char *code, const char *param, const char *fmt, ...)
{
    json_object *arr = NULL, *e = NULL;
    va_list ap;

    if ((arr = json_object_new_array()) == NULL)
        goto fail;
    va_start(ap, fmt);
    e = rw_errors_vmake(code, param, fmt, ap);
    va_end(ap);
    if (e == NULL)
        goto fail;
    if (json_object_array_add(arr, e) != 0)
        goto fail;
    return arr;
fail:
    json_object_put(e);
    json_object_put(arr);
    return NULL;
}
