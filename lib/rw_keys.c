/* Redis key names: the one place that knows them. */
#include "rw_keys.h"

#include <limits.h>
#include <string.h>

struct rw_key_form {
    const char *suffix; /* after "<prefix>:" */
    bool has_arg;       /* "<prefix>:<suffix><arg>" */
    const char *tail;   /* after the argument */
};

static const struct rw_key_form rw_key_forms[] = {
    [RW_KEY_JOBS] = {"jobs", false, ""},
    [RW_KEY_RESULTS] = {"results", false, ""},
    [RW_KEY_PROCESSING] = {"processing:", true, ""},
    [RW_KEY_SUBMITTING] = {"submitting:", true, ""},
    [RW_KEY_TASK] = {"task:", true, ""},
    [RW_KEY_TASK_SEEN] = {"task:", true, ":seen"},
    [RW_KEY_TASK_ITEMS] = {"task:", true, ":items"},
    [RW_KEY_PENDING] = {"pending", false, ""},
    [RW_KEY_INSTANCES] = {"instances", false, ""},
    [RW_KEY_SECRET] = {"secret", false, ""},
    [RW_KEY_DEAD] = {"dead", false, ""},
};

int rw_key(char *buf, size_t buflen, const char *prefix, enum rw_key_kind kind, const char *arg)
{
    const struct rw_key_form *f;
    const char *parts[5];
    size_t len = 0;

    if (buf == NULL || buflen == 0 || prefix == NULL ||
        (unsigned)kind >= sizeof(rw_key_forms) / sizeof(rw_key_forms[0]))
        return -1;
    f = &rw_key_forms[kind];
    if (f->has_arg && arg == NULL)
        return -1;
    /* "<prefix>:<suffix><arg><tail>", copied piece by piece: keys are made for every callback */
    parts[0] = prefix;
    parts[1] = ":";
    parts[2] = f->suffix;
    parts[3] = f->has_arg ? arg : "";
    parts[4] = f->tail;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        size_t k = strlen(parts[i]);

        if (k >= buflen - len || len + k > INT_MAX) {
            buf[0] = '\0';
            return -1;
        }
        memcpy(buf + len, parts[i], k);
        len += k;
    }
    buf[len] = '\0';
    return (int)len;
}

bool rw_key_reserved(const char *prefix, const char *key)
{
    /* exact names, then name prefixes, each after "<prefix>:" */
    static const char *const exact[] = {"jobs", "pending", "instances", "secret", "dead"};
    static const char *const starts[] = {"processing:", "submitting:", "task:"};
    size_t plen;
    const char *rest;

    if (prefix == NULL || key == NULL)
        return false;
    plen = strlen(prefix);
    if (strncmp(key, prefix, plen) != 0 || key[plen] != ':')
        return false;
    rest = key + plen + 1;
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (strcmp(rest, exact[i]) == 0)
            return true;
    for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
        if (strncmp(rest, starts[i], strlen(starts[i])) == 0)
            return true;
    return false;
}
