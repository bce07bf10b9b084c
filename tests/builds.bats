#!/usr/bin/env bats
# Build shapes and names a host runs: old versions (pyenv 2.7, 3.6, 3.7),
# 2.7 and 3.6 with a stripped libpython (a distribution's shape), C
# programs embedding libpython (shared, and static + stripped), copied
# and renamed interpreter binaries, a process that renames itself, and
# interpreters that cannot be profiled. setup_file prepares and starts
# all of them, takes ONE system-wide profile, keeps what the tests check
# of /proc, and stops them; each test checks one of them in that profile.

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

	[ "$(id -u)" -eq 0 ] || return 0
	PLAN_LABELS=() PLAN_CMDS=() PLAN_NOTE=()

	# Old versions, pyenv builds (shared libpython with .symtab).
	for v in 2.7 3.6 3.7; do
		if py=$(find_python "$v"); then
			plan "pyenv-$v" "$f" "$py" "$f" 90 2
		else
			note_skip "pyenv-$v" "CPython $v not installed under $PYENV_ROOT/versions"
		fi
	done

	# 2.7 and 3.6 as distributions ship them: libpython without .symtab,
	# so no interp_head symbol. LD_LIBRARY_PATH beats pyenv's RUNPATH.
	for v in 2.7 3.6; do
		if ! py=$(find_python "$v"); then
			note_skip "stripped-$v" "CPython $v not installed under $PYENV_ROOT/versions"
			continue
		fi
		if lib=$(libpython_of "$py" "$v") && mkdir -p "$t/stripped-$v" &&
		   strip -o "$t/stripped-$v/${lib##*/}" "$lib"; then
			plan "stripped-$v" "$f" env LD_LIBRARY_PATH="$t/stripped-$v" "$py" "$f" 90 2
		else
			note_fail "stripped-$v" "cannot make a stripped copy of libpython$v"
		fi
	done

	# A C program embedding pyenv's shared libpython3.12.
	if ! py=$(find_python 3.12); then
		note_skip embedhost "CPython 3.12 not installed under $PYENV_ROOT/versions"
	elif why=$(build_embed "$py-config" "$t/embedhost"); then
		plan embedhost "$f" "$t/embedhost" "$f" 90 2
	else
		note_skip embedhost "$why"
	fi

	# ... and one with Debian's static libpython3.11 linked in, then
	# stripped: no exported symbol, only the .PyRuntime section.
	cfg=/usr/bin/python3.11-config
	if [ ! -x "$cfg" ] ||
	   [ ! -f "$("$cfg" --configdir)/libpython3.11-pic.a" ]; then
		note_skip embedstatic "Debian's libpython3.11-pic.a not installed (python3.11-dev)"
	elif why=$(build_embed "$cfg" "$t/embedstatic" \
			"-L$("$cfg" --configdir) -l:libpython3.11-pic.a -lexpat -lz"); then
		strip "$t/embedstatic"
		plan embedstatic "$f" "$t/embedstatic" "$f" 90 2
	else
		note_skip embedstatic "$why"
	fi

	# Copied and renamed interpreters.
	if [ -x /usr/bin/python3.11 ]; then
		cp /usr/bin/python3.11 "$t/notpython"
		plan notpython "$f" "$t/notpython" "$f" 90 2
	else
		note_skip notpython "/usr/bin/python3.11 not installed"
	fi
	if py=$(find_python 3.12); then
		cp "$py" "$t/worker-bin"
		plan worker-bin "$f" "$t/worker-bin" "$f" 90 2
	else
		note_skip worker-bin "CPython 3.12 not installed under $PYENV_ROOT/versions"
	fi

	# Processes that rename themselves: before the profile starts, and
	# after it has found them.
	if py=$(find_python 3.12); then
		plan rename-early "$WORKLOADS/rename.py" "$py" "$WORKLOADS/rename.py" 90 renamed-early
		plan rename-late "$WORKLOADS/rename.py" "$py" "$WORKLOADS/rename.py" 90 renamed-late
	else
		note_skip rename-early "CPython 3.12 not installed under $PYENV_ROOT/versions"
		note_skip rename-late "CPython 3.12 not installed under $PYENV_ROOT/versions"
	fi

	# Not profilable: a 3.11 whose Py_Version claims 3.99, and a
	# stripped libpython2.7 whose PyInterpreterState_Head() we cannot
	# decode (made to read "xor %eax,%eax; ret"). They only sleep.
	if [ -x /usr/bin/python3.11 ]; then
		if cp /usr/bin/python3.11 "$t/python3.99" &&
		   elf_patch "$t/python3.99" Py_Version '\x00\x00\x63\x03'; then
			plan fake-3.99 "$t/python3.99" "$t/python3.99" -c 'import time; time.sleep(90)'
		else
			note_skip fake-3.99 "no Py_Version in /usr/bin/python3.11's .dynsym"
		fi
	else
		note_skip fake-3.99 "/usr/bin/python3.11 not installed"
	fi
	lib=$t/lacking-2.7/libpython2.7.so.1.0
	if ! py=$(find_python 2.7); then
		note_skip lacking-2.7 "CPython 2.7 not installed under $PYENV_ROOT/versions"
	elif mkdir -p "${lib%/*}" && strip -o "$lib" "$(libpython_of "$py" 2.7)" &&
	     elf_patch "$lib" PyInterpreterState_Head '\x31\xc0\xc3\x90\x90\x90\x90\x90'; then
		plan lacking-2.7 "$lib" env LD_LIBRARY_PATH="${lib%/*}" "$py" \
			-c 'import time; time.sleep(90)'
	else
		note_fail lacking-2.7 "cannot make a stripped, patched copy of libpython2.7"
	fi

	start_planned
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

