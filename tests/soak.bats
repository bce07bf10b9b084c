#!/usr/bin/env bats
# The short soak: 45 s of whole-host sampling under process, thread and
# code-object churn; open FDs, the symbolizer's caches and RSS (beyond
# what the profile itself holds) must stay flat (tools/soak runs the
# hour-long version by hand). A sanitizer build's allocator quarantine
# grows RSS by design: there, RSS is not judged (LeakSanitizer checks
# for leaks at exit instead).

load helpers

@test "soak: RSS and file descriptors stay flat under churn" {
	require_root
	require_test_python
	local opts=()
	[ -z "${PYBPFPROF_SANITIZED:-}" ] || opts=(--no-rss)
	run "$BATS_TEST_DIRNAME/../tools/soak" --seconds 45 --bin "$PYBPFPROF" --python "$PY" \
		"${opts[@]}"
	echo "$output" >&3
	[ "$status" -eq 0 ]
	[[ "$output" == *": flat"* ]]
	[[ "$output" == *" 0 lost"* ]]
}

# The agent for PYBPFPROF_AGENT_SOAK_SECONDS (default 60; make test-soak,
# which CI runs, 600; tools/soak --agent --seconds 3600 by hand): 1 s
# windows, 20 processes a second, /metrics scraped; nothing may grow.
@test "agent soak: 1 s windows under churn, RSS, FDs, caches and dictionary flat" {
	require_root
	require_test_python
	local opts=()
	[ -z "${PYBPFPROF_SANITIZED:-}" ] || opts=(--no-rss)
	run "$BATS_TEST_DIRNAME/../tools/soak" --agent \
		--seconds "${PYBPFPROF_AGENT_SOAK_SECONDS:-60}" --bin "$PYBPFPROF" --python "$PY" \
		--csv "$BATS_TEST_TMPDIR/agent-soak.csv" "${opts[@]}"
	echo "$output" >&3
	[ "$status" -eq 0 ]
	[[ "$output" == *": flat"* ]]
	[[ "$output" == *" 0 lost"* ]]
}
