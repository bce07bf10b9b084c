#!/usr/bin/env bats
# pprof output read back by its real consumer, `go tool pprof` (Debian's
# golang-go, offline on a local file): it parses, its counts are those of
# the folded output of the same run, the hot function tops both sample
# types, the process and thread labels are there, and names that break
# naive writers survive.

load helpers

# One run per flag set for the whole file, each with a folded output
# beside the pprof one: the folded text is the reference.
setup_file() {
	export PP_SKIP="" PP_DIR=$BATS_FILE_TMPDIR
	if ! command -v go >/dev/null; then
		PP_SKIP="go not installed (apt-get install golang-go): go tool pprof is the reader"
		return
	fi
	formats_record "$PP_DIR" pb.gz
	export PP_SKIP=$FORMATS_SKIP PP_PID=$FORMATS_PID PP_HOSTILE=$FORMATS_HOSTILE
}

teardown_file() {
	formats_stop ${PP_PID:-} ${PP_HOSTILE:-}
}

setup() {
	[ -z "$PP_SKIP" ] || skip "$PP_SKIP"
}

# go keeps caches and settings under HOME: give it a scratch one, and
# never let it reach the network (GOPROXY) or fetch a toolchain.
gopprof() {
	mkdir -p "$PP_DIR/gohome"
	HOME=$PP_DIR/gohome GOPATH=$PP_DIR/gohome/go GOCACHE=$PP_DIR/gohome/cache \
		GOFLAGS= GOPROXY=off GOTOOLCHAIN=local GOTELEMETRY=off PPROF_TMPDIR=$PP_DIR/gohome \
		go tool pprof "$@"
}

assert_run_ok() {
	if [ "$(cat "$PP_DIR/$1.status")" -ne 0 ]; then
		echo "pybpfprof failed:" >&2
		cat "$PP_DIR/$1.err" >&2
		return 1
	fi
}

# `go tool pprof -raw FILE` as "KEY<TAB>STACK<TAB>COUNT" lines, summed by
# key and stack and sorted. STACK is root first, frames as the folded
# format prints them; KEY is "pid P", or "pid P tid T" with --threads.
# Only samples of PID (first argument) are kept.
pprof_stacks() {
	python3 - "$1" "$2" <<'EOF'
import re, sys
want_pid, raw = sys.argv[1], open(sys.argv[2]).read().split("\n")
sec, samples, locs = None, [], {}
for line in raw:
    if line in ("Samples:", "Locations", "Mappings"):
        sec = line
        continue
    if sec == "Samples:":
        m = re.match(r"^\s+(\d+)\s+(\d+): ([\d ]+)$", line)
        if m:
            samples.append({"count": int(m[1]), "locs": m[3].split(), "labels": {}})
        elif samples:
            for k, v in re.findall(r"(\w+):\[([^\]]*)\]", line):
                samples[-1]["labels"][k] = v
    elif sec == "Locations":
        m = re.match(r"^\s+(\d+): 0x[0-9a-f]+ M=\d+ (.*) (.*):(\d+) s=\d+\(.*\)$", line)
        if m:
            locs[m[1]] = (m[2], m[3], int(m[4]))
out = {}
for s in samples:
    if s["labels"].get("pid") != want_pid:
        continue
    frames = []
    for l in reversed(s["locs"]):
        name, file, ln = locs[l]
        frames.append(name if name == "[truncated]" else
                      f"{name} ({file}:{ln})" if ln else f"{name} ({file})")
    key = "pid " + s["labels"]["pid"]
    if "tid" in s["labels"]:
        key += " tid " + s["labels"]["tid"]
        # The thread frame of --threads carries the GIL state; pprof a label.
        if "gil" in s["labels"]:
            key += " gil " + s["labels"]["gil"]
    k = (key, ";".join(frames))
    out[k] = out.get(k, 0) + s["count"]
for (key, stack), n in sorted(out.items()):
    print(f"{key}\t{stack}\t{n}")
EOF
}

