#!/usr/bin/env bats
# Deployment (issue 8): make install and uninstall; the options file
# dist/pybpfprof.default against the agent; the agent inside the
# sandbox of dist/pybpfprof.service.in (emulated by tests/unit-sandbox:
# systemd is not PID 1 here); and make deb, installed with
# `apt-get install ./pybpfprof_*.deb` into a pristine Debian 12 root
# (debootstrap minbase with git, make and ca-certificates, as make
# test-fresh starts from; cached by tools/pristine-root), where the packaged
# agent runs and `systemd-analyze verify` checks the installed unit.
#
# Measured at a load average of 9 on 2 vCPUs: 2 minutes in all, 30 s of it
# making the package and installing it, the two agent runs in the sandbox
# 20-25 s each; the first run also builds the pristine root (2-6 min). The
# package tests are skipped, with the reason, only when the Debian mirror
# cannot be reached, and in the sanitizer pass (the package is made from
# the normal build).

bats_require_minimum_version 1.5.0
load helpers

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
DEFAULTS=$TOP/dist/pybpfprof.default
UNIT_IN=$TOP/dist/pybpfprof.service.in
VERSION=$(cat "$TOP/VERSION")
OUT=$(cd "$TOP" && mkdir -p "${OUTPUT:-build}" && cd "${OUTPUT:-build}" && pwd)
CACHE=${PYBPFPROF_CACHE:-$TOP/tests/.cache}
# Where setup_file leaves the package tests' state.
PKG_STATE=$BATS_FILE_TMPDIR/package.state
ROOT=$BATS_FILE_TMPDIR/root
APT_CACHE=$CACHE/pristine/bookworm.apt

require_tool() {
	command -v "$1" >/dev/null || {
		echo "$1 not found: make deps installs it" >&2
		return 1
	}
}

# Run a command in the Debian root $ROOT as root: chrooted, in a private
# mount namespace with the host's /proc, /sys and /dev (BPF and BTF work
# as on the host) and apt's download cache bound in. Every mount dies
# with the namespace.
in_root() {
	APT_CACHE=$APT_CACHE unshare --mount --propagation private /bin/bash -ec '
		r=$1
		shift
		for m in proc sys dev; do
			mount -n --rbind "/$m" "$r/$m"
		done
		mount -n --bind "$APT_CACHE" "$r/var/cache/apt/archives"
		exec chroot "$r" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
			PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"
	' in-root "$ROOT" "$@"
}

# A process chrooted in $ROOT: ours, left behind. End it, say so, fail.
end_left_in_root() {
	local p left=0

	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] || continue
		echo "process ${p#/proc/} was left running in the root:" \
			"$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-100)" >&2
		kill -KILL "${p#/proc/}" 2>/dev/null || true
		left=1
	done
	return "$left"
}

setup_file() {
	local log=$BATS_FILE_TMPDIR/package.log tar rc deb

	if [ "$(id -u)" -ne 0 ]; then
		echo "skip needs root" >"$PKG_STATE"
		return 0
	fi
	if [ "${PYBPFPROF_SANITIZED:-}" = 1 ]; then
		echo "skip the package is made from the normal build (make test)" >"$PKG_STATE"
		return 0
	fi
	start=$(date +%s)
	if ! make -C "$TOP" --no-print-directory OUTPUT="$OUT" deb >"$log" 2>&1; then
		echo "fail make deb failed: $(tail -5 "$log" | tr '\n' ' ')" >"$PKG_STATE"
		return 0
	fi
	rc=0
	# The root make test-fresh starts from (one tarball for both): none of
	# the package's dependencies comes with git, make or ca-certificates.
	tar=$("$TOP/tools/pristine-root" --include git,make,ca-certificates bookworm \
		2>>"$log" | tail -1) || rc=$?
	if [ "$rc" -eq 3 ]; then
		echo "skip the Debian mirror cannot be reached ($(tail -1 "$log"))" >"$PKG_STATE"
		return 0
	elif [ "$rc" -ne 0 ]; then
		echo "fail tools/pristine-root failed: $(tail -3 "$log" | tr '\n' ' ')" >"$PKG_STATE"
		return 0
	fi
	mkdir -p "$ROOT" "$APT_CACHE"
	tar --numeric-owner --xattrs -C "$ROOT" -xzf "$tar"
	chmod 0755 "$ROOT"
	# The host's resolver, for apt; no package may start a daemon.
	cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
	printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
	chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
	deb=$OUT/pybpfprof_${VERSION}_$(dpkg --print-architecture).deb
	cp "$deb" "$ROOT/tmp/"
	if ! in_root apt-get update -q >>"$log" 2>&1; then
		echo "skip apt-get update in the root failed: the mirror cannot be reached ($(tail -2 "$log" | tr '\n' ' '))" >"$PKG_STATE"
		return 0
	fi
	if ! in_root /bin/sh -c "cd /tmp && apt-get install -y -q ./${deb##*/}" >>"$log" 2>&1; then
		echo "fail apt-get install ./${deb##*/} failed: $(tail -8 "$log" | tr '\n' ' ')" >"$PKG_STATE"
		return 0
	fi
	echo "ok $(($(date +%s) - start)) s to build, make the root and install" >"$PKG_STATE"
}

