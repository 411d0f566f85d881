# mtest: plain GNU make. `make` builds build/mtest; `make run` runs it on the
# bundled demo suite; `make check` runs every test (see README.md).
# Project flags and yours are kept apart: set CFLAGS, CPPFLAGS, LDFLAGS at will.

CROSS_COMPILE ?=
CC := $(CROSS_COMPILE)gcc
PKG_CONFIG ?= pkg-config
PYTHON ?= /usr/bin/python3

CFLAGS ?= -O2 -g
MT_WARN := -Wall -Wextra -Wshadow -Wvla -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wno-format-nonliteral -Wundef -Wcast-align -Wwrite-strings \
	-Wimplicit-fallthrough -Wno-format-truncation -Wstack-usage=131072
# The native unwinder of the stack capture: libdw (elfutils) by default,
# libunwind on 32-bit ARM (only it reads the ARM EHABI tables), or none.
TARGET := $(shell $(CC) -dumpmachine 2>/dev/null)
UNWIND ?= $(if $(findstring arm-linux-gnueabi,$(TARGET)),libunwind,libdw)
UNWIND_CFLAGS_libdw := -DMT_HAVE_LIBDW
UNWIND_LIBS_libdw := -ldw -lelf
UNWIND_CFLAGS_libunwind := -DMT_HAVE_LIBUNWIND
UNWIND_LIBS_libunwind := -lunwind-ptrace -lunwind-generic -lunwind
# LEDs on GPIO lines: libgpiod v1 (Debian 12) or v2 (Debian 13), as
# pkg-config finds it (for a cross build, set GPIOD_VERSION).
GPIOD_VERSION ?= $(shell $(PKG_CONFIG) --modversion libgpiod 2>/dev/null)
GPIOD_CFLAGS := $(if $(filter 2.%,$(GPIOD_VERSION)),-DMT_GPIOD_V2)
MT_CFLAGS = -std=c11 -D_GNU_SOURCE $(UNWIND_CFLAGS_$(UNWIND)) $(GPIOD_CFLAGS) $(MT_WARN) \
	-Iinclude -I$(BUILD)/gen
MT_LDLIBS := $(UNWIND_LIBS_$(UNWIND)) -lgpiod

BUILD := build
# Sources by layer (docs/architecture.md): src/base, src/run, src/sup,
# src/watch, src/state, src/led; the crash handler (src/crash) is built on
# its own.
SRC := $(wildcard src/*.c) $(filter-out src/crash/%,$(wildcard src/*/*.c))
OBJ := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRC))
LIBOBJ := $(filter-out $(BUILD)/obj/main.o,$(OBJ))

.DELETE_ON_ERROR:
.PHONY: all deps run check layers check-hw check-debian check-arm check-deb check-noledger check-cgroup unit e2e bench size asan valgrind analyze cross install deb clean

all: $(BUILD)/mtest $(BUILD)/mtest_crash.so

# The plugin's sources, and their bytecode compiled by this machine's Python
# (written beside them at run time: workers need not compile the plugin).
$(BUILD)/gen/plugin_src.h: src/plugin/mtest_plugin.py src/plugin/mtest_boot.py \
			   src/plugin/mtest_locks.py tools/embed.sh tools/embed-pyc
	@mkdir -p $(dir $@)
	{ tools/embed.sh src/plugin/mtest_plugin.py mt_plugin_source && \
	  tools/embed.sh src/plugin/mtest_boot.py mt_boot_source && \
	  tools/embed.sh src/plugin/mtest_locks.py mt_locks_source && \
	  $(PYTHON) tools/embed-pyc src/plugin/mtest_plugin.py mt_plugin_pyc \
		src/plugin/mtest_boot.py mt_boot_pyc src/plugin/mtest_locks.py mt_locks_pyc; } > $@

# Header dependencies come from the compiler (-MMD -MP): a change to any
# header, in include/ or beside the sources, rebuilds what includes it.
$(BUILD)/obj/%.o: src/%.c $(BUILD)/gen/plugin_src.h
	@mkdir -p $(dir $@)
	$(CC) $(MT_CFLAGS) -MMD -MP $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/libmtest.a: $(LIBOBJ)
	rm -f $@
	$(CROSS_COMPILE)ar rcs $@ $^

