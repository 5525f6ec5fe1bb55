# nearcast — `make run` starts the box, `make test` runs the tests.
# Both install what they need first: Debian packages (apt-get, when missing and
# we are root or have sudo) and the npm packages (npm ci).

SHELL := /bin/bash
.DEFAULT_GOAL := help
APT_PACKAGES := ffmpeg libasound2 libasound2-plugins alsa-utils pulseaudio mosquitto-clients snapserver snapclient iproute2
NODE_MIN := 20
ARGS ?=

.PHONY: help setup apt-deps node-deps run test typecheck bench build clean

help:
	@echo "make run   - start the box (simulated hardware when there is none); extra flags: make run ARGS='--music ~/Music'"
	@echo "make test  - type-check and run every test"
	@echo "make bench - sync, join and load benchmarks (ARGS=--quick for a short run)"

setup: apt-deps node-deps

apt-deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else \
	    echo "error: missing Debian packages:$$missing — install them as root: apt-get install$$missing" >&2; exit 1; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	    || { echo "error: apt-get could not install:$$missing" >&2; exit 1; }; \
	fi

node-deps:
	@command -v node >/dev/null || { echo "error: Node.js $(NODE_MIN)+ is needed (node not found)" >&2; exit 1; }
	@v=$$(node -p 'process.versions.node.split(".")[0]'); [ "$$v" -ge $(NODE_MIN) ] || { echo "error: Node.js $(NODE_MIN)+ is needed (found $$(node --version))" >&2; exit 1; }
	@if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  echo "installing npm packages"; npm ci --no-audit --no-fund --loglevel=error; fi

run: setup
	node --import tsx firmware/main.ts --sim --host 127.0.0.1 $(ARGS)

typecheck: node-deps
	npx tsc --noEmit -p .

test: setup typecheck
	npx mocha

# benchmarks (not part of `make test`): tables on stdout, JSON in test/bench/results/
bench: setup
	node --import tsx test/bench/sync.ts $(ARGS)
	node --import tsx test/bench/join.ts $(ARGS)
	node --import tsx test/bench/load.ts $(ARGS)

# the box as it runs on a device: an ES module bundle in dist/ (see firmware/build.ts)
build: node-deps
	node --import tsx firmware/build.ts

clean:
	rm -rf node_modules .run dist