teardown_file() {
	[ -d "$ROOT" ] || return 0
	end_left_in_root || true
	# Mounts were all made in private namespaces: none can be left.
	if findmnt -rn -o TARGET | grep -qF "$ROOT"; then
		echo "mounts left under $ROOT" >&2
		return 1
	fi
	rm -rf --one-file-system "$ROOT"
}

# The package tests' precondition: setup_file's outcome.
require_package() {
	local state

	state=$(cat "$PKG_STATE")
	case "$state" in
	ok*) return 0 ;;
	skip*) skip "${state#skip }" ;;
	*) echo "${state#fail }" >&2; echo "log: $BATS_FILE_TMPDIR/package.log" >&2; return 1 ;;
	esac
}

# ---- make install ------------------------------------------------------------

@test "make install: the binary, man page, unit and options file, and the unit verifies" {
	local t=$BATS_TEST_TMPDIR/inst unit out

	require_tool systemd-analyze
	run make -C "$TOP" --no-print-directory install PREFIX="$t/usr" SYSCONFDIR="$t/etc"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(stat -c %a "$t/usr/bin/pybpfprof")" = 755 ]
	[ "$(stat -c %a "$t/usr/share/man/man8/pybpfprof.8")" = 644 ]
	unit=$t/usr/lib/systemd/system/pybpfprof.service
	[ "$(stat -c %a "$unit")" = 644 ]
	[ "$(stat -c %a "$t/etc/default/pybpfprof")" = 644 ]
	cmp "$DEFAULTS" "$t/etc/default/pybpfprof"
	# The paths are this PREFIX's, and no placeholder is left.
	grep -qxF "ExecStart=$t/usr/bin/pybpfprof agent \$PYBPFPROF_OPTS" "$unit"
	grep -qxF "EnvironmentFile=-$t/etc/default/pybpfprof" "$unit"
	refute grep -nE '@[A-Z]+@' "$unit"
	# systemd's own check, man page lookup included; a warning fails too.
	out=$(MANPATH=$t/usr/share/man systemd-analyze verify "$unit" 2>&1) || {
		echo "$out"
		return 1
	}
	[ -z "$out" ] || { echo "$out"; return 1; }
}

@test "make install: the unit goes where systemd reads units, for PREFIX /usr/local and /usr" {
	local paths dir

	require_tool systemd-analyze
	paths=$(systemd-analyze unit-paths)
	for prefix in /usr/local /usr; do
		dir=$(make -C "$TOP" --no-print-directory -n install PREFIX=$prefix DESTDIR=/x |
			sed -n 's|.*>/x\(/.*\)/pybpfprof.service$|\1|p')
		echo "PREFIX=$prefix: $dir"
		[ -n "$dir" ]
		grep -qxF "$dir" <<<"$paths"
	done
}

