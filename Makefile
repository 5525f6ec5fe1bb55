# nearcast — `make run` starts the box, `make test` runs the tests.
# Both install what they need first: Debian packages (apt-get, when missing and
# we are root or have sudo) and the npm packages (npm ci).

SHELL := /bin/bash
.DEFAULT_GOAL := help
# what the box needs (`make run`; gpiod: gpiomon for the buttons and libgpiod for the LEDs);
# tests and benchmarks add PulseAudio (the clocked test device), Mosquitto (the uplink's broker) and its clients, Snapcast
# (the comparison), iproute2, Chromium (the web companion's tests) and a C compiler (the
# stand-in libgpiod the GPIO tests build)
BOX_APT_PACKAGES := ffmpeg libopus0 libasound2 libasound2-plugins alsa-utils gpiod espeak-ng
TEST_APT_PACKAGES := $(BOX_APT_PACKAGES) pulseaudio pulseaudio-utils pipewire pipewire-pulse wireplumber dbus-daemon mosquitto mosquitto-clients snapserver snapclient icecast2 iproute2 chromium gcc libc6-dev
NODE_MIN := 20
ARGS ?=

.PHONY: help setup test-setup pipewire-alsa-plugin pipewire-sync apt-deps node-deps run test typecheck lint config-schema bench soak build build-companion install uninstall install-companion uninstall-companion check-arm64 clean

# install layout (DESTDIR-aware; no root needed when DESTDIR is set)
PREFIX ?= /opt/nearcast
SYSCONFDIR ?= /etc
UNITDIR ?= /lib/systemd/system
SYSUSERSDIR ?= /usr/lib/sysusers.d
# production dependencies: `npm ci --omit=dev` (default), or `link` to hard-link this tree's production
# packages (what `npm ls --omit=dev` lists: tests, same machine, offline)
NODE_MODULES ?= npm
# more flags for that npm ci; `--cpu=arm64 --os=linux` lays out a Raspberry Pi's tree from another machine
NPM_INSTALL_FLAGS ?=
# the one-file companion: $(COMPANION_PREFIX)/bin/nearcast (/usr/local as root, else ~/.local)
COMPANION_PREFIX ?= $(if $(filter 0,$(shell id -u)),/usr/local,$(HOME)/.local)
# (the box's tree leaves out dist/nearcast.mjs, the one-file companion for other machines: 6 MB it never runs)
APP_FILES := package.json package-lock.json README.md firmware companion hardware config dist

help:
	@echo "make run   - start the box (simulated hardware when there is none); extra flags: make run ARGS='--music ~/Music'"
	@echo "make test  - type-check, lint and run every test"
	@echo "make bench - sync, join, load, memory, browser-sync, device-sync, pulse-report, click-sync, capture-report and fleet benchmarks (ARGS=--quick for a short run)"
	@echo "make soak  - reliability under attack, minutes (ARGS=--quick for a short run; make test runs that)"
	@echo "make install-companion - install the \`nearcast\` command (one file) in $(COMPANION_PREFIX)/bin"

setup: node-deps
	@$(MAKE) --no-print-directory apt-deps APT_PACKAGES="$(BOX_APT_PACKAGES)"

test-setup: node-deps
	@$(MAKE) --no-print-directory apt-deps APT_PACKAGES="$(TEST_APT_PACKAGES)"

# PipeWire's own ALSA PCM for the PipeWire sync tests (test/integration/pipewire-sync.test.ts in make
# test; test/manual/pipewire-sync.test.ts, run by hand: make pipewire-sync): Debian's pipewire-alsa conflicts with
# pulseaudio (the tests' sound server) and makes itself the system's ALSA default, so unless it is
# installed its plugin is unpacked from the package (the installed PipeWire's version) into
# .run/pipewire-alsa; the test points a private ALSA config at it (test/helpers/pipewire-alsa.ts)
PIPEWIRE_ALSA_DIR := .run/pipewire-alsa
pipewire-sync: test-setup pipewire-alsa-plugin
	npx mocha --no-config --node-option import=tsx --timeout 200000 --exit test/manual/pipewire-sync.test.ts

