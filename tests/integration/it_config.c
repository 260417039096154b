/* `runwared -t`: a good file passes, a bad one fails with every error as file:line: message. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* True when out holds "<file>:<digits>:", a reference to a line of file. */
static bool names_a_line(const char *out, const char *file)
{
    size_t fl = strlen(file);
    for (const char *p = strstr(out, file); p; p = strstr(p + 1, file)) {
        const char *q = p + fl;
        if (*q++ != ':' || *q < '0' || *q > '9')
            continue;
        while (*q >= '0' && *q <= '9')
            q++;
        if (*q == ':')
            return true;
    }
    return false;
}

static void run_check(struct it_env *e, const char *conf, int *status, char **out)
{
    char *argv[] = {(char *)it_bin_runwared(), "-t", "-c", (char *)conf, NULL};
    it_run(e, argv, 10000 * it_slow(), status, out);
}

/* Every key set, pointing at ports nobody listens on: -t checks the file, connects nowhere. */
static void test_good(void)
{
    struct it_env e;
    char key[PATH_MAX], secret[PATH_MAX], conf[PATH_MAX];
    it_env_init(&e, "cfg");
    it_write_file(&e, "api.key", "some-key\n", key);
    it_write_file(&e, "webhook.secret", "0123456789abcdef0123456789abcdef\n", secret);
    char *text = it_fmt("# a complete configuration\n"
                        "redis_url = redis://127.0.0.1:%d/3\n"
                        "api_url = http://127.0.0.1:%d/v1\n"
                        "api_key_file = %s\n"
                        "\n"
                        "listen = 127.0.0.1:%d\n"
                        "public_url = https://hooks.example.com/runware\n"
                        "key_prefix = cfgtest\n"
                        "webhook_secret_file = %s\n"
                        "instance_id = cfg-1\n"
                        "log_level = info\n"
                        "submit_batch = 8\n"
                        "max_requests = 4\n"
                        "max_pending = 200\n"
                        "submit_retries = 3\n"
                        "request_timeout_ms = 15000\n"
                        "max_callback_bytes = 1048576\n"
                        "done_ttl = 3600\n",
                        e.redis_port, e.sim_port, key, e.rw_port, secret);
    it_write_file(&e, "good.conf", text, conf);
    free(text);
    int st = 0;
    char *out = NULL;
    run_check(&e, conf, &st, &out);
    IT_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "runwared -t on a good file should exit 0, got status 0x%x; output:\n%s", st, out);
    IT_EXPECT(!names_a_line(out, "good.conf"), "runwared -t on a good file reported errors:\n%s",
              out);
    free(out);

    /* the minimal file: only what has no default */
    text = it_fmt("redis_url = redis://127.0.0.1:%d/0\napi_key_file = %s\nlisten = 127.0.0.1:%d\n",
                  e.redis_port, key, e.rw_port);
    it_write_file(&e, "minimal.conf", text, conf);
    free(text);
    run_check(&e, conf, &st, &out);
    IT_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "runwared -t on a minimal file should exit 0, got status 0x%x; output:\n%s", st, out);
    free(out);
    it_env_finish(&e);
}

/* Several errors on known lines: all are reported, each as bad.conf:<line>: message. */
static void test_bad(void)
{
    struct it_env e;
    char key[PATH_MAX], conf[PATH_MAX];
    it_env_init(&e, "cfg");
    it_write_file(&e, "api.key", "some-key\n", key);
    char *text = it_fmt("# errors on lines 3, 4, 5, 7 and 9\n"
                        "redis_url = redis://127.0.0.1:%d/0\n"
                        "no_such_key = 1\n"
                        "max_requests = lots\n"
                        "log_level = loud\n"
                        "api_key_file = %s\n"
                        "this line has no equals sign\n"
                        "listen = 127.0.0.1:%d\n"
                        "submit_batch = -5\n",
                        e.redis_port, key, e.rw_port);
    it_write_file(&e, "bad.conf", text, conf);
    free(text);
    int st = 0;
    char *out = NULL;
    run_check(&e, conf, &st, &out);
    IT_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 1,
              "runwared -t on a bad file should exit 1, got status 0x%x; output:\n%s", st, out);
    static const int lines[] = {3, 4, 5, 7, 9};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        char needle[32];
        snprintf(needle, sizeof(needle), "bad.conf:%d: ", lines[i]);
        IT_EXPECT(strstr(out, needle), "runwared -t should report \"%s<message>\"; output:\n%s",
                  needle, out);
    }
    static const int clean[] = {1, 2, 6, 8};
    for (size_t i = 0; i < sizeof(clean) / sizeof(clean[0]); i++) {
        char needle[32];
        snprintf(needle, sizeof(needle), "bad.conf:%d:", clean[i]);
        IT_EXPECT(!strstr(out, needle), "line %d is valid, yet reported; output:\n%s", clean[i],
                  out);
    }
    free(out);

    /* a file that does not exist */
    char *missing = it_fmt("%s/missing.conf", e.dir);
    run_check(&e, missing, &st, &out);
    IT_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 1,
              "runwared -t on a missing file should exit 1, got status 0x%x; output:\n%s", st, out);
    IT_EXPECT(strstr(out, "missing.conf"), "the message should name the missing file:\n%s", out);
    free(out);
    free(missing);
    it_env_finish(&e);
}

static const struct rwt_case cases[] = {
    {"good", test_good},
    {"bad", test_bad},
};

RWT_MAIN(cases)
