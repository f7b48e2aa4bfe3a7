# Regula — build, run, test, bench, install.  `make run` and `make test` are all the set-up there is.

SWIFT   ?= swift
PYTHON  ?= python3
CC      ?= cc
PREFIX  ?= /usr/local
RELEASE := .build/release
LIB     := $(RELEASE)/libregula.so
CLI     := $(RELEASE)/regula
SCAD    := examples/plugins/scad/libregula_scad.so
CFLAGS_STRICT := -std=c99 -Wall -Wextra -Werror -Iinclude
LDFLAGS_REGULA := -L$(RELEASE) -lregula -Wl,-rpath,$(abspath $(RELEASE)) -lm
APT_PACKAGES := libopenblas-dev libffi-dev pkg-config

.PHONY: all deps build run demo test test-swift test-c test-python test-examples plugins fixtures test-hostile soak docs check-docs bench grokking install install-files check-sanitizers fuzz-build fuzz fuzz-short tsan clean

all: build

# System packages: installed with apt-get when running as root, otherwise the command is printed.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing system packages; run: sudo apt-get install -y$$missing"; exit 1; fi; \
	fi
	@$(PYTHON) -c "import numpy, pytest" 2>/dev/null || $(PYTHON) -m pip install -q numpy pytest

build: deps
	$(SWIFT) build -c release --product regula
	$(SWIFT) build -c release --product regula-cli
	cp $(RELEASE)/regula-cli $(CLI)

plugins: $(SCAD)

$(SCAD): examples/plugins/scad/scad.c include/regula.h include/regula_plugin.h
	$(CC) $(CFLAGS_STRICT) -O2 -fPIC -shared $< -o $@ -lm

# Bad-plugin fixtures for the hostile suite and `regula check` (Tests/RegulaCTests/plugins/).
FIX     := .build/fixtures
FIX_SRC := Tests/RegulaCTests/plugins
BAD_VARIANTS := null_descriptor abi struct_size table_size null_fn dup_builtin dup_within schema id
FIXTURES := $(FIX)/not_elf.so $(FIX)/libbad_no_entry.so $(FIX)/liberr_plugin.so $(FIX)/libloader_plugin.so \
  $(FIX)/libsegv_plugin.so $(foreach v,$(BAD_VARIANTS),$(FIX)/libbad_$(v).so)
fixtures: $(FIXTURES)
$(FIX)/not_elf.so:
	@mkdir -p $(FIX) && printf 'this is a text file, not an ELF shared object\n' > $@
$(FIX)/libbad_%.so: $(FIX_SRC)/bad_descriptor.c $(FIX_SRC)/common.h include/regula_plugin.h
	@mkdir -p $(FIX)
	$(CC) $(CFLAGS_STRICT) -O1 -fPIC -shared -DBAD_$$(echo $* | tr a-z A-Z) $< -o $@ -lm
$(FIX)/libbad_no_entry.so: $(FIX_SRC)/no_entry.c
	@mkdir -p $(FIX) && $(CC) $(CFLAGS_STRICT) -fPIC -shared $< -o $@
# The loader fixture calls rg_plugin_load: it resolves against the host's libregula at load time.
$(FIX)/lib%_plugin.so: $(FIX_SRC)/%_plugin.c $(FIX_SRC)/common.h include/regula_plugin.h
	@mkdir -p $(FIX) && $(CC) $(CFLAGS_STRICT) -O1 -fPIC -shared $< -o $@ -lm

# The hostile-input suite: every case in its own child process (a crash fails the case only).
test-hostile: build fixtures
	@mkdir -p .build/ctests
	$(CC) $(CFLAGS_STRICT) Tests/RegulaCTests/hostile_test.c $(LDFLAGS_REGULA) -lpthread -o .build/ctests/hostile_test
	.build/ctests/hostile_test $(FIX)

# The main job on the embedded default: the compare grid on the bundled UCI digits.
run: build
	$(CLI) compare --csv .build/compare.csv

# "GD doesn't make the cut": proximal gradient vs subgradient descent on a lasso.
demo: build
	$(CLI) demo lasso

test: build plugins test-swift test-c check-docs test-examples fuzz-short tsan test-python

