#!/usr/bin/env bats
# pybpfprof [options] -- COMMAND [ARG]...: the command is started by the
# profiler, profiled with its descendants from their first instruction
# (and only them), runs as the sudo user, and its exit status is ours.

bats_require_minimum_version 1.5.0
load helpers

teardown() {
	[ -z "${USERDIR:-}" ] || rm -rf "$USERDIR"
	kill_bg
}

setup() {
	require_root
	require_test_python
	W=$WORKLOADS/command.py
	WE=$(re_file "$W")
	T=$BATS_TEST_TMPDIR
}

@test "COMMAND is profiled from its first instruction, and the run ends when it exits" {
	local t0 t1
	t0=$(date +%s%N)
	run --separate-stderr "$PYBPFPROF" -F 499 -f folded -- "$PY" "$W" startup 0.4
	t1=$(date +%s%N)
	[ "$status" -eq 0 ]
	# It stopped when the command did, not after a duration.
	[ $(((t1 - t0) / 1000000)) -lt 5000 ]
	TEST_OUT=$T/out TEST_ERR=$T/err
	echo "$output" >"$TEST_OUT"
	echo "$stderr" >"$TEST_ERR"
	# The function the module body calls first, with its callers.
	assert_folded_has "^[^;]+ \\([0-9]+\\);<module> \\($WE:$(line_of main_call "$W")\\);main \\($WE:[0-9]+\\);startup_spin \\($WE:$(line_of startup_call "$W")\\);spin \\($WE:$(line_of spin_hot "$W")\\) [0-9]+$"
	# 0.4 s at 499 Hz is ~200 samples: most of them, not a late handful.
	local n
	n=$(grep -E ';startup_spin ' "$TEST_OUT" | awk '{ s += $NF } END { print s + 0 }')
	[ "$n" -ge 120 ]
}

@test "COMMAND's exit status is pybpfprof's, and 128+N when a signal killed it" {
	run --separate-stderr "$PYBPFPROF" -o "$T/p.txt" -- "$PY" "$W" status 3
	[ "$status" -eq 3 ]
	grep -q 'spin' "$T/p.txt"
	run --separate-stderr "$PYBPFPROF" -o "$T/q.txt" -- "$PY" "$W" signal 15
	[ "$status" -eq 143 ]
	grep -q 'spin' "$T/q.txt"
}

@test "a forked child and a subprocess are profiled; other processes are not" {
	start_workload "$PY" "$WORKLOADS/nested.py" 30
	local other=$LAST_PID
	wait_busy "$other"
	run --separate-stderr "$PYBPFPROF" -F 199 -f folded -- "$PY" "$W" children 1.5
	[ "$status" -eq 0 ]
	TEST_OUT=$T/out TEST_ERR=$T/err
	echo "$output" >"$TEST_OUT"
	echo "$stderr" >"$TEST_ERR"
	assert_folded_has ";child_spin \\($WE:[0-9]+\\);spin "
	assert_folded_has ";parent_spin \\($WE:[0-9]+\\);spin "
	# Two PIDs: the command and its fork.
	[ "$(grep -Eo '^[^;]+ \([0-9]+\);' "$TEST_OUT" | sort -u | wc -l)" -eq 2 ]
	assert_folded_lacks "\\($other\\);"
	assert_folded_lacks "inner_leaf"

	run --separate-stderr "$PYBPFPROF" -F 199 -f folded -- sh -c "\"$PY\" \"$W\" subprocess 1"
	[ "$status" -eq 0 ]
	echo "$output" >"$TEST_OUT"
	assert_folded_has ";grandchild_spin \\(<string>:[0-9]+\\) [0-9]+$"
	assert_folded_lacks "\\($other\\);"
}

@test "COMMAND runs as SUDO_UID/SUDO_GID with that user's groups, its environment untouched" {
	local nobody nogroup py=$PY
	nobody=$(id -u nobody)
	nogroup=$(id -g nobody)
	# An interpreter and a directory the user can reach (bats' own
	# temporary directories, and pyenv's under /root, are root's only).
	setpriv --reuid="$nobody" --regid="$nogroup" --clear-groups "$py" -c '' 2>/dev/null ||
		py=/usr/bin/python3
	setpriv --reuid="$nobody" --regid="$nogroup" --clear-groups "$py" -c '' 2>/dev/null ||
		skip "no Python the user nobody can run"
	USERDIR=$(mktemp -d /tmp/pybpfprof-command.XXXXXX)
	chmod 777 "$USERDIR"
	run --separate-stderr env SUDO_UID="$nobody" SUDO_GID="$nogroup" SUDO_USER=nobody \
		PYBPFPROF_TEST_ENV=kept "$PYBPFPROF" -o "$T/p.txt" -- "$py" "$W" whoami "$USERDIR/id"
	[ "$status" -eq 0 ]
	read -r uid gid groups envv <"$USERDIR/id"
	[ "$uid" = "$nobody" ]
	[ "$gid" = "$nogroup" ]
	[ "$groups" = "$(id -G nobody | tr ' ' '\n' | sort -n | paste -sd,)" ]
	[ "$envv" = kept ]
	# The file it made is the user's; the profile is root's own.
	[ "$(stat -c %u "$USERDIR/id")" = "$nobody" ]
	[ "$(stat -c %u "$T/p.txt")" = 0 ]
	# Without sudo's variables it runs as the caller (root here).
	run --separate-stderr env -u SUDO_UID -u SUDO_GID "$PYBPFPROF" -o "$T/p.txt" -- \
		"$py" "$W" whoami "$USERDIR/id2"
	[ "$status" -eq 0 ]
	[ "$(cut -d' ' -f1 "$USERDIR/id2")" = 0 ]
}

