# serin — see README.md. `make run` serves examples/canary; `make test` runs
# every test, end-to-end ones included.

GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
PKGS      := ./...
# Each fuzz target runs this long in `make test` (bounded so CI stays fast).
FUZZTIME  ?= 20s
# go-control-plane's Envoy protos carry vtprotobuf marshalers behind this
# build tag: 4x faster than proto.Marshal on serin's snapshots. Exported so
# the binaries the e2e tests build get it too.
GOFLAGS   := $(strip $(shell $(GO) env GOFLAGS) -tags=vtprotobuf)
export GOFLAGS

.PHONY: all build run demo demo-canary demo-bad-release test unit fuzz lint bench generate verify-generate clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/serin ./cmd/serin
	$(GO) build -o $(BIN)/serin-demo ./cmd/serin-demo
	$(GO) build -o $(BIN)/serin-load ./cmd/serin-load

## run: serve examples/canary on the defaults (xDS 127.0.0.1:18000, admin 127.0.0.1:19000)
run: build
	$(BIN)/serin serve --config-dir examples/canary

## demo: serin + gRPC backends v1 and v2 + a proxyless gRPC client printing the live split
demo: build
	hack/demo.sh

## demo-canary: the same with a Canary that walks v2 from 1% to 100% (healthy release)
demo-canary: build
	CONFIG_DIR=examples/canary-rollout hack/demo.sh

## demo-bad-release: v2 fails 5% of calls; the Canary rolls back at the first step
demo-bad-release: build
	CONFIG_DIR=examples/canary-rollout V2_ERROR_RATE=0.05 hack/demo.sh

## test: vet, generated files up to date, unit and end-to-end tests (a real
## kube-apiserver and etcd, a real Prometheus), then each fuzz target for $(FUZZTIME)
test: lint verify-generate unit fuzz

# The Kubernetes e2e runs kube-apiserver and etcd built from the module
# proxy by hack/envtest-binaries.sh (cached after the first build).
unit:
	KUBEBUILDER_ASSETS="$${KUBEBUILDER_ASSETS:-$$(hack/envtest-binaries.sh)}" $(GO) test -count=1 -timeout 20m $(PKGS)

fuzz:
	hack/fuzz.sh $(FUZZTIME)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

## bench: Go benchmarks and a short load run (200 Envoy-like clients, 1,000
## VirtualServices, 10 weight changes, 5% NACKing, against a bare
## go-control-plane baseline); results in bench.txt and bench-load.jsonl
bench: build
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS) | tee bench.txt
	$(BIN)/serin-load --serin-bin $(BIN)/serin --clients 200 --vs 1000 --changes 10 --changes-per-sec 2 \
	  --nack-fraction 0.05 --baseline --quiet --json-out bench-load.jsonl | tee -a bench.txt

## generate: deepcopy, CRDs, typed clients and rendered manifests from the API types and the chart
generate:
	hack/generate.sh

## verify-generate: fail when generated files are out of date (CI runs it)
verify-generate:
	hack/verify-generate.sh

clean:
	rm -rf $(BIN) bench.txt bench-load.jsonl