$(BUILD)/mtest: $(BUILD)/obj/main.o $(BUILD)/libmtest.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(MT_LDLIBS)

# The crash handler preloaded into workers (src/crash/mtest_crash.c).
$(BUILD)/mtest_crash.so: src/crash/mtest_crash.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(MT_WARN) $(CPPFLAGS) $(filter-out -fsanitize=%,$(CFLAGS)) \
		-shared -fPIC $(filter-out -fsanitize=%,$(LDFLAGS)) -o $@ $<

# --- the project's own set-up: install what is missing (Debian packages) --
deps:
	@tools/install-deps

# --- the main job: mtest on the bundled tower-like demo suite -------------
run: deps all
	tools/run-demo $(BUILD)/mtest

# --- every test -------------------------------------------------------------
check: deps all unit layers e2e

# The supervisor's files call each other one way (docs/architecture.md).
layers:
	$(PYTHON) tools/sup-layers.py . >/dev/null || $(PYTHON) tools/sup-layers.py .

# Recursive (=), not :=, so that pkg-config runs when the recipe does: on a
# fresh machine, `make check` installs Check (deps) after parsing this file.
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS = $(shell $(PKG_CONFIG) --libs check)
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_OBJ := $(patsubst tests/unit/%.c,$(BUILD)/unit/%.o,$(UNIT_SRC))

$(BUILD)/unit/%.o: tests/unit/%.c $(BUILD)/gen/plugin_src.h
	@mkdir -p $(dir $@)
	$(CC) $(MT_CFLAGS) $(CHECK_CFLAGS) -MMD -MP $(CPPFLAGS) $(CFLAGS) -Itests/unit -c $< -o $@

$(BUILD)/unit-tests: $(UNIT_OBJ) $(BUILD)/libmtest.a
	$(CC) $(CFLAGS) $(CHECK_CFLAGS) $(LDFLAGS) -o $@ $(UNIT_OBJ) $(BUILD)/libmtest.a $(CHECK_LIBS) $(MT_LDLIBS)

$(BUILD)/heapcheck.so: tests/heapcheck.c
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -shared -fPIC -o $@ $< -ldl

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

# -rs: every skip is printed with its reason. SKIP_BUDGET: how many may
# skip (conftest.py fails the session past it); none under STRICT, as in CI.
SKIP_BUDGET ?= $(if $(STRICT),0)
e2e: $(BUILD)/mtest $(BUILD)/heapcheck.so
	MTEST_BIN=$(abspath $(BUILD)/mtest) MTEST_HEAPCHECK_SO=$(abspath $(BUILD)/heapcheck.so) \
		MTEST_E2E_SKIP_BUDGET=$(SKIP_BUDGET) $(PYTHON) -m pytest -p no:cacheprovider -q -rs tests/e2e

# Every end-to-end test with the lock ledger off (--no-lock-ledger): the same
# verdicts, reasons from a suite's expected-noledger.tsv where they differ.
check-noledger: deps all $(BUILD)/heapcheck.so
	MTEST_E2E_LEDGER=off MTEST_BIN=$(abspath $(BUILD)/mtest) \
		MTEST_HEAPCHECK_SO=$(abspath $(BUILD)/heapcheck.so) \
		MTEST_E2E_SKIP_BUDGET=$(SKIP_BUDGET) $(PYTHON) -m pytest -p no:cacheprovider -q -rs \
		tests/e2e

bench: deps all
	$(PYTHON) tools/bench.py $(BUILD)/mtest

# Stripped size, static memory and peak memory, per architecture (the ARM
# rows from make check-arm's roots and guests).
size: all
	$(PYTHON) tools/size.py $(BUILD)

