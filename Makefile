# serin — see README.md. `make run` serves examples/canary; `make test` runs
# every test, end-to-end ones included.

GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
PKGS      := ./...
# Each fuzz target runs this long in `make test` (bounded so CI stays fast).
FUZZTIME  ?= 20s

.PHONY: all build run demo test unit fuzz lint bench generate clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/serin ./cmd/serin
	$(GO) build -o $(BIN)/serin-demo ./cmd/serin-demo

## run: serve examples/canary on the defaults (xDS 127.0.0.1:18000, admin 127.0.0.1:19000)
run: build
	$(BIN)/serin serve --config-dir examples/canary

## demo: serin + gRPC backends v1 and v2 + a proxyless gRPC client printing the live split
demo: build
	hack/demo.sh

## test: vet, unit and end-to-end tests, then each fuzz target for $(FUZZTIME)
test: lint unit fuzz

unit:
	$(GO) test -count=1 $(PKGS)

fuzz:
	hack/fuzz.sh $(FUZZTIME)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

## bench: Go benchmarks, results in bench.txt
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS) | tee bench.txt

## generate: deepcopy (and CRDs) from the API types
generate:
	$(GO) run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0 object paths=./pkg/api/...

clean:
	rm -rf $(BIN) bench.txt
