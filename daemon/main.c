/* runwared: options, configuration, wiring of the stages, signals, run, teardown. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/rand.h>

#include "admin.h"
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
    struct rwd_admin *admin;
    struct rwd_reconcile *reconcile;
    struct event *sigterm, *sigint, *sighup, *grace;
    const char *conf_path;
    int stopping;
    int debug; /* -d: debug level whatever log_level says */
};

/* --help on standard output (exit 0), or a usage error on standard error (exit 2). */
static void usage(int ok)
{
    fprintf(ok ? stdout : stderr,
            "usage: runwared [-d] [-c FILE]\n"
            "       runwared --check-config [-c FILE]\n"
            "       runwared --version | --help\n"
            "Turns a Redis list into a reliable pipeline to Runware's image API; runs in the\n"
            "foreground and logs to standard error.\n"
            "  -c, --config FILE    configuration (default " DEFAULT_CONFIG ")\n"
            "  -t, --check-config   check the configuration and the files it names, print\n"
            "                       \"configuration OK\" or every problem as file:line: message,\n"
            "                       then exit (0 when OK)\n"
            "  -d, --debug          log at debug level, whatever log_level says\n"
            "  -V, --version        print the version and exit\n"
            "  -h, --help           print this help and exit\n"
            "See runwared(8) and runwared.conf(5).\n");
    exit(ok ? 0 : 2);
}

/* The line of path on which key is set, 0 if none: to point --check-config at it. */
static int line_of_key(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    size_t klen = strlen(key);
    int n = 0, found = 0;

    if (!f)
        return 0;
    while (!found && fgets(line, sizeof(line), f)) {
        const char *p = line + strspn(line, " \t");

        n++;
        if (strncmp(p, key, klen) == 0 && strchr(" \t=", p[klen]))
            found = n;
    }
    fclose(f);
    return found;
}