# The folded file in the same shape: the process frame "comm (P)" and,
# with --threads, the thread frame "name (tid T)" become the key.
folded_stacks() {
	python3 - "$1" "$2" <<'EOF'
import re, sys
want_pid, out = sys.argv[1], {}
for line in open(sys.argv[2]):
    stack, count = line.rstrip("\n").rsplit(" ", 1)
    frames = stack.split(";")
    pid = re.search(r"\((\d+)\)$", frames[0])[1]
    if pid != want_pid:
        continue
    key, frames = "pid " + pid, frames[1:]
    m = re.search(r"\(tid (\d+)(?:, GIL (\w+))?\)$", frames[0]) if frames else None
    if m:
        key, frames = key + " tid " + m[1] + (" gil " + m[2] if m[2] else ""), frames[1:]
    k = (key, ";".join(frames))
    out[k] = out.get(k, 0) + int(count)
for (key, stack), n in sorted(out.items()):
    print(f"{key}\t{stack}\t{n}")
EOF
}

@test "pprof: go tool pprof -raw parses it, and every stack count is the folded one" {
	assert_run_ok p
	gopprof -raw "$PP_DIR/p.pb.gz" >"$PP_DIR/p.raw" 2>"$PP_DIR/p.raw.err"
	# pprof reads it as it is: no symbolization attempt, no warning.
	[ ! -s "$PP_DIR/p.raw.err" ] || { cat "$PP_DIR/p.raw.err" >&2; false; }
	pprof_stacks "$PP_PID" "$PP_DIR/p.raw" >"$PP_DIR/p.pprof.stacks"
	folded_stacks "$PP_PID" "$PP_DIR/p.folded" >"$PP_DIR/p.folded.stacks"
	[ -s "$PP_DIR/p.folded.stacks" ]
	diff -u "$PP_DIR/p.folded.stacks" "$PP_DIR/p.pprof.stacks"
	# And the whole-file totals, both processes included.
	local folded_total pprof_total
	folded_total=$(awk '{ n += $NF } END { print n }' "$PP_DIR/p.folded")
	pprof_total=$(gopprof -top -sample_index=samples "$PP_DIR/p.pb.gz" 2>/dev/null |
		sed -n 's/.*Total samples = \([0-9]*\).*/\1/p')
	[ "$pprof_total" -eq "$folded_total" ]
}

@test "pprof: Worker.inner_leaf tops -top by samples and by cpu, cpu is the default" {
	assert_run_ok p
	local by
	for by in samples cpu; do
		gopprof -top -sample_index=$by -focus='^Worker\.' "$PP_DIR/p.pb.gz" \
			>"$PP_DIR/top.$by" 2>/dev/null
		# The first row under the header is the top flat entry.
		run awk 'f { print $NF; exit } $1 == "flat" { f = 1 }' "$PP_DIR/top.$by"
		[ "$output" = "Worker.inner_leaf" ] || { cat "$PP_DIR/top.$by" >&2; false; }
	done
	# Without the focus too: the hostile process burns about as much CPU.
	gopprof -top "$PP_DIR/p.pb.gz" >"$PP_DIR/top.default" 2>/dev/null
	grep -q '^Type: cpu$' "$PP_DIR/top.default"
	grep -Eq '^ +[0-9.]+m?s .* Worker\.inner_leaf$' "$PP_DIR/top.default"
}

