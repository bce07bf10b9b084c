#!/usr/bin/env bats
# Sampling behaviour: threads in C, processes started later or living
# briefly, PID and mount namespaces, deep stacks, filtering, signals.

load helpers

setup() {
	require_root
	require_python 3.12
	PY312=$PY
}

@test "a thread in native code with the GIL released shows its Python caller" {
	local f=$WORKLOADS/native_gil_released.py
	start_bg "$PY312" "$f" 5
	wait_started 0.7
	profile -F 199 -d 2 -p "$LAST_PID" -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	assert_folded_has ";hash_in_c \\($(re_escape "$f"):$(line_of native_call "$f")\\) [0-9]+$"
}

@test "a process started after the profiler is found and named" {
	local f=$WORKLOADS/nested.py
	"$PYBPFPROF" -F 199 -d 4 -f folded -o "$BATS_TEST_TMPDIR/late.folded" \
		2>"$BATS_TEST_TMPDIR/err" &
	local prof=$!
	sleep 1.5
	start_bg "$PY312" "$f" 2
	wait "$prof"
	TEST_OUT=$BATS_TEST_TMPDIR/late.folded TEST_ERR=$BATS_TEST_TMPDIR/err \
		assert_folded_has "^[^;]+ \\($LAST_PID\\);.*Worker\\.inner_leaf \\($(re_escape "$f"):$(line_of inner_hot "$f")\\) [0-9]+$"
}

@test "a process that lives 0.3 s still gets named frames" {
	local f=$WORKLOADS/short.py
	"$PYBPFPROF" -F 499 -d 3 -f folded -o "$BATS_TEST_TMPDIR/short.folded" \
		2>"$BATS_TEST_TMPDIR/err" &
	local prof=$!
	sleep 1.5
	"$PY312" "$f" &
	local pid=$!
	wait "$pid"
	wait "$prof"
	TEST_OUT=$BATS_TEST_TMPDIR/short.folded TEST_ERR=$BATS_TEST_TMPDIR/err \
		assert_folded_has "^[^;]+ \\($pid\\);<module> \\($(re_escape "$f"):[0-9]+\\);short_lived_leaf \\($(re_escape "$f"):$(line_of short_hot "$f")\\) [0-9]+$"
}

@test "a process in its own PID and mount namespace, under its host PID" {
	command -v unshare >/dev/null || skip "unshare not installed"
	local f=$WORKLOADS/nested.py pid=""
	start_bg unshare --pid --mount --fork --mount-proc "$PY312" "$f" 6 1
	for _ in $(seq 50); do
		pid=$(pgrep -P "$LAST_PID" | head -1) && [ -n "$pid" ] && break
		sleep 0.1
	done
	[ -n "$pid" ]
	wait_started 0.7
	# Its TIDs and /proc differ from ours: only the host PID identifies it.
	[ "$(readlink /proc/$pid/ns/pid)" != "$(readlink /proc/self/ns/pid)" ]
	profile -F 199 -d 2 -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	assert_folded_has "^[^;]+ \\($pid\\);.*;thread_main \\($(re_escape "$f"):[0-9]+\\);Worker\\.outer"
	assert_folded_has "^[^;]+ \\($pid\\);.*;Worker\\.inner_leaf \\($(re_escape "$f"):$(line_of inner_hot "$f")\\) [0-9]+$"
}

@test "a stack 200 frames deep is kept whole by default" {
	local f=$WORKLOADS/deep.py
	start_bg "$PY312" "$f" 200 5
	wait_started 0.7
	profile -F 199 -d 2 -p "$LAST_PID" -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	! grep -q '\[truncated\]' "$TEST_OUT"
	# process + <module> + 200 recurse frames: count the leaf's line.
	local line frames
	line=$(grep "recurse ($f:$(line_of deep_hot "$f")) " "$TEST_OUT" | sort -t' ' -k2 | head -1)
	[ -n "$line" ]
	frames=$(printf '%s' "$line" | awk -F';' '{print NF}')
	[ "$frames" -eq 202 ]
}

