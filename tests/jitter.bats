#!/usr/bin/env bats
# Random sampling intervals (the default; --no-jitter for perf's fixed
# grid). A loop of deadline-timed slices of 6, 3 and 1 ms must come out
# 60:30:10 at every rate, and sampling must not stretch its cycle: with
# a fixed grid, a program timed by deadlines drifts until its cycle is a
# multiple of the sampling period, and each slice then gets the samples
# of the grid points it holds, not of its length.
#
# Two copies of the workload (one per CPU) run at high priority in a
# scheduling group of their own, so that the other tasks of a busy
# machine preempt them rarely: the test is about the sampler's phase.

load helpers

W=$BATS_TEST_DIRNAME/workloads/slices.py

setup() {
	require_root
	require_test_python
}

# hi CMD...: become CMD, in a session (autogroup) of its own at nice -19
# (with autogroups, nice alone only ranks the tasks of one session). Run
# as "hi CMD &": the background subshell execs, so $! is CMD's PID.
hi() {
	exec setsid sh -c 'echo -19 >/proc/self/autogroup 2>/dev/null; exec nice -n -19 "$@"' sh "$@"
}

# run_slices SECONDS TAG: two copies for SECONDS; their PIDs in PIDS,
# their mean cycles (ms) in $BATS_TEST_TMPDIR/TAG.{0,1}.
run_slices() {
	PIDS=()
	for i in 0 1; do
		hi "$PY" "$W" "$1" "$BATS_TEST_TMPDIR/$2.$i" &
		PIDS+=("$!")
		BG_PIDS+=("$!")
	done
}

cycle() {
	awk '{ s += $1; n++ } END { printf "%.6f", s / n }' "$BATS_TEST_TMPDIR/$1".[01]
}

# shares FOLDED: "six three one" percentages of the samples in them.
shares() {
	awk '{ n = $NF
	       if ($0 ~ /;six \(/) a += n; else if ($0 ~ /;three \(/) b += n
	       else if ($0 ~ /;one \(/) c += n }
	     END { t = a + b + c; if (!t) exit 1
	           printf "%.1f %.1f %.1f %d", 100 * a / t, 100 * b / t, 100 * c / t, t }' "$1"
}

# slices_at HZ SECONDS: profile both copies; shares within 2 points of
# 60:30:10, cycle within 0.1% of the unprofiled one.
slices_at() {
	local hz=$1 secs=$2 base got out=$BATS_TEST_TMPDIR/s.folded
	run_slices 3 base
	wait "${PIDS[@]}"
	base=$(cycle base)
	run_slices "$((secs + 1))" prof
	sleep 0.5
	"$PYBPFPROF" -F "$hz" -d "$secs" -p "${PIDS[0]}" -p "${PIDS[1]}" --no-lines \
		-f folded -o "$out" 2>"$BATS_TEST_TMPDIR/err"
	wait "${PIDS[@]}"
	got=$(cycle prof)
	read -r six three one n <<<"$(shares "$out")"
	echo "# $hz Hz: $six:$three:$one of $n samples; cycle $base ms unprofiled, $got ms profiled; $(tail -1 "$BATS_TEST_TMPDIR/err")" >&3
	awk -v a="$six" -v b="$three" -v c="$one" \
		'BEGIN { d = 2; exit !((a - 60)^2 <= d*d && (b - 30)^2 <= d*d && (c - 10)^2 <= d*d) }'
	awk -v b="$base" -v g="$got" 'BEGIN { r = g / b - 1; exit !(r <= 0.001 && r >= -0.001) }'
}

@test "jitter: 6:3:1 ms deadline slices come out 60:30:10 at 199 Hz, cycle unchanged" {
	retry 3 slices_at 199 12
}

@test "jitter: 6:3:1 ms deadline slices come out 60:30:10 at 333 Hz, cycle unchanged" {
	retry 3 slices_at 333 8
}

@test "jitter: 6:3:1 ms deadline slices come out 60:30:10 at 499 Hz, cycle unchanged" {
	retry 3 slices_at 499 6
}

@test "jitter: 6:3:1 ms deadline slices come out 60:30:10 at 999 Hz, cycle unchanged" {
	retry 3 slices_at 999 4
}

# rate_near LOW HIGH [ARGS...]: a 2 s profile at 499 Hz whose summary
# gives a measured rate in (499 * LOW, 499 * HIGH).
rate_near() {
	local low=$1 high=$2
	shift 2
	profile -F 499 -d 2 "$@" -p "${PIDS[0]}" -f folded
	[ "$PROFILE_STATUS" -eq 0 ] || { cat "$TEST_ERR" >&2; false; }
	echo "# $(tail -1 "$TEST_ERR")" >&3
	[[ "$(tail -1 "$TEST_ERR")" =~ " s at "([0-9]+\.[0-9])" Hz: " ]]
	awk -v hz="${BASH_REMATCH[1]}" -v lo="$low" -v hi="$high" \
		'BEGIN { exit !(hz > 499 * lo && hz < 499 * hi) }'
}

# With random periods the rate is above the one asked for, by up to ln 3
# (see README): within 15% of it; on the fixed grid within 2%. The rate is
# the ticks over the host's busy time: CPU another process took in bursts
# on an idle vCPU, which takes no ticks here, can pull one run down (CI
# saw 436.7 Hz once on the grid), so each gets a second try.
@test "the summary reports the rate measured, near the one asked for" {
	run_slices 12 r
	sleep 0.3
	retry 2 rate_near 0.9 1.15
	retry 2 rate_near 0.98 1.02 --no-jitter
}
