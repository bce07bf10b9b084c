#!/usr/bin/env bats
# A program can name its functions and files anything: no name may break
# or inject into any output (the SVG's inertness is in formats_svg.bats).
# The target is the tests' interpreter (test_python), 3.11+ (co_qualname).

load helpers

setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	local py
	py=$(test_python) || return 0
	"$py" "$BATS_TEST_DIRNAME/workloads/hostile.py" 6 &
	local pid=$!
	sleep 0.7
	"$PYBPFPROF" -F 199 -d 2 -p "$pid" --threads \
		-o "$BATS_FILE_TMPDIR/h.folded" -o "$BATS_FILE_TMPDIR/h.txt" \
		-o "$BATS_FILE_TMPDIR/h.json" -o "$BATS_FILE_TMPDIR/h.pb.gz" \
		-o "$BATS_FILE_TMPDIR/h.prof" 2>"$BATS_FILE_TMPDIR/err" || true
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

setup() {
	require_root
	require_test_python
	version_ge "$PYV" 3.11 || skip "hostile.py renames code through co_qualname (3.11+); $PY is $PYV"
	[ -s "$BATS_FILE_TMPDIR/h.folded" ] || {
		cat "$BATS_FILE_TMPDIR/err" >&2
		false
	}
}

@test "folded: one line per stack, one frame per field, names kept readable" {
	local f=$BATS_FILE_TMPDIR/h.folded
	# Every line is "frames COUNT" with no control characters.
	refute grep -Ev '^[^;]+(;[^;]+)+ [0-9]+$' "$f"
	refute env LC_ALL=C grep -q $'[\x01-\x1f\x7f]' "$f"
	# The evil function is one frame, its ';' and newline defused.
	grep -q 'caller:with:semicolons ([^;]*);evil:name with spaces?and newline <script>' "$f"
	# Valid UTF-8 throughout (a lone surrogate became U+FFFD).
	iconv -f UTF-8 -t UTF-8 "$f" >/dev/null
	grep -q $'\xef\xbf\xbd end' "$f"
}

@test "table: one row per function, columns aligned" {
	local f=$BATS_FILE_TMPDIR/h.txt
	refute env LC_ALL=C grep -q $'[\x01-\x1f\x7f]' "$f"
	iconv -f UTF-8 -t UTF-8 "$f" >/dev/null
	# Every data row has four numeric columns where the header has them.
	awk 'NR > 1 && !($1 ~ /^[0-9.]+$/ && $2 ~ /^[0-9.]+$/ && $3 ~ /^[0-9]+$/ && $4 ~ /^[0-9]+$/) { bad = 1 }
	     END { exit bad }' "$f"
	[ "$(grep -c 'evil;name with spaces?and newline <script>' "$f")" -eq 1 ]
}

@test "speedscope: valid JSON with the names intact" {
	python3 - "$BATS_FILE_TMPDIR/h.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
names = [f["name"] for f in d["shared"]["frames"]]
assert any(n.startswith("evil") and "<script>" in n for n in names), names
PY
}

@test "pprof: go tool pprof reads it" {
	command -v go >/dev/null || skip "go not installed"
	HOME=$BATS_TEST_TMPDIR GOPATH=$BATS_TEST_TMPDIR/go GOCACHE=$BATS_TEST_TMPDIR/cache \
		run go tool pprof -raw "$BATS_FILE_TMPDIR/h.pb.gz"
	[ "$status" -eq 0 ]
	[[ "$output" == *"evil"* ]]
}

@test "pstats: pstats.Stats loads it" {
	"$PY" -c 'import pstats, sys; s = pstats.Stats(sys.argv[1]); assert any("evil" in k[2] for k in s.stats)' \
		"$BATS_FILE_TMPDIR/h.prof"
}
