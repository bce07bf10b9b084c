#!/usr/bin/env bats
# Sampling behaviour: threads in C, processes started later or living
# briefly, PID and mount namespaces, deep stacks, filtering, formats,
# signals. Runs on the tests' interpreter (test_python: pyenv's 3.12, or
# Debian's python3 on a machine without pyenv).

load helpers

setup() {
	require_root
	require_test_python
	F=$WORKLOADS/nested.py
	FE=$(re_file "$F")
	LEAF="${CLS}inner_leaf \\($FE:$(line_of inner_hot "$F")\\) [0-9]+$"
}

native_stacks() {
	local pid=$1 f=$WORKLOADS/native_gil_released.py fe
	fe=$(re_file "$f")
	profile -F 199 -d 2 -p "$pid" -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	# Each native thread's leaf is its Python caller, on the call's line,
	# under threading's bootstrap frames.
	assert_folded_has "^[^;]+ \\($pid\\);([^;]+;)+hash_in_c \\($fe:$(line_of native_call "$f")\\) [0-9]+$"
	assert_folded_has "^[^;]+ \\($pid\\);([^;]+;)+compress_in_c \\($fe:$(line_of compress_call "$f")\\) [0-9]+$"
	assert_folded_lacks 'unreadable|unknown'
}

@test "threads in native code with the GIL released show their Python callers" {
	start_workload "$PY" "$WORKLOADS/native_gil_released.py" 30
	# Past building its buffers (about 0.5 s of CPU), into the threads.
	wait_busy "$LAST_PID" 1.5
	retry 3 native_stacks "$LAST_PID"
}

late_process() {
	local out=$BATS_TEST_TMPDIR/late.folded prof
	start_workload "$PYBPFPROF" -F 199 -d 4 -f folded -o "$out"
	prof=$LAST_PID
	wait_sampling "$prof"
	sleep 0.3
	start_workload "$PY" "$F" 2.5
	local pid=$LAST_PID
	wait "$prof"
	TEST_OUT=$out
	assert_folded_has "^[^;]+ \\($pid\\);<module> \\($FE:[0-9]+\\);main \\($FE:$(line_of main_call "$F")\\);.*;$LEAF"
}

@test "a process started after the profiler is found and named" {
	TEST_ERR=/dev/null
	retry 2 late_process
}

short_process() {
	local f=$WORKLOADS/short.py out=$BATS_TEST_TMPDIR/short.folded prof pid
	start_workload "$PYBPFPROF" -F 499 -d 3 -f folded -o "$out"
	prof=$LAST_PID
	wait_sampling "$prof"
	sleep 0.3
	"$PY" "$f" &
	pid=$!
	wait "$pid"
	wait "$prof"
	TEST_OUT=$out
	assert_folded_has "^[^;]+ \\($pid\\);<module> \\($(re_file "$f"):[0-9]+\\);short_lived_leaf \\($(re_file "$f"):$(line_of short_hot "$f")\\) [0-9]+$"
	# Named although it is gone before the profile is written: its hot
	# stack above, and nearly all its samples. The code of a module body
	# or an exec'd string run during startup can be freed before it is
	# read (it then shows as [unreadable code object]): at most 1 in 10.
	awk -v p="($pid);" 'index($0, p) {
		t += $NF
		if ($0 ~ /\[unknown\]|<unknown|unreadable/) u += $NF
	} END { exit !(t > 0 && u * 10 <= t) }' "$out"
}

@test "a process that lives 0.3 s still gets named frames" {
	TEST_ERR=/dev/null
	retry 2 short_process
}

namespaced_stacks() {
	local pid=$1
	profile -F 199 -d 2 -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	assert_folded_has "^[^;]+ \\($pid\\);([^;]+;)*thread_main \\($FE:$(line_of thread_call "$F")\\);${CLS}outer .*;$LEAF"
	assert_folded_has "^[^;]+ \\($pid\\);<module> \\($FE:[0-9]+\\);main .*;$LEAF"
}

@test "a process in its own PID and mount namespace, under its host PID" {
	command -v unshare >/dev/null || skip "unshare not installed"
	local pid="" i
	# --kill-child: killing unshare (teardown) takes the python with it.
	start_workload unshare --pid --mount --fork --mount-proc --kill-child "$PY" "$F" 30 1
	for ((i = 0; i < 50; i++)); do
		pid=$(pgrep -P "$LAST_PID" | head -1) && [ -n "$pid" ] && break
		sleep 0.1
	done
	[ -n "$pid" ]
	# Its PIDs and /proc differ from ours: only the host PID identifies it.
	[ "$(readlink "/proc/$pid/ns/pid")" != "$(readlink /proc/self/ns/pid)" ]
	[ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]
	wait_busy "$pid"
	retry 3 namespaced_stacks "$pid"
}

