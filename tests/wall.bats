#!/usr/bin/env bats
# --mode wall and the GIL: workloads that measure their own time
# (tests/workloads/wall.py), profiled from their first instruction with
# "-- COMMAND", against what they measured. A version pyenv lacks runs
# from the host's /usr/bin or a Debian root (require_version).

bats_require_minimum_version 1.5.0
load helpers

W=$BATS_TEST_DIRNAME/workloads/wall.py

setup() {
	require_root
	T=$BATS_TEST_TMPDIR
}

# shares MEASURED.json PROFILE.folded: per phase "name measured profiled",
# each a percentage of the three phases' time.
shares() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
spent = json.load(open(sys.argv[1]))
keys = ["cpu_phase", "sleep_phase", "pipe_phase"]
total = sum(spent[k] for k in keys)
got = dict.fromkeys(keys, 0)
for line in open(sys.argv[2]):
    stack, n = line.rsplit(" ", 1)
    for k in keys:
        if ";" + k + " (" in stack:
            got[k] += int(n)
prof = sum(got.values())
for k in keys:
    print(k, "%.2f" % (100 * spent[k] / total), "%.2f" % (100 * got[k] / max(prof, 1)))
EOF
}

# The phases workload under $PY (in $PY_ROOT when set, the command then
# entering it): each phase's wall share within 2 points.
check_phases() {
	local name m p w=$W seen=$T/spent.json spent=$T/spent.json
	python_argv
	if [ -n "${PY_ROOT:-}" ]; then
		put_in_root "$PY_ROOT" "$W"
		w=/work/${W##*/} seen=/tmp/pybpfprof-spent.json spent=$PY_ROOT/tmp/pybpfprof-spent.json
		rm -f "$spent"
	fi
	"$PYBPFPROF" --mode wall -F 499 -f folded -o "$T/p.folded" -- \
		"${PY_ARGV[@]}" "$w" phases 6 "$seen" 2>"$T/err"
	shares "$spent" "$T/p.folded" | tee "$T/shares"
	while read -r name m p; do
		awk -v m="$m" -v p="$p" 'BEGIN { d = m - p; exit (d < -2 || d > 2) }' ||
			{ echo "$name: measured $m%, profiled $p%" >&2; return 1; }
	done <"$T/shares"
	# Why each was off CPU, as the leaf of its stacks (time.sleep is
	# select(3), pselect6(2) in glibc, before 3.11; clock_nanosleep(2) since).
	grep -Eq ";sleep_phase \([^)]*\);\[off-CPU: (clock_nanosleep|pselect6)\] [0-9]+$" "$T/p.folded"
	grep -Eq ";pipe_phase \([^)]*\);\[off-CPU: read\] [0-9]+$" "$T/p.folded"
	grep -Eq ";cpu_phase \([^)]*\) [0-9]+$" "$T/p.folded"
}

@test "wall: 3 ms CPU, 5 ms sleep, 2 ms pipe, within 2 points: CPython 3.8" {
	require_version 3.8
	retry 2 check_phases
}

@test "wall: 3 ms CPU, 5 ms sleep, 2 ms pipe, within 2 points: Debian's /usr/bin/python3" {
	PY=$(debian_python) || skip "/usr/bin/python3 not installed"
	PY_ROOT=""
	retry 2 check_phases
}

@test "wall: 3 ms CPU, 5 ms sleep, 2 ms pipe, within 2 points: CPython 3.12" {
	require_version 3.12
	retry 2 check_phases
}

@test "wall: 3 ms CPU, 5 ms sleep, 2 ms pipe, within 2 points: CPython 3.13" {
	require_version 3.13
	retry 2 check_phases
}

# Per spinner thread: "tid held waiting gil_leaf runqueue all" sample counts.
gil_shares() {
	python3 - "$1" <<'EOF'
import re, sys
per = {}
for line in open(sys.argv[1]):
    stack, n = line.rsplit(" ", 1)
    n = int(n)
    # The spinners' stacks, by thread (CPython names OS threads only from 3.14).
    m = re.search(r"\(tid (\d+), GIL (\w+)\);", stack)
    if not m or ";spinner (" not in stack:
        continue
    t = per.setdefault(m[1], dict.fromkeys(["held", "waiting", "leaf", "runq", "all"], 0))
    t["all"] += n
    t[m[2]] = t.get(m[2], 0) + n
    if stack.endswith(";[off-CPU: GIL]"):
        t["leaf"] += n
    if stack.endswith(";[off-CPU: runqueue]"):
        t["runq"] += n
for tid, t in per.items():
    print(tid, t["held"], t["waiting"], t["leaf"], t["runq"], t["all"])
EOF
}

check_gil() {
	local tid held waiting leaf runq all n=0
	"$PYBPFPROF" --mode wall -F 199 --threads -f folded -o "$T/g.folded" -- \
		"$PY" "$W" gil 5 "$T/times.json" 2>"$T/err"
	gil_shares "$T/g.folded" | tee "$T/gil"
	while read -r tid held waiting leaf runq all; do
		n=$((n + 1))
		# Waiting for the GIL is all in "[off-CPU: GIL]", and it is what
		# the thread measured off CPU but not waiting to be scheduled,
		# within 5 points (on a quiet machine, two thirds of the time:
		# one of three holds it).
		[ "$leaf" -eq "$waiting" ]
		python3 - "$T/times.json" "$tid" "$leaf" "$runq" "$all" <<'EOF'
import json, sys
wall, cpu = json.load(open(sys.argv[1]))[sys.argv[2]]
leaf, runq, total = (int(x) for x in sys.argv[3:])
expected = 100 * (1 - cpu / wall) - 100 * runq / total
got = 100 * leaf / total
print("tid %s: GIL %.1f%% profiled, %.1f%% expected (off CPU %.1f%%, run queue %.1f%%)"
      % (sys.argv[2], got, expected, 100 * (1 - cpu / wall), 100 * runq / total))
sys.exit(0 if abs(got - expected) < 5 and got > 40 else 1)
EOF
	done <"$T/gil"
	[ "$n" -eq 3 ]
	# --gil keeps the time each thread held it: about a third.
	"$PYBPFPROF" --mode wall -F 199 --gil --threads -f folded -o "$T/h.folded" -- \
		"$PY" "$W" gil 5 2>"$T/err2"
	gil_shares "$T/h.folded" >"$T/held"
	[ "$(wc -l <"$T/held")" -eq 3 ]
	while read -r tid held waiting leaf runq all; do
		[ "$waiting" -eq 0 ] && [ "$held" -eq "$all" ]
		# 5 s at 199 Hz is 995 samples a thread: a third is ~332.
		[ "$all" -gt 250 ] && [ "$all" -lt 420 ]
	done <"$T/held"
	grep -q "left out by --gil" "$T/err2"
}

@test "wall: three spinning threads wait for the GIL two thirds of the time; --gil keeps a third" {
	require_test_python
	retry 2 check_gil
}

@test "wall: a thread parked in Event.wait() since before the run is there, all of its time" {
	require_test_python
	start_workload "$PY" "$W" parked 30
	local pid=$LAST_PID n
	sleep 1
	profile --mode wall -F 99 -d 4 -p "$pid" --threads -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	assert_folded_has "\\(tid [0-9]+, GIL none\\);.*;parked_thread \\([^)]*\\);Event\\.wait \\(.*\\[off-CPU: futex\\] [0-9]+$"
	n=$(grep ';parked_thread (' "$TEST_OUT" | awk '{ s += $NF } END { print s + 0 }')
	echo "parked thread: $n samples of about 396"
	# 4 s at 99 Hz: every grid point of its time, within 5%.
	[ "$n" -ge 376 ] && [ "$n" -le 416 ]
}

@test "wall: 40 threads parked for the whole run: all of their time, each stack read once" {
	require_test_python
	start_workload "$PY" "$W" parked 30 40
	local pid=$LAST_PID n reads
	sleep 1
	profile --mode wall -F 99 -d 3 -p "$pid" --threads -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	# Per thread: 3 s at 99 Hz, within 5%.
	grep ';parked_thread (' "$TEST_OUT" | sed 's/^[^;]*;\([^;]*\);.* \([0-9]*\)$/\1 \2/' |
		awk '{ s[$1 " " $2 " " $3] += $NF } END { for (t in s) print t, s[t] }' >"$T/per-thread"
	cat "$T/per-thread"
	[ "$(wc -l <"$T/per-thread")" -eq 40 ]
	awk '{ if ($NF < 282 || $NF > 312) exit 1 }' "$T/per-thread"
	# The cost is per thread, not per period: a stack read when it stopped
	# running, reused at each snapshot since (40 parked, the main thread).
	grep "off-CPU samples" "$TEST_ERR"
	reads=$(sed -n 's/.* off-CPU samples (\([0-9]*\) stacks read.*/\1/p' "$TEST_ERR")
	n=$(sed -n 's/.*, \([0-9]*\) off-CPU samples (.*/\1/p' "$TEST_ERR")
	# 41 threads x 297 samples.
	[ "$n" -ge 11500 ] && [ "$reads" -le 100 ]
}

@test "wall: the snapshot's iterator over every task gives the same shares as the one per process" {
	PY=$(debian_python) || PY=$(test_python) || skip "no Python"
	PY_ROOT=""
	export PYBPFPROF_WALL_ITER=all
	retry 2 check_phases
	grep -q "off-CPU samples" "$T/err"
}

@test "wall: an HTTP handler's 20 ms sleep has its share of the request time" {
	require_test_python
	"$PYBPFPROF" --mode wall -F 499 -f folded -o "$T/w.folded" -- \
		"$PY" "$W" http 5 "$T/http.json" 2>"$T/err"
	# time.sleep's own time: asleep, then waiting for the GIL back.
	python3 - "$T/http.json" "$T/w.folded" "$(line_of handler_sleep "$W")" <<'EOF'
import json, sys
spent = json.load(open(sys.argv[1]))
measured = 100 * spent["sleep"] / spent["handler"]
handler = asleep = 0
for line in open(sys.argv[2]):
    stack, n = line.rsplit(" ", 1)
    if "Handler.do_GET (" not in stack:
        continue
    handler += int(n)
    if stack.split("Handler.do_GET (", 1)[1].split(")", 1)[0].endswith(":" + sys.argv[3]):
        asleep += int(n)
profiled = 100 * asleep / handler
print("requests %d: sleep %.1f%% of the handler's time measured, %.1f%% profiled"
      % (spent["requests"], measured, profiled))
sys.exit(0 if spent["requests"] > 50 and abs(measured - profiled) < 5 else 1)
EOF
}

@test "cpu mode: no off-CPU frames, and each sample knows its GIL state" {
	require_test_python
	start_workload "$PY" "$W" gil 20
	wait_busy "$LAST_PID"
	profile -F 199 -d 2 -p "$LAST_PID" --threads -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	assert_folded_lacks "off-CPU"
	assert_folded_has "\\(tid [0-9]+, GIL held\\);.*spinner \\("
}

@test "wall: every format carries the off-CPU frames; pprof says wall/nanoseconds and has a gil label" {
	require_test_python
	command -v go >/dev/null || skip "go not installed (golang-go)"
	"$PYBPFPROF" --mode wall -F 199 -o "$T/p.folded" -o "$T/p.txt" -o "$T/p.svg" \
		-o "$T/p.json" -o "$T/p.pb.gz" -o "$T/p.prof" -- "$PY" "$W" phases 2 "$T/s.json" \
		2>"$T/err"
	grep -q '\[off-CPU: clock_nanosleep\] [0-9]*$' "$T/p.folded"
	grep -Eq '^ *[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+  \[off-CPU: clock_nanosleep\]$' "$T/p.txt"
	grep -q '\[off-CPU: clock_nanosleep\]' "$T/p.svg"
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
names = [f["name"] for f in d["shared"]["frames"]]
assert "[off-CPU: clock_nanosleep]" in names, names' "$T/p.json"
	python3 -c 'import pstats, sys
st = pstats.Stats(sys.argv[1])
keys = [k for k in st.stats if k[2] == "[off-CPU: read]"]
assert keys and keys[0][0] == "~", keys' "$T/p.prof"
	go tool pprof -raw "$T/p.pb.gz" >"$T/raw" 2>/dev/null
	grep -q '^PeriodType: wall nanoseconds' "$T/raw"
	grep -q '^Samples:' "$T/raw"
	grep -q 'samples/count wall/nanoseconds' "$T/raw"
	grep -q 'gil:\[none\]' "$T/raw"
	grep -q 'gil:\[held\]' "$T/raw"
	go tool pprof -top "$T/p.pb.gz" 2>/dev/null | grep -q '\[off-CPU: clock_nanosleep\]'
}

@test "wall: a version whose GIL cannot be read says so once, and --gil leaves it out" {
	require_version 2.7
	start_python nested.py 20 2
	wait_busy "$LAST_PID"
	profile --mode wall -F 99 -d 1 -p "$LAST_PID" --gil -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	[ "$(grep -c 'its GIL state cannot be read' "$TEST_ERR")" -eq 1 ]
	grep -q "CPython 2.7 (pid $LAST_PID first): its GIL state cannot be read (this version keeps the GIL in static variables); its samples carry none, and --gil leaves them out" "$TEST_ERR"
	[ ! -s "$TEST_OUT" ]
}
