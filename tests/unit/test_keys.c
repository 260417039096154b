/* rw_keys: key names and the reserved-key check. */
#include "rw_keys.h"
#include "rwtest.h"

static void test_key_table(void)
{
    static const struct {
        enum rw_key_kind kind;
        const char *arg, *want;
    } t[] = {
        {RW_KEY_JOBS, NULL, "rw:jobs"},
        {RW_KEY_RESULTS, NULL, "rw:results"},
        {RW_KEY_PROCESSING, "host-a:8480", "rw:processing:host-a:8480"},
        {RW_KEY_SUBMITTING, "host-a:8480", "rw:submitting:host-a:8480"},
        {RW_KEY_TASK, "123e4567-e89b-12d3-a456-426614174000",
         "rw:task:123e4567-e89b-12d3-a456-426614174000"},
        {RW_KEY_TASK_SEEN, "u1", "rw:task:u1:seen"},
        {RW_KEY_TASK_ITEMS, "u1", "rw:task:u1:items"},
        {RW_KEY_PENDING, NULL, "rw:pending"},
        {RW_KEY_INSTANCES, NULL, "rw:instances"},
        {RW_KEY_SECRET, NULL, "rw:secret"},
    };
    char buf[128];

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int n = rw_key(buf, sizeof(buf), "rw", t[i].kind, t[i].arg);

        RWT_CHECK_STR(buf, t[i].want);
        RWT_CHECK_INT(n, strlen(t[i].want));
        /* every key runwared writes itself is reserved, except the default results list */
        RWT_CHECK(rw_key_reserved("rw", buf) == (t[i].kind != RW_KEY_RESULTS));
    }
}

static void test_key_errors(void)
{
    char buf[16];

    /* exactly fits: "runware:jobs" is 12 bytes + NUL */
    RWT_CHECK_INT(rw_key(buf, 13, "runware", RW_KEY_JOBS, NULL), 12);
    RWT_CHECK_STR(buf, "runware:jobs");
    RWT_CHECK_INT(rw_key(buf, 12, "runware", RW_KEY_JOBS, NULL), -1);
    RWT_CHECK_STR(buf, "");
    RWT_CHECK_INT(rw_key(buf, sizeof(buf), "runware", RW_KEY_TASK, NULL), -1);
    RWT_CHECK_INT(rw_key(buf, sizeof(buf), "runware", RW_KEY_PROCESSING, NULL), -1);
    RWT_CHECK_INT(rw_key(buf, sizeof(buf), NULL, RW_KEY_JOBS, NULL), -1);
    RWT_CHECK_INT(rw_key(buf, 0, "runware", RW_KEY_JOBS, NULL), -1);
    RWT_CHECK_INT(rw_key(NULL, 10, "runware", RW_KEY_JOBS, NULL), -1);
    RWT_CHECK_INT(rw_key(buf, sizeof(buf), "runware", (enum rw_key_kind)99, NULL), -1);
}

static void test_reserved_table(void)
{
    static const struct {
        const char *key;
        bool reserved;
    } t[] = {
        {"runware:jobs", true},
        {"runware:pending", true},
        {"runware:instances", true},
        {"runware:instancesx", false},
        {"runware:secret", true},
        {"runware:processing:host:8480", true},
        {"runware:processing:", true},
        {"runware:submitting:host:8480", true},
        {"runware:submitting", false},
        {"runware:task:abc", true},
        {"runware:task:abc:items", true},
        {"runware:task:", true},
        {"runware:results", false},
        {"runware:results:foo", false},
        {"runware:jobs2", false},
        {"runware:jobs:x", false},
        {"runware:pendingx", false},
        {"runware:secrets", false},
        {"runware:processing", false},
        {"runware:tasks", false},
        {"runware:task", false},
        {"runware", false},
        {"runwarex:jobs", false},
        {"other:jobs", false},
        {"RUNWARE:jobs", false},
        {"runware:Jobs", false},
        {"myapp:out", false},
        {"", false},
        {"jobs", false},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (rw_key_reserved("runware", t[i].key) != t[i].reserved) {
            fprintf(stderr, "  case %zu \"%s\"\n", i, t[i].key);
            RWT_CHECK(rw_key_reserved("runware", t[i].key) == t[i].reserved);
        }
    }
    RWT_CHECK(!rw_key_reserved(NULL, "runware:jobs"));
    RWT_CHECK(!rw_key_reserved("runware", NULL));
    /* a prefix with a colon of its own */
    RWT_CHECK(rw_key_reserved("a:b", "a:b:jobs"));
    RWT_CHECK(!rw_key_reserved("a:b", "a:jobs"));
}

static const struct rwt_case cases[] = {
    {"key_table", test_key_table},
    {"key_errors", test_key_errors},
    {"reserved_table", test_reserved_table},
};

RWT_MAIN(cases)
