// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pybpfprof: sample every Python process on the host from the kernel.
 *
 * The command line's first word picks the command (cmd_*.c); anything
 * else is the one-shot run. This file holds only that, and the usage.
 */
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "loop.h"
#include "options.h"

struct cmd {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct cmd cmds[] = {
	{ "top", cmd_top },
	{ "agent", cmd_agent },
	{ "diff", cmd_diff },
};

const char commands__usage[] =
"Usage: pybpfprof [-F HZ] [-d SECONDS] [-p PID]... [-f FORMAT] [-o FILE]...\n"
"                 [--mode cpu|wall] [--gil] [--native] [--kernel] [--threads]\n"
"                 [--no-lines] [--no-jitter] [--full-filenames]\n"
"                 [--focus REGEX] [--max-depth N] [-v]\n"
"                 [-- COMMAND [ARG]...]\n"
"       pybpfprof top [-F HZ] [-d SECONDS] [-p PID]... [--mode cpu|wall] [--gil]\n"
"                 [--no-jitter] [-- COMMAND [ARG]...]\n"
"       pybpfprof agent [-F HZ] [--interval SECONDS] [--push URL] [--listen ADDR:PORT]\n"
"                 [--output-dir DIR] ...   (see pybpfprof agent --help)\n"
"       pybpfprof diff BASE NEW [-f FORMAT] [-o FILE] [--fail-above POINTS] ...\n"
"\n"
"Sample the Python stacks of every CPython process on the host (or of the\n"
"given PIDs, or of COMMAND and its children) from the kernel, without\n"
"stopping or changing the targets, and report how often each function\n"
"was running.\n"
"\n"
"Options:\n"
"  -F, --frequency HZ   samples per second on each CPU, 1-10000 (default 99);\n"
"                       like perf record -F (py-spy calls this -r/--rate).\n"
"                       The intervals are random, from 0.5/HZ to 1.5/HZ, so\n"
"                       that periodic work is not sampled always in phase;\n"
"                       times in the outputs use the rate measured\n"
"  -d, --duration SEC   stop after SEC seconds (default: at Ctrl-C or SIGTERM)\n"
"  -p, --pid PID        only this process; repeat for more (default: all)\n"
"  -f, --format FMT     table (default), folded, svg, speedscope, pprof, pstats\n"
"  -o, --output FILE    write the profile to FILE (default: standard output);\n"
"                       repeat to write several formats from one run. The\n"
"                       extension picks the format: .txt table, .folded and\n"
"                       .collapsed folded, .svg, .json speedscope, .pb.gz and\n"
"                       .pprof pprof, .prof pstats; -f wins for a single -o.\n"
"                       Like the shell's > FILE: devices, FIFOs, sockets and\n"
"                       /dev/fd/N are written in place; a regular file is\n"
"                       replaced whole when complete; a symlink owned by\n"
"                       anyone but root or you (SUDO_UID) is refused\n"
"      --threads        a frame per thread (TID and name) below each process\n"
"      --no-lines       one frame per function, not one per line\n"
"      --full-filenames absolute file names in table, folded, svg and top\n"
"                       (default: relative to site-packages, the standard\n"
"                       library or the script's directory: json/decoder.py);\n"
"                       pprof, speedscope and pstats always have them\n"
"      --mode MODE      cpu (default): where threads run; wall: where they\n"
"                       spend wall time, off CPU too, each off-CPU stack\n"
"                       ending in [off-CPU: GIL|runqueue|SYSCALL]\n"
"      --gil            keep only samples of threads holding the GIL\n"
"      --native         native frames between the Python ones, where they\n"
"                       were on the C stack: SYMBOL (BINARY)\n"
"      --kernel         the kernel's frames on top of each stack, [k] SYMBOL\n"
"      --native-stack-size SIZE\n"
"                       bytes of user stack copied per sample for --native,\n"
"                       1K-16K (default 8K); deeper stacks end in [truncated]\n"
"      --focus REGEX    keep only stacks through a function matching REGEX\n"
"                       (POSIX extended), re-rooted at it\n"
"      --max-depth N    frames kept per stack, 1-1024 (default 256); deeper\n"
"                       stacks are cut at the root end and marked [truncated]\n"
"      --ring-size SIZE kernel ring buffer, a power of two, 4K-1024M (default\n"
"                       8M); samples that find it full are counted as lost\n"
"      --private        create output files 0600 instead of 0644\n"
"      --no-jitter      sample at fixed intervals of 1/HZ (perf's grid)\n"
"  -v, --verbose        report discovered processes and libbpf warnings;\n"
"                       -vv adds libbpf's debug log (verifier output)\n"
"      --version        print the version and exit\n"
"  -h, --help           print this help and exit\n"
"\n"
"-- COMMAND [ARG]...: start COMMAND (as the sudo user, if run with sudo),\n"
"profile it and its children from their first instruction, stop when it\n"
"exits and exit with its status. Ctrl-C goes to COMMAND.\n"
"\n"
"top: a live per-function view refreshed every second; keys: o sort by own,\n"
"t sort by total, q quit (and stop COMMAND).\n"
"\n"
"agent: continuous profiling in windows, pushed to Pyroscope, scraped by\n"
"Parca or Alloy, or written to files. diff: what changed between two profiles.\n"
"\n"
"Signals: SIGINT or SIGTERM stops and writes the profile in full; SIGUSR1\n"
"prints a status line (samples, lost, memory, cache and profile sizes).\n"
"It runs at nice -10 (about 1% of a CPU) so a saturated host cannot starve\n"
"it; started under nice(1) with another value, it keeps that one.\n"
"\n"
"Examples:\n"
"  sudo pybpfprof -F 10                  # whole host at 10 Hz until Ctrl-C\n"
"  sudo pybpfprof -d 30 -p 4242          # one process for 30 seconds\n"
"  sudo pybpfprof -o app.svg -- python3 app.py   # a command, start to end\n"
"  sudo pybpfprof -d 10 -o prof.svg -o prof.pb.gz   # flame graph + pprof\n"
"  sudo pybpfprof -d 10 -o prof.prof && python3 -m pstats prof.prof\n"
"  sudo pybpfprof -d 10 --focus 'handle_request' -f folded | flamegraph.pl > req.svg\n"
"  sudo pybpfprof top                    # live view of the whole host\n"
"  sudo pybpfprof --mode wall -d 10 -p 4242   # where its threads wait, too\n"
"  sudo pybpfprof agent --push http://pyroscope:4040   # continuous, to Pyroscope\n"
"  pybpfprof diff before.folded after.folded -o change.svg   # what changed\n"
"\n"
"Needs root (CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE) and a kernel with BTF.\n"
"See pybpfprof(8).\n";

int main(int argc, char **argv)
{
	/*
	 * First of all, before any thread exists: signals arrive through the
	 * event loop, and one that comes during the checks waits for it, so
	 * the run still ends in order (no temporary files left behind).
	 */
	if (loop__block_signals())
		die("cannot block signals");
	for (size_t i = 0; argc > 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		/* The command sees its name as argv[0]: getopt starts after it. */
		return cmds[i].run(argc - 1, argv + 1);
	}
	return cmd_record(argc, argv);
}
