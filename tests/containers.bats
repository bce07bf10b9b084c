#!/usr/bin/env bats
# Debian's own interpreters (trixie 3.13, sid 3.14 and 3.15, bullseye 2.7
# and 3.9: static or PIE, stripped), each inside a minimal Debian root
# entered like a container: new PID and mount namespaces, pivot_root +
# chroot. Their binaries' paths in /proc/PID/maps are the container's,
# and their TIDs are not the host's. setup_file builds the roots (once,
# cached in tests/.cache/rootfs by tools/make-rootfs), starts
# tests/workloads/nested.py in each and in every host interpreter (pyenv
# 2.7, 3.6-3.13, Debian's static python3; free-threaded 3.13t has its own
# file, freethreaded.bats, as it must be built first),
# takes ONE system-wide profile of the whole fleet, keeps what the tests check of /proc, and stops
# the workloads; each test then checks one interpreter in that profile.

load helpers

# The pyenv interpreters started beside them.
PYENV_VERSIONS=(2.7 3.6 3.7 3.8 3.9 3.10 3.11 3.12 3.13)


# LABEL ROOT-NAME INTERPRETER: nested.py in that root, as /work/nested.py.
start_nested_in_root() {
	local label=$1 name=$2 py=$3 root=$ROOTFS_DIR/$2

	if [ ! -f "$ROOTFS_DIR/$name.stamp" ]; then
		note_skip "$label" "Debian root $name could not be built: see $ROOTFS_DIR/$name.log"
		return 0
	fi
	if ! command -v unshare >/dev/null; then
		note_skip "$label" "unshare not installed (util-linux)"
		return 0
	fi
	put_in_root "$root" "$WORKLOADS/nested.py"
	if start_in_root "$root" "$py" /work/nested.py 90 2; then
		note_workload "$label" "$LAST_PID" /work/nested.py "$py"
	else
		note_fail "$label" "$py did not start in $root"
	fi
}

setup_file() {
	local spec py f=$WORKLOADS/nested.py

	[ "$(id -u)" -eq 0 ] || return 0
	# In parallel: downloads of one overlap unpacking of another.
	for spec in "${DEBIAN_ROOTS[@]}"; do
		# shellcheck disable=SC2086
		build_rootfs $spec &
	done
	wait

	start_nested_in_root trixie-3.13 trixie /usr/bin/python3.13
	start_nested_in_root sid-3.14 sid /usr/bin/python3.14
	start_nested_in_root sid-3.15 sid /usr/bin/python3.15
	start_nested_in_root bullseye-2.7 bullseye /usr/bin/python2.7
	start_nested_in_root bullseye-3.9 bullseye /usr/bin/python3.9
	# Host interpreters in the same profile: Debian's, and pyenv's.
	if py=$(debian_python); then
		start_bg "$py" "$f" 90 2 3>&-
		note_workload host-debian "$LAST_PID" "$f" "$py"
	else
		note_skip host-debian "/usr/bin/python3 not installed"
	fi
	for v in "${PYENV_VERSIONS[@]}"; do
		if py=$(find_python "$v"); then
			start_bg "$py" "$f" 90 2 3>&-
			note_workload "host-pyenv-$v" "$LAST_PID" "$f" "$py"
		else
			note_skip "host-pyenv-$v" "pyenv's CPython $v not installed (looked in $(pyenv_where))"
		fi
	done
	wait_started 1
	# 15 processes of 3 busy threads share 2 CPUs: 8 s at 199 Hz
	# gives each thread some 60 samples.
	file_profile -v -F 199 -d 8 -f folded
	snapshot_workloads
	kill_bg_all
}

teardown_file() {
	kill_bg_all
}

