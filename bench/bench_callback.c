/* The webhook callback's parsing costs, hot: rw_http_parse of the whole request, as runware-sim
 * sends it (libevent: Host, Content-Type, User-Agent, Content-Length), then rw_cbody_read of its
 * body, a one-image {"data":[item]} as sim_gen.c makes it (json-c, plain, '/' not escaped). The
 * image is an imageURL, the base64 of the simulator's 16x16 JPEG, or a data URI of it: the three
 * outputs bench_pipeline asks for in turn. Inputs rotate over 256 tasks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rw_cbody.h"
#include "rw_http.h"
#include "rw_token.h"
#include "rw_uuid.h"
#include "sim.h"
#include "bench_time.h"

#define TASKS 256

enum out { OUT_URL, OUT_BASE64, OUT_DATAURI, OUTS };

static struct callback {
    char *buf;
    size_t len;
} cb[OUTS][TASKS];
static const struct rw_http_limits lim = {.max_head = 16384, .max_body = 1 << 20};
static volatile unsigned sink;

/* One callback request, as the daemon reads it: 1 when it is read as one item. */
static unsigned parse(struct callback *c)
{
    struct rw_http_req r;
    struct rw_cbody b;
    char err[128];
    unsigned ok;

    rw_http_init(&r);
    if (rw_http_parse(&r, c->buf, c->len, &lim) != RW_HTTP_DONE)
        return 0;
    ok = rw_cbody_read(c->buf + r.body, r.body_len, &b, err, sizeof(err)) == RW_CBODY_OK &&
         b.nitems == 1;
    /* the parser wrote NULs after the method and the target: the spaces back for the next round */
    c->buf[r.target - 1] = ' ';
    c->buf[r.target + strlen(c->buf + r.target)] = ' ';
    return ok;
}

static void op_url(unsigned i)
{
    sink += parse(&cb[OUT_URL][i]);
}

static void op_base64(unsigned i)
{
    sink += parse(&cb[OUT_BASE64][i]);
}

static void op_datauri(unsigned i)
{
    sink += parse(&cb[OUT_DATAURI][i]);
}

static void op_mix(unsigned i)
{
    sink += parse(&cb[i % OUTS][i]);
}

/* The request for task i with output o, into cb[o][i]; -1 when out of memory. */
static int make(enum out o, unsigned i)
{
    char uuid[RW_UUID_LEN + 1], image[RW_UUID_LEN + 1], token[RW_TOKEN_LEN + 1], *body = NULL;
    const char *b64 = sim_img_base64(SIM_FMT_JPG);
    int n;

    if (rw_uuid_v4(uuid) < 0 || rw_uuid_v4(image) < 0)
        return -1;
    for (int k = 0; k < RW_TOKEN_LEN; k++)
        token[k] = "0123456789abcdef"[(unsigned)rand() % 16];
    token[RW_TOKEN_LEN] = '\0';
    n = o == OUT_URL ? asprintf(&body,
                                "{\"data\":[{\"taskType\":\"imageInference\",\"taskUUID\":\"%s\","
                                "\"imageUUID\":\"%s\",\"seed\":%d,\"imageURL\":\"https://"
                                "im.runware.ai/image/ws/2/ii/%s.jpg\"}]}",
                                uuid, image, rand(), image)
        : o == OUT_BASE64
            ? asprintf(&body,
                       "{\"data\":[{\"taskType\":\"imageInference\",\"taskUUID\":\"%s\","
                       "\"imageUUID\":\"%s\",\"seed\":%d,\"imageBase64Data\":\"%s\"}]}",
                       uuid, image, rand(), b64)
            : asprintf(&body,
                       "{\"data\":[{\"taskType\":\"imageInference\",\"taskUUID\":\"%s\","
                       "\"imageUUID\":\"%s\",\"seed\":%d,\"imageDataURI\":\"data:%s;base64,%s\"}]}",
                       uuid, image, rand(), sim_img_mime(SIM_FMT_JPG), b64);
    if (n < 0)
        return -1;
    n = asprintf(&cb[o][i].buf,
                 "POST /" RW_CALLBACK_SEGMENT "/%s?token=%s HTTP/1.1\r\nHost: 127.0.0.1:41234\r\n"
                 "Content-Type: application/json\r\nUser-Agent: runware-sim\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 uuid, token, strlen(body), body);
    free(body);
    if (n < 0)
        return -1;
    cb[o][i].len = (size_t)n;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*op)(unsigned);
    } ops[] = {
        {"imageURL", op_url},
        {"imageBase64Data", op_base64},
        {"imageDataURI", op_datauri},
        {"the three in turn", op_mix},
    };
    double round_ms = argc > 1 ? atof(argv[1]) : 200;

    if (round_ms <= 0) {
        fprintf(stderr, "usage: bench_callback [ROUND_MS]\n");
        return 2;
    }
    srand(1);
    for (unsigned o = 0; o < OUTS; o++)
        for (unsigned i = 0; i < TASKS; i++)
            if (make(o, i) < 0) {
                fprintf(stderr, "bench_callback: out of memory\n");
                return 1;
            }
    printf(
        "rw_http_parse + rw_cbody_read, ns per callback (request bytes: %zu, %zu, %zu), best and "
        "median of %d rounds of %.0f ms\n",
        cb[OUT_URL][0].len, cb[OUT_BASE64][0].len, cb[OUT_DATAURI][0].len, ROUNDS, round_ms);
    for (size_t j = 0; j < sizeof(ops) / sizeof(ops[0]); j++) {
        double best, med;

        sink = 0;
        for (unsigned i = 0; i < TASKS; i++)
            ops[j].op(i);
        if (sink != TASKS) { /* each callback is read right before it is timed */
            fprintf(stderr, "bench_callback: %s callbacks are not read as one item\n", ops[j].name);
            return 1;
        }
        measure_calls(ops[j].op, TASKS, round_ms, &best, &med);
        printf("  %-20s %8.1f %8.1f\n", ops[j].name, best, med);
    }
    for (unsigned o = 0; o < OUTS; o++)
        for (unsigned i = 0; i < TASKS; i++)
            free(cb[o][i].buf);
    return 0;
}