@test "--max-depth cuts a deep stack at the root end and marks it" {
	local f=$WORKLOADS/deep.py
	start_bg "$PY312" "$f" 200 5
	wait_started 0.7
	profile -F 199 -d 2 -p "$LAST_PID" -f folded --max-depth 50
	[ "$PROFILE_STATUS" -eq 0 ]
	assert_folded_has "^[^;]+ \\($LAST_PID\\);\\[truncated\\];recurse .*;recurse \\($(re_escape "$f"):$(line_of deep_hot "$f")\\) [0-9]+$"
	# process + [truncated] + 50 frames
	local frames
	frames=$(grep -m1 'deep.py' "$TEST_OUT" | awk -F';' '{print NF}')
	[ "$frames" -eq 52 ]
	grep -q truncated "$TEST_ERR"
}

@test "-p profiles only the given process" {
	local f=$WORKLOADS/nested.py
	start_bg "$PY312" "$f" 5
	local keep=$LAST_PID
	start_bg "$PY312" "$f" 5
	local other=$LAST_PID
	wait_started 0.7
	profile -F 199 -d 2 -p "$keep" -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	grep -q "($keep);" "$TEST_OUT"
	! grep -q "($other);" "$TEST_OUT"
}

@test "the whole host: two interpreter versions at once, no -p" {
	[ -x /usr/bin/python3.11 ] || skip "/usr/bin/python3.11 not installed"
	local f=$WORKLOADS/nested.py
	start_bg "$PY312" "$f" 5
	local a=$LAST_PID
	start_bg /usr/bin/python3.11 "$f" 5
	local b=$LAST_PID
	wait_started 0.7
	profile -F 199 -d 2 -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	assert_folded_has "^python3\\.12 \\($a\\);.*Worker\\.inner_leaf"
	assert_folded_has "^python3\\.11 \\($b\\);.*Worker\\.inner_leaf"
	grep -Eq 'Python processes seen' "$TEST_ERR"
}

@test "table: header, then the workload's leaf as the hottest function" {
	local f=$WORKLOADS/nested.py
	start_bg "$PY312" "$f" 5
	wait_started 0.7
	profile -F 199 -d 2 -p "$LAST_PID"
	[ "$PROFILE_STATUS" -eq 0 ]
	head -1 "$TEST_OUT" | grep -Eq '^ *%OWN +%TOTAL +OWN +TOTAL +FUNCTION$'
	sed -n 2p "$TEST_OUT" | grep -Eq "Worker\\.inner_leaf \\($(re_escape "$f"):[0-9]+\\)$"
	# Own percentages of all rows add up to 100.
	awk 'NR > 1 { s += $1 } END { exit !(s > 99.0 && s < 101.0) }' "$TEST_OUT"
	grep -Eq '[0-9]+ samples, [0-9]+ Python samples, 0 lost' "$TEST_ERR"
}

@test "-o writes the file and nothing to stdout" {
	start_bg "$PY312" "$WORKLOADS/nested.py" 4
	wait_started 0.7
	profile -d 1 -p "$LAST_PID" -f folded -o "$BATS_TEST_TMPDIR/p.folded"
	[ "$PROFILE_STATUS" -eq 0 ]
	[ ! -s "$TEST_OUT" ]
	grep -q "($LAST_PID);" "$BATS_TEST_TMPDIR/p.folded"
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/p.folded")" = 644 ]
}

# SIGINT or SIGTERM mid-run: exit 0, the whole profile written.
interrupt_run() {
	local sig=$1 out=$BATS_TEST_TMPDIR/int.folded
	start_bg "$PY312" "$WORKLOADS/nested.py" 8
	local wl=$LAST_PID
	wait_started 0.7
	"$PYBPFPROF" -F 199 -f folded -o "$out" 2>"$BATS_TEST_TMPDIR/err" &
	local prof=$!
	sleep 2
	kill -"$sig" "$prof"
	local status=0
	wait "$prof" || status=$?
	[ "$status" -eq 0 ]
	[ -s "$out" ]
	[ "$(tail -c1 "$out" | od -An -c | tr -d ' ')" = '\n' ]
	grep -q "($wl);.*Worker\\.inner_leaf" "$out"
	# Every line is a complete "stack COUNT" line.
	! grep -Ev '^.+ [0-9]+$' "$out"
	grep -q 'samples' "$BATS_TEST_TMPDIR/err"
	# No temporary file left beside it.
	[ "$(ls -A "$BATS_TEST_TMPDIR" | grep -c '^\.int\.folded')" -eq 0 ]
}

@test "SIGINT mid-run writes the complete profile" {
	interrupt_run INT
}

@test "SIGTERM mid-run writes the complete profile" {
	interrupt_run TERM
}
