/* libFuzzer, differential: any bytes as a webhook body -> rw_cbody_read (the callbacks' one-pass
 * reader) against json-c (rw_response_parse). A body json-c refuses is refused or left to
 * json-c; one the fast reader reads, json-c reads to the same items with the same taskUUID,
 * imageUUID and cost, and each item as it goes into a record holds json-c's item less its
 * status, reads again as an item of its own, and has no whitespace between tokens. A body the fast
 * reader calls invalid that json-c's strict mode takes must hold something RFC 8259 forbids that
 * json-c lets through; one it leaves to json-c, json-c must read as JSON. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rw_cbody.h"
#include "rw_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Does s hold what json-c's strict mode accepts and JSON does not: bytes that are not ASCII
 * (json-c's UTF-8 check lets overlong forms and surrogates through), a control character in a
 * string, NaN or Infinity, a number like 1., -.5 or -01? */
static bool json_c_leniency(const uint8_t *s, size_t n)
{
    bool in_string = false;

    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];

        if (c >= 0x80)
            return true;
        if (in_string) {
            if (c < 0x20)
                return true;
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"')
            in_string = true;
        else if (c == 'N' || c == 'I')
            return true; /* NaN, Infinity */
        else if (c == '.' && (i + 1 == n || s[i + 1] < '0' || s[i + 1] > '9' || i == 0 ||
                              s[i - 1] < '0' || s[i - 1] > '9'))
            return true; /* 1. or -.5 */
        else if (c == '0' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9' &&
                 (i == 0 || s[i - 1] < '0' || s[i - 1] > '9') && (i == 0 || s[i - 1] != '.'))
            return true;
    }
    return false;
}

static bool json_c_strict_accepts(const uint8_t *data, size_t size)
{
    json_tokener *tok = json_tokener_new();
    json_object *o;
    bool ok;

    if (!tok)
        abort();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    o = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    ok = o != NULL && json_tokener_get_parse_end(tok) == size;
    json_object_put(o);
    json_tokener_free(tok);
    return ok;
}

/* The item as it goes into a record: strict JSON (json-c strict, whole), equal to json-c's item
 * less its status, compact, and read back by rw_cbody_read inside a body of its own. */
static void check_item(const char *body, const struct rw_cbody_item *it, json_object *want)
{
    char *copy = malloc(it->len + 1), *wrapped = malloc(it->len + 16), err[256];
    json_tokener *tok = json_tokener_new();
    json_object *mine;
    struct rw_cbody again;
    size_t n;
    bool in_string = false;

    if (!copy || !wrapped || !tok)
        abort();
    n = rw_cbody_item_copy(body, it, copy);
    if (n > it->len || (!it->spaced && !it->cut_len && memcmp(copy, body + it->off, n) != 0))
        abort();
    for (size_t i = 0; i < n; i++) {
        if (in_string) {
            if (copy[i] == '\\')
                i++;
            else if (copy[i] == '"')
                in_string = false;
        } else if (copy[i] == ' ' || copy[i] == '\t' || copy[i] == '\n' || copy[i] == '\r') {
            abort(); /* whitespace between tokens left in */
        } else {
            in_string = copy[i] == '"';
        }
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    mine = json_tokener_parse_ex(tok, copy, (int)n);
    if (!mine || json_tokener_get_parse_end(tok) != n)
        abort(); /* not JSON, or more than one value */
    json_object_object_del(want, "status");
    if (!json_object_equal(mine, want))
        abort();
    /* {"data":[<item>]} reads back to the same fields, without a status */
    memcpy(wrapped, "{\"data\":[", 9);
    memcpy(wrapped + 9, copy, n);
    memcpy(wrapped + 9 + n, "]}", 2);
    err[0] = '\0';
    if (rw_cbody_read(wrapped, n + 11, &again, err, sizeof(err)) != RW_CBODY_OK) {
        if (!strstr(err, "nested deeper")) /* a bare item is two levels higher than in data */
            abort();
    } else if (again.nitems != 1 || again.items[0].cut_len || again.items[0].spaced ||
               strcmp(again.items[0].task_uuid, it->task_uuid) != 0 ||
               strcmp(again.items[0].image_uuid, it->image_uuid) != 0 ||
               again.items[0].cost != it->cost)
        abort();
    json_object_put(mine);
    json_tokener_free(tok);
    free(copy);
    free(wrapped);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    struct rw_cbody b;
    struct rw_response r = {0};
    char err[256], err2[256];
    int fast = rw_cbody_read(body, size, &b, err, sizeof(err));
    int slow = rw_response_parse(body, size, &r, err2, sizeof(err2));

    if (fast != RW_CBODY_OK && b.nitems != 0)
        abort();
    if (fast == RW_CBODY_INVALID) {
        if (strncmp(err, "not JSON: ", 10) != 0)
            abort();
        if (size < 1 << 20 && json_c_strict_accepts(data, size) && !json_c_leniency(data, size))
            abort(); /* refused JSON that is valid */
    }
    if (fast == RW_CBODY_SLOW && slow != 0 && strncmp(err2, "not JSON", 8) == 0)
        abort(); /* left to json-c a body it cannot read: JSON the fast reader took for valid */
    if (fast == RW_CBODY_OK) {
        if (slow != 0 || b.nitems != r.nitems)
            abort(); /* json-c refused it, or sees other items */
        for (size_t k = 0; k < b.nitems; k++) {
            const struct rw_cbody_item *it = &b.items[k];
            const char *tu = rw_item_task_uuid(r.items[k]), *iu = rw_item_image_uuid(r.items[k]);
            json_object *cost;
            double want = 0;

            if (it->has_task_uuid != (tu != NULL) || strcmp(it->task_uuid, tu ? tu : "") != 0)
                abort();
            if (it->has_image_uuid != (iu != NULL) || strcmp(it->image_uuid, iu ? iu : "") != 0)
                abort();
            if (json_object_object_get_ex(r.items[k], "cost", &cost) &&
                (json_object_is_type(cost, json_type_double) ||
                 json_object_is_type(cost, json_type_int)))
                want = json_object_get_double(cost);
            if (it->cost != want)
                abort();
            if (it->off + it->len > size || body[it->off] != '{' ||
                body[it->off + it->len - 1] != '}')
                abort();
            check_item(body, it, r.items[k]);
        }
    }
    rw_response_clear(&r);
    return 0;
}
