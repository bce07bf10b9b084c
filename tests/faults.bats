#!/usr/bin/env bats
# Faults in targets never crash the profiler or lose what it sampled:
# exits, exec, fork storms, PID reuse, thread churn, 1000 threads,
# 1000-deep recursion, and targets that corrupt their own interpreter.

load helpers

setup() {
	require_root
	require_test_python
	F=$WORKLOADS/faults.py
	FE=$(re_file "$F")
	SPIN="spin \\($FE:$(line_of spin_hot "$F")\\) [0-9]+$"
	# The process frame: the interpreter's comm.
	COMM=$(re_escape "$PYCOMM")
}

# Targets that overwrite interpreter structures run on 3.11+ only.
require_py311() {
	version_ge "$PYV" 3.11 ||
		skip "faults.py $1 overwrites CPython 3.11+ structures; $PY is $PYV"
}

@test "a target that exits mid-run keeps its samples and names" {
	"$PYBPFPROF" -F 199 -d 4 -f folded -o "$BATS_TEST_TMPDIR/p.folded" 2>"$BATS_TEST_TMPDIR/err" &
	local prof=$!
	sleep 1
	"$PY" "$F" spin 1.5 &
	local pid=$!
	wait "$pid"
	wait "$prof"
	TEST_OUT=$BATS_TEST_TMPDIR/p.folded TEST_ERR=$BATS_TEST_TMPDIR/err \
		assert_folded_has "^$COMM \\($pid\\);<module> .*;$SPIN"
}

@test "exec into another Python version: both images profiled under one PID" {
	local other="" c spin=$SPIN first second
	# A second version on the host: Debian's python3 or one of pyenv's.
	for c in "$(debian_python)" "$(find_python 3.11)" "$(find_python 3.13)" \
		"$(find_python 3.10)"; do
		if [ -n "$c" ] && [ "$(version_of "$c")" != "$PYV" ]; then
			other=$c
			break
		fi
	done
	if [ -n "$other" ]; then
		first=$PYCOMM second=$(basename "$other" | cut -c1-15)
		start_bg "$PY" "$F" exec 4 "$other"
	else
		# Only one on the host: sid's 3.14 execs its 3.15, in their root.
		build_debian_root sid
		require_rootfs sid
		put_in_root "$ROOTFS" "$F"
		first=python3.14 second=python3.15
		spin="spin \\(/work/faults\\.py:$(line_of spin_hot "$F")\\) [0-9]+$"
		start_in_root "$ROOTFS" /usr/bin/python3.14 /work/faults.py exec 4 /usr/bin/python3.15
	fi
	echo "# $first execs $second" >&3
	profile -F 199 -d 3.5 -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	assert_folded_has "^$(re_escape "$first") \\($LAST_PID\\);<module> .*;$spin"
	assert_folded_has "^$(re_escape "$second") \\($LAST_PID\\);<module> .*;$spin"
}

@test "a fork storm (50 forks a second): children are sampled and named" {
	start_bg "$PY" "$F" fork_storm 4 50
	wait_started 0.5
	profile -F 499 -d 3 -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	# Forked children: their own PIDs, the parent's code.
	local children
	children=$(grep -E "forked_child \\($FE:$(line_of child_call "$F")\\);$SPIN" "$TEST_OUT" |
		grep -vc "($LAST_PID);" || true)
	[ "$children" -ge 5 ]
	# A child can die before it is read; its parent names its code then.
	# Under heavy load a few may still slip: never more than 2%.
	# Counted over the storm's processes only (the parent, and children
	# running faults.py code): the host's other Python processes are not
	# this test's business.
	awk -v p="($LAST_PID);" 'index($0, p) || /faults\.py/ {
		if (/unreadable/) u += $NF
		t += $NF
	} END { exit !(t > 0 && u * 50 <= t) }' "$TEST_OUT"
}

