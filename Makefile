# Sluice: `make demo` (first run), `make test` (unit, fuzz briefly, integration, as root), `make bench`,
# `make fuzz` (every fuzz target FUZZ_SECONDS), `make mutation-check` (the suite catches planted bugs),
# `make lint` (swift-format --strict and the test-mirror check), `make format` (rewrites in place).
SHELL := /bin/bash
SWIFT ?= swift
VENV := $(CURDIR)/.venv
SLUICE := $(CURDIR)/.build/release/sluice
APT_PACKAGES := libbpf-dev libssl-dev libnghttp2-dev libre2-dev bpftool iproute2 curl dnsutils \
	dnsmasq-base python3-venv procps netcat-openbsd nghttp2-client binutils iputils-ping openssl \
	prometheus chromium
# prometheus (and its promtool): scenario 80 scrapes sluice-observer's /metrics; chromium: scenario 81
# loads the service-map page headless.
# kubectl for the fake API server's tests (make test-kube): Debian's kubernetes-client, installed only
# when no kubectl is on PATH (a kubectl from another package would conflict with it).
KUBECTL_PACKAGE := kubernetes-client
# dnspython: DNS test clients; h2, grpcio, grpcio-health-checking: the h2c and grpc sandbox servers
# and the HTTP/2 test clients; grpcio-tools: clients generated from proto/ (scenario 85);
# hubble-audit2policy: the third-party reader of exported flows (scenario 17);
# kubernetes, kubernetes-validate: the official client the fake API server is tested with, and the
# offline validation of deploy/ (make test-kube).
PY_PACKAGES := httpbin==0.10.2 gunicorn dnspython h2 grpcio grpcio-health-checking grpcio-tools hubble-audit2policy==0.18.5 \
	kubernetes==37.0.2 kubernetes-validate==1.37.0

include bpf/Makefile

.PHONY: all deps build demo test test-kube unit fuzz integration bench bench-tls bench-bulk bench-json bench-kube bench-observer mutation-check lint format clean

all: build

# Installs what is missing: Debian packages and a Python venv inside the repo.
deps: .deps-stamp
.deps-stamp: Makefile
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v kubectl >/dev/null || missing="$$missing $(KUBECTL_PACKAGE)"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@[ -x $(VENV)/bin/pip ] || python3 -m venv $(VENV)
	@$(VENV)/bin/pip install -q $(PY_PACKAGES)
	@touch $@

# Two executables: the CLI `sluice` and the agent `sluice-agent` (no Foundation in its memory).
build: deps bpf
	$(SWIFT) build -c release --static-swift-stdlib --product sluice-agent
	$(SWIFT) build -c release --static-swift-stdlib --product sluice
	$(SWIFT) build -c release --static-swift-stdlib --product sluice-observer
	@test -x $(SLUICE) && test -x $(SLUICE)-agent && echo "built $(SLUICE) and $(SLUICE)-agent"

demo: build
	$(SLUICE) demo

unit: deps
	$(SWIFT) test 2>&1 | tee .build/unit-test.log; exit $${PIPESTATUS[0]}

integration: build
	bash integration/run.sh

# The fake Kubernetes API server (integration/kube/fakeapi) tested with real kubectl and the Python
# client, and deploy/ validated offline; no root, no sandbox, well under a minute.
test-kube: deps
	bash integration/kube/run.sh

# The fuzz targets (FuzzTesting/), built and run one by one, FUZZ_SECONDS each; prints the
# executions per target. A crash fails the run (input in FuzzTesting/.build/artifacts/).
FUZZ_SECONDS ?= 60
fuzz: deps
	bash FuzzTesting/run.sh $(FUZZ_SECONDS)

# Unit tests, every fuzz target briefly (FUZZ_TEST_SECONDS each, so none rots), the fake API server's
# tests (test-kube), then every integration scenario (needs root and BPF; a scenario that cannot run
# fails). A hung unit test fails the run after UNIT_TIMEOUT seconds instead of eating CI's time.
UNIT_TIMEOUT ?= 1500
FUZZ_TEST_SECONDS ?= 20
# `make test` runs `make lint` first (swift-format --strict and the test-mirror check); LINT_IN_TEST=0 skips it.
LINT_IN_TEST ?= 1
test: build $(if $(filter 1,$(LINT_IN_TEST)),lint)
	@rc=0; \
	timeout -k 30 $(UNIT_TIMEOUT) $(SWIFT) test || rc=1; \
	bash FuzzTesting/run.sh $(FUZZ_TEST_SECONDS) || rc=1; \
	bash integration/kube/run.sh || rc=1; \
	bash integration/run.sh || rc=1; \
	exit $$rc

# Deliberate bugs, one at a time, each of which the tests must catch (bench/mutation-check.sh), from
# every list in MUTATIONS: default.sh (the behaviour issues named) and fixed-tests.sh (each test
# rewritten under issue 20 against the bug it must now catch).
MUTATIONS ?= bench/mutations/default.sh bench/mutations/fixed-tests.sh
# Issue 14: HTTP/1 timeouts and upgrades.
MUTATIONS += bench/mutations/issue14-http1.sh
# Issue 19: bodies by splice.
MUTATIONS += bench/mutations/issue19-bulk.sh
mutation-check: deps
	@rc=0; for list in $(MUTATIONS); do bash bench/mutation-check.sh $$list || rc=1; done; exit $$rc

# The HTTP/1.1 bench (bench/run.sh), then TLS terminating and intercepting (bench/tls.sh, issue 16;
# it exits 3 after measuring the peers when Sluice refuses the interception policy), then the
# observer's CPU against get-ka's (bench/observer.sh, issue 17), then bulk bodies (bench/bulk.sh,
# issue 19: 1 MB and 64 MB down, 64 MB up, CPU per GB).
bench: build
	@rc=0; bash bench/run.sh || rc=1; bash bench/tls.sh || rc=1; bash bench/observer.sh || rc=1; bash bench/bulk.sh || rc=1; exit $$rc

bench-observer: build
	bash bench/observer.sh

bench-bulk: build
	bash bench/bulk.sh

bench-tls: build
	bash bench/tls.sh

# Issue 13's JSON measurement: the agent on FoundationEssentials' JSONEncoder/JSONDecoder
# (-DSLUICE_FOUNDATION_JSON, in .build-json) against the default SluiceJSON agent, same run.
bench-json: build
	$(SWIFT) build -c release --static-swift-stdlib --product sluice-agent --scratch-path .build-json \
		-Xswiftc -DSLUICE_FOUNDATION_JSON
	bash bench/json-rss.sh

# Issue 18: agent memory with 5,000 pods and 1,000 CNPs in the fake API server, and the time from
# creating a 1,000-rule CNP to the agent reporting it in force (bench/kube.sh).
bench-kube: build
	bash bench/kube.sh

# swift-format with the checked-in .swift-format (4 spaces, 120 columns, ordered imports), and
# tests mirroring sources (scripts/check-test-mirror.sh). `make format` rewrites the files in place.
SWIFT_FORMAT ?= swift-format
FORMAT_PATHS := Sources Tests bench/micro
lint:
	@rc=0; \
	$(SWIFT_FORMAT) lint --strict --recursive --parallel $(FORMAT_PATHS) || rc=1; \
	bash scripts/check-test-mirror.sh || rc=1; \
	exit $$rc

format:
	$(SWIFT_FORMAT) format --in-place --recursive --parallel $(FORMAT_PATHS)

clean: bpf-clean
	rm -rf .build .deps-stamp
