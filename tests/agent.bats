#!/usr/bin/env bats
# pybpfprof agent: exact contiguous windows to --output-dir, scrapes of
# /debug/pprof/profile read by go tool pprof, /metrics scraped by a real
# Prometheus server and checked by promtool, SIGTERM and SIGHUP, and the
# command line's one-line refusals. (--push: tests/agent_push.bats.)

bats_require_minimum_version 1.5.0
load helpers

SUMMARY=$BATS_TEST_DIRNAME/lib/pprof_summary.py

setup() {
	T=$BATS_TEST_TMPDIR
}

# A free TCP port on loopback.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_agent ARGS...: the agent in the background (AGENT is its PID),
# its stderr in $T/agent.err; waits until it samples.
start_agent() {
	"$PYBPFPROF" agent "$@" 2>"$T/agent.err" &
	AGENT=$!
	BG_PIDS+=("$AGENT")
	sleep 1
}

# stop_agent: SIGTERM, and the exit status in AGENT_STATUS.
stop_agent() {
	AGENT_STATUS=0
	kill -TERM "$AGENT"
	wait "$AGENT" || AGENT_STATUS=$?
}

# wait_http URL: until it answers (the agent has started listening).
wait_http() {
	local i
	for i in $(seq 100); do
		curl -sf -o /dev/null "$1" && return 0
		sleep 0.1
	done
	echo "no answer from $1" >&2
	return 1
}

@test "agent: a bad command line is one line and status 2, before sampling" {
	bad() {
		run --separate-stderr "$PYBPFPROF" agent "$@"
		echo "agent $*: status $status, stderr: $stderr"
		[ "$status" -eq 2 ]
		[ "${#stderr_lines[@]}" -eq 1 ]
		[[ "${stderr_lines[0]}" == "pybpfprof: "* ]]
	}
	bad
	[[ "$stderr" == *"needs somewhere to send profiles"* ]]
	bad --output-dir "$T" --interval 0
	bad --output-dir "$T" --interval 3601
	bad --output-dir "$T" --keep 0
	bad --output-dir "$T" --label novalue
	bad --output-dir "$T" --label __name__=x
	[[ "$stderr" == *"not starting with __"* ]]
	bad --output-dir "$T" --label 9x=y
	bad --output-dir "$T" --label pid=1
	bad --output-dir "$T" --label a=1 --label a=2
	bad --output-dir "$T" --label "a=caf$(printf '\xe9')"
	[[ "$stderr" == *"not valid UTF-8"* ]]
	bad --push ftp://example.com
	bad --push http://127.0.0.1:1 --max-queue 1K
	bad --output-dir "$T" --push-header 'no colon here'
	bad --output-dir "$T" --push-header 'X: y'
	[[ "$stderr" == *"without --push"* ]]
	bad --listen 99999
	bad --listen 127.0.0.1:notaport
	bad --output-dir "$T/missing"
	[[ "$stderr" == *"invalid --output-dir '$T/missing': No such file or directory"* ]]
	bad --output-dir "$T" -d 5
	bad --output-dir "$T" stray
	run "$PYBPFPROF" agent --help
	[ "$status" -eq 0 ]
	[[ "$output" == "Usage: pybpfprof agent"* ]]
	run "$PYBPFPROF" agent --version
	[ "$status" -eq 0 ]
	[ "$output" = "pybpfprof $(cat "$BATS_TEST_DIRNAME/../VERSION")" ]
}

@test "agent: a port in use is refused before sampling" {
	require_root
	local port
	port=$(free_port)
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(30)' "$port" &
	BG_PIDS+=($!)
	sleep 0.5
	run --separate-stderr "$PYBPFPROF" agent --listen "$port"
	[ "$status" -eq 2 ]
	[ "$stderr" = "pybpfprof: cannot listen on 127.0.0.1 port $port: Address already in use" ]
}

