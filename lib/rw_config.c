/* runwared configuration: a table of keys, one generic `key = value` parser, file:line errors. */
#include "rw_config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define RW_CONFIG_MAX_BYTES (1024 * 1024) /* a larger file is surely not a config file */
#define RW_NAME_CHARS       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-"
#define RW_NAME_FORM        "characters of A-Z a-z 0-9 _ . : -"
#define RW_VALUE_SHOWN      80 /* bytes of a bad value quoted in a message */

enum rw_cfg_type {
    RW_CFG_STRING,    /* min..max bytes, of charset when set */
    RW_CFG_PATH,      /* non-empty */
    RW_CFG_URL,       /* http:// or https:// with a host */
    RW_CFG_INT,       /* min..max */
    RW_CFG_ENUM,      /* one of names[], stored as its index */
    RW_CFG_REDIS_URL, /* rw_redis_url_parse */
    RW_CFG_HOSTPORT,  /* rw_hostport_parse */
};

#define RW_CFG_F_BASE_URL 0x1 /* url: no query or fragment, since paths are appended to it */
#define RW_CFG_F_SECRET   0x2 /* value may hold a password: never quoted back in messages */

struct rw_cfg_key {
    const char *name;
    enum rw_cfg_type type;
    size_t offset;            /* of the char * or int field in struct rw_config */
    const char *def;          /* default as text; NULL: unset, or derived by rw_config_finish */
    long min, max;            /* int: bounds; string: length bounds */
    const char *charset;      /* string: allowed bytes, NULL: any */
    const char *const *names; /* enum: value names, index = value, NULL-terminated */
    unsigned flags;
};

static const char *const rw_log_level_names[] = {"err", "warn", "info", "debug", NULL};

#define RW_STR(n, t, d, ...)                                                                       \
    {                                                                                              \
        .name = #n, .type = t, .offset = offsetof(struct rw_config, n), .def = d, __VA_ARGS__      \
    }
#define RW_INT(n, d, lo, hi)                                                                       \
    {                                                                                              \
        .name = #n, .type = RW_CFG_INT, .offset = offsetof(struct rw_config, n), .def = d,         \
        .min = lo, .max = hi                                                                       \
    }

static const struct rw_cfg_key rw_cfg_keys[] = {
    RW_STR(redis_url, RW_CFG_REDIS_URL, "redis://127.0.0.1:6379/0", .flags = RW_CFG_F_SECRET),
    RW_STR(api_url, RW_CFG_URL, "https://api.runware.ai/v1", .flags = 0),
    RW_STR(api_key_file, RW_CFG_PATH, NULL, .flags = 0),
    RW_STR(listen, RW_CFG_HOSTPORT, "127.0.0.1:8480", .flags = 0),
    RW_STR(admin_listen, RW_CFG_HOSTPORT, "127.0.0.1:9464", .flags = 0),
    RW_STR(public_url, RW_CFG_URL, NULL, .flags = RW_CFG_F_BASE_URL),
    RW_STR(key_prefix, RW_CFG_STRING, "runware", .min = 1, .max = 64, .charset = RW_NAME_CHARS),
    RW_STR(webhook_secret_file, RW_CFG_PATH, NULL, .flags = 0),
    RW_STR(instance_id, RW_CFG_STRING, NULL, .min = 1, .max = 128, .charset = RW_NAME_CHARS),
    RW_STR(model_spec, RW_CFG_PATH, NULL, .flags = 0),
    RW_STR(log_level, RW_CFG_ENUM, "info", .names = rw_log_level_names),
    RW_INT(submit_batch, "16", 1, 100),
    RW_INT(submit_wait_ms, "5", 0, 1000),
    RW_INT(max_requests, "4", 1, 64),
    RW_INT(max_pending, "512", 1, 100000),
    RW_INT(max_inflight, "10000", 1, 10000000),
    RW_INT(submit_retries, "5", 0, 100),
    RW_INT(request_timeout_ms, "30000", 100, 600000),
    RW_INT(max_callback_bytes, "33554432", 1024, 1073741824),
    RW_INT(max_callback_connections, "1024", 8, 100000),
    RW_INT(callback_idle_timeout, "15", 1, 3600),
    RW_INT(callback_request_timeout, "60", 1, 3600),
    RW_INT(max_job_bytes, "1048576", 1024, 536870912),
    RW_INT(done_ttl, "86400", 0, 2592000),
    RW_INT(callback_timeout, "60", 1, 86400),
    RW_INT(job_timeout, "1800", 10, 604800),
    RW_INT(adopt_after, "60", 10, 86400),
    RW_INT(shutdown_timeout, "10", 1, 3600),
};

