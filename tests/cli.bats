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
	[ ! -e /nonexistent-dir ]
	bad_input "cannot tell the format of 'x.data'" -o x.data
}

@test "without root or capabilities: a clear refusal" {
	command -v setpriv >/dev/null || skip "setpriv not installed"
	require_root
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
		--inh-caps=-all "$PYBPFPROF" -d 1
	[ "$status" -eq 2 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "${stderr_lines[0]}" == *"needs root"*"CAP_BPF"* ]]
}

@test "SIGKILL leaves no BPF program behind" {
	require_root
	command -v bpftool >/dev/null || skip "bpftool not installed"
	"$PYBPFPROF" -F 99 >/dev/null 2>&1 &
	local prof=$!
	for _ in $(seq 100); do
		bpftool prog show | grep -q on_sample && break
		sleep 0.1
	done
	bpftool prog show | grep -q on_sample
	kill -KILL "$prof"
	wait "$prof" 2>/dev/null || true
	sleep 0.5
	! bpftool prog show | grep -q on_sample
}

@test "a symlink planted at the output path is replaced, never written through" {
	require_root
	local victim=$BATS_TEST_TMPDIR/victim out=$BATS_TEST_TMPDIR/p.folded
	echo "precious" > "$victim"
	ln -s "$victim" "$out"
	run "$PYBPFPROF" -d 0.5 -o "$out"
	[ "$status" -eq 0 ]
	[ "$(cat "$victim")" = precious ]
	[ -f "$out" ] && [ ! -L "$out" ]
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
}

@test "a full ring buffer is counted and reported, never silent" {
	require_root
	require_python 3.12
	start_bg "$PY" "$WORKLOADS/deep.py" 200 6
	wait_started 0.7
	run --separate-stderr "$PYBPFPROF" --ring-size 4K -F 999 -d 2 -p "$LAST_PID" -f folded
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
