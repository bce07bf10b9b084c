#!/usr/bin/env bats
# Free-threaded CPython ("3.14t", "3.13t"): thread states, frames,
# qualnames and executing lines of threads running truly in parallel,
# including, on 3.14t, frames that execute thread-local copies of the
# bytecode (tlbc), where instr_ptr points into co_tlbc->entries[tlbc_index]
# instead of the code object's co_code_adaptive.
#
# The real interpreters come from tools/build-cpython-ft (make test-slow);
# without them those tests skip. A stand-in process that lays out 3.14t's
# structures (tests/workloads/fake_py314t.c) always runs.

load helpers

# Sets FT_PY to the free-threaded CPython $1 built by tools/build-cpython-ft,
# or skips the test with a visible reason.
require_ft_python() {
	FT_PY=$BATS_TEST_DIRNAME/.cache/cpython-$1t/install/bin/python$1t
	[ -x "$FT_PY" ] ||
		skip "free-threaded CPython $1 not built: run tools/build-cpython-ft $1 (make test-slow)"
}

# The interpreter really is free-threaded and runs without the GIL.
check_no_gil() {
	run env PYTHON_GIL=0 "$FT_PY" -c 'import sys, sysconfig
print(sysconfig.get_config_var("Py_GIL_DISABLED"), sys._is_gil_enabled())'
	[ "$status" -eq 0 ]
	[ "$output" = "1 False" ]
}

# The TIDs of process $1, in TIDS: taken before profiling, while it runs.
get_tids() {
	TIDS=$(ls /proc/"$1"/task)
	[ "$(echo "$TIDS" | wc -w)" -ge 3 ]
}

# Count the threads (of TIDS) of $1 whose own stack (--threads output)
# matches the extended regex $2, which starts right after the thread's frame.
threads_matching() {
	local pid=$1 re=$2 tid n=0
	for tid in $TIDS; do
		grep -Eq "^[^;]+ \\($pid\\);[^;]+ \\(tid $tid(, GIL [a-z]+)?\\);$re" "$TEST_OUT" && n=$((n + 1))
	done
	echo "$n"
}

# nested.py on a t build: the main thread and both workers, each with its
# own exact stack: caller order, qualnames, call lines and the hot line.
check_ft_nested() {
	local pid=$1 f=$WORKLOADS/nested.py fe o m h chain
	fe=$(re_file "$f")
	o=$(line_of outer_call "$f"); m=$(line_of middle_call "$f"); h=$(line_of inner_hot "$f")
	chain="Worker\\.outer \\($fe:$o\\);Worker\\.middle \\($fe:$m\\);Worker\\.inner_leaf \\($fe:$h\\) [0-9]+$"
	[ "$(threads_matching "$pid" "<module> \\($fe:[0-9]+\\);main \\($fe:$(line_of main_call "$f")\\);$chain")" -eq 1 ] || {
		echo "main thread: no exact stack" >&2; cat "$TEST_OUT" >&2; return 1; }
	[ "$(threads_matching "$pid" ".*;thread_main \\($fe:$(line_of thread_call "$f")\\);$chain")" -eq 2 ] || {
		echo "workers: not both with the exact stack" >&2; cat "$TEST_OUT" >&2; return 1; }
	# Only this process; no shim, unreadable or line-less frames. ('!'
	# would not fail a test before its last line: errexit ignores it.)
	grep -v "($pid);" "$TEST_OUT" && return 1
	grep -Eq 'unreadable|trampoline|shim' "$TEST_OUT" && return 1
	grep -Eq "\\($fe\\)" "$TEST_OUT" && return 1
	return 0
}

# nested.py, 3 threads in parallel: every thread's exact stack.
check_ft_version() {
	check_no_gil
	PYTHON_GIL=0 start_bg "$FT_PY" "$WORKLOADS/nested.py" 6 2
	wait_started 1
	get_tids "$LAST_PID"
	profile -v -F 199 -d 2 -p "$LAST_PID" -f folded --threads
	[ "$PROFILE_STATUS" -eq 0 ]
	grep -q "CPython $(re_escape "$1")t.*debug offsets" "$TEST_ERR"
	check_ft_nested "$LAST_PID"
}

@test "3.13t: each thread's stack, qualnames and executing lines" {
	require_root; require_ft_python 3.13
	check_ft_version 3.13
}

@test "3.14t: each thread's stack, qualnames and executing lines" {
	require_root; require_ft_python 3.14
	check_ft_version 3.14
}

@test "3.14t: after warm-up, workers run thread-local bytecode and lines stay exact" {
	require_root; require_ft_python 3.14
	command -v gdb >/dev/null || skip "gdb not installed (make deps)"
	PYTHON_GIL=0 start_bg "$FT_PY" "$WORKLOADS/nested.py" 12 2
	# Millions of loop iterations: specialized, in each thread's copy.
	wait_started 3
	get_tids "$LAST_PID"
	profile -F 199 -d 2 -p "$LAST_PID" -f folded --threads
	[ "$PROFILE_STATUS" -eq 0 ]
	check_ft_nested "$LAST_PID"
	# Independent proof, from the interpreter's debug info: frames of
	# both workers point outside co_code_adaptive, into copy N > 0.
	run timeout 60 gdb -p "$LAST_PID" -batch -nx -x "$WORKLOADS/tlbc_frames.gdb.py"
	echo "$output" | grep '^frame ' >&2 || true
	[ "$(echo "$output" | grep -E '^frame tid=[0-9]+ tlbc=[1-9][0-9]* adaptive=0$' |
	     cut -d' ' -f2 | sort -u | wc -l)" -ge 2 ]
	# The main thread uses the code objects' own bytecode (index 0).
	echo "$output" | grep -Eq "^frame tid=$LAST_PID tlbc=0 adaptive=1$"
}

@test "3.14t layout stand-in: tlbc frames, tagged entry frames, free-threaded strs" {
	require_root
	command -v gcc >/dev/null || skip "gcc not installed"
	local fake=$BATS_TEST_TMPDIR/fake_py314t f='([^;()]*/)?nésted\.py'
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -pthread \
		"$WORKLOADS/fake_py314t.c" -o "$fake"
	start_bg "$fake" 30	# killed at teardown
	wait_started 0.5
	get_tids "$LAST_PID"
	profile -v -F 199 -d 2 -p "$LAST_PID" -f folded --threads
	[ "$PROFILE_STATUS" -eq 0 ]
	grep -q "CPython 3\\.14t.*debug offsets" "$TEST_ERR"
	# Main thread: co_code_adaptive (index 0), an entry frame mid-stack.
	[ "$(threads_matching "$LAST_PID" "<module> \\($f:4\\);main \\($f:12\\);Worker\\.outer \\($f:31\\);Worker\\.middle \\($f:41\\);Worker\\.inner_leaf \\($f:55\\) [0-9]+$")" -eq 1 ]
	# Worker N: every frame in its own copy (index N), leaf at line 55+N.
	local n
	for n in 1 2; do
		[ "$(threads_matching "$LAST_PID" "thread_main \\($f:21\\);Worker\\.outer \\($f:31\\);Worker\\.middle \\($f:41\\);Worker\\.inner_leaf \\($f:$((55 + n))\\) [0-9]+$")" -eq 1 ]
	done
	grep -v "($LAST_PID);" "$TEST_OUT" && return 1
	grep -Eq 'unreadable|\(/fake/[^:]*\)' "$TEST_OUT" && return 1
	return 0
}
