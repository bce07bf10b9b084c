// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "debug_offsets.h"
#include "elf_file.h"
#include "hmap.h"
#include "procfs.h"
#include "pytarget.h"
#include "remote.h"

#define FACTS_CACHE_MAX 4096

/* What one ELF file holds, cached by (device, inode). */
struct elf_facts {
	bool python;		/* defines Py_Initialize, _PyRuntime or Py_Version */
	bool needs_libpython;	/* an executable waiting for its libpython */
	bool has_runtime;
	bool has_py_version;
	__u64 runtime;		/* _PyRuntime, or the .PyRuntime section */
	__u64 py_version;	/* Py_Version (3.11+) */
	__u64 none;		/* _Py_NoneStruct */
	__u64 interp_head;	/* static interp_head (2.7, 3.6), .symtab only */
	__u64 interp_head_fn;	/* PyInterpreterState_Head(), exported: returns it */
	int major, minor;	/* from the file name or .rodata; 0 = unknown */
};

struct facts_key {
	__u32 dev_major, dev_minor;
	__u64 inode;
};

static struct hmap *facts_cache;

void py_target__flush_cache(void)
{
	hmap__free(facts_cache);
	facts_cache = NULL;
}

/* "python3.12", "libpython3.6m.so.1.0", "python2.7-dbg" -> 3, 12. */
static bool version_from_name(const char *path, int *major, int *minor)
{
	const char *base = strrchr(path, '/');
	const char *p;
	char *end;
	long ma, mi;

	base = base ? base + 1 : path;
	p = strstr(base, "python");
	if (!p)
		return false;
	p += strlen("python");
	if ((p[0] != '2' && p[0] != '3') || p[1] != '.')
		return false;
	ma = p[0] - '0';
	mi = strtol(p + 2, &end, 10);
	if (end == p + 2 || mi > 99)
		return false;
	*major = ma;
	*minor = mi;
	return true;
}

static void facts_load(struct elf_file *ef, const char *path, struct elf_facts *f)
{
	__u64 v, size;

	if (!elf_file__symbol(ef, "_PyRuntime", &v, NULL) ||
	    !elf_file__section(ef, ".PyRuntime", &v, &size)) {
		f->has_runtime = true;
		f->runtime = v;
	}
	if (!elf_file__symbol(ef, "Py_Version", &v, NULL)) {
		f->has_py_version = true;
		f->py_version = v;
	}
	if (!elf_file__symbol(ef, "_Py_NoneStruct", &v, NULL))
		f->none = v;
	if (!elf_file__symbol(ef, "interp_head", &v, NULL))
		f->interp_head = v;
	if (!f->has_runtime && !elf_file__symbol(ef, "PyInterpreterState_Head", &v, NULL))
		f->interp_head_fn = v;
	f->python = f->has_runtime || f->has_py_version ||
		    !elf_file__symbol(ef, "Py_Initialize", &v, NULL);
	if (!f->python) {
		f->needs_libpython = elf_file__needs(ef, "libpython");
		return;
	}
	if (!f->has_py_version && !version_from_name(path, &f->major, &f->minor))
		elf_file__scan_py_version(ef, &f->major, &f->minor);
}

static int facts_get(pid_t pid, const struct proc_map *m, const struct elf_facts **out)
{
	struct facts_key key = {
		.dev_major = m->dev_major, .dev_minor = m->dev_minor, .inode = m->inode,
	};
	struct elf_facts *f;
	struct elf_file *ef;
	bool created;
	int fd;

	if (facts_cache && hmap__size(facts_cache) > FACTS_CACHE_MAX)
		py_target__flush_cache();
	if (!facts_cache) {
		facts_cache = hmap__new(sizeof(struct facts_key), sizeof(struct elf_facts));
		if (!facts_cache)
			return -ENOMEM;
	}
	f = hmap__find(facts_cache, &key);
	if (f) {
		*out = f;
		return 0;
	}
	fd = procfs__open_mapped(pid, m);
	if (fd < 0)
		return fd;
	ef = elf_file__open_fd(fd);
	f = hmap__insert(facts_cache, &key, &created);
	if (!f) {
		elf_file__close(ef);
		return -ENOMEM;
	}
	if (ef)
		facts_load(ef, m->path, f);
	elf_file__close(ef);
	*out = f;
	return 0;
}

static bool is_candidate(const struct proc_map *m, __u64 exe_inode)
{
	const char *base = strrchr(m->path, '/');

	base = base ? base + 1 : m->path;
	return m->inode == exe_inode || strstr(base, "python");
}

/* The lowest-offset mapping of each file comes first in a scan. */
static const struct proc_map *first_mapping(const struct proc_map *maps, size_t n,
					    const struct proc_map *m)
{
	const struct proc_map *best = m;

	for (size_t i = 0; i < n; i++)
		if (maps[i].inode == m->inode && maps[i].dev_major == m->dev_major &&
		    maps[i].dev_minor == m->dev_minor && maps[i].offset < best->offset)
			best = &maps[i];
	return best;
}

