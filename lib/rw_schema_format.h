/* JSON Schema "format" checks runwared asserts: uuid and uri. */
#ifndef RW_SCHEMA_FORMAT_H
#define RW_SCHEMA_FORMAT_H

#include <stddef.h>

/* 1 when s is 8-4-4-4-12 hex digits (either case, any version), else 0. */
int rw_format_uuid(const char *s, size_t len);

/* 1 when s is an RFC 3986 URI: scheme ":" hier-part ["?" query] ["#" fragment], ASCII only,
 * percent escapes well formed, an authority's port all digits, brackets only around an IP
 * literal host. Relative references are refused. */
int rw_format_uri(const char *s, size_t len);

#endif