# Checks for the containerised interpreter LABEL of root NAME, STYLE as
# for assert_nested, SOURCE the layout source -v names ("" = the table).
check_container() {
	local label=$1 name=$2 style=$3 source=$4 pid py snap n host inner tids=0
	require_root
	require_rootfs "$name"
	workload "$label"
	pid=${WL[0]} py=${WL[2]}
	use_file_profile
	snap=$(snapshot_of "$pid")

	# A container: the maps name the binary by its path inside the root,
	# which is not that file on the host.
	grep -Eq " $(re_escape "$py")\$" "$snap/maps"
	# shellcheck disable=SC2153  # ROOTFS: set by require_rootfs
	if grep -F "$ROOTFS" "$snap/maps" >&2; then
		echo "maps name the root's host path" >&2
		return 1
	fi
	[ "$(stat -c %d:%i "$ROOTFS/$py")" != "$(stat -c %d:%i "$py" 2>/dev/null)" ]
	# Its own PID namespace: every thread has a namespaced TID, unlike ours.
	[ "$(cat "$snap/pidns")" != "$(readlink /proc/self/ns/pid)" ]
	while read -r _ host inner n; do
		[ -n "$inner" ]
		[ -z "$n" ]
		[ "$host" != "$inner" ]
		tids=$((tids + 1))
	done <"$snap/nspid"
	[ "$tids" -ge 3 ]

	grep -Eq "^pybpfprof: pid $pid \\($(re_escape "$(basename "$py")")\\): CPython [0-9.]+, $(re_escape "$py")${source:+ \\($source\\)}\$" "$TEST_ERR"
	assert_nested "$pid" "${WL[1]}" "$style"
}

@test "container: Debian trixie's python3.13 (debug offsets)" {
	check_container trixie-3.13 trixie qual "debug offsets"
}

@test "container: Debian sid's python3.14 (debug offsets, tagged frame pointers)" {
	check_container sid-3.14 sid qual "debug offsets"
}

@test "container: Debian sid's python3.15 (debug offsets)" {
	check_container sid-3.15 sid qual "debug offsets"
}

@test "container: Debian bullseye's stripped PIE python2.7 (interp_head from PyInterpreterState_Head)" {
	check_container bullseye-2.7 bullseye name ""
}

@test "container: Debian bullseye's static, stripped python3.9" {
	check_container bullseye-3.9 bullseye name ""
}

@test "a host interpreter in the same profile: Debian's static /usr/bin/python3" {
	require_root
	use_file_profile
	workload host-debian
	# shellcheck disable=SC2034  # read by python_vars
	PY=${WL[2]}
	python_vars
	if [ -n "$QUAL" ]; then
		assert_nested "${WL[0]}" "${WL[1]}" qual
	else
		assert_nested "${WL[0]}" "${WL[1]}" name
	fi
}

# check_host LABEL STYLE
check_host() {
	require_root
	use_file_profile
	workload "$1"
	assert_nested "${WL[0]}" "${WL[1]}" "$2"
}

@test "same profile: pyenv 2.7" { check_host host-pyenv-2.7 name; }
@test "same profile: pyenv 3.6" { check_host host-pyenv-3.6 name; }
@test "same profile: pyenv 3.7" { check_host host-pyenv-3.7 name; }
@test "same profile: pyenv 3.8" { check_host host-pyenv-3.8 name; }
@test "same profile: pyenv 3.9" { check_host host-pyenv-3.9 name; }
@test "same profile: pyenv 3.10" { check_host host-pyenv-3.10 name; }
@test "same profile: pyenv 3.11" { check_host host-pyenv-3.11 qual; }
@test "same profile: pyenv 3.12" { check_host host-pyenv-3.12 qual; }
@test "same profile: pyenv 3.13" { check_host host-pyenv-3.13 qual; }

@test "the one profile: every Python process named, nothing unsupported" {
	require_root
	use_file_profile
	# Each of our workloads is in the output, none was refused, and
	# -v named each one once.
	local label pid rest n=0
	while read -r label pid rest; do
		[[ "$pid" =~ ^[0-9]+$ ]] || continue
		grep -q "^[^;]* ($pid);" "$TEST_OUT"
		if grep "^pybpfprof: pid $pid .*not profiled" "$TEST_ERR" >&2; then
			return 1
		fi
		[ "$(grep -c "^pybpfprof: pid $pid " "$TEST_ERR")" -eq 1 ]
		n=$((n + 1))
	done <"$BATS_FILE_TMPDIR/workloads"
	[ "$n" -gt 0 ] || skip "no workload started"
	grep -Eq '[0-9]+ Python processes seen' "$TEST_ERR"
}
