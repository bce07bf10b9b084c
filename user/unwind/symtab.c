// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include "symtab.h"

struct sym {
	Dwarf_Addr addr;
	GElf_Xword size;	/* 0: sizeless, runs until the next symbol */
	const char *name;
	bool global;
};

struct symtab {
	struct sym *syms;
	size_t n;
};

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* At one address, the global name first: it is the one users call. */
	return (int)y->global - (int)x->global;
}

struct symtab *symtab__new(Dwfl_Module *mod)
{
	struct symtab *t = calloc(1, sizeof(*t));
	int count = dwfl_module_getsymtab(mod);

	if (!t)
		return NULL;
	if (count <= 0)
		return t;
	t->syms = calloc(count, sizeof(*t->syms));
	if (!t->syms) {
		free(t);
		return NULL;
	}
	for (int i = 1; i < count; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);

		if (!name || !*name || sym.st_shndx == SHN_UNDEF || !addr ||
		    (type != STT_FUNC && type != STT_GNU_IFUNC))
			continue;
		t->syms[t->n++] = (struct sym){
			.addr = addr, .size = sym.st_size, .name = name,
			.global = GELF_ST_BIND(sym.st_info) != STB_LOCAL,
		};
	}
	qsort(t->syms, t->n, sizeof(*t->syms), cmp_sym);
	return t;
}

void symtab__free(struct symtab *t)
{
	if (!t)
		return;
	free(t->syms);
	free(t);
}

const char *symtab__lookup(const struct symtab *t, Dwarf_Addr addr)
{
	size_t lo = 0, hi = t ? t->n : 0, i;

	/* The first symbol above @addr; those before it start at or below. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	i = lo - 1;
	/* Back to the first (global) name at that address. */
	while (i && t->syms[i - 1].addr == t->syms[i].addr)
		i--;
	/*
	 * A sized symbol must cover @addr; a sizeless one (hand-written
	 * assembly) is taken to run to the next symbol.
	 */
	if (!t->syms[i].size || addr < t->syms[i].addr + t->syms[i].size)
		return t->syms[i].name;
	return NULL;
}
