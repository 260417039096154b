/* The "format" assertions: uuid (RFC 4122 text form) and uri (RFC 3986 absolute URI). */
#include "rw_schema_format.h"

#include <string.h>

static int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static int is_alpha(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

int rw_format_uuid(const char *s, size_t len)
{
    if (len != 36)
        return 0;
    for (size_t i = 0; i < len; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

static int is_unreserved(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int is_sub_delim(unsigned char c)
{
    return c && strchr("!$&'()*+,;=", c) != NULL;
}

/* Checks s[i..end) against unreserved / sub-delims / pct-encoded / the extra characters. */
static int chars_ok(const char *s, size_t i, size_t end, const char *extra)
{
    for (; i < end; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (end - i < 3 || !is_hex((unsigned char)s[i + 1]) || !is_hex((unsigned char)s[i + 2]))
                return 0;
            i += 2;
        } else if (!is_unreserved(c) && !is_sub_delim(c) && !(c && strchr(extra, c))) {
            return 0;
        }
    }
    return 1;
}

static int authority_ok(const char *s, size_t i, size_t end)
{
    size_t at = end, host, hend, k;

    for (k = i; k < end; k++)
        if (s[k] == '@')
            at = k;
    if (at != end) {
        if (!chars_ok(s, i, at, ":"))
            return 0;
        i = at + 1;
    }
    host = i;
    if (host < end && s[host] == '[') {
        for (hend = host + 1; hend < end && s[hend] != ']'; hend++)
            if (!is_hex((unsigned char)s[hend]) && s[hend] != ':' && s[hend] != '.' &&
                (s[hend] | 0x20) != 'v' && !is_unreserved((unsigned char)s[hend]) &&
                !is_sub_delim((unsigned char)s[hend]))
                return 0;
        if (hend == end || hend == host + 1)
            return 0;
        hend++;
    } else {
        for (hend = host; hend < end && s[hend] != ':'; hend++)
            ;
        if (!chars_ok(s, host, hend, ""))
            return 0;
    }
    if (hend < end) {
        if (s[hend] != ':')
            return 0;
        for (k = hend + 1; k < end; k++)
            if (!is_digit((unsigned char)s[k]))
                return 0;
    }
    return 1;
}

int rw_format_uri(const char *s, size_t len)
{
    size_t i = 0, end, frag;

    if (len == 0 || !is_alpha((unsigned char)s[0]))
        return 0;
    for (i = 1; i < len && (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) ||
                            s[i] == '+' || s[i] == '-' || s[i] == '.');
         i++)
        ;
    if (i == len || s[i] != ':')
        return 0;
    i++;
    if (len - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
        i += 2;
        for (end = i; end < len && s[end] != '/' && s[end] != '?' && s[end] != '#'; end++)
            ;
        if (!authority_ok(s, i, end))
            return 0;
        i = end;
    }
    for (frag = i; frag < len && s[frag] != '#'; frag++)
        ;
    if (!chars_ok(s, i, frag, ":@/?"))
        return 0;
    return frag == len || chars_ok(s, frag + 1, len, ":@/?");
}
