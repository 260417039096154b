/* libFuzzer: any bytes as a callback request URI -> rw_webhook_parse, then the token check the
 * listener makes. A token is accepted only when it is the task's own; a URL runwared builds
 * parses back to the same task and token. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rw_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char secret[] = "fuzz-secret-0123456789abcdef";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *uri = malloc(size + 1), uuid[RW_UUID_LEN + 1], token[RW_TOKEN_LEN + 1];
    char want[RW_TOKEN_LEN + 1], url[512], u2[RW_UUID_LEN + 1], t2[RW_TOKEN_LEN + 1];

    if (!uri)
        return 0;
    memcpy(uri, data, size);
    uri[size] = '\0';
    if (rw_webhook_parse(uri, uuid, token) == 0) {
        if (!rw_uuid_valid(uuid) || strlen(token) > RW_TOKEN_LEN)
            abort();
        if (rw_token_make(secret, sizeof(secret) - 1, uuid, want) < 0)
            abort();
        if (rw_token_check(secret, sizeof(secret) - 1, uuid, token) != (strcmp(token, want) == 0))
            abort(); /* accepted a token that is not the task's, or refused its own */
        if (rw_webhook_url("https://h.example/p/", uuid, want, url, sizeof(url)) < 0 ||
            rw_webhook_parse(url + strlen("https://h.example"), u2, t2) < 0 || strcmp(u2, uuid) ||
            strcmp(t2, want))
            abort(); /* a URL of ours does not parse back */
    } else if (uuid[0] || token[0]) {
        abort(); /* a refused URI must leave nothing behind */
    }
    free(uri);
    return 0;
}
