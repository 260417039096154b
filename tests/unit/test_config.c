/* rw_config: the key table, the `key = value` parser, derived keys, address parsers, dump. */
#include <stdlib.h>
#include <unistd.h>

#include "rw_config.h"
#include "rwtest.h"

#define DEFAULTS_DUMP                                                                              \
    "redis_url = redis://127.0.0.1:6379/0\n"                                                       \
    "api_url = https://api.runware.ai/v1\n"                                                        \
    "api_key_file = \n"                                                                            \
    "listen = 127.0.0.1:8480\n"                                                                    \
    "admin_listen = 127.0.0.1:9464\n"                                                              \
    "public_url = \n"                                                                              \
    "key_prefix = runware\n"                                                                       \
    "webhook_secret_file = \n"                                                                     \
    "instance_id = \n"                                                                             \
    "model_spec = \n"                                                                              \
    "log_level = info\n"                                                                           \
    "submit_batch = 16\n"                                                                          \
    "submit_wait_ms = 5\n"                                                                         \
    "max_requests = 4\n"                                                                           \
    "max_pending = 512\n"                                                                          \
    "max_inflight = 10000\n"                                                                       \
    "submit_retries = 5\n"                                                                         \
    "request_timeout_ms = 30000\n"                                                                 \
    "max_callback_bytes = 33554432\n"                                                              \
    "max_callback_connections = 1024\n"                                                            \
    "callback_idle_timeout = 15\n"                                                                 \
    "callback_request_timeout = 60\n"                                                              \
    "max_job_bytes = 1048576\n"                                                                    \
    "done_ttl = 86400\n"                                                                           \
    "callback_timeout = 60\n"                                                                      \
    "job_timeout = 1800\n"                                                                         \
    "adopt_after = 60\n"                                                                           \
    "shutdown_timeout = 10\n"

static void test_defaults(void)
{
    struct rw_config c;
    char buf[2048];

    RWT_CHECK_INT(rw_config_init(&c), 0);
    RWT_CHECK_STR(c.redis_url, "redis://127.0.0.1:6379/0");
    RWT_CHECK_STR(c.api_url, "https://api.runware.ai/v1");
    RWT_CHECK(c.api_key_file == NULL);
    RWT_CHECK_STR(c.listen, "127.0.0.1:8480");
    RWT_CHECK_STR(c.admin_listen, "127.0.0.1:9464");
    RWT_CHECK(c.public_url == NULL);
    RWT_CHECK_STR(c.key_prefix, "runware");
    RWT_CHECK(c.webhook_secret_file == NULL);
    RWT_CHECK(c.instance_id == NULL);
    RWT_CHECK(c.model_spec == NULL);
    RWT_CHECK_INT(c.log_level, RW_LOG_INFO);
    RWT_CHECK_INT(c.submit_batch, 16);
    RWT_CHECK_INT(c.max_requests, 4);
    RWT_CHECK_INT(c.max_pending, 512);
    RWT_CHECK_INT(c.submit_retries, 5);
    RWT_CHECK_INT(c.request_timeout_ms, 30000);
    RWT_CHECK_INT(c.max_callback_bytes, 33554432);
    RWT_CHECK_INT(c.max_callback_connections, 1024);
    RWT_CHECK_INT(c.callback_idle_timeout, 15);
    RWT_CHECK_INT(c.callback_request_timeout, 60);
    RWT_CHECK_INT(c.max_job_bytes, 1048576);
    RWT_CHECK_INT(c.done_ttl, 86400);
    RWT_CHECK_INT(c.callback_timeout, 60);
    RWT_CHECK_INT(c.job_timeout, 1800);
    RWT_CHECK_INT(c.adopt_after, 60);
    RWT_CHECK_INT(c.max_inflight, 10000);
    RWT_CHECK_INT(c.shutdown_timeout, 10);
    RWT_CHECK_INT(rw_config_dump(&c, buf, sizeof(buf)), strlen(DEFAULTS_DUMP));
    RWT_CHECK_STR(buf, DEFAULTS_DUMP);
    /* an empty file changes nothing */
    RWT_CHECK_INT(rw_config_parse(&c, "", "t", buf, sizeof(buf)), 0);
    RWT_CHECK_STR(buf, "");
    rw_config_free(&c);
    RWT_CHECK(c.redis_url == NULL);
    rw_config_free(&c); /* twice is harmless */
}

/* Parses text into a fresh config; returns rc, the config (to free) and the errors. */
static int parse(const char *text, struct rw_config *c, char *err, size_t errlen)
{
    rw_config_init(c);
    return rw_config_parse(c, text, "t.conf", err, errlen);
}

