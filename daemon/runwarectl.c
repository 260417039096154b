/* runwarectl: runwared's command-line tool, one subcommand per table row. It reads the same
 * configuration as runwared (-c FILE) and talks to Redis through the producer API
 * (lib/rw_producer.h). */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rw_config.h"
#include "rw_job.h"
#include "rw_producer.h"
#include "rw_schema.h"

#define DEFAULT_CONFIG   "/etc/runwared/runwared.conf"
#define DEFAULT_SPEC     "/etc/runwared/flux-1-dev-srpo.schema.json"
#define SPEC_ENV         "RUNWARED_MODEL_SPEC"
#define MAX_JOB_BYTES    (64 * 1024 * 1024)
#define REDIS_TIMEOUT_MS 5000

/* Exit statuses shared by every subcommand. */
enum { EX_OK = 0, EX_REFUSED = 1, EX_USAGE_OR_IO = 2, EX_TIMEOUT = 3 };

/* The configuration: -c FILE, else DEFAULT_CONFIG when it exists, else the defaults. */
static struct rw_config cfg;
static const char *cfg_path; /* NULL: defaults only */
static bool cfg_given;       /* -c was given */

struct command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *args;
    const char *help;
};

static int cmd_validate(int argc, char **argv);
static int cmd_enqueue(int argc, char **argv);
static int cmd_stats(int argc, char **argv);
static int cmd_requeue_dead(int argc, char **argv);
static int cmd_inspect(int argc, char **argv);

static const struct command commands[] = {
    {"validate", cmd_validate, "[--spec FILE] FILE|-",
     "check one job (a bare task or {\"task\",\"meta\",\"resultList\"}) exactly as runwared "
     "would;\nprint `parameter: message [code]` per problem, or `valid`. Exit 0 valid, 1 "
     "invalid,\n2 usage, input or spec error. The spec is --spec, else $" SPEC_ENV
     ", else the\nconfiguration's model_spec (with -c), else " DEFAULT_SPEC "."},
    {"enqueue", cmd_enqueue, "[--wait] [--timeout S] FILE|-",
     "validate one job (with the configuration's model_spec, when set), push it onto\n"
     "<key_prefix>:jobs and print its taskUUID. With --wait, the record goes to a list of its\n"
     "own (<key_prefix>:reply:<taskUUID>) and is printed as one JSON line when it comes; on a\n"
     "terminal, standard error shows the time elapsed and the images received. Exit 0 (with\n"
     "--wait: a success record), 1 invalid job or error record, 2 usage, input or Redis error,\n"
     "3 no record within --timeout S (default job_timeout + 60)."},
    {"stats", cmd_stats, "",
     "print the jobs queued, tasks in flight (registered, not complete), dead letters and\n"
     "live instances (a heartbeat within adopt_after)."},
    {"requeue-dead", cmd_requeue_dead, "[--max N]",
     "move dead letters (<key_prefix>:dead) back to the jobs list, oldest first; print\n"
     "how many."},
    {"inspect", cmd_inspect, "TASKUUID",
     "print what Redis holds about one task as a JSON object (state, owner, resultList,\n"
     "images expected and received, times; the task while not yet acknowledged, its webhook\n"
     "token hidden). Exit 1 when Redis knows no such task."},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: runwarectl COMMAND [ARGS]\n"
               "       runwarectl -c FILE COMMAND [ARGS]\n"
               "  -c FILE  runwared's configuration (default " DEFAULT_CONFIG
               ", when it exists)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        const char *h = commands[i].help;
        fprintf(f, "  %s %s\n", commands[i].name, commands[i].args);
        while (*h) {
            size_t n = strcspn(h, "\n");
            fprintf(f, "      %.*s\n", (int)n, h);
            h += n + (h[n] == '\n');
        }
    }
}

