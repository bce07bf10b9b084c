#!/usr/bin/env bats
# --native and --kernel: native frames between the Python ones in true
# order, unwound without frame pointers (libdw and the copied stack),
# the eval loop's frames replaced by the Python frames they ran; kernel
# frames on top. Workloads: tests/workloads/native.py, and a C extension
# the test builds without frame pointers (tests/workloads/spinext.c).

load helpers

W=$BATS_TEST_DIRNAME/workloads/native.py

setup() {
	require_root
	# A kernel without what --native needs samples Python stacks only.
	"$PYBPFPROF" --native -d 0.1 -o /dev/null 2>"$BATS_TEST_TMPDIR/probe" || true
	if grep -q "needs Linux 5.19" "$BATS_TEST_TMPDIR/probe"; then
		skip "$(grep -m1 "needs Linux 5.19" "$BATS_TEST_TMPDIR/probe")"
	fi
}

# build_spinext: tests/workloads/spinext.c for $PY (in PY_ROOT when set),
# -O2 -fomit-frame-pointer as distributions build extensions, next to
# where native.py runs from. Skips when the interpreter's headers are not
# installed.
build_spinext() {
	local inc platinc suffix dir out
	command -v gcc >/dev/null || skip "gcc not installed"
	read -r inc platinc suffix < <(run_python -c 'import sysconfig as s
p = s.get_paths()
print(p["include"], p["platinclude"], s.get_config_var("EXT_SUFFIX"))')
	[ -f "${PY_ROOT:-}$inc/Python.h" ] ||
		skip "no Python.h for $PY at ${PY_ROOT:-}$inc (python3-dev or libpythonX.Y-dev)"
	if [ -n "${PY_ROOT:-}" ]; then
		dir=$PY_ROOT/work
		mkdir -p "$dir"
	else
		dir=$BATS_TEST_TMPDIR/w
		cp "$W" "$BATS_TEST_TMPDIR/native.py.tmp"
		mkdir -p "$dir"
		mv "$BATS_TEST_TMPDIR/native.py.tmp" "$dir/native.py"
	fi
	out=$dir/spinext$suffix
	# Debian's pyconfig.h includes <x86_64-linux-gnu/python3.X/pyconfig.h>:
	# the root's /usr/include, searched after the host's own headers.
	gcc -std=gnu11 -O2 -fomit-frame-pointer -shared -fPIC -Wall -Werror \
		-I"${PY_ROOT:-}$inc" -I"${PY_ROOT:-}$platinc" \
		${PY_ROOT:+-idirafter "$PY_ROOT/usr/include"} \
		"$WORKLOADS/spinext.c" -o "$out.tmp"
	mv -f "$out.tmp" "$out"
	SPINEXT=${out##*/}
}

# start_native MODE SECONDS: native.py MODE under $PY, beside spinext.
start_native() {
	if [ -n "${PY_ROOT:-}" ]; then
		start_python native.py "$@"
	else
		start_workload "$PY" "$BATS_TEST_TMPDIR/w/native.py" "$@"
	fi
}

# full_order FOLDED: prints "FULL ALL" over the samples in c_spin or in
# py_callback: ALL counts them, FULL those whose frames, root to leaf,
# start at <module> and hold py_caller, spin_then_call (the extension)
# and then c_spin or py_callback, in that order, with nothing truncated.
full_order() {
	awk '{
		n = $NF
		k = split(substr($0, 1, length($0) - length(n) - 1), f, ";")
		spin = cb = 0
		for (i = 2; i <= k; i++) {
			if (f[i] ~ /^c_spin(\.[a-z0-9.]+)? \(spinext/) spin = 1
			if (f[i] ~ /^py_callback \(native\.py:/) cb = 1
		}
		if (!spin && !cb)
			next
		all += n
		if (f[2] !~ /^<module> \(native\.py:/ || $0 ~ /\[truncated\]/)
			next
		want[1] = "^py_caller \\(native\\.py:"
		want[2] = "^spin_then_call \\(spinext"
		want[3] = spin ? "^c_spin(\\.[a-z0-9.]+)? \\(spinext" : "^py_callback \\(native\\.py:"
		j = 1
		for (i = 3; i <= k && j <= 3; i++)
			if (f[i] ~ want[j])
				j++
		if (j > 3)
			full += n
	} END { printf "%d %d\n", full, all }' "$1"
}

# callback_order: Python -> C (spins, calls back) -> Python under $PY:
# at least 90% of the samples in the spin and in the callback show the
# whole order, both are seen, and no eval-loop frame is left.
callback_order() {
	local full all
	profile --native -F 199 -d 4 -p "$LAST_PID" -f folded
	[ "$PROFILE_STATUS" -eq 0 ] || { show_profile; return 1; }
	read -r full all < <(full_order "$TEST_OUT")
	echo "# $PY${PY_ROOT:+ in ${PY_ROOT##*/}}: $full of $all samples in c_spin or py_callback in full order; $(tail -1 "$TEST_ERR")" >&3
	[ "$all" -ge 200 ] || { show_profile; return 1; }
	[ $((full * 100)) -ge $((all * 90)) ] || { show_profile; return 1; }
	assert_folded_has ";py_caller \\(native\\.py:$(line_of caller_call "$W")\\);([^;]+;)*spin_then_call \\($SPINEXT\\);c_spin(\\.[a-z0-9.]+)? \\($SPINEXT\\) [0-9]+$"
	assert_folded_has ";spin_then_call \\($SPINEXT\\);([^;]+;)*py_callback \\(native\\.py:[0-9]+\\)"
	assert_folded_lacks '_PyEval_EvalFrameDefault|_PyEval_EvalFrame '
}

@test "native: Python -> C -> Python in true order, the tests' interpreter" {
	require_test_python
	PY_ROOT=""
	build_spinext
	start_native callback 30
	wait_busy "$LAST_PID"
	callback_order
}

@test "native: Python -> C -> Python in true order, Debian's stripped static python3" {
	local py
	py=$(debian_python) || skip "no /usr/bin/python3"
	PY=$py PY_ROOT=""
	build_spinext
	start_native callback 30
	wait_busy "$LAST_PID"
	callback_order
}

@test "native: Python -> C -> Python in true order, sid's 3.15 in its container" {
	require_version 3.15
	[ -n "$PY_ROOT" ] || skip "3.15 is on the host: the container case needs sid's root"
	build_spinext
	start_native callback 30
	wait_busy "$LAST_PID"
	callback_order
}

# libs_under PID CALLER LIBRARY_RE: at least half the samples in CALLER
# have a frame of the library under it, and one such stack ends in the
# library (the leaf is its code, not the interpreter's).
libs_under() {
	local pid=$1 caller=$2 lib=$3 with all
	read -r with all < <(awk -v p="($pid);" -v c="^$caller \\\\(native\\\\.py:" -v l="$lib" '
		index($0, p) {
			n = $NF
			k = split(substr($0, 1, length($0) - length(n) - 1), f, ";")
			at = 0
			for (i = 2; i <= k; i++)
				if (f[i] ~ c)
					at = i
			if (!at)
				next
			all += n
			for (i = at + 1; i <= k; i++)
				if (f[i] ~ l) {
					with += n
					break
				}
		} END { printf "%d %d\n", with, all }' "$TEST_OUT")
	echo "# $caller: $with of $all samples with a frame of $lib under it" >&3
	[ "$all" -ge 50 ] && [ $((with * 2)) -ge "$all" ] || { show_profile; return 1; }
	assert_folded_has "\\($pid\\);([^;]+;)*$caller \\(native\\.py:[0-9]+\\);([^;]+;)*[^;]*$lib[^;]* [0-9]+$"
}

@test "native: zlib, hashlib and sqlite3 frames under their Python callers (Debian's python3)" {
	local py z h s
	py=$(debian_python) || skip "no /usr/bin/python3"
	PY=$py
	start_workload "$PY" "$W" zlib 30
	z=$LAST_PID
	start_workload "$PY" "$W" hashlib 30
	h=$LAST_PID
	start_workload "$PY" "$W" sqlite 30
	s=$LAST_PID
	wait_busy "$z"; wait_busy "$h"; wait_busy "$s" 1.5
	profile --native -F 199 -d 4 -p "$z" -p "$h" -p "$s" -f folded
	[ "$PROFILE_STATUS" -eq 0 ] || { show_profile; return 1; }
	libs_under "$z" compress_caller '\(libz\.so[^)]*\)|^libz\.so[^ ]*\+0x'
	libs_under "$h" hash_caller '\(libcrypto\.so[^)]*\)|^libcrypto\.so[^ ]*\+0x'
	libs_under "$s" sql_caller '\(libsqlite3\.so[^)]*\)|^libsqlite3\.so[^ ]*\+0x'
	# Library frames under the named function, never above another's.
	assert_folded_lacks "\\($z\\);([^;]+;)*(hash_caller|sql_caller) "
	assert_folded_has "\\($z\\);([^;]+;)*compress_caller \\(native\\.py:$(line_of compress_call "$W")\\);"
}

# Where the native part cannot be had (here: the tail-call walker, forced;
# make test-kernels checks a 5.10 kernel), --native and --kernel are one
# notice and the Python stacks, not a refusal: an agent deployed with
# --native across a fleet keeps profiling its older kernels.
@test "native: with the tail-call walker, --native --kernel is one notice and Python stacks only" {
	local py z
	py=$(debian_python) || skip "no /usr/bin/python3"
	start_workload "$py" "$W" zlib 30
	z=$LAST_PID
	wait_busy "$z"
	PYBPFPROF_TAIL_WALKER=1 profile --native --kernel -F 199 -d 2 -p "$z" -f folded
	[ "$PROFILE_STATUS" -eq 0 ] || { show_profile; return 1; }
	[ "$(grep -c 'Python stacks only' "$TEST_ERR")" -eq 1 ]
	grep -qx 'pybpfprof: --native --kernel: not with the tail-call walker (PYBPFPROF_TAIL_WALKER=1): Python stacks only' "$TEST_ERR"
	# zlib's work is counted at its Python caller, with no frame of a
	# library or the kernel, and no native summary.
	assert_folded_has "\\($z\\);([^;]+;)*compress_caller \\(native\\.py:$(line_of compress_call "$W")\\) [0-9]+$"
	assert_folded_lacks 'libz\.so|\[k\] |\[truncated\]'
	refute grep -q 'native stacks unwound' "$TEST_ERR"
}

# C <-> Python 300 levels deep: a stack is whole (every level, from
# <module>, alternating) or says [truncated] where the native unwinding
# stopped (the copied stack holds a few levels of the 300): below the
# marker the levels alternate recurse (C) and py_recurse (Python), one
# each, down to c_spin; above it are the Python frames that could not be
# placed, all 301 of them kept, and no native frame.
@test "native: C <-> Python recursion 300 deep is whole or marked truncated" {
	require_test_python
	PY_ROOT=""
	build_spinext
	start_native recurse 30
	wait_busy "$LAST_PID"
	profile --native --max-depth 1024 -F 199 -d 4 -p "$LAST_PID" -f folded
	[ "$PROFILE_STATUS" -eq 0 ] || { show_profile; return 1; }
	awk '
		function wrong(why) {
			bad += n
			print why ": " substr($0, 1, 300) > "/dev/stderr"
		}
		/;c_spin(\.[a-z0-9.]+)? \(spinext[^;]*\) [0-9]+$/ {
			n = $NF
			k = split(substr($0, 1, length($0) - length(n) - 1), f, ";")
			all += n
			py = 0; marker = 0; last = ""; ok = 1
			for (i = 2; i < k; i++) {
				if (f[i] == "[truncated]") {
					marker = i
					last = ""
				} else if (f[i] ~ /^py_recurse \(/) {
					py++
					if (marker && last == "py") { ok = 0; why = "two py_recurse in a row below the marker" }
					last = "py"
				} else if (f[i] ~ /^recurse \(spinext/) {
					if (last == "c") { ok = 0; why = "two recurse in a row" }
					last = "c"
				}
			}
			if (f[k - 1] !~ /^recurse \(spinext/) { ok = 0; why = "c_spin not under recurse" }
			if (py != 301) { ok = 0; why = py " py_recurse frames, not 301" }
			if (f[2] !~ /^<module> \(/) { ok = 0; why = "not rooted at <module>" }
			if (!ok) { wrong(why); next }
			if (marker) {
				# Nothing native above the marker: only <module> and py_recurse.
				for (i = 3; i < marker; i++)
					if (f[i] !~ /^py_recurse \(/) { wrong("a native frame above the marker"); next }
				trunc += n
			} else {
				# Whole: every level alternates from <module> down.
				for (i = 3; i < k; i++)
					if ((i % 2) != ((f[i] ~ /^py_recurse \(/) ? 1 : 0)) { wrong("levels out of order"); next }
				whole += n
			}
		}
		END {
			printf "# %d samples at the bottom: %d whole, %d marked truncated, %d wrong\n", all, whole, trunc, bad > "/dev/stderr"
			exit !(all >= 50 && bad == 0)
		}' "$TEST_OUT" 2>"$BATS_TEST_TMPDIR/verdict" || {
		head -5 "$BATS_TEST_TMPDIR/verdict" >&2
		tail -1 "$BATS_TEST_TMPDIR/verdict" >&2
		return 1
	}
	grep '^#' "$BATS_TEST_TMPDIR/verdict" >&3
}

# The eval loop's .cold code runs when exceptions are raised: Debian's
# stripped 3.11 has no symbols for it, only its CFI.
@test "native: an exception-heavy loop splices right on Debian's stripped python3" {
	local py full all
	py=$(debian_python) || skip "no /usr/bin/python3"
	PY=$py
	start_workload "$PY" "$W" exceptions 30
	wait_busy "$LAST_PID"
	profile --native -F 199 -d 4 -p "$LAST_PID" -f folded
	[ "$PROFILE_STATUS" -eq 0 ] || { show_profile; return 1; }
	read -r full all < <(awk '/exception_loop \(native\.py:/ {
		n = $NF; all += n
		if ($0 ~ /\(([0-9]+)\);<module> \(native\.py:[0-9]+\);exception_loop \(native\.py:[0-9]+\)(;|[ ])/ && $0 !~ /\[truncated\]/)
			full += n
	} END { printf "%d %d\n", full, all }' "$TEST_OUT")
	echo "# $full of $all samples in exception_loop whole, straight under <module>" >&3
	[ "$all" -ge 200 ] && [ $((full * 100)) -ge $((all * 90)) ] || { show_profile; return 1; }
	assert_folded_has ";exception_loop \\(native\\.py:[0-9]+\\);raiser \\(native\\.py:[0-9]+\\)"
	assert_folded_lacks '_PyEval_EvalFrameDefault'
}

@test "--kernel: large reads of /dev/urandom show the kernel's frames on top" {
	local with all line
	require_test_python
	start_workload "$PY" "$W" urandom 30
	wait_busy "$LAST_PID"
	line=$(line_of urandom_read "$W")
	profile --kernel -F 199 -d 3 -p "$LAST_PID" -f folded
	[ "$PROFILE_STATUS" -eq 0 ] || { show_profile; return 1; }
	read -r with all < <(awk -v at="<module> \\\\(native\\\\.py:$line\\\\)" '$0 ~ at {
		n = $NF; all += n
		if ($0 ~ /\(native\.py:[0-9]+\)(;\[k\] [^;]+)+ [0-9]+$/) with += n
	} END { printf "%d %d\n", with, all }' "$TEST_OUT")
	echo "# $with of $all samples on the read line end in kernel frames" >&3
	[ "$all" -ge 100 ] && [ $((with * 100)) -ge $((all * 80)) ] || { show_profile; return 1; }
	# The read system call itself is among them.
	assert_folded_has ";\\[k\\] [^;]*(read|random)[^;]*(;|[ ])"
	# --kernel with --native: libc's read between Python and the kernel.
	profile --kernel --native -F 199 -d 3 -p "$LAST_PID" -f folded
	[ "$PROFILE_STATUS" -eq 0 ] || { show_profile; return 1; }
	assert_folded_has "<module> \\(native\\.py:$line\\);([^;]+;)*[^;]*\\(libc\\.so\\.6\\);(\\[k\\] [^;]+;)*\\[k\\] [^;]+ [0-9]+$"
}

@test "--native and --kernel: bad sizes and refusals are one line before sampling" {
	run "$PYBPFPROF" --native --native-stack-size 12 -d 1
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == *"native stack size '12'"*"from 1K to 16K"* ]]
	run "$PYBPFPROF" --native --mode wall -d 1
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == *--native*wall* ]]
}
