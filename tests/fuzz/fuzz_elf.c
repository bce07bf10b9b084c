// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The ELF reader over arbitrary bytes: files come from containers. */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/mman.h>
#include "elf_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const syms[] = { "_PyRuntime", "Py_Version", "_Py_NoneStruct",
					    "interp_head", "Py_Initialize" };
	struct elf_file *ef;
	__u64 v, sz, bias;
	int fd, ma, mi;

	fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	ef = elf_file__open_fd(fd);	/* owns fd from here */
	if (!ef)
		return 0;
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
		elf_file__symbol(ef, syms[i], &v, &sz);
	elf_file__section(ef, ".PyRuntime", &v, &sz);
	elf_file__bias(ef, 0x400000, 0, &bias);
	elf_file__bias(ef, 0x7f0000000000, 0x1000, &bias);
	elf_file__needs(ef, "libpython");
	elf_file__scan_py_version(ef, &ma, &mi);
	elf_file__close(ef);
	return 0;
}
