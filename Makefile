# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# pybpfprof build. `make V=1` shows the commands.

OUTPUT ?= build
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
# Where systemd looks (systemd-analyze unit-paths): /usr/local/lib/systemd/
# system for the default PREFIX; Debian 12's packages use /lib/systemd/system.
ifeq ($(PREFIX),/usr)
SYSTEMD_UNITDIR ?= /lib/systemd/system
else
SYSTEMD_UNITDIR ?= $(PREFIX)/lib/systemd/system
endif
CLANG ?= clang
BPFTOOL ?= bpftool
LLVM_STRIP ?= llvm-strip
CC ?= gcc
PKG_CONFIG ?= pkg-config
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
# A pre-generated vmlinux.h may be given instead of dumping local BTF.
VMLINUX_H ?=

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
ifeq ($(filter x86,$(ARCH)),)
$(error unsupported architecture $(ARCH): pybpfprof reads the x86-64 thread pointer)
endif

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.1.0)

CFLAGS ?= -g -O2
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Werror=undef -Wno-unused-parameter \
	  -Wmissing-field-initializers -D_GNU_SOURCE -DPYBPFPROF_VERSION='"$(VERSION)"'
# make SANITIZE=1: ASan + UBSan build (test-sanitize uses it).
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif
# user/ holds one folder per layer (cli, core, capture, target, symbolize,
# profile, encode, ui); headers are included by name from any of them.
USER_DIRS := $(patsubst %/,%,$(sort $(dir $(wildcard user/*/*.c user/*/*.h))))
INCLUDES := -I$(OUTPUT) -Iinclude $(addprefix -I,$(USER_DIRS))
# Per-file dependencies: only what includes the skeleton waits for clang
# and bpftool, so unit tests and fuzzers build without them.
DEPFLAGS = -MMD -MP
LIBBPF_LIBS := $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)
# libcurl pushes to Pyroscope; libmicrohttpd serves scrapes and /metrics.
LDLIBS += $(LIBBPF_LIBS) -lelf -lz -lm -lpthread \
	  $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null || echo -lcurl) \
	  $(shell $(PKG_CONFIG) --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd) \
	  $(shell $(PKG_CONFIG) --libs libdw 2>/dev/null || echo -ldw)

# System include dirs for -target bpf (asm/types.h and friends).
CLANG_BPF_SYS_INCLUDES ?= $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

