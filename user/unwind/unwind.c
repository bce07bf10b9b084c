// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <elfutils/libdwfl.h>
#include "hmap.h"
#include "procfs.h"
#include "remote.h"
#include "symtab.h"
#include "unwind.h"

/* DWARF register numbers, x86-64 psABI. */
enum { DW_RBX = 3, DW_RBP = 6, DW_RSP = 7, DW_R12 = 12, DW_R13, DW_R14, DW_R15 };

/* The sample being unwound: what libdw's callbacks read. */
struct sample_ctx {
	pid_t pid, tid;
	const __u64 *regs;
	const __u8 *stack;
	__u64 stack_lo, stack_hi;	/* [sp, sp + len) of the copy */
	bool thread_given;
};

struct unwind_proc {
	pid_t pid;
	Dwfl *dwfl;
	bool attached;
	__u64 maps_sig;		/* of the executable file mappings reported */
	struct hmap *symtabs;	/* Dwfl_Module * -> struct symtab *, of this session */
	struct sample_ctx cur;
};

struct unwinder {
	struct hmap *procs;		/* pid -> struct unwind_proc * */
};

/* ---- memory and registers, from the copy ------------------------------ */

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct unwind_proc *up = arg;
	struct sample_ctx *c = &up->cur;
	__u64 v;

	if (addr >= c->stack_lo && addr + 8 <= c->stack_hi) {
		memcpy(&v, c->stack + (addr - c->stack_lo), 8);
		*result = v;
		return true;
	}
	/*
	 * Outside the copy: deeper in the stack than we copied, or not the
	 * stack at all. The thread has run on since, so its stack may not
	 * hold what it held: read only what cannot have changed (a CFI
	 * expression may read code or data), never the stack around sp.
	 */
	if (addr >= c->stack_lo - 65536 && addr < c->stack_hi + (1 << 20))
		return false;
	if (remote__read_u64(c->pid, addr, &v))
		return false;
	*result = v;
	return true;
}

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct unwind_proc *up = arg;

	if (up->cur.thread_given)
		return 0;
	up->cur.thread_given = true;
	*thread_argp = up;
	return up->cur.tid;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct unwind_proc *up = arg;

	if (tid != up->cur.tid)
		return false;
	*thread_argp = up;
	return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct unwind_proc *up = arg;
	const __u64 *r = up->cur.regs;
	Dwarf_Word v;

	/* Only what the kernel copied: callee-saved registers, sp and pc. */
	v = r[PY_NATIVE_BX];
	if (!dwfl_thread_state_registers(thread, DW_RBX, 1, &v))
		return false;
	v = r[PY_NATIVE_BP];
	if (!dwfl_thread_state_registers(thread, DW_RBP, 1, &v))
		return false;
	v = r[PY_NATIVE_SP];
	if (!dwfl_thread_state_registers(thread, DW_RSP, 1, &v))
		return false;
	for (int i = 0; i < 4; i++) {
		v = r[PY_NATIVE_R12 + i];
		if (!dwfl_thread_state_registers(thread, DW_R12 + i, 1, &v))
			return false;
	}
	dwfl_thread_state_register_pc(thread, r[PY_NATIVE_IP]);
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

/* ---- modules, opened inside the process's root ------------------------- */

static char *debuginfo_path;	/* libdw's search path: the host's /usr/lib/debug */

