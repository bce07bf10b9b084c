// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "busy_time.h"

__u64 busy_time__read(void)
{
	unsigned long long user, nice, system, idle, iowait, irq, softirq;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "re");
	int n;

	if (!f)
		return 0;
	/* The first line sums every CPU: "cpu  user nice system idle iowait irq softirq steal ...". */
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system, &idle,
		   &iowait, &irq, &softirq);
	fclose(f);
	if (n != 7 || hz <= 0)
		return 0;
	/* guest time is already inside user; steal is time the vCPU did not run. */
	return (user + nice + system + irq + softirq) * (1000000000ULL / (unsigned long long)hz);
}

__u64 busy_time__self(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts))
		return 0;
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}
