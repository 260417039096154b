/* rw_token: HMAC tokens, webhook URLs and their parsing. */
#include "rw_token.h"
#include "rwtest.h"

#define SECRET "0123456789abcdef-secret"
#define UUID   "123e4567-e89b-12d3-a456-426614174000"
/* printf %s UUID | openssl dgst -sha256 -hmac SECRET */
#define TOKEN "cfceef1edae42bb434380c8ac49a24f714907616ccc944ed197df95aa2a2286e"

static void test_make_vectors(void)
{
    char tok[RW_TOKEN_LEN + 1];

    RWT_CHECK_INT(rw_token_make(SECRET, strlen(SECRET), UUID, tok), 0);
    RWT_CHECK_STR(tok, TOKEN);
    /* RFC 4231 test case 2 */
    RWT_CHECK_INT(rw_token_make("Jefe", 4, "what do ya want for nothing?", tok), 0);
    RWT_CHECK_STR(tok, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* the secret is binary: bytes after a NUL count */
    {
        char a[RW_TOKEN_LEN + 1], b[RW_TOKEN_LEN + 1];

        RWT_CHECK_INT(rw_token_make("k\0one", 5, UUID, a), 0);
        RWT_CHECK_INT(rw_token_make("k\0two", 5, UUID, b), 0);
        RWT_CHECK(strcmp(a, b) != 0);
    }
    RWT_CHECK_INT(rw_token_make(SECRET, strlen(SECRET), NULL, tok), -1);
    RWT_CHECK_STR(tok, "");
    RWT_CHECK_INT(rw_token_make(NULL, 5, UUID, tok), -1);
}

/* The key is set up once per secret: alternating secrets, repeats and the empty secret each give
 * their own HMAC, whatever was computed before. */
static void test_make_secret_changes(void)
{
    static const struct {
        const char *secret;
        size_t len;
        const char *msg, *want;
    } t[] = {
        {SECRET, sizeof(SECRET) - 1, UUID, TOKEN},
        {"Jefe", 4, "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {SECRET, sizeof(SECRET) - 1, UUID, TOKEN},
        {SECRET, sizeof(SECRET) - 1, UUID, TOKEN},
        /* printf '' | openssl dgst -sha256 -hmac '' */
        {"", 0, "", "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"},
        {"Jefe", 4, "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {"Jefe!", 4, "what do ya want for nothing?", /* same bytes as "Jefe" */
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {SECRET, sizeof(SECRET) - 1, UUID, TOKEN},
    };
    char tok[RW_TOKEN_LEN + 1];

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        RWT_CHECK_INT(rw_token_make(t[i].secret, t[i].len, t[i].msg, tok), 0);
        RWT_CHECK_STR(tok, t[i].want);
    }
    RWT_CHECK(rw_token_check(SECRET, strlen(SECRET), UUID, TOKEN));
    RWT_CHECK(!rw_token_check("Jefe", 4, UUID, TOKEN));
    RWT_CHECK(rw_token_check(SECRET, strlen(SECRET), UUID, TOKEN));
}

static void test_check_table(void)
{
    static const struct {
        const char *token;
        bool ok;
    } t[] = {
        {TOKEN, true},
        {"CFCEEF1EDAE42BB434380C8AC49A24F714907616CCC944ED197DF95AA2A2286E", false},
        {"cfceef1edae42bb434380c8ac49a24f714907616ccc944ed197df95aa2a2286f", false},
        {"dfceef1edae42bb434380c8ac49a24f714907616ccc944ed197df95aa2a2286e", false},
        {"cfceef1edae42bb434380c8ac49a24f714907616ccc944ed197df95aa2a2286", false},
        {"cfceef1edae42bb434380c8ac49a24f714907616ccc944ed197df95aa2a2286e0", false},
        {"", false},
        {NULL, false},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (rw_token_check(SECRET, strlen(SECRET), UUID, t[i].token) != t[i].ok) {
            fprintf(stderr, "  case %zu\n", i);
            RWT_CHECK(rw_token_check(SECRET, strlen(SECRET), UUID, t[i].token) == t[i].ok);
        }
    }
    /* another secret, another task */
    RWT_CHECK(!rw_token_check("another-secret-16b", 18, UUID, TOKEN));
    RWT_CHECK(
        !rw_token_check(SECRET, strlen(SECRET), "123e4567-e89b-12d3-a456-426614174001", TOKEN));
    RWT_CHECK(!rw_token_check(SECRET, strlen(SECRET), NULL, TOKEN));
}

static void test_url_table(void)
{
    static const struct {
        const char *base, *want;
    } t[] = {
        {"https://rw.example.com", "https://rw.example.com/callback/" UUID "?token=" TOKEN},
        {"https://rw.example.com/", "https://rw.example.com/callback/" UUID "?token=" TOKEN},
        {"https://rw.example.com//", "https://rw.example.com/callback/" UUID "?token=" TOKEN},
        {"http://10.0.0.5:8480/hooks/rw",
         "http://10.0.0.5:8480/hooks/rw/callback/" UUID "?token=" TOKEN},
        {"http://10.0.0.5:8480/hooks/rw/",
         "http://10.0.0.5:8480/hooks/rw/callback/" UUID "?token=" TOKEN},
    };
    char out[512];

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int n = rw_webhook_url(t[i].base, UUID, TOKEN, out, sizeof(out));

        RWT_CHECK_STR(out, t[i].want);
        RWT_CHECK_INT(n, strlen(t[i].want));
    }
}

static void test_url_small_buffer(void)
{
    const char *want = "http://h/callback/" UUID "?token=" TOKEN;
    size_t len = strlen(want);
    char out[256];

    RWT_CHECK_INT(rw_webhook_url("http://h", UUID, TOKEN, out, len + 1), (int)len);
    RWT_CHECK_STR(out, want);
    memset(out, 'x', sizeof(out));
    RWT_CHECK_INT(rw_webhook_url("http://h", UUID, TOKEN, out, len), -1);
    RWT_CHECK_STR(out, "");
    RWT_CHECK(out[len] == 'x'); /* nothing written past the buffer's end */
    RWT_CHECK_INT(rw_webhook_url(NULL, UUID, TOKEN, out, sizeof(out)), -1);
    RWT_CHECK_INT(rw_webhook_url("http://h", UUID, TOKEN, out, 0), -1);
}

static void test_parse_table(void)
{
    static const struct {
        const char *uri;
        int rc;
        const char *uuid, *token;
    } t[] = {
        {"/callback/" UUID "?token=" TOKEN, 0, UUID, TOKEN},
        {"/hooks/rw/callback/" UUID "?token=" TOKEN, 0, UUID, TOKEN},
        {"/callback/" UUID "?a=1&token=" TOKEN "&b=2", 0, UUID, TOKEN},
        {"/callback/" UUID "?token=" TOKEN "&token=other", 0, UUID, TOKEN}, /* first wins */
        {"/callback/" UUID "?xtoken=1&tokens=2", 0, UUID, ""},
        {"/callback/" UUID, 0, UUID, ""},
        {"/callback/" UUID "?", 0, UUID, ""},
        {"/callback/" UUID "?token=", 0, UUID, ""},
        {"/callback/" UUID "?token=abc", 0, UUID, "abc"},
        {"/callback/" UUID "?token=" TOKEN "#frag", 0, UUID, TOKEN},
        {"/callback/" UUID "?token=" TOKEN "0", 0, UUID, ""}, /* 65 digits: mismatch */
        {"/callback/123E4567-E89B-12D3-A456-426614174000?token=x", 0,
         "123E4567-E89B-12D3-A456-426614174000", "x"},
        {"http://host:8480/callback/" UUID "?token=x", 0, UUID, "x"},
        {"/callback/" UUID "/?token=" TOKEN, -1, "", ""},
        {"/callback/" UUID "/extra?token=" TOKEN, -1, "", ""},
        {"/callback/" UUID "x?token=" TOKEN, -1, "", ""},
        {"/callback/not-a-uuid-at-all-but-36-characters?token=x", -1, "", ""},
        {"/callbacks/" UUID "?token=" TOKEN, -1, "", ""},
        {"/xcallback/" UUID "?token=" TOKEN, -1, "", ""},
        {"callback/" UUID, -1, "", ""},
        {"/" UUID "?token=" TOKEN, -1, "", ""},
        {"/callback/?token=" TOKEN, -1, "", ""},
        {"/callback/" UUID "?token=" TOKEN, 0, UUID, TOKEN},
        {"", -1, "", ""},
        {"/", -1, "", ""},
    };
    char uuid[RW_UUID_LEN + 1], tok[RW_TOKEN_LEN + 1];

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        memset(uuid, 'Z', sizeof(uuid));
        memset(tok, 'Z', sizeof(tok));
        int rc = rw_webhook_parse(t[i].uri, uuid, tok);

        if (rc != t[i].rc || strcmp(uuid, t[i].uuid) != 0 || strcmp(tok, t[i].token) != 0) {
            fprintf(stderr, "  case %zu \"%s\": rc %d uuid \"%.37s\" token \"%.65s\"\n", i,
                    t[i].uri, rc, uuid, tok);
            rwt_failed++;
        }
    }
    RWT_CHECK_INT(rw_webhook_parse(NULL, uuid, tok), -1);
}

