/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Names from targets become valid UTF-8 before anything else sees them. */
#ifndef __UTF8_H
#define __UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Copy of @s[0..len) with each invalid sequence (and NUL) replaced by U+FFFD. */
char *utf8__sanitize(const char *s, size_t len);
/* @s[0..len) is valid UTF-8 without NUL. */
bool utf8__valid(const char *s, size_t len);
/* UTF-8 from @n code points of @width (1, 2 or 4) bytes; bad ones → U+FFFD. */
char *utf8__from_ucs(const void *data, size_t n, unsigned int width);

#endif /* __UTF8_H */
