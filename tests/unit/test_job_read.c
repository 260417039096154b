/* rw_job_read against rw_job_parse: the same decision, errors, recovered fields and body for
 * every payload, whichever tree the checks ran on (hand-picked edges, then the fuzz corpora). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../job_diff.h"
#include "rw_errors.h"
#include "rw_schema.h"
#include "rwtest.h"

#define U1   "123e4567-e89b-12d3-a456-426614174000"
#define TASK "\"positivePrompt\":\"a red fox in snow\",\"width\":1024,\"height\":1024"

static struct rw_schema *schema;
static struct rw_job_reader *reader;

static int setup(void)
{
    const char *dir = getenv("RW_SOURCE_DIR");
    char path[1024], err[256];

    if (!reader && !(reader = rw_job_reader_new()))
        return -1;
    if (schema)
        return 0;
    snprintf(path, sizeof(path), "%s/conf/flux-1-dev-srpo.schema.json", dir ? dir : ".");
    if (!(schema = rw_schema_load(path, err, sizeof(err))))
        fprintf(stderr, "  load %s: %s\n", path, err);
    return schema ? 0 : -1;
}

static void same(const char *payload, size_t len, const char *name)
{
    const char *why;

    why = rw_job_diff(reader, schema, payload, len);
    if (why == NULL)
        why = rw_job_diff(reader, NULL, payload, len);
    if (why != NULL) {
        fprintf(stderr, "  %s: %s differs: %.*s\n", name, why, (int)(len > 300 ? 300 : len),
                payload);
        rwt_failed++;
    }
}

static void test_edges(void)
{
    static const char *const t[] = {
        /* taken by rw_jv: accepted, and refused by checks or schema */
        "{" TASK "}",
        " {" TASK ",\"taskUUID\":\"" U1 "\",\"numberResults\":2,\"CFGScale\":3.50} ",
        "{\"task\":{" TASK "},\"meta\":{\"order\":7,\"tags\":[\"a/b\",1.50]},\"resultList\":\"r\"}",
        "{\"meta\":null,\"task\":{" TASK ",\"deliveryMethod\":\"async\"}}",
        "{\"task\":{" TASK ",\"taskType\":\"imageInference\",\"model\":\"runware:97@2\"}}",
        "{\"positivePrompt\":\"caf\\u00e9 \\ud83e\\udd8a \\\"q\\\" \\n\",\"width\":1024,"
        "\"height\":1024}",
        "{\"positivePrompt\":\"\xf0\x9f\xa6\x8a\",\"width\":1024,\"height\":1024}",
        "{}",
        "[]",
        "7",
        "null",
        "{\"task\":7,\"x\":1,\"resultList\":null,\"meta\":{\"keep\":\"me\"}}",
        "{\"task\":{},\"resultList\":\"a b\",\"meta\":[1]}",
        "{\"positivePrompt\":1,\"taskType\":\"x\",\"model\":2,\"taskUUID\":\"bad\","
        "\"numberResults\":0,\"webhookURL\":\"u\",\"deliveryMethod\":\"sync\"}",
        "{" TASK ",\"steps\":0,\"colour\":\"red\",\"outputType\":\"GIF\"}",
        "{" TASK ",\"width\":1000,\"steps\":99,\"lora\":[{\"model\":\"bad model!\",\"weight\":1}]}",
        "{" TASK ",\"numberResults\":9223372036854775808}",
        "{" TASK ",\"numberResults\":-9223372036854775809}",
        "{" TASK ",\"numberResults\":99999999999999999999}",
        "{" TASK ",\"numberResults\":2.0}",
        "{" TASK ",\"numberResults\":2e0}",
        "{" TASK ",\"seed\":9223372036854775807}",
        "{" TASK ",\"seed\":9223372036854775808}",
        "{" TASK ",\"seed\":18446744073709551615}",
        "{" TASK ",\"seed\":-9223372036854775808}",
        "{" TASK ",\"seed\":1e400}",
        "{" TASK ",\"seed\":1.0e1}",
        "{" TASK ",\"seed\":-0}",
        "{" TASK ",\"steps\":-0,\"CFGScale\":-0.0}",
        "{" TASK ",\"CFGScale\":1e-400}",
        "{" TASK ",\"CFGScale\":3.5000000000000000000000001}",
        "{" TASK ",\"strength\":1E+0,\"steps\":28.0}",
        "{" TASK ",\"taskUUID\":\"" U1 "\\u0000x\"}",
        /* left to json-c: invalid JSON, and what json-c reads its own way */
        "",
        "{" TASK ",}",
        "{" TASK "} x",
        "{\"positivePrompt\":\"caf\xe9\"}",
        "{" TASK ",\"width\":512,\"width\":1024}",
        "{\"task\":{" TASK "},\"t\\u0061sk\":{\"positivePrompt\":\"b\"}}",
        "{" TASK ",\"lora\":[{\"model\":\"a:1@1\",\"model\":\"b:1@1\"}]}",
        "{\"positivePrompt\":\"a\tb\",\"width\":1024,\"height\":1024}",
        "{\"positivePrompt\":\"a\\u0000b\",\"width\":1024,\"height\":1024}",
        "{\"positivePrompt\":\"a\\ud800b\",\"width\":1024,\"height\":1024}",
        "{" TASK ",\"taskType\":\"imageInference\\u0000x\"}",
        "{" TASK ",\"steps\":01}",
        "{" TASK ",\"steps\":28.}",
        "{" TASK ",\"CFGScale\":NaN}",
        "{" TASK ",\"CFGScale\":-Infinity}",
        "{\"positivePrompt\":\"\xed\xa0\x80\",\"width\":1024,\"height\":1024}",
    };

    if (setup() != 0) {
        rwt_failed++;
        return;
    }
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char name[32];

        snprintf(name, sizeof(name), "case %zu", i);
        same(t[i], strlen(t[i]), name);
    }
}

