#!/usr/bin/env bats
# A container cannot make the profiler open host files of its choosing:
# binaries are opened inside the target's root (openat2 RESOLVE_IN_ROOT)
# and must be the mapped inode, else /proc/PID/map_files is used.

load helpers

@test "a symlink planted in a container never leads the profiler to a host file" {
	require_root
	# Debian's python3 (static: it needs no libpython beside it).
	local py name
	py=$(debian_python) || skip "/usr/bin/python3 not installed"
	name=${py##*/}
	command -v inotifywait >/dev/null || skip "inotifywait not installed (inotify-tools)"
	local root=$BATS_TEST_TMPDIR/root secret=/tmp/pybpfprof-host-secret-$$
	echo "host secret" > "$secret"
	# A tiny container root: the host's /usr read-only, its own /bin.
	mkdir -p "$root"/{usr,bin,proc,tmp,w}
	ln -s usr/lib "$root/lib"
	ln -s usr/lib64 "$root/lib64"
	cp "$py" "$root/bin/$name"
	cp "$WORKLOADS/escape.py" "$root/w/escape.py"

	inotifywait -m -e open -e access --format '%e' "$secret" >"$BATS_TEST_TMPDIR/opens" 2>/dev/null &
	local watch=$!
	BG_PIDS+=("$watch")
	# pivot_root, as container runtimes do: its mapping paths are then
	# container paths (/bin/python3.X) that do not exist on the host.
	start_bg unshare --mount --pid --fork sh -c "
		mount --make-rprivate / && mount --bind '$root' '$root' &&
		mount --rbind /usr '$root/usr' && cd '$root' && mkdir -p old &&
		pivot_root . old &&
		exec chroot . /bin/$name /w/escape.py 6 '$secret'"
	local pid=""
	for _ in $(seq 50); do
		pid=$(pgrep -f "^/bin/$(re_escape "$name") /w/escape.py" | head -1) && [ -n "$pid" ] && break
		sleep 0.1
	done
	[ -n "$pid" ]
	sleep 1
	# The host sees the container's path, which the container now points
	# at the host's secret with an absolute symlink.
	grep -q " /bin/$(re_escape "$name")\$" "/proc/$pid/maps"
	[ "$(readlink "/proc/$pid/root/bin/$name")" = "$secret" ]

	profile -F 199 -d 2 -f folded
	[ "$PROFILE_STATUS" -eq 0 ]
	sleep 0.3
	kill "$watch"
	# Profiled all the same, through map_files...
	assert_folded_has "^$(re_escape "$name") \\($pid\\);<module> \\($(re_file /w/escape.py):[0-9]+\\);contained_leaf \\($(re_file /w/escape.py):$(line_of escape_hot "$WORKLOADS/escape.py")\\) [0-9]+$"
	# ...and the host file was never opened.
	[ ! -s "$BATS_TEST_TMPDIR/opens" ]
	rm -f "$secret"
}
