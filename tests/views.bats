#!/usr/bin/env bats
# Views and outputs: --threads, --no-lines, --focus, format selection by
# extension, several outputs from one run, top under tmux, progress.

load helpers

setup() {
	require_root
	require_test_python
	F=$WORKLOADS/nested.py
	FE=$(re_file "$F")
	# threading's bootstrap method, named as the interpreter names it.
	BOOT=${QUAL:+Thread.}_bootstrap
}

@test "--threads puts a frame with each thread's TID and name below the process" {
	start_bg "$PY" "$F" 6 2
	wait_started 0.7
	profile -F 199 -d 2 -p "$LAST_PID" -f folded --threads
	[ "$PROFILE_STATUS" -eq 0 ]
	local tid n=0
	for tid in $(ls /proc/"$LAST_PID"/task); do
		name=$(cat /proc/"$LAST_PID"/task/"$tid"/comm)
		# "name (tid N)", with its GIL state where the version tells it.
		if grep -Eq "^[^;]* \($LAST_PID\);$(re_escape "$name") \(tid $tid(, GIL (held|waiting|none|attached))?\);" "$TEST_OUT"; then
			n=$((n + 1))
		fi
	done
	# The main thread and both workers.
	[ "$n" -eq 3 ]
	# Worker stacks sit under worker TIDs, not the main thread's.
	assert_folded_has "\\(tid [0-9]+(, GIL [a-z]+)?\\);$(re_escape "$BOOT") .*thread_main"
	! grep -Eq "\\(tid $LAST_PID(, GIL [a-z]+)?\\);$(re_escape "$BOOT") \\(" "$TEST_OUT"
}

@test "--no-lines: one frame per function, labelled with its first line" {
	start_bg "$PY" "$F" 6
	wait_started 0.7
	profile -F 199 -d 2 -p "$LAST_PID" -f folded --no-lines
	[ "$PROFILE_STATUS" -eq 0 ]
	local def
	def=$(grep -n 'def inner_leaf' "$F" | cut -d: -f1)
	assert_folded_has ";${CLS}inner_leaf \\($FE:$def\\) [0-9]+$"
	# One line per distinct stack: the hot loop's line no longer splits it.
	[ "$(grep -c 'inner_leaf' "$TEST_OUT")" -eq 1 ]
}

@test "--focus keeps stacks through the function, re-rooted at it" {
	start_bg "$PY" "$F" 6 1
	wait_started 0.7
	profile -F 199 -d 2 -p "$LAST_PID" -f folded --focus "${CLS}middle"
	[ "$PROFILE_STATUS" -eq 0 ]
	# Every line starts at the process, then the focused function.
	refute grep -v "^[^;]* ($LAST_PID);${CLS}middle " "$TEST_OUT"
	assert_folded_has "^[^;]+ \\($LAST_PID\\);${CLS}middle \\($FE:[0-9]+\\);${CLS}inner_leaf \\($FE:$(line_of inner_hot "$F")\\) [0-9]+$"
	grep -qF "focus '${CLS}middle' kept" "$TEST_ERR"
	# A regex that matches nothing keeps nothing.
	profile -d 1 -p "$LAST_PID" -f folded --focus 'no_such_function'
	[ "$PROFILE_STATUS" -eq 0 ]
	[ ! -s "$TEST_OUT" ]
}

@test "an invalid --focus regex is refused before sampling" {
	run "$PYBPFPROF" --focus '(' -d 1
	[ "$status" -eq 2 ]
	[[ "$output" == *"invalid --focus regular expression '('"* ]]
}

