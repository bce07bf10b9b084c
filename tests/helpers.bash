# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Shared helpers for the bats integration tests.
# shellcheck shell=bash disable=SC2034  # PY, PYV, CLS, ... are for the .bats files

PYBPFPROF=${PYBPFPROF:-$BATS_TEST_DIRNAME/../build/pybpfprof}

# Under `sudo make test`, pybpfprof would run each "-- COMMAND" as sudo's
# user, who can reach neither bats' temporary directories nor pyenv under
# /root: the tests run as root's own shell would. A test about SUDO_UID
# sets it itself.
unset SUDO_UID SUDO_GID SUDO_USER
WORKLOADS=$BATS_TEST_DIRNAME/workloads
BG_PIDS=()

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

# --- which interpreters the tests run --------------------------------
# A test that is not about one CPython version runs one modern
# interpreter: test_python. A test about version X.Y runs pyenv's X.Y,
# else the host's /usr/bin/pythonX.Y, else the one in a Debian root the
# tests build (require_version). A user's fresh machine has no pyenv, only
# Debian's python3 (3.11 on bookworm, 3.13 on trixie).
#
# PYBPFPROF_TEST_NO_PYENV=1: behave as on such a machine. No pyenv
# interpreter is found and pyenv's directories leave PATH, so that
# `python3` is Debian's.
# PYBPFPROF_TEST_PYTHON=PATH: the interpreter of the tests that are not
# about a version (to try them on another version).

if [ -n "${PYBPFPROF_TEST_NO_PYENV:-}" ]; then
	_path=()
	IFS=: read -ra _dirs <<<"$PATH"
	for _d in "${_dirs[@]}"; do
		case "$_d/" in
		*/.pyenv/* | "${PYENV_ROOT:-/.pyenv}"/*) ;;
		*) _path+=("$_d") ;;
		esac
	done
	PATH=$(IFS=:; echo "${_path[*]}")
	unset PYENV_ROOT PYENV_VERSION _path _dirs _d
fi

# pyenv's root: the first of $PYENV_ROOT, `pyenv root` (when pyenv is on
# PATH) and /root/.pyenv that has a versions/ directory; pyenv need not
# be on PATH. Fails under PYBPFPROF_TEST_NO_PYENV.
pyenv_root() {
	[ -z "${PYBPFPROF_TEST_NO_PYENV:-}" ] || return 1
	any_pyenv_root
}

# pyenv_root, whatever PYBPFPROF_TEST_NO_PYENV says.
any_pyenv_root() {
	local r
	for r in "${PYENV_ROOT:-}" "$(pyenv root 2>/dev/null)" /root/.pyenv; do
		if [ -n "$r" ] && [ -d "$r/versions" ]; then
			echo "$r"
			return 0
		fi
	done
	echo /root/.pyenv
}

# Where find_python looks, for skip messages.
pyenv_where() {
	if [ -z "${PYBPFPROF_TEST_NO_PYENV:-}" ]; then
		echo "$(any_pyenv_root)/versions"
	else
		echo "$(any_pyenv_root)/versions, hidden by PYBPFPROF_TEST_NO_PYENV"
	fi
}

# Path of pyenv's CPython X.Y (the newest X.Y.Z release installed), or
# nothing. Free-threaded ("3.13.0t") and other variant builds do not count.
find_python() {
	local v=$1 root d best=""
	[ -n "$v" ] || return 1
	root=$(pyenv_root) || return 1
	for d in "$root"/versions/"$v".*; do
		[[ ${d##*/} =~ ^${v//./\\.}\.[0-9]+((a|b|rc)[0-9]+)?$ ]] || continue
		[ -x "$d/bin/python$v" ] || continue
		best=$(printf '%s\n%s\n' "$best" "$d" | sed '/^$/d' | sort -V | tail -1)
	done
	[ -n "$best" ] || return 1
	echo "$best/bin/python$v"
}

