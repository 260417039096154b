/* libFuzzer: any bytes as a Runware answer or webhook body -> rw_response_parse (and
 * rw_response_read, which must take nothing it refuses) and the accessors the daemon uses on what
 * it returns. */
#include <stdint.h>
#include <stdlib.h>

#include "rw_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rw_response r = {0}, strict = {0};
    char err[256];

    /* what rw_response_read takes, rw_response_parse takes too */
    if (rw_response_read((const char *)data, size, &strict, err, sizeof(err)) == 0 &&
        rw_response_parse((const char *)data, size, &r, err, sizeof(err)) != 0)
        abort();
    rw_response_clear(&strict);
    rw_response_clear(&r);

    if (rw_response_parse((const char *)data, size, &r, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < r.nitems; i++) {
            (void)rw_item_task_uuid(r.items[i]);
            (void)rw_item_image_uuid(r.items[i]);
            (void)rw_item_status(r.items[i]);
        }
        for (size_t i = 0; i < r.nerrors; i++)
            json_object_put(rw_error_for_record(r.errors[i]));
    }
    rw_response_clear(&r);
    return 0;
}