/* Nesting around the limit, in the task and in meta. */
static void test_depth(void)
{
    if (setup() != 0) {
        rwt_failed++;
        return;
    }
    for (int d = 28; d <= 34; d++) {
        char s[512], *p = s;

        p += sprintf(p, "{\"task\":{" TASK "},\"meta\":");
        for (int k = 0; k < d; k++)
            *p++ = k % 2 ? '[' : '[';
        p += sprintf(p, "1");
        for (int k = 0; k < d; k++)
            *p++ = ']';
        *p++ = '}';
        same(s, (size_t)(p - s), "meta nesting");
        p = s + sprintf(s, "{" TASK ",\"lora\":");
        for (int k = 0; k < d; k++)
            p += sprintf(p, "[{\"a\":");
        p += sprintf(p, "1");
        for (int k = 0; k < d; k++)
            p += sprintf(p, "}]");
        *p++ = '}';
        same(s, (size_t)(p - s), "task nesting");
    }
}

/* A payload refused right after "\ud800" (its next \u escape bad or cut, a bad UTF-8 byte) must
 * not change the next one that json-c reads: json-c's tokener keeps the half pair across
 * json_tokener_reset (fuzz_job_read found it). */
static void test_cut_surrogate(void)
{
    static const char *const t[] = {
        "{\"positivePrompt\":\"\\ud800\\uzz\"}",
        "{\"positivePrompt\":\"\\u0a0a a\tb\",\"width\":1024,\"height\":1024}",
        "{\"positivePrompt\":\"\\ud800\\u",
        "{\"positivePrompt\":\"x\",\"width\":1024,\"height\":1024,\"\\u0a0a\x01\":1}",
        "{\"positivePrompt\":\"\\ud800\xff\"}",
        "{\"positivePrompt\":\"\\u0a0a a\tb\",\"width\":1024,\"height\":1024}",
    };

    if (setup() != 0) {
        rwt_failed++;
        return;
    }
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        same(t[i], strlen(t[i]), "after a cut surrogate");
}

/* Every input of the job and validate fuzz corpora. */
static void test_corpora(void)
{
    const char *dir = getenv("RW_SOURCE_DIR"), *sub[] = {"job", "validate"};
    size_t files = 0;

    if (setup() != 0) {
        rwt_failed++;
        return;
    }
    for (size_t k = 0; k < 2; k++) {
        char path[1024];
        DIR *d;
        struct dirent *e;

        snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/%s", dir ? dir : ".", sub[k]);
        RWT_CHECK((d = opendir(path)) != NULL);
        while (d && (e = readdir(d)) != NULL) {
            char file[1300], *buf;
            FILE *f;
            long n;

            if (e->d_name[0] == '.')
                continue;
            snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
            if (!(f = fopen(file, "rb")))
                continue;
            fseek(f, 0, SEEK_END);
            n = ftell(f);
            rewind(f);
            if (n >= 0 && (buf = malloc((size_t)n + 1)) != NULL) {
                if (fread(buf, 1, (size_t)n, f) == (size_t)n) {
                    same(buf, (size_t)n, e->d_name);
                    files++;
                }
                free(buf);
            }
            fclose(f);
        }
        if (d)
            closedir(d);
    }
    RWT_CHECK(files > 500);
}

static void test_cleanup(void)
{
    rw_schema_free(schema);
    rw_job_reader_free(reader);
    schema = NULL;
    reader = NULL;
}

static const struct rwt_case cases[] = {
    {"edges", test_edges},     {"depth", test_depth},     {"cut_surrogate", test_cut_surrogate},
    {"corpora", test_corpora}, {"cleanup", test_cleanup},
};

RWT_MAIN(cases)