test-swift:
	$(SWIFT) test

test-c: build plugins
	@mkdir -p .build/ctests
	@printf '#include "regula.h"\nint main(void) { return rg_abi_version() == REGULA_ABI_VERSION ? 0 : 1; }\n' > .build/ctests/header_only.c
	$(CC) $(CFLAGS_STRICT) -pedantic .build/ctests/header_only.c $(LDFLAGS_REGULA) -o .build/ctests/header_only
	@printf '#include "regula.h"\n#include "regula_plugin.h"\nint main() { return 0; }\n' > .build/ctests/header_cxx.cpp
	c++ -std=c++11 -Wall -Werror -Iinclude -fsyntax-only .build/ctests/header_cxx.cpp
	.build/ctests/header_only
	$(MAKE) --no-print-directory install-files PREFIX=$(abspath .build/prefix) > /dev/null
	$(CC) -std=c99 -Wall -Wextra -Werror $$(PKG_CONFIG_PATH=.build/prefix/lib/pkgconfig pkg-config --cflags regula) \
	  Tests/RegulaCTests/abi_test.c $$(PKG_CONFIG_PATH=.build/prefix/lib/pkgconfig pkg-config --libs regula) \
	  -Wl,-rpath,$(abspath .build/prefix/lib) -lm -o .build/ctests/abi_test
	.build/ctests/abi_test $(SCAD)
	$(CC) $(CFLAGS_STRICT) examples/c/penalty_demo.c $(LDFLAGS_REGULA) -o .build/ctests/penalty_demo
	.build/ctests/penalty_demo
	$(CC) $(CFLAGS_STRICT) Tests/RegulaCTests/threads_test.c $(LDFLAGS_REGULA) -lpthread -o .build/ctests/threads_test
	.build/ctests/threads_test $(SCAD)
	$(CC) $(CFLAGS_STRICT) Tests/RegulaCTests/training_test.c $(LDFLAGS_REGULA) -o .build/ctests/training_test
	.build/ctests/training_test
	$(CC) $(CFLAGS_STRICT) Tests/RegulaCTests/graph_test.c $(LDFLAGS_REGULA) -o .build/ctests/graph_test
	.build/ctests/graph_test
	$(CC) $(CFLAGS_STRICT) Tests/RegulaCTests/trainer_test.c $(LDFLAGS_REGULA) -lpthread -o .build/ctests/trainer_test
	.build/ctests/trainer_test data/digits.csv
	$(MAKE) --no-print-directory test-hostile
	$(MAKE) --no-print-directory soak
	$(MAKE) --no-print-directory check-sanitizers

# Create/eval/free every component for SOAK_SECONDS (100k rounds at most); RSS must not grow.
SOAK_SECONDS ?= 30
soak: build
	@mkdir -p .build/ctests
	$(CC) $(CFLAGS_STRICT) Tests/RegulaCTests/soak_test.c $(LDFLAGS_REGULA) -o .build/ctests/soak_test
	SOAK_SECONDS=$(SOAK_SECONDS) .build/ctests/soak_test

# libFuzzer (Tests/Fuzz): the library built with coverage instrumentation (debug build, so Swift's
# overflow and bounds checks trap) under .build/fuzz; C harnesses under ASan + UBSan. fuzz-short
# replays Tests/Fuzz/regressions/ (past findings) and runs each target FUZZ_SECONDS (part of
# `make test`); `make fuzz` is the long run (FUZZ_LONG seconds per target). Findings land in
# .build/fuzz/artifacts/: add them to Tests/Fuzz/regressions/TARGET/ once fixed.
FUZZ_DIR     := .build/fuzz
FUZZ_TARGETS := params descriptor arrays specs
FUZZ_SECONDS ?= 20
FUZZ_LONG    ?= 600
FUZZ_CC      ?= $(dir $(realpath $(shell command -v $(SWIFT))))clang
FUZZ_RUN     := ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1
fuzz-build: deps
	$(SWIFT) build --product regula --scratch-path $(FUZZ_DIR) -Xswiftc -sanitize=fuzzer
	@mkdir -p $(FUZZ_DIR)/bin $(FUZZ_DIR)/artifacts
	@for t in $(FUZZ_TARGETS); do \
	  $(FUZZ_CC) -g -O1 -fuse-ld=lld -fsanitize=fuzzer,address,undefined -Iinclude Tests/Fuzz/fuzz_$$t.c \
	    -L$(FUZZ_DIR)/debug -lregula -Wl,-rpath,$(abspath $(FUZZ_DIR))/debug -lm -o $(FUZZ_DIR)/bin/fuzz_$$t || exit 1; \
	done