static void test_syntax_table(void)
{
    static const struct {
        const char *text, *key_prefix, *api_key_file;
        int submit_batch;
    } t[] = {
        {"key_prefix = a", "a", NULL, 16},
        {"key_prefix=a\nsubmit_batch=3", "a", NULL, 3},
        {"  \t key_prefix \t =  \t a \t ", "a", NULL, 16},
        {"# comment\n\n   # indented comment\nkey_prefix = a\n\n", "a", NULL, 16},
        {"key_prefix = a # trailing comment", "a", NULL, 16},
        {"key_prefix = a\t# trailing comment after a tab", "a", NULL, 16},
        {"api_key_file = /k#1", "runware", "/k#1", 16},
        {"api_key_file = a#b # comment", "runware", "a#b", 16},
        {"api_key_file=#x", "runware", "#x", 16},
        {"key_prefix = a\r\nsubmit_batch = 4\r\n", "a", NULL, 4},
        {"api_key_file = \"/k # not a comment\"", "runware", "/k # not a comment", 16},
        {"api_key_file = \"/k\" # a comment", "runware", "/k", 16},
        {"api_key_file = \"a \\\"b\\\" \\\\c\"", "runware", "a \"b\" \\c", 16},
        {"api_key_file = \"  spaces kept  \"", "runware", "  spaces kept  ", 16},
        {"api_key_file = a \"b\"", "runware", "a \"b\"", 16},
        {"api_key_file = /path with spaces/key", "runware", "/path with spaces/key", 16},
        {"submit_batch = 100", "runware", NULL, 100},
        {"submit_batch = 1", "runware", NULL, 1},
        {"key_prefix = rw.prod:eu-1_A", "rw.prod:eu-1_A", NULL, 16},
        {"key_prefix = 1234567890123456789012345678901234567890123456789012345678901234",
         "1234567890123456789012345678901234567890123456789012345678901234", NULL, 16},
        {"key_prefix = a\n# key_prefix = b", "a", NULL, 16},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rw_config c;
        char err[512];
        int rc = parse(t[i].text, &c, err, sizeof(err));
        int before = rwt_failed;

        RWT_CHECK_INT(rc, 0);
        RWT_CHECK_STR(err, "");
        RWT_CHECK_STR(c.key_prefix, t[i].key_prefix);
        if (t[i].api_key_file == NULL)
            RWT_CHECK(c.api_key_file == NULL);
        else
            RWT_CHECK_STR(c.api_key_file, t[i].api_key_file);
        RWT_CHECK_INT(c.submit_batch, t[i].submit_batch);
        if (rwt_failed != before)
            fprintf(stderr, "  ^ case %zu: %s\n", i, t[i].text);
        rw_config_free(&c);
    }
}

static void test_values_table(void)
{
    struct rw_config c;
    char err[512];

    RWT_CHECK_INT(parse("redis_url = unix:/run/redis.sock?db=2\n"
                        "api_url = http://sim.local:9000/v1\n"
                        "listen = [::1]:9999\n"
                        "public_url = https://rw.example.com/base/\n"
                        "webhook_secret_file = /etc/runwared/secret\n"
                        "instance_id = node-7\n"
                        "model_spec = /etc/runwared/flux.json\n"
                        "log_level = debug\n"
                        "max_requests = 64\n"
                        "max_pending = 100000\n"
                        "submit_retries = 0\n"
                        "request_timeout_ms = 100\n"
                        "max_callback_bytes = 1073741824\n"
                        "done_ttl = 0\n"
                        "callback_timeout = 86400\n"
                        "job_timeout = 10\n"
                        "adopt_after = 10\n"
                        "max_inflight = 20000\n"
                        "shutdown_timeout = 3600\n",
                        &c, err, sizeof(err)),
                  0);
    RWT_CHECK_STR(err, "");
    RWT_CHECK_STR(c.redis_url, "unix:/run/redis.sock?db=2");
    RWT_CHECK_STR(c.api_url, "http://sim.local:9000/v1");
    RWT_CHECK_STR(c.listen, "[::1]:9999");
    RWT_CHECK_STR(c.public_url, "https://rw.example.com/base/");
    RWT_CHECK_STR(c.webhook_secret_file, "/etc/runwared/secret");
    RWT_CHECK_STR(c.instance_id, "node-7");
    RWT_CHECK_STR(c.model_spec, "/etc/runwared/flux.json");
    RWT_CHECK_INT(c.log_level, RW_LOG_DEBUG);
    RWT_CHECK_INT(c.max_requests, 64);
    RWT_CHECK_INT(c.max_pending, 100000);
    RWT_CHECK_INT(c.submit_retries, 0);
    RWT_CHECK_INT(c.request_timeout_ms, 100);
    RWT_CHECK_INT(c.max_callback_bytes, 1073741824);
    RWT_CHECK_INT(c.done_ttl, 0);
    RWT_CHECK_INT(c.callback_timeout, 86400);
    RWT_CHECK_INT(c.job_timeout, 10);
    RWT_CHECK_INT(c.adopt_after, 10);
    RWT_CHECK_INT(c.max_inflight, 20000);
    RWT_CHECK_INT(c.shutdown_timeout, 3600);
    rw_config_free(&c);
    for (int lvl = RW_LOG_ERR; lvl <= RW_LOG_DEBUG; lvl++) {
        static const char *const names[] = {"err", "warn", "info", "debug"};
        char text[64];

        snprintf(text, sizeof(text), "log_level = %s", names[lvl]);
        RWT_CHECK_INT(parse(text, &c, err, sizeof(err)), 0);
        RWT_CHECK_INT(c.log_level, lvl);
        rw_config_free(&c);
    }
}