@test "make install keeps a changed options file; make uninstall removes the rest" {
	local t=$BATS_TEST_TMPDIR/inst

	make -C "$TOP" --no-print-directory install DESTDIR="$t" >/dev/null
	echo 'PYBPFPROF_OPTS="--output-dir /var/lib/pybpfprof"' >>"$t/etc/default/pybpfprof"
	run make -C "$TOP" --no-print-directory install DESTDIR="$t"
	[ "$status" -eq 0 ]
	[[ "$output" == *"kept $t/etc/default/pybpfprof"* ]]
	tail -1 "$t/etc/default/pybpfprof" | grep -qF -- '--output-dir /var/lib/pybpfprof'

	run make -C "$TOP" --no-print-directory uninstall DESTDIR="$t"
	[ "$status" -eq 0 ]
	[ -z "$(find "$t" -type f ! -path "$t/etc/default/pybpfprof")" ]
	[ -f "$t/etc/default/pybpfprof" ]
	# An unchanged one goes.
	cp "$DEFAULTS" "$t/etc/default/pybpfprof"
	make -C "$TOP" --no-print-directory uninstall DESTDIR="$t" >/dev/null
	[ ! -e "$t/etc/default/pybpfprof" ]
}

# ---- the options file ------------------------------------------------------------

@test "the options file documents every agent option" {
	local help opt missing=""

	help=$("$PYBPFPROF" agent --help)
	for opt in $(grep -oE -- '(^|[ ,])--?[a-zA-Z][a-z-]*' <<<"$help" | tr -d ' ,' | sort -u); do
		case "$opt" in --help | -h | --version) continue ;; esac
		grep -qE -- "(^|[^a-z-])$opt([^a-z-]|$)" "$DEFAULTS" || missing+=" $opt"
	done
	[ -z "$missing" ] || { echo "not in dist/pybpfprof.default:$missing"; return 1; }
}

@test "the options file's examples and its default are accepted by the agent" {
	local hdr=$BATS_TEST_TMPDIR/push-headers line n=0
	local -a args

	echo 'Authorization: Bearer test' >"$hdr"
	# Each "e.g." example, each commented PYBPFPROF_OPTS= line, and the
	# setting itself, split as systemd splits $PYBPFPROF_OPTS (at spaces,
	# quotes removed), then parsed by the agent (--help last: it exits
	# after the options before it are checked).
	while IFS= read -r line; do
		line=${line//\/etc\/pybpfprof\/push-headers/$hdr}
		eval "args=($line)"
		run "$PYBPFPROF" agent "${args[@]}" --help
		if [ "$status" -ne 0 ] || [[ "$output" != "Usage: pybpfprof agent"* ]]; then
			echo "refused: $line"
			echo "$output" | head -3
			return 1
		fi
		n=$((n + 1))
	done < <(sed -nE -e 's/^#.*e\.g\. (.*)$/\1/p' \
		-e 's/^#? *PYBPFPROF_OPTS="(.*)"$/\1/p' "$DEFAULTS")
	echo "$n examples"
	[ "$n" -ge 20 ]
	# The one setting is the last line, and it names a sink.
	tail -1 "$DEFAULTS" | grep -qE '^PYBPFPROF_OPTS=".*--(listen|push|output-dir) '
}

# ---- the unit's sandbox -----------------------------------------------------------

@test "tests/unit-sandbox: /root, /home and /tmp hidden, only the state directory writable (not /proc), the unit's capabilities" {
	local t=$BATS_TEST_TMPDIR unit state want got

	require_root
	require_tool strace
	require_tool setpriv
	require_tool systemd-analyze
	unit=$t/pybpfprof.service
	sandbox_dir
	sed -e "s|@BINDIR@|$SBX/bin|g" -e 's|@SYSCONFDIR@|/etc|g' "$UNIT_IN" >"$unit"
	state=$(mktemp -d "$SBX/state.XXXXXX")
	run tests_unit_sandbox --seconds 1 "$unit" "$state" "$t/trace" /bin/sh -c '
		echo "entries: $(ls -A /root /home /tmp /var/tmp | grep -v ":$" | grep -c .)"
		touch /usr/unit-sandbox-probe 2>/dev/null && echo "/usr writable"
		touch /etc/unit-sandbox-probe 2>/dev/null && echo "/etc writable"
		touch "$1/probe" && echo "state writable"
		(echo 0 >/proc/self/oom_score_adj) 2>/dev/null && echo "/proc writable"
		echo "dev: $(ls /dev | tr "\n" " ")"
		setpriv -d | sed -n "s/^Capability bounding set: /bounding: /p"
		echo "nice: $(nice)"' sh "$state"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"entries: 0"* ]]
	[[ "$output" != *"/usr writable"* ]]
	[[ "$output" != *"/etc writable"* ]]
	[[ "$output" != *"/proc writable"* ]]
	[[ "$output" == *"state writable"* ]]
	[[ "$output" == *"dev: fd full null random shm stderr stdin stdout tty urandom zero "* ]]
	want=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr 'A-Z ' 'a-z\n' | sed 's/^cap_//' | sort | tr '\n' ,)
	got=$(sed -n 's/^bounding: //p' <<<"$output" | tr , '\n' | sort | tr '\n' ,)
	[ "$got" = "$want" ]
	[[ "$output" == *"nice: -10"* ]]
}

