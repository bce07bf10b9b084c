#!/usr/bin/env bats
# The command-line contract: help, version, and every bad input gets one
# line on stderr naming what was wrong, a non-zero exit, and no sampling.

bats_require_minimum_version 1.5.0
load helpers

# Run pybpfprof with ARGS; assert exit 2, one stderr line matching RE,
# nothing on stdout, and a fast exit (nothing was sampled).
bad_input() {
	local re=$1
	shift
	local t0=$SECONDS
	run --separate-stderr "$PYBPFPROF" "$@"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "${stderr_lines[0]}" =~ ^pybpfprof:\  ]]
	[[ "${stderr_lines[0]}" =~ $re ]]
	[ $((SECONDS - t0)) -lt 3 ]
}

@test "--help prints usage and examples" {
	run "$PYBPFPROF" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: pybpfprof"* ]]
	[[ "$output" == *"Examples:"* ]]
	[[ "$output" == *"--frequency"* && "$output" == *"--max-depth"* ]]
	run "$PYBPFPROF" -h
	[ "$status" -eq 0 ]
}

@test "--version" {
	run "$PYBPFPROF" --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^pybpfprof\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "bad frequencies are refused" {
	bad_input "frequency '0'" -F 0
	bad_input "frequency '10001'" -F 10001
	bad_input "frequency 'abc'" -F abc
	bad_input "frequency '99x'" --frequency 99x
	bad_input "frequency ''" -F ''
}

@test "bad durations are refused" {
	bad_input "duration '-1'" -d -1
	bad_input "duration 'x'" -d x
	bad_input "duration '0'" -d 0
}

@test "bad max depths are refused" {
	bad_input "max depth '0'" --max-depth 0
	bad_input "max depth '1025'" --max-depth 1025
	bad_input "max depth 'deep'" --max-depth deep
}

@test "an unknown format is refused" {
	bad_input "format 'bogus'" -f bogus
}

@test "an unknown option or stray argument is refused" {
	bad_input "'--bogus-flag'" --bogus-flag
	bad_input "'-Z'" -Z
	bad_input "argument 'extra'" extra
	bad_input "'-F' needs a value" -F
}

@test "a PID that does not exist is refused" {
	require_root
	bad_input "pid '0'" -p 0
	bad_input "pid 'abc'" -p abc
	bad_input "no process with pid 999999999" -p 999999999
}

@test "an output path that cannot be created is refused" {
	require_root
	bad_input "output file '/nonexistent-dir/x.folded'" -o /nonexistent-dir/x.folded
	bad_input "output file '/nonexistent-dir/x'" -f folded -o /nonexistent-dir/x
	bad_input "output file '/proc/x.txt'" -o /proc/x.txt
	# No -f and no extension: the format is the first complaint, but the
	# one line still names the path.
	bad_input "'/nonexistent-dir/x'" -o /nonexistent-dir/x
	[ ! -e /nonexistent-dir ]
	bad_input "cannot tell the format of 'x.data'" -o x.data
}

# as_nobody CMD...: run CMD as nobody, without capabilities.
as_nobody() {
	if command -v setpriv >/dev/null; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all "$@"
	else
		su -s /bin/sh -c 'exec "$0" "$@"' -- nobody "$@"
	fi
}

@test "without root or capabilities: a clear refusal" {
	require_root
	# nobody must be able to reach the binary for this to mean anything.
	as_nobody test -x "$PYBPFPROF" || skip "nobody cannot execute $PYBPFPROF"
	local t0=$SECONDS
	run --separate-stderr as_nobody "$PYBPFPROF" -d 1
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "${stderr_lines[0]}" == "pybpfprof: "*"root"* ]]
	[[ "${stderr_lines[0]}" == *"CAP_BPF"* ]]
	[ $((SECONDS - t0)) -lt 3 ]
	# Not even a file is created on the way to the refusal.
	run --separate-stderr as_nobody "$PYBPFPROF" -d 1 -f folded -o "/tmp/pybpfprof-nobody-$$"
	[ "$status" -eq 2 ]
	[[ "${stderr_lines[0]}" == *"root"* ]]
	[ ! -e "/tmp/pybpfprof-nobody-$$" ]
}

# IDs of the BPF programs PID holds, from its file descriptors.
bpf_prog_ids() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		[[ "$(readlink "$fd" 2>/dev/null)" == *bpf-prog* ]] || continue
		awk '/^prog_id:/ { print $2 }' "/proc/$1/fdinfo/${fd##*/}" 2>/dev/null
	done | sort -u
}

@test "SIGKILL leaves no BPF program behind" {
	require_root
	command -v bpftool >/dev/null || skip "bpftool not installed"
	start_workload "$PYBPFPROF" -F 99 -o "$BATS_TEST_TMPDIR/p.txt"
	local prof=$LAST_PID ids="" id i
	# Only this run's programs: another profiler may be running.
	for ((i = 0; i < 100; i++)); do
		ids=$(bpf_prog_ids "$prof")
		[ -n "$ids" ] && bpftool prog show | grep -q on_sample && break
		sleep 0.1
	done
	[ -n "$ids" ]
	for id in $ids; do
		bpftool prog show id "$id" >/dev/null
	done
	bpftool prog show | grep -q on_sample
	kill -KILL "$prof"
	wait "$prof" 2>/dev/null || true
	# The kernel frees them once the last reference goes: give it 3 s.
	for id in $ids; do
		for ((i = 0; i < 30; i++)); do
			bpftool prog show id "$id" >/dev/null 2>&1 || break
			sleep 0.1
		done
		if bpftool prog show id "$id" >/dev/null 2>&1; then
			echo "BPF program $id outlived its loader" >&2
			return 1
		fi
	done
}