static void test_errors_table(void)
{
    static const struct {
        const char *text, *err; /* err: the whole message */
    } t[] = {
        {"nonsense", "t.conf:1: missing '=' (expected `key = value`)"},
        {"\n\nbogus = 1", "t.conf:3: unknown key \"bogus\""},
        {"Key_prefix = a", "t.conf:1: unknown key \"Key_prefix\""},
        {"= a", "t.conf:1: missing key before '=' (expected `key = value`)"},
        {"key_prefix =", "t.conf:1: key_prefix: empty value"},
        {"key_prefix =   # only a comment", "t.conf:1: key_prefix: empty value"},
        {"key_prefix = \"\"", "t.conf:1: key_prefix: empty value"},
        {"key_prefix = a\nkey_prefix = b",
         "t.conf:2: key_prefix: duplicate key (first set on line 1)"},
        {"submit_batch = 0", "t.conf:1: submit_batch: 0 is out of range (expected 1..100)"},
        {"submit_batch = 101", "t.conf:1: submit_batch: 101 is out of range (expected 1..100)"},
        {"submit_batch = -5", "t.conf:1: submit_batch: -5 is out of range (expected 1..100)"},
        {"submit_batch = 12abc",
         "t.conf:1: submit_batch: \"12abc\" is not an integer (expected 1..100)"},
        {"submit_batch = 1.5",
         "t.conf:1: submit_batch: \"1.5\" is not an integer (expected 1..100)"},
        {"submit_batch = +5", "t.conf:1: submit_batch: \"+5\" is not an integer (expected 1..100)"},
        {"submit_batch = 0x10",
         "t.conf:1: submit_batch: \"0x10\" is not an integer (expected 1..100)"},
        {"submit_batch = 99999999999999999999999",
         "t.conf:1: submit_batch: \"99999999999999999999999\" is not an integer (expected 1..100)"},
        {"submit_batch = \"\"", "t.conf:1: submit_batch: empty value"},
        {"max_requests = 65", "t.conf:1: max_requests: 65 is out of range (expected 1..64)"},
        {"max_pending = 100001",
         "t.conf:1: max_pending: 100001 is out of range (expected 1..100000)"},
        {"submit_retries = 101", "t.conf:1: submit_retries: 101 is out of range (expected 0..100)"},
        {"request_timeout_ms = 99",
         "t.conf:1: request_timeout_ms: 99 is out of range (expected 100..600000)"},
        {"max_callback_bytes = 1023",
         "t.conf:1: max_callback_bytes: 1023 is out of range (expected 1024..1073741824)"},
        {"done_ttl = 2592001", "t.conf:1: done_ttl: 2592001 is out of range (expected 0..2592000)"},
        {"callback_timeout = 0",
         "t.conf:1: callback_timeout: 0 is out of range (expected 1..86400)"},
        {"adopt_after = 9", "t.conf:1: adopt_after: 9 is out of range (expected 10..86400)"},
        {"job_timeout = 604801",
         "t.conf:1: job_timeout: 604801 is out of range (expected 10..604800)"},
        {"log_level = verbose",
         "t.conf:1: log_level: \"verbose\" is not one of err|warn|info|debug"},
        {"log_level = INFO", "t.conf:1: log_level: \"INFO\" is not one of err|warn|info|debug"},
        {"key_prefix = a b",
         "t.conf:1: key_prefix: must be 1..64 characters of A-Z a-z 0-9 _ . : -"},
        {"key_prefix = a/b",
         "t.conf:1: key_prefix: must be 1..64 characters of A-Z a-z 0-9 _ . : -"},
        {"key_prefix = 12345678901234567890123456789012345678901234567890123456789012345",
         "t.conf:1: key_prefix: must be 1..64 characters of A-Z a-z 0-9 _ . : -"},
        {"instance_id = host name",
         "t.conf:1: instance_id: must be 1..128 characters of A-Z a-z 0-9 _ . : -"},
        {"api_url = ftp://x", "t.conf:1: api_url: \"ftp://x\" must start with http:// or https://"},
        {"api_url = api.runware.ai",
         "t.conf:1: api_url: \"api.runware.ai\" must start with http:// or https://"},
        {"api_url = https://", "t.conf:1: api_url: \"https://\" has no host"},
        {"api_url = https:///v1", "t.conf:1: api_url: \"https:///v1\" has no host"},
        {"api_url = http://:80/", "t.conf:1: api_url: \"http://:80/\" has no host"},
        {"api_url = http://h:0/",
         "t.conf:1: api_url: \"http://h:0/\" has a port that is not a number 1..65535"},
        {"api_url = http://h:x/",
         "t.conf:1: api_url: \"http://h:x/\" has a port that is not a number 1..65535"},
        {"api_url = \"http://a b/\"",
         "t.conf:1: api_url: \"http://a b/\" must not contain spaces or control characters"},
        {"api_url = http://h/#frag",
         "t.conf:1: api_url: \"http://h/#frag\" must not have a #fragment"},
        {"public_url = http://h/?x=1",
         "t.conf:1: public_url: \"http://h/?x=1\" must not have a ?query (runwared appends "
         "/callback/... to it)"},
        {"listen = 8480",
         "t.conf:1: listen: \"8480\": missing :port (expected host:port, [v6]:port or :port)"},
        {"listen = ::1:8480",
         "t.conf:1: listen: \"::1:8480\": an IPv6 address must be in brackets, as in [::1]:8480"},
        {"listen = h:70000", "t.conf:1: listen: \"h:70000\": port must be a number 1..65535"},
        {"redis_url = http://h",
         "t.conf:1: redis_url: expected redis://[[user]:password@]host[:port][/db] or "
         "unix:/path[?db=N]"},
        {"redis_url = redis://:hunter2@h:99999",
         "t.conf:1: redis_url: port must be a number 1..65535"},
        {"api_key_file = \"unterminated", "t.conf:1: api_key_file: unterminated quoted value"},
        {"api_key_file = \"a\" b",
         "t.conf:1: api_key_file: unexpected text after the closing quote"},
        {"api_key_file = \"a\\nb\"",
         "t.conf:1: api_key_file: unknown escape in a quoted value (only \\\" and \\\\)"},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rw_config c;
        char err[512];
        int rc = parse(t[i].text, &c, err, sizeof(err));

        if (rc != -1 || strcmp(err, t[i].err) != 0) {
            fprintf(stderr, "  case %zu: rc %d\n    got  %s\n    want %s\n", i, rc, err, t[i].err);
            rwt_failed++;
        }
        rw_config_free(&c);
    }
}