# --- the LED daemon against real kernels in qemu guests (tools/check-hw):
# x86 gpio-sim with libgpiod v1 and v2, the LED class (uleds), arm64 PL061
# with v1 and v2; the kernel's log, taint and markers (x86-kmsg). About 8
# minutes on a warm cache, 10 on a first run (docs/testing.md). A leg that
# could not be tested (exit 125: decided before it starts, no network on a
# first run) is a loud warning; STRICT=1 (as .ci/run sets it) makes it a
# failure.
check-hw:
	@tools/install-deps hw
	@rc=0; tools/check-hw || rc=$$?; \
	if [ $$rc -eq 125 ] && [ -z "$(STRICT)" ]; then \
		echo "check-hw: WARNING: some legs were NOT TESTED (above); STRICT=1 fails on this" >&2; \
		rc=0; fi; exit $$rc

# --- other userlands and architectures (need root: debootstrap, chroot) --------
# check-debian: make check inside a Debian 13 (trixie) root of this machine's
# architecture: CPython 3.13, pytest 8, libgpiod v2 (about 10 minutes the
# first time, 7 after). check-arm: mtest built natively in arm64 and armhf
# Debian roots (qemu-user) and tested in qemu-system guests with a real
# kernel (about 45 minutes per architecture the first time; docs/testing.md).
check-debian:
	@rc=0; tools/check-debian $(or $(SUITE),trixie) || rc=$$?; \
	if [ $$rc -eq 125 ] && [ -z "$(STRICT)" ]; then \
		echo "check-debian: WARNING: NOT TESTED (above); STRICT=1 fails on this" >&2; \
		rc=0; fi; exit $$rc

check-arm:
	tools/check-arm $(ARCHES)

# check-deb: the package installed with apt in a fresh Debian 12 root, its
# --self-check there, then purged without a trace (about 2 minutes the first
# time, 30 s after).
check-deb: deb
	@rc=0; tools/check-deb || rc=$$?; \
	if [ $$rc -eq 125 ] && [ -z "$(STRICT)" ]; then \
		echo "check-deb: WARNING: NOT TESTED (above); STRICT=1 fails on this" >&2; \
		rc=0; fi; exit $$rc

# check-cgroup: cgroup v2 containment and memory limits in qemu guests of
# Debian's kernels 6.1 and 6.12 (bookworm-backports), with the memory
# controller that this machine's hybrid hierarchy keeps on v1: the tests
# make check skips here, run there, with cgroup v2 mounted by hand and then
# under systemd's nightly unit (about 2.5 minutes per kernel under TCG; the
# first run downloads each kernel, about 70 MB). SUITES picks kernels.
check-cgroup: all $(BUILD)/unit-tests $(BUILD)/heapcheck.so
	@rc=0; tools/check-cgroup $(SUITES) || rc=$$?; \
	if [ $$rc -eq 125 ] && [ -z "$(STRICT)" ]; then \
		echo "check-cgroup: WARNING: NOT TESTED (above); STRICT=1 fails on this" >&2; \
		rc=0; fi; exit $$rc

# --- the box booted: tools/check-box, tools/check-lava (docs/testing.md) ------
# check-box: the .deb installed with apt in a Debian 12 qemu guest booted
# with systemd (x86_64, gpio-sim LEDs), then the box's life: the timer, a
# frozen supervisor, power cuts, SSH, the unit's sandbox, a second timer and
# a poweroff, each checked from the records and the LEDs read back from the
# guest's kernel, each timed. check-box-arm64: the same on arm64 virt (PL061
# LEDs; the package made in make check-arm's arm64 root; much slower).
# check-lava: a LAVA job run by Debian's lava-dispatcher (lava-run, no
# server) on that box, its results matched with run.jsonl one to one.
# A box that cannot be made (no network on a first run) is 125: a warning,
# a failure with STRICT=1.
.PHONY: check-box check-box-arm64 check-lava
check-box: deb
	@tools/install-deps box
	@rc=0; tools/check-box || rc=$$?; \
	if [ $$rc -eq 125 ] && [ -z "$(STRICT)" ]; then \
		echo "check-box: WARNING: NOT TESTED (above); STRICT=1 fails on this" >&2; \
		rc=0; fi; exit $$rc

