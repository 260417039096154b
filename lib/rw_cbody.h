/* Webhook bodies read in one strict pass, without a tree: each result item's bytes and the fields
 * runwared needs of it. The fast path for callbacks; rw_response parses everything else. */
#ifndef RW_CBODY_H
#define RW_CBODY_H

#include <stdbool.h>
#include <stddef.h>

#define RW_CBODY_ITEMS_MAX 8  /* items read in one body; more: RW_CBODY_SLOW */
#define RW_CBODY_STR_MAX   64 /* longest taskUUID/imageUUID kept, in bytes; longer: slow */
#define RW_CBODY_DEPTH_MAX 32 /* deepest nesting accepted, as everywhere in runwared */

enum rw_cbody_rc {
    RW_CBODY_INVALID = -1, /* not JSON as RFC 8259 defines it (message in err) */
    RW_CBODY_OK = 0,       /* read: out holds the items */
    RW_CBODY_SLOW = 1,     /* valid or not, a shape left to rw_response_parse */
};

/* One result item, as spans into the body it was read from. */
struct rw_cbody_item {
    size_t off, len;         /* the item object's bytes */
    size_t cut_off, cut_len; /* its "status" member with one comma, to leave out; cut_len 0: none */
    bool spaced;             /* whitespace between its tokens (rw_cbody_item_copy drops it) */
    bool has_task_uuid;      /* "taskUUID" present (always a string here) */
    bool has_image_uuid;     /* "imageUUID" present (always a string here) */
    char task_uuid[RW_CBODY_STR_MAX + 1];  /* unescaped, NUL-free; "" when absent */
    char image_uuid[RW_CBODY_STR_MAX + 1]; /* likewise */
    double cost;                           /* "cost" when it is a number, else 0 */
};

struct rw_cbody {
    struct rw_cbody_item items[RW_CBODY_ITEMS_MAX];
    size_t nitems;
};

/*
 * Reads a webhook body of len bytes (no NUL needed) in one pass, allocating nothing. The whole
 * body is validated as RFC 8259 JSON whatever its shape: structure, numbers, string escapes,
 * control characters, well-formed UTF-8 (no overlong forms, surrogates or code points above
 * U+10FFFF) and at most RW_CBODY_DEPTH_MAX levels of nesting; RW_CBODY_INVALID, with "not JSON:
 * <what> at byte <offset>" in err, for anything that is not JSON.
 *
 * RW_CBODY_OK for the shapes it handles, with items as rw_response_parse would list them (the
 * object entries of "data", or the bare item): {"data":[...]} with no "errors" or an empty one,
 * and a bare item (an object with a string "taskUUID" and neither "data" nor "errors").
 * RW_CBODY_SLOW, for JSON that rw_response_parse must read: the top level is not an object;
 * "data" or "errors" is not an array; "errors" has entries; a bare object without a string
 * taskUUID; a repeated "data", "errors", taskUUID, imageUUID, cost or status; a member name with
 * an escape at those levels; a taskUUID or imageUUID that is not a string, is longer than
 * RW_CBODY_STR_MAX or holds U+0000; an integer cost of more than 18 digits (json-c clamps those);
 * a \u escape of an unpaired surrogate (json-c makes it U+FFFD); more than RW_CBODY_ITEMS_MAX
 * items.
 */
int rw_cbody_read(const char *buf, size_t len, struct rw_cbody *out, char *err, size_t errlen);

/* Copies item it of body into dst (room for it->len bytes) as it goes into a record: without its
 * status member and without whitespace between tokens. Returns the bytes written. */
size_t rw_cbody_item_copy(const char *body, const struct rw_cbody_item *it, char *dst);

#endif
