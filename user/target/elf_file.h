/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The little we need from an ELF file: symbols (.dynsym, then .symtab
 * when present), sections, load segments, DT_NEEDED, and .rodata.
 * Files come from other processes: every size and index is checked.
 */
#ifndef __ELF_FILE_H
#define __ELF_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct elf_file;

/* Takes ownership of @fd (closed by elf_file__close, or on failure). */
struct elf_file *elf_file__open_fd(int fd);
void elf_file__close(struct elf_file *ef);

/* A defined symbol's value (link-time address): 0 or -ENOENT. */
int elf_file__symbol(struct elf_file *ef, const char *name, __u64 *value, __u64 *size);
int elf_file__section(struct elf_file *ef, const char *name, __u64 *addr, __u64 *size);
/* Load bias of the mapping that maps file offset @map_offset at @map_start. */
int elf_file__bias(struct elf_file *ef, __u64 map_start, __u64 map_offset, __u64 *bias);
/* Does a DT_NEEDED entry start with @prefix? */
bool elf_file__needs(struct elf_file *ef, const char *prefix);
/*
 * The CPython version a PY_VERSION string in .rodata names ("3.9.18"),
 * when exactly one plausible candidate exists: 0 or -ENOENT.
 */
int elf_file__scan_py_version(struct elf_file *ef, int *major, int *minor);

#endif /* __ELF_FILE_H */
