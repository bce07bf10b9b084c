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
#include "hmap.h"
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
	struct hmap *proc_iters;	/* wall mode: pid -> its own task iterator link */
	bool proc_iters_checked;	/* the kernel honours them (6.1+) */
	bool proc_iters_refused;	/* it does not (before 6.1) */
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
bool sampler__native_supported(bool tail_walker)
{
	return !tail_walker && checks__has_bpf_loop() && checks__has_ringbuf_dynptr();
}

static int choose_walker(struct sampler *s, const struct sampler_opts *o)
{
	struct pybpfprof_bpf *k = s->skel;
	struct bpf_program *tail[] = { k->progs.on_sample_tail, k->progs.find_tail,
				       k->progs.walk_tail };
	int err = 0;

	s->tail_walker = o->tail_walker || !checks__has_bpf_loop();
	bool native = o->native_stack || o->kernel_stacks;

	if (native && !sampler__native_supported(o->tail_walker))
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
 * Open, size and load the skeleton; with @wall, wall mode's task
 * iterator too.
 */
static int load_skel(struct sampler *s, const struct sampler_opts *o, bool wall)
{
	int err;

	s->skel = pybpfprof_bpf__open();
	if (!s->skel)
		return -errno;
	s->skel->rodata->max_depth = o->max_depth;
	s->skel->rodata->pid_filter = o->pid_filter;
	s->skel->rodata->native_stack_size = o->native_stack;
	s->skel->rodata->native_kernel = o->kernel_stacks;
	s->skel->rodata->self_tgid = getpid();
	err = bpf_map__set_max_entries(s->skel->maps.samples, o->ring_size);
	if (!err)
		err = choose_walker(s, o);
	if (err)
		return err;
	if (!wall) {
		bpf_program__set_autoload(s->skel->progs.offcpu_scan, false);
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
	s->proc_iters = hmap__new(sizeof(pid_t), sizeof(struct bpf_link *));
	if (!s->proc_iters) {
		*err = -ENOMEM;
		goto err_free;
	}
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0) {
		*err = s->ncpus ? s->ncpus : -EINVAL;
		goto err_free;
	}
	*err = load_skel(s, o, o->wall);
	if (*err && o->wall) {
		/*
		 * A kernel without what wall mode needs (task iterators, 5.8)
		 * still samples CPU time: say so, go on.
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

static int destroy_link(const void *key, void *value, void *ctx)
{
	bpf_link__destroy(*(struct bpf_link **)value);
	return 0;
}

void sampler__close(struct sampler *s)
{
	if (!s)
		return;
	sampler__stop(s);
	if (s->proc_iters)
		hmap__for_each(s->proc_iters, destroy_link, NULL);
	hmap__free(s->proc_iters);
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

/* Run one iterator link to its end, each record to on_offcpu(). Count or -errno. */
static int iter_read(struct sampler *s, struct bpf_link *link)
{
	struct offcpu_scan_rec recs[64];
	size_t have = 0;
	int fd, n = 0, err = 0;
	ssize_t got;

	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0)
		return -errno;
	/* Records go whole into the seq_file; a read may still end inside one. */
	while ((got = read(fd, (char *)recs + have, sizeof(recs) - have)) > 0) {
		size_t whole;

		have += got;
		whole = have / sizeof(recs[0]);
		for (size_t i = 0; i < whole; i++)
			s->cb.on_offcpu(&recs[i], s->cb.ctx);
		n += whole;
		have -= whole * sizeof(recs[0]);
		memmove(recs, (char *)recs + whole * sizeof(recs[0]), have);
	}
	if (got < 0)
		err = -errno;
	else if (have)
		err = -EIO;
	close(fd);
	return err ?: n;
}

/* The iterator over @pid's threads alone (6.1+), made on first use. */
static struct bpf_link *proc_iter(struct sampler *s, pid_t pid, int *err)
{
	union bpf_iter_link_info info = { .task.pid = pid };
	LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info,
		    .link_info_len = sizeof(info));
	struct bpf_link **slot;
	bool created;

	slot = hmap__insert(s->proc_iters, &pid, &created);
	if (!slot) {
		*err = -ENOMEM;
		return NULL;
	}
	if (!created)
		return *slot;
	*slot = bpf_program__attach_iter(s->skel->progs.offcpu_scan, &opts);
	if (!*slot) {
		/*
		 * 6.1+ takes any number (a process gone yields no task):
		 * a refusal is a kernel without them (5.10: E2BIG).
		 */
		*err = -errno;
		hmap__delete(s->proc_iters, &pid);
		if (*err != -ENOMEM)
			s->proc_iters_refused = true;
		return NULL;
	}
	/*
	 * A kernel that took the process and ignored it would walk every
	 * task for each: only a link whose info names it is one.
	 */
	if (!s->proc_iters_checked) {
		struct bpf_link_info li = {};
		__u32 len = sizeof(li);

		if (bpf_obj_get_info_by_fd(bpf_link__fd(*slot), &li, &len) ||
		    li.iter.task.pid != (__u32)pid) {
			s->proc_iters_refused = true;
			bpf_link__destroy(*slot);
			hmap__delete(s->proc_iters, &pid);
			*err = -EOPNOTSUPP;
			return NULL;
		}
		s->proc_iters_checked = true;
	}
	return *slot;
}

int sampler__scan_offcpu(struct sampler *s, const pid_t *pids, size_t npids)
{
	struct bpf_link *link;
	int n = 0, got, err = 0;

	if (!s->skel->links.offcpu_scan)
		return -ENOTSUP;
	if (!pids || s->proc_iters_refused)
		return iter_read(s, s->skel->links.offcpu_scan);
	for (size_t i = 0; i < npids; i++) {
		link = proc_iter(s, pids[i], &err);
		if (!link && err == -ENOMEM)
			return err;
		/* Before 6.1 a task iterator cannot be given a process: all of them. */
		if (s->proc_iters_refused)
			return iter_read(s, s->skel->links.offcpu_scan);
		if (!link)
			continue;	/* gone meanwhile */
		got = iter_read(s, link);
		if (got > 0)
			n += got;
	}
	return n;
}

bool sampler__proc_iters_refused(const struct sampler *s)
{
	return s->proc_iters_refused;
}

void sampler__forget_proc(struct sampler *s, pid_t pid)
{
	struct bpf_link **link = s->proc_iters ? hmap__find(s->proc_iters, &pid) : NULL;

	if (!link)
		return;
	bpf_link__destroy(*link);
	hmap__delete(s->proc_iters, &pid);
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
