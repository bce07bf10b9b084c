// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elf_file.h"

#define MAX_RODATA (64 << 20)	/* bound the version scan */

struct elf_file {
	int fd;
	Elf *elf;
};

struct elf_file *elf_file__open_fd(int fd)
{
	struct elf_file *ef;

	if (elf_version(EV_CURRENT) == EV_NONE)
		goto err_close;
	ef = calloc(1, sizeof(*ef));
	if (!ef)
		goto err_close;
	ef->fd = fd;
	ef->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!ef->elf || elf_kind(ef->elf) != ELF_K_ELF || gelf_getclass(ef->elf) != ELFCLASS64) {
		elf_file__close(ef);
		return NULL;
	}
	return ef;
err_close:
	close(fd);
	return NULL;
}

void elf_file__close(struct elf_file *ef)
{
	if (!ef)
		return;
	if (ef->elf)
		elf_end(ef->elf);
	close(ef->fd);
	free(ef);
}

static Elf_Scn *find_section(struct elf_file *ef, const char *name, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(ef->elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(ef->elf, scn))) {
		const char *sname;

		if (!gelf_getshdr(scn, shdr))
			continue;
		sname = elf_strptr(ef->elf, shstrndx, shdr->sh_name);
		if (sname && !strcmp(sname, name))
			return scn;
	}
	return NULL;
}

/*
 * The next section after @scn (NULL: the first) that is a table of @type
 * with its data: its header, data and entry count. NULL after the last.
 */
static Elf_Scn *next_table(struct elf_file *ef, Elf_Scn *scn, Elf64_Word type,
			   GElf_Shdr *shdr, Elf_Data **data, size_t *n)
{
	while ((scn = elf_nextscn(ef->elf, scn))) {
		if (!gelf_getshdr(scn, shdr) || shdr->sh_type != type || !shdr->sh_entsize)
			continue;
		*data = elf_getdata(scn, NULL);
		if (!*data)
			continue;
		*n = (*data)->d_size / shdr->sh_entsize;
		return scn;
	}
	return NULL;
}

static int symbol_in(struct elf_file *ef, Elf64_Word type, const char *name,
		     __u64 *value, __u64 *size)
{
	Elf_Scn *scn = NULL;
	Elf_Data *data;
	GElf_Shdr shdr;
	size_t n;

	while ((scn = next_table(ef, scn, type, &shdr, &data, &n))) {
		for (size_t i = 0; i < n; i++) {
			const char *sname;
			GElf_Sym sym;

			if (!gelf_getsym(data, i, &sym) || sym.st_shndx == SHN_UNDEF)
				continue;
			sname = elf_strptr(ef->elf, shdr.sh_link, sym.st_name);
			if (!sname || strcmp(sname, name))
				continue;
			*value = sym.st_value;
			if (size)
				*size = sym.st_size;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_file__symbol(struct elf_file *ef, const char *name, __u64 *value, __u64 *size)
{
	if (!symbol_in(ef, SHT_DYNSYM, name, value, size))
		return 0;
	return symbol_in(ef, SHT_SYMTAB, name, value, size);
}

int elf_file__section(struct elf_file *ef, const char *name, __u64 *addr, __u64 *size)
{
	GElf_Shdr shdr;

	if (!find_section(ef, name, &shdr))
		return -ENOENT;
	*addr = shdr.sh_addr;
	if (size)
		*size = shdr.sh_size;
	return 0;
}

int elf_file__bias(struct elf_file *ef, __u64 map_start, __u64 map_offset, __u64 *bias)
{
	size_t nphdr;

	if (elf_getphdrnum(ef->elf, &nphdr))
		return -EINVAL;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;
		__u64 page_off;

		if (!gelf_getphdr(ef->elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		page_off = ph.p_offset & ~0xfffULL;
		if (map_offset < page_off || map_offset >= ph.p_offset + ph.p_filesz)
			continue;
		/* File offset X lives at bias + p_vaddr + (X - p_offset). */
		*bias = map_start - map_offset - (ph.p_vaddr - ph.p_offset);
		return 0;
	}
	return -ENOENT;
}

bool elf_file__needs(struct elf_file *ef, const char *prefix)
{
	Elf_Scn *scn = NULL;
	Elf_Data *data;
	GElf_Shdr shdr;
	size_t n;

	while ((scn = next_table(ef, scn, SHT_DYNAMIC, &shdr, &data, &n))) {
		for (size_t i = 0; i < n; i++) {
			const char *lib;
			GElf_Dyn dyn;

			if (!gelf_getdyn(data, i, &dyn) || dyn.d_tag != DT_NEEDED)
				continue;
			lib = elf_strptr(ef->elf, shdr.sh_link, dyn.d_un.d_val);
			if (lib && !strncmp(lib, prefix, strlen(prefix)))
				return true;
		}
	}
	return false;
}

/* "2.7.18", "3.13.0rc1", "3.12.1+" standing alone between NULs. */
static bool parse_py_version(const char *s, size_t len, int *major, int *minor)
{
	char *end;
	long ma, mi;

	if (len < 5 || len > 16 || (s[0] != '2' && s[0] != '3') || s[1] != '.')
		return false;
	ma = s[0] - '0';
	mi = strtol(s + 2, &end, 10);
	if (end == s + 2 || *end != '.' || mi > 20 || (ma == 2 && mi != 7))
		return false;
	if (!isdigit((unsigned char)end[1]))
		return false;
	strtol(end + 1, &end, 10);
	/* Optional release tag: a, b, rc + digits, or a '+'. */
	while (end < s + len && (isalnum((unsigned char)*end) || *end == '+'))
		end++;
	if (end != s + len)
		return false;
	*major = ma;
	*minor = mi;
	return true;
}

int elf_file__scan_py_version(struct elf_file *ef, int *major, int *minor)
{
	int found = 0, ma = 0, mi = 0;
	GElf_Shdr shdr;
	Elf_Data *data;
	Elf_Scn *scn;
	const char *p;
	size_t len;
	/*
	 * A .PyRuntime section exists from 3.10 on. With it, an older-looking
	 * string is something else, e.g. unicodedata's "3.2.0" (the UCD
	 * version IDNA uses) beside "3.11.2" in a static libpython.
	 */
	bool at_least_310 = find_section(ef, ".PyRuntime", &shdr) != NULL;

	scn = find_section(ef, ".rodata", &shdr);
	if (!scn || shdr.sh_type == SHT_NOBITS || shdr.sh_size > MAX_RODATA)
		return -ENOENT;
	data = elf_getdata(scn, NULL);
	if (!data || !data->d_buf)
		return -ENOENT;
	p = data->d_buf;
	len = data->d_size;
	for (size_t i = 1; i < len; i++) {
		size_t j;
		int a, b;

		if (p[i - 1] != '\0' || (p[i] != '2' && p[i] != '3'))
			continue;
		j = i;
		while (j < len && p[j] && j - i < 20)
			j++;
		if (j >= len || p[j])
			continue;
		if (!parse_py_version(p + i, j - i, &a, &b))
			continue;
		if (at_least_310 && (a < 3 || b < 10))
			continue;
		if (found && (a != ma || b != mi))
			return -ENOENT;	/* ambiguous: trust neither */
		found = 1;
		ma = a;
		mi = b;
	}
	if (!found)
		return -ENOENT;
	*major = ma;
	*minor = mi;
	return 0;
}
