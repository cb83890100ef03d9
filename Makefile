# MicroLM Lab - build, test, demos, benchmarks.
#
#   make            library, plots library, ./microlm and every demo program
#   make demos      render every analysis into results/ (the main job)
#   make test       the whole suite (float build, then the double build), "N passed, N failed"
#   make sanitize   the suite under ASan + UBSan
#   make bench      benchmarks (results/bench.json)
#   make gallery    every plot series through both renderers into results/gallery/
#   make install    PREFIX=/usr/local
#
# Sources are found by wildcard, so adding a file needs no edit here:
#   lib/*.c          -> libmicrolm.a   (the model and everything that measures it)
#   plots/*.c        -> libmlmplots.a  (figure model and renderers; Cairo, pango)
#   demos/cli/*.c    -> microlm        (the command-line tool)
#   demos/common/*.c -> linked into every demo program
#   demos/[0-9]*.c, demos/gallery.c -> one program each
#   tests/test_*.c   -> one test program each; tests/run.sh sums their results
#   tests/bench_*.c  -> benchmark programs run by `make bench`

CC      ?= cc
SCALAR  ?= float
SAN     ?=
WERROR  ?=
PREFIX  ?= /usr/local

ARCH    ?=
BUILD := build/$(SCALAR)$(if $(SAN),-san)$(if $(ARCH),-$(ARCH))

PKGS := cairo pangocairo libcjson
DEPS_OK := $(shell pkg-config --exists $(PKGS) 2>/dev/null && echo yes)

WARN    := -Wall -Wextra -Wpedantic -Wshadow $(if $(WERROR),-Werror)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
OPT     := $(if $(SAN),-O1 -fno-omit-frame-pointer $(SANFLAGS),-O2)
CFLAGS  ?=
CFLAGS  += -std=c11 -D_POSIX_C_SOURCE=200809L -g $(OPT) $(WARN) -fopenmp -Ilib -Iplots -Idemos/common
CFLAGS  += $(if $(filter double,$(SCALAR)),-DMLM_DOUBLE)
CFLAGS  += $(if $(ARCH),-march=$(ARCH))
CFLAGS  += $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
LDFLAGS += -fopenmp $(if $(SAN),$(SANFLAGS))