@test "agent --output-dir: exact contiguous windows, every sample in exactly one" {
	require_root
	require_test_python
	start_workload "$PY" "$WORKLOADS/nested.py" 60 2
	local wl=$LAST_PID
	wait_busy "$wl"
	mkdir "$T/out"
	start_agent -F 199 --interval 1 -p "$wl" --output-dir "$T/out" --keep 100
	sleep 5.5
	stop_agent
	[ "$AGENT_STATUS" -eq 0 ]
	local files n prev_end="" t d total=0 sum=0 py dropped
	files=("$T/out"/pybpfprof-*.pb.gz)
	n=${#files[@]}
	[ "$n" -ge 5 ]
	# Names: pybpfprof-YYYYMMDDTHHMMSSZ.pb.gz, in time order.
	for f in "${files[@]}"; do
		[[ "${f##*/}" =~ ^pybpfprof-[0-9]{8}T[0-9]{6}Z\.pb\.gz$ ]]
	done
	while read -r t d _ total _ _; do
		# Each window starts where the last one ended, to the nanosecond.
		[ -z "$prev_end" ] || [ "$t" -eq "$prev_end" ]
		prev_end=$((t + d))
		sum=$((sum + total))
	done < <(python3 "$SUMMARY" "${files[@]}")
	# All but the last (cut short by SIGTERM) are one interval long.
	python3 "$SUMMARY" "${files[@]}" | head -n -1 | awk '{ if ($2 != 1000000000) exit 1 }'
	[ "$(python3 "$SUMMARY" "${files[-1]}" | cut -d' ' -f2)" -lt 1000000000 ]
	# Every Python sample the kernel sent is in exactly one window.
	[[ "$(tail -1 "$T/agent.err")" =~ ([0-9]+)\ Python\ samples ]]
	py=${BASH_REMATCH[1]}
	dropped=0
	[[ "$(tail -1 "$T/agent.err")" =~ ([0-9]+)\ dropped ]] && dropped=${BASH_REMATCH[1]}
	echo "windows $n, samples in windows $sum, Python samples $py, dropped $dropped"
	[ "$py" -gt 500 ]
	[ "$sum" -eq $((py - dropped)) ]
	# go tool pprof reads every window, and finds the hot function.
	for f in "${files[@]:0:n-1}"; do
		go tool pprof -top "$f" >"$T/top" 2>&1 || { cat "$T/top"; false; }
		grep -q 'inner_leaf' "$T/top"
	done
}

@test "agent --output-dir --keep 5: the newest 5 windows are kept, and only ours are touched" {
	require_root
	mkdir "$T/out"
	touch "$T/out/pybpfprof-notes.txt" "$T/out/other.pb.gz"
	start_agent --interval 1 --output-dir "$T/out" --keep 5
	sleep 8.5
	stop_agent
	[ "$AGENT_STATUS" -eq 0 ]
	local files
	files=("$T/out"/pybpfprof-2*.pb.gz)
	[ "${#files[@]}" -eq 5 ]
	# Valid profiles, the most recent ones (the last is the shutdown's).
	python3 "$SUMMARY" "${files[@]}" >"$T/sum"
	[ "$(wc -l <"$T/sum")" -eq 5 ]
	for f in "${files[@]}"; do
		go tool pprof -raw "$f" >/dev/null
	done
	[ -e "$T/out/pybpfprof-notes.txt" ] && [ -e "$T/out/other.pb.gz" ]
	# No temporary file is left behind.
	[ -z "$(find "$T/out" -name '.*')" ]
}

@test "agent --listen: go tool pprof reads /debug/pprof/profile?seconds=3" {
	require_root
	require_test_python
	start_workload "$PY" "$WORKLOADS/nested.py" 60 2
	wait_busy "$LAST_PID"
	local port
	port=$(free_port)
	start_agent -F 99 --listen "127.0.0.1:$port"
	wait_http "http://127.0.0.1:$port/metrics"
	# What Parca's and Alloy's scrapers need: 200 and octet-stream.
	run curl -s -o "$T/p.pb.gz" -w '%{http_code} %{content_type}' \
		"http://127.0.0.1:$port/debug/pprof/profile?seconds=2"
	[ "$output" = "200 application/octet-stream" ]
	read -r _ d samples _ types _ < <(python3 "$SUMMARY" "$T/p.pb.gz")
	[ "$d" -ge 1900000000 ] && [ "$d" -le 2300000000 ]
	[ "$types" = "samples/count,cpu/nanoseconds" ]
	[ "$samples" -gt 0 ]
	# And go tool pprof, fetching the URL itself.
	HOME=$T PPROF_TMPDIR=$T run go tool pprof -top \
		"http://127.0.0.1:$port/debug/pprof/profile?seconds=3"
	echo "$output" | head -15
	[ "$status" -eq 0 ]
	grep -Eq '^ +[0-9.]+m?s +[0-9.]+%.* (Worker\.)?inner_leaf$' <<<"$output"
	# The workload's hottest function is its leaf (other processes on the
	# host are in the profile too: select this one by its pid label, a
	# regexp, as a bare number is taken for a numeric label's range).
	HOME=$T PPROF_TMPDIR=$T run go tool pprof -top -tagfocus="pid=^$LAST_PID\$" \
		"http://127.0.0.1:$port/debug/pprof/profile?seconds=2"
	[ "$status" -eq 0 ]
	[[ "$(grep -E '^ +[0-9.]+m?s' <<<"$output" | head -1)" == *inner_leaf ]]
	# Bad requests: a clear 400, and 404 elsewhere.
	run curl -s -w ' %{http_code}' "http://127.0.0.1:$port/debug/pprof/profile?seconds=abc"
	[[ "$output" == *"invalid seconds 'abc'"*" 400" ]]
	run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope"
	[ "$output" = 404 ]
	stop_agent
	[ "$AGENT_STATUS" -eq 0 ]
}

@test "agent --listen: two scrapes at once, and windows go on meanwhile" {
	require_root
	local port
	port=$(free_port)
	mkdir "$T/out"
	start_agent --interval 1 --listen "$port" --output-dir "$T/out"
	wait_http "http://127.0.0.1:$port/"
	curl -s -o "$T/a.pb.gz" -w '%{http_code}\n' "http://127.0.0.1:$port/debug/pprof/profile?seconds=3" >"$T/a.code" &
	local a=$!
	curl -s -o "$T/b.pb.gz" -w '%{http_code}\n' "http://127.0.0.1:$port/debug/pprof/profile?seconds=2" >"$T/b.code" &
	local b=$!
	# /metrics answers while both wait.
	run curl -s -m 2 "http://127.0.0.1:$port/metrics"
	[ "$status" -eq 0 ]
	wait "$a" "$b"
	[ "$(cat "$T/a.code")" = 200 ] && [ "$(cat "$T/b.code")" = 200 ]
	python3 "$SUMMARY" "$T/a.pb.gz" "$T/b.pb.gz"
	ls "$T/out"
	[ "$(ls "$T/out" | wc -l)" -ge 3 ]
	stop_agent
}

@test "agent --listen binds to loopback unless told otherwise" {
	require_root
	local port
	port=$(free_port)
	start_agent --listen "$port"
	wait_http "http://127.0.0.1:$port/metrics"
	# Listening sockets on that port: only 127.0.0.1.
	run ss -Hltn "sport = :$port"
	echo "$output"
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == *"127.0.0.1:$port"* ]]
	stop_agent
}

