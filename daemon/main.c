/* runwared: options, configuration, wiring of the stages, signals, run, teardown. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/rand.h>

#include "callback.h"
#include "http_client.h"
#include "intake.h"
#include "log.h"
#include "notify.h"
#include "reconcile.h"
#include "redis.h"
#include "rw_config.h"
#include "rw_schema.h"
#include "rw_token.h"
#include "store.h"
#include "submit.h"
#include "util.h"

#define DEFAULT_CONFIG   "/etc/runwared/runwared.conf"
#define SHUTDOWN_GRACE_S 30 /* at most this long to hand in-flight tasks to Runware */
#define MAX_SECRET_FILE  4096
#define API_MAX_RESPONSE (8 << 20)

struct rwd {
    struct event_base *base;
    struct rw_config cfg;
    struct rw_schema *schema;
    struct rwd_secret secret;
    struct rwd_redis *rcmd, *rblock;
    struct rwd_store *store;
    struct rwd_http *http;
    struct rwd_submit *submit;
    struct rwd_intake *intake;
    struct rwd_callback *callback;
    struct rwd_reconcile *reconcile;
    struct event *sigterm, *sigint, *sighup, *grace;
    int stopping;
};

static void usage(void)
{
    fprintf(stderr, "usage: runwared [-dtV] [-c file]\n"
                    "  -c file  configuration (default " DEFAULT_CONFIG ")\n"
                    "  -t       check the configuration (and the files it names), then exit\n"
                    "  -d       log at debug level\n"
                    "  -V       print the version\n");
    exit(2);
}

/* Reads a small file whole, trailing whitespace removed. Returns NULL with errno set. */
static char *read_trimmed(const char *path, size_t *lenp)
{
    char *buf = NULL;
    ssize_t n;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return NULL;
    if (!(buf = malloc(MAX_SECRET_FILE + 1)))
        goto fail;
    while ((n = read(fd, buf + len, MAX_SECRET_FILE - len)) > 0)
        len += n;
    if (n < 0)
        goto fail;
    if (len == MAX_SECRET_FILE) {
        errno = EFBIG;
        goto fail;
    }
    while (len && strchr(" \t\r\n", buf[len - 1]))
        len--;
    buf[len] = '\0';
    close(fd);
    *lenp = len;
    return buf;
fail:
    if (buf)
        explicit_bzero(buf, MAX_SECRET_FILE + 1);
    free(buf);
    close(fd);
    return NULL;
}

static char *load_api_key(const struct rw_config *cfg)
{
    const char *env = getenv("RUNWARE_API_KEY");
    size_t len;
    char *key;

    if (cfg->api_key_file) {
        if (!(key = read_trimmed(cfg->api_key_file, &len)))
            fatal("api_key_file %s", cfg->api_key_file);
    } else if (env && *env) {
        if (!(key = strdup(env)))
            fatal("strdup");
    } else {
        fatalx("no API key: set api_key_file or the environment variable RUNWARE_API_KEY");
    }
    if (!*key || strpbrk(key, "\r\n"))
        fatalx("the API key is empty or spans several lines");
    return key;
}

static void load_secret_file(struct rwd *d)
{
    if (!d->cfg.webhook_secret_file)
        return;
    if (!(d->secret.key = read_trimmed(d->cfg.webhook_secret_file, &d->secret.len)))
        fatal("webhook_secret_file %s", d->cfg.webhook_secret_file);
    if (d->secret.len < RW_SECRET_MIN)
        fatalx("webhook_secret_file %s: a secret needs at least %d bytes",
               d->cfg.webhook_secret_file, RW_SECRET_MIN);
}

/* redis_url without its password, which never reaches a log. */
static const char *redis_url_for_log(const char *url)
{
    static char buf[512];
    const char *at = strchr(url, '@');

    if (!at)
        return url;
    snprintf(buf, sizeof(buf), "redis://****%s", at);
    return buf;
}

/* Does url's host name this machine only? */
static int loopback_url(const char *url)
{
    const char *host = strstr(url, "://");

    if (!host)
        return 0;
    host += 3;
    return strncmp(host, "127.", 4) == 0 || strncmp(host, "localhost", 9) == 0 ||
           strncmp(host, "[::1]", 5) == 0;
}

static void became_ready(struct rwd *d)
{
    rwd_callback_set_ready(d->callback, 1);
    rwd_intake_start(d->intake);
    rwd_notify("READY=1\nSTATUS=serving");
    log_info("ready: taking jobs from %s:jobs, callbacks at %s/callback/", d->cfg.key_prefix,
             d->cfg.public_url);
}

static void on_secret(redisReply *reply, void *arg)
{
    struct rwd *d = arg;

    if (!reply || reply->type != REDIS_REPLY_STRING || reply->len < RW_SECRET_MIN) {
        log_warnx("cannot get the shared webhook secret from Redis: %s",
                  reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "no usable answer");
        return; /* the next reconnect tries again */
    }
    if (!(d->secret.key = malloc(reply->len + 1)))
        fatal("malloc");
    memcpy(d->secret.key, reply->str, reply->len);
    d->secret.key[reply->len] = '\0';
    d->secret.len = reply->len;
    became_ready(d);
}