@test "outputs are 0644, or 0600 with --private, whatever the umask" {
	require_root
	(umask 077 && "$PYBPFPROF" -d 0.5 -o "$BATS_TEST_TMPDIR/a.txt")
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/a.txt")" = 644 ]
	"$PYBPFPROF" -d 0.5 --private -o "$BATS_TEST_TMPDIR/b.txt"
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/b.txt")" = 600 ]
}

@test "bad ring sizes are refused" {
	bad_input "ring size '3M'" --ring-size 3M
	bad_input "ring size '1K'" --ring-size 1K
	bad_input "ring size 'big'" --ring-size big
	# One sample at the deepest --max-depth must fit: 4K holds no 256-frame record.
	bad_input "ring size '4K': one sample of --max-depth 256 frames takes 4128 bytes, so the ring must be at least 8K" --ring-size 4K
	bad_input "ring size '16K': one sample of --max-depth 1024 frames takes 16416 bytes, so the ring must be at least 32K" --max-depth 1024 --ring-size 16K
}

@test "a full ring buffer is counted and reported, never silent" {
	require_root
	require_test_python
	start_bg "$PY" "$WORKLOADS/deep.py" 200 6
	wait_started 0.7
	run --separate-stderr "$PYBPFPROF" --ring-size 8K -F 999 -d 2 -p "$LAST_PID" -f folded
	[ "$status" -eq 0 ]
	local py lost folded
	[[ "$stderr" =~ ([0-9]+)\ Python\ samples,\ ([0-9]+)\ lost ]]
	py=${BASH_REMATCH[1]}
	lost=${BASH_REMATCH[2]}
	[ "$lost" -gt 0 ]
	[[ "$stderr" == *"larger --ring-size"* ]]
	# What was not lost is all in the output.
	folded=$(echo "$output" | awk '{ s += $NF } END { print s + 0 }')
	[ "$folded" -eq "$py" ]
}

@test "the ends of each range are accepted" {
	require_root
	require_test_python
	start_workload "$PY" "$WORKLOADS/nested.py" 30
	local pid=$LAST_PID a
	wait_busy "$pid"
	for a in "-F 1" "-F 10000" "--max-depth 1" "--max-depth 1024" "-F 99" \
		 "--ring-size 4K --max-depth 200"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$PYBPFPROF" -d 0.3 $a -p "$pid" -f folded
		echo "$a: status $status, stderr: $stderr"
		[ "$status" -eq 0 ]
		[[ "${stderr_lines[-1]}" == *samples*lost* ]]
	done
	# One frame kept: the leaf, after the marker.
	run --separate-stderr "$PYBPFPROF" -F 199 -d 1 --max-depth 1 -p "$pid" -f folded
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	refute grep -Ev "^[^;]+ \\($pid\\);\\[truncated\\];[^;]+ [0-9]+$" <<<"$output"
	grep -q ";${CLS}inner_leaf (" <<<"$output"
}

# nice_of PID: the nice value, field 19 of /proc/PID/stat (after "(comm) ").
nice_of() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $17 }'
}

@test "the profiler raises itself to nice -10, and keeps a nice value it was given" {
	require_root
	local prof n
	"$PYBPFPROF" -d 3 -f folded -o "$BATS_TEST_TMPDIR/a.folded" 2>/dev/null &
	prof=$!
	BG_PIDS+=("$prof")
	sleep 1
	n=$(nice_of "$prof")
	echo "default: nice $n (the test runs at nice $(nice))"
	if [ "$(nice)" -eq 0 ]; then
		[ "$n" -eq -10 ]
	else
		[ "$n" -eq "$(nice)" ]
	fi
	nice -n 5 "$PYBPFPROF" -d 3 -f folded -o "$BATS_TEST_TMPDIR/b.folded" 2>/dev/null &
	prof=$!
	BG_PIDS+=("$prof")
	sleep 1
	n=$(nice_of "$prof")
	echo "under nice -n 5: nice $n"
	[ "$n" -eq "$(($(nice) + 5))" ]
}

@test "every descriptor is closed once: no close() fails with EBADF" {
	require_root
	command -v strace >/dev/null || skip "strace not installed"
	require_test_python
	start_workload "$PY" "$WORKLOADS/nested.py" 30
	wait_busy "$LAST_PID"
	# LeakSanitizer cannot run under ptrace; the other tests look for leaks.
	[ "${PYBPFPROF_SANITIZED:-}" != 1 ] || export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	strace -f -qq -e trace=close -o "$BATS_TEST_TMPDIR/trace" \
		"$PYBPFPROF" -d 0.5 -p "$LAST_PID" -o "$BATS_TEST_TMPDIR/p.txt"
	grep -q 'inner_leaf' "$BATS_TEST_TMPDIR/p.txt"
	# The perf events' descriptors among them: closed by their links.
	[ "$(grep -c 'close(' "$BATS_TEST_TMPDIR/trace")" -gt "$(nproc)" ]
	refute grep -E 'close\(.*EBADF' "$BATS_TEST_TMPDIR/trace"
}
