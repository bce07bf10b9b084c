// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "json_writer.h"

/*
 * Length of the valid UTF-8 sequence at @p, or 0 (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF). @p is
 * NUL-terminated, so a sequence cut short stops at a non-continuation.
 */
static size_t utf8_seq(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;	/* overlong below U+0800 */
		else if (p[0] == 0xed)
			hi = 0x9f;	/* U+D800..U+DFFF */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;	/* overlong below U+10000 */
		else if (p[0] == 0xf4)
			hi = 0x8f;	/* past U+10FFFF */
	} else {
		return 0;
	}
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	}
	return n;
}

/* The escape for the sequence at @p (of @n bytes), or NULL to copy it. */
static const char *escape_of(const unsigned char *p, size_t n, char *buf, size_t size)
{
	if (n == 0)
		return "\\ufffd";
	if (n == 1) {
		if (*p == '"')
			return "\\\"";
		if (*p == '\\')
			return "\\\\";
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(buf, size, "\\u%04x", *p);
			return buf;
		}
		return NULL;
	}
	/* Valid in JSON, but a syntax error inside a JavaScript string literal. */
	if (n == 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
		return p[2] == 0xa8 ? "\\u2028" : "\\u2029";
	return NULL;
}

int json__str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	const unsigned char *run = p;
	char buf[8];

	fputc('"', f);
	while (*p) {
		size_t n = utf8_seq(p);
		const char *esc = escape_of(p, n, buf, sizeof(buf));

		if (!esc) {
			p += n;
			continue;
		}
		/* Copy the clean run before the escape in one call. */
		fwrite(run, 1, (size_t)(p - run), f);
		fputs(esc, f);
		p += n ? n : 1;
		run = p;
	}
	fwrite(run, 1, (size_t)(p - run), f);
	fputc('"', f);
	return ferror(f) ? -EIO : 0;
}

int json__double(FILE *f, double v)
{
	char buf[40];

	if (!isfinite(v)) {
		fputc('0', f);
		return ferror(f) ? -EIO : 0;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	/*
	 * Under a locale with a decimal comma both calls above agree, but
	 * JSON does not: %g only ever prints digits, a sign, 'e' and the
	 * decimal point, so anything else is the point.
	 */
	for (char *c = buf; *c; c++) {
		if (!strchr("0123456789+-eE", *c))
			*c = '.';
	}
	fputs(buf, f);
	return ferror(f) ? -EIO : 0;
}