@test "dist/kernel-frames.conf: with it, /proc/kallsyms is readable in the sandbox, with addresses; without it, hidden" {
	local t=$BATS_TEST_TMPDIR unit state

	require_root
	require_tool strace
	require_tool setpriv
	require_tool systemd-analyze
	unit=$t/pybpfprof.service
	sandbox_dir
	sed -e "s|@BINDIR@|$SBX/bin|g" -e 's|@SYSCONFDIR@|/etc|g' "$UNIT_IN" >"$unit"
	cat "$unit" "$TOP/dist/kernel-frames.conf" >"$t/with-dropin.service"
	state=$(mktemp -d "$SBX/state.XXXXXX")
	# The first text symbol: its address, 0 when hidden by kptr rules.
	run tests_unit_sandbox --seconds 1 "$unit" "$state" "$t/trace" \
		/bin/sh -c 'grep -m1 " [Tt] " /proc/kallsyms || echo "no kallsyms"'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"no kallsyms"* ]]
	run tests_unit_sandbox --seconds 1 "$t/with-dropin.service" "$state" "$t/trace" \
		/bin/sh -c 'grep -m1 " [Tt] " /proc/kallsyms || echo "no kallsyms"'
	echo "$output"
	[ "$status" -eq 0 ]
	# The symbol is the last line (the sandbox may say what it could not apply).
	[[ "${lines[-1]}" =~ ^[0-9a-f]{16}\ [Tt]\  ]]
	[[ "${lines[-1]}" != 0000000000000000* ]]
}

