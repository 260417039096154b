/* runware-sim: a Runware API simulator for tests and demos: options, logging, PRNG, routing,
 * signals, start-up and teardown. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "sim.h"

enum opt_type { OT_HOSTPORT, OT_STRING, OT_LONG, OT_U64, OT_RATE, OT_QUIET, OT_VERBOSE, OT_HELP };

struct opt_def {
    const char *name;
    enum opt_type type;
    long min, max; /* OT_LONG bounds; OT_STRING maximum length */
    size_t off;    /* field in struct sim_opts */
    const char *arg;
    const char *help;
};

#define OFF(f) offsetof(struct sim_opts, f)

static const struct opt_def opt_table[] = {
    {"listen", OT_HOSTPORT, 0, 0, 0, "HOST:PORT",
     "listen address (127.0.0.1:8490; port 0 picks one)"},
    {"api-key", OT_STRING, 1, 255, OFF(api_key), "KEY", "the one valid API key (sim-key)"},
    {"delay-ms", OT_LONG, 0, 3600000, OFF(delay_ms), "N", "acceptance to first image (50)"},
    {"answer-delay-ms", OT_LONG, 0, 600000, OFF(answer_delay_ms), "N",
     "time taken to answer a POST, after its tasks are accepted (0)"},
    {"jitter-ms", OT_LONG, 0, 3600000, OFF(jitter_ms), "N", "random extra time per image (50)"},
    {"seed", OT_U64, 0, 0, OFF(seed), "N", "PRNG seed for faults and random values (time)"},
    {"fail-500", OT_RATE, 0, 0, OFF(rates.fail_500), "R", "fraction of POSTs answered 500"},
    {"fail-429", OT_RATE, 0, 0, OFF(rates.fail_429), "R", "fraction of POSTs answered 429"},
    {"fail-503", OT_RATE, 0, 0, OFF(rates.fail_503), "R",
     "fraction of POSTs answered 503 (temporary capacity constraint)"},
    {"fail-504", OT_RATE, 0, 0, OFF(rates.fail_504), "R",
     "fraction of POSTs answered 504 (maximum queue wait exceeded)"},
    {"fail-402", OT_RATE, 0, 0, OFF(rates.fail_402), "R",
     "fraction of POSTs answered 402 (insufficient balance)"},
    {"reset-before", OT_RATE, 0, 0, OFF(rates.reset_before), "R",
     "fraction of POSTs whose connection is closed before they are processed"},
    {"reset-after", OT_RATE, 0, 0, OFF(rates.reset_after), "R",
     "fraction of POSTs processed (tasks accepted) whose connection is then closed unanswered"},
    {"drop-callback", OT_RATE, 0, 0, OFF(rates.drop_callback), "R",
     "fraction of callbacks never delivered"},
    {"dup-callback", OT_RATE, 0, 0, OFF(rates.dup_callback), "R",
     "fraction of callbacks delivered twice"},
    {"bare-item", OT_RATE, 0, 0, OFF(rates.bare_item), "R",
     "fraction of callbacks with a bare item body"},
    {"gen-fail", OT_RATE, 0, 0, OFF(rates.gen_fail), "R", "fraction of tasks that fail"},
    {"reorder-acks", OT_RATE, 0, 0, OFF(rates.reorder_acks), "R",
     "fraction of answers whose data entries come in reverse order (Runware promises no order)"},
    {"callback-attempts", OT_LONG, 1, 1000, OFF(callback_attempts), "N",
     "delivery attempts per callback (10)"},
    {"callback-conns", OT_LONG, 1, 256, OFF(callback_conns), "N",
     "kept-alive connections per receiver; callbacks go out in parallel over them (1)"},
    {"retain-s", OT_LONG, 0, 30L * 86400, OFF(retain_s), "N",
     "seconds results stay available to getResponse (3600)"},
    {"max-body", OT_LONG, 1, 1L << 30, OFF(max_body), "BYTES",
     "largest request body, 413 beyond (16 MiB)"},
    {"quiet", OT_QUIET, 0, 0, 0, NULL, "log errors only"},
    {"verbose", OT_VERBOSE, 0, 0, 0, NULL, "log every request and callback attempt"},
    {"help", OT_HELP, 0, 0, 0, NULL, "this text"},
};

#define N_OPTS (sizeof(opt_table) / sizeof(opt_table[0]))

void sim_log(const struct sim *sim, int level, const char *fmt, ...)
{
    va_list ap;
    struct timespec ts;
    struct tm tm;
    char line[1024];

    if (level > sim->opt.verbosity)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%02d:%02d:%02d.%03ld runware-sim: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
            ts.tv_nsec / 1000000, line);
}

static uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna), seeded through splitmix64. */
uint64_t sim_rand(struct sim *sim)
{
    uint64_t *q = sim->rng;
    uint64_t result = rotl64(q[1] * 5, 7) * 9;
    uint64_t t = q[1] << 17;

    q[2] ^= q[0];
    q[3] ^= q[1];
    q[1] ^= q[2];
    q[0] ^= q[3];
    q[2] ^= t;
    q[3] = rotl64(q[3], 45);
    return result;
}

static void rng_seed(struct sim *sim, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        sim->rng[i] = z ^ (z >> 31);
    }
}

double sim_rand_unit(struct sim *sim)
{
    return (double)(sim_rand(sim) >> 11) * 0x1.0p-53;
}

uint64_t sim_rand_below(struct sim *sim, uint64_t n)
{
    return n ? sim_rand(sim) % n : 0;
}

bool sim_chance(struct sim *sim, double rate)
{
    return rate > 0 && sim_rand_unit(sim) < rate;
}

json_object *sim_error_body(const char *code, const char *message)
{
    json_object *body = json_object_new_object(), *errs = json_object_new_array();
    json_object *e = json_object_new_object();
    json_object *c = json_object_new_string(code), *m = json_object_new_string(message);

    if (!body || !errs || !e || !c || !m)
        goto fail;
    json_object_object_add(e, "code", c);
    c = NULL;
    json_object_object_add(e, "message", m);
    m = NULL;
    if (json_object_array_add(errs, e) != 0)
        goto fail;
    e = NULL;
    json_object_object_add(body, "errors", errs);
    return body;
fail:
    json_object_put(body);
    json_object_put(errs);
    json_object_put(e);
    json_object_put(c);
    json_object_put(m);
    return NULL;
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    default:
        return "OTHER";
    }
}

void sim_reply_json(struct sim *sim, struct evhttp_request *req, int status, json_object *obj,
                    bool api)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    const char *text = obj ? json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                                     JSON_C_TO_STRING_NOSLASHESCAPE)
                           : NULL;
    const char *reason = status == 200   ? "OK"
                         : status == 400 ? "Bad Request"
                         : status == 401 ? "Unauthorized"
                         : status == 404 ? "Not Found"
                         : status == 405 ? "Method Not Allowed"
                         : status == 429 ? "Too Many Requests"
                         : status == 500 ? "Internal Server Error"
                         : status == 503 ? "Service Unavailable"
                                         : NULL;

    if (!text) {
        /* Out of memory while serializing: an empty 500 is all that can be said. */
        status = 500;
        reason = "Internal Server Error";
    } else {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "application/json");
        evbuffer_add(out, text, strlen(text));
    }
    if (api) {
        if (status >= 100 && status < 600)
            sim->st.by_status[status]++;
        sim_log(sim, 2, "%s %s -> %d", method_name(evhttp_request_get_command(req)),
                evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req))
                    ? evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req))
                    : "/",
                status);
    }
    evhttp_send_reply(req, status, reason, NULL);
}

/* The request body as JSON, or NULL when it is not one complete JSON text. */
json_object *sim_parse_body(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *text;
    struct json_tokener *tok = NULL;
    json_object *obj = NULL;
    size_t end;

    if (len == 0 || len > INT32_MAX)
        return NULL;
    text = (const char *)evbuffer_pullup(in, -1);
    tok = json_tokener_new();
    if (!text || !tok)
        goto fail;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    obj = json_tokener_parse_ex(tok, text, (int)len);
    if (!obj || json_tokener_get_error(tok) != json_tokener_success)
        goto fail;
    for (end = json_tokener_get_parse_end(tok); end < len; end++)
        if (!strchr(" \t\r\n", text[end]))
            goto fail;
    json_tokener_free(tok);
    return obj;
fail:
    json_object_put(obj);
    if (tok)
        json_tokener_free(tok);
    return NULL;
}

static const struct opt_def *rate_def(const char *name)
{
    char dashed[64];
    size_t n = strlen(name);

    if (n >= sizeof(dashed))
        return NULL;
    for (size_t i = 0; i <= n; i++)
        dashed[i] = name[i] == '_' ? '-' : name[i];
    for (size_t i = 0; i < N_OPTS; i++)
        if (opt_table[i].type == OT_RATE && strcmp(opt_table[i].name, dashed) == 0)
            return &opt_table[i];
    return NULL;
}

int sim_rate_set(struct sim *sim, const char *name, double value)
{
    const struct opt_def *d = rate_def(name);

    if (!d)
        return -1;
    if (!(value >= 0.0 && value <= 1.0))
        return -2;
    *(double *)((char *)&sim->opt + d->off) = value;
    return 0;
}