@test "agent /metrics: promtool passes it, and a real Prometheus scrapes it" {
	require_root
	command -v promtool >/dev/null || skip "promtool not installed (prometheus)"
	command -v prometheus >/dev/null || skip "prometheus not installed"
	local port pport
	port=$(free_port)
	pport=$(free_port)
	start_agent -F 99 --listen "$port"
	wait_http "http://127.0.0.1:$port/metrics"
	curl -s "http://127.0.0.1:$port/metrics" >"$T/metrics"
	promtool check metrics <"$T/metrics"
	grep -q '^pybpfprof_samples_total [0-9]' "$T/metrics"
	refute grep -Ev '^(# (HELP|TYPE) pybpfprof_|pybpfprof_)' "$T/metrics"

	cat >"$T/prom.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: pybpfprof
    static_configs:
      - targets: ['127.0.0.1:$port']
EOF
	promtool check config "$T/prom.yml"
	prometheus --config.file="$T/prom.yml" --storage.tsdb.path="$T/tsdb" \
		--web.listen-address="127.0.0.1:$pport" >"$T/prom.log" 2>&1 &
	BG_PIDS+=($!)
	local q="http://127.0.0.1:$pport/api/v1/query" i up="" s1="" s2=""
	for i in $(seq 60); do
		up=$(curl -s "$q" --data-urlencode 'query=up{job="pybpfprof"}' |
			python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null) || up=""
		[ "$up" = 1 ] && break
		sleep 0.5
	done
	[ "$up" = 1 ] || { tail -20 "$T/prom.log"; false; }
	value() {
		curl -s "$q" --data-urlencode "query=$1" |
			python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else -1)'
	}
	s1=$(value pybpfprof_samples_total)
	sleep 3
	s2=$(value pybpfprof_samples_total)
	echo "pybpfprof_samples_total: $s1 then $s2"
	[ "$s1" -ge 0 ] && [ "$s2" -gt "$s1" ]
	[ "$(value pybpfprof_resident_memory_bytes)" -gt 1000000 ]
	stop_agent
}

@test "agent: SIGTERM flushes the current window and exits within 5 s; SIGHUP is harmless" {
	require_root
	mkdir "$T/out"
	start_agent --interval 2 --output-dir "$T/out" --listen "$(free_port)"
	sleep 1
	kill -HUP "$AGENT"
	sleep 2.5
	alive "$AGENT"
	grep -q 'SIGHUP ignored' "$T/agent.err"
	local n0 t0 t1
	n0=$(ls "$T/out" | wc -l)
	[ "$n0" -ge 1 ]
	t0=$(date +%s%N)
	stop_agent
	t1=$(date +%s%N)
	[ "$AGENT_STATUS" -eq 0 ]
	[ $(((t1 - t0) / 1000000)) -lt 5000 ]
	# The window in progress at SIGTERM was written, cut short.
	[ "$(ls "$T/out" | wc -l)" -eq $((n0 + 1)) ]
	local last
	last=$(ls "$T/out"/pybpfprof-*.pb.gz | tail -1)
	[ "$(python3 "$SUMMARY" "$last" | cut -d' ' -f2)" -lt 2000000000 ]
}
