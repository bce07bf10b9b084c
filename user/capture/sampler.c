// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "busy_time.h"
#include "checks.h"
#include "pybpfprof.skel.h"
#include "sampler.h"

#define NSEC_PER_SEC 1000000000ULL
/* The kernel's floor for a CPU-clock period (perf_swevent_init_hrtimer). */
#define MIN_PERIOD_NS 10000ULL

struct sampler {
	struct pybpfprof_bpf *skel;
	int wall_refused;		/* wall mode asked for, and the kernel's -errno */
	struct bpf_program *entry;	/* on_sample, or on_sample_tail before 5.17 */
	struct ring_buffer *rb;
	struct sampler_callbacks cb;
	struct bpf_link **links;	/* one per online CPU; each owns its perf fd */
	int *pfds;			/* the perf fd of each link, for ioctls */
	int nlinks;
	int ncpus;			/* possible CPUs: per-CPU map width */
	bool tail_walker;
	bool jitter;
	__u64 period_ns;		/* mean period */
	__u64 busy_start_ns;		/* busy_time__read() when the events started */
	__u64 busy_stop_ns;		/* ... and when they stopped (0: running) */
	__u64 self_start_ns;		/* busy_time__self(), the same two moments */
	__u64 self_stop_ns;
	__u64 rng;			/* xorshift64* state */
};

static int on_sample_record(void *ctx, void *data, size_t size)
{
	struct sampler *s = ctx;
	const struct sample_hdr *hdr = data;

	const struct native_part *np = NULL;
	size_t used;

	if (size < sizeof(*hdr) ||
	    hdr->nframes > PYBPFPROF_MAX_DEPTH ||
	    size < sizeof(*hdr) + hdr->nframes * sizeof(struct py_frame))
		return 0;	/* malformed: never trust a record's own count */
	used = sizeof(*hdr) + hdr->nframes * sizeof(struct py_frame);
	if (hdr->flags & SAMPLE_NATIVE) {
		np = (const struct native_part *)((const char *)data + used);
		/* Each part's count against the bytes there are. */
		if (size - used < sizeof(*np) || np->nbounds > PY_NATIVE_MAX_BOUNDS ||
		    np->nkernel > PY_NATIVE_MAX_KERNEL || np->stack_len > PY_NATIVE_MAX_STACK ||
		    size - used - sizeof(*np) < np->nbounds * sizeof(struct native_bound) +
						 np->nkernel * sizeof(__u64) + np->stack_len)
			np = NULL;
	}
	s->cb.on_sample(hdr, (const struct py_frame *)(hdr + 1), np, s->cb.ctx);
	return 0;
}

static int on_event_record(void *ctx, void *data, size_t size)
{
	struct sampler *s = ctx;

	if (size >= sizeof(struct pyprof_event))
		s->cb.on_event(data, s->cb.ctx);
	return 0;
}

/*
 * bpf_loop (5.17+) walks with on_sample; without it, the tail-calling
 * programs of bpf/legacy.bpf.h do the same walk. Chosen by a probe of
 * the running kernel, never by its version; only the chosen set loads.
 */
static int choose_walker(struct sampler *s, const struct sampler_opts *o)
{
	struct pybpfprof_bpf *k = s->skel;
	struct bpf_program *tail[] = { k->progs.on_sample_tail, k->progs.find_tail,
				       k->progs.walk_tail };
	int err = 0;

	s->tail_walker = o->tail_walker || !checks__has_bpf_loop();
	bool native = o->native_stack || o->kernel_stacks;

	/* --native and --kernel write records of a size known at run time: 5.19+. */
	if (native && (s->tail_walker || !checks__has_ringbuf_dynptr()))
		return -EOPNOTSUPP;
	s->entry = s->tail_walker ? k->progs.on_sample_tail :
		   native ? k->progs.on_sample_native : k->progs.on_sample;
	err = bpf_program__set_autoload(k->progs.on_sample, s->entry == k->progs.on_sample);
	if (!err)
		err = bpf_program__set_autoload(k->progs.on_sample_native,
						s->entry == k->progs.on_sample_native);
	for (size_t i = 0; i < sizeof(tail) / sizeof(tail[0]) && !err; i++)
		err = bpf_program__set_autoload(tail[i], s->tail_walker);
	return err;
}

