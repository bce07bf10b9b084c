#!/usr/bin/env bats
# -o PATH behaves like the shell's "> PATH", safely for a root tool:
# devices, FIFOs, pipes, sockets and /dev/fd/N are written in place and
# never renamed over; regular files are replaced whole when complete;
# symlinks are followed only when root or the invoking user owns them.
# Everything that touches /dev runs in a private mount namespace over a
# throwaway /dev (a tmpfs with its own device nodes), so a faulty build
# cannot replace the machine's /dev/null.

bats_require_minimum_version 1.5.0
load helpers

setup() {
	require_root
	command -v unshare >/dev/null || skip "unshare not installed (util-linux)"
	require_test_python
	start_workload "$PY" "$WORKLOADS/nested.py" 60 2
	WL=$LAST_PID
	wait_busy "$WL"
	T=$BATS_TEST_TMPDIR
}

# in_fake_dev SCRIPT: run the bash SCRIPT with /dev replaced by a tmpfs
# holding null, full, zero, the fd links and a throwaway block device,
# in a private mount namespace. P is the profiler, W the workload's PID.
in_fake_dev() {
	unshare --mount --propagation private env P="$PYBPFPROF" W="$WL" T="$T" bash -c '
		set -u
		mount -t tmpfs -o mode=755 fakedev /dev
		mknod -m 666 /dev/null c 1 3
		mknod -m 666 /dev/zero c 1 5
		mknod -m 666 /dev/full c 1 7
		# A loop device number no loop driver backs: never opened anyway.
		mknod -m 660 /dev/fakeblk b 7 250
		ln -s /proc/self/fd /dev/fd
		ln -s /proc/self/fd/0 /dev/stdin
		ln -s /proc/self/fd/1 /dev/stdout
		ln -s /proc/self/fd/2 /dev/stderr
		'"$1"
}

@test "-o /dev/null: written in place, still a character device" {
	run --separate-stderr in_fake_dev '
		"$P" -d 0.5 -p "$W" -o /dev/null || exit 10
		stat -c %F /dev/null
		stat -c %t:%T /dev/null'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "character special file" ]
	[ "${lines[1]}" = "1:3" ]
}

@test "-o /dev/full: ENOSPC named in one line, exit 1, the device kept" {
	run --separate-stderr in_fake_dev '
		"$P" -d 0.5 -p "$W" -o /dev/full; echo "rc=$?"
		stat -c %F /dev/full'
	[ "${lines[0]}" = "rc=1" ]
	[ "${lines[1]}" = "character special file" ]
	[[ "$stderr" == *"pybpfprof: cannot write the table profile to /dev/full: No space left on device"* ]]
	[ "$(grep -c 'cannot write' <<<"$stderr")" -eq 1 ]
}

@test "-o /dev/stdout and /dev/stderr: the streams, the links kept" {
	run --separate-stderr in_fake_dev '
		"$P" -d 0.5 -p "$W" -f folded -o /dev/stdout || exit 10
		"$P" -d 0.5 -p "$W" -f folded -o /dev/stderr 2>"$T/err" || exit 11
		stat -c %F /dev/stdout /dev/stderr >"$T/types"'
	[ "$status" -eq 0 ]
	grep -Eq "^[^;]+ \\($WL\\);.*inner_leaf .* [0-9]+$" <<<"$output"
	grep -Eq "^[^;]+ \\($WL\\);.*inner_leaf .* [0-9]+$" "$T/err"
	[ "$(sort -u "$T/types")" = "symbolic link" ]
}