fuzz-short: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t; \
	  echo "fuzz_$$t: replaying Tests/Fuzz/regressions/$$t"; \
	  $(FUZZ_RUN) $(FUZZ_DIR)/bin/fuzz_$$t -runs=0 -timeout=10 Tests/Fuzz/regressions/$$t 2>&1 | tail -1 || exit 1; \
	  echo "fuzz_$$t: $(FUZZ_SECONDS) s"; \
	  $(FUZZ_RUN) $(FUZZ_DIR)/bin/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
	    -dict=Tests/Fuzz/params.dict -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- $(FUZZ_DIR)/corpus/$$t \
	    > $(FUZZ_DIR)/fuzz_$$t.log 2>&1 || { tail -40 $(FUZZ_DIR)/fuzz_$$t.log; exit 1; }; \
	  grep -E "^stat::number_of_executed_units|^Done" $(FUZZ_DIR)/fuzz_$$t.log | tr '\n' ' '; echo; \
	done
fuzz:
	$(MAKE) --no-print-directory fuzz-short FUZZ_SECONDS=$(FUZZ_LONG)

# The Swift concurrency test (8 evaluating threads + a plugin loader) under ThreadSanitizer: a
# TSan build of the package and the test took 3 min 40 s on this 2-core machine (cold cache).
tsan: plugins
	$(SWIFT) test --sanitize=thread --scratch-path .build/tsan --filter ConcurrencyTests

# The C test programs under AddressSanitizer + UBSan, and valgrind memcheck (no definite leaks).
SAN := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
check-sanitizers: build plugins
	@mkdir -p .build/ctests
	$(CC) $(CFLAGS_STRICT) $(SAN) Tests/RegulaCTests/abi_test.c $(LDFLAGS_REGULA) -o .build/ctests/abi_test_asan
	.build/ctests/abi_test_asan $(SCAD)
	$(CC) $(CFLAGS_STRICT) $(SAN) Tests/RegulaCTests/threads_test.c $(LDFLAGS_REGULA) -lpthread -o .build/ctests/threads_test_asan
	.build/ctests/threads_test_asan $(SCAD)
	$(CC) $(CFLAGS_STRICT) $(SAN) Tests/RegulaCTests/graph_test.c $(LDFLAGS_REGULA) -o .build/ctests/graph_test_asan
	.build/ctests/graph_test_asan
	$(CC) $(CFLAGS_STRICT) $(SAN) Tests/RegulaCTests/trainer_test.c $(LDFLAGS_REGULA) -lpthread -o .build/ctests/trainer_test_asan
	.build/ctests/trainer_test_asan data/digits.csv
	$(CC) $(CFLAGS_STRICT) Tests/RegulaCTests/graph_test.c $(LDFLAGS_REGULA) -o .build/ctests/graph_test
	$(CC) $(CFLAGS_STRICT) Tests/RegulaCTests/trainer_test.c $(LDFLAGS_REGULA) -lpthread -o .build/ctests/trainer_test
	@if command -v valgrind >/dev/null; then \
	  valgrind -q --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=3 .build/ctests/penalty_demo > /dev/null && \
	  valgrind -q --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=3 .build/ctests/abi_test $(SCAD) && \
	  valgrind -q --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=3 .build/ctests/graph_test > /dev/null && \
	  valgrind -q --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=3 .build/ctests/trainer_test data/digits.csv > /dev/null && \
	  echo "valgrind memcheck: no errors, no definite leaks"; \
	else echo "valgrind not installed: memcheck skipped"; fi

test-python: build plugins fixtures
	REGULA_LIBRARY=$(abspath $(LIB)) REGULA_CLI=$(abspath $(CLI)) REGULA_SCAD=$(abspath $(SCAD)) REGULA_FIXTURES=$(abspath $(FIX)) \
	  $(PYTHON) -m pytest -q bindings/python/tests