@test "the format follows the -o extension, and -f wins for a single -o" {
	start_bg "$PY" "$F" 15
	wait_started 0.7
	profile -d 1 -p "$LAST_PID" -o "$BATS_TEST_TMPDIR/p.txt"
	head -1 "$BATS_TEST_TMPDIR/p.txt" | grep -q '%OWN'
	profile -d 1 -p "$LAST_PID" -o "$BATS_TEST_TMPDIR/q.collapsed"
	grep -q "($LAST_PID);" "$BATS_TEST_TMPDIR/q.collapsed"
	profile -d 1 -p "$LAST_PID" -f folded -o "$BATS_TEST_TMPDIR/r.txt"
	grep -q "($LAST_PID);" "$BATS_TEST_TMPDIR/r.txt"
	run "$PYBPFPROF" -d 1 -o "$BATS_TEST_TMPDIR/s.data"
	[ "$status" -eq 2 ]
	[[ "$output" == *"cannot tell the format of"*"s.data"*"-f"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/s.data" ]
}

@test "several -o write every format from one run with the same counts" {
	start_bg "$PY" "$F" 5
	wait_started 0.7
	profile -F 199 -d 2 -p "$LAST_PID" -o "$BATS_TEST_TMPDIR/a.folded" \
		-o "$BATS_TEST_TMPDIR/a.txt"
	[ "$PROFILE_STATUS" -eq 0 ]
	local folded_total table_total
	folded_total=$(awk '{ s += $NF } END { print s }' "$BATS_TEST_TMPDIR/a.folded")
	# The leaf's TOTAL in the table is every sample of this workload.
	table_total=$(grep -F " ${QUAL}outer (" "$BATS_TEST_TMPDIR/a.txt" | awk '{ print $4 }')
	[ "$folded_total" -gt 100 ]
	[ "$folded_total" -eq "$table_total" ]
}

@test "top runs under tmux, shows the workload's functions and quits on q" {
	command -v tmux >/dev/null || skip "tmux not installed"
	start_bg "$PY" "$F" 15
	wait_started 0.7
	local s=pybpfprof-top-$$
	tmux new-session -d -s "$s" -x 160 -y 30 "$PYBPFPROF top -F 99 -p $LAST_PID; sleep 5"
	sleep 3.5
	local screen
	screen=$(tmux capture-pane -p -t "$s")
	tmux send-keys -t "$s" q
	sleep 1
	local after
	after=$(tmux capture-pane -p -t "$s")
	tmux kill-session -t "$s" || true
	[[ "$screen" == *"pybpfprof top"*"1 Python processes"* ]]
	[[ "$screen" == *"%Own"*"%Total"*"OwnTime"*"TotalTime"* ]]
	[[ "$screen" == *" ${QUAL}inner_leaf (${F##*/}:"* ]]
	[[ "$screen" == *" ${QUAL}middle"* ]]
	# After q: back on the normal screen with the summary line.
	[[ "$after" != *"%Own"* ]]
	[[ "$after" == *"Python samples"* ]]
}

@test "top refuses to run without a terminal" {
	run "$PYBPFPROF" top </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"top needs a terminal"* ]]
}

@test "top refuses --threads and --focus, which only shape written profiles" {
	local a
	for a in --threads "--focus inner"; do
		# shellcheck disable=SC2086
		run "$PYBPFPROF" top $a </dev/null
		echo "$a: status $status: $output"
		[ "$status" -eq 2 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"top does not take ${a%% *}"* ]]
	done
}

@test "progress on a terminal's stderr, nothing when it is not one" {
	command -v tmux >/dev/null || skip "tmux not installed"
	start_bg "$PY" "$F" 10
	wait_started 0.7
	local s=pybpfprof-prog-$$
	tmux new-session -d -s "$s" -x 160 -y 10 \
		"$PYBPFPROF -d 4 -p $LAST_PID -o $BATS_TEST_TMPDIR/prog.folded; sleep 5"
	sleep 2.5
	local screen
	screen=$(tmux capture-pane -p -t "$s")
	tmux kill-session -t "$s" || true
	[[ "$screen" =~ pybpfprof:\ [0-9]+\ s,\ [0-9]+\ samples,\ [0-9]+\ Python,\ 1\ processes,\ 0\ lost ]]
	# Not a terminal: exactly one line, the summary.
	profile -d 1.5 -p "$LAST_PID" -f folded
	[ "$(wc -l < "$TEST_ERR")" -eq 1 ]
}
