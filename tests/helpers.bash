# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Shared helpers for the bats integration tests.
# shellcheck shell=bash disable=SC2034  # PY, PYV, CLS, ... are for the .bats files

PYBPFPROF=${PYBPFPROF:-$BATS_TEST_DIRNAME/../build/pybpfprof}
WORKLOADS=$BATS_TEST_DIRNAME/workloads
BG_PIDS=()

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

# pyenv's root: the first of $PYENV_ROOT, `pyenv root` (when pyenv is on
# PATH) and /root/.pyenv that has a versions/ directory; pyenv need not
# be on PATH.
pyenv_root() {
	local r
	for r in "${PYENV_ROOT:-}" "$(pyenv root 2>/dev/null)" /root/.pyenv; do
		if [ -n "$r" ] && [ -d "$r/versions" ]; then
			echo "$r"
			return 0
		fi
	done
	echo /root/.pyenv
}

# Path of pyenv's CPython X.Y (the newest X.Y.Z release installed), or
# nothing. Free-threaded ("3.13.0t") and other variant builds do not count.
find_python() {
	local v=$1 root d best=""
	root=$(pyenv_root)
	for d in "$root"/versions/"$v".*; do
		[[ ${d##*/} =~ ^${v//./\\.}\.[0-9]+((a|b|rc)[0-9]+)?$ ]] || continue
		[ -x "$d/bin/python$v" ] || continue
		best=$(printf '%s\n%s\n' "$best" "$d" | sed '/^$/d' | sort -V | tail -1)
	done
	[ -n "$best" ] || return 1
	echo "$best/bin/python$v"
}

# Sets PY to CPython X.Y, or skips the test with a visible reason.
require_python() {
	PY=$(find_python "$1") || skip "python $1 not installed (looked in $(pyenv_root)/versions)"
}

# require_test_python: for tests that need one modern interpreter, any.
# PY is pyenv's 3.12, else Debian's /usr/bin/python3 (3.11 on bookworm),
# else the test skips. PYV is its X.Y, and CLS is the regex prefix of a
# method's name: 'Worker\.' where frames carry qualnames (3.11+), else ''.
require_test_python() {
	PY=$(find_python 3.12) || PY=$(readlink -f /usr/bin/python3 2>/dev/null) ||
		skip "no python 3.12 under $(pyenv_root)/versions and no /usr/bin/python3"
	[ -x "$PY" ] || skip "no python 3.12 under $(pyenv_root)/versions and no /usr/bin/python3"
	PYV=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	CLS=""
	if [ "$("$PY" -c 'import sys; print(sys.version_info >= (3, 11))')" = True ]; then
		CLS='Worker\.'
	fi
}

# start_workload CMD [ARGS...]: start a background process this test owns;
# its PID is in LAST_PID, and teardown kills it (only it, by PID).
start_workload() {
	"$@" &
	LAST_PID=$!
	BG_PIDS+=("$LAST_PID")
}

# The older name, used by several .bats files.
start_bg() {
	start_workload "$@"
}

# Is PID alive (not gone, not a zombie)?
alive() {
	local state
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# Kill only what this test started, by PID: SIGTERM, then SIGKILL after 3 s.
kill_bg() {
	local p i
	for p in "${BG_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || continue
	done
	for p in "${BG_PIDS[@]}"; do
		for ((i = 0; i < 30; i++)); do
			alive "$p" || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	BG_PIDS=()
}

teardown() {
	kill_bg
}

# Line number of the "# LINE:MARKER" comment in FILE (fails if none).
line_of() {
	local n
	n=$(grep -n "# LINE:$1\b" "$2" | head -1 | cut -d: -f1)
	[ -n "$n" ] || { echo "line_of: no '# LINE:$1' in $2" >&2; return 1; }
	echo "$n"
}

# refute CMD [ARGS...]: fail when CMD succeeds. A bare `! CMD` fails a
# bats test only as its last command: bash's errexit ignores `!`.
refute() {
	if "$@"; then
		echo "refute: this succeeded: $*" >&2
		return 1
	fi
}

# Escape a string for use inside an extended regex.
re_escape() {
	printf '%s' "$1" | sed -e 's/[][\\.^$*+?(){}|]/\\&/g'
}

# The extended regex of FILE as table, folded and svg name it: its short
# name (user/profile/shorten.h), the base name with as many directories
# above it as tell it from other files of the profile, up to the path.
re_file() {
	printf '([^;()]*/)?%s' "$(re_escape "${1##*/}")"
}

# Give a just-started process time to map its interpreter and get going.
wait_started() {
	sleep "${1:-0.5}"
}

# wait_busy PID [CPU_SECONDS] [TIMEOUT]: wait until PID (all its threads)
# has used CPU_SECONDS (default 0.3) of CPU, more than interpreter startup
# takes, so it is in its hot loop. After TIMEOUT seconds (default 15) it
# says so on stderr and returns all the same: the assertions decide.
wait_busy() {
	local pid=$1 want=${2:-0.3} timeout=${3:-15} hz ticks f i
	hz=$(getconf CLK_TCK)
	want=$(awk -v s="$want" -v hz="$hz" 'BEGIN { printf "%d", s * hz }')
	for ((i = 0; i < timeout * 20; i++)); do
		f=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null) || break
		# Fields after "(comm) ": state is 1, utime 12, stime 13.
		ticks=$(echo "$f" | awk '{ print $12 + $13 }')
		[ "$ticks" -ge "$want" ] && return 0
		sleep 0.05
	done
	echo "wait_busy: pid $pid did not use ${2:-0.3} s of CPU in ${timeout} s" >&2
}

# retry N FUNC [ARGS...]: run FUNC, a block of sampling assertions, up to N
# times until it passes. Sampling is statistical and a busy machine can
# starve a target for a moment: a miss is tried again, not excused. Each
# try runs in a subshell with errexit, so every failing command in FUNC
# fails the try (a plain `if FUNC` would ignore all but the last).
# Variables FUNC sets do not survive it, and workloads it starts are
# killed when the try ends: start long-lived ones before retry.
# Call it as a plain command: under `if`, `||` or bats' `run`, bash
# ignores errexit inside it, and a try would pass on its last command.
retry() {
	local tries=$1 i rc=0
	shift
	for ((i = 1; i <= tries; i++)); do
		(
			# What the try starts is its own: killed when it ends,
			# while the test's earlier workloads are left running.
			BG_PIDS=()
			trap kill_bg EXIT
			set -e
			"$@"
		) &
		rc=0
		wait "$!" || rc=$?
		[ "$rc" -eq 0 ] && return 0
		echo "# retry: try $i/$tries of '$*' failed (status $rc)" >&2
	done
	return "$rc"
}

# Profile: run pybpfprof with ARGS, output in $TEST_OUT, stderr in $TEST_ERR.
profile() {
	TEST_OUT=$BATS_TEST_TMPDIR/out
	TEST_ERR=$BATS_TEST_TMPDIR/err
	PROFILE_STATUS=0
	"$PYBPFPROF" "$@" >"$TEST_OUT" 2>"$TEST_ERR" || PROFILE_STATUS=$?
}

# Show what pybpfprof wrote, for a failing assertion.
show_profile() {
	echo "--- output (first 20 lines):" >&2
	head -20 "$TEST_OUT" | cut -c1-400 >&2
	echo "--- stderr:" >&2
	cat "$TEST_ERR" >&2
}

# Assert that the folded output has a line matching the extended regex.
assert_folded_has() {
	if ! grep -Eq -- "$1" "$TEST_OUT"; then
		echo "no folded line matches: $1" >&2
		show_profile
		return 1
	fi
}

# Assert that no folded line matches the extended regex.
assert_folded_lacks() {
	if grep -Eq -- "$1" "$TEST_OUT"; then
		echo "a folded line matches: $1" >&2
		grep -E -- "$1" "$TEST_OUT" | head -5 | cut -c1-400 >&2
		return 1
	fi
}

# Number of frames (process frame included) in a folded line.
frame_count() {
	printf '%s\n' "${1% *}" | awk -F';' '{ print NF }'
}

# --- one whole-host profile per file, containers, odd builds ----------
# Used by tests/containers.bats and tests/builds.bats: setup_file starts
# every workload and runs one system-wide profile; each test then checks
# one workload in it.

ROOTFS_DIR=${PYBPFPROF_CACHE:-$BATS_TEST_DIRNAME/.cache}/rootfs
ROOT_PIDS=()

# Assert that $TEST_OUT holds tests/workloads/nested.py's stacks for PID
# (started as "nested.py SECONDS 2"): the main thread and a worker
# thread, callers in order, names and executing lines. SCRIPT is the
# script's path as the target sees it; STYLE is "qual" (3.11+:
# Worker.outer) or "name" (co_name: outer).
assert_nested() {
	local pid=$1 script=$2 style=$3 f=$WORKLOADS/nested.py fe cls="" chain
	fe=$(re_file "$script")
	[ "$style" = qual ] && cls='Worker\.'
	chain="${cls}outer \\($fe:$(line_of outer_call "$f")\\);${cls}middle \\($fe:$(line_of middle_call "$f")\\);${cls}inner_leaf \\($fe:$(line_of inner_hot "$f")\\) [0-9]+$"
	assert_folded_has "^[^;]+ \\($pid\\);<module> \\($fe:[0-9]+\\);main \\($fe:$(line_of main_call "$f")\\);$chain"
	assert_folded_has "^[^;]+ \\($pid\\);.*;thread_main \\($fe:$(line_of thread_call "$f")\\);$chain"
	if grep -F "($pid);" "$TEST_OUT" | grep -Eq 'unreadable|trampoline|shim'; then
		echo "pid $pid has unreadable or shim frames:" >&2
		grep -F "($pid);" "$TEST_OUT" | grep -E 'unreadable|trampoline|shim' | cut -c1-300 >&2
		return 1
	fi
}

# Build the Debian root NAME (tools/make-rootfs NAME SUITE PACKAGE...),
# or find it built, within $PYBPFPROF_ROOTFS_TIMEOUT seconds (default
# 900). Its messages go to the TAP stream as comments. A failure is
# reported by require_rootfs in the tests.
build_rootfs() {
	timeout "${PYBPFPROF_ROOTFS_TIMEOUT:-900}" \
		"$BATS_TEST_DIRNAME/../tools/make-rootfs" "$@" 2>&1 >/dev/null |
		sed 's/^/# /' >&3 || true
}

# Sets ROOTFS to the built root NAME, or skips (fails when
# PYBPFPROF_REQUIRE_ROOTFS is set, as CI may want).
require_rootfs() {
	ROOTFS=$ROOTFS_DIR/$1
	[ -f "$ROOTFS_DIR/$1.stamp" ] && [ -d "$ROOTFS" ] && return 0
	if [ -n "${PYBPFPROF_REQUIRE_ROOTFS:-}" ]; then
		echo "Debian root $1 was not built: see $ROOTFS_DIR/$1.log" >&2
		return 1
	fi
	skip "Debian root $1 could not be built (no network?): see $ROOTFS_DIR/$1.log"
}

# Run CMD in ROOT as a container would: new PID and mount namespaces,
# ROOT made the namespace's root (pivot_root) and entered with chroot,
# the host's tree detached. /proc/PID/maps then shows paths inside ROOT,
# and the process is PID 1 of its namespace. LAST_PID is its host PID.
start_in_root() {
	local root=$1 pid="" outer _
	shift
	mkdir -p "$root/.host"
	# shellcheck disable=SC2016
	start_bg unshare --pid --mount --fork --kill-child --propagation private \
		/bin/sh -c 'set -e
			r=$1; shift
			mount --bind "$r" "$r"
			mount -t proc proc "$r/proc"
			cd "$r"
			pivot_root . .host
			exec /usr/sbin/chroot . /bin/sh -c "umount -l /.host && exec \"\$@\"" sh "$@"' \
		sh "$root" /usr/bin/env -i PATH=/usr/bin:/bin "$@" 3>&-
	outer=$LAST_PID
	for _ in $(seq 100); do
		pid=$(pgrep -P "$outer" | head -1)
		if [ -n "$pid" ] &&
		   [ "$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" | head -1)" = "$1" ]; then
			ROOT_PIDS+=("$pid")
			LAST_PID=$pid
			return 0
		fi
		sleep 0.05
	done
	echo "start_in_root: $* did not start in $root" >&2
	return 1
}

# Kill what start_bg and start_in_root started. A PID namespace's init
# ignores SIGTERM from outside, and unshare --fork ignores it too.
kill_bg_all() {
	local p
	for p in "${ROOT_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	ROOT_PIDS=()
	kill_bg
}

# Remember a workload of this file's profile: LABEL, its host PID and
# more words (e.g. the script's path as the target sees it) ...
note_workload() {
	echo "$*" >>"$BATS_FILE_TMPDIR/workloads"
}

# ... or why it was not started.
note_skip() {
	local label=$1
	shift
	echo "$label SKIP $*" >>"$BATS_FILE_TMPDIR/workloads"
}

# ... or that it should have started and did not.
note_fail() {
	local label=$1
	shift
	echo "$label FAIL $*" >>"$BATS_FILE_TMPDIR/workloads"
}

# Sets WL to the words noted for LABEL (WL[0] is the PID), or skips or
# fails with the reason noted.
workload() {
	local line
	line=$(awk -v l="$1" '$1 == l { $1 = ""; print substr($0, 2); exit }' \
		"$BATS_FILE_TMPDIR/workloads" 2>/dev/null)
	[ -n "$line" ] || skip "workload $1 was not started"
	read -ra WL <<<"$line"
	[ "${WL[0]}" != SKIP ] || skip "${WL[*]:1}"
	if [ "${WL[0]}" = FAIL ]; then
		echo "workload $1: ${WL[*]:1}" >&2
		return 1
	fi
}

# Run the file's one profile: pybpfprof ARGS, kept in $BATS_FILE_TMPDIR.
file_profile() {
	local status=0
	"$PYBPFPROF" "$@" >"$BATS_FILE_TMPDIR/profile.out" \
		2>"$BATS_FILE_TMPDIR/profile.err" || status=$?
	echo "$status" >"$BATS_FILE_TMPDIR/profile.status"
}

# Point TEST_OUT, TEST_ERR and PROFILE_STATUS at the file's profile.
use_file_profile() {
	TEST_OUT=$BATS_FILE_TMPDIR/profile.out
	TEST_ERR=$BATS_FILE_TMPDIR/profile.err
	[ -f "$BATS_FILE_TMPDIR/profile.status" ] || {
		echo "setup_file ran no profile" >&2
		return 1
	}
	PROFILE_STATUS=$(cat "$BATS_FILE_TMPDIR/profile.status")
	[ "$PROFILE_STATUS" -eq 0 ]
}

# Keep what the tests check of each noted workload's /proc (maps, comm,
# PID namespace, every thread's NSpid line) in $BATS_FILE_TMPDIR/proc/PID,
# so that setup_file can stop the workloads before the tests run.
snapshot_workloads() {
	local label pid rest d t
	while read -r label pid rest; do
		[[ "$pid" =~ ^[0-9]+$ ]] || continue
		d=$BATS_FILE_TMPDIR/proc/$pid
		mkdir -p "$d"
		cat "/proc/$pid/maps" >"$d/maps" 2>/dev/null || true
		cat "/proc/$pid/comm" >"$d/comm" 2>/dev/null || true
		readlink "/proc/$pid/ns/pid" >"$d/pidns" 2>/dev/null || true
		for t in /proc/"$pid"/task/*; do
			grep '^NSpid:' "$t/status" 2>/dev/null || true
		done >"$d/nspid"
	done <"$BATS_FILE_TMPDIR/workloads"
}

# Directory of PID's snapshot.
snapshot_of() {
	echo "$BATS_FILE_TMPDIR/proc/$1"
}
