/* A JSON document as a compact tree in one arena: read from text in one strict pass (RFC 8259),
 * or converted from a json-c tree. Strings with no escapes point into the text they came from;
 * nothing is allocated per value. The tree keeps json-c's view of numbers (int vs double,
 * saturated integers) so that every check made on it decides as it did on json-c's tree. */
#ifndef RW_JV_H
#define RW_JV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <json-c/json.h>

enum rw_jv_type {
    RW_JV_NULL,
    RW_JV_BOOL,
    RW_JV_INT,    /* no '.', 'e' or 'E' in its text */
    RW_JV_DOUBLE, /* any other number */
    RW_JV_STRING,
    RW_JV_ARRAY,
    RW_JV_OBJECT,
};

/* Flags of a node (rw_jv.f). */
enum {
    RW_JV_TRUE = 1, /* BOOL: true */
    RW_JV_U64 = 2,  /* INT: above INT64_MAX; u holds it (saturated at UINT64_MAX, as json-c) */
    RW_JV_D = 4,    /* DOUBLE: d holds the value (converted from json-c) */
    RW_JV_SPAN = 8, /* at/end are the value's bytes in the text it was read from */
};

struct rw_jmember;

struct rw_jv {
    uint8_t type; /* enum rw_jv_type */
    uint8_t f;    /* RW_JV_* flags */
    uint32_t n;   /* STRING: bytes; DOUBLE: bytes of its text; ARRAY, OBJECT: entries */
    union {
        const char *s;              /* STRING (not NUL-terminated); DOUBLE: its text */
        const struct rw_jv *items;  /* ARRAY */
        const struct rw_jmember *m; /* OBJECT, in the order written (json-c's order) */
    };
    union {
        int64_t i;  /* INT, as json_object_get_int64 gives it (INT64_MAX when RW_JV_U64) */
        uint64_t u; /* INT with RW_JV_U64 */
        double d;   /* DOUBLE with RW_JV_D */
    };
    uint32_t at, end; /* with RW_JV_SPAN */
};

struct rw_jmember {
    const char *key; /* never holds a NUL; not NUL-terminated */
    uint32_t klen;
    uint32_t hash; /* rw_jv_hash(key, klen) */
    struct rw_jv v;
};

/* The hash of member names (the schema's property index uses it too): eight bytes a step. */
static inline uint32_t rw_jv_hash(const char *s, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;

    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    if (n) {
        w = 0;
        memcpy(&w, s, n);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
    }
    h ^= h >> 29;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return (uint32_t)(h ^ (h >> 32));
}

/* What reading needs, reused document after document: the arena the trees live in and the
 * reader's scratch stacks. A tree lives until the next read or convert, or rw_jdoc_free. */
struct rw_jdoc;

struct rw_jdoc *rw_jdoc_new(void); /* NULL on ENOMEM */
void rw_jdoc_free(struct rw_jdoc *doc);

/* Nesting, as json-c's tokener counts it: the root is at level 1, a value inside a level-n
 * array or object at level n + 1; no value may be deeper than this. */
#define RW_JV_MAX_DEPTH 32

enum {
    RW_JV_OK = 0,
    RW_JV_REFUSED = -1, /* not JSON this reader takes (see rw_jv_read) */
    RW_JV_NOMEM = -2,
};

#define RW_JV_DOUBLE_MAX 64 /* a number with a fraction or exponent is shorter than this */

/* Reads exactly len bytes (need not be NUL-terminated; at most INT_MAX) into *root, which points
 * into doc and buf. Takes strict RFC 8259 JSON: UTF-8 (RFC 3629), at most RW_JV_MAX_DEPTH
 * levels, whitespace around. RW_JV_REFUSED for anything else, and for what JSON allows but
 * json-c reads its own way: a key repeated in an object, "\u0000", an unpaired surrogate
 * escape; and for a non-integer number of RW_JV_DOUBLE_MAX bytes or more (so that
 * rw_jv_double never allocates). The caller can ask json-c. */
int rw_jv_read(struct rw_jdoc *doc, const char *buf, size_t len, const struct rw_jv **root);

/* Converts json-c's tree (NULL: null) into *root, in doc; strings point into obj, which must
 * outlive the tree. RW_JV_OK or RW_JV_NOMEM. */
int rw_jv_from_json(struct rw_jdoc *doc, json_object *obj, const struct rw_jv **root);

/* obj (an object) with n members appended, in doc; obj stays as it was. NULL on ENOMEM. */
const struct rw_jv *rw_jv_append(struct rw_jdoc *doc, const struct rw_jv *obj,
                                 const struct rw_jmember *add, size_t n);

/* json-c's tree of v, as json_tokener would have built it from v's text. NULL on ENOMEM (or
 * for null). */
json_object *rw_jv_to_json(const struct rw_jv *v);

/* The member of obj named key (strlen(key) bytes), NULL when absent or obj is not an object. */
const struct rw_jv *rw_jv_get(const struct rw_jv *obj, const char *key);

/* A string as a C function would see it: up to its first NUL (json-c's getters do the same). */
bool rw_jv_str_is(const struct rw_jv *v, const char *want);

/* A number's value as json_object_get_double gives it. */
double rw_jv_double(const struct rw_jv *v);

/* The number's text as json_object_get_string gives it (the written text for a double, the
 * value printed for an integer), in buf (at least 24 bytes) or v's own text. *len its bytes. */
const char *rw_jv_num_text(const struct rw_jv *v, char *buf, size_t *len);

/* json_object_equal: same type (integer and double differ), value, members in any order. */
bool rw_jv_equal(const struct rw_jv *a, const struct rw_jv *b);
bool rw_jv_equal_json(const struct rw_jv *a, json_object *b);

/* "null", "boolean", "number", "object", "array", "string". */
const char *rw_jv_kind(const struct rw_jv *v);

#endif