check-box-arm64:
	@tools/install-deps box
	@rc=0; tools/check-box --arch arm64 || rc=$$?; \
	if [ $$rc -eq 125 ] && [ -z "$(STRICT)" ]; then \
		echo "check-box-arm64: WARNING: NOT TESTED (above); STRICT=1 fails on this" >&2; \
		rc=0; fi; exit $$rc

check-lava: deb
	@tools/install-deps lava
	@rc=0; tools/check-lava || rc=$$?; \
	if [ $$rc -eq 125 ] && [ -z "$(STRICT)" ]; then \
		echo "check-lava: WARNING: NOT TESTED (above); STRICT=1 fails on this" >&2; \
		rc=0; fi; exit $$rc
# --- end of the box's targets ---------------------------------------------------

# --- sanitizers and analyzers -------------------------------------------------
asan:
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" all unit
	MTEST_BIN=$(abspath build-asan/mtest) MTEST_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1 \
		$(PYTHON) -m pytest -p no:cacheprovider -q -rs tests/e2e -k "not heap and not memory"

valgrind: all $(BUILD)/unit-tests
	CK_FORK=no valgrind --error-exitcode=1 --leak-check=full -q $(BUILD)/unit-tests
	tools/valgrind-run $(BUILD)/mtest

analyze:
	$(MAKE) BUILD=build-analyze CFLAGS="-O1 -fanalyzer -Werror" all

# --- fuzzing: libFuzzer targets for what mtest parses (tests/fuzz/) -----------
# Debian's clang 14 with ASan and UBSan; each target links only the objects
# it needs, built into build-fuzz/. Each runs FUZZ_SECONDS on its seeds
# (tests/fuzz/corpus/<target>/, read only) and what earlier runs found
# (build-fuzz/corpus/<target>/, where new inputs go). A crash, a leak, UB
# or an input that takes over 10 s fails; its input is kept in
# build-fuzz/artifacts/.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ := build-fuzz
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude -I$(BUILD)/gen -g -O1 \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_TARGETS := events json report config ledreq board
FUZZ_OBJ = $(patsubst %,$(FUZZ)/obj/%.o,$(1))
# -max_len: an event line is at most 64 KiB, a record 32 KiB (a journal
# holds many), a config file is read up to 64 KiB.
FUZZ_LEN_events := 70000
FUZZ_LEN_json := 70000
FUZZ_LEN_report := 200000
FUZZ_LEN_config := 70000
# A request is one datagram of at most 64 bytes; a board file 16 KiB.
FUZZ_LEN_ledreq := 128
FUZZ_LEN_board := 20000
# A bad config file's one-line message, for every input: stderr closed
# (libFuzzer and the sanitizers keep a copy for their reports).
FUZZ_OPTS_config := -close_fd_mask=2

.PHONY: fuzz fuzz-deps
fuzz: fuzz-deps $(FUZZ_TARGETS:%=fuzz-run-%)

fuzz-deps:
	@tools/install-deps fuzz

$(FUZZ)/obj/%.o: src/%.c $(BUILD)/gen/plugin_src.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ)/fuzz_events: $(call FUZZ_OBJ,sup/events base/json base/buf base/fsx sup/worker run/verdict base/hash base/ring base/procfs base/msg)
$(FUZZ)/fuzz_json: $(call FUZZ_OBJ,base/json base/buf base/fsx)
$(FUZZ)/fuzz_report: $(call FUZZ_OBJ,run/report base/json base/buf base/fsx run/run run/summary state/statedir base/clock base/msg base/hash base/trust state/runstate run/pick run/junit run/lava)
$(FUZZ)/fuzz_config: $(call FUZZ_OBJ,cli base/fsx base/msg base/buf led/board led/codes base/json)
$(FUZZ)/fuzz_ledreq: $(call FUZZ_OBJ,led/request led/codes)
$(FUZZ)/fuzz_board: $(call FUZZ_OBJ,led/board led/codes base/json base/fsx base/buf)
$(FUZZ)/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/gen/plugin_src.h
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -o $@ $< $(filter %.o,$^)