static int fill_tail_progs(struct sampler *s)
{
	struct pybpfprof_bpf *k = s->skel;
	const struct { __u32 slot; struct bpf_program *prog; } slots[] = {
		{ 0, k->progs.find_tail },	/* TAIL_FIND */
		{ 1, k->progs.walk_tail },	/* TAIL_WALK */
	};

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		int fd = bpf_program__fd(slots[i].prog);
		int err = bpf_map__update_elem(k->maps.tail_progs, &slots[i].slot,
					       sizeof(slots[i].slot), &fd, sizeof(fd), BPF_ANY);

		if (err)
			return err;
	}
	return 0;
}

bool sampler__tail_walker(const struct sampler *s)
{
	return s->tail_walker;
}

/*
 * Open, size and load the skeleton; with @wall, the wall-mode programs
 * too (sched_switch and sys_exit tracepoints, the task iterator).
 */
static int load_skel(struct sampler *s, const struct sampler_opts *o, bool wall)
{
	int err;

	s->skel = pybpfprof_bpf__open();
	if (!s->skel)
		return -errno;
	s->skel->rodata->max_depth = o->max_depth;
	s->skel->rodata->pid_filter = o->pid_filter;
	s->skel->rodata->wall_period_ns = wall ? o->wall_period_ns : 0;
	s->skel->rodata->native_stack_size = o->native_stack;
	s->skel->rodata->native_kernel = o->kernel_stacks;
	s->skel->rodata->self_tgid = getpid();
	err = bpf_map__set_max_entries(s->skel->maps.samples, o->ring_size);
	if (!err)
		err = choose_walker(s, o);
	if (err)
		return err;
	if (!wall) {
		/* CPU mode: no switch tracking, and no room kept for it. */
		bpf_program__set_autoload(s->skel->progs.on_switch, false);
		bpf_program__set_autoload(s->skel->progs.on_syscall_return, false);
		bpf_program__set_autoload(s->skel->progs.offcpu_scan, false);
		/* Task storage needs 5.11: not even created without wall mode. */
		bpf_map__set_autocreate(s->skel->maps.task_walls, false);
	}
	err = pybpfprof_bpf__load(s->skel);
	if (!err && s->tail_walker)
		err = fill_tail_progs(s);
	/* The perf_event programs are attached per CPU by sampler__start(). */
	if (!err)
		err = pybpfprof_bpf__attach(s->skel);
	return err;
}

struct sampler *sampler__open(const struct sampler_opts *o, const struct sampler_callbacks *cb,
			      int *err)
{
	struct sampler *s = calloc(1, sizeof(*s));

	if (!s) {
		*err = -ENOMEM;
		return NULL;
	}
	s->cb = *cb;
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0) {
		*err = s->ncpus ? s->ncpus : -EINVAL;
		goto err_free;
	}
	*err = load_skel(s, o, o->wall_period_ns);
	if (*err && o->wall_period_ns) {
		/*
		 * A kernel without what wall mode needs (tracepoints with BTF
		 * 5.5, task iterators 5.8, task storage 5.11, bpf_loop 5.17 for
		 * its walks) still samples CPU time: say so, go on.
		 */
		pybpfprof_bpf__destroy(s->skel);
		s->skel = NULL;
		s->wall_refused = *err;
		*err = load_skel(s, o, false);
	}
	if (*err)
		goto err_free;

	/* Events first: a fork must be known before its child's samples. */
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_event_record, s, NULL);
	if (!s->rb) {
		*err = -errno;
		goto err_free;
	}
	*err = ring_buffer__add(s->rb, bpf_map__fd(s->skel->maps.samples), on_sample_record, s);
	if (*err)
		goto err_free;
	return s;
err_free:
	sampler__close(s);
	return NULL;
}

int sampler__wall_refused(const struct sampler *s)
{
	return s->wall_refused;
}

