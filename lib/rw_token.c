/* Webhook URLs and their tokens: hex HMAC-SHA256(secret, taskUUID), checked in constant time. */
#include "rw_token.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

/* HMAC-SHA256 keyed once per secret and thread: the one-shot HMAC() fetches the algorithm and
 * sets the key up for every call (7.6 % of runwared's CPU in perf). The context is
 * re-initialised with the key it holds for each token. */
static _Thread_local struct {
    EVP_MAC_CTX *ctx;
    unsigned char *secret; /* a copy, to notice a new secret; cleansed when replaced */
    size_t len;
} keyed;

static EVP_MAC_CTX *keyed_ctx(const void *secret, size_t secretlen)
{
    static const unsigned char empty = 0;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC *mac;

    if (keyed.ctx && keyed.len == secretlen &&
        (secretlen == 0 || CRYPTO_memcmp(keyed.secret, secret, secretlen) == 0))
        return EVP_MAC_init(keyed.ctx, NULL, 0, NULL) ? keyed.ctx : NULL;
    EVP_MAC_CTX_free(keyed.ctx);
    OPENSSL_clear_free(keyed.secret, keyed.len);
    keyed.ctx = NULL;
    keyed.secret = NULL;
    keyed.len = 0;
    if (!(mac = EVP_MAC_fetch(NULL, "HMAC", NULL)))
        return NULL;
    keyed.ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);
    if (!keyed.ctx || !(keyed.secret = OPENSSL_malloc(secretlen ? secretlen : 1)) ||
        !EVP_MAC_init(keyed.ctx, secretlen ? secret : &empty, secretlen, params)) {
        EVP_MAC_CTX_free(keyed.ctx);
        OPENSSL_free(keyed.secret);
        keyed.ctx = NULL;
        keyed.secret = NULL;
        return NULL;
    }
    if (secretlen)
        memcpy(keyed.secret, secret, secretlen);
    keyed.len = secretlen;
    return keyed.ctx;
}

int rw_token_make(const void *secret, size_t secretlen, const char *task_uuid,
                  char out[RW_TOKEN_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t mdlen = 0;
    EVP_MAC_CTX *ctx;

    out[0] = '\0';
    if (task_uuid == NULL || secretlen > INT_MAX || (secret == NULL && secretlen != 0))
        return -1;
    if (!(ctx = keyed_ctx(secret, secretlen)) ||
        !EVP_MAC_update(ctx, (const unsigned char *)task_uuid, strlen(task_uuid)) ||
        !EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) || mdlen * 2 != RW_TOKEN_LEN)
        return -1;
    for (size_t i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0x0f];
    }
    out[RW_TOKEN_LEN] = '\0';
    OPENSSL_cleanse(md, sizeof(md));
    return 0;
}

bool rw_token_check(const void *secret, size_t secretlen, const char *task_uuid, const char *token)
{
    char want[RW_TOKEN_LEN + 1];
    bool ok;

    if (token == NULL || strnlen(token, RW_TOKEN_LEN + 1) != RW_TOKEN_LEN)
        return false;
    if (rw_token_make(secret, secretlen, task_uuid, want) != 0)
        return false;
    ok = CRYPTO_memcmp(want, token, RW_TOKEN_LEN) == 0;
    OPENSSL_cleanse(want, sizeof(want));
    return ok;
}

int rw_webhook_url(const char *public_url, const char *task_uuid, const char *token, char *out,
                   size_t outlen)
{
    size_t blen;
    int n;

    if (public_url == NULL || task_uuid == NULL || token == NULL || out == NULL || outlen == 0)
        return -1;
    blen = strlen(public_url);
    while (blen > 0 && public_url[blen - 1] == '/')
        blen--;
    if (blen > INT_MAX)
        return -1;
    n = snprintf(out, outlen, "%.*s/%s/%s?token=%s", (int)blen, public_url, RW_CALLBACK_SEGMENT,
                 task_uuid, token);
    if (n < 0 || (size_t)n >= outlen) {
        out[0] = '\0';
        return -1;
    }
    return n;
}

/* Finds the value of `token` in a query string ("a=1&token=...&b", ending at NUL or '#'); the
 * first one wins. A value longer than RW_TOKEN_LEN cannot be right and yields "". */
static void rw_query_token(const char *q, char token[RW_TOKEN_LEN + 1])
{
    static const char name[] = "token=";

    token[0] = '\0';
    while (*q != '\0' && *q != '#') {
        size_t plen = strcspn(q, "&#");

        if (plen >= sizeof(name) - 1 && memcmp(q, name, sizeof(name) - 1) == 0) {
            size_t vlen = plen - (sizeof(name) - 1);

            if (vlen <= RW_TOKEN_LEN) {
                memcpy(token, q + sizeof(name) - 1, vlen);
                token[vlen] = '\0';
            }
            return;
        }
        q += plen;
        if (*q == '&')
            q++;
    }
}

int rw_webhook_parse(const char *uri, char uuid[RW_UUID_LEN + 1], char token[RW_TOKEN_LEN + 1])
{
    static const char seg[] = "/" RW_CALLBACK_SEGMENT "/";
    const size_t seglen = sizeof(seg) - 1;
    size_t plen;
    const char *u;

    uuid[0] = '\0';
    token[0] = '\0';
    if (uri == NULL)
        return -1;
    plen = strcspn(uri, "?#");
    if (plen < seglen + RW_UUID_LEN)
        return -1;
    u = uri + plen - RW_UUID_LEN;
    if (memcmp(u - seglen, seg, seglen) != 0)
        return -1;
    memcpy(uuid, u, RW_UUID_LEN);
    uuid[RW_UUID_LEN] = '\0';
    if (!rw_uuid_valid(uuid)) {
        uuid[0] = '\0';
        return -1;
    }
    if (uri[plen] == '?')
        rw_query_token(uri + plen + 1, token);
    return 0;
}