# The training examples with small settings; each exits 1 below its accuracy threshold.
PYENV := REGULA_LIBRARY=$(abspath $(LIB)) PYTHONPATH=bindings/python
test-examples: build
	@mkdir -p .build/ctests
	$(PYENV) $(PYTHON) examples/python/train_digits.py --epochs 5 --min-accuracy 0.9
	$(PYENV) $(PYTHON) examples/python/graph_digits.py --epochs 5 --min-accuracy 0.9 --save .build/ctests/graph_digits.params
	$(PYENV) $(PYTHON) examples/python/torch_penalty.py --epochs 3 --min-accuracy 0.9
	$(PYENV) $(PYTHON) examples/python/trainer_digits.py --epochs 5 --min-accuracy 0.9
	$(CC) $(CFLAGS_STRICT) examples/c/train_digits.c $(LDFLAGS_REGULA) -o .build/ctests/train_digits
	.build/ctests/train_digits data/digits.csv 5 0.9
	$(SWIFT) build -c release --product regula-example
	$(RELEASE)/regula-example data/digits.csv 5 0.9

# docs/catalogue.md is generated from the registry; check-docs fails when it is stale.
docs: build
	$(CLI) describe --all --markdown > docs/catalogue.md

check-docs: build
	@$(CLI) describe --all --markdown | diff -u docs/catalogue.md - > /dev/null \
	  || { echo "docs/catalogue.md is stale: run 'make docs'"; $(CLI) describe --all --markdown | diff -u docs/catalogue.md - | head -20; exit 1; }

# Benchmarks side by side with NumPy, JAX and PyTorch CPU (installed into a venv of its own when
# missing; a framework that cannot be installed is reported as absent), plus the training step
# of `regula bench train` against the same MLP in PyTorch and JAX.
BENCH_VENV := .build/bench-venv
TORCH_PIN  := torch==2.13.0+cpu
bench: build
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv --system-site-packages $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -c "import jax" 2>/dev/null || $(BENCH_VENV)/bin/python -m pip install -q "jax[cpu]" \
	  || echo "JAX could not be installed: benchmarks run without it"
	@$(BENCH_VENV)/bin/python -c "import torch" 2>/dev/null || $(BENCH_VENV)/bin/python -m pip install -q "$(TORCH_PIN)" \
	  || echo "PyTorch could not be installed: benchmarks run without it"
	@$(BENCH_VENV)/bin/python -c "import entmax" 2>/dev/null || ! $(BENCH_VENV)/bin/python -c "import torch" 2>/dev/null \
	  || $(BENCH_VENV)/bin/python -m pip install -q entmax || echo "entmax could not be installed: its columns are skipped"
	REGULA_LIBRARY=$(abspath $(LIB)) REGULA_CLI=$(abspath $(CLI)) PYTHONPATH=bindings/python \
	  $(BENCH_VENV)/bin/python bench/bench.py --output docs/performance.md

# Grokking on modular addition (bench/grokking): float32 softmax CE vs StableMax vs perp_grad.
# About 10 minutes on two idle cores; docs/results.md records a run.
grokking: build
	$(PYENV) $(PYTHON) bench/grokking/grok.py --steps 1000

install: build install-files
	cp $(LIB) bindings/python/regula/libregula.so

install-files:
	install -d $(PREFIX)/lib $(PREFIX)/include $(PREFIX)/bin $(PREFIX)/lib/pkgconfig
	install -m 644 $(LIB) $(PREFIX)/lib/libregula.so
	install -m 644 include/regula.h include/regula_plugin.h $(PREFIX)/include/
	install -m 755 $(CLI) $(PREFIX)/bin/regula
	install -d $(PREFIX)/share/regula && install -m 644 data/digits.csv $(PREFIX)/share/regula/digits.csv
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e "s|@VERSION@|$$($(CLI) version | cut -d' ' -f2)|g" regula.pc.in > $(PREFIX)/lib/pkgconfig/regula.pc

clean:
	rm -rf .build $(SCAD) bindings/python/regula/libregula.so
