# SMS+ build, run and test. `make help` lists the targets.
GO        ?= go
BIN       ?= bin
PLUGINS   := $(notdir $(wildcard plugins/*))
LDFLAGS   ?= -s -w
# Static, reproducible binaries: the same command builds the container image.
BUILD     := CGO_ENABLED=0 $(GO) build -trimpath -ldflags='$(LDFLAGS)'

.PHONY: help build smsplus plugins run test test-go proto proto-check bench lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: smsplus plugins ## build bin/smsplus and every bridge plugin

smsplus:
	$(BUILD) -o $(BIN)/smsplus ./cmd/smsplus

plugins: ## build each plugins/<id> to bin/plugins/smsplus-bridge-<id>
	@for p in $(PLUGINS); do echo "$(BUILD) -o $(BIN)/plugins/smsplus-bridge-$$p ./plugins/$$p"; \
		$(BUILD) -o $(BIN)/plugins/smsplus-bridge-$$p ./plugins/$$p || exit 1; done

run: build ## run SMS+ on laptop defaults (embedded store, console SMS, local biometrics)
	$(BIN)/smsplus serve --env-file configs/dev.env

test: proto-check test-go ## the whole test suite, as CI runs it

test-go:
	$(GO) vet ./... && (cd sdk && $(GO) vet ./...)
	$(GO) test -race -count=1 ./...
	cd sdk && $(GO) test -race -count=1 ./...

proto: ## regenerate the bridge contract's gRPC code
	.ci/tools.sh && PATH="$(CURDIR)/.cache/bin:$$PATH" sdk/gen.sh

proto-check: ## fail if regenerating the gRPC code would change it
	.ci/proto-check.sh

bench: build ## print hook latency and plugin round-trip figures (not part of the tests)
	.ci/bench.sh

clean:
	rm -rf $(BIN) .cache/bin