deep_whole() {
	local pid=$1 f=$WORKLOADS/deep.py line
	profile -F 199 -d 2 -p "$pid" -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	refute grep -q '\[truncated\]' "$TEST_OUT"
	line=$(grep -E -m1 ";recurse \\($(re_file "$f"):$(line_of deep_hot "$f")\\) [0-9]+$" "$TEST_OUT")
	[ -n "$line" ] || { show_profile; return 1; }
	# The process, <module> and 200 recurse frames, each recursing one
	# on the line of the recursive call.
	[ "$(frame_count "$line")" -eq 202 ]
	[ "$(printf '%s\n' "$line" | grep -o ";recurse (${f##*/}:$(line_of recurse_call "$f"))" | wc -l)" -eq 199 ]
}

@test "a stack 200 frames deep is kept whole by default" {
	start_workload "$PY" "$WORKLOADS/deep.py" 200 30
	wait_busy "$LAST_PID"
	retry 3 deep_whole "$LAST_PID"
}

deep_cut() {
	local pid=$1 f=$WORKLOADS/deep.py line
	profile -F 199 -d 2 -p "$pid" -f folded --max-depth 50
	[ "$PROFILE_STATUS" -eq 0 ]
	# Cut at the root end: the leaf is kept, [truncated] follows the
	# process frame, then the 50 innermost frames.
	assert_folded_has "^[^;]+ \\($pid\\);\\[truncated\\];(recurse [^;]+;){49}recurse \\($(re_file "$f"):$(line_of deep_hot "$f")\\) [0-9]+$"
	# No <module> in view: the file keeps its full name (see shorten.h).
	line=$(grep -E -m1 ";recurse \\($(re_file "$f"):$(line_of deep_hot "$f")\\) [0-9]+$" "$TEST_OUT")
	[ "$(frame_count "$line")" -eq 52 ]
	# No stack is longer than that.
	refute awk -F';' 'NF > 52 { found = 1 } END { exit !found }' "$TEST_OUT"
	grep -q truncated "$TEST_ERR"
}

@test "--max-depth cuts a deep stack at the root end and marks it" {
	start_workload "$PY" "$WORKLOADS/deep.py" 200 30
	wait_busy "$LAST_PID"
	retry 3 deep_cut "$LAST_PID"
}

only_pids() {
	local out=$1
	shift
	profile -F 199 -d 2 "$@" -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	local p
	for p in $(grep -Eo '^[^;]+ \([0-9]+\);' "$TEST_OUT" | grep -Eo '[0-9]+\);$' | tr -d ');' | sort -u); do
		[[ " $out " == *" $p "* ]] || { echo "unexpected pid $p" >&2; return 1; }
	done
}

pid_filter() {
	local a=$1 b=$2 c=$3
	only_pids "$a" -p "$a"
	assert_folded_has "^[^;]+ \\($a\\);.*;$LEAF"
	only_pids "$a $c" -p "$a" -p "$c"
	assert_folded_has "^[^;]+ \\($a\\);.*;$LEAF"
	assert_folded_has "^[^;]+ \\($c\\);.*;$LEAF"
	refute grep -q "($b);" "$TEST_OUT"
}

@test "-p profiles only the given processes, and repeats" {
	local a b c
	start_workload "$PY" "$F" 30
	a=$LAST_PID
	start_workload "$PY" "$F" 30
	b=$LAST_PID
	start_workload "$PY" "$F" 30
	c=$LAST_PID
	wait_busy "$a"; wait_busy "$b"; wait_busy "$c"
	retry 3 pid_filter "$a" "$b" "$c"
}

two_versions() {
	local a=$1 b=$2 bcls=$3 bfe=$4
	profile -F 199 -d 2 -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	assert_folded_has "^python[0-9.]* \\($a\\);.*;$LEAF"
	assert_folded_has "^python[0-9.]* \\($b\\);.*;${bcls}inner_leaf \\($bfe:$(line_of inner_hot "$F")\\) [0-9]+$"
	grep -Eq '[0-9]+ Python processes seen' "$TEST_ERR"
}

@test "the whole host: two interpreter versions at once, no -p" {
	local mine=$PY other="" v c a b bcls=""
	# A second version on the host (pyenv's, Debian's python3)...
	for c in "$(find_python 3.11)" "$(find_python 3.13)" "$(find_python 3.10)" \
		"$(find_python 3.9)" "$(find_python 3.8)" "$(debian_python)"; do
		if [ -n "$c" ] && [ "$(version_of "$c")" != "$PYV" ]; then
			other=$c
			break
		fi
	done
	start_workload "$PY" "$F" 30
	a=$LAST_PID
	# ... else Debian's 3.13 (or 3.14) in its root, as a container.
	v=3.13
	[ "$PYV" != 3.13 ] || v=3.14
	[ -n "$other" ] || require_version "$v"
	PY=${other:-$PY}
	start_python nested.py 30
	b=$LAST_PID
	echo "# $mine and $PY${PY_ROOT:+ in $PY_ROOT}" >&3
	[ "$(version_of "$mine")" != "$(run_python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" ]
	[ "$(run_python -c 'import sys; print(sys.version_info >= (3, 11))')" = True ] && bcls='Worker\.'
	wait_busy "$a"; wait_busy "$b"
	retry 3 two_versions "$a" "$b" "$bcls" "$(re_file "$SCRIPT_SEEN")"
}

table_format() {
	local pid=$1
	profile -F 199 -d 2 -p "$pid"
	[ "$PROFILE_STATUS" -eq 0 ]
	head -1 "$TEST_OUT" | grep -Eq '^ *%OWN +%TOTAL +OWN +TOTAL +FUNCTION$'
	# The hottest function is the leaf, named by its first line.
	local def
	def=$(grep -n 'def inner_leaf' "$F" | cut -d: -f1)
	sed -n 2p "$TEST_OUT" | grep -Eq "^ *[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+ +${CLS}inner_leaf \\($FE:$def\\)$"
	# Rows: %OWN %TOTAL OWN TOTAL FUNCTION, sorted by OWN.
	awk 'NR > 1 && NF < 5 { exit 1 }' "$TEST_OUT"
	awk 'NR > 2 && $3 > prev { exit 1 } NR > 1 { prev = $3 }' "$TEST_OUT"
	# Own percentages add up to 100; every function's TOTAL >= OWN.
	awk 'NR > 1 { s += $1 } END { exit !(s > 99.0 && s < 101.0) }' "$TEST_OUT"
	awk 'NR > 1 && $4 < $3 { exit 1 }' "$TEST_OUT"
	# outer is on every stack of this workload: its TOTAL is 100%.
	grep -E " ${CLS}outer \\($FE:[0-9]+\\)$" "$TEST_OUT" |
		awk '{ n++; ok = $2 > 99.0 } END { exit !(n == 1 && ok) }'
	grep -Eq '[0-9]+ samples, .*[0-9]+ lost' "$TEST_ERR"
}

@test "table: header, then the workload's leaf as the hottest function" {
	start_workload "$PY" "$F" 30
	wait_busy "$LAST_PID"
	retry 3 table_format "$LAST_PID"
}

@test "-o writes the file and nothing to stdout" {
	start_workload "$PY" "$F" 30
	wait_busy "$LAST_PID"
	profile -d 1 -p "$LAST_PID" -f folded -o "$BATS_TEST_TMPDIR/p.folded"
	[ "$PROFILE_STATUS" -eq 0 ]
	[ ! -s "$TEST_OUT" ]
	grep -q "($LAST_PID);" "$BATS_TEST_TMPDIR/p.folded"
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/p.folded")" = 644 ]
	# The summary went to stderr, and only it.
	[ "$(wc -l <"$TEST_ERR")" -eq 1 ]
	grep -q samples "$TEST_ERR" && grep -q lost "$TEST_ERR"
}

# SIGINT or SIGTERM mid-run: exit 0, the whole profile written.
interrupt_run() {
	local sig=$1 out=$BATS_TEST_TMPDIR/int.folded err=$BATS_TEST_TMPDIR/int.err wl
	start_workload "$PY" "$F" 30
	wl=$LAST_PID
	wait_busy "$wl"
	"$PYBPFPROF" -F 199 -f folded -o "$out" 2>"$err" &
	local prof=$!
	BG_PIDS+=("$prof")
	sleep 2
	kill -"$sig" "$prof"
	local status=0 t0=$SECONDS
	wait "$prof" || status=$?
	[ "$status" -eq 0 ]
	[ $((SECONDS - t0)) -lt 5 ]
	[ -s "$out" ]
	[ "$(tail -c1 "$out" | od -An -c | tr -d ' ')" = '\n' ]
	grep -q "($wl);.*;${CLS}inner_leaf" "$out"
	# Every line is a complete "stack COUNT" line.
	refute grep -Ev '^[^;]+(;[^;]+)* [0-9]+$' "$out"
	# The summary line on stderr.
	grep -q 'samples' "$err" && grep -q 'lost' "$err"
	# No temporary file left beside it.
	[ "$(find "$BATS_TEST_TMPDIR" -maxdepth 1 -name '*int.folded?*' | wc -l)" -eq 0 ]
}

@test "SIGINT mid-run writes the complete profile" {
	interrupt_run INT
}

@test "SIGTERM mid-run writes the complete profile" {
	interrupt_run TERM
}