static void test_secret_never_echoed(void)
{
    struct rw_config c;
    char err[512];

    RWT_CHECK_INT(parse("redis_url = redis://:hunter2@h:0/1", &c, err, sizeof(err)), -1);
    RWT_CHECK(strstr(err, "hunter2") == NULL);
    RWT_CHECK(strstr(err, "redis_url") != NULL);
    rw_config_free(&c);
}

static void test_all_errors_reported(void)
{
    struct rw_config c;
    char err[1024];
    const char *text = "# a broken file\n"
                       "bogus = 1\n"
                       "submit_batch = 0\n"
                       "key_prefix = ok\n"
                       "no equals sign\n"
                       "key_prefix = again\n"
                       "log_level =\n";

    RWT_CHECK_INT(parse(text, &c, err, sizeof(err)), -1);
    RWT_CHECK_STR(err, "t.conf:2: unknown key \"bogus\"\n"
                       "t.conf:3: submit_batch: 0 is out of range (expected 1..100)\n"
                       "t.conf:5: missing '=' (expected `key = value`)\n"
                       "t.conf:6: key_prefix: duplicate key (first set on line 4)\n"
                       "t.conf:7: log_level: empty value");
    rw_config_free(&c);
}

static void test_error_truncation(void)
{
    struct {
        char err[200];
        char guard[32];
    } b;
    struct rw_config c;
    const char *text = "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\nf = 6\n";
    const char *full = "t.conf:1: unknown key \"a\"\nt.conf:2: unknown key \"b\"\n"
                       "t.conf:3: unknown key \"c\"\nt.conf:4: unknown key \"d\"\n"
                       "t.conf:5: unknown key \"e\"\nt.conf:6: unknown key \"f\"";

    for (size_t len = 0; len <= sizeof(b.err); len++) {
        memset(&b, 'G', sizeof(b));
        RWT_CHECK_INT(parse(text, &c, len ? b.err : NULL, len), -1);
        if (len > 0) {
            RWT_CHECK(strlen(b.err) < len);
            RWT_CHECK(strncmp(b.err, full, strlen(b.err)) == 0);
        }
        for (size_t i = 0; i < sizeof(b.guard); i++)
            RWT_CHECK(b.guard[i] == 'G');
        for (size_t i = len; i < sizeof(b.err); i++)
            RWT_CHECK(b.err[i] == 'G');
        if (len > strlen(full))
            RWT_CHECK_STR(b.err, full);
        rw_config_free(&c);
    }
}