# The newest X.Y of pyenv's CPython 3 releases, or nothing.
newest_pyenv3() {
	local root d v best=""
	root=$(pyenv_root) || return 1
	for d in "$root"/versions/3.*; do
		[[ ${d##*/} =~ ^(3\.[0-9]+)\.[0-9]+((a|b|rc)[0-9]+)?$ ]] || continue
		v=${BASH_REMATCH[1]}
		[ -x "$d/bin/python$v" ] || continue
		best=$(printf '%s\n%s\n' "$best" "$v" | sed '/^$/d' | sort -V | tail -1)
	done
	[ -n "$best" ] || return 1
	echo "$best"
}

# Debian's python3 on this machine with its symlink resolved
# (/usr/bin/python3.11 on bookworm), or nothing.
debian_python() {
	local py
	py=$(readlink -f /usr/bin/python3 2>/dev/null) && [ -x "$py" ] || return 1
	echo "$py"
}

# Path of the interpreter of the tests that are not about a version:
# $PYBPFPROF_TEST_PYTHON, else pyenv's 3.12, else pyenv's newest 3.x,
# else Debian's python3. Fails when there is none. For setup_file, which
# cannot skip; a test calls require_test_python.
test_python() {
	if [ -n "${PYBPFPROF_TEST_PYTHON:-}" ]; then
		[ -x "$PYBPFPROF_TEST_PYTHON" ] || return 1
		echo "$PYBPFPROF_TEST_PYTHON"
		return 0
	fi
	find_python 3.12 || find_python "$(newest_pyenv3)" || debian_python
}

# Why test_python found nothing, for skip messages.
no_test_python() {
	if [ -n "${PYBPFPROF_TEST_PYTHON:-}" ]; then
		echo "PYBPFPROF_TEST_PYTHON=$PYBPFPROF_TEST_PYTHON is not executable"
	else
		echo "no CPython 3 in pyenv ($(pyenv_where)) and no /usr/bin/python3"
	fi
}

# Is version X.Y (or X.Y.Z) $1 at least $2?
version_ge() {
	[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]
}

# X.Y of the interpreter PYTHON (on the host).
version_of() {
	"$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'
}

# python_vars: from PY, set PYV (its X.Y); PYCOMM, its process name (the
# executable's name, cut to 15 bytes as the kernel does); QUAL, what a
# method's name starts with ("Worker." where frames carry qualnames,
# 3.11+, else ""); and CLS, QUAL as a regex.
python_vars() {
	PYV=$(version_of "$PY") || {
		echo "cannot run $PY" >&2
		return 1
	}
	PYCOMM=$(basename "$PY" | cut -c1-15)
	QUAL="" CLS=""
	if version_ge "$PYV" 3.11; then
		QUAL=Worker. CLS='Worker\.'
	fi
}

# require_test_python: for tests that need one modern interpreter, any:
# PY is test_python's, with python_vars set, or the test skips.
require_test_python() {
	PY=$(test_python) || skip "$(no_test_python)"
	python_vars
}

# Sets PY to pyenv's CPython X.Y, or skips the test with a visible
# reason. For tests about pyenv's builds; a test about a version uses
# require_version.
require_python() {
	PY=$(find_python "$1") || skip "pyenv's CPython $1 not installed (looked in $(pyenv_where))"
}

# Debian roots that tests build with tools/make-rootfs, and the
# interpreters in them: NAME SUITE PACKAGE... (packages pythonX.Y give
# /usr/bin/pythonX.Y). A root is built once and cached; a root built
# with another package list is rebuilt, so every user takes it from here.
DEBIAN_ROOTS=(
	"trixie trixie python3.13"
	"sid sid python3.14 python3.15 libpython3.15-dev"
	"bullseye bullseye python2.7 python3.9"
)

# Name of the Debian root that has /usr/bin/pythonX.Y, or nothing.
debian_root_of() {
	local spec
	for spec in "${DEBIAN_ROOTS[@]}"; do
		if [[ " ${spec#* * } " == *" python$1 "* ]]; then
			echo "${spec%% *}"
			return 0
		fi
	done
	return 1
}

# Build the Debian root NAME of DEBIAN_ROOTS, or find it built.
build_debian_root() {
	local spec
	for spec in "${DEBIAN_ROOTS[@]}"; do
		if [ "${spec%% *}" = "$1" ]; then
			# shellcheck disable=SC2086
			build_rootfs $spec
			return 0
		fi
	done
	echo "no Debian root $1 in DEBIAN_ROOTS" >&2
	return 1
}

# require_version X.Y: for a test about CPython X.Y. Sets PY to it and
# PY_ROOT to the Debian root it runs in ("" on the host): pyenv's X.Y,
# else the host's /usr/bin/pythonX.Y, else /usr/bin/pythonX.Y in the
# Debian root that has it (built now if need be, then cached). Skips
# naming what is missing. start_python starts a workload either way.
require_version() {
	local v=$1 name
	PY_ROOT=""
	PY=$(find_python "$v") && return 0
	if [ -x "/usr/bin/python$v" ]; then
		PY=/usr/bin/python$v
		return 0
	fi
	name=$(debian_root_of "$v") ||
		skip "CPython $v: not in pyenv ($(pyenv_where)), no /usr/bin/python$v, and no Debian root of the tests has it"
	require_root
	build_debian_root "$name"
	require_rootfs "$name"
	PY=/usr/bin/python$v PY_ROOT=$ROOTFS
	[ -x "$PY_ROOT$PY" ] || {
		echo "Debian root $name has no $PY" >&2
		return 1
	}
}

# start_python SCRIPT ARGS...: start $PY on tests/workloads/SCRIPT, on the
# host or, when PY_ROOT is set, inside that root (the script copied to
# /work there, started as a container by start_in_root). LAST_PID is the
# interpreter's host PID, SCRIPT_SEEN the script's path as it sees it.
start_python() {
	local s=$1
	shift
	if [ -z "${PY_ROOT:-}" ]; then
		SCRIPT_SEEN=$WORKLOADS/$s
		start_workload "$PY" "$SCRIPT_SEEN" "$@"
	else
		put_in_root "$PY_ROOT" "$WORKLOADS/$s"
		SCRIPT_SEEN=/work/$s
		start_in_root "$PY_ROOT" "$PY" "$SCRIPT_SEEN" "$@"
	fi
}

# put_in_root ROOT FILE: FILE as ROOT/work/NAME, replaced by a rename: an
# interpreter of that root that is still reading the old copy (just
# started, say) never sees a truncated one, which it would run as an
# empty script and exit.
put_in_root() {
	local dst=$1/work/${2##*/}
	mkdir -p "$1/work"
	cmp -s "$2" "$dst" && return 0
	cp "$2" "$dst.tmp.$$" && mv -f "$dst.tmp.$$" "$dst"
}

# python_argv: set PY_ARGV to the command that runs $PY, on the host or
# inside PY_ROOT (private PID and mount namespaces, chroot: a command
# whose descendants include the interpreter). Paths given to it are the
# root's.
python_argv() {
	if [ -z "${PY_ROOT:-}" ]; then
		PY_ARGV=("$PY")
	else
		PY_ARGV=(unshare --pid --mount --fork --propagation private
			--mount-proc="$PY_ROOT/proc" chroot "$PY_ROOT"
			/usr/bin/env -i PATH=/usr/bin:/bin "$PY")
	fi
}

# run_python ARGS...: run $PY with ARGS in the foreground, as python_argv
# says; stdin, stdout and stderr pass through.
run_python() {
	python_argv
	"${PY_ARGV[@]}" "$@"
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
	kill_bg_all
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

# wait_sampling PID [TIMEOUT]: wait until the profiler PID samples (its
# perf events are open, after the BPF load), so a process started next is
# one it sees start. After TIMEOUT seconds (default 15) it returns all the
# same: the assertions decide.
wait_sampling() {
	local pid=$1 timeout=${2:-15} i
	for ((i = 0; i < timeout * 20; i++)); do
		ls -l "/proc/$pid/fd" 2>/dev/null | grep -q perf_event && return 0
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	echo "wait_sampling: pid $pid did not start sampling in ${timeout} s" >&2
}

# formats_record DIR EXT: the runs the structured formats' tests read
# back (pprof, speedscope), each with a folded output of the same run
# beside it as the reference. nested.py and workloads/hostile_writer.py
# (names that break writers; it writes them to DIR/hostile.names) are
# profiled 2 s at 199 Hz into DIR/p.EXT and DIR/p.folded, then nested.py
# alone with --threads into DIR/t.EXT and DIR/t.folded; each run's stderr
# and status in DIR/{p,t}.{err,status}. Sets FORMATS_PID and
# FORMATS_HOSTILE (stop them with formats_stop), or FORMATS_SKIP to why
# the runs cannot be made here.
formats_record() {
	local dir=$1 ext=$2 py status
	FORMATS_SKIP="" FORMATS_PID="" FORMATS_HOSTILE=""
	if [ "$(id -u)" -ne 0 ]; then
		FORMATS_SKIP="needs root"
		return 0
	fi
	if ! py=$(test_python); then
		FORMATS_SKIP=$(no_test_python)
		return 0
	fi
	if ! version_ge "$(version_of "$py")" 3.11; then
		FORMATS_SKIP="the hostile process needs CPython 3.11+ (co_qualname); $py is $(version_of "$py")"
		return 0
	fi
	"$py" "$WORKLOADS/nested.py" 8 1 &
	FORMATS_PID=$!
	"$py" "$WORKLOADS/hostile_writer.py" 8 "$dir/hostile.names" &
	FORMATS_HOSTILE=$!
	sleep 0.7
	# --full-filenames: the folded copy names files as the formats do, absolute.
	status=0
	"$PYBPFPROF" -F 199 -d 2 --full-filenames -p "$FORMATS_PID" -p "$FORMATS_HOSTILE" \
		-o "$dir/p.$ext" -o "$dir/p.folded" 2>"$dir/p.err" || status=$?
	echo "$status" >"$dir/p.status"
	status=0
	"$PYBPFPROF" -F 199 -d 2 --full-filenames --threads -p "$FORMATS_PID" \
		-o "$dir/t.$ext" -o "$dir/t.folded" 2>"$dir/t.err" || status=$?
	echo "$status" >"$dir/t.status"
}

# formats_stop PID...: end formats_record's workloads.
formats_stop() {
	local p
	for p in "$@"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# The SVG tests' browser: Chromium driven by tests/browser/check_svg.mjs
# (playwright-core, from the lock file there).
BROWSER_DIR=$BATS_TEST_DIRNAME/browser
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

# browser_install: in setup_file, install the driver once (npm ci, no
# browser download: Debian's chromium is the browser); its log for
# require_browser.
browser_install() {
	if command -v node >/dev/null && command -v npm >/dev/null &&
	   [ -x "$CHROMIUM" ] && [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ]; then
		(cd "$BROWSER_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
			npm ci --no-audit --no-fund) >"$BATS_FILE_TMPDIR/npm.log" 2>&1 || true
	fi
}

# Skips, with the reason, when the browser or its driver is missing; fails
# when the driver's install did.
require_browser() {
	command -v node >/dev/null || skip "node is not installed"
	[ -x "$CHROMIUM" ] || skip "chromium is not installed ($CHROMIUM)"
	if [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ]; then
		cat "$BATS_FILE_TMPDIR/npm.log" >&2 2>/dev/null || true
		echo "tests/browser: 'npm ci' did not install playwright-core" >&2
		return 1
	fi
}

# summary_rate STDERR_FILE: the rate, in Hz, the run's summary line
# reported ("pybpfprof: 2.0 s at 193.3 Hz: ..."). The outputs carry the
# rate measured, which on a loaded VM can be well off the one asked for;
# they must carry this one.
summary_rate() {
	sed -n 's/^pybpfprof: [0-9.]* s at \([0-9.]*\) Hz: .*/\1/p' "$1" | grep . ||
		{ echo "summary_rate: no summary line in $1" >&2; return 1; }
}

# near_asked HZ ASKED: HZ is near the rate asked for (a unit slip or a
# rate computed from the wrong clock is off by far more than half).
near_asked() {
	awk -v hz="$1" -v asked="$2" 'BEGIN { exit !(hz > asked * 0.5 && hz < asked * 1.5) }' ||
		{ echo "rate $1 Hz is not near the $2 Hz asked for" >&2; return 1; }
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