USER_SRCS := $(wildcard user/*/*.c)
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
LIB_OBJS := $(filter-out $(OUTPUT)/user/cli/main.o,$(USER_OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/unit/%,$(UNIT_SRCS))

# libFuzzer harnesses: every user/ object rebuilt with clang's sanitizers.
FUZZ_CC ?= clang
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -DPYBPFPROF_VERSION='"$(VERSION)"' \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZERS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst %,$(OUTPUT)/fuzz/fuzz_%,$(FUZZERS))
FUZZ_OBJS := $(patsubst user/%.c,$(OUTPUT)/fuzz/obj/%.o,$(filter-out user/cli/main.c,$(USER_SRCS)))
FUZZ_SECONDS ?= 60

.PHONY: all clean install deps deps-build test test-unit test-sanitize test-slow test-fresh \
	test-kernels test-soak demo bench fuzz fuzz-build
.DELETE_ON_ERROR:
.SECONDARY:

all: $(OUTPUT)/pybpfprof

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/unit:
	$(Q)mkdir -p $@

ifeq ($(VMLINUX_H),)
$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(Q)test -r $(VMLINUX_BTF) || { echo "error: $(VMLINUX_BTF) not found: the kernel has no BTF (CONFIG_DEBUG_INFO_BTF); pass VMLINUX_H=path/to/vmlinux.h" >&2; exit 1; }
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@
else
$(OUTPUT)/vmlinux.h: $(VMLINUX_H) | $(OUTPUT)
	$(Q)cp $< $@
endif

$(OUTPUT)/pybpfprof.bpf.o: bpf/pybpfprof.bpf.c $(wildcard bpf/*.bpf.h) include/pybpfprof.h $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
		$(INCLUDES) $(CLANG_BPF_SYS_INCLUDES) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(OUTPUT)/pybpfprof.skel.h: $(OUTPUT)/pybpfprof.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name pybpfprof_bpf > $@

# The skeleton is generated before anything that includes it compiles
# (an order-only prerequisite of those objects, found by -MMD after the
# first build; sampler.c is the one that does).
$(OUTPUT)/user/capture/sampler.o $(OUTPUT)/fuzz/obj/capture/sampler.o: $(OUTPUT)/pybpfprof.skel.h

$(OUTPUT)/user/%.o: user/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) $(INCLUDES) -c $< -o $@

$(OUTPUT)/pybpfprof: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/libpybpfprof.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# Unit tests link the archive: each pulls in only the objects it uses.
$(OUTPUT)/unit/%: tests/unit/%.c $(OUTPUT)/libpybpfprof.a | $(OUTPUT)/unit
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) $(INCLUDES) $< $(OUTPUT)/libpybpfprof.a $(LDLIBS) -o $@

$(OUTPUT)/fuzz/obj:
	$(Q)mkdir -p $@

$(OUTPUT)/fuzz/obj/%.o: user/%.c
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) $(INCLUDES) -c $< -o $@

$(OUTPUT)/fuzz/libfuzz.a: $(FUZZ_OBJS)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(OUTPUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(OUTPUT)/fuzz/libfuzz.a
	$(call msg,FUZZ-LD,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -fsanitize=fuzzer $(INCLUDES) $< $(OUTPUT)/fuzz/libfuzz.a \
		$(LDLIBS) -o $@

fuzz-build: $(FUZZ_BINS)

# Run each fuzzer for FUZZ_SECONDS (by hand: make fuzz FUZZ_SECONDS=600).
fuzz: fuzz-build
	$(Q)for f in $(FUZZERS); do tests/run-fuzz $$f $(FUZZ_SECONDS) || exit 1; done

test-unit: $(UNIT_BINS)
	$(Q)for t in $(UNIT_BINS); do $$t || exit 1; done

# What building and running need (make demo); deps adds what the tests use.
deps-build:
	$(Q)tools/install-deps --build

deps:
	$(Q)tools/install-deps

# The build runs in a sub-make, after deps: with -j the deps would
# otherwise race the compiler, and this Makefile's $(shell ...) probes
# (pkg-config, clang) must run once the tools are installed.
test: deps
	$(Q)$(MAKE) --no-print-directory all $(UNIT_BINS) fuzz-build
	$(Q)tests/run-all

# The unit tests and the integration suites whose code reads what others
# wrote (target memory, native stacks, HTTP, profiles, names), against an
# ASan+UBSan build. The suites about accuracy, packaging, kernels and
# interpreter versions run the same code on the same inputs, and only in
# make test: the full list under ASan took longer than the rest of CI.
# SANITIZE_SUITES="tests/*.bats" runs them all.
SANITIZE_SUITES ?= agent agent_push diff faults formats_pprof formats_pstats \
	formats_speedscope formats_svg hostile names native views
test-sanitize: deps
	$(Q)$(MAKE) --no-print-directory OUTPUT=$(OUTPUT)/sanitize SANITIZE=1 all $(patsubst $(OUTPUT)/%,$(OUTPUT)/sanitize/%,$(UNIT_BINS))
	$(Q)OUTPUT=$(OUTPUT)/sanitize PYBPFPROF=$(abspath $(OUTPUT))/sanitize/pybpfprof \
		PYBPFPROF_AGENT_SOAK_SECONDS=$${PYBPFPROF_AGENT_SOAK_SECONDS:-60} \
		PYBPFPROF_SANITIZED=1 tests/run-all \
		$(foreach s,$(SANITIZE_SUITES),$(if $(findstring /,$(s)),$(s),tests/$(s).bats))

# Tests that need interpreters built from source first (free-threaded
# CPython, cached in tests/.cache): the first run builds for minutes.
# A source package the mirror no longer has (exit 3) leaves its tests
# skipped, with the reason printed.
test-slow: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)for v in 3.13 3.14; do tools/build-cpython-ft $$v >/dev/null; rc=$$?; \
		[ $$rc -eq 0 ] || [ $$rc -eq 3 ] || exit $$rc; done
	$(Q)RUN_ALL_BATS_ONLY=1 tests/run-all tests/freethreaded.bats

# The agent's soak at its CI length: 10 minutes of 1 s windows under
# process churn (make test runs it for 60 s).
test-soak: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)PYBPFPROF_AGENT_SOAK_SECONDS=$${PYBPFPROF_AGENT_SOAK_SECONDS:-600} \
		RUN_ALL_BATS_ONLY=1 RUN_ALL_FILTER="agent soak" tests/run-all tests/soak.bats

# Debian's 5.10, 6.1 and 6.12 kernels booted under qemu (KVM when a guest
# boots under it, TCG otherwise), each running the core checks against the
# binary just built; kernels and the root are cached in tests/.cache/kernels.
test-kernels: deps all
	$(Q)PYBPFPROF_TEST_KERNELS=1 RUN_ALL_BATS_ONLY=1 tests/run-all tests/kernels.bats

# One profile of the bundled workload: table, build/demo.svg, build/demo.folded.
demo: deps-build
	$(Q)$(MAKE) --no-print-directory all
	$(Q)PYBPFPROF=$(abspath $(OUTPUT))/pybpfprof DEMO_DIR=$(abspath $(OUTPUT)) tools/demo

# make demo on pristine Debian 12 and 13 roots (debootstrap, chroot): the
# README's quick start where nothing is preinstalled. Needs the network.
test-fresh:
	$(Q)tools/test-fresh

bench: all
	$(Q)tools/bench

# The binary, the man page, the agent's systemd unit and its options file
# (dist/). An existing $(SYSCONFDIR)/default/pybpfprof is the admin's: never
# overwritten. After installing, `systemctl daemon-reload`.
install: $(OUTPUT)/pybpfprof
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSTEMD_UNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/default
	install -m 0755 $(OUTPUT)/pybpfprof $(DESTDIR)$(BINDIR)/pybpfprof
	install -m 0644 doc/pybpfprof.8 $(DESTDIR)$(MANDIR)/man8/pybpfprof.8
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		dist/pybpfprof.service.in >$(DESTDIR)$(SYSTEMD_UNITDIR)/pybpfprof.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNITDIR)/pybpfprof.service
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/default/pybpfprof ]; then \
		echo "kept $(DESTDIR)$(SYSCONFDIR)/default/pybpfprof (the new one is dist/pybpfprof.default)"; \
	else \
		echo "install -m 0644 dist/pybpfprof.default $(DESTDIR)$(SYSCONFDIR)/default/pybpfprof"; \
		install -m 0644 dist/pybpfprof.default $(DESTDIR)$(SYSCONFDIR)/default/pybpfprof; \
	fi

# What install put there; the options file only if nobody changed it.
.PHONY: uninstall
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/pybpfprof $(DESTDIR)$(MANDIR)/man8/pybpfprof.8 \
		$(DESTDIR)$(SYSTEMD_UNITDIR)/pybpfprof.service
	@if cmp -s dist/pybpfprof.default $(DESTDIR)$(SYSCONFDIR)/default/pybpfprof; then \
		echo "rm -f $(DESTDIR)$(SYSCONFDIR)/default/pybpfprof"; \
		rm -f $(DESTDIR)$(SYSCONFDIR)/default/pybpfprof; \
	elif [ -e $(DESTDIR)$(SYSCONFDIR)/default/pybpfprof ]; then \
		echo "kept $(DESTDIR)$(SYSCONFDIR)/default/pybpfprof: it was changed"; \
	fi

# $(OUTPUT)/pybpfprof_VERSION_ARCH.deb from make install DESTDIR=... PREFIX=/usr
# (tools/make-deb). Needs dpkg-dev for dpkg-shlibdeps.
.PHONY: deb
deb: $(OUTPUT)/pybpfprof
	$(Q)OUTPUT=$(OUTPUT) tools/make-deb

clean:
	rm -rf $(OUTPUT)

-include $(shell find $(OUTPUT) -name '*.d' 2>/dev/null)