static void on_cmd_ready(void *arg)
{
    struct rwd *d = arg;
    unsigned char rnd[32];
    char hex[65];

    if (d->stopping)
        return;
    if (d->secret.len) {
        became_ready(d);
        return;
    }
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        fatalx("RAND_bytes failed");
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
    if (rwd_store_secret(d->store, hex, on_secret, d) < 0)
        log_warnx("cannot ask Redis for the webhook secret");
    explicit_bzero(hex, sizeof(hex));
    explicit_bzero(rnd, sizeof(rnd));
}

static void on_cmd_lost(void *arg)
{
    struct rwd *d = arg;

    rwd_callback_set_ready(d->callback, 0);
    rwd_intake_lost(d->intake);
    rwd_notify("STATUS=Redis connection lost; reconnecting");
}

static void on_block_ready(void *arg)
{
    struct rwd *d = arg;

    if (d->secret.len && !d->stopping)
        rwd_intake_start(d->intake);
}

static void on_block_lost(void *arg)
{
    struct rwd *d = arg;

    rwd_intake_lost(d->intake);
}

static void on_drained(void *arg)
{
    struct rwd *d = arg;

    log_info("shutdown: every task handed over");
    event_base_loopexit(d->base, NULL);
}

static void on_grace_over(evutil_socket_t fd, short what, void *arg)
{
    struct rwd *d = arg;

    log_warnx("shutdown: %zu tasks still held after %d s; their jobs stay in the processing "
              "list for the next start",
              rwd_submit_count(d->submit), SHUTDOWN_GRACE_S);
    event_base_loopexit(d->base, NULL);
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    struct rwd *d = arg;
    struct timeval tv = {SHUTDOWN_GRACE_S, 0};

    if (d->stopping) {
        log_warnx("second signal: stopping now");
        event_base_loopbreak(d->base);
        return;
    }
    d->stopping = 1;
    log_info("%s: stopping: no new jobs; finishing %zu tasks", strsignal(sig),
             rwd_submit_count(d->submit));
    rwd_notify("STOPPING=1");
    rwd_intake_stop(d->intake);
    rwd_reconcile_stop(d->reconcile);
    evtimer_add(d->grace, &tv);
    rwd_submit_drain(d->submit, on_drained, d);
}

static void gauges(struct evbuffer *out, void *arg)
{
    struct rwd *d = arg;

    evbuffer_add_printf(out,
                        "# HELP runwared_tasks_in_hand Tasks taken and not yet acknowledged.\n"
                        "# TYPE runwared_tasks_in_hand gauge\nrunwared_tasks_in_hand %zu\n"
                        "# HELP runwared_submit_requests_in_flight POSTs awaiting an answer.\n"
                        "# TYPE runwared_submit_requests_in_flight gauge\n"
                        "runwared_submit_requests_in_flight %zu\n"
                        "# HELP runwared_redis_connected 1 when Redis is connected.\n"
                        "# TYPE runwared_redis_connected gauge\nrunwared_redis_connected %d\n",
                        rwd_submit_count(d->submit) + rwd_intake_busy(d->intake),
                        rwd_http_inflight(d->http), rwd_store_ready(d->store));
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    log_info("SIGHUP: nothing to reload; restart runwared to apply a new configuration");
}


/* The event base. epoll's changelist folds the changes a turn of the loop makes to one socket
 * (evhttp turns a connection's read and write interest off and on around every request) into
 * at most one epoll_ctl at the next dispatch. No descriptor the loop watches is dup()ed. */
static struct event_base *rwd_base_new(void)
{
    struct event_config *ec = event_config_new();
    struct event_base *base;

