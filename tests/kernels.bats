#!/usr/bin/env bats
# Debian's own kernels under qemu (tools/test-kernels): bullseye 5.10
# (no bpf_loop: the tail-call walker), bookworm 6.1 and trixie 6.12. Each
# boots once, with a root holding the binary and Pythons, and runs the
# core checks of tests/kernels/guest-tests; the tests below read its
# results. Skipped unless asked: make test-kernels (CI runs it).

load helpers

TOOL=$BATS_TEST_DIRNAME/../tools/test-kernels

setup() {
	[ -n "${PYBPFPROF_TEST_KERNELS:-}" ] || skip "make test-kernels runs these"
	require_root
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed (make deps)"
}

# boot SUITE: boot it once per run; its console in $LOG.
boot() {
	LOG=$BATS_FILE_TMPDIR/$1.log
	[ -f "$LOG" ] && return 0
	"$TOOL" fetch "$1" >&2
	"$TOOL" root >&2
	local t0=$SECONDS
	"$TOOL" boot "$1" >"$LOG.tmp" || true
	echo "INFO seconds $((SECONDS - t0))" >>"$LOG.tmp"
	mv "$LOG.tmp" "$LOG"
	# The time of each boot, for make test-kernels' output.
	echo "# $1: $(sed -n 's/^INFO suite [^ ]* //p' "$LOG"), $(sed -n 's/^INFO accel //p' "$LOG"), $((SECONDS - t0)) s" >&3
}

# results SUITE PREFIX: every RESULT line whose name starts with PREFIX
# says ok, and there is at least one.
results() {
	boot "$1"
	local lines
	lines=$(grep "^RESULT $2" "$LOG" || true)
	if [ -z "$lines" ] || grep -q "^RESULT $2[^ ]* fail" <<<"$lines" ||
	   ! grep -q DONE "$LOG"; then
		echo "--- console of $1:" >&2
		grep -E "^(INFO|RESULT|BOOTED|DONE)|Kernel panic|BUG|Oops" "$LOG" >&2 || tail -30 "$LOG" >&2
		return 1
	fi
	echo "$lines"
}

walker() {
	boot "$1"
	sed -n 's/^INFO walker //p' "$LOG"
}

@test "bullseye 5.10: boots; loads the tail-call walker (no bpf_loop)" {
	results bullseye load
	[ "$(walker bullseye)" = tail ]
}
@test "bullseye 5.10: nested stacks with lines, main and worker threads, each Python" {
	results bullseye nested-
}
@test "bullseye 5.10: a short-lived process" {
	results bullseye short-
}
@test "bullseye 5.10: threads in C with the GIL released" {
	results bullseye gil-
}
@test "bullseye 5.10: --mode wall: sleep and pipe reads off CPU under their callers (one iterator over every task)" {
	results bullseye wall-
	grep -q "^INFO wall-iter .*(this kernel has none" "$LOG"
}
@test "bullseye 5.10: --native --kernel is one notice and the Python stacks, not a refusal" {
	results bullseye native-
	grep -q "^RESULT native-[^ ]* ok python-only: pybpfprof: --native --kernel needs Linux 5.19+" "$LOG"
}

@test "bookworm 6.1: boots; loads the bpf_loop walker" {
	results bookworm load
	[ "$(walker bookworm)" = loop ]
}
@test "bookworm 6.1: nested stacks with lines, both walkers, each Python" {
	results bookworm nested-
	grep -q "^RESULT nested-.*-tail ok" "$LOG"
}
@test "bookworm 6.1: a short-lived process" {
	results bookworm short-
}
@test "bookworm 6.1: threads in C with the GIL released" {
	results bookworm gil-
}
@test "bookworm 6.1: --native --kernel: zlib's C frames under their Python caller" {
	results bookworm native-
	grep -q "^RESULT native-[^ ]* ok native: " "$LOG"
}
@test "bookworm 6.1: --mode wall: sleep and pipe reads off CPU under their callers (an iterator per process)" {
	results bookworm wall-
	grep -Eq "^INFO wall-iter .*, [1-9][0-9]* of them by an iterator per process$" "$LOG"
}

@test "trixie 6.12: boots; loads the bpf_loop walker" {
	results trixie load
	[ "$(walker trixie)" = loop ]
}
@test "trixie 6.12: nested stacks with lines, both walkers, each Python" {
	results trixie nested-
	grep -q "^RESULT nested-.*-tail ok" "$LOG"
}
@test "trixie 6.12: a short-lived process" {
	results trixie short-
}
@test "trixie 6.12: threads in C with the GIL released" {
	results trixie gil-
}
@test "trixie 6.12: --native --kernel: zlib's C frames under their Python caller" {
	results trixie native-
	grep -q "^RESULT native-[^ ]* ok native: " "$LOG"
}
@test "trixie 6.12: --mode wall: sleep and pipe reads off CPU under their callers (an iterator per process)" {
	results trixie wall-
	grep -Eq "^INFO wall-iter .*, [1-9][0-9]* of them by an iterator per process$" "$LOG"
}
