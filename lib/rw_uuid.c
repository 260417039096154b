/* UUIDs: random v4 from OpenSSL's CSPRNG, and the 8-4-4-4-12 hex form check. */
#include "rw_uuid.h"

#include <openssl/rand.h>

int rw_uuid_v4(char out[RW_UUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    size_t o = 0;

    if (RAND_bytes(b, sizeof(b)) != 1)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    for (size_t i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0f];
    }
    out[o] = '\0';
    return 0;
}

bool rw_uuid_valid(const char *s)
{
    if (s == NULL)
        return false;
    for (size_t i = 0; i < RW_UUID_LEN; i++) {
        char c = s[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false; /* also stops at a NUL before 36 characters */
        }
    }
    return s[RW_UUID_LEN] == '\0';
}