    if (!ec)
        return NULL;
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    base = event_base_new_with_config(ec);
    event_config_free(ec);
    return base;
}
static void setup(struct rwd *d, const char *api_key)
{
    struct rw_redis_addr addr = {0};
    char err[256], auth[1024];
    /* "Expect:" off: no 100-continue round trip before each body. */
    const char *headers[] = {"Content-Type: application/json", "Accept: application/json",
                             "Expect:", auth, NULL};

    if (rw_redis_url_parse(d->cfg.redis_url, &addr, err, sizeof(err)) < 0)
        fatalx("redis_url: %s", err);
    if (snprintf(auth, sizeof(auth), "Authorization: Bearer %s", api_key) >= (int)sizeof(auth))
        fatalx("the API key is too long");
    if (!(d->base = rwd_base_new()))
        fatalx("event_base_new");
    if (rwd_notify_init(d->base) < 0)
        fatalx("systemd notification setup failed");
    d->http = rwd_http_new(d->base, headers, d->cfg.request_timeout_ms, API_MAX_RESPONSE);
    explicit_bzero(auth, sizeof(auth));
    d->rcmd = rwd_redis_new(d->base, &addr, "redis");
    d->rblock = rwd_redis_new(d->base, &addr, "redis (intake)");
    rw_redis_addr_free(&addr);
    if (!d->http || !d->rcmd || !d->rblock)
        fatalx("out of memory");
    if (!(d->store = rwd_store_new(d->rcmd, d->rblock, &d->cfg)) ||
        !(d->submit = rwd_submit_new(d->base, &d->cfg, d->http, d->store)) ||
        !(d->intake =
              rwd_intake_new(&d->cfg, d->store, d->submit, d->schema, &d->secret, d->base)) ||
        !(d->reconcile = rwd_reconcile_new(d->base, &d->cfg, d->http, d->store)))
        fatalx("out of memory");
    if (!(d->callback = rwd_callback_new(d->base, &d->cfg, d->store, &d->secret)))
        exit(1);
    rwd_submit_set_room_cb(d->submit, rwd_intake_room, d->intake);
    rwd_callback_set_gauges(d->callback, gauges, d);
    rwd_redis_set_handlers(d->rcmd, on_cmd_ready, on_cmd_lost, d);
    rwd_redis_set_handlers(d->rblock, on_block_ready, on_block_lost, d);

    d->sigterm = evsignal_new(d->base, SIGTERM, on_stop_signal, d);
    d->sigint = evsignal_new(d->base, SIGINT, on_stop_signal, d);
    d->sighup = evsignal_new(d->base, SIGHUP, on_hup, d);
    d->grace = evtimer_new(d->base, on_grace_over, d);
    if (!d->sigterm || !d->sigint || !d->sighup || !d->grace || event_add(d->sigterm, NULL) ||
        event_add(d->sigint, NULL) || event_add(d->sighup, NULL))
        fatalx("cannot set up signal handling");
    signal(SIGPIPE, SIG_IGN);
}

static void teardown(struct rwd *d)
{
    /* Redis first: closing it answers every pending command with NULL, and each stage copes
     * with that while it still exists. Then the stages, in reverse order of setup. */
    rwd_redis_free(d->rblock);
    rwd_redis_free(d->rcmd);
    rwd_callback_free(d->callback);
    rwd_reconcile_free(d->reconcile);
    rwd_intake_free(d->intake);
    rwd_http_free(d->http);
    rwd_submit_free(d->submit);
    rwd_store_free(d->store);
    if (d->sigterm)
        event_free(d->sigterm);
    if (d->sigint)
        event_free(d->sigint);
    if (d->sighup)
        event_free(d->sighup);
    if (d->grace)
        event_free(d->grace);
    rwd_notify_free();
    if (d->base)
        event_base_free(d->base);
    rw_schema_free(d->schema);
    if (d->secret.key)
        explicit_bzero(d->secret.key, d->secret.len);
    free(d->secret.key);
    rw_config_free(&d->cfg);
}

int main(int argc, char **argv)
{
    static struct rwd d;
    const char *conf = DEFAULT_CONFIG;
    char err[8192], *api_key;
    int ch, test_only = 0, debug = 0;

    while ((ch = getopt(argc, argv, "c:dtVh")) != -1) {
        switch (ch) {
        case 'c':
            conf = optarg;
            break;
        case 'd':
            debug = 1;
            break;
        case 't':
            test_only = 1;
            break;
        case 'V':
            printf("runwared %s\n", RWD_VERSION);
            return 0;
        default:
            usage();
        }
    }
    if (optind != argc)
        usage();

    log_init(RW_LOG_INFO);
    if (rw_config_init(&d.cfg) < 0)
        fatalx("out of memory");
    if (rw_config_load(&d.cfg, conf, err, sizeof(err)) < 0 ||
        rw_config_finish(&d.cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        rw_config_free(&d.cfg);
        return 1;
    }
    log_setlevel(debug ? RW_LOG_DEBUG : d.cfg.log_level);
    if (d.cfg.model_spec && !(d.schema = rw_schema_load(d.cfg.model_spec, err, sizeof(err))))
        fatalx("model_spec: %s", err);
    api_key = load_api_key(&d.cfg);
    load_secret_file(&d);
    if (test_only) {
        printf("%s: configuration OK\n", conf);
        explicit_bzero(api_key, strlen(api_key));
        free(api_key);
        teardown(&d);
        return 0;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        fatalx("curl_global_init failed");
    setup(&d, api_key);
    explicit_bzero(api_key, strlen(api_key));
    free(api_key);

    log_info("runwared %s starting: instance %s, Redis %s, Runware %s%s", RWD_VERSION,
             d.cfg.instance_id, redis_url_for_log(d.cfg.redis_url), d.cfg.api_url,
             d.schema ? ", schema validation on" : ", structural validation only");
    if (loopback_url(d.cfg.public_url) && !loopback_url(d.cfg.api_url))
        log_warnx("public_url %s is a loopback address: Runware cannot call it back (results "
                  "will arrive only by polling); set public_url to the address Runware reaches",
                  d.cfg.public_url);
    rwd_redis_start(d.rcmd);
    rwd_redis_start(d.rblock);
    event_base_dispatch(d.base);

    teardown(&d);
    curl_global_cleanup();
    log_info("stopped");
    return 0;
}
