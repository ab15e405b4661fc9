# Thin wrapper over CMake. The two commands of the quick start:
#   make run    install missing Debian packages, build, run the quickstart scenario
#   make test   build (-O2, -O0, ASan+UBSan, fuzzers) and run the whole test suite
# Also: make bench (benchmarks, BENCH lines), make golden (regenerate digests).
BUILD    ?= build
SCENARIO ?= scenarios/quickstart.yaml
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps configure build run test bench golden clean

all: build

deps:
	@scripts/deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/orrery run $(SCENARIO)

test: deps
	@scripts/test.sh

bench: build
	@scripts/bench.sh $(BUILD)

golden: build
	@scripts/golden.sh $(BUILD)/orrery

clean:
	rm -rf build build-O0 build-asan build-fuzz