LIB_SRC    := $(wildcard lib/*.c)
PLOT_SRC   := $(wildcard plots/*.c)
CLI_SRC    := $(wildcard demos/cli/*.c)
COMMON_SRC := $(wildcard demos/common/*.c)
DEMO_SRC   := $(wildcard demos/[0-9]*.c) $(wildcard demos/gallery.c) $(wildcard demos/report.c)
TEST_SRC   := $(wildcard tests/test_*.c)
BENCH_SRC  := $(wildcard tests/bench_*.c)
TESTLIB_SRC:= $(filter-out tests/test_% tests/bench_% tests/fuzz_%,$(wildcard tests/*.c))

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIB     := $(BUILD)/libmicrolm.a
PLOTLIB := $(BUILD)/libmlmplots.a
CLI     := $(BUILD)/microlm
DEMOS   := $(patsubst demos/%.c,$(BUILD)/demos/%,$(DEMO_SRC))
TESTS   := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
BENCHES := $(patsubst tests/%.c,$(BUILD)/tests/%,$(BENCH_SRC))

.PHONY: all deps demos test test-float test-double test-portable sanitize bench gallery clean install check-deps fuzz fuzz-smoke crosscheck
.DEFAULT_GOAL := all

all: check-deps
	@$(MAKE) --no-print-directory build-all
	@ln -sf $(BUILD)/microlm microlm

build-all: $(LIB) $(PLOTLIB) $(CLI) $(DEMOS)

# Missing system packages: install them (apt-get; sudo when not root), saying so.
check-deps:
	@if [ "$(DEPS_OK)" != yes ] || ! command -v gnuplot >/dev/null 2>&1; then \
	  echo "microlm: missing build dependencies (cairo, pango, cJSON dev files or gnuplot); installing them with apt-get"; \
	  $(MAKE) --no-print-directory deps; fi

deps:
	@SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "microlm: no apt-get here; install by hand: a C11 compiler, make, pkg-config, cairo, pango, cJSON (dev files), gnuplot" >&2; exit 1; fi; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	  build-essential pkg-config libcairo2-dev libpango1.0-dev libcjson-dev gnuplot-nox \
	  poppler-utils fonts-dejavu-core >/dev/null || \
	{ echo "microlm: apt-get failed; run: sudo apt-get install build-essential pkg-config libcairo2-dev libpango1.0-dev libcjson-dev gnuplot-nox poppler-utils fonts-dejavu-core" >&2; exit 1; }

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(call obj,$(LIB_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(PLOTLIB): $(call obj,$(PLOT_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(CLI): $(call obj,$(CLI_SRC) $(COMMON_SRC)) $(PLOTLIB) $(LIB)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/demos/%: $(BUILD)/demos/%.o $(call obj,$(COMMON_SRC)) $(PLOTLIB) $(LIB)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(call obj,$(TESTLIB_SRC) $(COMMON_SRC)) $(PLOTLIB) $(LIB)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# test_noalloc counts the heap calls of the library's objects (tests/test_noalloc.c)
$(BUILD)/tests/test_noalloc: LDFLAGS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,--wrap=posix_memalign,--wrap=strdup

# ---- the main job -------------------------------------------------------------------------
# Every analysis once, its figure, JSON and the report (demos/report.c); the numbered
# programs in $(BUILD)/demos/ run one analysis each.
demos: all
	@mkdir -p results
	@$(BUILD)/demos/report --out results

gallery: all
	$(BUILD)/demos/gallery --out results/gallery

# ---- tests ----------------------------------------------------------------------------------
test: check-deps
	@mkdir -p build; rm -f build/test-float.log build/test-double.log
	@$(MAKE) --no-print-directory test-float test-double || \
	  { echo "make test: the build failed (see above)"; echo "0 passed, 1 failed"; exit 1; }
	@sh tests/summary.sh build/test-float.log build/test-double.log

test-float:
	@$(MAKE) --no-print-directory SCALAR=float build-all build/float/tests/.built
	@ln -sf build/float/microlm microlm
	@sh tests/run.sh build/float build/test-float.log || true

test-double:
	@$(MAKE) --no-print-directory SCALAR=double build-all build/double/tests/.built
	@sh tests/run.sh build/double build/test-double.log || true

$(BUILD)/tests/.built: $(TESTS) $(BENCHES)
	@touch $@

# The suite on the portable path: built for a CPU without AVX-512 (-march=x86-64-v2) and run
# with the run-time dispatch forced to the plain C kernels (MLM_ISA=portable).
test-portable: check-deps
	@mkdir -p build; rm -f build/test-portable.log
	@$(MAKE) --no-print-directory ARCH=x86-64-v2 build-all build/float-x86-64-v2/tests/.built || \
	  { echo "make test-portable: the build failed (see above)"; echo "0 passed, 1 failed"; exit 1; }
	@MLM_ISA=portable sh tests/run.sh build/float-x86-64-v2 build/test-portable.log || true
	@sh tests/summary.sh build/test-portable.log

sanitize: check-deps
	@mkdir -p build; rm -f build/test-san.log
	@$(MAKE) --no-print-directory SAN=1 build-all build/float-san/tests/.built || \
	  { echo "make sanitize: the build failed (see above)"; echo "0 passed, 1 failed"; exit 1; }
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  MLM_SANITIZE=1 sh tests/run.sh build/float-san build/test-san.log || true; \
	sh tests/summary.sh build/test-san.log

bench: all $(BENCHES)
	@mkdir -p results
	@sh tests/bench.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/microlm
	install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin/microlm
	install -m 644 $(LIB) $(PLOTLIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 lib/*.h plots/*.h $(DESTDIR)$(PREFIX)/include/microlm/

clean:
	rm -rf build microlm

-include $(shell find build -name '*.d' 2>/dev/null)

# ---- fuzzing and the PyTorch cross-check (tests/fuzz/fuzz.mk, tests/crosscheck/crosscheck.mk) ----
-include tests/fuzz/fuzz.mk
-include tests/crosscheck/crosscheck.mk