static char *write_temp(const char *content, size_t len)
{
    static char path[64];
    int fd;

    snprintf(path, sizeof(path), "/tmp/rwtest-config-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0 || write(fd, content, len) != (ssize_t)len) {
        perror("temp file");
        exit(1);
    }
    close(fd);
    return path;
}

static void test_load(void)
{
    struct rw_config c;
    char err[512], *path, want[600];
    static const char nul[] = "key_prefix = a\0b\n";

    path = write_temp("key_prefix = fromfile\nbogus = 1\n", 32);
    rw_config_init(&c);
    RWT_CHECK_INT(rw_config_load(&c, path, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:2: unknown key \"bogus\"", path);
    RWT_CHECK_STR(err, want);
    rw_config_free(&c);
    unlink(path);

    path = write_temp("key_prefix = fromfile\n", 22);
    rw_config_init(&c);
    RWT_CHECK_INT(rw_config_load(&c, path, err, sizeof(err)), 0);
    RWT_CHECK_STR(c.key_prefix, "fromfile");
    rw_config_free(&c);
    unlink(path);

    path = write_temp(nul, sizeof(nul) - 1);
    rw_config_init(&c);
    RWT_CHECK_INT(rw_config_load(&c, path, err, sizeof(err)), -1);
    RWT_CHECK(strstr(err, "NUL byte") != NULL);
    rw_config_free(&c);
    unlink(path);

    rw_config_init(&c);
    RWT_CHECK_INT(rw_config_load(&c, "/nonexistent/runwared.conf", err, sizeof(err)), -1);
    RWT_CHECK_STR(err, "/nonexistent/runwared.conf: No such file or directory");
    rw_config_free(&c);
}

static void test_shipped_conf(void)
{
    /* conf/runwared.conf loads as is, documents every key, and each documented default (the
     * commented `# key = value` lines) is valid and, for keys with a default, equal to it; the
     * one key it sets, model_spec, turns on schema validation with the installed spec */
    const char *src = getenv("RW_SOURCE_DIR");
    struct rw_config c, d;
    char path[512], err[2048], dump[2048], line[512];
    FILE *f;
    char *uncommented = NULL;
    size_t ulen = 0;
    int documented = 0;

    snprintf(path, sizeof(path), "%s/conf/runwared.conf", src ? src : "..");
    rw_config_init(&c);
    RWT_CHECK_INT(rw_config_load(&c, path, err, sizeof(err)), 0);
    RWT_CHECK_STR(err, "");
    RWT_CHECK_STR(c.model_spec, "/etc/runwared/flux-1-dev-srpo.schema.json");
    free(c.model_spec);
    c.model_spec = NULL; /* the rest is all defaults */
    rw_config_init(&d);
    RWT_CHECK_INT(rw_config_dump(&c, dump, sizeof(dump)), strlen(DEFAULTS_DUMP));
    RWT_CHECK_STR(dump, DEFAULTS_DUMP);
    if ((f = fopen(path, "r")) == NULL) {
        RWT_CHECK(!"cannot open conf/runwared.conf");
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char key[64];
        const char *kv = NULL;

        if (sscanf(line, "# %63[a-z_] = ", key) == 1 && strstr(line, " = ") != NULL)
            kv = line + 2; /* a documented default */
        else if (sscanf(line, "%63[a-z_] = ", key) == 1 && strstr(line, " = ") != NULL)
            kv = line; /* a key the file sets */
        if (kv) {
            size_t n = strlen(kv);
            char *p = realloc(uncommented, ulen + n + 1);

            RWT_CHECK(p != NULL);
            uncommented = p;
            memcpy(uncommented + ulen, kv, n + 1);
            ulen += n;
            documented++;
        }
    }
    fclose(f);
    RWT_CHECK_INT(documented, 28);
    RWT_CHECK_INT(rw_config_parse(&d, uncommented, "uncommented", err, sizeof(err)), 0);
    RWT_CHECK_STR(err, "");
    RWT_CHECK_STR(d.redis_url, c.redis_url);
    RWT_CHECK_STR(d.api_url, c.api_url);
    RWT_CHECK_STR(d.listen, c.listen);
    RWT_CHECK_STR(d.admin_listen, c.admin_listen);
    RWT_CHECK_STR(d.key_prefix, c.key_prefix);
    RWT_CHECK_INT(d.log_level, c.log_level);
    RWT_CHECK_INT(d.submit_batch, c.submit_batch);
    RWT_CHECK_INT(d.max_requests, c.max_requests);
    RWT_CHECK_INT(d.max_pending, c.max_pending);
    RWT_CHECK_INT(d.submit_retries, c.submit_retries);
    RWT_CHECK_INT(d.request_timeout_ms, c.request_timeout_ms);
    RWT_CHECK_INT(d.max_callback_bytes, c.max_callback_bytes);
    RWT_CHECK_INT(d.max_callback_connections, c.max_callback_connections);
    RWT_CHECK_INT(d.callback_idle_timeout, c.callback_idle_timeout);
    RWT_CHECK_INT(d.callback_request_timeout, c.callback_request_timeout);
    RWT_CHECK_INT(d.max_job_bytes, c.max_job_bytes);
    RWT_CHECK_INT(d.done_ttl, c.done_ttl);
    RWT_CHECK_INT(d.callback_timeout, c.callback_timeout);
    RWT_CHECK_INT(d.job_timeout, c.job_timeout);
    RWT_CHECK_INT(d.adopt_after, c.adopt_after);
    RWT_CHECK_INT(d.max_inflight, c.max_inflight);
    RWT_CHECK_INT(d.shutdown_timeout, c.shutdown_timeout);
    RWT_CHECK_STR(d.model_spec, "/etc/runwared/flux-1-dev-srpo.schema.json");
    free(uncommented);
    rw_config_free(&c);
    rw_config_free(&d);
}

static void test_finish_table(void)
{
    static const struct {
        const char *text, *public_url;
    } t[] = {
        {"", "http://127.0.0.1:8480"},
        {"listen = 0.0.0.0:9000", "http://127.0.0.1:9000"},
        {"listen = :9001", "http://127.0.0.1:9001"},
        {"listen = [::]:9002", "http://127.0.0.1:9002"},
        {"listen = [::1]:9003", "http://[::1]:9003"},
        {"listen = [fe80::1]:9004", "http://[fe80::1]:9004"},
        {"listen = 10.1.2.3:1", "http://10.1.2.3:1"},
        {"listen = rw.internal:65535", "http://rw.internal:65535"},
        {"public_url = https://rw.example.com/hooks/", "https://rw.example.com/hooks"},
        {"public_url = https://rw.example.com/", "https://rw.example.com"},
        {"public_url = https://rw.example.com//", "https://rw.example.com"},
        {"public_url = http://10.0.0.1:8480", "http://10.0.0.1:8480"},
    };
    char host[256], want[300];

    RWT_CHECK_INT(gethostname(host, sizeof(host)), 0);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rw_config c;
        char err[512];
        int port;

        RWT_CHECK_INT(parse(t[i].text, &c, err, sizeof(err)), 0);
        RWT_CHECK_INT(rw_config_finish(&c, err, sizeof(err)), 0);
        RWT_CHECK_STR(c.public_url, t[i].public_url);
        port = atoi(strrchr(c.listen, ':') + 1);
        snprintf(want, sizeof(want), "%s:%d", host, port);
        RWT_CHECK_STR(c.instance_id, want);
        rw_config_free(&c);
    }
}

