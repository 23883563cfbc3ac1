# skiff's two set-up commands are `make demo` and `make test`; both install
# what is missing on a fresh Debian machine (as root) before they start.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
export CGO_ENABLED ?= 0

BIN     := bin/skiff
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X skiff.dev/skiff/internal/version.Version=$(VERSION) -X skiff.dev/skiff/internal/version.Commit=$(COMMIT)

.PHONY: all build unit test e2e demo docs cluster-up cluster-down cluster-env fuzz bench clean

all: build

# build: skiff, and next to it the static skiff-agent that dev mode
# delivers into pods whose images have no tar.
build:
	go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/skiff
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/skiff-agent ./cmd/skiff-agent

# unit: the quick loop: vet, a tidy go.mod, and every test that needs no cluster.
unit:
	go vet ./...
	go vet -tags e2e ./...
	go mod tidy -diff
	go test -count=1 ./...

# test: everything. Unit tests, then the end-to-end tests against real Docker,
# a real registry and the local cluster, which is brought up first and always
# taken down afterwards, also when a test fails. The fault-injection suite
# (TestFault) runs alone afterwards: it stops the API server and the
# registry that the other packages' tests use.
test: unit e2e

e2e: build
	@status=0; \
	hack/cluster.sh up || status=$$?; \
	if [ $$status -eq 0 ]; then \
		eval "$$(hack/cluster.sh env)"; \
		go test -count=1 -tags e2e -timeout 60m -skip '^TestFault$$' ./... || status=$$?; \
		go test -count=1 -tags e2e -timeout 20m -run '^TestFault$$' ./test/e2e/ || status=$$?; \
	fi; \
	hack/cluster.sh down || { echo "cluster-down failed" >&2; [ $$status -ne 0 ] || status=1; }; \
	exit $$status

demo: build
	hack/demo.sh

# docs: regenerate docs/cli.md from the commands (TestCLIDocs checks it).
docs:
	go test -count=1 ./internal/cli -run '^TestCLIDocs$$' -update

cluster-up:
	hack/cluster.sh up

cluster-down:
	hack/cluster.sh down

cluster-env:
	@hack/cluster.sh env

# fuzz: run the fuzz targets (config loader, sync planner, agent stream decoder) for FUZZTIME each (default 30s).
FUZZTIME ?= 30s
fuzz:
	go test -run '^$$' -fuzz FuzzLoad -fuzztime $(FUZZTIME) ./internal/config/
	go test -run '^$$' -fuzz FuzzPlan -fuzztime $(FUZZTIME) ./internal/sync/
	go test -run '^$$' -fuzz FuzzDecoder -fuzztime $(FUZZTIME) ./internal/sync/agentproto/

bench:
	go test -run '^$$' -bench . -benchmem -count 5 ./internal/config/ ./internal/build/... ./internal/tag/

clean:
	rm -rf bin
