# Sluice: `make demo` (first run), `make test` (unit + integration, as root), `make bench`.
SHELL := /bin/bash
SWIFT ?= swift
VENV := $(CURDIR)/.venv
SLUICE := $(CURDIR)/.build/release/sluice
APT_PACKAGES := libbpf-dev libssl-dev libnghttp2-dev libre2-dev bpftool iproute2 curl dnsutils \
	dnsmasq-base python3-venv procps netcat-openbsd nghttp2-client binutils iputils-ping
# dnspython: DNS test clients; h2, grpcio, grpcio-health-checking: the h2c and grpc sandbox servers
# and the HTTP/2 test clients.
PY_PACKAGES := httpbin==0.10.2 gunicorn dnspython h2 grpcio grpcio-health-checking

include bpf/Makefile

.PHONY: all deps build demo test unit integration bench clean

all: build

# Installs what is missing: Debian packages and a Python venv inside the repo.
deps: .deps-stamp
.deps-stamp: Makefile
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
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
	@test -x $(SLUICE) && test -x $(SLUICE)-agent && echo "built $(SLUICE) and $(SLUICE)-agent"

demo: build
	$(SLUICE) demo

unit: deps
	$(SWIFT) test 2>&1 | tee .build/unit-test.log; exit $${PIPESTATUS[0]}

integration: build
	bash integration/run.sh

# Unit tests, then every integration scenario (needs root and BPF; a scenario that cannot run fails).
# A hung unit test fails the run after UNIT_TIMEOUT seconds instead of eating CI's time.
UNIT_TIMEOUT ?= 1500
test: build
	@rc=0; \
	timeout -k 30 $(UNIT_TIMEOUT) $(SWIFT) test || rc=1; \
	bash integration/run.sh || rc=1; \
	exit $$rc

bench: build
	bash bench/run.sh

clean: bpf-clean
	rm -rf .build .deps-stamp