#define RW_CFG_NKEYS (sizeof(rw_cfg_keys) / sizeof(rw_cfg_keys[0]))

static char **rw_cfg_str(struct rw_config *cfg, const struct rw_cfg_key *k)
{
    return (char **)((char *)cfg + k->offset);
}

static int *rw_cfg_int(struct rw_config *cfg, const struct rw_cfg_key *k)
{
    return (int *)((char *)cfg + k->offset);
}

static bool rw_cfg_is_string(const struct rw_cfg_key *k)
{
    return k->type != RW_CFG_INT && k->type != RW_CFG_ENUM;
}

static const struct rw_cfg_key *rw_cfg_lookup(const char *name)
{
    for (size_t i = 0; i < RW_CFG_NKEYS; i++)
        if (strcmp(rw_cfg_keys[i].name, name) == 0)
            return &rw_cfg_keys[i];
    return NULL;
}

/* Parses n bytes of s as a decimal integer in min..max (sign allowed only when min < 0). */
static int rw_parse_long(const char *s, size_t n, long min, long max, long *out)
{
    long v = 0;
    bool neg = false;
    size_t i = 0;

    if (n > 0 && s[0] == '-' && min < 0) {
        neg = true;
        i = 1;
    }
    if (i == n)
        return -1;
    for (; i < n; i++) {
        int d = s[i] - '0';

        if (d < 0 || d > 9)
            return -1;
        if (v > (LONG_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (neg)
        v = -v;
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static bool rw_has_ctl_or_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return true;
    return false;
}

/* Writes into err and returns -1: the one error exit of the address parsers. */
__attribute__((format(printf, 3, 4))) static int rw_fail(char *err, size_t errlen, const char *fmt,
                                                         ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int rw_hostport_parse(const char *s, char **host, int *port, char *err, size_t errlen)
{
    const char *hs, *ps, *colon;
    size_t hlen;
    long p;

    *host = NULL;
    *port = 0;
    if (s == NULL || *s == '\0')
        return rw_fail(err, errlen, "empty address (expected host:port, [v6]:port or :port)");
    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (close == NULL)
            return rw_fail(err, errlen, "missing ']' after an IPv6 address (expected [v6]:port)");
        hs = s + 1;
        hlen = (size_t)(close - hs);
        if (hlen == 0)
            return rw_fail(err, errlen, "empty IPv6 address in brackets (expected [v6]:port)");
        if (close[1] != ':')
            return rw_fail(err, errlen, "missing :port after ']' (expected [v6]:port)");
        ps = close + 2;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return rw_fail(err, errlen, "missing :port (expected host:port, [v6]:port or :port)");
        hs = s;
        hlen = (size_t)(colon - s);
        if (memchr(s, ':', hlen) != NULL)
            return rw_fail(err, errlen, "an IPv6 address must be in brackets, as in [::1]:8480");
        ps = colon + 1;
    }
    if (rw_has_ctl_or_space(hs, hlen) || memchr(hs, '/', hlen) != NULL ||
        memchr(hs, '[', hlen) != NULL || memchr(hs, ']', hlen) != NULL)
        return rw_fail(err, errlen, "invalid characters in the host");
    if (rw_parse_long(ps, strlen(ps), 1, 65535, &p) != 0)
        return rw_fail(err, errlen, "port must be a number 1..65535");
    if (hlen > 0 && (*host = strndup(hs, hlen)) == NULL)
        return rw_fail(err, errlen, "out of memory");
    *port = (int)p;
    return 0;
}

/* unix:/path or unix:///path, then ?db=N. */
static int rw_redis_unix(const char *rest, struct rw_redis_addr *out, char *err, size_t errlen)
{
    static const char form[] = "(expected unix:/path or unix:///path, then optionally ?db=N)";
    const char *q;
    size_t plen;
    long db;

    if (strncmp(rest, "//", 2) == 0) {
        if (rest[2] != '/')
            return rw_fail(err, errlen, "a unix socket path must be absolute %s", form);
        rest += 2;
    }
    if (rest[0] != '/')
        return rw_fail(err, errlen, "a unix socket path must be absolute %s", form);
    q = strchr(rest, '?');
    plen = q != NULL ? (size_t)(q - rest) : strlen(rest);
    if (plen < 2)
        return rw_fail(err, errlen, "missing unix socket path %s", form);
    if (rw_has_ctl_or_space(rest, plen))
        return rw_fail(err, errlen, "spaces or control characters in the socket path");
    if (q != NULL) {
        if (strncmp(q + 1, "db=", 3) != 0)
            return rw_fail(err, errlen, "the only option of a unix: URL is ?db=N");
        if (rw_parse_long(q + 4, strlen(q + 4), 0, INT_MAX, &db) != 0)
            return rw_fail(err, errlen, "db must be a number 0..%d", INT_MAX);
        out->db = (int)db;
    }
    if ((out->path = strndup(rest, plen)) == NULL)
        return rw_fail(err, errlen, "out of memory");
    return 0;
}

/* [[user]:password@]host[:port][/db] */
static int rw_redis_tcp(const char *rest, struct rw_redis_addr *out, char *err, size_t errlen)
{
    static const char form[] = "(expected redis://[[user]:password@]host[:port][/db])";
    const char *at = strchr(rest, '@'), *hs, *he, *p;
    size_t hlen;
    long v;

    if (at != NULL) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));

        if (colon == NULL)
            return rw_fail(err, errlen, "credentials must be written [user]:password@ %s", form);
        if (colon + 1 == at)
            return rw_fail(err, errlen, "empty password %s", form);
        if (strchr(at + 1, '@') != NULL)
            return rw_fail(err, errlen, "a password must not contain '@' %s", form);
        if ((out->password = strndup(colon + 1, (size_t)(at - colon - 1))) == NULL)
            return rw_fail(err, errlen, "out of memory");
        rest = at + 1;
    }
    if (rest[0] == '[') {
        hs = rest + 1;
        if ((he = strchr(hs, ']')) == NULL)
            return rw_fail(err, errlen, "missing ']' after an IPv6 address %s", form);
        p = he + 1;
    } else {
        hs = rest;
        he = hs + strcspn(hs, ":/");
        p = he;
    }
    hlen = (size_t)(he - hs);
    if (hlen == 0)
        return rw_fail(err, errlen, "missing host %s", form);
    if (rw_has_ctl_or_space(hs, hlen) || strcspn(hs, "?#[]") < hlen)
        return rw_fail(err, errlen, "invalid characters in the host %s", form);
    if (*p == ':') {
        size_t n = strcspn(p + 1, "/");

        if (rw_parse_long(p + 1, n, 1, 65535, &v) != 0)
            return rw_fail(err, errlen, "port must be a number 1..65535");
        out->port = (int)v;
        p += 1 + n;
    }
    if (*p == '/') {
        p++;
        if (*p != '\0') {
            if (rw_parse_long(p, strlen(p), 0, INT_MAX, &v) != 0)
                return rw_fail(err, errlen, "db must be a number 0..%d %s", INT_MAX, form);
            out->db = (int)v;
        }
    } else if (*p != '\0') {
        return rw_fail(err, errlen, "unexpected characters after the host %s", form);
    }
    if ((out->host = strndup(hs, hlen)) == NULL)
        return rw_fail(err, errlen, "out of memory");
    return 0;
}