fuzz-run-%: $(FUZZ)/fuzz_%
	@mkdir -p $(FUZZ)/corpus/$* $(FUZZ)/artifacts
	$< -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_LEN_$*) -timeout=10 \
		-print_final_stats=1 -artifact_prefix=$(FUZZ)/artifacts/$*- $(FUZZ_OPTS_$*) \
		$(FUZZ)/corpus/$* tests/fuzz/corpus/$*

-include $(wildcard $(FUZZ)/*.d $(FUZZ)/obj/*.d $(FUZZ)/obj/*/*.d)

# The same code for the tower's architectures. Without the target's
# libraries installed (Debian multiarch), the unwinder is left out here;
# on the box itself, `make` picks libdw (arm64) or libunwind (armhf).
cross:
	$(MAKE) BUILD=build-arm64 CROSS_COMPILE=aarch64-linux-gnu- UNWIND=none all
	$(MAKE) BUILD=build-armhf CROSS_COMPILE=arm-linux-gnueabihf- UNWIND=none all
	file build-arm64/mtest build-armhf/mtest

# --- install and a Debian package --------------------------------------------
# make install PREFIX=/usr DESTDIR=...: the binary, the crash handler beside
# it (lib/mtest), the man page, the board files (share/mtest/board, where a
# board NAME is looked up), the self-check's scenarios (share/mtest/
# selfcheck), the systemd units and, when none is there yet,
# the default config /etc/mtest/mtest.conf (read from /etc whatever the
# PREFIX). mtest finds its files relative to its binary, so any PREFIX
# works.
PREFIX ?= /usr
SYSCONFDIR ?= /etc
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
UNITS := mtest-nightly.service mtest-nightly.timer mtest-resume.service mtest-led.service

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/mtest \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/mtest/board \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/mtest
	install -m 755 $(BUILD)/mtest $(DESTDIR)$(PREFIX)/bin/mtest
	install -m 644 $(BUILD)/mtest_crash.so $(DESTDIR)$(PREFIX)/lib/mtest/mtest_crash.so
	install -m 644 docs/mtest.1 $(DESTDIR)$(PREFIX)/share/man/man1/mtest.1
	install -m 644 board/*.json $(DESTDIR)$(PREFIX)/share/mtest/board/
	install -d $(DESTDIR)$(PREFIX)/share/mtest/selfcheck
	install -m 644 tools/selfcheck/pytest.ini tools/selfcheck/test_selfcheck.py \
		$(DESTDIR)$(PREFIX)/share/mtest/selfcheck/
	for u in $(UNITS); do \
		sed 's|@BINDIR@|$(PREFIX)/bin|g' tools/systemd/$$u > $(DESTDIR)$(UNITDIR)/$$u.tmp && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$u.tmp && \
		mv $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/mtest/mtest.conf ]; then \
		echo "install: $(DESTDIR)$(SYSCONFDIR)/mtest/mtest.conf exists: kept"; else \
		install -m 644 tools/mtest.conf $(DESTDIR)$(SYSCONFDIR)/mtest/mtest.conf; fi

# make deb: BUILD/mtest_VERSION_ARCH.deb from an install tree, with dpkg-deb
# (tools/make-deb: the dependencies from the libraries the binary links).
# For a box: make deb BUILD=build-arm64 CROSS_COMPILE=aarch64-linux-gnu-
deb: all
	rm -rf $(BUILD)/deb
	$(MAKE) --no-print-directory install PREFIX=/usr DESTDIR=$(CURDIR)/$(BUILD)/deb/root >/dev/null
	STRIP=$(CROSS_COMPILE)strip tools/make-deb $(BUILD) $(BUILD)/deb/root

-include $(OBJ:.o=.d) $(UNIT_OBJ:.o=.d)

clean:
	rm -rf build build-asan build-analyze build-arm64 build-armhf build-libunwind build-fuzz \
		build-hw build-static build-hw-arm64 build-hw-v2 build-check-arm build-check-debian \
		build-box build-lava