json_object *sim_rates_json(const struct sim *sim)
{
    json_object *o = json_object_new_object();

    if (!o)
        return NULL;
    for (size_t i = 0; i < N_OPTS; i++) {
        char key[64];
        size_t j;
        json_object *v;

        if (opt_table[i].type != OT_RATE)
            continue;
        for (j = 0; opt_table[i].name[j] && j + 1 < sizeof(key); j++)
            key[j] = opt_table[i].name[j] == '-' ? '_' : opt_table[i].name[j];
        key[j] = '\0';
        v = json_object_new_double(*(const double *)((const char *)&sim->opt + opt_table[i].off));
        if (!v || json_object_object_add(o, key, v) != 0) {
            json_object_put(v);
            json_object_put(o);
            return NULL;
        }
    }
    return o;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: runware-sim [options]\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        char left[64];

        snprintf(left, sizeof(left), "--%s%s%s", opt_table[i].name, opt_table[i].arg ? " " : "",
                 opt_table[i].arg ? opt_table[i].arg : "");
        fprintf(f, "  %-26s %s\n", left, opt_table[i].help);
    }
    fprintf(f, "Prompt triggers: [sim:gen-fail] [sim:drop] [sim:dup] [sim:bare]\n");
}

static int parse_hostport(const char *s, struct sim_opts *o)
{
    const char *colon = strrchr(s, ':');
    const char *h = s;
    size_t hl;
    char *end;
    long port;

    if (!colon || colon == s)
        return -1;
    hl = (size_t)(colon - s);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof(o->listen_host))
        return -1;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 0 || port > 65535)
        return -1;
    memcpy(o->listen_host, h, hl);
    o->listen_host[hl] = '\0';
    o->listen_port = (int)port;
    return 0;
}

/* Applies one option from the table; returns 0, or -1 after printing what is wrong. */
static int apply_opt(const struct opt_def *d, const char *arg, struct sim_opts *o)
{
    char *p = (char *)o + d->off, *end;

    switch (d->type) {
    case OT_HOSTPORT:
        if (parse_hostport(arg, o) != 0)
            goto bad;
        return 0;
    case OT_STRING:
        if (strlen(arg) < (size_t)d->min || strlen(arg) > (size_t)d->max)
            goto bad;
        strcpy(p, arg);
        return 0;
    case OT_LONG: {
        long v;

        errno = 0;
        v = strtol(arg, &end, 10);
        if (errno || *end || end == arg || v < d->min || v > d->max)
            goto bad;
        *(long *)p = v;
        return 0;
    }
    case OT_U64: {
        unsigned long long v;

        errno = 0;
        v = strtoull(arg, &end, 10);
        if (errno || *end || end == arg || arg[0] == '-')
            goto bad;
        *(uint64_t *)p = v;
        o->seed_given = true;
        return 0;
    }
    case OT_RATE: {
        double v;

        errno = 0;
        v = strtod(arg, &end);
        if (errno || *end || end == arg || !(v >= 0.0 && v <= 1.0))
            goto bad;
        *(double *)p = v;
        return 0;
    }
    case OT_QUIET:
        o->verbosity = 0;
        return 0;
    case OT_VERBOSE:
        o->verbosity = 2;
        return 0;
    case OT_HELP:
        break;
    }
bad:
    fprintf(stderr, "runware-sim: bad value for --%s: '%s'\n", d->name, arg ? arg : "");
    return -1;
}

/* Returns 0 to run, 1 when --help was given, -1 on a bad command line. */
static int parse_args(int argc, char **argv, struct sim_opts *o)
{
    struct option lopts[N_OPTS + 1];
    int c, idx;

    memset(lopts, 0, sizeof(lopts));
    for (size_t i = 0; i < N_OPTS; i++) {
        lopts[i].name = opt_table[i].name;
        lopts[i].has_arg = opt_table[i].arg ? required_argument : no_argument;
        lopts[i].val = 0x100 + (int)i;
    }
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", lopts, &idx)) != -1) {
        const struct opt_def *d;

        if (c < 0x100 || c >= 0x100 + (int)N_OPTS) {
            fprintf(stderr, "runware-sim: unknown or incomplete option '%s'\n", argv[optind - 1]);
            return -1;
        }
        d = &opt_table[c - 0x100];
        if (d->type == OT_HELP)
            return 1;
        if (apply_opt(d, optarg, o) != 0)
            return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "runware-sim: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct sim *sim = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    json_object *err = NULL;

    if (!path || !*path)
        path = "/";
    if (strncmp(path, "/_sim/", 6) == 0 && !sim->stopping) {
        sim_admin_handle(sim, req, path);
        return;
    }
    sim->st.requests++;
    if (sim->stopping) {
        err = sim_error_body("serviceUnavailable", "The simulator is shutting down.");
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        sim_reply_json(sim, req, 503, err, true);
    } else if (strcmp(path, "/") == 0 || strcmp(path, "/v1") == 0 || strcmp(path, "/v1/") == 0) {
        if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
            sim_api_handle(sim, req);
            return;
        }
        err = sim_error_body("methodNotAllowed", "Only POST is supported on this endpoint.");
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        sim_reply_json(sim, req, 405, err, true);
    } else {
        err = sim_error_body("notFound", "No such endpoint; use POST /v1.");
        sim_reply_json(sim, req, 404, err, true);
    }
    json_object_put(err);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct sim *sim = arg;

    sim_log(sim, 1, "signal %d: shutting down", (int)sig);
    event_base_loopbreak(sim->base);
}

