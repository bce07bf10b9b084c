/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `pybpfprof -- COMMAND [ARG]...`: the command the profiler starts, and
 * profiles from its first instruction.
 *
 * The child is forked early and held before exec until the profiler is
 * ready (BPF loaded, the child's PID in the kernel's filter, sampling
 * on), so nothing it runs goes unseen. It runs as the invoking user
 * (SUDO_UID/SUDO_GID, with that user's groups) when started through
 * sudo, so the files it creates are not root's; its environment, working
 * directory, terminal and process group are the profiler's, untouched,
 * and so are its signal mask and dispositions and its nice value from
 * before the profiler changed its own.
 */
#ifndef __COMMAND_H
#define __COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct command;

/*
 * Check @argv[0] can be run (found on PATH, executable) and note who it
 * is to run as: before anything is loaded, so a typo is a one-line error.
 * NULL with the reason in @why and *@status the shell's (127 not found,
 * 126 not executable).
 */
struct command *command__prepare(char *const *argv, char *why, size_t size, int *status);
/* Fork the child, held before exec. */
int command__spawn(struct command *c);
pid_t command__pid(const struct command *c);
/*
 * Let the child exec. 0 once it runs COMMAND; when exec failed, -errno
 * with the reason in @why and the child already reaped.
 */
int command__release(struct command *c, char *why, size_t size);
/* Reap the child if it has exited: true, with the shell's status in *@status. */
bool command__reap(struct command *c, int *status);
/* Wait for the child to exit: the shell's status. */
int command__wait(struct command *c);
int command__kill(struct command *c, int sig);
/* A child never released is killed and reaped. NULL is fine. */
void command__free(struct command *c);

#endif /* __COMMAND_H */