pipewire-alsa-plugin: test-setup
	@arch=$$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch); \
	so=lib/$$arch/alsa-lib/libasound_module_pcm_pipewire.so; \
	if [ ! -f /usr/$$so ] && [ ! -f $(PIPEWIRE_ALSA_DIR)/usr/$$so ]; then \
	  v=$$(dpkg-query -W -f='$${Version}' pipewire 2>/dev/null); \
	  [ -n "$$v" ] || { echo "error: pipewire is not installed" >&2; exit 1; }; \
	  echo "unpacking PipeWire's ALSA plugin (pipewire-alsa $$v) into $(PIPEWIRE_ALSA_DIR)"; \
	  tmp=$$(mktemp -d); \
	  if ! (cd $$tmp && apt-get download -qq pipewire-alsa=$$v >/dev/null 2>&1); then \
	    if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	    $$SUDO apt-get update -qq && (cd $$tmp && apt-get download -qq pipewire-alsa=$$v >/dev/null) \
	      || { rm -rf $$tmp; echo "error: could not download pipewire-alsa $$v" >&2; exit 1; }; \
	  fi; \
	  mkdir -p $(PIPEWIRE_ALSA_DIR) && dpkg -x $$tmp/pipewire-alsa_*.deb $(PIPEWIRE_ALSA_DIR); rc=$$?; rm -rf $$tmp; exit $$rc; \
	fi

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

# three projects: Node code (tsconfig.json), the page script (companion/web), the Playwright tests (test/browser)
typecheck: node-deps
	npm run --silent typecheck

# Biome: lint rules and the formatter's layout (biome.jsonc), zero findings; `npm run format` rewrites the layout
lint: node-deps
	npx biome check --error-on-warnings .

test: test-setup pipewire-alsa-plugin typecheck lint
	npx mocha

# config/schema.json from its one source, firmware/config/config-schema.ts (a test checks it is current)
config-schema: node-deps
	node --import tsx firmware/config/config-schema.ts

# benchmarks (not part of `make test`): tables on stdout, JSON in test/bench/results/
bench: test-setup
	node --import tsx test/bench/sync.ts $(ARGS)
	node --import tsx test/bench/join.ts $(ARGS)
	node --import tsx test/bench/load.ts $(ARGS)
	node --import tsx test/bench/memory.ts $(ARGS)
	node --import tsx test/bench/browser-sync.ts $(ARGS)
	node --import tsx test/bench/device-sync.ts $(ARGS)
	node --import tsx test/bench/pulse-report.ts $(ARGS)
	node --import tsx test/bench/click-sync.ts $(ARGS)
	node --import tsx test/bench/capture-report.ts $(ARGS)
	node --import tsx test/bench/fleet.ts $(ARGS)
	node --import tsx test/bench/install-size.ts

# reliability under attack (README "Reliability"): table on stdout, JSON in test/bench/results/
soak: test-setup
	node --import tsx test/soak/soak.ts $(ARGS)

# the box as it runs on a device: an ES module bundle in dist/ (see firmware/build.ts);
# the companion as one file, dist/nearcast.mjs (see companion/build.ts)
build: node-deps build-companion
	node --import tsx firmware/build.ts

build-companion: node-deps
	node --import tsx companion/build.ts

install-companion: build-companion
	@set -e; lib="$(DESTDIR)$(COMPANION_PREFIX)/lib/nearcast"; bin="$(DESTDIR)$(COMPANION_PREFIX)/bin"; \
	mkdir -p "$$lib" "$$bin"; install -m 755 dist/nearcast.mjs "$$lib/nearcast.mjs"; \
	ln -sfn ../lib/nearcast/nearcast.mjs "$$bin/nearcast"; \
	echo "installed $$bin/nearcast (needs node $(NODE_MIN)+)"; \
	case ":$$PATH:" in *":$(COMPANION_PREFIX)/bin:"*) ;; *) echo "note: $(COMPANION_PREFIX)/bin is not on your PATH; add it: export PATH=\"$(COMPANION_PREFIX)/bin:\$$PATH\"";; esac

