# cprof — build, test, benchmark, install.
#   make            build into build/ (O=DIR elsewhere)
#   make check      unit + end-to-end tests (+ a bounded fuzz run), then the
#                   same on a sanitizer build in build-san/ (CHECK_SAN=0: not)
#   make check SAN=address,undefined   only the sanitizer build
#   make demo       the guided tour
#   make bench      overhead against uftrace, gprof, callgrind, ...; then
#                   how well compensation gives back SQLite's and the demo's time
#   make install PREFIX=/usr/local DESTDIR=
# Missing build dependencies are installed once through apt-get
# (scripts/install-deps.sh); V=1 shows full commands; WERROR=1 adds -Werror.

ifneq ($(SAN),)
O ?= build-san
else
O ?= build
endif
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif
PKG_CONFIG ?= pkg-config

ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
endif

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(WERROR),1)
WARN += -Werror
endif
BASE_CFLAGS := -std=gnu11 $(WARN) -g -O2 -fPIC -MMD -MP -DCPROF_VERSION=\"0.1.0\"
SAN_FLAGS := $(if $(SAN),-fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all)
CFLAGS ?=
ALL_CFLAGS = $(BASE_CFLAGS) $(CFLAGS)

# Flags of the libraries; empty until deps are installed (see $(DEPS_OK)).
DEPS_OK := $(O)/.deps-ok
dep_flags = $(shell $(PKG_CONFIG) --cflags --libs $(1) 2>/dev/null)

