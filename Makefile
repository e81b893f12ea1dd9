# Obscura: two commands.
#   make run   set up everything and start `obscura serve` on the embedded default
#   make test  set up what tests need and run the whole suite
SHELL   := /bin/bash
CACHE   ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/obscura
TOOLS   := $(CACHE)/bin
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
export PATH := $(TOOLS):$(PATH)
export OBSCURA_CACHE := $(CACHE)

# `make test` layout (CI runs it on 2 cores; budget 15 minutes):
#   1. setup-test, fmt-check                       (in order)
#   2. three lanes at once (make -j$(LANES), output per lane):
#        race lane:   unit-race
#        checks lane: vet, staticcheck, unit-norace
#        e2e lane:    e2e (real `obscura serve` processes, tests in parallel)
#      Run one after the other they left CPU idle (the last serial CI run:
#      815 s of CPU in 878 s on 2 cores, 46%: fsync waits, sleeps and polls
#      in e2e, one server starting at a time). With two lanes (race pass
#      after vet and staticcheck, no-race pass after the race pass) the
#      checks lane was the critical path: e2e (573 s) was done minutes
#      before it, and its tail was internal/api alone under -race, one test
#      at a time, on one core. Now the race pass starts at once, its long
#      package runs its tests in parallel, and the no-race pass does not
#      wait for it: every lane keeps a core busy until near the end.
#
# Which packages run under the race detector. The rule: a package runs
# under -race when its own code is concurrent — it starts goroutines,
# holds locks or shared state, or serves concurrent callers (HTTP API,
# store, job queue, keyring, consent, audit, upload, sandbox, wire,
# plugins...). The detector instruments every package linked into a test,
# so the pure code such packages call (codecs, crypto formats, image
# processing, DP mechanisms) is race-checked there as well. Packages of
# single-threaded computation with no state of their own run without it,
# in the no-race pass: there the detector only multiplies the CPU time of
# numeric loops (model runs, attack simulations, accuracy and robustness
# sets, sanitizing, conversions) five- to ten-fold and has nothing to find.
# The model packages (vision/...) are the exception: their sessions are
# locked cgo calls the detector cannot see into, and the API's tests run
# the same engine under -race. A new package runs under -race unless it is
# added here.
NORACE_TREES := vision watermark models c2pa sanitize
NORACE_ONE   := analysis analytics blob blob/s3blob config ddg dp draft egress envelope faces/calibrate fault \
                guard/guardeval ident operator perf/featurebench perf/mediabench pipeline redact samples secagg tenant textfilter web