static void test_finish_keeps_set_values(void)
{
    struct rw_config c;
    char err[512];

    RWT_CHECK_INT(
        parse("instance_id = node-1\npublic_url = https://x.example/rw\n", &c, err, sizeof(err)),
        0);
    RWT_CHECK_INT(rw_config_finish(&c, err, sizeof(err)), 0);
    RWT_CHECK_STR(c.instance_id, "node-1");
    RWT_CHECK_STR(c.public_url, "https://x.example/rw");
    /* calling it again changes nothing */
    RWT_CHECK_INT(rw_config_finish(&c, err, sizeof(err)), 0);
    RWT_CHECK_STR(c.public_url, "https://x.example/rw");
    rw_config_free(&c);
}

static void test_redis_url_table(void)
{
    static const struct {
        const char *url;
        int rc;
        const char *host, *path, *password;
        int port, db;
    } t[] = {
        {"redis://127.0.0.1:6379/0", 0, "127.0.0.1", NULL, NULL, 6379, 0},
        {"redis://localhost", 0, "localhost", NULL, NULL, 6379, 0},
        {"redis://localhost/", 0, "localhost", NULL, NULL, 6379, 0},
        {"redis://r.example:7000/3", 0, "r.example", NULL, NULL, 7000, 3},
        {"redis://r.example/15", 0, "r.example", NULL, NULL, 6379, 15},
        {"redis://:s3cret@r:6380/1", 0, "r", NULL, "s3cret", 6380, 1},
        {"redis://default:s3cret@r", 0, "r", NULL, "s3cret", 6379, 0},
        {"redis://:p:a/s#s?@r", 0, "r", NULL, "p:a/s#s?", 6379, 0},
        {"redis://[::1]:6390/2", 0, "::1", NULL, NULL, 6390, 2},
        {"redis://[::1]", 0, "::1", NULL, NULL, 6379, 0},
        {"unix:/run/redis/redis.sock", 0, NULL, "/run/redis/redis.sock", NULL, 6379, 0},
        {"unix:///run/redis.sock", 0, NULL, "/run/redis.sock", NULL, 6379, 0},
        {"unix:/run/redis.sock?db=4", 0, NULL, "/run/redis.sock", NULL, 6379, 4},
        {"unix:///run/redis.sock?db=0", 0, NULL, "/run/redis.sock", NULL, 6379, 0},
        {"", -1, NULL, NULL, NULL, 0, 0},
        {"redis://", -1, NULL, NULL, NULL, 0, 0},
        {"redis://:6379", -1, NULL, NULL, NULL, 0, 0},
        {"redis://h:0", -1, NULL, NULL, NULL, 0, 0},
        {"redis://h:65536", -1, NULL, NULL, NULL, 0, 0},
        {"redis://h:port", -1, NULL, NULL, NULL, 0, 0},
        {"redis://h:", -1, NULL, NULL, NULL, 0, 0},
        {"redis://h/x", -1, NULL, NULL, NULL, 0, 0},
        {"redis://h/-1", -1, NULL, NULL, NULL, 0, 0},
        {"redis://h?db=1", -1, NULL, NULL, NULL, 0, 0},
        {"redis://h x", -1, NULL, NULL, NULL, 0, 0},
        {"redis://user@h", -1, NULL, NULL, NULL, 0, 0},
        {"redis://:@h", -1, NULL, NULL, NULL, 0, 0},
        {"redis://:a@b@h", -1, NULL, NULL, NULL, 0, 0},
        {"redis://[::1", -1, NULL, NULL, NULL, 0, 0},
        {"redis://[]:1", -1, NULL, NULL, NULL, 0, 0},
        {"redis://[::1]x", -1, NULL, NULL, NULL, 0, 0},
        {"rediss://h", -1, NULL, NULL, NULL, 0, 0},
        {"unix:", -1, NULL, NULL, NULL, 0, 0},
        {"unix:/", -1, NULL, NULL, NULL, 0, 0},
        {"unix:run/redis.sock", -1, NULL, NULL, NULL, 0, 0},
        {"unix://run/redis.sock", -1, NULL, NULL, NULL, 0, 0},
        {"unix:/run/redis.sock?db=x", -1, NULL, NULL, NULL, 0, 0},
        {"unix:/run/redis.sock?password=x", -1, NULL, NULL, NULL, 0, 0},
        {"tcp://h:6379", -1, NULL, NULL, NULL, 0, 0},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rw_redis_addr a;
        char err[256] = "";
        int rc = rw_redis_url_parse(t[i].url, &a, err, sizeof(err));
        int before = rwt_failed;

        RWT_CHECK_INT(rc, t[i].rc);
        if (rc == 0) {
            RWT_CHECK(t[i].host ? a.host && !strcmp(a.host, t[i].host) : a.host == NULL);
            RWT_CHECK(t[i].path ? a.path && !strcmp(a.path, t[i].path) : a.path == NULL);
            RWT_CHECK(t[i].password ? a.password && !strcmp(a.password, t[i].password)
                                    : a.password == NULL);
            RWT_CHECK_INT(a.port, t[i].port);
            RWT_CHECK_INT(a.db, t[i].db);
        } else {
            RWT_CHECK(err[0] != '\0');
            RWT_CHECK(a.host == NULL && a.path == NULL && a.password == NULL);
        }
        if (rwt_failed != before)
            fprintf(stderr, "  ^ case %zu \"%s\": %s\n", i, t[i].url, err);
        rw_redis_addr_free(&a);
    }
    {
        struct rw_redis_addr a;
        char err[64];

        RWT_CHECK_INT(rw_redis_url_parse(NULL, &a, err, sizeof(err)), -1);
        rw_redis_addr_free(NULL);
    }
}