@test "a reused PID gets the new process's names, not the old one's" {
	local first second
	"$PYBPFPROF" -F 199 -d 4 -f folded -o "$BATS_TEST_TMPDIR/p.folded" 2>"$BATS_TEST_TMPDIR/err" &
	local prof=$!
	sleep 1
	# The profiler knows this one, its code objects cached...
	"$PY" "$F" spin 0.7 &
	first=$!
	wait "$first"
	# ...then the same PID goes to a process running other code.
	echo $((first - 1)) > /proc/sys/kernel/ns_last_pid
	"$PY" "$WORKLOADS/nested.py" 1 &
	second=$!
	wait "$second"
	wait "$prof"
	[ "$second" -eq "$first" ] || skip "could not reuse pid $first (got $second)"
	TEST_OUT=$BATS_TEST_TMPDIR/p.folded TEST_ERR=$BATS_TEST_TMPDIR/err \
		assert_folded_has "^$COMM \\($first\\);<module> \\($FE:[0-9]+\\);.*$SPIN"
	TEST_OUT=$BATS_TEST_TMPDIR/p.folded TEST_ERR=$BATS_TEST_TMPDIR/err \
		assert_folded_has "^$COMM \\($second\\);<module> .*${CLS}inner_leaf"
	# No stack mixes the two programs' code.
	! grep "nested.py" "$BATS_TEST_TMPDIR/p.folded" | grep -q "faults.py"
}

@test "thread churn: hundreds of threads a second" {
	start_bg "$PY" "$F" thread_churn 4 300
	wait_started 0.5
	profile -F 499 -d 3 -p "$LAST_PID" -f folded --threads
	[ "$PROFILE_STATUS" -eq 0 ]
	local tids
	tids=$(grep -Eo '\(tid [0-9]+' "$TEST_OUT" | sort -u | wc -l)
	[ "$tids" -ge 20 ]
	assert_folded_has "Thread\\.run .*;$SPIN"
}

@test "1000 threads in one process: every running thread is found" {
	start_bg "$PY" "$F" many_threads 20 1000
	# Profile only once every thread runs Python code: a thread that
	# has not yet bound its thread state (or has already dropped it at
	# exit) rightly counts as "without a Python thread state".
	local i n=0
	for ((i = 0; i < 300; i++)); do
		n=$(awk '/^Threads:/ { print $2 }' "/proc/$LAST_PID/status" 2>/dev/null) || n=0
		[ "${n:-0}" -ge 1001 ] && break
		sleep 0.05
	done
	[ "${n:-0}" -ge 1001 ] || { echo "only ${n:-0} threads started" >&2; return 1; }
	sleep 0.5
	profile -F 199 -d 3 -p "$LAST_PID" -f folded --threads
	[ "$PROFILE_STATUS" -eq 0 ]
	local tids
	tids=$(grep -E ";$SPIN" "$TEST_OUT" | grep -Eo '\(tid [0-9]+' | sort -u | wc -l)
	# Only the GIL holder runs, and the GIL stays with a thread for
	# ~100 ms under this contention: a few dozen of the 1000 get sampled
	# in 3 s, and every sample finds its thread state.
	[ "$tids" -ge 20 ]
	refute grep -q 'without a Python thread state' "$TEST_ERR"
	grep -Eq ' ([0-9]+) Python samples, 0 lost' "$TEST_ERR"
}

@test "recursion 1000 frames deep, whole with --max-depth 1024" {
	start_bg "$PY" "$F" recurse 6 1000
	wait_started 1
	profile -F 199 -d 2 -p "$LAST_PID" -f folded --max-depth 1024
	[ "$PROFILE_STATUS" -eq 0 ]
	refute grep -q '\[truncated\]' "$TEST_OUT"
	# process, <module>, main, 1000 x recurse, spin
	local frames
	frames=$(grep -E ";$SPIN" "$TEST_OUT" | head -1 | awk -F';' '{ print NF }')
	[ "$frames" -eq 1004 ]
}

@test "a target corrupting its code object is marked, the rest still profiled" {
	require_py311 corrupt_code
	start_bg "$PY" "$F" corrupt_code 6
	local bad=$LAST_PID
	start_bg "$PY" "$WORKLOADS/nested.py" 6
	local good=$LAST_PID
	wait_started 1
	profile -F 199 -d 2 -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	kill -0 "$bad"
	grep -q "^$COMM ($bad);.*\\[unreadable code object\\] (?) [0-9]*$" "$TEST_OUT"
	assert_folded_has "^$COMM \\($good\\);.*${CLS}inner_leaf"
}

@test "a target whose frame chain loops: bounded, marked truncated" {
	require_py311 frame_loop
	start_bg "$PY" "$F" frame_loop 6
	local bad=$LAST_PID
	start_bg "$PY" "$WORKLOADS/nested.py" 6
	local good=$LAST_PID
	wait_started 1
	profile -F 199 -d 2 -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	grep -q "^$COMM ($bad);\\[truncated\\];frame_loop" "$TEST_OUT"
	assert_folded_has "^$COMM \\($good\\);.*${CLS}inner_leaf"
}