@test "-o /dev/stdout is a pipe: the reader gets the table; a closed one is EPIPE, exit 1" {
	run --separate-stderr in_fake_dev '
		"$P" -d 0.5 -p "$W" -o /dev/stdout | cat >"$T/piped"; echo "rc=${PIPESTATUS[0]}"
		# The reader is gone before anything is written.
		"$P" -d 0.5 -p "$W" -o /dev/stdout | true; echo "rc=${PIPESTATUS[0]}"'
	[ "${lines[0]}" = "rc=0" ]
	grep -q '%OWN' "$T/piped"
	grep -q 'inner_leaf' "$T/piped"
	[ "${lines[1]}" = "rc=1" ]
	[[ "$stderr" == *"cannot write the table profile to /dev/stdout: Broken pipe"* ]]
}

@test "-o /dev/fd/N onto a file the shell opened: the file gets the profile" {
	run --separate-stderr in_fake_dev '
		exec 5>"$T/via-fd5.folded"
		"$P" -d 0.5 -p "$W" -f folded -o /dev/fd/5 || exit 10
		exec 5>&-
		stat -c %F /dev/fd'
	[ "$status" -eq 0 ]
	[ "$output" = "symbolic link" ]
	grep -Eq "^[^;]+ \\($WL\\);.*inner_leaf" "$T/via-fd5.folded"
	# Written aside and renamed: no temporary file is left.
	[ -z "$(find "$T" -name '.via-fd5*')" ]
}

@test "-o >(gzip > p.gz): a process substitution gets the profile" {
	run --separate-stderr in_fake_dev '
		"$P" -d 0.5 -p "$W" -f folded -o >(gzip >"$T/p.folded.gz") || exit 10
		# The substituted process finishes on its own: wait for its file.
		for i in $(seq 50); do gzip -t "$T/p.folded.gz" 2>/dev/null && break; sleep 0.1; done'
	[ "$status" -eq 0 ]
	gzip -dc "$T/p.folded.gz" | grep -Eq "^[^;]+ \\($WL\\);.*inner_leaf"
}

@test "-o FIFO: waits for its reader, writes in place, the FIFO kept" {
	mkfifo "$T/fifo"
	timeout 20 cat "$T/fifo" >"$T/from-fifo" &
	local reader=$!
	run --separate-stderr "$PYBPFPROF" -d 0.5 -p "$WL" -f folded -o "$T/fifo"
	wait "$reader"
	[ "$status" -eq 0 ]
	[ -p "$T/fifo" ]
	grep -Eq "^[^;]+ \\($WL\\);.*inner_leaf" "$T/from-fifo"
}

@test "-o FIFO without a reader: says so, and Ctrl-C ends the wait cleanly" {
	mkfifo "$T/lonely"
	"$PYBPFPROF" -d 0.5 -p "$WL" -o "$T/lonely" 2>"$T/err" &
	local prof=$! rc=0
	sleep 1
	grep -q "waiting for a reader of FIFO $T/lonely" "$T/err"
	kill -INT "$prof"
	wait "$prof" || rc=$?
	[ "$rc" -eq 2 ]
	grep -q "interrupted while waiting for a reader" "$T/err"
	[ -p "$T/lonely" ]
}

@test "-o a Unix stream socket: connected to and written" {
	"$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
s.settimeout(20)  # a failing profiler must not hang the test
c, _ = s.accept()
c.settimeout(20)
with open(sys.argv[2], "wb") as f:
    while True:
        b = c.recv(65536)
        if not b: break
        f.write(b)' "$T/sock" "$T/from-sock" &
	local server=$!
	for _ in $(seq 50); do [ -S "$T/sock" ] && break; sleep 0.1; done
	run --separate-stderr "$PYBPFPROF" -d 0.5 -p "$WL" -f folded -o "$T/sock"
	wait "$server"
	[ "$status" -eq 0 ]
	[ -S "$T/sock" ]
	grep -Eq "^[^;]+ \\($WL\\);.*inner_leaf" "$T/from-sock"
}