@test "a C program embedding libpython3.12, found by its ELF files, named by its comm" {
	require_root
	workload embedhost
	use_file_profile
	local pid=${WL[0]} py
	py=$(find_python 3.12)
	assert_named "$pid" embedhost 3.12 "${py%/bin/*}/lib/libpython3.12.so.1.0"
	assert_root_frame "$pid" embedhost
	assert_nested "$pid" "${WL[1]}" qual
}

@test "a stripped C program with a static libpython3.11 in it (no exported symbols)" {
	require_root
	workload embedstatic
	use_file_profile
	local pid=${WL[0]}
	if nm -D "$BATS_FILE_TMPDIR/embedstatic" 2>/dev/null | grep -q ' Py_Initialize$'; then
		echo "embedstatic exports Py_Initialize" >&2
		return 1
	fi
	assert_named "$pid" embedstatic 3.11 "$BATS_FILE_TMPDIR/embedstatic"
	assert_root_frame "$pid" embedstatic
	assert_nested "$pid" "${WL[1]}" qual
}

@test "a copy of Debian's static python3.11 named notpython" {
	require_root
	workload notpython
	use_file_profile
	assert_named "${WL[0]}" notpython 3.11 "$BATS_FILE_TMPDIR/notpython"
	assert_root_frame "${WL[0]}" notpython
	assert_nested "${WL[0]}" "${WL[1]}" qual
}

@test "a copy of pyenv's python3.12 executable named worker-bin" {
	require_root
	workload worker-bin
	use_file_profile
	local py
	py=$(find_python 3.12)
	assert_named "${WL[0]}" worker-bin 3.12 "${py%/bin/*}/lib/libpython3.12.so.1.0"
	assert_root_frame "${WL[0]}" worker-bin
	assert_nested "${WL[0]}" "${WL[1]}" qual
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
	local pid=${WL[0]} f=${WL[1]}
	# It did rename itself, while profiled.
	[ "$(cat "$(snapshot_of "$pid")/comm")" = renamed-late ]
	assert_root_frame "$pid" python3.12
	assert_folded_has "^python3\\.12 \\($pid\\);<module> \\($(re_file "$f"):[0-9]+\\);before_rename \\($(re_file "$f"):$(line_of before_hot "$f")\\) [0-9]+$"
	assert_folded_has "^python3\\.12 \\($pid\\);<module> \\($(re_file "$f"):[0-9]+\\);after_rename \\($(re_file "$f"):$(line_of after_hot "$f")\\) [0-9]+$"
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
