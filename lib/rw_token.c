/* Webhook URLs and their tokens: hex HMAC-SHA256(secret, taskUUID), checked in constant time.
 *
 * HMAC (RFC 2104) is H((K ^ opad) || H((K ^ ipad) || m)), K the secret zero-padded to SHA-256's
 * 64-byte block (hashed first when longer). The two K blocks are hashed once per secret into a
 * struct rw_token_key; a token copies the two states (plain structs, on the stack) and hashes
 * the 36 bytes of the UUID, then the 32 of the inner digest: two compressions, no allocation.
 *
 * Resuming a hash from a saved state takes OpenSSL's low-level SHA256_Init/Update/Final,
 * deprecated since 3.0 but built into Debian 12's libssl3. This file, and only this one, asks
 * for the 1.1.1 API level so that they are declared without the deprecation warning. The 3.0
 * EVP routes do the same hashing but free and allocate a provider context on every
 * EVP_MAC_init or EVP_MD_CTX_copy_ex and dispatch through the provider: a check with a cached,
 * re-initialised EVP_MAC context took 293 ns hot (bench_token), this way 147 ns, of which the
 * two compressions are some 63. The SHA-256 code is OpenSSL's either way (SHA-NI or AVX2, by
 * cpuid). */
#define OPENSSL_API_COMPAT 0x10101000L

#include "rw_token.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

struct rw_token_key {
    SHA256_CTX inner; /* after the block K ^ 0x3636.. */
    SHA256_CTX outer; /* after the block K ^ 0x5c5c.. */
};

static int rw_token_key_set(struct rw_token_key *key, const void *secret, size_t secretlen)
{
    unsigned char k[SHA256_CBLOCK] = {0}, pad[SHA256_CBLOCK];
    int ok = 1;

    if (secret == NULL && secretlen != 0)
        return -1;
    if (secretlen > sizeof(k))
        ok = SHA256(secret, secretlen, k) != NULL;
    else if (secretlen != 0)
        memcpy(k, secret, secretlen);
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x36;
    ok = ok && SHA256_Init(&key->inner) && SHA256_Update(&key->inner, pad, sizeof(pad));
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x5c;
    ok = ok && SHA256_Init(&key->outer) && SHA256_Update(&key->outer, pad, sizeof(pad));
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    return ok ? 0 : -1;
}

struct rw_token_key *rw_token_key_new(const void *secret, size_t secretlen)
{
    struct rw_token_key *key = malloc(sizeof(*key));

    if (key && rw_token_key_set(key, secret, secretlen) < 0) {
        rw_token_key_free(key);
        return NULL;
    }
    return key;
}

void rw_token_key_free(struct rw_token_key *key)
{
    if (key) {
        OPENSSL_cleanse(key, sizeof(*key));
        free(key);
    }
}

int rw_token_sign(const struct rw_token_key *key, const char *task_uuid, char out[RW_TOKEN_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_CTX c;
    int ok;

    out[0] = '\0';
    if (key == NULL || task_uuid == NULL)
        return -1;
    c = key->inner;
    ok = SHA256_Update(&c, task_uuid, strlen(task_uuid)) && SHA256_Final(md, &c);
    c = key->outer;
    ok = ok && SHA256_Update(&c, md, sizeof(md)) && SHA256_Final(md, &c);
    if (ok) {
        for (size_t i = 0; i < sizeof(md); i++) {
            out[2 * i] = hex[md[i] >> 4];
            out[2 * i + 1] = hex[md[i] & 0x0f];
        }
        out[RW_TOKEN_LEN] = '\0';
    }
    /* the digest is the task's credential: it does not stay on the stack */
    OPENSSL_cleanse(&c, sizeof(c));
    OPENSSL_cleanse(md, sizeof(md));
    return ok ? 0 : -1;
}

bool rw_token_verify(const struct rw_token_key *key, const char *task_uuid, const char *token)
{
    char want[RW_TOKEN_LEN + 1];
    int diff = 0;

    if (token == NULL || strnlen(token, RW_TOKEN_LEN + 1) != RW_TOKEN_LEN)
        return false;
    if (rw_token_sign(key, task_uuid, want) != 0)
        return false;
    /* 16 bytes at a time, all four compared whatever the first ones hold: OpenSSL's x86-64
     * CRYPTO_memcmp compares 16 bytes as two words and any other length byte by byte (64 bytes
     * took a fifth of a check) */
    for (size_t i = 0; i < RW_TOKEN_LEN; i += 16)
        diff |= CRYPTO_memcmp(want + i, token + i, 16);
    OPENSSL_cleanse(want, sizeof(want));
    return diff == 0;
}

int rw_token_make(const void *secret, size_t secretlen, const char *task_uuid,
                  char out[RW_TOKEN_LEN + 1])
{
    struct rw_token_key key;
    int rc = -1;

    out[0] = '\0';
    if (rw_token_key_set(&key, secret, secretlen) == 0)
        rc = rw_token_sign(&key, task_uuid, out);
    OPENSSL_cleanse(&key, sizeof(key));
    return rc;
}

bool rw_token_check(const void *secret, size_t secretlen, const char *task_uuid, const char *token)
{
    struct rw_token_key key;
    bool ok = false;

    if (rw_token_key_set(&key, secret, secretlen) == 0)
        ok = rw_token_verify(&key, task_uuid, token);
    OPENSSL_cleanse(&key, sizeof(key));
    return ok;
}

/* Pieces copied rather than snprintf: formatting took about as long as making the token. */
int rw_webhook_url(const char *public_url, const char *task_uuid, const char *token, char *out,
                   size_t outlen)
{
    static const char seg[] = "/" RW_CALLBACK_SEGMENT "/", query[] = "?token=";
    size_t blen, ulen, tlen, n;
    char *p = out;

    if (public_url == NULL || task_uuid == NULL || token == NULL || out == NULL || outlen == 0)
        return -1;
    blen = strlen(public_url);
    while (blen > 0 && public_url[blen - 1] == '/')
        blen--;
    ulen = strlen(task_uuid);
    tlen = strlen(token);
    n = blen + sizeof(seg) - 1 + ulen + sizeof(query) - 1 + tlen;
    if (n >= outlen || n > INT_MAX) {
        out[0] = '\0';
        return -1;
    }
    memcpy(p, public_url, blen);
    p += blen;
    memcpy(p, seg, sizeof(seg) - 1);
    p += sizeof(seg) - 1;
    memcpy(p, task_uuid, ulen);
    p += ulen;
    memcpy(p, query, sizeof(query) - 1);
    p += sizeof(query) - 1;
    memcpy(p, token, tlen);
    p[tlen] = '\0';
    return (int)n;
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