@test "a block device or a directory is refused before sampling" {
	run --separate-stderr in_fake_dev '"$P" -d 0.5 -p "$W" -o /dev/fakeblk'
	[ "$status" -eq 2 ]
	[ "$stderr" = "pybpfprof: refusing output file '/dev/fakeblk': /dev/fakeblk is a block device" ]
	run --separate-stderr "$PYBPFPROF" -d 0.5 -p "$WL" -f folded -o "$T"
	[ "$status" -eq 2 ]
	[ "$stderr" = "pybpfprof: invalid output file '$T': is a directory" ]
}

@test "a symlink owned by another user is refused: not followed, replaced or written" {
	echo precious >"$T/victim"
	ln -s "$T/victim" "$T/planted.txt"
	chown -h nobody "$T/planted.txt"
	run --separate-stderr "$PYBPFPROF" -d 0.5 -p "$WL" -o "$T/planted.txt"
	[ "$status" -eq 2 ]
	[ "$stderr" = "pybpfprof: refusing output file '$T/planted.txt': the symbolic link $T/planted.txt is owned by uid $(id -u nobody), neither root nor the invoking user" ]
	[ "$(cat "$T/victim")" = precious ]
	[ -L "$T/planted.txt" ]
	[ -z "$(find "$T" -name '.planted*' -o -name '.victim*')" ]
}

@test "a stranger's symlink as a directory on the way is refused too" {
	mkdir "$T/real"
	ln -s "$T/real" "$T/dirlink"
	chown -h nobody "$T/dirlink"
	run --separate-stderr "$PYBPFPROF" -d 0.5 -p "$WL" -o "$T/dirlink/p.txt"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"the symbolic link $T/dirlink is owned by uid"* ]]
	[ -z "$(ls -A "$T/real")" ]
}

@test "a symlink owned by root or by SUDO_UID is followed, as the shell would" {
	echo old >"$T/target.txt"
	ln -s "$T/target.txt" "$T/rootlink.txt"
	run --separate-stderr "$PYBPFPROF" -d 0.5 -p "$WL" -o "$T/rootlink.txt"
	[ "$status" -eq 0 ]
	[ -L "$T/rootlink.txt" ]
	grep -q inner_leaf "$T/target.txt"
	# The invoking user's own link, under sudo.
	echo old >"$T/user-target.txt"
	ln -s "$T/user-target.txt" "$T/userlink.txt"
	chown -h nobody "$T/userlink.txt"
	run --separate-stderr env SUDO_UID="$(id -u nobody)" "$PYBPFPROF" -d 0.5 -p "$WL" \
		-o "$T/userlink.txt"
	[ "$status" -eq 0 ]
	[ -L "$T/userlink.txt" ]
	grep -q inner_leaf "$T/user-target.txt"
}

@test "a later -o that cannot be created takes back the earlier ones' temporary files" {
	mkdir "$T/out"
	run --separate-stderr "$PYBPFPROF" -d 0.5 -p "$WL" -o "$T/out/first.txt" \
		-o "$T/out/second.folded" -o "$T/out/missing/third.txt"
	[ "$status" -eq 2 ]
	[ "$stderr" = "pybpfprof: cannot create output file '$T/out/missing/third.txt': $T/out/missing: No such file or directory" ]
	[ -z "$(ls -A "$T/out")" ]
}

@test "a regular file is replaced whole: a reader sees the old or the new profile" {
	echo "old profile" >"$T/p.txt"
	local ino
	ino=$(stat -c %i "$T/p.txt")
	"$PYBPFPROF" -d 1 -p "$WL" -o "$T/p.txt" 2>/dev/null &
	local prof=$! seen=""
	while alive "$prof"; do
		seen+=$(head -c 40 "$T/p.txt" | head -1)$'\n'
		sleep 0.05
	done
	wait "$prof"
	grep -q inner_leaf "$T/p.txt"
	[ "$(stat -c %i "$T/p.txt")" != "$ino" ]
	# Only ever the whole old file or the new table's header.
	refute grep -Ev '^(old profile| %OWN.*|)$' <<<"$seen"
}
