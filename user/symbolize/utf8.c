// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "utf8.h"

#define REPLACEMENT 0xfffd

static size_t put_cp(char *out, __u32 cp)
{
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = REPLACEMENT;
	if (cp < 0x80) {
		out[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = 0xc0 | (cp >> 6);
		out[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = 0xe0 | (cp >> 12);
		out[1] = 0x80 | ((cp >> 6) & 0x3f);
		out[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	out[0] = 0xf0 | (cp >> 18);
	out[1] = 0x80 | ((cp >> 12) & 0x3f);
	out[2] = 0x80 | ((cp >> 6) & 0x3f);
	out[3] = 0x80 | (cp & 0x3f);
	return 4;
}

/* Length of the valid UTF-8 sequence at @p (at most @len), or 0. */
static size_t valid_seq(const unsigned char *p, size_t len, __u32 *cp)
{
	size_t n;
	__u32 c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return p[0] ? 1 : 0;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		c = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

bool utf8__valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	__u32 cp;

	while (i < len) {
		n = valid_seq(p + i, len - i, &cp);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

char *utf8__sanitize(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = malloc(len * 3 + 1), *o = out;
	size_t i = 0;

	if (!out)
		return NULL;
	while (i < len) {
		__u32 cp;
		size_t n = valid_seq(p + i, len - i, &cp);

		if (n) {
			memcpy(o, p + i, n);
			o += n;
			i += n;
		} else {
			o += put_cp(o, REPLACEMENT);
			i++;
		}
	}
	*o = '\0';
	return out;
}

char *utf8__from_ucs(const void *data, size_t n, unsigned int width)
{
	char *out = malloc(n * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		__u32 cp;

		if (width == 1)
			cp = ((const __u8 *)data)[i];
		else if (width == 2)
			cp = ((const __u16 *)data)[i];
		else
			cp = ((const __u32 *)data)[i];
		o += put_cp(o, cp);
	}
	*o = '\0';
	return out;
}