/* Online CPUs from "0-3,5" in sysfs. */
static int online_cpus(bool *online, int max)
{
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	int a, b, n = 0;
	char sep;

	if (!f)
		return -errno;
	while (fscanf(f, "%d", &a) == 1) {
		b = a;
		if (fscanf(f, "%c", &sep) == 1 && sep == '-') {
			if (fscanf(f, "%d", &b) != 1)
				break;
			if (fscanf(f, "%c", &sep) != 1)
				sep = '\n';
		}
		for (int i = a; i <= b && i < max; i++, n++)
			online[i] = true;
		if (sep != ',')
			break;
	}
	fclose(f);
	return n ? 0 : -EINVAL;
}

/* xorshift64*: a fresh, cheap stream per run; not for secrets. */
static __u64 rng_next(struct sampler *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [@lo, @hi). */
double sampler__uniform(struct sampler *s, double lo, double hi)
{
	return lo + (hi - lo) * ((rng_next(s) >> 11) * (1.0 / 9007199254740992.0));
}

/* A period uniform in [0.5, 1.5] of the mean: its mean is the mean. */
static __u64 draw_period(struct sampler *s)
{
	__u64 p = (__u64)(s->period_ns * sampler__uniform(s, 0.5, 1.5));

	return p < MIN_PERIOD_NS ? MIN_PERIOD_NS : p;
}

int sampler__start(struct sampler *s, unsigned int freq, bool jitter)
{
	/*
	 * Period mode, in nanoseconds of CPU clock: frequency mode is turned
	 * into this fixed period by the kernel anyway for software clocks,
	 * and a period can be changed on the fly (sampler__redraw()).
	 */
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
	};
	bool *online = calloc(s->ncpus, sizeof(*online));
	struct timespec ts;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->rng = ((__u64)ts.tv_nsec << 32 ^ (__u64)ts.tv_sec ^ (__u64)getpid() << 16) | 1;
	s->jitter = jitter;
	s->period_ns = NSEC_PER_SEC / freq;
	s->links = calloc(s->ncpus, sizeof(*s->links));
	s->pfds = calloc(s->ncpus, sizeof(*s->pfds));
	if (!online || !s->links || !s->pfds) {
		err = -ENOMEM;
		goto out;
	}
	err = online_cpus(online, s->ncpus);
	if (err)
		goto out;
	s->busy_start_ns = busy_time__read();
	s->self_start_ns = busy_time__self();
	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		int fd;

		if (!online[cpu])
			continue;
		attr.sample_period = jitter ? draw_period(s) : s->period_ns;
		fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			goto out;
		}
		s->links[s->nlinks] = bpf_program__attach_perf_event(s->entry, fd);
		if (!s->links[s->nlinks]) {
			/* Not attached: the fd is still ours to close. */
			err = -errno;
			close(fd);
			goto out;
		}
		s->pfds[s->nlinks] = fd;
		s->nlinks++;
	}
out:
	free(online);
	if (err)
		sampler__stop(s);
	return err;
}

int sampler__redraw(struct sampler *s)
{
	for (int i = 0; i < s->nlinks; i++) {
		__u64 period = draw_period(s);

		/* The CPU's timer restarts now, with the new period. */
		if (ioctl(s->pfds[i], PERF_EVENT_IOC_PERIOD, &period))
			return -errno;
	}
	return 0;
}

double sampler__rate(struct sampler *s, __u64 busy_ticks, __u64 self_ticks)
{
	__u64 end = s->busy_stop_ns ? s->busy_stop_ns : busy_time__read();
	__u64 self_end = s->busy_stop_ns ? s->self_stop_ns : busy_time__self();
	__u64 busy = end > s->busy_start_ns ? end - s->busy_start_ns : 0;
	__u64 self = self_end > s->self_start_ns ? self_end - s->self_start_ns : 0;

	/*
	 * The profiler's own time and ticks left out: it runs in short
	 * bursts on a CPU that is otherwise idle, whose timer may not fire
	 * for them (busy_time.h), and would drag the rate down.
	 */
	busy = busy > self ? busy - self : 0;
	busy_ticks = busy_ticks > self_ticks ? busy_ticks - self_ticks : 0;

	/*
	 * Too little run time to measure against (/proc/stat counts in
	 * 10 ms steps): 0, and the caller takes the rate asked for.
	 */
	if (!s->busy_start_ns || busy < 200000000ULL || busy_ticks < 20)
		return 0;
	return (double)busy_ticks * NSEC_PER_SEC / busy;
}

