# Thin wrapper over CMake. The two commands of the quick start:
#   make run    install missing Debian packages, build, run the quickstart scenario,
#               and write its HTML report and diagrams (paths printed at the end)
#   make test   build (-O2, -O0, ASan+UBSan, fuzzers) and run the whole test suite
# Also: make bench (benchmarks, BENCH lines), make golden (regenerate digests),
# make mutate (the mutation harness over every site, docs/testing.md).
BUILD    ?= build
SCENARIO ?= scenarios/quickstart.yaml
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps configure build run test bench golden mutate clean

all: build

deps:
	@scripts/deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# run: the scenario's summary, then an HTML report of the run and a diagram
# of its machine, and where they were written
run: build
	./$(BUILD)/orrery run $(SCENARIO)
	@./$(BUILD)/orrery report --last 1 --format html -o $(BUILD)/report.html
	@./$(BUILD)/orrery graph $(SCENARIO) -o $(BUILD)/topology.svg
	@./$(BUILD)/orrery graph --protocol mesi -o $(BUILD)/mesi.svg
	@echo
	@echo "report    $(BUILD)/report.html   (open it in a browser)"
	@echo "diagrams  $(BUILD)/topology.svg  (the machine)  $(BUILD)/mesi.svg  (the MESI protocol)"

test: deps
	@scripts/test.sh

bench: build
	@scripts/bench.sh $(BUILD)

golden: build
	@scripts/golden.sh $(BUILD)/orrery

# every site of tests/mutate/sites.txt, in its own build directory
mutate: deps
	@scripts/mutate.sh --build build-mutate -j $(JOBS)

clean:
	rm -rf build build-O0 build-asan build-fuzz build-mutate
