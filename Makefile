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

# Packages where concurrency matters run under the race detector. The
# model packages, the inference guard and the watermark (cgo model runs and long
# measurement loops — attack simulations, accuracy and robustness sets) run without it,
# in their own pass: under -race they take minutes and the detector has
# little to find in single-threaded numeric code.
NORACE_PKGS := ./internal/vision/... ./internal/guard/... ./internal/watermark/...
RACE_PKGS = $(shell $(GO) list ./internal/... | grep -v -e /internal/vision -e /internal/guard -e /internal/watermark)

.PHONY: run test setup setup-test build fmt-check vet staticcheck unit e2e bench fuzz goldens web-vendor clean

run: setup build
	./bin/obscura serve

setup:
	@./scripts/setup.sh run

setup-test:
	@./scripts/setup.sh test

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/obscura ./cmd/obscura

test: setup-test fmt-check vet staticcheck unit e2e
	@echo "make test: all checks passed"

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	staticcheck ./...

unit:
	$(GO) test -count=1 -timeout 12m -race $(RACE_PKGS)
	$(GO) test -count=1 -timeout 10m $(NORACE_PKGS)
	$(GO) test -count=1 -timeout 10m . ./cmd/...
	$(GO) test -count=1 -timeout 5m -run TestPrivacyAudit ./internal/analytics

# The browser tests leave their screenshots in test-output/ (git-ignored).
e2e:
	OBSCURA_TEST_OUT=$(CURDIR)/test-output $(GO) test -count=1 -timeout 10m ./e2e/...

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