int rw_redis_url_parse(const char *url, struct rw_redis_addr *out, char *err, size_t errlen)
{
    int rc;

    memset(out, 0, sizeof(*out));
    out->port = 6379;
    /* messages never quote the URL: it may carry a password */
    if (url == NULL)
        rc = rw_fail(err, errlen, "no Redis URL");
    else if (strncmp(url, "redis://", 8) == 0)
        rc = rw_redis_tcp(url + 8, out, err, errlen);
    else if (strncmp(url, "unix:", 5) == 0)
        rc = rw_redis_unix(url + 5, out, err, errlen);
    else if (strncmp(url, "rediss://", 9) == 0)
        rc = rw_fail(err, errlen, "TLS (rediss://) is not supported; use redis:// or unix:");
    else
        rc = rw_fail(err, errlen,
                     "expected redis://[[user]:password@]host[:port][/db] or unix:/path[?db=N]");
    if (rc != 0)
        rw_redis_addr_free(out);
    return rc;
}

void rw_redis_addr_free(struct rw_redis_addr *a)
{
    if (a == NULL)
        return;
    free(a->host);
    free(a->path);
    free(a->password);
    memset(a, 0, sizeof(*a));
    a->port = 6379;
}

/* NULL when v is an acceptable URL, else why not. */
static const char *rw_url_problem(const char *v, bool base)
{
    const char *auth, *host, *end;
    size_t alen;
    long port;

    if (strncasecmp(v, "http://", 7) == 0)
        auth = v + 7;
    else if (strncasecmp(v, "https://", 8) == 0)
        auth = v + 8;
    else
        return "must start with http:// or https://";
    if (rw_has_ctl_or_space(v, strlen(v)))
        return "must not contain spaces or control characters";
    alen = strcspn(auth, "/?#");
    host = memchr(auth, '@', alen);
    host = host != NULL ? host + 1 : auth;
    end = auth + alen;
    if (*host == '[') {
        const char *close = memchr(host, ']', (size_t)(end - host));

        if (close == NULL || close == host + 1)
            return "has a malformed [IPv6] host";
        host = close + 1;
    } else {
        const char *colon = memchr(host, ':', (size_t)(end - host));

        if ((colon != NULL ? colon : end) == host)
            return "has no host";
        host = colon != NULL ? colon : end;
    }
    if (*host == ':' && rw_parse_long(host + 1, (size_t)(end - host - 1), 1, 65535, &port) != 0)
        return "has a port that is not a number 1..65535";
    if (host != end && *host != ':')
        return "has unexpected characters after the host";
    if (strchr(end, '#') != NULL)
        return "must not have a #fragment";
    if (base && strchr(end, '?') != NULL)
        return "must not have a ?query (runwared appends /callback/... to it)";
    return NULL;
}