void sampler__stop(struct sampler *s)
{
	if (s->nlinks && !s->busy_stop_ns) {
		s->busy_stop_ns = busy_time__read();
		s->self_stop_ns = busy_time__self();
	}
	/* Destroying a perf_event link closes its perf fd too. */
	for (int i = 0; i < s->nlinks; i++)
		bpf_link__destroy(s->links[i]);
	s->nlinks = 0;
	free(s->links);
	s->links = NULL;
	free(s->pfds);
	s->pfds = NULL;
}

void sampler__close(struct sampler *s)
{
	if (!s)
		return;
	sampler__stop(s);
	ring_buffer__free(s->rb);
	pybpfprof_bpf__destroy(s->skel);
	free(s);
}

int sampler__set_proc(struct sampler *s, pid_t pid, const struct py_proc_info *pi)
{
	__u32 key = pid;

	return bpf_map__update_elem(s->skel->maps.py_procs, &key, sizeof(key), pi, sizeof(*pi),
				    BPF_ANY);
}

int sampler__del_proc(struct sampler *s, pid_t pid)
{
	__u32 key = pid;
	int err = bpf_map__delete_elem(s->skel->maps.py_procs, &key, sizeof(key), 0);

	return err == -ENOENT ? 0 : err;
}

int sampler__want_pid(struct sampler *s, pid_t pid, bool children)
{
	__u32 key = pid, flags = WANT_PROCESS | (children ? WANT_CHILDREN : 0);

	return bpf_map__update_elem(s->skel->maps.wanted, &key, sizeof(key), &flags,
				    sizeof(flags), BPF_ANY);
}

int sampler__unwant_pid(struct sampler *s, pid_t pid)
{
	__u32 key = pid;
	int err = bpf_map__delete_elem(s->skel->maps.wanted, &key, sizeof(key), 0);

	return err == -ENOENT ? 0 : err;
}

int sampler__scan_offcpu(struct sampler *s, __u64 until_ns)
{
	struct offcpu_scan_rec rec;
	struct bpf_link *link = s->skel->links.offcpu_scan;
	int fd, n = 0, err = 0;
	ssize_t got;

	if (!link)
		return -ENOTSUP;
	s->skel->bss->scan_until_ns = until_ns;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0)
		return -errno;
	/* Records are written whole into the seq_file: read them one at a time. */
	while ((got = read(fd, &rec, sizeof(rec))) > 0) {
		if (got != sizeof(rec)) {
			err = -EIO;
			break;
		}
		s->cb.on_offcpu(&rec, s->cb.ctx);
		n++;
	}
	if (got < 0)
		err = -errno;
	close(fd);
	return err ?: n;
}

int sampler__drain(struct sampler *s)
{
	return ring_buffer__consume(s->rb);
}

void sampler__counters(struct sampler *s, __u64 out[CNT_MAX])
{
	__u64 *vals = calloc(s->ncpus, sizeof(*vals));

	memset(out, 0, CNT_MAX * sizeof(out[0]));
	if (!vals)
		return;
	for (__u32 i = 0; i < CNT_MAX; i++) {
		if (bpf_map__lookup_elem(s->skel->maps.counters, &i, sizeof(i), vals,
					 s->ncpus * sizeof(*vals), 0))
			continue;
		for (int cpu = 0; cpu < s->ncpus; cpu++)
			out[i] += vals[cpu];
	}
	free(vals);
}

int sampler__prog_stats(struct sampler *s, __u64 *run_ns, __u64 *run_cnt)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int err;

	err = bpf_obj_get_info_by_fd(bpf_program__fd(s->entry), &info, &len);
	if (err)
		return err;
	*run_ns = info.run_time_ns;
	*run_cnt = info.run_cnt;
	return 0;
}
