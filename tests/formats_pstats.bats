#!/usr/bin/env bats
# The pstats (.prof) output read by the pstats module of every CPython
# from 3.8 to 3.13: one profile of nested.py under the tests' interpreter
# (test_python), written with a folded copy from the same run, and each
# reader checked against it. A reader version pyenv lacks comes from the
# host's /usr/bin or a Debian root (require_version), and reads there.

load helpers

# bats 1.8 cannot skip from setup_file(): each test's setup() checks what
# the profile needs, and the first to get through makes it for all.
setup() {
	require_root
	require_test_python
	F=$WORKLOADS/nested.py
	PROF=$BATS_FILE_TMPDIR/p.prof
	FOLDED=$BATS_FILE_TMPDIR/p.folded
	PROF_ERR=$BATS_FILE_TMPDIR/err
	[ -e "$BATS_FILE_TMPDIR/status" ] || profile_once
}

teardown() {
	[ -z "${ROOT_TMP:-}" ] || rm -rf "$ROOT_TMP"
	kill_bg_all
}

profile_once() {
	local status=0
	start_bg "$PY" "$F" 6 1
	wait_started 0.7
	# --full-filenames: the folded copy names files as pstats does, absolute.
	"$PYBPFPROF" -F 199 -d 2 --full-filenames -p "$LAST_PID" -o "$PROF" -o "$FOLDED" \
		2>"$PROF_ERR" || status=$?
	kill_bg
	echo "$status" >"$BATS_FILE_TMPDIR/status"
}

# Runs on every reader version: no syntax newer than 3.8.
read -r -d '' CHECK_PY <<'EOF' || true
import io
import pstats
import sys

prof, folded, src = sys.argv[1:4]
inner, middle, outer = (int(x) for x in sys.argv[4:7])
# What the profiled interpreter names methods with: 'Worker.' (3.11+) or ''.
qual = sys.argv[7]
# The rate the run's summary line reported, to its 0.1 Hz.
SAID = float(sys.argv[8])
INNER = (src, inner, qual + 'inner_leaf')
MIDDLE = (src, middle, qual + 'middle')
OUTER = (src, outer, qual + 'outer')


def close(got, want, what):
    if abs(got - want) > 1e-6 * abs(want) + 1e-12:
        sys.exit('%s: %r, want %r' % (what, got, want))


st = pstats.Stats(prof, stream=io.StringIO())
st.sort_stats('tottime')
if st.fcn_list[0] != INNER:
    sys.exit('first by tottime: %r, want %r' % (st.fcn_list[0], INNER))
for func, (cc, nc, tt, ct, callers) in st.stats.items():
    if not (cc == nc > 0 and 0 <= tt <= ct):
        sys.exit('%r: cc %r nc %r tt %r ct %r' % (func, cc, nc, tt, ct))

# The folded copy of the same run: all samples, and those of outer.
samples = frameless = outer_own = outer_total = 0
outer_label = '%s (%s:' % (OUTER[2], src)
with open(folded) as f:
    for line in f:
        stack, count = line.rstrip('\n').rsplit(' ', 1)
        count = int(count)
        frames = [x for x in stack.split(';')[1:] if x != '[truncated]']
        samples += count
        if not frames:
            # Only the process frame: no function to count it in.
            frameless += count
            continue
        if frames[-1].startswith(outer_label):
            outer_own += count
        if any(x.startswith(outer_label) for x in frames):
            outer_total += count
if samples - frameless <= 0 or outer_total <= 0:
    sys.exit('folded: %d samples, %d with %s' % (samples, outer_total, OUTER[2]))
# Times are samples over the rate measured (random intervals around the
# 199 Hz asked, over the time the CPUs ran): the rate the summary said,
# one rate for every time below.
HZ = (samples - frameless) / st.total_tt
if abs(HZ - SAID) > 0.05 + 1e-6:
    sys.exit('rate %r Hz, the summary said %r' % (HZ, SAID))

cc, nc, tt, ct, callers = st.stats[OUTER]
if not cc == nc == outer_total:
    sys.exit('%s: cc %r nc %r, want %d' % (OUTER[2], cc, nc, outer_total))
close(tt, outer_own / HZ, OUTER[2] + ' tottime')
close(ct, outer_total / HZ, OUTER[2] + ' cumtime')

# inner_leaf is only ever called by middle: all of it comes through there.
cc, nc, tt, ct, callers = st.stats[INNER]
if MIDDLE not in callers:
    sys.exit('callers of inner_leaf: %r' % (callers,))
c_nc, c_cc, c_tt, c_ct = callers[MIDDLE]
if not c_nc == c_cc == nc:
    sys.exit('middle -> inner_leaf: %r, inner_leaf nc %r' % (callers[MIDDLE], nc))
close(c_tt, tt, 'middle -> inner_leaf tottime')
close(c_ct, ct, 'middle -> inner_leaf cumtime')

out = io.StringIO()
pstats.Stats(prof, stream=out).print_callers('inner_leaf')
text = out.getvalue()
if pstats.func_std_string(MIDDLE) not in text:
    sys.exit('print_callers names no %s:\n%s' % (MIDDLE[2], text))
EOF

check_reader() {
	local inner middle outer said status prof=$PROF folded=$FOLDED
	require_version "$1"
	status=$(cat "$BATS_FILE_TMPDIR/status")
	if [ "$status" -ne 0 ]; then
		echo "pybpfprof exited $status:" >&2
		cat "$PROF_ERR" >&2
		return 1
	fi
	echo "# $PY${PY_ROOT:+ in $PY_ROOT} reads it" >&3
	if [ -n "$PY_ROOT" ]; then
		# The reader sees the files at their paths in its root.
		ROOT_TMP=$(mktemp -d "$PY_ROOT/tmp/pstats.XXXXXX")
		cp "$PROF" "$FOLDED" "$ROOT_TMP/"
		prof=${ROOT_TMP#"$PY_ROOT"}
		folded=$prof/${FOLDED##*/}
		prof=$prof/${PROF##*/}
	fi
	inner=$(grep -n '    def inner_leaf(' "$F" | cut -d: -f1)
	middle=$(grep -n '    def middle(' "$F" | cut -d: -f1)
	outer=$(grep -n '    def outer(' "$F" | cut -d: -f1)
	said=$(summary_rate "$PROF_ERR")
	near_asked "$said" 199
	run_python -c "$CHECK_PY" "$prof" "$folded" "$F" "$inner" "$middle" "$outer" "$QUAL" "$said"

	# The interactive browser, as a user would start it.
	local out
	out=$(printf 'sort tottime\nstats 3\nquit\n' | run_python -m pstats "$prof" 2>&1)
	if ! grep -qF "$F:$inner($QUAL""inner_leaf)" <<<"$out"; then
		echo "python$1 -m pstats printed no inner_leaf:" >&2
		echo "$out" >&2
		return 1
	fi
}

@test "pstats of CPython 3.8 reads the .prof" {
	check_reader 3.8
}

@test "pstats of CPython 3.9 reads the .prof" {
	check_reader 3.9
}

@test "pstats of CPython 3.10 reads the .prof" {
	check_reader 3.10
}

@test "pstats of CPython 3.11 reads the .prof" {
	check_reader 3.11
}

@test "pstats of CPython 3.12 reads the .prof" {
	check_reader 3.12
}

@test "pstats of CPython 3.13 reads the .prof" {
	check_reader 3.13
}