/* Checks v for key k and stores it. Returns 0, -1 with a message (the key is prefixed by the
 * caller), or -2 on ENOMEM. */
static int rw_cfg_set(struct rw_config *cfg, const struct rw_cfg_key *k, const char *v, char *msg,
                      size_t msglen)
{
    const char *why = NULL;
    char sub[256];
    size_t len = strlen(v);
    long n;
    char *copy, **slot;

    switch (k->type) {
    case RW_CFG_INT:
        if (rw_parse_long(v, len, LONG_MIN, LONG_MAX, &n) != 0)
            return rw_fail(msg, msglen, "\"%.*s\" is not an integer (expected %ld..%ld)",
                           RW_VALUE_SHOWN, v, k->min, k->max);
        if (n < k->min || n > k->max)
            return rw_fail(msg, msglen, "%ld is out of range (expected %ld..%ld)", n, k->min,
                           k->max);
        *rw_cfg_int(cfg, k) = (int)n;
        return 0;
    case RW_CFG_ENUM:
        for (int i = 0; k->names[i] != NULL; i++) {
            if (strcmp(v, k->names[i]) == 0) {
                *rw_cfg_int(cfg, k) = i;
                return 0;
            }
        }
        {
            char list[128] = "";

            for (int i = 0; k->names[i] != NULL; i++) {
                strncat(list, i > 0 ? "|" : "", sizeof(list) - strlen(list) - 1);
                strncat(list, k->names[i], sizeof(list) - strlen(list) - 1);
            }
            return rw_fail(msg, msglen, "\"%.*s\" is not one of %s", RW_VALUE_SHOWN, v, list);
        }
    case RW_CFG_STRING:
        if ((long)len < k->min || (long)len > k->max ||
            (k->charset != NULL && strspn(v, k->charset) != len))
            return rw_fail(msg, msglen, "must be %ld..%ld %s", k->min, k->max,
                           k->charset != NULL ? RW_NAME_FORM : "bytes");
        break;
    case RW_CFG_PATH:
        if (len == 0)
            return rw_fail(msg, msglen, "must be a non-empty path");
        break;
    case RW_CFG_URL:
        if ((why = rw_url_problem(v, k->flags & RW_CFG_F_BASE_URL)) != NULL)
            return rw_fail(msg, msglen, "\"%.*s\" %s", RW_VALUE_SHOWN, v, why);
        break;
    case RW_CFG_REDIS_URL: {
        struct rw_redis_addr a;

        if (rw_redis_url_parse(v, &a, sub, sizeof(sub)) != 0)
            return rw_fail(msg, msglen, "%s", sub);
        rw_redis_addr_free(&a);
        break;
    }
    case RW_CFG_HOSTPORT: {
        char *host = NULL;
        int port;

        if (rw_hostport_parse(v, &host, &port, sub, sizeof(sub)) != 0)
            return rw_fail(msg, msglen, "\"%.*s\": %s", RW_VALUE_SHOWN, v, sub);
        free(host);
        break;
    }
    }
    if ((copy = strdup(v)) == NULL) {
        rw_fail(msg, msglen, "out of memory");
        return -2;
    }
    slot = rw_cfg_str(cfg, k);
    free(*slot);
    *slot = copy;
    return 0;
}