static const Dwfl_Callbacks dwfl_callbacks = {
	/* Modules come with their files (dwfl_report_elf): never looked up. */
	.find_elf = NULL,
	/* Separate debug info: build-id and .gnu_debuglink under /usr/lib/debug. */
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

static bool same_file(const struct proc_map *a, const struct proc_map *b)
{
	return a->inode == b->inode && a->dev_major == b->dev_major &&
	       a->dev_minor == b->dev_minor && !strcmp(a->path, b->path);
}

/*
 * The vDSO has no file, and a thread in clock_gettime() is in it: its
 * CFI is what takes the unwinding out. Every 64-bit process of this
 * kernel maps the same image as ours, so ours, copied once into a
 * memory file, stands for theirs. -1 when there is none.
 */
static int vdso_file(void)
{
	static int fd = -2;
	__u64 start, end, base = getauxval(AT_SYSINFO_EHDR);

	if (fd != -2)
		return fd;
	fd = -1;
	if (!base || procfs__vdso(getpid(), &start, &end) || base != start)
		return fd;
	fd = memfd_create("pybpfprof-vdso", MFD_CLOEXEC);
	if (fd >= 0 && write(fd, (const void *)start, end - start) != (ssize_t)(end - start)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* @pid's vDSO, if it has one, as a module named "[vdso]". */
static void report_vdso(struct unwind_proc *up)
{
	__u64 start, end;
	int fd;

	if (vdso_file() < 0 || procfs__vdso(up->pid, &start, &end))
		return;
	fd = dup(vdso_file());
	if (fd < 0)
		return;
	/* A fresh descriptor, read from offset 0 by libdw: the shared one never moves. */
	if (!dwfl_report_elf(up->dwfl, "[vdso]", "[vdso]", fd, start, false))
		close(fd);
}

/*
 * Report every file-backed executable mapping of @pid to libdw, each
 * with a descriptor we opened the safe way (procfs__open_mapped: inside
 * the process's root, or through map_files), at its load bias.
 */
/* A hash of where @maps' executable files lie: changes when a library comes or goes. */
static __u64 maps_signature(const struct proc_map *maps, size_t n)
{
	__u64 h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		const __u64 v[] = { maps[i].start, maps[i].end, maps[i].inode };

		if (!maps[i].exec)
			continue;
		for (size_t k = 0; k < 3; k++)
			h = (h ^ v[k]) * 1099511628211ULL;
	}
	return h;
}

static int report_modules(struct unwind_proc *up, const struct proc_map *maps, size_t n)
{
	dwfl_report_begin(up->dwfl);
	for (size_t i = 0; i < n; i++) {
		const struct proc_map *m = &maps[i], *first = m;
		Dwarf_Addr base;
		int fd;

		if (!m->exec || m->inode == 0)
			continue;
		/* The file's first mapping (offset 0) sets its load bias. */
		for (size_t j = i; j-- > 0;) {
			if (!same_file(&maps[j], m))
				break;
			first = &maps[j];
		}
		base = first->start - first->offset;
		fd = procfs__open_mapped(up->pid, m);
		if (fd < 0)
			continue;
		/* libdw takes the descriptor over; the name is what labels show. */
		if (!dwfl_report_elf(up->dwfl, m->path, m->path, fd, base, false))
			close(fd);
	}
	report_vdso(up);
	dwfl_report_end(up->dwfl, NULL, NULL);
	up->maps_sig = maps_signature(maps, n);
	return 0;
}

/*
 * A new libdw session for @up with its modules as mapped now, unless
 * @only_if_changed and they are those reported already. Never a second
 * report into the same session: the unwinding state keeps pointers into
 * the modules it was attached with, which a report frees.
 */
static int free_symtab(const void *key, void *value, void *ctx)
{
	symtab__free(*(struct symtab **)value);
	return 0;
}

/* The symbol tables point into the session's modules: they go with it. */
static void drop_symtabs(struct unwind_proc *up)
{
	if (!up->symtabs)
		return;
	hmap__for_each(up->symtabs, free_symtab, NULL);
	hmap__free(up->symtabs);
	up->symtabs = NULL;
}

static int proc_report(struct unwind_proc *up, bool only_if_changed)
{
	struct proc_map *maps = NULL;
	size_t n = 0;
	int err;

	err = procfs__read_maps(up->pid, &maps, &n);
	if (err)
		return err;
	if (only_if_changed && up->dwfl && maps_signature(maps, n) == up->maps_sig)
		goto out;
	drop_symtabs(up);
	if (up->dwfl)
		dwfl_end(up->dwfl);
	up->attached = false;
	up->dwfl = dwfl_begin(&dwfl_callbacks);
	err = up->dwfl ? report_modules(up, maps, n) : -ENOMEM;
out:
	free(maps);
	return err;
}

static struct unwind_proc *proc_get(struct unwinder *u, pid_t pid)
{
	struct unwind_proc **slot, *up;
	bool created;

	slot = hmap__insert(u->procs, &pid, &created);
	if (!slot)
		return NULL;
	if (!created)
		return *slot;
	up = calloc(1, sizeof(*up));
	if (!up)
		goto err_delete;
	up->pid = pid;
	if (proc_report(up, false))
		goto err_free;
	*slot = up;
	return up;
err_free:
	drop_symtabs(up);
	if (up->dwfl)
		dwfl_end(up->dwfl);
	free(up);
err_delete:
	hmap__delete(u->procs, &pid);
	return NULL;
}

/* ---- unwinding ---------------------------------------------------------- */

struct frames_ctx {
	struct unwind_proc *up;
	struct native_frame *out;
	size_t n, max;
	bool stopped_early;
};

static bool is_python_binary(const char *base)
{
	return !strncmp(base, "libpython", 9) || !strncmp(base, "python", 6);
}

/* @mod's sorted symbols, read on its first frame; NULL if memory ran out. */
static const struct symtab *module_symtab(struct unwind_proc *up, Dwfl_Module *mod)
{
	struct symtab **slot;
	bool created;

	if (!up->symtabs && !(up->symtabs = hmap__new(sizeof(mod), sizeof(struct symtab *))))
		return NULL;
	slot = hmap__insert(up->symtabs, &mod, &created);
	if (!slot)
		return NULL;
	if (created && !(*slot = symtab__new(mod))) {
		hmap__delete(up->symtabs, &mod);
		return NULL;
	}
	return *slot;
}

static int on_frame(Dwfl_Frame *frame, void *arg)
{
	struct frames_ctx *fc = arg;
	struct native_frame *f;
	Dwarf_Addr pc, lookup;
	Dwarf_Word sp = 0;
	bool activation;
	Dwfl_Module *mod;

	if (fc->n >= fc->max) {
		fc->stopped_early = true;
		return DWARF_CB_ABORT;
	}
	if (!dwfl_frame_pc(frame, &pc, &activation))
		return DWARF_CB_ABORT;
	dwfl_frame_reg(frame, DW_RSP, &sp);
	f = &fc->out[fc->n];
	memset(f, 0, sizeof(*f));
	f->pc = pc;
	f->sp = sp;
	/* A return address points past the call: look up the call itself. */
	lookup = activation ? pc : pc - 1;
	mod = dwfl_addrmodule(dwfl_thread_dwfl(dwfl_frame_thread(frame)), lookup);
	if (mod) {
		const char *name = NULL, *slash;
		Dwarf_Addr start;

		dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, &name, NULL);
		if (name) {
			slash = strrchr(name, '/');
			f->binary = slash ? slash + 1 : name;
			f->python = is_python_binary(f->binary);
		}
		f->offset = lookup - start;
		f->symbol = symtab__lookup(module_symtab(fc->up, mod), lookup);
	}
	/* The caller's sp is this frame's upper bound: filled by the next frame. */
	if (fc->n)
		fc->out[fc->n - 1].cfa = sp;
	fc->n++;
	return DWARF_CB_OK;
}

size_t unwinder__unwind(struct unwinder *u, pid_t pid, pid_t tid, const __u64 *regs,
			const void *stack, size_t stack_len, struct native_frame *out,
			size_t max, bool *truncated)
{
	struct unwind_proc *up = proc_get(u, pid);
	struct frames_ctx fc = { .up = up, .out = out, .max = max };
	int err;

	*truncated = true;
	if (!up || !max)
		return 0;
	/* A pc in no module: a library loaded since it was reported, or JIT code. */
	if (!dwfl_addrmodule(up->dwfl, regs[PY_NATIVE_IP]) && proc_report(up, true))
		return 0;
	up->cur = (struct sample_ctx){
		.pid = pid, .tid = tid, .regs = regs, .stack = stack,
		.stack_lo = regs[PY_NATIVE_SP], .stack_hi = regs[PY_NATIVE_SP] + stack_len,
	};
	if (!up->attached) {
		if (!dwfl_attach_state(up->dwfl, NULL, pid, &thread_callbacks, up))
			return 0;
		up->attached = true;
	}
	err = dwfl_getthread_frames(up->dwfl, tid, on_frame, &fc);
	/* The outermost frame has no caller: its top is unknown. */
	if (fc.n)
		out[fc.n - 1].cfa = out[fc.n - 1].sp;
	/*
	 * libdw ends with an error where it could not go on, and without one
	 * at the real root (no return address: _start, clone's thread start).
	 */
	*truncated = fc.stopped_early || (err && dwfl_errno() != 0);
	return fc.n;
}

struct unwinder *unwinder__new(void)
{
	struct unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->procs = hmap__new(sizeof(pid_t), sizeof(struct unwind_proc *));
	if (!u->procs) {
		free(u);
		return NULL;
	}
	return u;
}

static void proc_free(struct unwind_proc *up)
{
	if (!up)
		return;
	drop_symtabs(up);
	dwfl_end(up->dwfl);
	free(up);
}

void unwinder__forget(struct unwinder *u, pid_t pid)
{
	struct unwind_proc **slot = u ? hmap__find(u->procs, &pid) : NULL;

	if (!slot)
		return;
	proc_free(*slot);
	hmap__delete(u->procs, &pid);
}

static int free_one(const void *key, void *value, void *ctx)
{
	proc_free(*(struct unwind_proc **)value);
	return 0;
}

void unwinder__free(struct unwinder *u)
{
	if (!u)
		return;
	hmap__for_each(u->procs, free_one, NULL);
	hmap__free(u->procs);
	free(u);
}
