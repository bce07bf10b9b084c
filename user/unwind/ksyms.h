/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --kernel: kernel addresses to function names, from /proc/kallsyms. */
#ifndef __KSYMS_H
#define __KSYMS_H

#include <linux/types.h>

struct ksyms;

/* Read /proc/kallsyms (text symbols): NULL when unreadable or empty. */
struct ksyms *ksyms__load(void);
void ksyms__free(struct ksyms *k);
/* The function holding @addr, or NULL. */
const char *ksyms__name(const struct ksyms *k, __u64 addr);

#endif /* __KSYMS_H */