static void test_long_token_no_overflow(void)
{
    /* a token far longer than the buffer, with guard bytes around the output */
    struct {
        char uuid[RW_UUID_LEN + 1];
        char token[RW_TOKEN_LEN + 1];
        char guard[16];
    } out;
    char uri[4096];

    snprintf(uri, sizeof(uri), "/callback/%s?token=", UUID);
    memset(uri + strlen(uri), 'a', 3000);
    uri[sizeof(uri) - 1] = '\0';
    memset(&out, 'G', sizeof(out));
    RWT_CHECK_INT(rw_webhook_parse(uri, out.uuid, out.token), 0);
    RWT_CHECK_STR(out.uuid, UUID);
    RWT_CHECK_STR(out.token, "");
    for (size_t i = 0; i < sizeof(out.guard); i++)
        RWT_CHECK(out.guard[i] == 'G');
    RWT_CHECK(!rw_token_check(SECRET, strlen(SECRET), UUID, out.token));
}

static void test_round_trip(void)
{
    char tok[RW_TOKEN_LEN + 1], url[512], uuid[RW_UUID_LEN + 1], got[RW_TOKEN_LEN + 1];
    const char *path;

    for (int i = 0; i < 50; i++) {
        RWT_CHECK_INT(rw_uuid_v4(uuid), 0);
        RWT_CHECK_INT(rw_token_make(SECRET, strlen(SECRET), uuid, tok), 0);
        RWT_CHECK(rw_webhook_url("https://rw.example.com/base/", uuid, tok, url, sizeof(url)) > 0);
        path = url + strlen("https://rw.example.com");
        {
            char u2[RW_UUID_LEN + 1];

            RWT_CHECK_INT(rw_webhook_parse(path, u2, got), 0);
            RWT_CHECK_STR(u2, uuid);
            RWT_CHECK_STR(got, tok);
            RWT_CHECK(rw_token_check(SECRET, strlen(SECRET), u2, got));
        }
    }
}

static const struct rwt_case cases[] = {
    {"make_vectors", test_make_vectors},
    {"make_secret_changes", test_make_secret_changes},
    {"check_table", test_check_table},
    {"url_table", test_url_table},
    {"url_small_buffer", test_url_small_buffer},
    {"parse_table", test_parse_table},
    {"long_token_no_overflow", test_long_token_no_overflow},
    {"round_trip", test_round_trip},
};

RWT_MAIN(cases)