/* Reads all of path ("-": standard input) into a malloc'd buffer. NULL after a message. */
static char *read_input(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf = NULL, *nb;
    size_t cap = 0, n = 0, got;

    if (!f) {
        fprintf(stderr, "runwarectl: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    do {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 65536;
            if (cap > MAX_JOB_BYTES + 65536) {
                fprintf(stderr, "runwarectl: %s: larger than %d bytes\n", path, MAX_JOB_BYTES);
                goto fail;
            }
            if (!(nb = realloc(buf, cap))) {
                fprintf(stderr, "runwarectl: out of memory\n");
                goto fail;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    if (ferror(f)) {
        fprintf(stderr, "runwarectl: %s: read error\n", path);
        goto fail;
    }
    if (f != stdin)
        fclose(f);
    *len = n;
    return buf;
fail:
    if (f != stdin)
        fclose(f);
    free(buf);
    return NULL;
}

/* Writes s with control characters escaped, so that one error stays one line. */
static void put_line_safe(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\r')
            fputs("\\r", stdout);
        else if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static const char *member(json_object *e, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(e, key, &v) ? json_object_get_string(v) : NULL;
}

static void print_errors(json_object *errors)
{
    for (size_t i = 0; i < json_object_array_length(errors); i++) {
        json_object *e = json_object_array_get_idx(errors, i);
        const char *param = member(e, "parameter"), *msg = member(e, "message");
        const char *code = member(e, "code");

        if (param) {
            put_line_safe(param);
            fputs(": ", stdout);
        }
        put_line_safe(msg ? msg : "(no message)");
        fputs(" [", stdout);
        put_line_safe(code ? code : "?");
        fputs("]\n", stdout);
    }
}

/* Parses and validates a job, printing its problems (after "runwarectl: intro:" on standard
 * error when intro is given). Returns EX_OK, EX_REFUSED or EX_USAGE_OR_IO (out of memory). */
static int parse_job(const char *buf, size_t len, const struct rw_schema *schema, const char *intro)
{
    struct rw_job job;
    json_object *errors = NULL;
    int rc = EX_USAGE_OR_IO;

    switch (rw_job_parse(buf, len, schema, &job, &errors)) {
    case 0:
        rc = EX_OK;
        break;
    case -1:
        if (intro) {
            fprintf(stderr, "runwarectl: %s:\n", intro);
            fflush(stderr);
        }
        print_errors(errors);
        rc = EX_REFUSED;
        break;
    default:
        fprintf(stderr, "runwarectl: out of memory\n");
        break;
    }
    rw_job_clear(&job);
    json_object_put(errors);
    return rc;
}

static int validate_usage(const char *why)
{
    if (why)
        fprintf(stderr, "runwarectl validate: %s\n", why);
    fprintf(stderr, "usage: runwarectl validate %s\n", commands[0].args);
    return EX_USAGE_OR_IO;
}

static int cmd_validate(int argc, char **argv)
{
    const char *spec = NULL, *file = NULL;
    struct rw_schema *schema = NULL;
    char err[1024], *buf = NULL;
    size_t len = 0;
    int i, rc = EX_USAGE_OR_IO, opts = 1;

    for (i = 1; i < argc; i++) {
        if (opts && (strcmp(argv[i], "--spec") == 0 || strcmp(argv[i], "-s") == 0)) {
            if (++i >= argc)
                return validate_usage("--spec needs a file");
            spec = argv[i];
        } else if (opts && strncmp(argv[i], "--spec=", 7) == 0) {
            spec = argv[i] + 7;
        } else if (opts && (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)) {
            usage(stdout);
            return EX_OK;
        } else if (opts && strcmp(argv[i], "--") == 0) {
            opts = 0;
        } else if (opts && argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "runwarectl validate: unknown option %s\n", argv[i]);
            return validate_usage(NULL);
        } else if (file) {
            return validate_usage("one job file at a time");
        } else {
            file = argv[i];
        }
    }
    if (!file)
        return validate_usage("no job file (use - for standard input)");
    if ((!spec || !*spec) && !((spec = getenv(SPEC_ENV)) && *spec))
        spec = cfg_given && cfg.model_spec ? cfg.model_spec : DEFAULT_SPEC;
    if (!(schema = rw_schema_load(spec, err, sizeof(err)))) {
        fprintf(stderr, "runwarectl: model spec: %s\n", err);
        goto out;
    }
    if (!(buf = read_input(file, &len)))
        goto out;
    if ((rc = parse_job(buf, len, schema, NULL)) == EX_OK)
        puts("valid");
out:
    free(buf);
    rw_schema_free(schema);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "runwarectl: standard output: %s\n", strerror(errno));
        rc = EX_USAGE_OR_IO;
    }
    return rc;
}

/* Prints "runwarectl CMD: why" and the command's usage; returns EX_USAGE_OR_IO. */
static int cmd_usage(const char *cmd, const char *why)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, cmd) == 0) {
            if (why)
                fprintf(stderr, "runwarectl %s: %s\n", cmd, why);
            fprintf(stderr, "usage: runwarectl %s %s\n", cmd, commands[i].args);
        }
    }
    return EX_USAGE_OR_IO;
}

static struct rw_producer *connect_redis(void)
{
    char err[512];
    struct rw_producer *p =
        rw_producer_connect(cfg.redis_url, cfg.key_prefix, REDIS_TIMEOUT_MS, err, sizeof(err));

