/* runwarectl: runwared's command-line tool, one subcommand per table row (validate here;
 * enqueue, wait and stats arrive with their own issue). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rw_job.h"
#include "rw_schema.h"

#define DEFAULT_SPEC  "/etc/runwared/flux-1-dev-srpo.schema.json"
#define SPEC_ENV      "RUNWARED_MODEL_SPEC"
#define MAX_JOB_BYTES (64 * 1024 * 1024)

/* Exit statuses shared by every subcommand. */
enum { EX_OK = 0, EX_REFUSED = 1, EX_USAGE_OR_IO = 2 };

struct command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *args;
    const char *help;
};

static int cmd_validate(int argc, char **argv);

static const struct command commands[] = {
    {"validate", cmd_validate, "[--spec FILE] FILE|-",
     "check one job (a bare task or {\"task\",\"meta\",\"resultList\"}) exactly as runwared "
     "would;\nprint `parameter: message [code]` per problem, or `valid`. Exit 0 valid, 1 "
     "invalid,\n2 usage, input or spec error. The spec is --spec, else $" SPEC_ENV
     ", else\n" DEFAULT_SPEC "."},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: runwarectl COMMAND [ARGS]\n\ncommands:\n");
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
    struct rw_job job;
    json_object *errors = NULL;
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
        spec = DEFAULT_SPEC;
    if (!(schema = rw_schema_load(spec, err, sizeof(err)))) {
        fprintf(stderr, "runwarectl: model spec: %s\n", err);
        goto out;
    }
    if (!(buf = read_input(file, &len)))
        goto out;
    switch (rw_job_parse(buf, len, schema, &job, &errors)) {
    case 0:
        puts("valid");
        rc = EX_OK;
        break;
    case -1:
        print_errors(errors);
        rc = EX_REFUSED;
        break;
    default:
        fprintf(stderr, "runwarectl: out of memory\n");
        break;
    }
    rw_job_clear(&job);
    json_object_put(errors);
out:
    free(buf);
    rw_schema_free(schema);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "runwarectl: standard output: %s\n", strerror(errno));
        rc = EX_USAGE_OR_IO;
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EX_USAGE_OR_IO;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return EX_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "runwarectl: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return EX_USAGE_OR_IO;
}
