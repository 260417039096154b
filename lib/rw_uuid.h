/* UUIDs: generate v4 (OpenSSL's CSPRNG), check the 8-4-4-4-12 hex form. */
#ifndef RW_UUID_H
#define RW_UUID_H

#include <stdbool.h>

#define RW_UUID_LEN 36 /* without the NUL */

/* Writes a random lower-case UUIDv4 and a NUL into out. Returns -1 if the RNG failed. */
int rw_uuid_v4(char out[RW_UUID_LEN + 1]);

/* True when s is 36 characters of 8-4-4-4-12 hex digits (any version, either case). */
bool rw_uuid_valid(const char *s);

#endif
