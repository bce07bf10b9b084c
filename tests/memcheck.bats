#!/usr/bin/env bats
# A whole profiling run under valgrind memcheck: no invalid access, no
# uninitialised use in our code, no leak. tests/valgrind.supp covers
# only libbpf's bpf() buffers, which valgrind cannot see the kernel fill.

load helpers

@test "valgrind memcheck of a profiling run is clean" {
	require_root
	require_test_python
	command -v valgrind >/dev/null || skip "valgrind not installed"
	[ -z "${PYBPFPROF_SANITIZED:-}" ] || skip "an ASan build does not run under valgrind"
	# Under valgrind the profiler takes long to start (over a minute on a
	# loaded host): the workload lasts until teardown ends it.
	start_bg "$PY" "$WORKLOADS/nested.py" 600 1
	wait_started 0.7
	run valgrind --error-exitcode=99 --leak-check=full \
		--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
		--suppressions="$BATS_TEST_DIRNAME/valgrind.supp" \
		"$PYBPFPROF" -F 99 -d 4 -p "$LAST_PID" --threads \
		-o "$BATS_TEST_TMPDIR/p.folded" -o "$BATS_TEST_TMPDIR/p.txt"
	echo "$output" | grep -E 'ERROR SUMMARY|lost:' >&3 || true
	[ "$status" -eq 0 ]
	[[ "$output" == *"ERROR SUMMARY: 0 errors"* ]]
	grep -qF ";${QUAL}inner_leaf (" "$BATS_TEST_TMPDIR/p.folded"
}
