// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "ksyms.h"

struct ksym {
	__u64 addr;
	char *name;
};

struct ksyms {
	struct ksym *syms;
	size_t n, cap;
};

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

struct ksyms *ksyms__load(void)
{
	struct ksyms *k = calloc(1, sizeof(*k));
	char line[512], name[256], type;
	unsigned long long addr;
	FILE *f;

	if (!k)
		return NULL;
	f = fopen("/proc/kallsyms", "re");
	if (!f)
		goto err_free;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		/* Text only; zeros mean the addresses are hidden from us. */
		if ((type != 't' && type != 'T') || !addr)
			continue;
		if (array__reserve((void **)&k->syms, &k->cap, k->n + 1, sizeof(*k->syms)))
			break;
		k->syms[k->n].addr = addr;
		k->syms[k->n].name = strdup(name);
		if (k->syms[k->n].name)
			k->n++;
	}
	fclose(f);
	if (!k->n)
		goto err_free;
	qsort(k->syms, k->n, sizeof(*k->syms), ksym_cmp);
	return k;
err_free:
	ksyms__free(k);
	return NULL;
}

void ksyms__free(struct ksyms *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++)
		free(k->syms[i].name);
	free(k->syms);
	free(k);
}

const char *ksyms__name(const struct ksyms *k, __u64 addr)
{
	size_t lo = 0, hi;

	if (!k || !k->n || addr < k->syms[0].addr)
		return NULL;
	hi = k->n;
	/* The last symbol at or below @addr. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return k->syms[lo].name;
}
