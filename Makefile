# skiff's two set-up commands are `make demo` and `make test`; both install
# what is missing on a fresh Debian machine (as root) before they start.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
export CGO_ENABLED ?= 0

BIN     := bin/skiff
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X skiff.dev/skiff/internal/version.Version=$(VERSION) -X skiff.dev/skiff/internal/version.Commit=$(COMMIT)

.PHONY: all build debug-support unit corpus test e2e demo builder docs proto cluster-up cluster-down cluster-env fuzz bench clean

all: build

# build: skiff and, next to it, skiff-engine, which runs every command but
# version and the top-level help (skiff answers those itself, without the
# engine's ~30 ms start), built with the lean tag: without Helm, it hands
# projects with a Helm section to skiff-engine-full, the same engine with
# Helm (a dev session's memory follows the size of its executable); the static skiff-agent that dev mode delivers into pods;
# and bin/debug, the support files skiff debug packs into its support
# images.
build: debug-support
	go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/skiff
	go build -trimpath -ldflags "$(LDFLAGS)" -tags lean -o $(BIN)-engine ./cmd/skiff-engine
	go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)-engine-full ./cmd/skiff-engine
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/skiff-agent ./cmd/skiff-agent

# debug-support: bin/debug holds the support program (copier, node wrapper,
# python launcher), Delve (its own module, tools/dlv, kept out of skiff's
# go.mod) and debugpy from Debian's packages. Delve and debugpy are
# rebuilt only when their pins change: a cold Delve build takes a minute.
DEBUG := bin/debug
debug-support: $(DEBUG)/go/bin/dlv $(DEBUG)/python/lib/.debian-packages
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o $(DEBUG)/skiff-debug-support ./cmd/skiff-debug-support

$(DEBUG)/go/bin/dlv: tools/dlv/go.mod tools/dlv/go.sum
	cd tools/dlv && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o $(CURDIR)/$@ github.com/go-delve/delve/cmd/dlv

$(DEBUG)/python/lib/.debian-packages: hack/debugpy.sh
	hack/debugpy.sh $(DEBUG)/python/lib

# unit: the quick loop: vet, the lean engine builds, tidy go.mods (skiff's and Delve's), and every test that needs no cluster.
unit:
	go vet ./...
	go vet -tags e2e ./...
	go build -tags lean -o /dev/null ./cmd/skiff-engine
	go mod tidy -diff
	cd tools/dlv && go mod tidy -diff
	go test -count=1 ./...

# test: everything. Unit tests, the corpus test, then the end-to-end tests against real Docker,
# a real registry and the local cluster, which is brought up first and always
# taken down afterwards, also when a test fails. The buildpacks builder is
# made (make builder) once the cluster's registry is up; when it is up to
# date that takes seconds. The fault-injection suite (TestFault) runs alone
# afterwards: it stops the API server and the registry that the other
# packages' tests use.
test: unit corpus e2e

# corpus: skiff diagnose, fix and render --offline over the skaffold.yaml
# files of Skaffold's examples and integration tests, in Skaffold's Go module
# at the version pinned in hack/corpus.expected (fetched through the Go module
# proxy), compared with that file; any regression or unexpected pass fails
# (docs/compat.md). About half a minute; no cluster.
corpus:
	hack/corpus.sh --check

e2e: build
	@status=0; \
	hack/cluster.sh up || status=$$?; \
	if [ $$status -eq 0 ]; then \
		eval "$$(hack/cluster.sh env)"; \
		hack/builder.sh || status=$$?; \
	fi; \
	if [ $$status -eq 0 ]; then \
		go test -count=1 -tags e2e -timeout 60m -skip '^TestFault$$' ./... || status=$$?; \
		go test -count=1 -tags e2e -timeout 20m -run '^TestFault$$' ./test/e2e/ || status=$$?; \
	fi; \
	hack/cluster.sh down || { echo "cluster-down failed" >&2; [ $$status -ne 0 ] || status=1; }; \
	exit $$status

demo: build
	hack/demo.sh

# builder: skiff's offline Cloud Native Buildpacks builder, with its run and
# build images, pushed to the local registry as 127.0.0.1:5001/skiff/builder,
# .../skiff/run and .../skiff/build (docs/buildpacks.md). It starts the
# cluster when the registry is down; with nothing changed it takes seconds.
builder:
	hack/builder.sh
# docs: regenerate docs/cli.md from the commands (TestCLIDocs checks it).
docs:
	go test -count=1 ./internal/cli -run '^TestCLIDocs$$' -update

# proto: regenerate the gRPC API's Go code (internal/api/v2pb, committed)
# from its .proto files with Debian's protoc 3.21, protoc-gen-go 1.28 and
# protoc-gen-go-grpc 1.0, installed when missing (as root).
proto:
	command -v protoc >/dev/null && command -v protoc-gen-go >/dev/null && command -v protoc-gen-go-grpc >/dev/null || \
		DEBIAN_FRONTEND=noninteractive apt-get install -y protobuf-compiler protoc-gen-go protoc-gen-go-grpc
	cd internal/api/v2pb && protoc -I . --go_out=. --go_opt=paths=source_relative \
		--go-grpc_out=. --go-grpc_opt=paths=source_relative enums.proto skaffold.proto

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
