/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Parser of _Py_DebugOffsets, the self-description CPython 3.13+ keeps
 * as the first member of _PyRuntime (ELF section .PyRuntime): a cookie,
 * PY_VERSION_HEX, a free-threaded flag and the offsets of the fields
 * an out-of-process reader needs. Its layout changes between minor
 * versions (stable within one), so the parser knows each one.
 */
#ifndef __DEBUG_OFFSETS_H
#define __DEBUG_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "cpython_layout.h"

#define DEBUG_OFFSETS_COOKIE "xdebugpy"
#define DEBUG_OFFSETS_COOKIE_LEN 8

/*
 * Bytes to copy from the start of _PyRuntime: covers _Py_DebugOffsets
 * of every minor version the parser knows (584 bytes on 3.13, 888 on
 * 3.15), with room to spare. _PyRuntime itself is far larger, so the
 * read never runs past it.
 */
#define DEBUG_OFFSETS_READ_SIZE 1024

/*
 * Fill @out from @len bytes @buf copied from the start of a target's
 * _PyRuntime. Fields the debug offsets describe come from them; the
 * rest (owner skip value, instruction and line-table kinds, str state
 * bits, code checksum window, ...) from constants per minor version.
 *
 * Returns 0 on success; -EINVAL when the cookie is missing, @len is too
 * short for the layout of that version, or an offset is out of range
 * (garbage, or not a CPython runtime); -ENOTSUP for a minor version
 * whose layout is unknown. @out is written only on success.
 * @version_hex (PY_VERSION_HEX) and @free_threaded may be NULL; they
 * are set whenever the cookie matched, so that a caller can name the
 * version it does not support.
 */
int debug_offsets__parse(const void *buf, size_t len, struct py_layout *out,
			 __u32 *version_hex, bool *free_threaded);

#endif /* __DEBUG_OFFSETS_H */
