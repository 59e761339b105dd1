# Warden. `make run` and `make test` are all a new user needs; the rest is for
# people changing the views or the styles.

GO        ?= go
NPM       ?= npm
BIN       ?= bin/warden
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
# The browser tests check every page with axe-core as package.json pins it;
# make test installs it first where npm is installed (CI always has npm).
AXE       := $(if $(shell command -v $(NPM) 2>/dev/null),node_modules/.package-lock.json)

.PHONY: run build test generate css check fuzz bench help

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

run: ## run the console on http://127.0.0.1:8080 with ./data/warden.db
	$(GO) run . serve

build: ## build the binary into bin/warden
	CGO_ENABLED=1 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

test: $(AXE) ## run every test (unit, store, handler, security, browser, axe-core), then store and web tests again on PostgreSQL
	$(GO) test -race -count=1 ./...
	WARDEN_TEST_DB=postgres $(GO) test -race -count=1 -skip 'TestBrowser' ./models/ ./web/

generate: ## regenerate the templ views (*_templ.go)
	$(GO) tool templ generate

node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

css: node_modules/.package-lock.json ## rebuild static/css/app.css with Tailwind
	$(NPM) run --silent css

check: generate css ## fail if generated files drift, code is unformatted or vet complains
	@git diff --exit-code --stat -- '*_templ.go' static/css/app.css || \
		(echo "generated files were stale: commit the regenerated views and CSS"; exit 1)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	$(GO) vet ./...

fuzz: ## run each fuzz target for 20 seconds
	$(GO) test ./handlers -run '^$$' -fuzz FuzzSafeNext -fuzztime 20s
	$(GO) test ./web/request -run '^$$' -fuzz FuzzClientIP -fuzztime 20s
	$(GO) test ./models -run '^$$' -fuzz FuzzParsePHC -fuzztime 20s
	$(GO) test ./models -run '^$$' -fuzz FuzzSearchWords -fuzztime 20s
	$(GO) test ./web/scanning -run '^$$' -fuzz FuzzParseKeys -fuzztime 20s

bench: ## seed 100k users, 200k tokens, 1M events; time the store, then load the real server over 127.0.0.1
	$(GO) test -run '^$$' -bench . -benchtime 20x -count 1 -timeout 30m ./models/
	WARDEN_BENCH=1 $(GO) test ./web -run '^TestBenchHTTP$$' -count=1 -v -timeout 20m
	WARDEN_LOAD_SECONDS=30 $(GO) test ./web -run '^TestLoadMixedTraffic$$' -count=1 -v -timeout 10m