static int find_runtime_file(pid_t pid, const struct proc_map *maps, size_t n,
			     const struct proc_map **file, const struct elf_facts **facts)
{
	char exe[64];
	struct stat st;
	__u64 exe_inode = 0;
	bool pending = false;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	if (!stat(exe, &st))
		exe_inode = st.st_ino;

	for (size_t i = 0; i < n; i++) {
		const struct elf_facts *f;

		if (!is_candidate(&maps[i], exe_inode) ||
		    first_mapping(maps, n, &maps[i]) != &maps[i])
			continue;
		if (facts_get(pid, &maps[i], &f))
			continue;
		if (f->python) {
			*file = &maps[i];
			*facts = f;
			return 0;
		}
		pending |= f->needs_libpython;
	}
	return pending ? -EAGAIN : -ENOENT;
}

/* The version, and the layout for it: the interpreter's own first. */
static int resolve_layout(pid_t pid, const struct elf_facts *f, __u64 bias,
			  struct py_target *t, char *why, size_t why_size)
{
	const struct py_layout *row;
	__u32 hex = 0;

	if (f->has_runtime) {
		unsigned char buf[DEBUG_OFFSETS_READ_SIZE];
		bool ft = false;

		if (!remote__read(pid, t->runtime_addr, buf, sizeof(buf)) &&
		    !debug_offsets__parse(buf, sizeof(buf), &t->layout, &hex, &ft)) {
			t->version_hex = hex;
			t->major = hex >> 24;
			t->minor = (hex >> 16) & 0xff;
			t->free_threaded = ft;
			t->from_debug_offsets = true;
			return 0;
		}
	}
	if (f->has_py_version && !remote__read(pid, bias + f->py_version, &hex, sizeof(hex))) {
		t->version_hex = hex;
		t->major = hex >> 24;
		t->minor = (hex >> 16) & 0xff;
	} else {
		t->major = f->major;
		t->minor = f->minor;
	}
	if (!t->major) {
		snprintf(why, why_size, "cannot tell its CPython version");
		return -ENOTSUP;
	}
	row = py_layout__find(t->major, t->minor);
	if (!row) {
		snprintf(why, why_size, "CPython %d.%d is not supported", t->major, t->minor);
		return -ENOTSUP;
	}
	t->layout = *row;
	return 0;
}

/*
 * 2.7 and 3.6 keep the interpreter list in a static 'interp_head' that
 * only .symtab names, and distributions strip .symtab. The exported
 * PyInterpreterState_Head() is 'return interp_head;', which x86-64
 * compilers emit as 'mov interp_head(%rip), %rax; ret', optionally
 * after an endbr64 (CET builds). Decode exactly that from the target's
 * own text and take the variable's address from the displacement;
 * anything else is refused.
 */
static int interp_head_from_fn(pid_t pid, __u64 fn, __u64 *addr)
{
	static const unsigned char endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	static const unsigned char mov_rip_rax[] = { 0x48, 0x8b, 0x05 };
	unsigned char code[16];
	size_t at = 0;
	__s32 disp;

	if (remote__read(pid, fn, code, sizeof(code)))
		return -EFAULT;
	if (!memcmp(code, endbr64, sizeof(endbr64)))
		at = sizeof(endbr64);
	if (memcmp(code + at, mov_rip_rax, sizeof(mov_rip_rax)) || code[at + 7] != 0xc3)
		return -ENOENT;
	memcpy(&disp, code + at + 3, sizeof(disp));
	*addr = fn + at + 7 + (__s64)disp;
	return 0;
}

int py_target__identify(pid_t pid, struct py_target *t, char *why, size_t why_size)
{
	const struct elf_facts *f = NULL;
	const struct proc_map *file = NULL;
	struct proc_map *maps = NULL;
	size_t n = 0;
	__u64 bias;
	int err;

	memset(t, 0, sizeof(*t));
	why[0] = '\0';
	err = procfs__read_maps(pid, &maps, &n);
	if (err)
		return err;
	err = find_runtime_file(pid, maps, n, &file, &f);
	if (err)
		goto out;
	snprintf(t->binary, sizeof(t->binary), "%s", file->path);

	{
		struct elf_file *ef = NULL;
		int fd = procfs__open_mapped(pid, file);

		if (fd >= 0)
			ef = elf_file__open_fd(fd);
		err = ef ? elf_file__bias(ef, file->start, file->offset, &bias) : -ENOENT;
		elf_file__close(ef);
		if (err) {
			snprintf(why, why_size, "cannot map %s's load address", file->path);
			err = -ENOTSUP;
			goto out;
		}
	}
	if (f->has_runtime)
		t->runtime_addr = bias + f->runtime;
	if (f->none)
		t->none_addr = bias + f->none;

	err = resolve_layout(pid, f, bias, t, why, why_size);
	if (!err)
		err = py_layout__check_kernel_fit(&t->layout, why, why_size);
	if (err)
		goto out;

	if (t->layout.runtime_interp_head >= 0 && t->runtime_addr) {
		t->interp_head_addr = t->runtime_addr + t->layout.runtime_interp_head;
	} else if (f->interp_head) {
		t->interp_head_addr = bias + f->interp_head;
	} else if (!f->interp_head_fn ||
		   interp_head_from_fn(pid, bias + f->interp_head_fn, &t->interp_head_addr)) {
		snprintf(why, why_size,
			 "CPython %d.%d build has no interp_head symbol (.symtab stripped) and no PyInterpreterState_Head() to decode",
			 t->major, t->minor);
		err = -ENOTSUP;
	}
out:
	free(maps);
	return err;
}

