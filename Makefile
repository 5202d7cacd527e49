# SMS+ build, run and test. `make help` lists the targets.
GO        ?= go
BIN       ?= bin
PLUGINS   := $(notdir $(wildcard plugins/*))
LDFLAGS   ?= -s -w
# Static, reproducible binaries: the same command builds the container image.
BUILD     := CGO_ENABLED=0 $(GO) build -trimpath -ldflags='$(LDFLAGS)'

.PHONY: bench-rate help build static smsplus plugins run test test-go test-fuzz test-example fuzz proto proto-check bench figures lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: smsplus plugins ## build bin/smsplus and every bridge plugin

# The container image runs `make static BIN=/out` (Dockerfile): the same $(BUILD).
static: build ## build the static release binaries, as the container image does

smsplus:
	$(BUILD) -o $(BIN)/smsplus ./cmd/smsplus

plugins: ## build each plugins/<id> to bin/plugins/smsplus-bridge-<id>
	@for p in $(PLUGINS); do echo "$(BUILD) -o $(BIN)/plugins/smsplus-bridge-$$p ./plugins/$$p"; \
		$(BUILD) -o $(BIN)/plugins/smsplus-bridge-$$p ./plugins/$$p || exit 1; done

run: build ## run SMS+ on laptop defaults (embedded store, console SMS, local biometrics)
	$(BIN)/smsplus serve --env-file configs/dev.env

test: proto-check test-go test-example test-fuzz test-browser ## the whole test suite, as CI runs it

# The challenge page in Debian's Chromium (build tag "browser"); .ci/chromium.sh
# installs it when missing and fails on CI when it cannot. Screenshots and the
# page's figures go to $(or $(ARTIFACTS_DIR),artifacts)/browser.
.PHONY: test-browser
test-browser: ## the challenge page end to end in headless Chromium
	.ci/chromium.sh
	$(GO) vet -tags browser ./host/internal/browsertest/
	$(GO) test -tags browser -count=1 -v ./host/internal/browsertest/

# The storage tests need Redis, FerretDB and the Firestore emulator: .ci/services.sh
# starts them on unusual ports for the run (and stops them after). The page
# scripts' tests (web) need Node.js: .ci/node.sh installs it when missing and
# fails on CI when it cannot.
#
# deploy/monitoring/rulecheck is its own module (it needs Prometheus's rule and
# PromQL parsers, which SMS+ itself does not): it checks the alert rules and the
# Grafana dashboard against the metrics SMS+ exports.
MONITORING := deploy/monitoring/rulecheck
test-go:
	$(GO) vet ./... && (cd sdk && $(GO) vet ./...) && (cd $(MONITORING) && $(GO) vet ./...)
	.ci/node.sh
	.ci/services.sh $(GO) test -race -count=1 ./...
	cd sdk && $(GO) test -race -count=1 ./...
	cd $(MONITORING) && $(GO) test -count=1 ./...

.PHONY: bench-storage
bench-storage: ## store ops/s and p99 per backend, 1 and 32 clients (not part of the tests)
	.ci/services.sh $(GO) test -run '^$$' -bench . -benchtime $${BENCHTIME:-2s} ./host/internal/storage/...

# Fuzz targets as dir:Func. Budgets are execution counts, not durations: Go 1.26's
# fuzz coordinator can fail a run with a spurious "context deadline exceeded" when
# a -fuzztime duration ends (golang/go#75804, fixed in Go 1.27).
FUZZ      := $(foreach p,$(PLUGINS),plugins/$(p):FuzzParse) sdk/otp:FuzzFromText sdk/phone:FuzzNormalize sdk/payload:FuzzCheckKeys host/internal/sms:FuzzReadReceipt host/internal/sms:FuzzHTTPTemplate
FUZZTIME  ?= 1000000x

fuzz: ## run every fuzz target for FUZZTIME executions (default 1000000x; about a minute or two each)
	@for f in $(FUZZ); do d=$${f%%:*}; fn=$${f##*:}; echo "fuzz $$d $$fn ($(FUZZTIME))"; \
		(cd $$d && $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) .) || exit 1; done

test-fuzz: ## run every fuzz target briefly, about 5 s each (part of `make test`)
	@$(MAKE) --no-print-directory fuzz FUZZTIME=40000x

# The hostile bridges are test fixtures built by the tests; each is its own module,
# so `go vet ./...` at the root does not reach them.
HOSTILE := host/attack/testdata/hostile host/internal/pluginhost/testdata/hostile host/testdata/forger

test-example: ## vet and test the third-party example bridge, and vet the hostile test bridges (own modules)
	cd sdk/examples/minimal && $(GO) vet ./... && $(GO) test -race -count=1 ./...
	@for d in $(HOSTILE); do echo "go vet $$d"; (cd $$d && $(GO) vet ./...) || exit 1; done

proto: ## regenerate the bridge contract's gRPC code
	.ci/tools.sh && PATH="$(CURDIR)/.cache/bin:$$PATH" sdk/gen.sh

proto-check: ## fail if regenerating the gRPC code would change it
	.ci/proto-check.sh

bench: ## per store: hooks/s at c=8 and 32, p99, CPU per hook, store calls, overload split; plugin round trip; page CPU (not part of the tests)
	.ci/bench.sh

bench-rate: ## CPU per hook and latency at a fixed rate: RATE=100 (c32: 32 clients, closed loop) STORE=embedded|redis|mongo STORE_URL=... (not part of the tests)
	.ci/rate.sh $${RATE:-100} $${STORE:-embedded} $${STORE_URL:-$${REDIS_URL:-}}

figures: ## print the README's size and memory table: release binaries, idle RSS (not part of the tests)
	.ci/figures.sh

clean:
	rm -rf $(BIN) .cache/bin
