/* Private to rw_schema*.c: the compiled form of a schema, shared by the compiler (rw_schema.c)
 * and the validator (rw_schema_validate.c). */
#ifndef RW_SCHEMA_INTERNAL_H
#define RW_SCHEMA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "rw_jv.h"
#include "rw_schema_dec.h"
#include "rw_schema_regex.h"

#define PATH_LEN   320 /* longest parameter path reported, in bytes */
#define MSG_LEN    1024
#define SHOW_BYTES 48 /* bytes of a string value quoted in a message */

enum {
    T_NULL = 1 << 0,
    T_BOOLEAN = 1 << 1,
    T_OBJECT = 1 << 2,
    T_ARRAY = 1 << 3,
    T_NUMBER = 1 << 4,
    T_INTEGER = 1 << 5,
    T_STRING = 1 << 6,
};

/* Keywords present in a node (assertions and applicators; annotations are not recorded). */
enum {
    KW_TYPE = 1u << 0,
    KW_CONST = 1u << 1,
    KW_ENUM = 1u << 2,
    KW_NUMERIC = 1u << 3, /* minimum maximum exclusive* multipleOf */
    KW_LENGTH = 1u << 4,
    KW_PATTERN = 1u << 5,
    KW_FORMAT = 1u << 6,
    KW_REQUIRED = 1u << 7,
    KW_PROPS = 1u << 8,
    KW_ADDL = 1u << 9,
    KW_DEPREQ = 1u << 10,
    KW_ITEMS = 1u << 11,
    KW_COUNT = 1u << 12, /* min/maxItems, uniqueItems, min/maxProperties */
    KW_ALLOF = 1u << 13,
    KW_ANYOF = 1u << 14,
    KW_ONEOF = 1u << 15,
    KW_NOT = 1u << 16,
    KW_IF = 1u << 17,
    KW_REF = 1u << 18,
};

enum { FMT_NONE, FMT_UUID, FMT_URI };
enum { ALT_PLAIN, ALT_ENUM, ALT_FORMS };

/* A number from the spec, kept exact. Lives in the arena; never copied (see rw_dec). */
struct sc_num {
    struct rw_dec d;
    int is_i64;
    int64_t i64;
    const char *text;
    struct rw_dec_divisor div; /* when used as multipleOf */
};

/* A const or enum member. */
struct sc_val {
    enum json_type type;
    const char *s; /* string */
    size_t slen;
    const struct sc_num *num;
    int b;
    json_object *j;   /* object or array (a reference the schema holds) */
    const char *text; /* JSON text, for messages */
};

struct sc_enum {
    struct sc_val *v;
    size_t n;
    const struct sc_val **sorted; /* string members by (bytes, length), for bsearch */
    size_t nsorted;
    const char *list; /* the values as a message lists them */
};

struct sc_node;

struct sc_prop {
    const char *name;
    uint32_t hash; /* rw_schema_hash(name) */
    struct sc_node *node;
};

struct sc_dep {
    const char *name;
    const char **req;
    size_t n;
};

struct sc_alt {
    struct sc_node **b;
    size_t n;
    int kind;               /* ALT_* */
    struct sc_enum *en;     /* ALT_ENUM: the branches' consts as one enum */
    const char *desc;       /* what the branches accept, for messages */
    unsigned *branch_types; /* each branch's declared types (0: any) */
};

struct sc_node {
    int boolean; /* -1: a schema object; 0, 1: the schemas false and true */
    unsigned kw;
    unsigned types;
    int nullable;
    struct sc_enum *en; /* const (one value) or enum */
    const struct sc_num *min, *max, *xmin, *xmax, *mult;
    int64_t minlen, maxlen, minitems, maxitems, minprops, maxprops; /* -1: absent */
    int unique;
    struct rw_regex *rx;
    const char *pattern;
    int format;
    const char **req;
    size_t nreq;
    struct sc_prop *props; /* sorted by name */
    size_t nprops;
    uint16_t *ptab; /* open-addressing index of props: entry i+1, 0 empty; pmask + 1 slots */
    uint32_t pmask;
    struct sc_node *addl;
    struct sc_dep *deps;
    size_t ndeps;
    struct sc_node *items;
    struct sc_node **all;
    size_t nall;
    struct sc_alt any, one;
    struct sc_node *not_, *if_, *then_, *else_;
    const char *then_cond, *else_cond; /* "when type is ..." appended to messages */
    struct sc_node *ref;
};

struct arena_blk {
    struct arena_blk *next;
    size_t used, cap;
    max_align_t data[];
};

enum { CL_REGEX, CL_JSON, CL_DEC };

struct cleanup {
    struct cleanup *next;
    int kind;
    void *p;
};

struct rw_schema {
    struct sc_node *root;
    struct arena_blk *arena;
    struct cleanup *cleanups;
    struct sc_num *int64_max, *int64_min; /* integer bounds implied by int64 */
};

/* Appends printf output to buf (size len, holding *pos bytes); truncates silently. */
void rw_schema_bprintf(char *buf, size_t len, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Appends s[0..n) to buf as the inside of a JSON string literal, at most max bytes of s (cut at
 * a UTF-8 boundary, "..." marking the cut). Control characters are escaped so a message always
 * stays on one line. */
void rw_schema_put_escaped(char *buf, size_t len, size_t *pos, const char *s, size_t n, size_t max);

/* Appends part k of n to a list written "a, b or c" (conj "or") or "a, b and c". */
void rw_schema_join(char *buf, size_t len, size_t *pos, size_t k, size_t n, const char *conj,
                    const char *part);

/* "an integer", "a string or null"... for a set of T_* bits. Returns buf. */
const char *rw_schema_type_phrase(unsigned types, char *buf, size_t len);

/* The hash of a NUL-terminated name (property lookup): rw_jv's, so that a member read by rw_jv
 * is looked up with the hash it was read with. */
static inline uint32_t rw_schema_hash(const char *s)
{
    return rw_jv_hash(s, strlen(s));
}

/* memcmp order, then length. */
int rw_schema_cmp_bytes(const char *a, size_t alen, const char *b, size_t blen);

#endif
