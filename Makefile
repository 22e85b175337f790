# Parley: the two commands a person needs are `make run` and `make test`.
BUILD ?= build
SAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps ui build run demo-sim test test-asan test-tsan bench bench-voice format clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps ui $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# The customer widget (ui/dist/widget.js and ui/dist/widget/demo.html, served by Parley):
# `npm ci` only when ui/package-lock.json (or package.json) changed, `npm run build` only when a
# source changed. Needs Node.js 20.19 or later (Vite 7).
UI_SOURCES := $(shell find ui/src ui/public -type f 2>/dev/null) ui/package.json ui/tsconfig.json \
  ui/vite.config.ts
UI_NPM_STAMP := ui/node_modules/.parley-npm-ci
UI_NODE_CHECK := const v = process.versions.node.split(".").map(Number); \
  if (v[0] * 100 + v[1] < 2019) { console.error("ui: Node.js " + process.version + \
  " is too old for Vite 7 (needs 20.19 or later)"); process.exit(1); }

$(UI_NPM_STAMP): ui/package-lock.json ui/package.json | deps
	@node -e '$(UI_NODE_CHECK)'
	cd ui && npm ci --no-audit --no-fund --loglevel=error
	touch $@

ui/dist/widget.js: $(UI_NPM_STAMP) $(UI_SOURCES)
	cd ui && npm run build --silent
	touch $@

ui: ui/dist/widget.js

# The demo contact centre (127.0.0.1 only): agents' phones register, calls to 100 go through the
# IVR and queues to them. Its database, recordings and TTS cache go to ./parley.db,
# ./recordings and ./cache. Ctrl-C stops it.
run: build
	$(BUILD)/src/app/parley serve examples/demo.yaml

# A simulated day through the real engine (virtual time, no sockets).
demo-sim: build
	$(BUILD)/src/app/parley simulate examples/sim-campaign-spike.yaml

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# Address and undefined-behaviour sanitizers over the same tests (CI runs this too).
# (`ui` too: the widget's tests are in the same CTest list.)
test-asan: deps ui
	cmake -S . -B $(SAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPARLEY_SANITIZE=address,undefined \
	  -DPARLEY_BUILD_BENCH=OFF $(CMAKE_FLAGS)
	cmake --build $(SAN_BUILD) -j $(JOBS)
	ctest --test-dir $(SAN_BUILD) --output-on-failure -j $(JOBS)

# ThreadSanitizer over the parts that run threads (SIP and media loop, engine loop, TTS worker,
# store writer, HTTP server).
TSAN_BUILD ?= build-tsan
test-tsan: deps
	cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPARLEY_SANITIZE=thread \
	  -DPARLEY_BUILD_BENCH=OFF $(CMAKE_FLAGS)
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target parley_sip_test parley_app_test \
	  parley_store_test parley_web_test parley_media_test
	TSAN_OPTIONS=halt_on_error=1 $(TSAN_BUILD)/src/sip/parley_sip_test
	TSAN_OPTIONS=halt_on_error=1 $(TSAN_BUILD)/src/app/parley_app_test
	TSAN_OPTIONS=halt_on_error=1 $(TSAN_BUILD)/src/store/parley_store_test
	TSAN_OPTIONS=halt_on_error=1 $(TSAN_BUILD)/src/web/parley_web_test
	TSAN_OPTIONS=halt_on_error=1 $(TSAN_BUILD)/src/media/parley_media_test

bench: build
	$(BUILD)/bench/parley_engine_bench --benchmark_min_time=0.5
	$(BUILD)/bench/parley_sim_bench --benchmark_min_time=0.5

# Voice load benchmark: SIPp callers and agents against `parley serve` on 127.0.0.1 (setup rate,
# 1,000 concurrent bridged calls, agent-available-to-INVITE latency; about 4 minutes).
# Figures and knobs: docs/BENCHMARKS.md.
bench-voice: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target parley
	PARLEY=$(BUILD)/src/app/parley bench/voice/run.sh all

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(TSAN_BUILD) ui/dist
