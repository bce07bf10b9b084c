/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* System call names (x86-64), for off-CPU frames. */
#ifndef __SYSCALLS_H
#define __SYSCALLS_H

/* The name of system call @nr, or NULL when unknown. */
const char *syscalls__name(unsigned int nr);

#endif /* __SYSCALLS_H */
