#!/usr/bin/env bats
# The process table: processes that become Python late, repeated -p,
# kernel threads, and a table that repairs itself when the kernel's
# exit and exec events were lost to a full ring.

bats_require_minimum_version 1.5.0
load helpers

setup() {
	require_root
	require_test_python
	T=$BATS_TEST_TMPDIR
}

# The shared libpython of $PY, or skip.
require_libpython() {
	LIBPY=$("$PY" -c 'import os, sysconfig as s
print(os.path.join(s.get_config_var("LIBDIR") or "", s.get_config_var("INSTSONAME") or ""))')
	[ -f "$LIBPY" ] || skip "no shared libpython for $PY ($LIBPY)"
}

@test "-p PID of a process that loads libpython later is profiled once it does" {
	require_libpython
	cc -O1 -o "$T/dlopen_embed" "$WORKLOADS/dlopen_embed.c" -ldl
	start_workload "$T/dlopen_embed" "$LIBPY" 1500 "$WORKLOADS/nested.py" 6 2
	local pid=$LAST_PID
	# Started while it is still plain C: not Python yet.
	profile -F 199 -d 5 -p "$pid" -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	grep -q "pid $pid is not a Python process (yet); watching it" "$TEST_ERR"
	assert_folded_has "^dlopen_embed \\($pid\\);.*inner_leaf \\("
	[[ "$(tail -1 "$TEST_ERR")" == *", 1 Python processes seen"* ]]
}

@test "-p X -p X is one process, counted once" {
	start_workload "$PY" "$WORKLOADS/nested.py" 30
	local pid=$LAST_PID n
	wait_busy "$pid"
	profile -F 99 -d 2 -p "$pid" -p "$pid" -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	[[ "$(tail -1 "$TEST_ERR")" == *", 1 Python processes seen"* ]]
	# At most one sample per tick of its two threads' CPU time: not doubled.
	n=$(awk '{ s += $NF } END { print s + 0 }' "$TEST_OUT")
	[ "$n" -gt 50 ]
	[ "$n" -le 230 ]
}

# The kernel threads' CPU time so far, in clock ticks (PF_KTHREAD set).
kthread_ticks() {
	local f s=0 flags t
	for f in /proc/[0-9]*/stat; do
		read -r t < "$f" 2>/dev/null || continue
		t=${t##*) }
		# shellcheck disable=SC2086
		set -- $t
		flags=$7
		((flags & 0x200000)) || continue
		s=$((s + ${12} + ${13}))
	done
	echo "$s"
}

teardown() {
	[ -z "${LOOPDEV:-}" ] || losetup -d "$LOOPDEV" 2>/dev/null || true
	kill_bg
}

@test "kernel threads are never reported to userspace as unknown processes" {
	command -v bpftool >/dev/null || skip "bpftool not installed"
	command -v losetup >/dev/null || skip "losetup not installed (util-linux)"
	local before after prof map
	truncate -s 64M "$T/disk.img"
	LOOPDEV=$(losetup -f --show "$T/disk.img") || skip "no loop device available"
	before=$(kthread_ticks)
	"$PYBPFPROF" -F 999 -d 6 -o "$T/p.txt" 2>"$T/err" &
	prof=$!
	sleep 1
	# Work for kernel threads: a loop device's I/O runs in its kworker.
	for _ in 1 2 3; do
		dd if="$LOOPDEV" of=/dev/null bs=4k iflag=direct status=none
	done
	# The profiler's own map of processes reported as unknown, found
	# among its descriptors (another profiler may be running).
	local id
	for id in $(sed -n 's/^map_id:[[:space:]]*//p' /proc/"$prof"/fdinfo/* 2>/dev/null); do
		bpftool -j map show id "$id" | grep -q '"name":"unknown_report' && map=$id
	done
	[ -n "$map" ]
	bpftool -j map dump id "$map" >"$T/reported.json"
	after=$(kthread_ticks)
	wait "$prof"
	[ $((after - before)) -ge 5 ] || skip "no kernel thread ran during the run"
	"$PY" - "$T/reported.json" <<'EOF'
import json, sys
bad = []
for e in json.load(open(sys.argv[1])):
    key = e["key"]
    pid = int.from_bytes(bytes(int(b, 16) for b in key), "little") if isinstance(key, list) else int(key)
    try:
        stat = open("/proc/%d/stat" % pid).read()
    except OSError:
        continue
    flags = int(stat.rsplit(")", 1)[1].split()[6])
    if flags & 0x200000:
        bad.append((pid, stat.split(")")[0] + ")"))
print("reported kernel threads:", bad)
sys.exit(1 if bad else 0)
EOF
}

@test "exit and exec events lost to a full ring: the table repairs itself, a reused PID is named anew" {
	command -v "$PY" >/dev/null
	local prof a b
	"$PYBPFPROF" -v -F 199 -f folded -o "$T/p.folded" 2>"$T/err" &
	prof=$!
	sleep 1
	# A Python process the profiler knows...
	start_workload "$PY" "$WORKLOADS/faults.py" spin 60
	a=$LAST_PID
	wait_busy "$a"
	sleep 1
	# ...then the profiler is frozen while the event ring overflows
	# (256 KiB: 8192 events; each exec on the host makes one) ...
	kill -STOP "$prof"
	"$PY" -c '
import os
for _ in range(12000):
    os.waitpid(os.posix_spawn("/bin/true", ["/bin/true"], {}), 0)'
	# ... so the exit of A, and the exec of B under A's PID, are lost.
	kill -KILL "$a"
	wait "$a" 2>/dev/null || true
	echo $((a - 1)) >/proc/sys/kernel/ns_last_pid
	start_workload "$PY" "$WORKLOADS/nested.py" 30
	b=$LAST_PID
	kill -CONT "$prof"
	# Within a sweep (5 s) B must be found, even with no event about it.
	sleep 7
	kill -INT "$prof"
	wait "$prof"
	[ "$b" -eq "$a" ] || skip "could not reuse pid $a (got $b)"
	TEST_OUT=$T/p.folded TEST_ERR=$T/err
	grep -Eq 'process events lost' "$TEST_ERR" || { show_profile; false; }
	# B's own code, under the reused PID, with B's name.
	assert_folded_has "^[^;]+ \\($b\\);.*inner_leaf \\("
	grep -Eq '[1-9][0-9]* stale process entries repaired' "$TEST_ERR"
}

@test "a failure while starting names its cause, not the BPF program" {
	command -v setpriv >/dev/null || skip "setpriv not installed (util-linux)"
	command -v unshare >/dev/null || skip "unshare not installed (util-linux)"
	# /proc unreadable to a root without CAP_DAC_OVERRIDE: the startup scan fails.
	run --separate-stderr unshare --mount --propagation private sh -c '
		mount -t tmpfs -o mode=000 noproc /proc &&
		exec setpriv --inh-caps=-dac_override,-dac_read_search \
			--bounding-set=-dac_override,-dac_read_search "$0" -d 0.5' "$PYBPFPROF"
	[ "$status" -eq 1 ]
	[ "$stderr" = "pybpfprof: cannot list the processes in /proc: Permission denied" ]
}
