#!/usr/bin/env bats
# One test per interpreter: a known stack in the main thread and in two
# worker threads; caller order, qualnames and executing lines.

load helpers

# Check the folded output of nested.py for interpreter $1 with qualname
# style $2 ("qual" on 3.11+, "name" before).
check_nested() {
	local py=$1 style=$2 f fe cls=""
	f=$WORKLOADS/nested.py
	fe=$(re_escape "$f")
	[ "$style" = qual ] && cls='Worker\.'
	start_bg "$py" "$f" 6 2
	wait_started 0.7
	profile -F 199 -d 3 -p "$LAST_PID" -f folded
	[ "$PROFILE_STATUS" -eq 0 ]

	local o m i h
	o=$(line_of outer_call "$f"); m=$(line_of middle_call "$f"); h=$(line_of inner_hot "$f")
	local chain="${cls}outer \\($fe:$o\\);${cls}middle \\($fe:$m\\);${cls}inner_leaf \\($fe:$h\\) [0-9]+$"
	# Main thread: process frame, <module>, main, then the chain.
	assert_folded_has "^[^;]+ \\($LAST_PID\\);<module> \\($fe:[0-9]+\\);main \\($fe:$(line_of main_call "$f")\\);$chain"
	# Worker threads: threading's bootstrap frames, thread_main, the chain.
	assert_folded_has "^[^;]+ \\($LAST_PID\\);.*;thread_main \\($fe:$(line_of thread_call "$f")\\);$chain"
	# Nothing but this process, and no shim or unreadable frames.
	! grep -v "($LAST_PID);" "$TEST_OUT"
	! grep -Eq 'unreadable|trampoline|shim' "$TEST_OUT"
}

@test "CPython 3.8: stacks, names and lines" {
	require_root; require_python 3.8
	check_nested "$PY" name
}

@test "CPython 3.9: stacks, names and lines" {
	require_root; require_python 3.9
	check_nested "$PY" name
}

@test "CPython 3.10: stacks, names and lines" {
	require_root; require_python 3.10
	check_nested "$PY" name
}

@test "CPython 3.11: stacks, qualnames and lines" {
	require_root; require_python 3.11
	check_nested "$PY" qual
}

@test "CPython 3.12: stacks, qualnames and lines" {
	require_root; require_python 3.12
	check_nested "$PY" qual
}

@test "CPython 3.13: stacks, qualnames and lines" {
	require_root; require_python 3.13
	check_nested "$PY" qual
}

@test "Debian's static, stripped /usr/bin/python3.11" {
	require_root
	[ -x /usr/bin/python3.11 ] || skip "/usr/bin/python3.11 not installed"
	check_nested /usr/bin/python3.11 qual
}
