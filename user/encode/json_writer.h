/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * JSON values written straight to a FILE: strings escaped so that any
 * name a target can produce still gives a document every parser
 * accepts, and numbers in the shortest form that reads back exactly.
 */
#ifndef __JSON_WRITER_H
#define __JSON_WRITER_H

#include <stdio.h>

/*
 * @s as a quoted JSON string. '"', '\\', control characters (as
 * \u00XX), DEL, U+2028 and U+2029 (line terminators to JavaScript
 * before ES2019) are escaped; a byte that does not start a valid UTF-8
 * sequence becomes \ufffd. NULL is written as "". 0 or -EIO.
 */
int json__str(FILE *f, const char *s);

/*
 * A finite double, shortest of %.15g..%.17g that parses back to @v, with
 * '.' as the decimal point whatever the locale; non-finite gives 0
 * (JSON has no NaN). 0 or -EIO.
 */
int json__double(FILE *f, double v);

#endif /* __JSON_WRITER_H */
