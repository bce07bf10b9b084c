// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "metrics.h"

struct metrics metrics;

static const double latency_bounds[METRICS_LATENCY_BUCKETS] = {
	0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
};

static const char *const drop_names[NR_DROP_REASONS] = {
	[DROP_QUEUE_FULL] = "queue_full",
	[DROP_TOO_OLD] = "too_old",
	[DROP_REJECTED] = "rejected",
	[DROP_SHUTDOWN] = "shutdown",
};

void metrics__observe_push(double seconds)
{
	for (int i = 0; i < METRICS_LATENCY_BUCKETS; i++)
		if (seconds <= latency_bounds[i])
			atomic_fetch_add(&metrics.push_latency_buckets[i], 1);
	atomic_fetch_add(&metrics.push_latency_count, 1);
	atomic_fetch_add(&metrics.push_latency_sum_us, (unsigned long long)(seconds * 1e6));
}

/* The profiler's own resident memory and CPU time, from /proc/self/stat. */
static void self_usage(unsigned long long *rss_bytes, double *cpu_seconds)
{
	unsigned long utime = 0, stime = 0;
	long rss_pages = 0;
	char buf[1024], *p;
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n;

	*rss_bytes = 0;
	*cpu_seconds = 0;
	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* After "(comm) ": state is field 3; utime 14, stime 15, rss 24. */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu "
			 "%*d %*d %*d %*d %*d %*d %*u %*u %ld", &utime, &stime, &rss_pages) != 3)
		return;
	*rss_bytes = (unsigned long long)rss_pages * sysconf(_SC_PAGESIZE);
	*cpu_seconds = (double)(utime + stime) / sysconf(_SC_CLK_TCK);
}

static void put(FILE *f, const char *name, const char *type, const char *help,
		unsigned long long v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, v);
}

#define LOAD(x) atomic_load(&metrics.x)

int metrics__render(char **buf, size_t *len)
{
	unsigned long long rss, cum = 0;
	double cpu;
	FILE *f = open_memstream(buf, len);

	if (!f)
		return -errno;
	self_usage(&rss, &cpu);
	fprintf(f, "# HELP pybpfprof_build_info The running pybpfprof's version.\n"
		"# TYPE pybpfprof_build_info gauge\n"
		"pybpfprof_build_info{version=\"%s\"} 1\n", PYBPFPROF_VERSION);
	put(f, "pybpfprof_samples_total", "counter",
	    "CPU samples taken on every CPU, Python or not.", LOAD(samples));
	put(f, "pybpfprof_python_samples_total", "counter",
	    "Samples of Python threads sent to userspace.", LOAD(python_samples));
	put(f, "pybpfprof_samples_lost_total", "counter",
	    "Samples lost to a full kernel ring buffer.", LOAD(samples_lost));
	put(f, "pybpfprof_samples_dropped_total", "counter",
	    "Samples of processes gone before they were named, or without memory.",
	    LOAD(samples_dropped));
	put(f, "pybpfprof_process_events_lost_total", "counter",
	    "Exec, fork and exit events lost to a full ring buffer.", LOAD(events_lost));
	put(f, "pybpfprof_processes_tracked", "gauge",
	    "Processes in the profiler's process table.", LOAD(processes_tracked));
	put(f, "pybpfprof_python_processes_seen_total", "counter",
	    "Python processes identified since the start.", LOAD(python_processes_seen));
	put(f, "pybpfprof_symbolizer_cache_entries", "gauge",
	    "Code objects and frames cached by the symbolizers.", LOAD(symbolizer_entries));
	put(f, "pybpfprof_windows_total", "counter",
	    "Profile windows closed.", LOAD(windows_closed));
	put(f, "pybpfprof_windows_pushed_total", "counter",
	    "Windows the push backend accepted.", LOAD(windows_pushed));
	put(f, "pybpfprof_push_failures_total", "counter",
	    "Push attempts that failed (each is retried, unless the window is dropped).",
	    LOAD(push_attempts_failed));
	fprintf(f, "# HELP pybpfprof_windows_dropped_total Windows never pushed, by reason.\n"
		"# TYPE pybpfprof_windows_dropped_total counter\n");
	for (int i = 0; i < NR_DROP_REASONS; i++)
		fprintf(f, "pybpfprof_windows_dropped_total{reason=\"%s\"} %llu\n", drop_names[i],
			(unsigned long long)LOAD(windows_dropped[i]));
	put(f, "pybpfprof_push_queue_bytes", "gauge",
	    "Bytes of windows waiting to be pushed.", LOAD(queue_bytes));
	put(f, "pybpfprof_push_queue_windows", "gauge",
	    "Windows waiting to be pushed.", LOAD(queue_windows));
	put(f, "pybpfprof_push_queue_limit_bytes", "gauge",
	    "The push queue's bound (--max-queue).", LOAD(queue_limit_bytes));
	fprintf(f, "# HELP pybpfprof_push_duration_seconds Time of successful pushes.\n"
		"# TYPE pybpfprof_push_duration_seconds histogram\n");
	for (int i = 0; i < METRICS_LATENCY_BUCKETS; i++) {
		cum = LOAD(push_latency_buckets[i]);
		fprintf(f, "pybpfprof_push_duration_seconds_bucket{le=\"%g\"} %llu\n",
			latency_bounds[i], cum);
	}
	fprintf(f, "pybpfprof_push_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
		"pybpfprof_push_duration_seconds_sum %.6f\n"
		"pybpfprof_push_duration_seconds_count %llu\n",
		(unsigned long long)LOAD(push_latency_count), LOAD(push_latency_sum_us) / 1e6,
		(unsigned long long)LOAD(push_latency_count));
	put(f, "pybpfprof_files_written_total", "counter",
	    "Windows written to --output-dir.", LOAD(files_written));
	put(f, "pybpfprof_file_errors_total", "counter",
	    "Windows that could not be written to --output-dir.", LOAD(file_errors));
	put(f, "pybpfprof_scrapes_total", "counter",
	    "Profiles served on /debug/pprof/profile.", LOAD(scrapes));
	put(f, "pybpfprof_scrapes_failed_total", "counter",
	    "Profile requests refused or failed.", LOAD(scrapes_failed));
	put(f, "pybpfprof_resident_memory_bytes", "gauge",
	    "The agent's resident memory.", rss);
	fprintf(f, "# HELP pybpfprof_cpu_seconds_total The agent's own CPU time.\n"
		"# TYPE pybpfprof_cpu_seconds_total counter\n"
		"pybpfprof_cpu_seconds_total %.2f\n", cpu);
	if (fclose(f))
		return -errno;
	return 0;
}