int rw_config_init(struct rw_config *cfg)
{
    char msg[256];

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < RW_CFG_NKEYS; i++) {
        if (rw_cfg_keys[i].def != NULL &&
            rw_cfg_set(cfg, &rw_cfg_keys[i], rw_cfg_keys[i].def, msg, sizeof(msg)) != 0) {
            rw_config_free(cfg);
            return -1;
        }
    }
    return 0;
}

void rw_config_free(struct rw_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < RW_CFG_NKEYS; i++)
        if (rw_cfg_is_string(&rw_cfg_keys[i]))
            free(*rw_cfg_str(cfg, &rw_cfg_keys[i]));
    memset(cfg, 0, sizeof(*cfg));
}

/* All errors of one parse, newline-separated into the caller's buffer, truncated safely. */
struct rw_cfg_errs {
    char *buf;
    size_t len, cap;
    int count;
};

__attribute__((format(printf, 2, 3))) static void rw_cfg_err(struct rw_cfg_errs *e, const char *fmt,
                                                             ...)
{
    va_list ap;
    int n;

    if (e->count++ > 0 && e->len + 1 < e->cap) {
        e->buf[e->len++] = '\n';
        e->buf[e->len] = '\0';
    }
    if (e->len + 1 >= e->cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(e->buf + e->len, e->cap - e->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        e->buf[e->len] = '\0';
    else if ((size_t)n >= e->cap - e->len)
        e->len = e->cap - 1;
    else
        e->len += (size_t)n;
}

static bool rw_is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Unquotes a "..." value in place (\" and \\ only); what follows may be only whitespace and a
 * comment. Returns NULL, or the problem. */
static const char *rw_cfg_unquote(char *v)
{
    char *in = v + 1, *out = v;

    while (*in != '\0' && *in != '"') {
        if (*in == '\\') {
            if (in[1] != '"' && in[1] != '\\')
                return "unknown escape in a quoted value (only \\\" and \\\\)";
            in++;
        }
        *out++ = *in++;
    }
    if (*in != '"')
        return "unterminated quoted value";
    *out = '\0';
    for (in++; rw_is_ws(*in); in++)
        ;
    if (*in != '\0' && *in != '#')
        return "unexpected text after the closing quote";
    return NULL;
}

/* Handles one line (NUL-terminated, modified in place). */
static void rw_cfg_line(struct rw_config *cfg, char *line, const char *name, int lineno, int *seen,
                        struct rw_cfg_errs *e, bool *nomem)
{
    const struct rw_cfg_key *k;
    char *key, *v, *eq, *end, msg[512];
    const char *why;
    int rc;

    while (rw_is_ws(*line))
        line++;
    if (*line == '\0' || *line == '#')
        return;
    if ((eq = strchr(line, '=')) == NULL) {
        rw_cfg_err(e, "%s:%d: missing '=' (expected `key = value`)", name, lineno);
        return;
    }
    for (end = eq; end > line && rw_is_ws(end[-1]); end--)
        ;
    *end = '\0';
    key = line;
    if (*key == '\0') {
        rw_cfg_err(e, "%s:%d: missing key before '=' (expected `key = value`)", name, lineno);
        return;
    }
    if ((k = rw_cfg_lookup(key)) == NULL) {
        rw_cfg_err(e, "%s:%d: unknown key \"%.*s\"", name, lineno, RW_VALUE_SHOWN, key);
        return;
    }
    for (v = eq + 1; rw_is_ws(*v); v++)
        ;
    if (*v == '"') {
        if ((why = rw_cfg_unquote(v)) != NULL) {
            rw_cfg_err(e, "%s:%d: %s: %s", name, lineno, k->name, why);
            return;
        }
    } else {
        for (end = v; *end != '\0'; end++)
            if (*end == '#' && rw_is_ws(end[-1])) /* v[-1] is '=' or whitespace */
                break;                            /* a comment */
        while (end > v && rw_is_ws(end[-1]))
            end--;
        *end = '\0';
    }
    if (*v == '\0') {
        rw_cfg_err(e, "%s:%d: %s: empty value", name, lineno, k->name);
        return;
    }
    if (seen[k - rw_cfg_keys] != 0) {
        rw_cfg_err(e, "%s:%d: %s: duplicate key (first set on line %d)", name, lineno, k->name,
                   seen[k - rw_cfg_keys]);
        return;
    }
    seen[k - rw_cfg_keys] = lineno;
    rc = rw_cfg_set(cfg, k, v, msg, sizeof(msg));
    if (rc != 0)
        rw_cfg_err(e, "%s:%d: %s: %s", name, lineno, k->name, msg);
    if (rc == -2)
        *nomem = true;
}

int rw_config_parse(struct rw_config *cfg, const char *text, const char *name, char *err,
                    size_t errlen)
{
    struct rw_cfg_errs e = {err, 0, err != NULL ? errlen : 0, 0};
    int seen[RW_CFG_NKEYS] = {0};
    char *copy, *line, *next;
    bool nomem = false;
    int lineno = 0;

    if (e.cap > 0)
        err[0] = '\0';
    if (name == NULL)
        name = "config";
    if ((copy = strdup(text != NULL ? text : "")) == NULL) {
        rw_cfg_err(&e, "%s: out of memory", name);
        return -1;
    }
    for (line = copy; line != NULL && !nomem; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        rw_cfg_line(cfg, line, name, ++lineno, seen, &e, &nomem);
    }
    free(copy);
    return e.count > 0 ? -1 : 0;
}

int rw_config_load(struct rw_config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = NULL;
    char *text = NULL;
    size_t len = 0, n;
    int rc = -1;

    if ((f = fopen(path, "r")) == NULL) {
        rw_fail(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if ((text = malloc(RW_CONFIG_MAX_BYTES + 1)) == NULL) {
        rw_fail(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    while ((n = fread(text + len, 1, RW_CONFIG_MAX_BYTES + 1 - len, f)) > 0) {
        len += n;
        if (len > RW_CONFIG_MAX_BYTES)
            break;
    }
    if (ferror(f)) {
        rw_fail(err, errlen, "%s: read error", path);
        goto fail;
    }
    if (len > RW_CONFIG_MAX_BYTES) {
        rw_fail(err, errlen, "%s: larger than %d bytes", path, RW_CONFIG_MAX_BYTES);
        goto fail;
    }
    if (memchr(text, '\0', len) != NULL) {
        rw_fail(err, errlen, "%s: contains a NUL byte (not a text file?)", path);
        goto fail;
    }
    text[len] = '\0';
    rc = rw_config_parse(cfg, text, path, err, errlen);
fail:
    free(text);
    if (f != NULL)
        fclose(f);
    return rc;
}

int rw_config_finish(struct rw_config *cfg, char *err, size_t errlen)
{
    char *host = NULL, hostname[256], buf[512];
    const char *h;
    int port, n, rc = -1;
    size_t len;

    if (rw_hostport_parse(cfg->listen, &host, &port, buf, sizeof(buf)) != 0) {
        rw_fail(err, errlen, "listen: %s", buf);
        goto fail;
    }
    if (cfg->public_url == NULL) {
        h = host;
        if (h == NULL || *h == '\0' || strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0)
            h = "127.0.0.1";
        n = snprintf(buf, sizeof(buf), strchr(h, ':') != NULL ? "http://[%s]:%d" : "http://%s:%d",
                     h, port);
        if (n < 0 || (size_t)n >= sizeof(buf)) {
            rw_fail(err, errlen, "public_url: the listen host is too long to derive it");
            goto fail;
        }
        if ((cfg->public_url = strdup(buf)) == NULL) {
            rw_fail(err, errlen, "out of memory");
            goto fail;
        }
    }
    len = strlen(cfg->public_url);
    while (len > 0 && cfg->public_url[len - 1] == '/')
        cfg->public_url[--len] = '\0';
    if (cfg->instance_id == NULL) {
        if (gethostname(hostname, sizeof(hostname)) != 0 || hostname[0] == '\0') {
            rw_fail(err, errlen, "instance_id: cannot read the host name; set instance_id");
            goto fail;
        }
        hostname[sizeof(hostname) - 1] = '\0';
        n = snprintf(buf, sizeof(buf), "%s:%d", hostname, port);
        if (n < 0 || (size_t)n > 128 || strspn(buf, RW_NAME_CHARS) != (size_t)n) {
            rw_fail(err, errlen,
                    "instance_id: \"%.*s\" (host name:port) is not 1..128 %s; set instance_id",
                    RW_VALUE_SHOWN, buf, RW_NAME_FORM);
            goto fail;
        }
        if ((cfg->instance_id = strdup(buf)) == NULL) {
            rw_fail(err, errlen, "out of memory");
            goto fail;
        }
    }
    rc = 0;
fail:
    free(host);
    return rc;
}

/* The dump's output: counts every byte, stores those that fit, always NUL-terminated. */
struct rw_cfg_out {
    char *buf;
    size_t cap, len;
};

static void rw_cfg_put(struct rw_cfg_out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, o->len++)
        if (o->len + 1 < o->cap)
            o->buf[o->len] = s[i];
    if (o->cap > 0)
        o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
}

/* Appends one `key = value` line, quoting the value when reading it back would change it. */
static void rw_cfg_dump_line(struct rw_cfg_out *o, const char *key, const char *v)
{
    size_t n = strlen(v);
    bool quote = n > 0 && (v[0] == '"' || v[0] == '#' || rw_is_ws(v[0]) || rw_is_ws(v[n - 1]));

    for (size_t i = 1; i < n && !quote; i++)
        quote = v[i] == '#' && rw_is_ws(v[i - 1]);
    rw_cfg_put(o, key, strlen(key));
    rw_cfg_put(o, " = ", 3);
    if (quote)
        rw_cfg_put(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (quote && (v[i] == '"' || v[i] == '\\'))
            rw_cfg_put(o, "\\", 1);
        rw_cfg_put(o, v + i, 1);
    }
    if (quote)
        rw_cfg_put(o, "\"", 1);
    rw_cfg_put(o, "\n", 1);
}

/* redis_url with any password replaced by "****". */
static void rw_cfg_mask_password(const char *url, char *out, size_t outlen)
{
    const char *at = strchr(url, '@'), *colon;

    if (strncmp(url, "redis://", 8) != 0 || at == NULL ||
        (colon = memchr(url + 8, ':', (size_t)(at - url - 8))) == NULL) {
        snprintf(out, outlen, "%s", url);
        return;
    }
    snprintf(out, outlen, "%.*s****%s", (int)(colon + 1 - url), url, at);
}

int rw_config_dump(const struct rw_config *cfg, char *buf, size_t buflen)
{
    struct rw_cfg_out o = {buf, buf != NULL ? buflen : 0, 0};
    char num[32], masked[1024];

    if (o.cap > 0)
        buf[0] = '\0';
    for (size_t i = 0; i < RW_CFG_NKEYS; i++) {
        const struct rw_cfg_key *k = &rw_cfg_keys[i];
        const char *v;

        if (k->type == RW_CFG_INT) {
            snprintf(num, sizeof(num), "%d", *rw_cfg_int((struct rw_config *)cfg, k));
            v = num;
        } else if (k->type == RW_CFG_ENUM) {
            int idx = *rw_cfg_int((struct rw_config *)cfg, k), nnames = 0;

            while (k->names[nnames] != NULL)
                nnames++;
            v = idx >= 0 && idx < nnames ? k->names[idx] : "?";
        } else {
            v = *rw_cfg_str((struct rw_config *)cfg, k);
            if (v == NULL)
                v = "";
            else if (k->flags & RW_CFG_F_SECRET) {
                rw_cfg_mask_password(v, masked, sizeof(masked));
                v = masked;
            }
        }
        rw_cfg_dump_line(&o, k->name, v);
    }
    if (o.len >= o.cap || o.len > INT_MAX)
        return -1;
    return (int)o.len;
}
