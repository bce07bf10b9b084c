/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The time all CPUs together spent running something (not idle, not
 * waiting for I/O, not stolen by the hypervisor), from /proc/stat.
 *
 * Why: an idle CPU may take no CPU-clock ticks at all (seen on a
 * Firecracker VM: a halted vCPU's perf timer does not fire), so ticks
 * over the events' enabled time understates the rate whenever a CPU
 * idles. Ticks that found a task running, over the time tasks ran, is
 * the rate each sample was actually taken at.
 */
#ifndef __BUSY_TIME_H
#define __BUSY_TIME_H

#include <linux/types.h>

/* Busy nanoseconds since boot, summed over CPUs; 0 when unreadable. */
__u64 busy_time__read(void);
/* This process's own CPU time, all threads, in nanoseconds. */
__u64 busy_time__self(void);

#endif /* __BUSY_TIME_H */
