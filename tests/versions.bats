#!/usr/bin/env bats
# One test per interpreter: a known stack in the main thread and in two
# worker threads; caller order, qualnames and executing lines. Each
# version is pyenv's build, else the host's /usr/bin/pythonX.Y, else
# Debian's in a root that tests/containers.bats also uses (bullseye 2.7
# and 3.9, trixie 3.13, sid 3.14 and 3.15), run there as in a container:
# the checks are the same, on the script's path as the target sees it.

load helpers

# nested_stacks PID STYLE SCRIPT: profile nested.py running as PID and
# check its folded stacks. STYLE is "qual" (co_qualname, 3.11+:
# Worker.outer) or "name" (co_name, before 3.11: outer); SCRIPT is
# nested.py's path as the target sees it.
nested_stacks() {
	local pid=$1 style=$2 f fe cls=""
	f=$WORKLOADS/nested.py
	fe=$(re_file "$3")
	[ "$style" = qual ] && cls='Worker\.'
	profile -F 199 -d 3 -p "$pid" -f folded
	[ "$PROFILE_STATUS" -eq 0 ] || { show_profile; return 1; }

	local o m h
	o=$(line_of outer_call "$f")
	m=$(line_of middle_call "$f")
	h=$(line_of inner_hot "$f")
	# Root first: each frame's line is the call it is executing, the
	# leaf's is the hot loop.
	local chain="${cls}outer \\($fe:$o\\);${cls}middle \\($fe:$m\\);${cls}inner_leaf \\($fe:$h\\) [0-9]+$"
	# Main thread: process frame, <module>, main, then the chain.
	assert_folded_has "^[^;]+ \\($pid\\);<module> \\($fe:[0-9]+\\);main \\($fe:$(line_of main_call "$f")\\);$chain"
	# Worker threads: threading's bootstrap frames, thread_main, the chain.
	assert_folded_has "^[^;]+ \\($pid\\);([^;]+;)*thread_main \\($fe:$(line_of thread_call "$f")\\);$chain"
	# The other naming style never shows up.
	if [ "$style" = qual ]; then
		assert_folded_lacks ";(outer|middle|inner_leaf) \\("
	else
		assert_folded_lacks "Worker\\."
	fi
	# Only this process, and no placeholder frames.
	refute grep -v "^[^;]* ($pid);" "$TEST_OUT"
	assert_folded_lacks 'unreadable|unknown|trampoline|shim|\[truncated\]'
	grep -q 'samples' "$TEST_ERR" && grep -q 'lost' "$TEST_ERR"
}

# check_nested STYLE: nested.py with two workers under $PY (in $PY_ROOT
# when set: see require_version).
check_nested() {
	echo "# $PY${PY_ROOT:+ in $PY_ROOT}" >&3
	start_python nested.py 30 2
	wait_busy "$LAST_PID"
	retry 3 nested_stacks "$LAST_PID" "$1" "$SCRIPT_SEEN"
}

@test "CPython 2.7: stacks, names and lines" {
	require_root; require_version 2.7
	check_nested name
}

@test "CPython 3.6: stacks, names and lines" {
	require_root; require_version 3.6
	check_nested name
}

@test "CPython 3.7: stacks, names and lines" {
	require_root; require_version 3.7
	check_nested name
}

@test "CPython 3.8: stacks, names and lines" {
	require_root; require_version 3.8
	check_nested name
}

@test "CPython 3.9: stacks, names and lines" {
	require_root; require_version 3.9
	check_nested name
}

@test "CPython 3.10: stacks, names and lines" {
	require_root; require_version 3.10
	check_nested name
}

@test "CPython 3.11: stacks, qualnames and lines" {
	require_root; require_version 3.11
	check_nested qual
}

@test "CPython 3.12: stacks, qualnames and lines" {
	require_root; require_version 3.12
	check_nested qual
}

@test "CPython 3.13: stacks, qualnames and lines" {
	require_root; require_version 3.13
	check_nested qual
}

@test "CPython 3.14: stacks, qualnames and lines" {
	require_root; require_version 3.14
	check_nested qual
}

@test "CPython 3.15: stacks, qualnames and lines" {
	require_root; require_version 3.15
	check_nested qual
}

@test "Debian's static, stripped /usr/bin/python3 (3.11 on bookworm)" {
	require_root
	PY=$(debian_python) || skip "/usr/bin/python3 not installed"
	PY_ROOT=""
	python_vars
	if [ -n "$QUAL" ]; then
		check_nested qual
	else
		check_nested name
	fi
}