static int bound_port(struct evhttp_bound_socket *bs)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

int main(int argc, char **argv)
{
    static struct sim sim; /* large (counters); static keeps it off the stack */
    struct evhttp_bound_socket *bs = NULL;
    struct event *sigterm = NULL, *sigint = NULL;
    int rc = 1, r, port;

    snprintf(sim.opt.listen_host, sizeof(sim.opt.listen_host), "127.0.0.1");
    sim.opt.listen_port = 8490;
    snprintf(sim.opt.api_key, sizeof(sim.opt.api_key), "sim-key");
    sim.opt.delay_ms = 50;
    sim.opt.jitter_ms = 50;
    sim.opt.callback_attempts = 10;
    sim.opt.callback_conns = 1;
    sim.opt.retain_s = 3600;
    sim.opt.max_body = 16L << 20;
    sim.opt.verbosity = 1;

    r = parse_args(argc, argv, &sim.opt);
    if (r != 0) {
        usage(r > 0 ? stdout : stderr);
        return r > 0 ? 0 : 2;
    }
    if (!sim.opt.seed_given)
        sim.opt.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    rng_seed(&sim, sim.opt.seed);
    fprintf(stderr, "runware-sim: seed %llu\n", (unsigned long long)sim.opt.seed);
    signal(SIGPIPE, SIG_IGN);

    /* epoll's changelist: evhttp turns each connection's read and write interest off and on
     * around every request and callback; the changes of one loop turn become one epoll_ctl. */
    {
        struct event_config *ec = event_config_new();

        if (!ec)
            goto fail;
        event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        sim.base = event_base_new_with_config(ec);
        event_config_free(ec);
    }
    if (!sim.base)
        goto fail;
    sim.dns = evdns_base_new(sim.base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    if (!sim.dns)
        sim.dns = evdns_base_new(sim.base, 0);
    sim.http = evhttp_new(sim.base);
    if (!sim.dns || !sim.http)
        goto fail;
    evhttp_set_max_body_size(sim.http, (ev_ssize_t)sim.opt.max_body);
    evhttp_set_timeout(sim.http, 120);
    evhttp_set_allowed_methods(sim.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(sim.http, on_request, &sim);
    if (sim_store_init(&sim) != 0 || sim_hooks_init(&sim) != 0 || sim_api_init(&sim) != 0)
        goto fail;
    bs = evhttp_bind_socket_with_handle(sim.http, sim.opt.listen_host,
                                        (ev_uint16_t)sim.opt.listen_port);
    if (!bs) {
        fprintf(stderr, "runware-sim: cannot listen on %s:%d: %s\n", sim.opt.listen_host,
                sim.opt.listen_port, strerror(errno));
        goto fail;
    }
    port = bound_port(bs);
    sigterm = evsignal_new(sim.base, SIGTERM, on_signal, &sim);
    sigint = evsignal_new(sim.base, SIGINT, on_signal, &sim);
    if (!sigterm || !sigint || event_add(sigterm, NULL) != 0 || event_add(sigint, NULL) != 0)
        goto fail;

    printf("runware-sim listening on %s:%d\n", sim.opt.listen_host, port);
    fflush(stdout);
    if (event_base_dispatch(sim.base) < 0)
        goto fail;
    evhttp_del_accept_socket(sim.http, bs);
    bs = NULL;
    rc = 0;
fail:
    if (sim.http && bs)
        evhttp_del_accept_socket(sim.http, bs);
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    sim.stopping = true;
    sim_hooks_free(&sim);
    sim_store_free(&sim);
    sim_api_shutdown(&sim);
    if (rc == 0) {
        /* A moment for the 503s to waiting sync clients to leave; requests still arriving
         * on open connections are answered 503 too. */
        struct timeval flush = {0, 100000};

        event_base_loopexit(sim.base, &flush);
        event_base_dispatch(sim.base);
    }
    if (sim.http)
        evhttp_free(sim.http);
    if (sim.dns)
        evdns_base_free(sim.dns, 0);
    if (sim.base)
        event_base_free(sim.base);
    if (rc != 0)
        fprintf(stderr, "runware-sim: start-up failed\n");
    return rc;
}
