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

/* From the secret's bytes: alternating secrets, repeats and the empty secret each give their own
 * HMAC, whatever was computed before. */
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

/* RFC 4231's HMAC-SHA256 test cases 1-7 (case 5 is truncated to 128 bits there), through a key
 * set up once and through the secret's bytes: short keys, a key longer than SHA-256's block
 * (hashed first) and data longer than a block. */
static void test_rfc4231(void)
{
    static const struct {
        const char *key;
        size_t keylen;
        const char *data, *mac;
    } t[] = {
        {"\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b", 20,
         "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"Jefe", 4, "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {NULL, 20, NULL, /* 20 x 0xaa, 50 x 0xdd */
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15"
         "\x16\x17\x18\x19",
         25, NULL, /* 50 x 0xcd */
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {"\x0c\x0c\x0c\x0c\x0c\x0c\x0c\x0c\x0c\x0c\x0c\x0c\x0c\x0c\x0c\x0c\x0c\x0c\x0c\x0c", 20,
         "Test With Truncation", "a3b6167473100ee06e0c796c2955552b"},
        {NULL, 131, "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {NULL, 131,
         "This is a test using a larger than block-size key and a larger than block-size data. "
         "The key needs to be hashed before being used by the HMAC algorithm.",
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
    unsigned char aa[131];
    char dd[51], cd[51];

    memset(aa, 0xaa, sizeof(aa));
    memset(dd, 0xdd, 50);
    memset(cd, 0xcd, 50);
    dd[50] = cd[50] = '\0';
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        const void *key = t[i].key ? (const void *)t[i].key : aa;
        const char *data = t[i].data ? t[i].data : i == 2 ? dd : cd;
        struct rw_token_key *k = rw_token_key_new(key, t[i].keylen);
        char a[RW_TOKEN_LEN + 1], b[RW_TOKEN_LEN + 1];
        size_t n = strlen(t[i].mac);

        RWT_CHECK(k != NULL);
        RWT_CHECK_INT(rw_token_sign(k, data, a), 0);
        RWT_CHECK_INT(rw_token_make(key, t[i].keylen, data, b), 0);
        if (strncmp(a, t[i].mac, n) != 0 || strcmp(a, b) != 0) {
            fprintf(stderr, "  case %zu: %s / %s\n", i + 1, a, b);
            rwt_failed++;
        }
        RWT_CHECK(rw_token_verify(k, data, a));
        rw_token_key_free(k);
    }
}

/* Keys around SHA-256's 64-byte block: up to 64 bytes the key is padded, beyond it hashed.
 * printf %s UUID | openssl dgst -sha256 -hmac "$(printf 'k%.0s' $(seq N))" */
static void test_key_block_boundary(void)
{
    static const struct {
        size_t len;
        const char *want;
    } t[] = {
        {63, "1c2633ec9ab420306d640ed52ac1090a061e0492046180272c76a60c0537cdc9"},
        {64, "260cb7ba8359de332d64fc35cb1c8e06c2f80fccb3fe146f4d2d034d76215aa6"},
        {65, "7f17671109cf586a55c5d9c15099c3fa5e795ba3a781dfc210273c54565d9697"},
    };
    char key[65], tok[RW_TOKEN_LEN + 1];

    memset(key, 'k', sizeof(key));
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rw_token_key *k = rw_token_key_new(key, t[i].len);

        RWT_CHECK(k != NULL);
        RWT_CHECK_INT(rw_token_sign(k, UUID, tok), 0);
        RWT_CHECK_STR(tok, t[i].want);
        RWT_CHECK(rw_token_verify(k, UUID, t[i].want));
        rw_token_key_free(k);
    }
}

/* Keys live side by side: each signs with its own secret whatever the others did, and a token
 * of one secret is refused under another (the secret changing, as tests and tools may do). */
static void test_keys_side_by_side(void)
{
    struct rw_token_key *a = rw_token_key_new(SECRET, strlen(SECRET));
    struct rw_token_key *b = rw_token_key_new("Jefe", 4);
    struct rw_token_key *c = rw_token_key_new("k\0one", 5), *d = rw_token_key_new("k\0two", 5);
    char ta[RW_TOKEN_LEN + 1], tb[RW_TOKEN_LEN + 1], tc[RW_TOKEN_LEN + 1], td[RW_TOKEN_LEN + 1];

    RWT_CHECK(a && b && c && d);
    for (int round = 0; round < 3; round++) {
        RWT_CHECK_INT(rw_token_sign(a, UUID, ta), 0);
        RWT_CHECK_INT(rw_token_sign(b, "what do ya want for nothing?", tb), 0);
        RWT_CHECK_INT(rw_token_sign(c, UUID, tc), 0);
        RWT_CHECK_INT(rw_token_sign(d, UUID, td), 0);
        RWT_CHECK_STR(ta, TOKEN);
        RWT_CHECK_STR(tb, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        RWT_CHECK(strcmp(tc, td) != 0); /* bytes after a NUL count */
        RWT_CHECK(rw_token_verify(a, UUID, TOKEN));
        RWT_CHECK(!rw_token_verify(b, UUID, TOKEN));
        RWT_CHECK(rw_token_verify(c, UUID, tc) && !rw_token_verify(c, UUID, td));
        RWT_CHECK(rw_token_verify(d, UUID, td) && !rw_token_verify(d, UUID, tc));
    }
    rw_token_key_free(b);
    RWT_CHECK(rw_token_verify(a, UUID, TOKEN)); /* freeing one leaves the others alone */
    rw_token_key_free(a);
    rw_token_key_free(c);
    rw_token_key_free(d);
    rw_token_key_free(NULL);
}

static void test_key_misuse(void)
{
    struct rw_token_key *empty = rw_token_key_new(NULL, 0);
    char tok[RW_TOKEN_LEN + 1];

    RWT_CHECK(rw_token_key_new(NULL, 5) == NULL);
    /* printf '' | openssl dgst -sha256 -hmac '' */
    RWT_CHECK(empty != NULL);
    RWT_CHECK_INT(rw_token_sign(empty, "", tok), 0);
    RWT_CHECK_STR(tok, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    memset(tok, 'x', sizeof(tok));
    RWT_CHECK_INT(rw_token_sign(NULL, UUID, tok), -1);
    RWT_CHECK_STR(tok, "");
    memset(tok, 'x', sizeof(tok));
    RWT_CHECK_INT(rw_token_sign(empty, NULL, tok), -1);
    RWT_CHECK_STR(tok, "");
    RWT_CHECK(!rw_token_verify(NULL, UUID, TOKEN));
    RWT_CHECK(!rw_token_verify(empty, NULL, TOKEN));
    rw_token_key_free(empty);
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
        {"cfceef1edae42bb434380c8ac49a24f714907616ccc944ed197df95aa2a2286e&", false},
        {"cfceef1edae42bb434380c8ac49a24f7", false}, /* the first half alone */
        {"cfceef1edae42bb434380c8ac49a24f714907616ccc944ed197df95aa2a2286e" /* twice */
         "cfceef1edae42bb434380c8ac49a24f714907616ccc944ed197df95aa2a2286e",
         false},
        {"cfceef1edae42bb4\0" /* 16 digits, then a NUL */
         "4380c8ac49a24f714907616ccc944ed197df95aa2a2286e",
         false},
        {"", false},
        {NULL, false},
    };
    struct rw_token_key *key = rw_token_key_new(SECRET, strlen(SECRET));

    RWT_CHECK(key != NULL);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (rw_token_check(SECRET, strlen(SECRET), UUID, t[i].token) != t[i].ok ||
            rw_token_verify(key, UUID, t[i].token) != t[i].ok) {
            fprintf(stderr, "  case %zu\n", i);
            rwt_failed++;
        }
    }
    /* one digit wrong anywhere, in each 16-byte piece compared: refused */
    for (size_t i = 0; i < RW_TOKEN_LEN; i++) {
        char bad[RW_TOKEN_LEN + 1];

        memcpy(bad, TOKEN, sizeof(bad));
        bad[i] = bad[i] == '0' ? '1' : '0';
        if (rw_token_verify(key, UUID, bad) || rw_token_check(SECRET, strlen(SECRET), UUID, bad)) {
            fprintf(stderr, "  digit %zu changed: accepted\n", i);
            rwt_failed++;
        }
    }
    rw_token_key_free(key);
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
        {"/callback/" UUID "?token=" TOKEN "0", 0, UUID, ""},              /* 65 digits: mismatch */
        {"/callback/" UUID "?token=" TOKEN "0&token=" TOKEN, 0, UUID, ""}, /* the first counts */
        {"/callback/" UUID "?&token=" TOKEN, 0, UUID, TOKEN},
        {"/callback/" UUID "?a&token=x&", 0, UUID, "x"},
        {"/callback/" UUID "?tok&en=x", 0, UUID, ""},
        {"/callback/" UUID "?#token=x", 0, UUID, ""},
        {"/callback/" UUID "?a=1#&token=x", 0, UUID, ""},
        {"/callback/" UUID "#x?token=" TOKEN, 0, UUID, ""}, /* '?' inside the fragment */
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
    {"rfc4231", test_rfc4231},
    {"key_block_boundary", test_key_block_boundary},
    {"keys_side_by_side", test_keys_side_by_side},
    {"key_misuse", test_key_misuse},
    {"check_table", test_check_table},
    {"url_table", test_url_table},
    {"url_small_buffer", test_url_small_buffer},
    {"parse_table", test_parse_table},
    {"long_token_no_overflow", test_long_token_no_overflow},
    {"round_trip", test_round_trip},
};

RWT_MAIN(cases)