    if (!p)
        fprintf(stderr, "runwarectl: %s\n", err);
    return p;
}

/* Validates a job with the configuration's model_spec when it names one (else only the
 * structure). Returns 0 when valid, else the exit status after printing the problems. */
static int check_job(const char *buf, size_t len)
{
    struct rw_schema *schema = NULL;
    char err[1024];
    int rc = EX_USAGE_OR_IO;

    if (cfg.model_spec && !(schema = rw_schema_load(cfg.model_spec, err, sizeof(err)))) {
        fprintf(stderr, "runwarectl: model_spec: %s\n", err);
        return EX_USAGE_OR_IO;
    }
    rc = parse_job(buf, len, schema, "the job is invalid; not enqueued");
    rw_schema_free(schema);
    return rc;
}

/* One progress line on the terminal, rewritten in place. */
static void show_progress(const struct rw_progress *pr, void *arg)
{
    int *shown = arg;

    fprintf(stderr, "\r\033[K%7.1f s  %-10s  images %ld/%ld", pr->elapsed_ms / 1000.0,
            pr->state[0] ? pr->state : "waiting", pr->images, pr->expected);
    fflush(stderr);
    *shown = 1;
}

/* "success" or "error" from a record; NULL when it has neither. */
static bool record_ok(const char *rec)
{
    json_object *o = json_tokener_parse(rec), *st;
    bool ok = o && json_object_object_get_ex(o, "status", &st) &&
              strcmp(json_object_get_string(st), "success") == 0;

    json_object_put(o);
    return ok;
}

static int cmd_enqueue(int argc, char **argv)
{
    static const struct option opts[] = {{"wait", no_argument, NULL, 'w'},
                                         {"timeout", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct rw_producer *p = NULL;
    char uuid[RW_UUID_LEN + 1], list[RW_PRODUCER_LIST_MAX], err[512], *buf = NULL, *rec = NULL;
    char *payload = NULL, *end;
    size_t len, reclen, plen;
    int ch, wait = 0, rc = EX_USAGE_OR_IO, shown = 0, got;
    long timeout_s = cfg.job_timeout + 60;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "+wt:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'w':
            wait = 1;
            break;
        case 't':
            errno = 0;
            timeout_s = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || timeout_s < 1 || timeout_s > 30 * 86400)
                return cmd_usage("enqueue", "--timeout wants whole seconds, 1..2592000");
            break;
        case 'h':
            usage(stdout);
            return EX_OK;
        default:
            return cmd_usage("enqueue", NULL);
        }
    }
    if (optind != argc - 1)
        return cmd_usage("enqueue", "one job file (or - for standard input)");
    if (!(buf = read_input(argv[optind], &len)))
        return EX_USAGE_OR_IO;
    if ((rc = check_job(buf, len)) != EX_OK)
        goto out;
    rc = EX_USAGE_OR_IO;
    if (!(p = connect_redis()))
        goto out;
    if (wait) {
        if (rw_producer_submit(p, buf, len, uuid, list, err, sizeof(err)) < 0) {
            fprintf(stderr, "runwarectl: %s\n", err);
            goto out;
        }
    } else if (rw_producer_build(buf, len, NULL, uuid, &payload, &plen, err, sizeof(err)) < 0 ||
               rw_producer_enqueue(p, payload, plen, err, sizeof(err)) < 0) {
        fprintf(stderr, "runwarectl: %s\n", err);
        goto out;
    }
    printf("%s\n", uuid);
    fflush(stdout);
    rc = EX_OK;
    if (!wait)
        goto out;
    got = rw_producer_wait(p, list, uuid, (int)(timeout_s * 1000),
                           isatty(STDERR_FILENO) ? show_progress : NULL, &shown, &rec, &reclen, err,
                           sizeof(err));
    if (shown)
        fputs("\r\033[K", stderr);
    if (got < 0) {
        fprintf(stderr, "runwarectl: %s; the record will be on %s\n", err, list);
        rc = EX_USAGE_OR_IO;
    } else if (got == 0) {
        fprintf(stderr, "runwarectl: no record within %ld s; it will be on %s\n", timeout_s, list);
        rc = EX_TIMEOUT;
    } else {
        fwrite(rec, 1, reclen, stdout);
        putchar('\n');
        rc = record_ok(rec) ? EX_OK : EX_REFUSED;
    }