/* Prints `conf:line: key: message` (no line when the key is not in the file). */
static void problem(const char *conf, const char *key, const char *msg)
{
    int line = line_of_key(conf, key);

    if (line)
        fprintf(stderr, "%s:%d: %s: %s\n", conf, line, key, msg);
    else
        fprintf(stderr, "%s: %s: %s\n", conf, key, msg);
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

/* Secrets belong to runwared alone: warns when group or others may read the file. */
static void warn_if_readable(const char *what, const char *path)
{
    struct stat sb;

    if (stat(path, &sb) == 0 && (sb.st_mode & (S_IRGRP | S_IROTH)))
        log_warnx("%s %s may be read by %s (mode %04o); make it readable by runwared only "
                  "(chmod 0600, or 0640 with a group of runwared's own)",
                  what, path, sb.st_mode & S_IROTH ? "others" : "its group",
                  (unsigned)(sb.st_mode & 07777));
}

static char *read_key_file(const char *what, const char *path, char *err, size_t errlen)
{
    size_t len;
    char *key;

    if (!(key = read_trimmed(path, &len))) {
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    warn_if_readable(what, path);
    return key;
}

/* The API key: api_key_file, else the systemd credential api_key, else $RUNWARE_API_KEY.
 * NULL with a message in err (which never holds the key). */
static char *load_api_key(const struct rw_config *cfg, char *err, size_t errlen)
{
    const char *env = getenv("RUNWARE_API_KEY");
    const char *creds = getenv("CREDENTIALS_DIRECTORY");
    char cred[PATH_MAX];
    char *key;

    if (cfg->api_key_file) {
        key = read_key_file("api_key_file", cfg->api_key_file, err, errlen);
    } else if (creds && *creds &&
               snprintf(cred, sizeof(cred), "%s/api_key", creds) < (int)sizeof(cred) &&
               access(cred, F_OK) == 0) {
        key = read_key_file("credential", cred, err, errlen);
    } else if (env && *env) {
        if (!(key = strdup(env)))
            snprintf(err, errlen, "out of memory");
    } else {
        snprintf(err, errlen,
                 "no API key: set api_key_file, the systemd credential api_key "
                 "(LoadCredential=api_key:FILE) or the environment variable RUNWARE_API_KEY");
        return NULL;
    }
    if (key && (!*key || strpbrk(key, "\r\n"))) {
        snprintf(err, errlen, "the API key is empty or spans several lines");
        explicit_bzero(key, strlen(key));
        free(key);
        return NULL;
    }
    return key;
}

/* Gives the HTTP client the headers of every Runware request, the key among them. */
static int configure_http(struct rwd *d, const char *api_key)
{
    char auth[1024];
    /* "Expect:" off: no 100-continue round trip before each body. */
    const char *headers[] = {"Content-Type: application/json", "Accept: application/json",
                             "Expect:", auth, NULL};
    int rc;

    if (snprintf(auth, sizeof(auth), "Authorization: Bearer %s", api_key) >= (int)sizeof(auth)) {
        explicit_bzero(auth, sizeof(auth));
        return -1;
    }
    rc = rwd_http_configure(d->http, headers, d->cfg.request_timeout_ms);
    explicit_bzero(auth, sizeof(auth));
    return rc;
}

/* The secret's bytes become the key tokens are made with; they are not kept. */
static void set_secret(struct rwd *d, const char *secret, size_t len)
{
    if (!(d->secret.key = rw_token_key_new(secret, len)))
        fatalx("cannot set up the webhook secret: out of memory");
}

static void load_secret_file(struct rwd *d)
{
    char *secret;
    size_t len;

    if (!d->cfg.webhook_secret_file)
        return;
    if (!(secret = read_trimmed(d->cfg.webhook_secret_file, &len)))
        fatal("webhook_secret_file %s", d->cfg.webhook_secret_file);
    warn_if_readable("webhook_secret_file", d->cfg.webhook_secret_file);
    if (len < RW_SECRET_MIN)
        fatalx("webhook_secret_file %s: a secret needs at least %d bytes",
               d->cfg.webhook_secret_file, RW_SECRET_MIN);
    set_secret(d, secret, len);
    explicit_bzero(secret, len);
    free(secret);
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
    rwd_admin_set_ready(d->admin, 1);
    rwd_intake_start(d->intake);
    rwd_notify("READY=1");
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
    set_secret(d, reply->str, reply->len);
    became_ready(d);
}

static void on_cmd_ready(void *arg)
{
    struct rwd *d = arg;
    unsigned char rnd[32];
    char hex[65];

    if (d->stopping)
        return;
    if (d->secret.key) {
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

    rwd_admin_set_ready(d->admin, 0);
    rwd_intake_lost(d->intake);
}

static void on_block_ready(void *arg)
{
    struct rwd *d = arg;

    if (d->secret.key && !d->stopping)
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

    log_warnx("shutdown: %zu tasks still being submitted after %d s (shutdown_timeout); they "
              "stay registered for the next start",
              rwd_submit_count(d->submit), d->cfg.shutdown_timeout);
    event_base_loopexit(d->base, NULL);
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    struct rwd *d = arg;
    struct timeval tv = {d->cfg.shutdown_timeout, 0};

    if (d->stopping) {
        log_warnx("second signal: stopping now");
        event_base_loopbreak(d->base);
        return;
    }
    d->stopping = 1;
    log_info("%s: stopping: no new jobs; settling the requests in flight", strsignal(sig));
    rwd_notify("STOPPING=1");
    rwd_admin_set_ready(d->admin, 0);
    rwd_intake_stop(d->intake);
    rwd_reconcile_stop(d->reconcile);
    evtimer_add(d->grace, &tv);
    rwd_submit_drain(d->submit, on_drained, d);
}

/* Keys whose new value needs a restart: the connections, names and listener they shape are
 * made once. */
static const struct {
    const char *name;
    size_t off;
} fixed_keys[] = {
    {"redis_url", offsetof(struct rw_config, redis_url)},
    {"listen", offsetof(struct rw_config, listen)},
    {"public_url", offsetof(struct rw_config, public_url)},
    {"key_prefix", offsetof(struct rw_config, key_prefix)},
    {"instance_id", offsetof(struct rw_config, instance_id)},
    {"webhook_secret_file", offsetof(struct rw_config, webhook_secret_file)},
    {"admin_listen", offsetof(struct rw_config, admin_listen)},
};

/* Numbers fixed at start the same way (the listener sizes its connection table once). */
static const struct {
    const char *name;
    size_t off;
} fixed_ints[] = {
    {"max_callback_connections", offsetof(struct rw_config, max_callback_connections)},
};

static char **cfg_str(struct rw_config *c, size_t off)
{
    return (char **)((char *)c + off);
}

/* SIGHUP: reads the configuration file again. A file with any error, a key that cannot be read
 * or a schema that does not load changes nothing. Keys that need a restart keep their value
 * (with a warning); everything else applies at once, the API key included, and a submission
 * stopped by a refused key is tried again. */
static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    struct rwd *d = arg;
    struct rw_config next;
    struct rw_schema *schema = NULL;
    char err[8192], *key = NULL;

    rwd_notify("RELOADING=1");
    log_info("SIGHUP: reloading %s", d->conf_path);
    if (rw_config_init(&next) < 0) {
        log_warnx("reload: out of memory; the configuration is unchanged");
        goto done;
    }
    if (rw_config_load(&next, d->conf_path, err, sizeof(err)) < 0 ||
        rw_config_finish(&next, err, sizeof(err)) < 0) {
        for (char *line = strtok(err, "\n"); line; line = strtok(NULL, "\n"))
            log_warnx("reload: %s", line);
        log_warnx("reload: the configuration is unchanged");
        goto done_free;
    }
    if (next.model_spec && !(schema = rw_schema_load(next.model_spec, err, sizeof(err)))) {
        log_warnx("reload: model_spec: %s; the configuration is unchanged", err);
        goto done_free;
    }
    if (!(key = load_api_key(&next, err, sizeof(err)))) {
        log_warnx("reload: %s; the configuration is unchanged", err);
        goto done_free;
    }
    for (size_t i = 0; i < sizeof(fixed_keys) / sizeof(fixed_keys[0]); i++) {
        char **now = cfg_str(&d->cfg, fixed_keys[i].off), **new = cfg_str(&next, fixed_keys[i].off);
        char *tmp;

        if ((*now == NULL) != (*new == NULL) || (*now && strcmp(*now, *new) != 0))
            log_warnx("reload: %s changed; it takes effect at the next restart",
                      fixed_keys[i].name);
        tmp = *now; /* the running value stays (stages hold it); next frees the new one */
        *now = *new;
        *new = tmp;
    }
    for (size_t i = 0; i < sizeof(fixed_ints) / sizeof(fixed_ints[0]); i++) {
        int *now = (int *)((char *)&d->cfg + fixed_ints[i].off);
        int *new = (int *)((char *)&next + fixed_ints[i].off);

        if (*now != *new)
            log_warnx("reload: %s changed; it takes effect at the next restart",
                      fixed_ints[i].name);
        *new = *now;
    }
    {
        struct rw_config old = d->cfg;

        d->cfg = next;
        next = old;
    }
    if (configure_http(d, key) < 0)
        log_warnx("reload: cannot set the new API key (out of memory or too long); the previous "
                  "one stays in use");
    rw_schema_free(d->schema);
    d->schema = schema;
    schema = NULL;
    rwd_intake_set_schema(d->intake, d->schema);
    log_setlevel(d->debug ? RW_LOG_DEBUG : d->cfg.log_level);
    rwd_submit_reload(d->submit);
    log_info("reload: done");
done_free:
    if (key)
        explicit_bzero(key, strlen(key));
    free(key);
    rw_schema_free(schema);
    rw_config_free(&next);
done:
    rwd_notify("READY=1");
}

/* For /readyz: why intake is paused, or NULL. */
static const char *intake_paused(void *submit)
{
    return rwd_submit_paused(submit);
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
    char err[256];

    if (rw_redis_url_parse(d->cfg.redis_url, &addr, err, sizeof(err)) < 0)
        fatalx("redis_url: %s", err);
    if (!(d->base = rwd_base_new()))
        fatalx("event_base_new");
    if (rwd_notify_init(d->base) < 0)
        fatalx("systemd notification setup failed");
    if (!(d->http = rwd_http_new(d->base, NULL, d->cfg.request_timeout_ms, API_MAX_RESPONSE)) ||
        configure_http(d, api_key) < 0)
        fatalx("cannot set up the HTTP client (out of memory, or an API key over 1000 bytes)");
    d->rcmd = rwd_redis_new(d->base, &addr, "redis");
    d->rblock = rwd_redis_new(d->base, &addr, "redis (intake)");
    if (d->rcmd)
        rwd_redis_one_batch(d->rcmd);
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
    {
        struct rwd_admin_deps deps = {d->store, d->submit, d->intake, d->http};

        if (!(d->admin = rwd_admin_new(d->base, &d->cfg, &deps)))
            exit(1);
    }
    rwd_submit_set_room_cb(d->submit, rwd_intake_room, d->intake);
    rwd_admin_set_paused(d->admin, intake_paused, d->submit);
    rwd_redis_set_handlers(d->rcmd, on_cmd_ready, on_cmd_lost, d);
    rwd_redis_batch_hook(d->rcmd, rwd_callback_batch, d->callback);
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
    rwd_admin_free(d->admin);
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
    rw_token_key_free(d->secret.key);
    rw_config_free(&d->cfg);
}

int main(int argc, char **argv)
{
    static struct rwd d;
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"check-config", no_argument, NULL, 't'},
        {"debug", no_argument, NULL, 'd'},        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *conf = DEFAULT_CONFIG;
    char err[8192], *api_key;
    int ch, test_only = 0, debug = 0, problems = 0;

    while ((ch = getopt_long(argc, argv, "c:dtVh", longopts, NULL)) != -1) {
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
        case 'h':
            usage(1);
            break;
        default:
            usage(0);
        }
    }
    if (optind != argc)
        usage(0);

    d.conf_path = conf;
    d.debug = debug;
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
    if (d.cfg.model_spec && !(d.schema = rw_schema_load(d.cfg.model_spec, err, sizeof(err)))) {
        if (!test_only)
            fatalx("model_spec: %s", err);
        problem(conf, "model_spec", err);
        problems++;
    }
    if (test_only && d.cfg.webhook_secret_file) {
        size_t len;
        char *sec = read_trimmed(d.cfg.webhook_secret_file, &len);

        if (!sec || len < RW_SECRET_MIN) {
            snprintf(err, sizeof(err), "%s: %s", d.cfg.webhook_secret_file,
                     sec ? "a secret needs at least 16 bytes" : strerror(errno));
            problem(conf, "webhook_secret_file", err);
            problems++;
        }
        if (sec)
            explicit_bzero(sec, len);
        free(sec);
    }
    if (test_only && strcmp(d.cfg.admin_listen, d.cfg.listen) == 0) {
        problem(conf, "admin_listen", "must differ from listen");
        problems++;
    }
    if (!(api_key = load_api_key(&d.cfg, err, sizeof(err)))) {
        if (!test_only)
            fatalx("%s", err);
        problem(conf, d.cfg.api_key_file ? "api_key_file" : "api key", err);
        problems++;
    }
    if (problems) {
        if (api_key)
            explicit_bzero(api_key, strlen(api_key));
        free(api_key);
        teardown(&d);
        return 1;
    }
    load_secret_file(&d);
    if (test_only) {
        puts("configuration OK");
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
