#!/usr/bin/env bats
# Build shapes and names a host runs: old versions (pyenv 2.7, 3.6, 3.7),
# 2.7 and 3.6 with a stripped libpython (a distribution's shape), C
# programs embedding libpython (shared, and static + stripped), copied
# and renamed interpreter binaries, a process that renames itself, and
# interpreters that cannot be profiled. setup_file prepares and starts
# all of them, takes ONE system-wide profile, keeps what the tests check
# of /proc, and stops them; each test checks one of them in that profile.
# Without pyenv, the embedder links Debian's libpython (python3-dev), the
# renamed process is Debian's python3, and the 2.7 build that cannot be
# profiled is Debian bullseye's python2.7, patched, in its root.

load helpers

# File offset of SYMBOL's value in ELF FILE (from .dynsym).
elf_symbol_offset() {
	local file=$1 sym=$2 val ndx addr off
	read -r val ndx < <(readelf -W --dyn-syms "$file" |
		awk -v s="$sym" '$8 == s && $7 ~ /^[0-9]+$/ { print $2, $7; exit }')
	[ -n "$val" ] || return 1
	read -r addr off < <(readelf -W -S "$file" |
		sed -n "s/^ *\\[ *$ndx\\] //p" | awk '{ print $3, $4 }')
	[ -n "$off" ] || return 1
	echo $((16#$val - 16#$addr + 16#$off))
}

# Overwrite the bytes at SYMBOL in FILE with BYTES (printf escapes).
elf_patch() {
	local file=$1 sym=$2 bytes=$3 off
	off=$(elf_symbol_offset "$file" "$sym") || return 1
	# shellcheck disable=SC2059
	printf "$bytes" | dd of="$file" bs=1 seek="$off" conv=notrunc status=none
}

# pyenv's libpython X.Y beside its interpreter PY.
libpython_of() {
	local py=$1 v=$2 lib
	for lib in "${py%/bin/*}"/lib/libpython"$v"*.so.1.0; do
		[ -f "$lib" ] && echo "$lib" && return 0
	done
	return 1
}

# Build tests/workloads/embed.c against python3.X-config CFG into OUT;
# EXTRA replaces -lpython3.X (a static archive, say). Echoes why not.
build_embed() {
	local cfg=$1 out=$2 extra=${3:-} ldflags
	command -v cc >/dev/null || { echo "no C compiler"; return 1; }
	ldflags=$("$cfg" --embed --ldflags) || { echo "$cfg --embed failed"; return 1; }
	[ -z "$extra" ] || ldflags=$(printf '%s' "$ldflags" | sed 's/-lpython[0-9.]*//')
	# shellcheck disable=SC2046,SC2086
	if ! cc -O1 $("$cfg" --cflags) -o "$out" "$WORKLOADS/embed.c" $extra $ldflags \
		>"$out.log" 2>&1; then
		echo "cannot build embed.c with $cfg: $(grep -m1 -i error "$out.log")"
		return 1
	fi
}

# LABEL NOTE CMD...: start CMD later, in start_planned (after every
# build: compiling beside a dozen busy interpreters is slow), and note
# it with NOTE (the script it runs, or the binary a test names).
plan() {
	PLAN_LABELS+=("$1")
	PLAN_NOTE+=("$2")
	shift 2
	PLAN_CMDS+=("$(printf '%q ' "$@")")
}

# Start every planned command and note it.
start_planned() {
	local i words
	for i in "${!PLAN_LABELS[@]}"; do
		eval "words=(${PLAN_CMDS[$i]})"
		start_bg "${words[@]}" 3>&-
		note_workload "${PLAN_LABELS[$i]}" "$LAST_PID" "${PLAN_NOTE[$i]}"
	done
}

setup_file() {
	local f=$WORKLOADS/nested.py t=$BATS_FILE_TMPDIR v py lib cfg why late early
	local tp dpy lacking_root

	[ "$(id -u)" -eq 0 ] || return 0
	PLAN_LABELS=() PLAN_CMDS=() PLAN_NOTE=()
	tp=$(test_python) || tp=""
	dpy=$(debian_python) || dpy=""

	# Old versions, pyenv builds (shared libpython with .symtab).
	for v in 2.7 3.6 3.7; do
		if py=$(find_python "$v"); then
			plan "pyenv-$v" "$f" "$py" "$f" 90 2
		else
			note_skip "pyenv-$v" "pyenv's CPython $v not installed (looked in $(pyenv_where))"
		fi
	done

	# 2.7 and 3.6 as distributions ship them: libpython without .symtab,
	# so no interp_head symbol. LD_LIBRARY_PATH beats pyenv's RUNPATH.
	for v in 2.7 3.6; do
		if ! py=$(find_python "$v"); then
			why="pyenv's CPython $v not installed (looked in $(pyenv_where)): its shared libpython is what gets stripped"
			[ "$v" != 2.7 ] || why="$why (containers.bats runs Debian's stripped python2.7)"
			note_skip "stripped-$v" "$why"
			continue
		fi
		if lib=$(libpython_of "$py" "$v") && mkdir -p "$t/stripped-$v" &&
		   strip -o "$t/stripped-$v/${lib##*/}" "$lib"; then
			plan "stripped-$v" "$f" env LD_LIBRARY_PATH="$t/stripped-$v" "$py" "$f" 90 2
		else
			note_fail "stripped-$v" "cannot make a stripped copy of libpython$v"
		fi
	done

	# A C program embedding a shared libpython: the tests' interpreter's
	# (pyenv's 3.12), else Debian's (python3-dev, libpython3.X.so).
	# Noted with its version and the libpython it maps.
	cfg=""
	for py in "$tp" "$dpy"; do
		if [ -n "$py" ] && [ -x "$py-config" ]; then
			cfg=$py-config
			break
		fi
	done
	if [ -z "$cfg" ]; then
		note_skip embedhost "no python3.X-config beside ${tp:-python3} (python3-dev not installed)"
	elif why=$(build_embed "$cfg" "$t/embedhost"); then
		if lib=$(ldd "$t/embedhost" | awk '$1 ~ /^libpython/ { print $3; exit }') &&
		   [ -n "$lib" ]; then
			plan embedhost "$f $(version_of "${cfg%-config}") $(readlink -f "$lib")" \
				"$t/embedhost" "$f" 90 2
		else
			note_skip embedhost "$cfg --embed links no shared libpython"
		fi
	else
		note_skip embedhost "$why"
	fi

	# ... and one with Debian's static libpython linked in, then
	# stripped: no exported symbol, only the .PyRuntime section.
	if [ -z "$dpy" ]; then
		note_skip embedstatic "/usr/bin/python3 not installed"
	else
		v=$(version_of "$dpy") cfg=$dpy-config
		if [ ! -x "$cfg" ] || [ ! -f "$("$cfg" --configdir)/libpython$v-pic.a" ]; then
			note_skip embedstatic "Debian's libpython$v-pic.a not installed (python$v-dev)"
		elif why=$(build_embed "$cfg" "$t/embedstatic" \
				"-L$("$cfg" --configdir) -l:libpython$v-pic.a -lexpat -lz"); then
			strip "$t/embedstatic"
			plan embedstatic "$f $v" "$t/embedstatic" "$f" 90 2
		else
			note_skip embedstatic "$why"
		fi
	fi

	# Copied and renamed interpreters: Debian's static python3, and an
	# executable of pyenv's that loads its shared libpython.
	if [ -n "$dpy" ]; then
		cp "$dpy" "$t/notpython"
		plan notpython "$f $(version_of "$dpy")" "$t/notpython" "$f" 90 2
	else
		note_skip notpython "/usr/bin/python3 not installed"
	fi
	py=$(find_python 3.12) || py=$(find_python "$(newest_pyenv3)") || py=""
	if [ -n "$py" ] && lib=$(libpython_of "$py" "$(version_of "$py")"); then
		cp "$py" "$t/worker-bin"
		plan worker-bin "$f $(version_of "$py") $lib" "$t/worker-bin" "$f" 90 2
	else
		note_skip worker-bin "no pyenv CPython 3 with a shared libpython ($(pyenv_where)); Debian's python3 is static: see notpython"
	fi

	# Processes that rename themselves: before the profile starts, and
	# after it has found them. Noted with the interpreter's comm.
	if [ -n "$tp" ]; then
		v=$(basename "$tp" | cut -c1-15)
		plan rename-early "$WORKLOADS/rename.py $v" "$tp" "$WORKLOADS/rename.py" 90 renamed-early
		plan rename-late "$WORKLOADS/rename.py $v" "$tp" "$WORKLOADS/rename.py" 90 renamed-late
	else
		note_skip rename-early "$(no_test_python)"
		note_skip rename-late "$(no_test_python)"
	fi

	# Not profilable: Debian's python3 (3.11+) whose Py_Version claims
	# 3.99, and a 2.7 build without .symtab whose PyInterpreterState_Head()
	# we cannot decode (made to read "xor %eax,%eax; ret"). They only
	# sleep.
	if [ -n "$dpy" ]; then
		if cp "$dpy" "$t/python3.99" &&
		   elf_patch "$t/python3.99" Py_Version '\x00\x00\x63\x03'; then
			plan fake-3.99 "$t/python3.99" "$t/python3.99" -c 'import time; time.sleep(90)'
		else
			note_skip fake-3.99 "no Py_Version in $dpy's .dynsym"
		fi
	else
		note_skip fake-3.99 "/usr/bin/python3 not installed"
	fi
	# pyenv's libpython2.7, stripped; else Debian bullseye's python2.7
	# (stripped already), in its root.
	lib=$t/lacking-2.7/libpython2.7.so.1.0
	lacking_root=""
	if py=$(find_python 2.7); then
		if mkdir -p "${lib%/*}" && strip -o "$lib" "$(libpython_of "$py" 2.7)" &&
		   elf_patch "$lib" PyInterpreterState_Head '\x31\xc0\xc3\x90\x90\x90\x90\x90'; then
			plan lacking-2.7 "$lib" env LD_LIBRARY_PATH="${lib%/*}" "$py" \
				-c 'import time; time.sleep(90)'
		else
			note_fail lacking-2.7 "cannot make a stripped, patched copy of libpython2.7"
		fi
	else
		build_debian_root bullseye
		lacking_root=$ROOTFS_DIR/bullseye
		if [ ! -f "$ROOTFS_DIR/bullseye.stamp" ]; then
			why="no pyenv CPython 2.7 ($(pyenv_where)), and Debian root bullseye could not be built: see $ROOTFS_DIR/bullseye.log"
			if [ -n "${PYBPFPROF_REQUIRE_ROOTFS:-}" ]; then
				note_fail lacking-2.7 "$why"
			else
				note_skip lacking-2.7 "$why"
			fi
			lacking_root=""
		elif ! { mkdir -p "$lacking_root/work/lacking" &&
			 cp "$lacking_root/usr/bin/python2.7" "$lacking_root/work/lacking/python2.7" &&
			 elf_patch "$lacking_root/work/lacking/python2.7" PyInterpreterState_Head \
				'\x31\xc0\xc3\x90\x90\x90\x90\x90'; }; then
			note_fail lacking-2.7 "cannot make a patched copy of bullseye's python2.7"
			lacking_root=""
		fi
	fi

	start_planned
	if [ -n "$lacking_root" ]; then
		if start_in_root "$lacking_root" /work/lacking/python2.7 \
			-c 'import time; time.sleep(90)'; then
			note_workload lacking-2.7 "$LAST_PID" /work/lacking/python2.7
		else
			note_fail lacking-2.7 "bullseye's patched python2.7 did not start"
		fi
	fi
	wait_started 1
	early=$(workload_pid rename-early)
	late=$(workload_pid rename-late)
	if [ -n "$early" ]; then
		kill -USR1 "$early"
		for _ in $(seq 50); do
			[ "$(cat "/proc/$early/comm")" = renamed-early ] && break
			sleep 0.1
		done
	fi
	file_profile -v -F 199 -d 5 -f folded &
	local prof=$!
	# Rename the late one once the profiler has named it (-v).
	if [ -n "$late" ]; then
		for _ in $(seq 300); do
			grep -q "^pybpfprof: pid $late " "$t/profile.err" 2>/dev/null && break
			sleep 0.1
		done
		# Let it be sampled under its first name for a while.
		sleep 1.5
		kill -USR1 "$late"
	fi
	wait "$prof"
	snapshot_workloads
	kill_bg_all
}

teardown_file() {
	kill_bg_all
}

# The PID noted for LABEL (setup_file's own use).
workload_pid() {
	awk -v l="$1" '$1 == l && $2 ~ /^[0-9]+$/ { print $2; exit }' \
		"$BATS_FILE_TMPDIR/workloads" 2>/dev/null
}

# The -v line naming PID: comm COMM, CPython VERSION, binary BINARY.
assert_named() {
	local pid=$1 comm=$2 version=$3 binary=$4
	grep -Eq "^pybpfprof: pid $pid \\($(re_escape "$comm")\\): CPython $(re_escape "$version"), $(re_escape "$binary")( \\(debug offsets\\))?\$" "$TEST_ERR" || {
		echo "no -v line for pid $pid ($comm), CPython $version, $binary:" >&2
		grep "pid $pid " "$TEST_ERR" >&2
		return 1
	}
}

# The folded root frame of every stack of PID is "COMM (PID)".
assert_root_frame() {
	local pid=$1 comm=$2
	grep -qF "$comm ($pid);" "$TEST_OUT"
	if grep -F "($pid);" "$TEST_OUT" | grep -vF "$comm ($pid);" >&2; then
		echo "pid $pid has stacks under another root frame than $comm" >&2
		return 1
	fi
}

# Exactly one stderr line for PID: "pid PID (COMM): BINARY: WHY; not
# profiled"; no stack of it; every other workload profiled.
assert_refused() {
	local pid=$1 comm=$2 binary=$3 why=$4 label p rest
	[ "$(grep -c "pid $pid " "$TEST_ERR")" -eq 1 ] || {
		grep "pid $pid " "$TEST_ERR" >&2
		return 1
	}
	grep -Eqx "pybpfprof: pid $pid \\($(re_escape "$comm")\\): $(re_escape "$binary"): $(re_escape "$why"); not profiled" "$TEST_ERR" || {
		echo "expected: pybpfprof: pid $pid ($comm): $binary: $why; not profiled" >&2
		grep "pid $pid " "$TEST_ERR" >&2
		return 1
	}
	if grep -qF "($pid);" "$TEST_OUT"; then
		echo "pid $pid was profiled" >&2
		return 1
	fi
	while read -r label p rest; do
		case $label in fake-*|lacking-*) continue ;; esac
		[[ ! "$p" =~ ^[0-9]+$ ]] || grep -q "^[^;]* ($p);" "$TEST_OUT"
	done <"$BATS_FILE_TMPDIR/workloads"
}

old_version() {
	local v=$1 py
	require_root
	workload "pyenv-$v"
	use_file_profile
	py=$(find_python "$v")
	assert_named "${WL[0]}" "python$v" "$v" "$(libpython_of "$py" "$v")"
	assert_nested "${WL[0]}" "${WL[1]}" name
}

@test "pyenv CPython 2.7: stacks, names and lines (interp_head from .symtab)" {
	old_version 2.7
}

@test "pyenv CPython 3.6: stacks, names and lines (interp_head from .symtab)" {
	old_version 3.6
}

@test "pyenv CPython 3.7: stacks, names and lines" {
	old_version 3.7
}

stripped_version() {
	local v=$1
	require_root
	workload "stripped-$v"
	use_file_profile
	# The stripped copy is what the process maps, with no .symtab.
	local lib
	lib=$(grep -o "/.*/stripped-$v/libpython.*" "$(snapshot_of "${WL[0]}")/maps" | head -1)
	[ -n "$lib" ]
	if readelf -S "$lib" | grep -q '\.symtab'; then
		echo "$lib has a .symtab" >&2
		return 1
	fi
	assert_named "${WL[0]}" "python$v" "$v" "$lib"
	assert_nested "${WL[0]}" "${WL[1]}" name
}

@test "CPython 2.7 with a stripped libpython: interp_head from PyInterpreterState_Head()" {
	stripped_version 2.7
}

@test "CPython 3.6 with a stripped libpython: interp_head from PyInterpreterState_Head()" {
	stripped_version 3.6
}

# qual or name: how CPython X.Y names methods (see assert_nested).
style_of() {
	if version_ge "$1" 3.11; then echo qual; else echo name; fi
}

@test "a C program embedding a shared libpython, found by its ELF files, named by its comm" {
	require_root
	workload embedhost
	use_file_profile
	local pid=${WL[0]}
	# WL: PID, script, version, the libpython it maps.
	assert_named "$pid" embedhost "${WL[2]}" "${WL[3]}"
	grep -qF " ${WL[3]}" "$(snapshot_of "$pid")/maps"
	assert_root_frame "$pid" embedhost
	assert_nested "$pid" "${WL[1]}" "$(style_of "${WL[2]}")"
}

@test "a stripped C program with Debian's static libpython in it (no exported symbols)" {
	require_root
	workload embedstatic
	use_file_profile
	local pid=${WL[0]}
	if nm -D "$BATS_FILE_TMPDIR/embedstatic" 2>/dev/null | grep -q ' Py_Initialize$'; then
		echo "embedstatic exports Py_Initialize" >&2
		return 1
	fi
	assert_named "$pid" embedstatic "${WL[2]}" "$BATS_FILE_TMPDIR/embedstatic"
	assert_root_frame "$pid" embedstatic
	assert_nested "$pid" "${WL[1]}" "$(style_of "${WL[2]}")"
}

@test "a copy of Debian's static python3 named notpython" {
	require_root
	workload notpython
	use_file_profile
	assert_named "${WL[0]}" notpython "${WL[2]}" "$BATS_FILE_TMPDIR/notpython"
	assert_root_frame "${WL[0]}" notpython
	assert_nested "${WL[0]}" "${WL[1]}" "$(style_of "${WL[2]}")"
}

@test "a copy of pyenv's python executable named worker-bin" {
	require_root
	workload worker-bin
	use_file_profile
	# WL: PID, script, version, its libpython.
	assert_named "${WL[0]}" worker-bin "${WL[2]}" "${WL[3]}"
	assert_root_frame "${WL[0]}" worker-bin
	assert_nested "${WL[0]}" "${WL[1]}" "$(style_of "${WL[2]}")"
}

@test "comm changed before discovery: the new name is the root frame" {
	require_root
	workload rename-early
	use_file_profile
	local pid=${WL[0]} f=${WL[1]}
	[ "$(cat "$(snapshot_of "$pid")/comm")" = renamed-early ]
	assert_root_frame "$pid" renamed-early
	assert_folded_has "^renamed-early \\($pid\\);<module> \\($(re_file "$f"):[0-9]+\\);after_rename \\($(re_file "$f"):$(line_of after_hot "$f")\\) [0-9]+$"
}

@test "comm changed after discovery: the comm read then stays, the stack is still profiled" {
	require_root
	workload rename-late
	use_file_profile
	# WL: PID, script, the interpreter's comm before the rename.
	local pid=${WL[0]} f=${WL[1]} comm=${WL[2]} c
	c=$(re_escape "$comm")
	# It did rename itself, while profiled.
	[ "$(cat "$(snapshot_of "$pid")/comm")" = renamed-late ]
	assert_root_frame "$pid" "$comm"
	assert_folded_has "^$c \\($pid\\);<module> \\($(re_file "$f"):[0-9]+\\);before_rename \\($(re_file "$f"):$(line_of before_hot "$f")\\) [0-9]+$"
	assert_folded_has "^$c \\($pid\\);<module> \\($(re_file "$f"):[0-9]+\\);after_rename \\($(re_file "$f"):$(line_of after_hot "$f")\\) [0-9]+$"
}

@test "an unsupported version: one stderr line with PID, binary and version; the rest profiled" {
	require_root
	workload fake-3.99
	use_file_profile
	assert_refused "${WL[0]}" python3.99 "${WL[1]}" "CPython 3.99 is not supported"
}

@test "a build lacking what 2.7 needs: one stderr line saying what is missing; the rest profiled" {
	require_root
	workload lacking-2.7
	use_file_profile
	assert_refused "${WL[0]}" python2.7 "${WL[1]}" \
		"CPython 2.7 build has no interp_head symbol (.symtab stripped) and no PyInterpreterState_Head() to decode"
}