empty :=
space := $(empty) $(empty)
NORACE_RE := /internal/(($(subst $(space),|,$(NORACE_TREES)))(/.*)?|($(subst $(space),|,$(NORACE_ONE))))$$
RACE_PKGS   = $(shell $(GO) list ./internal/... | grep -v -E '$(NORACE_RE)')
NORACE_PKGS = $(shell $(GO) list ./internal/... | grep -E '$(NORACE_RE)') . ./cmd/...
# Tests of race-checked packages that run in the no-race pass instead, each
# because the race pass covers its concurrent code in cheaper tests:
#   internal/api TestExtractionGuardOverHTTP floods one key with about 50
#     real analyses one after another (the guard's throttle and block need
#     that many): 324 s of the package's 780 s under -race on a loaded
#     machine. Its requests are sequential; the analyze handler, engine and
#     guard it drives are race-checked by the package's other analysis
#     tests (TestAnalyzeConsentHardeningStorageAndRetention,
#     TestAsyncAnalysis) and by internal/guard's own.
#   internal/api TestAdversarialFaceWithheld crafts an evasion attack in
#     the test itself (40 rounds of per-pixel noise over a face and a
#     FaceRes embedding each) and uploads the 11 MB result: 49 s of CPU
#     under -race alone (load 14), nearly all of it the test's own pixel
#     loops and PNG decoding. The upload, suggest and analyze handlers it
#     then drives are race-checked by TestFaceSuggestionLifecycle,
#     TestUploadFlow and TestAnalyzeConsentHardeningStorageAndRetention,
#     the adversarial check's gate by internal/guard's own tests.
#   internal/sandbox TestWorkerHeapStaysWarm counts page faults, which the
#     race runtime adds its own to.
NORACE_TESTS := ^(TestExtractionGuardOverHTTP|TestAdversarialFaceWithheld|TestWorkerHeapStaysWarm)$$
# e2e tests that may share the machine run in parallel (t.Parallel); each
# mostly waits on its own server, so more run at once than there are cores.
E2E_PARALLEL ?= 4
# Test binaries are linked without DWARF (-ldflags=-w): stack traces, panics
# and race reports use the symbol table, which stays. CI links every test
# binary from a cold cache; measured on internal/api under -race (idle,
# fresh links): 12.2 s of CPU with DWARF, 9.3 s without (-24%), about 90
# binaries in all.
TESTLDFLAGS ?= -ldflags=-w
# How many lanes of `make test` run at once (3: all of them).
LANES ?= 3
# The -timeout of the race, no-race and e2e passes (20m) only stops a hung
# test binary: in the lead's runs internal/api took 223-373 s under -race,
# guardeval 109-119 s and e2e 573-628 s, but at load 15-20 (six sessions
# sharing the machine) they hit their old timeouts (12, 10 and 15 min).

.PHONY: run test lanes lane-race lane-checks setup setup-test build fmt-check vet staticcheck unit unit-race unit-norace e2e bench fuzz goldens web-vendor clean

run: setup build
	./bin/obscura serve

setup:
	@./scripts/setup.sh run

setup-test:
	@./scripts/setup.sh test

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/obscura ./cmd/obscura

test: setup-test fmt-check
	@$(MAKE) --no-print-directory -j$(LANES) --output-sync=target lanes
	@echo "make test: all checks passed"

# The race lane first: its internal/api is the longest single package.
lanes: lane-race e2e lane-checks

lane-race: unit-race

lane-checks:
	@$(MAKE) --no-print-directory vet
	@$(MAKE) --no-print-directory staticcheck
	@$(MAKE) --no-print-directory unit-norace

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	staticcheck ./...

unit: unit-race unit-norace

unit-race:
	$(GO) test $(TESTLDFLAGS) -count=1 -timeout 20m -race -skip '$(NORACE_TESTS)' $(RACE_PKGS)

# One invocation, so its long packages (guardeval, cmd/obscura, the model
# packages) run side by side.
unit-norace:
	$(GO) test $(TESTLDFLAGS) -count=1 -timeout 20m $(NORACE_PKGS)
	$(GO) test $(TESTLDFLAGS) -count=1 -timeout 5m -run '$(NORACE_TESTS)' ./internal/sandbox ./internal/api

# The browser tests leave their screenshots in test-output/ (git-ignored).
e2e:
	OBSCURA_TEST_OUT=$(CURDIR)/test-output $(GO) test $(TESTLDFLAGS) -count=1 -timeout 20m -parallel $(E2E_PARALLEL) ./e2e/...

bench: build
	./bin/obscura bench

# Short fuzzing pass over every fuzz target (not part of `make test`).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep ^Fuzz); do \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s -fuzzminimizetime 5s $$pkg || exit 1; \
	  done; \
	done

# Regenerate the vision golden files by running the original TF.js models in
# node (tools/golden, pinned by its package-lock.json). Needs node and npm;
# make test does not.
goldens:
	cd tools/golden && npm ci --no-audit --no-fund
	$(GO) test ./internal/vision/... -run Golden -update-golden

# Check the embedded htmx against its pinned npm release (needs npm).
web-vendor:
	./scripts/web-vendor.sh

clean:
	rm -rf bin
