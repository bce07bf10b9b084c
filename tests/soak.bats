#!/usr/bin/env bats
# The short soak: 45 s of whole-host sampling under process, thread and
# code-object churn; RSS and open FDs must stay flat (tools/soak runs the
# hour-long version by hand).

load helpers

@test "soak: RSS and file descriptors stay flat under churn" {
	require_root
	require_python 3.12
	run "$BATS_TEST_DIRNAME/../tools/soak" --seconds 45 --bin "$PYBPFPROF" --python "$PY"
	echo "$output" >&3
	[ "$status" -eq 0 ]
	[[ "$output" == *": flat"* ]]
	[[ "$output" == *" 0 lost"* ]]
}
