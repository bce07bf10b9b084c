# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Shared helpers for the bats integration tests.

PYBPFPROF=${PYBPFPROF:-$BATS_TEST_DIRNAME/../build/pybpfprof}
WORKLOADS=$BATS_TEST_DIRNAME/workloads
PYENV_ROOT=${PYENV_ROOT:-/root/.pyenv}
BG_PIDS=()

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

# Path of pyenv's CPython X.Y, or nothing.
find_python() {
	local v=$1 p
	for p in "$PYENV_ROOT"/versions/"$v".*/bin/python"$v"; do
		if [ -x "$p" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# Sets PY, or skips the test with a visible reason.
require_python() {
	PY=$(find_python "$1") || skip "CPython $1 not installed under $PYENV_ROOT/versions"
}

# Start a background process we own; its PID is in LAST_PID.
start_bg() {
	"$@" &
	LAST_PID=$!
	BG_PIDS+=("$LAST_PID")
}

# Kill only what this test started, by PID.
kill_bg() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	BG_PIDS=()
}

teardown() {
	kill_bg
}

# Line number of the "# LINE:MARKER" comment in FILE.
line_of() {
	grep -n "# LINE:$1\b" "$2" | head -1 | cut -d: -f1
}

# Escape a string for use inside an extended regex.
re_escape() {
	printf '%s' "$1" | sed -e 's/[][\\.^$*+?(){}|]/\\&/g'
}

# Wait until PID has mapped its interpreter (so discovery sees it whole).
wait_started() {
	sleep "${1:-0.5}"
}

# Profile: run pybpfprof with ARGS, output in $TEST_OUT, stderr in $TEST_ERR.
profile() {
	TEST_OUT=$BATS_TEST_TMPDIR/out
	TEST_ERR=$BATS_TEST_TMPDIR/err
	"$PYBPFPROF" "$@" >"$TEST_OUT" 2>"$TEST_ERR"
	PROFILE_STATUS=$?
}

# Assert that the folded output has a line matching the extended regex.
assert_folded_has() {
	if ! grep -Eq -- "$1" "$TEST_OUT"; then
		echo "no folded line matches: $1" >&2
		echo "--- output (first 20 lines):" >&2
		head -20 "$TEST_OUT" | cut -c1-400 >&2
		echo "--- stderr:" >&2
		cat "$TEST_ERR" >&2
		return 1
	fi
}