# The agent with AGENT-ARGS in the unit's sandbox (tests/unit-sandbox),
# against interpreters whose binaries only the unit's capabilities reach,
# with every sink: each interpreter must be in the windows written, the
# scrape and /metrics answered, the pushes made with the header file's
# header, the exit on SIGTERM clean, and every rule of the trace kept.
agent_in_sandbox() {
	local t=$BATS_TEST_TMPDIR py unit state home etc port names=() n f scrape

	require_root
	require_tool strace
	require_tool setpriv
	require_tool systemd-analyze
	[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3"
	py=$(readlink -f /usr/bin/python3)
	unit=$t/pybpfprof.service
	sandbox_dir
	sed -e "s|@BINDIR@|$SBX/bin|g" -e 's|@SYSCONFDIR@|/etc|g' "$UNIT_IN" >"$unit"
	state=$(mktemp -d "$SBX/state.XXXXXX")

	# ProtectHome=: an interpreter under /root or /home, when there is one.
	if f=$(find_python 3.12) && [[ "$f" == /root/* || "$f" == /home/* ]]; then
		start_workload "$f" "$WORKLOADS/named_spin.py" home_spin 60
		names+=(home_spin)
	else
		echo "# no pyenv 3.12 under /root or /home: ProtectHome=yes is not exercised" >&3
	fi
	# PrivateTmp=: one under /tmp.
	mkdir -p "$t/tmpbin"
	cp "$py" "$t/tmpbin/python3"
	start_workload "$t/tmpbin/python3" "$WORKLOADS/named_spin.py" tmp_spin 60
	names+=(tmp_spin)
	# CAP_DAC_READ_SEARCH: a stranger's 0700 home (not under the test's
	# 0700 temporary directory: the stranger could not reach it).
	home=$(mktemp -d "$SBX/home.XXXXXX")
	cp "$py" "$home/python3"
	cp "$WORKLOADS/named_spin.py" "$home/"
	chown -R 4242:4242 "$home"
	chmod 0700 "$home"
	start_workload setpriv --reuid=4242 --regid=4242 --clear-groups \
		"$home/python3" "$home/named_spin.py" stranger_spin 60
	names+=(stranger_spin)
	# CAP_CHECKPOINT_RESTORE: a binary deleted under its process (an upgrade).
	mkdir -p "$t/del"
	cp "$py" "$t/del/python3"
	start_workload "$t/del/python3" "$WORKLOADS/named_spin.py" deleted_spin 60
	names+=(deleted_spin)
	wait_started 1
	rm "$t/del/python3"
	grep -q "$t/del/python3 (deleted)" "/proc/$LAST_PID/maps"

	# --push to a stand-in Pyroscope, credentials from a root-only file
	# outside /tmp (as /etc/pybpfprof/push-headers would be).
	etc=$(mktemp -d "$SBX/etc.XXXXXX")
	install -m 0600 /dev/null "$etc/push-headers"
	echo 'X-Scope-OrgID: deploy-test' >"$etc/push-headers"
	mkdir -p "$t/rec"
	start_workload "$py" "$TOP/tests/push_recorder.py" serve "$t/rec" 0
	for ((n = 0; n < 100; n++)); do
		[ -s "$t/rec/port" ] && break
		sleep 0.1
	done
	[ -s "$t/rec/port" ]
	port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	# A scraper and /metrics, from outside, while it runs.
	# (Under strace, on a busy machine, the agent may take seconds to listen.)
	"$py" - "http://127.0.0.1:$port" "$t" <<-'EOF' &
		import sys, time, urllib.request
		base, out = sys.argv[1], sys.argv[2]
		for path, name in (("/metrics", "metrics"),
		                   ("/debug/pprof/profile?seconds=1", "scrape.pb.gz")):
		    for i in range(60):
		        try:
		            with urllib.request.urlopen(base + path, timeout=10) as r:
		                open(out + "/" + name, "wb").write(r.read())
		            break
		        except OSError:
		            time.sleep(0.2)
	EOF
	scrape=$!
	# LeakSanitizer cannot run under ptrace (strace); the other suites
	# look for leaks.
	[ "${PYBPFPROF_SANITIZED:-}" != 1 ] || export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	run tests_unit_sandbox --seconds 9 "$unit" "$state" "$t/trace" \
		"$SBX/bin/pybpfprof" agent "$@" --interval 1 --output-dir "$state" \
		--listen "127.0.0.1:$port" --push "http://localhost:$(cat "$t/rec/port")" \
		--push-header-file "$etc/push-headers"
	wait "$scrape" || true
	echo "$output" | grep -v 'not profiled' | tail -20
	# 0: the agent exited cleanly on SIGTERM; 3 would list broken rules.
	[ "$status" -eq 0 ]
	n=$(find "$state" -name 'pybpfprof-*.pb.gz' | wc -l)
	echo "$n windows written"
	[ "$n" -ge 4 ]
	for f in "${names[@]}"; do
		if ! cat "$state"/pybpfprof-*.pb.gz | gzip -dc | grep -aqF "$f"; then
			echo "no $f in any window written in the sandbox"
			return 1
		fi
	done
	grep -q '^pybpfprof_build_info' "$t/metrics"
	gzip -t "$t/scrape.pb.gz"
	# Pushed, by name (localhost), with the header from the file.
	n=$(grep -l '"status": 200' "$t"/rec/req-*.json 2>/dev/null | wc -l)
	echo "$n pushes answered 200"
	[ "$n" -ge 2 ]
	grep -q '"X-Scope-OrgID": "deploy-test"' "$t"/rec/req-*.json
}

@test "the agent in the unit's sandbox (emulated), wall mode and --kernel: binaries in /root, /tmp, a stranger's home, deleted; every sink; only allowed calls" {
	agent_in_sandbox --mode wall --kernel
}

@test "the agent in the unit's sandbox (emulated), --native: the same" {
	agent_in_sandbox --native
}

# The workloads first, then what the tests made outside their temporary
# directory.
teardown() {
	kill_bg
	if [ -f "$BATS_TEST_TMPDIR/cleanup" ]; then
		while read -r d; do
			rm -rf --one-file-system "$d"
		done <"$BATS_TEST_TMPDIR/cleanup"
	fi
}

tests_unit_sandbox() {
	"$TOP/tests/unit-sandbox" "$@"
}

# SBX: a directory the unit's sandbox shows, with the binary in SBX/bin as
# the package puts it in /usr/bin. ProtectHome= and PrivateTmp= hide /root,
# /home, /tmp and /var/tmp, where a checkout (and its build) may well be.
# Removed at teardown.
sandbox_dir() {
	SBX=$(mktemp -d /var/lib/pybpfprof-tests.XXXXXX)
	echo "$SBX" >>"$BATS_TEST_TMPDIR/cleanup"
	chmod 0755 "$SBX"
	install -D -m 0755 "$PYBPFPROF" "$SBX/bin/pybpfprof"
}

# ---- the Debian package -----------------------------------------------------------

@test "make deb: Depends computed from the binary's libraries, a conffile, nothing started" {
	local deb lib pkg depends

	require_package
	deb=$OUT/pybpfprof_${VERSION}_$(dpkg --print-architecture).deb
	[ "$(dpkg-deb -f "$deb" Package)" = pybpfprof ]
	[ "$(dpkg-deb -f "$deb" Version)" = "$VERSION" ]
	depends=$(dpkg-deb -f "$deb" Depends)
	echo "Depends: $depends"
	# Every library the binary needs is in Depends, by its package here.
	# (NEEDED names the libraries; ldd says which file each is here.)
	for lib in $(readelf -d "$OUT/pybpfprof" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p'); do
		lib=$(ldd "$OUT/pybpfprof" | sed -n "s|^[[:space:]]*$lib => \([^ ]*\) .*|\1|p")
		[ -n "$lib" ]
		pkg=$(dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")")
		pkg=${pkg%%:*}
		[ -n "$pkg" ]
		[[ ", $depends," =~ ,\ $pkg[\ ,] ]] || { echo "$lib ($pkg) is not in Depends"; return 1; }
	done
	[ "$(dpkg-deb -I "$deb" conffiles)" = /etc/default/pybpfprof ]
	# The maintainer scripts never start or enable the service, and
	# touch systemd only when it runs.
	for s in postinst prerm postrm; do
		dpkg-deb -I "$deb" "$s" | grep -v '^[[:space:]]*#' >"$BATS_TEST_TMPDIR/$s"
		refute grep -nE '(systemctl|deb-systemd-invoke).* (start|enable|restart|reload-or-restart) ' \
			"$BATS_TEST_TMPDIR/$s"
		if grep -qE 'systemctl|deb-systemd-invoke' "$BATS_TEST_TMPDIR/$s"; then
			grep -q '\[ -d /run/systemd/system \]' "$BATS_TEST_TMPDIR/$s"
		fi
	done
	# Stripped, as Debian ships binaries.
	dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/bin/pybpfprof >"$BATS_TEST_TMPDIR/bin"
	refute bash -c "readelf -S '$BATS_TEST_TMPDIR/bin' | grep -E '\.(symtab|debug_info)'"
}

@test "package: apt-get install ./pybpfprof_*.deb in a pristine Debian 12 root; agent --version" {
	require_package
	echo "# $(cut -d' ' -f2- "$PKG_STATE")" >&3
	run in_root dpkg-query -W -f '${Status} ${Version}' pybpfprof
	[ "$output" = "install ok installed $VERSION" ]
	run in_root pybpfprof agent --version
	[ "$status" -eq 0 ]
	[ "$output" = "pybpfprof $VERSION" ]
}

@test "package: binary, man page, unit and options file where Debian 12 and systemd look" {
	local list

	require_package
	list=$(in_root dpkg -L pybpfprof)
	for f in /usr/bin/pybpfprof /usr/share/man/man8/pybpfprof.8.gz \
		/lib/systemd/system/pybpfprof.service /etc/default/pybpfprof \
		/usr/share/doc/pybpfprof/copyright /usr/share/doc/pybpfprof/changelog.gz; do
		grep -qxF "$f" <<<"$list" || { echo "dpkg -L has no $f"; return 1; }
		[ -f "$ROOT$f" ]
	done
	cmp "$DEFAULTS" "$ROOT/etc/default/pybpfprof"
	in_root dpkg-query -W -f '${Conffiles}\n' pybpfprof | grep -q '^ /etc/default/pybpfprof '
	grep -qxF 'ExecStart=/usr/bin/pybpfprof agent $PYBPFPROF_OPTS' "$ROOT/lib/systemd/system/pybpfprof.service"
	grep -qxF 'EnvironmentFile=-/etc/default/pybpfprof' "$ROOT/lib/systemd/system/pybpfprof.service"
	gzip -dc "$ROOT/usr/share/man/man8/pybpfprof.8.gz" | grep -q '^\.TH PYBPFPROF 8'
	# Installed, not enabled.
	[ ! -e "$ROOT/etc/systemd/system/multi-user.target.wants/pybpfprof.service" ]
}

@test "package: the installed agent runs in the root, writes windows, and SIGTERM ends it with 0" {
	require_package
	run in_root /bin/sh -c 'mkdir -p /var/lib/pybpfprof &&
		timeout --preserve-status -s TERM 3.5 pybpfprof agent --interval 1 \
			--output-dir /var/lib/pybpfprof 2>/tmp/agent.err; echo "status $?";
		ls /var/lib/pybpfprof; for f in /var/lib/pybpfprof/*.pb.gz; do gzip -t "$f"; done'
	echo "$output"
	cat "$ROOT/tmp/agent.err" | grep -v 'not profiled' || true
	[ "$status" -eq 0 ]
	[[ "$output" == *"status 0"* ]]
	[ "$(grep -c '^pybpfprof-.*\.pb\.gz$' <<<"$output")" -ge 2 ]
	end_left_in_root
}

@test "package: systemd-analyze verify passes the installed unit (root with systemd and man-db)" {
	local log=$BATS_FILE_TMPDIR/package.log

	require_package
	in_root apt-get install -y -q --no-install-recommends systemd man-db >>"$log" 2>&1 || {
		tail -8 "$log"
		return 1
	}
	run in_root systemd-analyze verify pybpfprof.service
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# And it would refuse a broken one (a misspelt directive warns).
	sed 's/^ProtectClock=/ProtectClok=/' "$ROOT/lib/systemd/system/pybpfprof.service" \
		>"$ROOT/etc/systemd/system/broken.service"
	run in_root systemd-analyze verify broken.service
	rm -f "$ROOT/etc/systemd/system/broken.service"
	[[ "$output" == *"Unknown key 'ProtectClok'"* ]]
}

@test "package: dpkg -r keeps the options file; dpkg -P removes it, the profiles and the enable link" {
	local wants=/etc/systemd/system/multi-user.target.wants

	require_package
	mkdir -p "$ROOT/var/lib/pybpfprof" "$ROOT$wants"
	touch "$ROOT/var/lib/pybpfprof/pybpfprof-x.pb.gz"
	ln -sf /lib/systemd/system/pybpfprof.service "$ROOT$wants/pybpfprof.service"
	in_root dpkg -r pybpfprof
	[ ! -e "$ROOT/usr/bin/pybpfprof" ]
	[ ! -e "$ROOT/lib/systemd/system/pybpfprof.service" ]
	[ -f "$ROOT/etc/default/pybpfprof" ]
	in_root dpkg -P pybpfprof
	[ ! -e "$ROOT/etc/default/pybpfprof" ]
	[ ! -e "$ROOT/var/lib/pybpfprof" ]
	[ ! -L "$ROOT$wants/pybpfprof.service" ]
	run in_root dpkg-query -W -f '${Status}' pybpfprof
	[[ "$output" != *" installed"* ]]
}
