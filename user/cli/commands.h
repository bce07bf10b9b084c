/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The commands, one file each (cmd_*.c), and the usage they share. */
#ifndef __COMMANDS_H
#define __COMMANDS_H

extern const char commands__usage[];
extern const char agent_usage[];
extern const char diff_usage[];

/* Each returns the process's exit status. */
int cmd_record(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_diff(int argc, char **argv);

#endif /* __COMMANDS_H */