uninstall-companion:
	rm -f "$(DESTDIR)$(COMPANION_PREFIX)/bin/nearcast"; rm -rf "$(DESTDIR)$(COMPANION_PREFIX)/lib/nearcast"

install: build
	@set -e; dest="$(DESTDIR)$(PREFIX)"; etc="$(DESTDIR)$(SYSCONFDIR)/nearcast"; \
	mkdir -p "$$dest" "$$etc" "$(DESTDIR)$(UNITDIR)" "$(DESTDIR)$(SYSUSERSDIR)"; \
	rm -rf "$$dest/firmware" "$$dest/companion" "$$dest/hardware" "$$dest/config" "$$dest/dist"; \
	cp -r $(APP_FILES) "$$dest/"; \
	rm -f "$$dest/dist/nearcast.mjs"; \
	rm -rf "$$dest/node_modules"; \
	if [ "$(NODE_MODULES)" = link ]; then \
	  packages=$$(npm ls --omit=dev --all --parseable) || { echo "error: npm ls --omit=dev failed: run npm ci first" >&2; exit 1; }; \
	  for dir in $$(echo "$$packages" | grep "^$(CURDIR)/node_modules/" | sort); do \
	    to="$$dest/$${dir#$(CURDIR)/}"; [ -e "$$to" ] && continue; mkdir -p "$$(dirname "$$to")"; \
	    cp -al "$$dir" "$$to" 2>/dev/null || cp -r "$$dir" "$$to"; \
	  done; \
	else (cd "$$dest" && npm ci --omit=dev $(NPM_INSTALL_FLAGS) --no-audit --no-fund --loglevel=error); fi; \
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' config/systemd/nearcast.service > "$(DESTDIR)$(UNITDIR)/nearcast.service"; \
	cp config/systemd/nearcast.sysusers "$(DESTDIR)$(SYSUSERSDIR)/nearcast.conf"; \
	for f in config.yaml:config/nearcast.yaml wpa_supplicant-p2p.conf:config/wpa_supplicant/p2p.conf dnsmasq-p2p.conf:config/dnsmasq/nearcast-p2p.conf; do \
	  to="$$etc/$${f%%:*}"; from="$${f#*:}"; \
	  if [ -e "$$to" ]; then echo "keeping $$to"; else sed -e 's|@PREFIX@|$(PREFIX)|g' "$$from" > "$$to"; fi; \
	done; \
	echo "installed in $$dest; then: systemd-sysusers && systemctl daemon-reload && systemctl enable --now nearcast"

uninstall:
	rm -rf "$(DESTDIR)$(PREFIX)" "$(DESTDIR)$(UNITDIR)/nearcast.service" "$(DESTDIR)$(SYSUSERSDIR)/nearcast.conf"
	@echo "kept $(DESTDIR)$(SYSCONFDIR)/nearcast (your settings) and /var/lib/nearcast (state)"

# the dependencies resolve for a Raspberry Pi (arm64) with nothing fetched by install scripts
check-arm64:
	@tmp=$$(mktemp -d); cp package.json package-lock.json "$$tmp/"; \
	(cd "$$tmp" && npm ci --cpu=arm64 --os=linux --no-audit --no-fund --loglevel=error) && \
	test -e "$$tmp/node_modules/@esbuild/linux-arm64/bin/esbuild" && ls "$$tmp"/node_modules/koffi/build/koffi | grep -q linux_arm64 && \
	echo "arm64: dependencies install (esbuild linux-arm64, koffi linux_arm64 prebuilt)"; rc=$$?; rm -rf "$$tmp"; exit $$rc

clean:
	rm -rf node_modules .run dist
