#!/usr/bin/env bats
# The two frame walkers: bpf_loop's (5.17+) and the tail-call one that
# kernels without bpf_loop load (PYBPFPROF_TAIL_WALKER=1 forces it here).
# Both profile the same processes at the same time and must write the
# same stacks. make test-kernels runs the tail-call walker on a 5.10
# kernel, where it is the only one.

load helpers

setup() {
	require_root
	require_test_python
}

# both OUT_LOOP OUT_TAIL ARGS...: the two walkers at once, same ARGS.
both() {
	local a=$1 b=$2
	shift 2
	"$PYBPFPROF" "$@" -f folded -o "$a" 2>"$a.err" &
	local p1=$!
	PYBPFPROF_TAIL_WALKER=1 "$PYBPFPROF" "$@" -f folded -o "$b" 2>"$b.err" &
	local p2=$!
	wait "$p1"
	wait "$p2"
	grep -q "PYBPFPROF_TAIL_WALKER=1: frames are walked in tail-called chunks" "$b.err"
}

# stacks FILE MIN: the stacks sampled at least MIN times, without counts.
stacks() {
	awk -v min="$2" '$NF >= min { $NF = ""; print }' "$1" | sort
}

same_stacks() {
	local a=$BATS_TEST_TMPDIR/loop.folded b=$BATS_TEST_TMPDIR/tail.folded
	both "$a" "$b" -F 499 -d 3 "$@"
	# Every stack one walker saw 5 times or more, the other saw too.
	comm -23 <(stacks "$a" 5) <(stacks "$b" 1) >"$BATS_TEST_TMPDIR/only_loop"
	comm -23 <(stacks "$b" 5) <(stacks "$a" 1) >"$BATS_TEST_TMPDIR/only_tail"
	if [ -s "$BATS_TEST_TMPDIR/only_loop" ] || [ -s "$BATS_TEST_TMPDIR/only_tail" ]; then
		echo "only bpf_loop's:" >&2; cut -c1-300 "$BATS_TEST_TMPDIR/only_loop" >&2
		echo "only the tail calls':" >&2; cut -c1-300 "$BATS_TEST_TMPDIR/only_tail" >&2
		return 1
	fi
	[ -n "$(stacks "$a" 5)" ]
}

@test "both walkers: the same stacks of a main and two worker threads, and of a recursion 200 deep" {
	local f=$WORKLOADS/nested.py
	start_workload "$PY" "$f" 30 2
	local n=$LAST_PID
	start_workload "$PY" "$WORKLOADS/deep.py" 200 30
	local d=$LAST_PID
	wait_busy "$n"
	wait_busy "$d"
	retry 3 same_stacks -p "$n" -p "$d"
	TEST_OUT=$BATS_TEST_TMPDIR/tail.folded
	assert_folded_has "^[^;]+ \\($n\\);([^;]+;)*thread_main \\($(re_file "$f"):$(line_of thread_call "$f")\\);"
	# The recursion is whole: <module> and 200 frames of recurse (its
	# most sampled stack: the first samples may catch it still recursing).
	line=$(grep "($d);" "$TEST_OUT" | sort -k2 -t' ' -n | awk '{ print $NF, $0 }' | sort -n | tail -1 | cut -d' ' -f2-)
	[ "$(tr ';' '\n' <<<"${line% *}" | grep -c '^recurse ')" -eq 200 ]
}

@test "both walkers: a stack of 1100 frames is cut at --max-depth 1024 alike" {
	start_workload "$PY" "$WORKLOADS/deep.py" 1100 30
	wait_busy "$LAST_PID"
	retry 3 same_stacks -p "$LAST_PID" --max-depth 1024
	TEST_OUT=$BATS_TEST_TMPDIR/tail.folded
	# The process frame, [truncated], then 1024 frames.
	line=$(grep -m1 "($LAST_PID);\\[truncated\\];" "$TEST_OUT")
	[ "$(tr ';' '\n' <<<"${line% *}" | wc -l)" -eq 1026 ]
}

@test "both walkers: Python 3.9's frame objects, one read each" {
	PY=$(find_python 3.9) || skip "python 3.9 not installed (looked in $(pyenv_root)/versions)"
	start_workload "$PY" "$WORKLOADS/nested.py" 30 2
	wait_busy "$LAST_PID"
	retry 3 same_stacks -p "$LAST_PID"
}
