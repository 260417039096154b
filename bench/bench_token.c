/* The webhook token's costs, hot: the token verified and made with the key set up once (and
 * from the secret's bytes on each call, as tests do), the webhook URL a submission carries, the
 * callback's request URI split into task and token, and the UUID form check. Inputs rotate over 256
 * random tasks so that branch predictors cannot learn one string. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rw_token.h"
#include "bench_time.h"

#define TASKS 256

static const char secret[] = "bench-secret-0123456789abcdef-0123456789abcdef";

static struct {
    char uuid[RW_UUID_LEN + 1];
    char token[RW_TOKEN_LEN + 1];
    char uri[160];
} task[TASKS];
static struct rw_token_key *key;
static volatile unsigned sink;

static void op_verify(unsigned i)
{
    sink += rw_token_verify(key, task[i].uuid, task[i].token);
}

static void op_sign(unsigned i)
{
    char out[RW_TOKEN_LEN + 1];

    sink += rw_token_sign(key, task[i].uuid, out) == 0 && out[7] == task[i].token[7];
}

static void op_check_secret(unsigned i)
{
    sink += rw_token_check(secret, sizeof(secret) - 1, task[i].uuid, task[i].token);
}

static void op_parse(unsigned i)
{
    char uuid[RW_UUID_LEN + 1], token[RW_TOKEN_LEN + 1];

    sink += rw_webhook_parse(task[i].uri, uuid, token) == 0 && token[0] == task[i].token[0];
}

static void op_url(unsigned i)
{
    char url[256];

    sink += rw_webhook_url("https://rw.example.com/hooks/rw/", task[i].uuid, task[i].token, url,
                           sizeof(url)) > 0;
}

static void op_uuid_valid(unsigned i)
{
    sink += rw_uuid_valid(task[i].uuid);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*op)(unsigned);
    } ops[] = {
        {"rw_token_verify (key set up once)", op_verify},
        {"rw_token_sign (key set up once)", op_sign},
        {"rw_token_check (from the secret)", op_check_secret},
        {"rw_webhook_url", op_url},
        {"rw_webhook_parse", op_parse},
        {"rw_uuid_valid", op_uuid_valid},
    };
    double round_ms = argc > 1 ? atof(argv[1]) : 200;

    if (round_ms <= 0) {
        fprintf(stderr, "usage: bench_token [ROUND_MS]\n");
        return 2;
    }
    if (!(key = rw_token_key_new(secret, sizeof(secret) - 1))) {
        fprintf(stderr, "bench_token: rw_token_key_new failed\n");
        return 1;
    }
    for (unsigned i = 0; i < TASKS; i++) {
        if (rw_uuid_v4(task[i].uuid) < 0 || rw_token_sign(key, task[i].uuid, task[i].token) < 0 ||
            rw_webhook_url("http://h/hooks/rw", task[i].uuid, task[i].token, task[i].uri,
                           sizeof(task[i].uri)) < 0) {
            fprintf(stderr, "bench_token: cannot make the inputs\n");
            return 1;
        }
        memmove(task[i].uri, task[i].uri + strlen("http://h"),
                strlen(task[i].uri) - strlen("http://h") + 1); /* the request target */
    }
    printf("ns per call, best and median of %d rounds of %.0f ms\n", ROUNDS, round_ms);
    for (size_t j = 0; j < sizeof(ops) / sizeof(ops[0]); j++) {
        double best, med;

        sink = 0;
        ops[j].op(0);
        if (sink != 1) { /* each op gives the right answer before it is timed */
            fprintf(stderr, "bench_token: %s gives a wrong answer\n", ops[j].name);
            return 1;
        }
        measure_calls(ops[j].op, TASKS, round_ms, &best, &med);
        printf("  %-36s %8.1f %8.1f\n", ops[j].name, best, med);
    }
    rw_token_key_free(key);
    return 0;
}
