/* libFuzzer: any bytes as a configuration file, and the text after "/callback/" as a webhook
 * URI: the parsers must never overrun, whatever they are given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rw_config.h"
#include "rw_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rw_config cfg;
    char *text = malloc(size + 1), err[1024], uuid[RW_UUID_LEN + 1], token[RW_TOKEN_LEN + 1];

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (rw_config_init(&cfg) == 0) {
        if (rw_config_parse(&cfg, text, "fuzz", err, sizeof(err)) == 0)
            (void)rw_config_finish(&cfg, err, sizeof(err));
        rw_config_free(&cfg);
    }
    (void)rw_webhook_parse(text, uuid, token);
    free(text);
    return 0;
}