out:
    if (fflush(stdout) != 0) {
        fprintf(stderr, "runwarectl: standard output: %s\n", strerror(errno));
        rc = EX_USAGE_OR_IO;
    }
    free(rec);
    free(payload);
    free(buf);
    rw_producer_close(p);
    return rc;
}

static int cmd_stats(int argc, char **argv)
{
    struct rw_producer_stats st;
    struct rw_producer *p;
    char err[512];
    int rc = EX_USAGE_OR_IO;

    if (argc != 1)
        return cmd_usage("stats", "no arguments");
    if (!(p = connect_redis()))
        return rc;
    if (rw_producer_stats(p, cfg.adopt_after, &st, err, sizeof(err)) < 0) {
        fprintf(stderr, "runwarectl: %s\n", err);
    } else {
        printf("queued %lld\nin_flight %lld\ndead_letters %lld\ninstances_live %lld\n"
               "instances_known %lld\n",
               st.queued, st.in_flight, st.dead, st.live, st.instances);
        rc = EX_OK;
    }
    rw_producer_close(p);
    return rc;
}

static int cmd_requeue_dead(int argc, char **argv)
{
    struct rw_producer *p;
    char err[512], *end;
    long max = 0, moved = 0;
    int rc = EX_USAGE_OR_IO;

    if (argc == 3 && strcmp(argv[1], "--max") == 0) {
        errno = 0;
        max = strtol(argv[2], &end, 10);
        if (errno || *end || end == argv[2] || max < 1)
            return cmd_usage("requeue-dead", "--max wants a positive number");
    } else if (argc != 1) {
        return cmd_usage("requeue-dead", NULL);
    }
    if (!(p = connect_redis()))
        return rc;
    if (rw_producer_requeue_dead(p, max, &moved, err, sizeof(err)) < 0)
        fprintf(stderr, "runwarectl: %s (after %ld requeued)\n", err, moved);
    else
        rc = EX_OK;
    printf("requeued %ld\n", moved);
    rw_producer_close(p);
    return rc;
}

static int cmd_inspect(int argc, char **argv)
{
    struct rw_producer *p;
    char err[512], *json = NULL;
    int rc = EX_USAGE_OR_IO, got;

    if (argc != 2)
        return cmd_usage("inspect", "one taskUUID");
    if (!rw_uuid_valid(argv[1]))
        return cmd_usage("inspect", "not a UUID");
    if (!(p = connect_redis()))
        return rc;
    got = rw_producer_inspect(p, argv[1], &json, err, sizeof(err));
    if (got < 0) {
        fprintf(stderr, "runwarectl: %s\n", err);
    } else if (got == 0) {
        fprintf(stderr,
                "runwarectl: no task %s in Redis (never registered, or finished more than "
                "done_ttl ago)\n",
                argv[1]);
        rc = EX_REFUSED;
    } else {
        printf("%s\n", json);
        rc = EX_OK;
    }
    free(json);
    rw_producer_close(p);
    return rc;
}

/* Loads the configuration. Returns 0, or EX_USAGE_OR_IO after a message. */
static int load_config(const char *path)
{
    char err[8192];

    if (rw_config_init(&cfg) < 0) {
        fprintf(stderr, "runwarectl: out of memory\n");
        return EX_USAGE_OR_IO;
    }
    cfg_given = path != NULL;
    if (!path && access(DEFAULT_CONFIG, F_OK) == 0)
        path = DEFAULT_CONFIG;
    cfg_path = path;
    if ((path && rw_config_load(&cfg, path, err, sizeof(err)) < 0) ||
        rw_config_finish(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return EX_USAGE_OR_IO;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *conf = NULL;
    int rc, i = 1;

    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "runwarectl: -c needs a file\n");
                return EX_USAGE_OR_IO;
            }
            conf = argv[i + 1];
            i += 2;
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            conf = argv[i++] + 9;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return EX_OK;
        } else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
            printf("runwarectl %s\n", RWD_VERSION);
            return EX_OK;
        } else {
            fprintf(stderr, "runwarectl: unknown option %s\n", argv[i]);
            usage(stderr);
            return EX_USAGE_OR_IO;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return EX_USAGE_OR_IO;
    }
    if (strcmp(argv[i], "help") == 0) {
        usage(stdout);
        return EX_OK;
    }
    for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
        if (strcmp(argv[i], commands[c].name) == 0) {
            if ((rc = load_config(conf)) == 0)
                rc = commands[c].run(argc - i, argv + i);
            rw_config_free(&cfg);
            return rc;
        }
    }
    fprintf(stderr, "runwarectl: unknown command \"%s\"\n", argv[i]);
    usage(stderr);
    return EX_USAGE_OR_IO;
}