static void test_hostport_table(void)
{
    static const struct {
        const char *s;
        int rc;
        const char *host;
        int port;
    } t[] = {
        {"127.0.0.1:8480", 0, "127.0.0.1", 8480},
        {"localhost:1", 0, "localhost", 1},
        {"0.0.0.0:65535", 0, "0.0.0.0", 65535},
        {"[::1]:8480", 0, "::1", 8480},
        {"[::]:80", 0, "::", 80},
        {":8480", 0, NULL, 8480},
        {"", -1, NULL, 0},
        {"host", -1, NULL, 0},
        {"host:", -1, NULL, 0},
        {"host:0", -1, NULL, 0},
        {"host:65536", -1, NULL, 0},
        {"host:-1", -1, NULL, 0},
        {"host:80x", -1, NULL, 0},
        {"host:+80", -1, NULL, 0},
        {"::1:8480", -1, NULL, 0},
        {"[::1]", -1, NULL, 0},
        {"[::1]8480", -1, NULL, 0},
        {"[::1:8480", -1, NULL, 0},
        {"[]:8480", -1, NULL, 0},
        {"ho st:8480", -1, NULL, 0},
        {"a/b:8480", -1, NULL, 0},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char *host = (char *)1, err[256] = "";
        int port = -1;
        int rc = rw_hostport_parse(t[i].s, &host, &port, err, sizeof(err));
        int before = rwt_failed;

        RWT_CHECK_INT(rc, t[i].rc);
        if (rc == 0) {
            RWT_CHECK(t[i].host ? host && !strcmp(host, t[i].host) : host == NULL);
            RWT_CHECK_INT(port, t[i].port);
        } else {
            RWT_CHECK(host == NULL);
            RWT_CHECK(err[0] != '\0');
        }
        if (rwt_failed != before)
            fprintf(stderr, "  ^ case %zu \"%s\": %s\n", i, t[i].s, err);
        free(host);
    }
}

