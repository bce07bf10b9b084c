/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What must hold before anything loads: privileges, kernel features,
 * the PIDs asked for. Each returns 0, or -errno with a one-line reason
 * in @why that names what is missing.
 */
#ifndef __CHECKS_H
#define __CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Root, or CAP_BPF, CAP_PERFMON (or CAP_SYS_ADMIN) and CAP_SYS_PTRACE. */
int checks__privileges(char *why, size_t size);
/* BTF, BPF perf_event programs and the ring buffer (5.8). */
int checks__kernel(char *why, size_t size);
/* The bpf_loop helper (5.17): false means the tail-call walker. */
bool checks__has_bpf_loop(void);
/* bpf_ringbuf_reserve_dynptr() (5.19+): what --native and --kernel need. */
bool checks__has_ringbuf_dynptr(void);
int checks__pids(const pid_t *pids, size_t n, char *why, size_t size);

#endif /* __CHECKS_H */
