/* rw_uuid: v4 generation and the 8-4-4-4-12 check. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rw_uuid.h"
#include "rwtest.h"

static void test_valid_table(void)
{
    static const struct {
        const char *s;
        bool ok;
    } t[] = {
        {"123e4567-e89b-12d3-a456-426614174000", true},
        {"123E4567-E89B-12D3-A456-426614174000", true},
        {"00000000-0000-0000-0000-000000000000", true},
        {"ffffffff-ffff-4fff-bfff-ffffffffffff", true},
        {"", false},
        {"123e4567-e89b-12d3-a456-42661417400", false},   /* 35 */
        {"123e4567-e89b-12d3-a456-4266141740000", false}, /* 37 */
        {"123e4567e89b-12d3-a456-426614174000-", false},  /* dash misplaced */
        {"123e4567-e89b-12d3-a456_426614174000", false},
        {"123g4567-e89b-12d3-a456-426614174000", false},
        {"123e4567-e89b-12d3-a456-42661417400 ", false},
        {" 23e4567-e89b-12d3-a456-426614174000", false},
        {"{23e4567-e89b-12d3-a456-42661417400}", false},
        {"123e4567-e89b-12d3-a456-4266141740\n0", false},
        {"123e4567+e89b-12d3-a456-426614174000", false},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (rw_uuid_valid(t[i].s) != t[i].ok) {
            fprintf(stderr, "  case %zu \"%s\"\n", i, t[i].s);
            RWT_CHECK(rw_uuid_valid(t[i].s) == t[i].ok);
        }
    }
    RWT_CHECK(!rw_uuid_valid(NULL));
}

/* Every byte at every position: a dash where the form has one, a hex digit of either case
 * elsewhere, nothing else; and every length short of 36, each string in a block of exactly its
 * size so that a read past its NUL shows under ASan. */
static void test_valid_every_shape(void)
{
    const char *good = "123e4567-e89b-12d3-a456-426614174000";
    char s[RW_UUID_LEN + 2];

    for (int i = 0; i < RW_UUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;

        for (int c = 1; c < 256; c++) {
            bool want =
                dash ? c == '-'
                     : (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');

            memcpy(s, good, RW_UUID_LEN + 1);
            s[i] = (char)c;
            if (rw_uuid_valid(s) != want) {
                fprintf(stderr, "  position %d byte 0x%02x\n", i, c);
                rwt_failed++;
            }
        }
    }
    for (size_t len = 0; len <= RW_UUID_LEN + 1; len++) {
        char *p = malloc(len + 1);

        RWT_CHECK(p != NULL);
        for (size_t j = 0; j < len; j++)
            p[j] = j < RW_UUID_LEN ? good[j] : '0';
        p[len] = '\0';
        RWT_CHECK(rw_uuid_valid(p) == (len == RW_UUID_LEN));
        free(p);
    }
}

static void test_v4_form(void)
{
    char u[RW_UUID_LEN + 1];

    for (int i = 0; i < 200; i++) {
        memset(u, 'Z', sizeof(u));
        RWT_CHECK_INT(rw_uuid_v4(u), 0);
        RWT_CHECK_INT(strlen(u), RW_UUID_LEN);
        RWT_CHECK(rw_uuid_valid(u));
        RWT_CHECK(u[14] == '4');                  /* version */
        RWT_CHECK(strchr("89ab", u[19]) != NULL); /* variant 10xx */
        for (int j = 0; j < RW_UUID_LEN; j++)
            RWT_CHECK(u[j] == '-' || (u[j] >= '0' && u[j] <= '9') || (u[j] >= 'a' && u[j] <= 'f'));
    }
}

static void test_v4_distinct(void)
{
    enum { N = 1000 };
    static char u[N][RW_UUID_LEN + 1];
    int variants[4] = {0};

    for (int i = 0; i < N; i++) {
        RWT_CHECK_INT(rw_uuid_v4(u[i]), 0);
        variants[strchr("89ab", u[i][19]) - "89ab"]++;
    }
    qsort(u, N, sizeof(u[0]), (int (*)(const void *, const void *))strcmp);
    for (int i = 1; i < N; i++)
        RWT_CHECK(strcmp(u[i - 1], u[i]) != 0);
    /* the variant nibble keeps two random bits: all four values show up */
    for (int i = 0; i < 4; i++)
        RWT_CHECK(variants[i] > 0);
}

/* UUIDs are drawn from a per-thread pool of random bytes: a forked child must not hand out the
 * ones its parent hands out next. */
static void test_v4_fork(void)
{
    char first[RW_UUID_LEN + 1], mine[RW_UUID_LEN + 1], child[RW_UUID_LEN + 1] = "";
    int fds[2];
    pid_t pid;
    int st;

    RWT_CHECK_INT(rw_uuid_v4(first), 0); /* the pool is filled */
    RWT_CHECK_INT(pipe(fds), 0);
    pid = fork();
    RWT_CHECK(pid >= 0);
    if (pid == 0) {
        char u[RW_UUID_LEN + 1];
        int ok = rw_uuid_v4(u) == 0 && write(fds[1], u, RW_UUID_LEN) == RW_UUID_LEN;

        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    RWT_CHECK_INT(read(fds[0], child, RW_UUID_LEN), RW_UUID_LEN);
    close(fds[0]);
    RWT_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    RWT_CHECK_INT(rw_uuid_v4(mine), 0);
    RWT_CHECK(rw_uuid_valid(child));
    RWT_CHECK(strcmp(child, mine) != 0);
    RWT_CHECK(strcmp(child, first) != 0);
}

static const struct rwt_case cases[] = {
    {"valid_table", test_valid_table}, {"valid_every_shape", test_valid_every_shape},
    {"v4_form", test_v4_form},         {"v4_distinct", test_v4_distinct},
    {"v4_fork", test_v4_fork},
};

RWT_MAIN(cases)
