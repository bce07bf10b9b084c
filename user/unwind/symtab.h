/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The function symbols of one libdw module, sorted by address, for
 * looking up many addresses fast. Why not dwfl_module_addrinfo(): it
 * scans every symbol of the module on each call, and libpython has tens
 * of thousands (10 ms per stack of 60 frames, measured).
 */
#ifndef __SYMTAB_H
#define __SYMTAB_H

#include <elfutils/libdwfl.h>

struct symtab;

/* Read @mod's symbols (.symtab, else .dynsym; libdw picks). NULL: ENOMEM. */
struct symtab *symtab__new(Dwfl_Module *mod);
void symtab__free(struct symtab *t);
/*
 * The name of the function holding @addr (an address in the process),
 * or NULL. The name lives as long as the module.
 */
const char *symtab__lookup(const struct symtab *t, Dwarf_Addr addr);

#endif /* __SYMTAB_H */