COMMON_SRC := $(wildcard common/*.c)
INSTRUMENT_SRC := $(wildcard instrument/*.c)
PRELOAD_SRC := $(wildcard preload/*.c)
REPORTER_SRC := $(wildcard reporter/*.c)
REPORTER_LIB_SRC := $(filter-out reporter/main.c,$(REPORTER_SRC))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
PROG_SRC := $(wildcard tests/progs/*.c)

# Reporter and tests: $(O)/obj (sanitized under SAN=). Runtimes: $(O)/obj-rt,
# never sanitized (ASan must own malloc; the hooks run inside any program).
obj = $(patsubst %.c,$(O)/obj/%.o,$(1))
rt_obj = $(patsubst %.c,$(O)/obj-rt/%.o,$(1))

CPROF := $(O)/bin/cprof
LIB_INSTRUMENT := $(O)/lib/libcprof-instrument.so
LIB_MALLOC := $(if $(PRELOAD_SRC),$(O)/lib/libcprof-malloc.so)
UNIT_BINS := $(patsubst tests/unit/%.c,$(O)/tests/unit/%,$(UNIT_SRC))
PROG_BINS := $(patsubst tests/progs/%.c,$(O)/tests/progs/%,$(PROG_SRC))
# The uftrace cross-check's shape_* programs (shape.mk) stay gcc-only.
PROG_CLANG_BINS := $(patsubst tests/progs/%.c,$(O)/tests/progs-clang/%,\
	$(filter-out tests/progs/shape_%,$(PROG_SRC)))
CLANG ?= clang

.PHONY: all test-bins check check-unit check-e2e check-fuzz demo bench fuzz install clean deps format

all: $(CPROF) $(LIB_INSTRUMENT) $(LIB_MALLOC)

deps: $(DEPS_OK)
$(DEPS_OK): scripts/install-deps.sh
	$(Q)$(PKG_CONFIG) --exists libunwind libdw criterion libprotobuf-c 2>/dev/null || scripts/install-deps.sh build
	$(Q)scripts/install-deps.sh build
	$(Q)mkdir -p $(@D) && touch $@

# ---- objects: runtimes and reporter share common/ ----
$(O)/obj/%.o: %.c | $(DEPS_OK)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) \
		$(if $(filter reporter/% tests/%,$<),$(call dep_flags,libdw libelf criterion)) -c $< -o $@

$(O)/obj-rt/%.o: %.c | $(DEPS_OK)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -fvisibility=hidden -c $< -o $@

# ---- the call profiler's runtime: never instrumented (but for the overhead
# calibration, which runs instrumented code on purpose), never sanitized ----
$(O)/obj-rt/instrument/calibrate.o: ALL_CFLAGS += -finstrument-functions
$(LIB_INSTRUMENT): $(call rt_obj,$(INSTRUMENT_SRC) $(COMMON_SRC))
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -shared -fvisibility=hidden -o $@ $^ -lpthread -Wl,-z,nodelete

# ---- the reporter ----
$(CPROF): $(call obj,$(REPORTER_SRC) $(COMMON_SRC))
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(call dep_flags,libdw libelf) $(LDLIBS_CPROF) -lm

-include preload/preload.mk
-include pipeline-demo/pipeline.mk
-include reporter/pprof.mk
-include tests/progs/shape.mk

# ---- tests ----
$(O)/tests/unit/%: tests/unit/%.c $(call obj,$(REPORTER_LIB_SRC) $(COMMON_SRC)) | $(DEPS_OK)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -Ireporter -Icommon -o $@ $^ \
		$(call dep_flags,criterion libdw libelf) $(LDLIBS_CPROF) -lm

# The shim's call-frame reader, checked against libdw's.
$(O)/tests/unit/test_cfi: $(call obj,preload/cfi_rules.c)

# Test programs: built the way a user builds (-finstrument-functions -g).
$(O)/tests/progs/%: tests/progs/%.c include/cprof.h | $(DEPS_OK)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -g -O2 -fno-inline -finstrument-functions -Iinclude -o $@ $< -lpthread

# The same programs built by clang (DWARF 5, no .debug_aranges): names,
# files and lines must not depend on the compiler.
$(O)/tests/progs-clang/%: tests/progs/%.c include/cprof.h | $(DEPS_OK)
	$(call say,CLANG,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -std=gnu11 -g -O2 -fno-inline -finstrument-functions -Iinclude -o $@ $< -lpthread

# A plain `make check` also runs the suite again on the sanitizer build
# (ASan+UBSan reporter, demo and tests) in $(O)-san, less the tests of the
# runtimes alone, which that build leaves unsanitized (tests/run-all.sh
# lists them as skipped); CI runs it too; CHECK_SAN=0 skips that pass.
CHECK_SAN ?= 1
# Everything the tests run, built but not run (for running one test by hand).
test-bins: all $(UNIT_BINS) $(PROG_BINS) $(PROG_CLANG_BINS)

check: test-bins
	$(Q)O=$(O) SAN=$(SAN) tests/run-all.sh
ifeq ($(SAN)$(CHECK_SAN),1)
	$(Q)echo "== the same suite on the sanitizer build ($(O)-san, SAN=address,undefined) =="
	$(Q)THIRDPARTY_DIR=$${THIRDPARTY_DIR:-$(abspath $(O))/thirdparty} \
		$(MAKE) --no-print-directory SAN=address,undefined O=$(O)-san check
endif

fuzz: all
	$(Q)O=$(O) FUZZ_SECONDS=$${FUZZ_SECONDS:-1800} fuzz/run.sh

demo: all $(PROG_BINS)
	$(Q)O=$(O) scripts/demo.sh

bench: all
	$(Q)O=$(O) bench/run.sh
	$(Q)O=$(O) bench/compensation.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(CPROF) $(DESTDIR)$(PREFIX)/bin/cprof
	install -m 644 $(LIB_INSTRUMENT) $(LIB_MALLOC) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/cprof.h $(DESTDIR)$(PREFIX)/include/cprof.h
	sed 's|@PREFIX@|$(PREFIX)|g' docs/cprof.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/cprof.pc
	install -m 644 docs/cprof.1 $(DESTDIR)$(PREFIX)/share/man/man1/cprof.1
	install -d $(DESTDIR)$(PREFIX)/share/man/man3
	install -m 644 docs/cprof.3 $(DESTDIR)$(PREFIX)/share/man/man3/cprof.3

# .clang-format on the lines changed since HEAD only: the tree's tabs
# before trailing comments and its longer message lines are hand-made,
# and clang-format over whole files would rewrite about 1,150 lines.
format:
	git clang-format --style=file --force HEAD -- \
		$(filter-out build/% build-san/% $(O)/%,$(wildcard */*.c */*.h */*/*.c */*/*.h))

clean:
	rm -rf build build-san $(O) $(O)-san

-include $(shell find $(O)/obj $(O)/obj-rt $(O)/tests/unit -name '*.d' 2>/dev/null)