@test "pprof: sample types, period and values follow the Parca/Pyroscope convention" {
	assert_run_ok p
	gopprof -raw "$PP_DIR/p.pb.gz" >"$PP_DIR/p.raw" 2>/dev/null
	grep -qx 'PeriodType: cpu nanoseconds' "$PP_DIR/p.raw"
	# The period is 1 s over the rate measured (-F 199, random intervals),
	# the one the run's summary line reported to its 0.1 Hz.
	local period said
	period=$(sed -n 's/^Period: //p' "$PP_DIR/p.raw")
	said=$(summary_rate "$PP_DIR/p.err")
	near_asked "$said" 199
	awk -v p="$period" -v hz="$said" \
		'BEGIN { exit !(p >= 1e9 / (hz + 0.05) - 1 && p <= 1e9 / (hz - 0.05) + 1) }'
	grep -qx 'samples/count cpu/nanoseconds\[dflt\]' "$PP_DIR/p.raw"
	grep -Eqx 'Duration: 2\.0[0-9]*' "$PP_DIR/p.raw"
	# cpu = samples * period on every sample.
	run awk -v period="$period" \
		'/^Samples:/ { s = 1; next } /^Locations/ { s = 0 }
		 s && $2 ~ /:$/ { n++; if ($1 * period != $2 + 0) bad++ }
		 END { print n + 0, bad + 0 }' "$PP_DIR/p.raw"
	[ "${output% *}" -gt 0 ]
	[ "${output#* }" -eq 0 ]
}

@test "pprof: samples carry pid and comm labels, and no thread labels without --threads" {
	assert_run_ok p
	gopprof -raw "$PP_DIR/p.pb.gz" >"$PP_DIR/p.raw" 2>/dev/null
	local comm
	comm=$(sed -n "s/^\(.*\) ($PP_PID);.*/\1/p" "$PP_DIR/p.folded" | head -1)
	[ -n "$comm" ]
	grep -q "pid:\[$PP_PID\]" "$PP_DIR/p.raw"
	grep -q "comm:\[$comm\]" "$PP_DIR/p.raw"
	grep -q "pid:\[$PP_HOSTILE\]" "$PP_DIR/p.raw"
	refute grep -q 'tid:\[' "$PP_DIR/p.raw"
	refute grep -q 'thread_name:\[' "$PP_DIR/p.raw"
	# Labels select: -tagfocus keeps only that process.
	gopprof -traces -tagfocus="pid=$PP_PID" "$PP_DIR/p.pb.gz" >"$PP_DIR/traces" 2>/dev/null
	grep -q 'Worker.inner_leaf' "$PP_DIR/traces"
	! grep -q 'hot.py' "$PP_DIR/traces"
}

@test "pprof: --threads adds tid and thread_name labels; per-thread counts are the folded ones" {
	assert_run_ok t
	gopprof -raw "$PP_DIR/t.pb.gz" >"$PP_DIR/t.raw" 2>/dev/null
	# The main thread (tid = pid) and the worker.
	grep -q "tid:\[$PP_PID\]" "$PP_DIR/t.raw"
	[ "$(grep -o 'tid:\[[0-9]*\]' "$PP_DIR/t.raw" | sort -u | wc -l)" -ge 2 ]
	grep -q 'thread_name:\[' "$PP_DIR/t.raw"
	pprof_stacks "$PP_PID" "$PP_DIR/t.raw" >"$PP_DIR/t.pprof.stacks"
	folded_stacks "$PP_PID" "$PP_DIR/t.folded" >"$PP_DIR/t.folded.stacks"
	[ -s "$PP_DIR/t.folded.stacks" ]
	grep -q "^pid $PP_PID tid " "$PP_DIR/t.pprof.stacks"
	diff -u "$PP_DIR/t.folded.stacks" "$PP_DIR/t.pprof.stacks"
}

@test "pprof: a function named with quotes, markup, control characters and a newline survives" {
	assert_run_ok p
	# go tool pprof prints names raw: look for the name's first line.
	gopprof -top -tagfocus="pid=$PP_HOSTILE" "$PP_DIR/p.pb.gz" >"$PP_DIR/top.hostile" 2>&1
	grep -qF 'evil "q" \b\ <script>x</script>' "$PP_DIR/top.hostile" ||
		{ cat "$PP_DIR/top.hostile" >&2; false; }
}