static void test_dump(void)
{
    struct rw_config c, d;
    char err[512], dump[2048], dump2[2048];
    int n;

    /* values that need quoting to read back the same, and a password that must not show */
    RWT_CHECK_INT(parse("redis_url = redis://app:hunter2@r.example:6380/2\n"
                        "api_key_file = \"/keys/a # b\"\n"
                        "webhook_secret_file = \" /lead/space\"\n"
                        "model_spec = \"\\\"q\\\"\\\\\"\n"
                        "log_level = warn\n",
                        &c, err, sizeof(err)),
                  0);
    RWT_CHECK_INT(rw_config_finish(&c, err, sizeof(err)), 0);
    n = rw_config_dump(&c, dump, sizeof(dump));
    RWT_CHECK_INT(n, strlen(dump));
    RWT_CHECK(strstr(dump, "hunter2") == NULL);
    RWT_CHECK(strstr(dump, "redis_url = redis://app:****@r.example:6380/2\n") != NULL);
    RWT_CHECK(strstr(dump, "api_key_file = \"/keys/a # b\"\n") != NULL);
    RWT_CHECK(strstr(dump, "webhook_secret_file = \" /lead/space\"\n") != NULL);
    RWT_CHECK(strstr(dump, "model_spec = \"\\\"q\\\"\\\\\"\n") != NULL);
    RWT_CHECK(strstr(dump, "log_level = warn\n") != NULL);
    RWT_CHECK(strstr(dump, "public_url = http://127.0.0.1:8480\n") != NULL);

    /* the dump reads back to the same values (password aside) */
    RWT_CHECK_INT(parse(dump, &d, err, sizeof(err)), 0);
    RWT_CHECK_STR(err, "");
    RWT_CHECK_STR(d.api_key_file, "/keys/a # b");
    RWT_CHECK_STR(d.webhook_secret_file, " /lead/space");
    RWT_CHECK_STR(d.model_spec, "\"q\"\\");
    RWT_CHECK_INT(rw_config_dump(&d, dump2, sizeof(dump2)), n);
    RWT_CHECK_STR(dump2, dump);
    rw_config_free(&d);

    /* a buffer too small: -1, NUL-terminated, nothing written past it */
    {
        struct {
            char buf[50];
            char guard[16];
        } b;

        memset(&b, 'G', sizeof(b));
        RWT_CHECK_INT(rw_config_dump(&c, b.buf, sizeof(b.buf)), -1);
        RWT_CHECK_INT(strlen(b.buf), sizeof(b.buf) - 1);
        RWT_CHECK(strncmp(b.buf, dump, sizeof(b.buf) - 1) == 0);
        for (size_t i = 0; i < sizeof(b.guard); i++)
            RWT_CHECK(b.guard[i] == 'G');
        RWT_CHECK_INT(rw_config_dump(&c, dump2, (size_t)n), -1);
        RWT_CHECK_INT(rw_config_dump(&c, dump2, (size_t)n + 1), n);
    }
    rw_config_free(&c);
}

static const struct rwt_case cases[] = {
    {"defaults", test_defaults},
    {"syntax_table", test_syntax_table},
    {"values_table", test_values_table},
    {"errors_table", test_errors_table},
    {"secret_never_echoed", test_secret_never_echoed},
    {"all_errors_reported", test_all_errors_reported},
    {"error_truncation", test_error_truncation},
    {"load", test_load},
    {"shipped_conf", test_shipped_conf},
    {"finish_table", test_finish_table},
    {"finish_keeps_set_values", test_finish_keeps_set_values},
    {"redis_url_table", test_redis_url_table},
    {"hostport_table", test_hostport_table},
    {"dump", test_dump},
};

RWT_MAIN(cases)