/* The frame field's offsets of @l and their widths, in one place. */
static int frame_read_size(const struct py_layout *l, __s16 tlbc)
{
	const __s16 fields[] = { l->frame_back, l->frame_code, l->frame_instr, l->frame_owner,
				 tlbc, l->frame_is_entry };
	const int widths[] = { 8, 8, 8, 1, 4, 1 };
	int read_size = 0;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		int end = fields[i] + widths[i];

		if (fields[i] >= 0 && end > read_size)
			read_size = end;
	}
	return read_size;
}

/* 0 = no thread-local bytecode (default builds, 3.13t, tables). */
static __s16 layout_tlbc(const struct py_layout *l)
{
	return l->frame_tlbc > 0 && l->code_tlbc > 0 ? l->frame_tlbc : -1;
}

int py_layout__check_kernel_fit(const struct py_layout *l, char *why, size_t why_size)
{
	int size = frame_read_size(l, layout_tlbc(l));

	/* The kernel copies this much of each frame: a field past it would read garbage. */
	if (size > PYBPFPROF_FRAME_BUF_SIZE) {
		snprintf(why, why_size, "its frame fields end at byte %d, past the %d bytes "
			 "of a frame the kernel reads", size, PYBPFPROF_FRAME_BUF_SIZE);
		return -ENOTSUP;
	}
	return 0;
}

void py_target__proc_info(const struct py_target *t, struct py_proc_info *pi)
{
	const struct py_layout *l = &t->layout;
	__s16 tlbc = layout_tlbc(l);

	memset(pi, 0, sizeof(*pi));
	pi->interp_head_addr = t->interp_head_addr;
	/* A 3.13+ shim frame's executable is None; before, None is no marker. */
	if (t->major == 3 && t->minor >= 13)
		pi->none_addr = t->none_addr;
	/* 3.14+ f_executable is a _PyStackRef: low bits are tags. */
	pi->code_ptr_mask = (t->major == 3 && t->minor >= 14) ? ~3ULL : ~0ULL;
	pi->version_hex = t->version_hex;
	pi->interp_next = l->interp_next;
	pi->interp_tstate_head = l->interp_tstate_head;
	pi->tstate_next = l->tstate_next;
	pi->tstate_interp = l->tstate_interp;
	pi->tstate_frame = l->tstate_frame;
	pi->cframe_frame = l->cframe_frame;
	pi->tstate_thread_id = l->tstate_thread_id;
	pi->frame_back = l->frame_back;
	pi->frame_code = l->frame_code;
	pi->frame_instr = l->frame_instr;
	pi->frame_owner = l->frame_owner;
	pi->owner_skip_min = l->owner_skip_min;
	pi->instr_kind = l->instr_kind;
	pi->code_cksum = l->code_cksum;
	pi->frame_tlbc = tlbc;
	pi->frames_contiguous = t->major == 3 && t->minor >= 11;
	pi->gil_locked = l->gil_locked;
	pi->gil_holder = l->gil_holder;
	pi->gil_size = l->gil_size;
	pi->interp_gil_ptr = l->interp_gil_ptr;
	pi->tstate_status = l->tstate_status;
	pi->frame_is_entry = l->frame_is_entry;
	pi->cframe_previous = l->cframe_previous;
	pi->gil_kind = GIL_KIND_UNKNOWN;
	if (t->free_threaded) {
		if (l->tstate_status >= 0)
			pi->gil_kind = GIL_KIND_FREE;
	} else if (l->gil_size && l->gil_locked >= 0 && l->gil_holder >= 0) {
		if (l->runtime_gil >= 0 && t->runtime_addr) {
			pi->gil_addr = t->runtime_addr + l->runtime_gil;
			pi->gil_kind = GIL_KIND_HOLDER;
		} else if (l->interp_gil_ptr >= 0) {
			pi->gil_kind = GIL_KIND_HOLDER;
		}
	}
	pi->frame_read_size = frame_read_size(l, tlbc);
}