@test "Ctrl-C at the terminal goes to COMMAND once; the profile is still written" {
	command -v tmux >/dev/null || skip "tmux not installed"
	local sock=$T/tmux.sock
	tmux -S "$sock" new-session -d -x 200 -y 50 \
		"'$PYBPFPROF' -F 199 -o '$T/p.folded' -- '$PY' '$W' interrupt '$T/notes'; echo \"rc=\$?\" >'$T/rc'; sleep 30"
	for _ in $(seq 100); do [ -s "$T/p.folded" ] || grep -q spin /proc/*/cmdline 2>/dev/null && break; sleep 0.1; done
	sleep 1.5
	tmux -S "$sock" send-keys C-c
	for _ in $(seq 100); do [ -f "$T/rc" ] && break; sleep 0.1; done
	tmux -S "$sock" kill-server || true
	[ "$(cat "$T/rc")" = "rc=0" ]
	# The terminal's SIGINT reached the command, and was not sent twice.
	[ "$(cat "$T/notes")" = SIGINT ]
	grep -Eq ";spin \\($WE:[0-9]+\\) [0-9]+$" "$T/p.folded"
}

@test "SIGINT or SIGTERM sent to pybpfprof is passed to COMMAND" {
	"$PYBPFPROF" -F 199 -o "$T/p.folded" -- "$PY" "$W" interrupt "$T/notes" 2>"$T/err" &
	local prof=$! rc=0
	sleep 1.5
	kill -INT "$prof"
	wait "$prof" || rc=$?
	[ "$rc" -eq 0 ]
	[ "$(cat "$T/notes")" = SIGINT ]
	grep -Eq ";spin \\($WE:[0-9]+\\) [0-9]+$" "$T/p.folded"
	"$PYBPFPROF" -F 199 -o "$T/q.folded" -- "$PY" "$W" startup 30 2>"$T/err" &
	prof=$!
	sleep 1.5
	kill -TERM "$prof"
	rc=0
	wait "$prof" || rc=$?
	[ "$rc" -eq 143 ]
	grep -q 'startup_spin' "$T/q.folded"
}

@test "-d with COMMAND: sampling ends at the duration, then its exit status is awaited" {
	local t0 t1
	t0=$(date +%s%N)
	run --separate-stderr "$PYBPFPROF" -d 0.5 -f folded -- "$PY" "$W" status 4
	t1=$(date +%s%N)
	[ "$status" -eq 4 ]
	[[ "$stderr" == *"sampling ended; waiting for '$PY' to exit"* ]]
	[ $(((t1 - t0) / 1000000)) -ge 400 ]
}

@test "a command that cannot run: 127 or 126 and one line, before sampling" {
	run -127 --separate-stderr "$PYBPFPROF" -o "$T/p.txt" -- no-such-command-here
	[ "$status" -eq 127 ]
	[ "$stderr" = "pybpfprof: cannot run 'no-such-command-here': command not found" ]
	[ ! -e "$T/p.txt" ]
	printf '#!/bin/sh\n' >"$T/not-executable"
	chmod 644 "$T/not-executable"
	run -126 --separate-stderr "$PYBPFPROF" -o "$T/p.txt" -- "$T/not-executable"
	[ "$status" -eq 126 ]
	[ "$stderr" = "pybpfprof: cannot run '$T/not-executable': Permission denied" ]
	run --separate-stderr "$PYBPFPROF" --
	[ "$status" -eq 2 ]
	[ "$stderr" = "pybpfprof: no command after '--' (see --help)" ]
	run --separate-stderr "$PYBPFPROF" "$PY" "$W"
	[ "$status" -eq 2 ]
	[[ "$stderr" == "pybpfprof: unexpected argument '$PY': to profile a command, put it after '--'"* ]]
}

@test "COMMAND's own options are its own, not pybpfprof's" {
	run --separate-stderr "$PYBPFPROF" -f folded -- "$PY" -c 'import sys; print("args", sys.argv[1:])' -d -o x
	[ "$status" -eq 0 ]
	[[ "$output" == *"args ['-d', '-o', 'x']"* ]]
}

@test "top -- COMMAND: shows the command, ends with it, exits with its status" {
	command -v tmux >/dev/null || skip "tmux not installed"
	local sock=$T/tmux.sock
	tmux -S "$sock" new-session -d -x 200 -y 50 \
		"'$PYBPFPROF' top -- '$PY' '$W' children 4 2>'$T/err'; echo \"rc=\$?\" >'$T/rc'; sleep 30"
	local seen=""
	for _ in $(seq 60); do
		seen=$(tmux -S "$sock" capture-pane -p)
		[[ "$seen" == *parent_spin* ]] && break
		sleep 0.1
	done
	for _ in $(seq 100); do [ -f "$T/rc" ] && break; sleep 0.1; done
	tmux -S "$sock" kill-server || true
	[[ "$seen" == *"parent_spin"* ]]
	[ "$(cat "$T/rc")" = "rc=0" ]
}
