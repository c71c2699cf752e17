# peat-node developer entry points. Every target installs what it needs first (idempotent), so
# `make run` and `make test` work on a fresh Debian 12 machine as root.
#
#   make run     build and start a node: API on $(LISTEN), embedded store in ./data
#   make test    unit tests (also under ASan+UBSan, built with clang), integration tests, buf checks,
#                every package-lock.json installs with npm ci (make lockfile-check),
#                short libFuzzer runs (make fuzz), packaging checks (make package-check) and the
#                image and chart under podman in their fast form (make package-test-fast)
#   make test-long  every DDIL scenario on network-namespace hosts, the long ones too (root)
#   make bench   benchmarks (bench/*.sh); results appended to docs/BENCHMARKS.md
#   make fmt     clang-format every C++ source in place
#   make package-check  image content, Helm chart, Zarf/UDS, systemd unit and .deb checked without a
#                cluster (run by make test)
#   make deb     the Debian package (systemd unit, user peat) in build/deb/, built with CPack
#   make image   the container image, built with podman (FROM scratch; base from mmdebstrap)
#   make test-package  package-check, then the image and the chart run for real under podman

BUILD      ?= build
ASAN_BUILD ?= build-asan
LISTEN     ?= tcp://127.0.0.1:50051
DATA_DIR   ?= ./data
JOBS       ?= $(shell nproc)

.PHONY: all deps npm-deps build build-asan run test test-unit test-asan test-integration bench-watcher \
        test-long buf-check lockfile-check fmt fmt-check fuzz bench bench-rpc bench-footprint bench-engine bench-mesh bench-scale bench-ddil bench-attach bench-nats clean \
        package-check image test-package package-test-fast

all: build

deps:
	@bash scripts/install-deps.sh

npm-deps: deps
	@bash scripts/install-npm-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPEAT_SANITIZE=ON \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++

# Unit tests only: the sanitizer build is compiled with clang (the main build uses g++), so CI
# builds every unit with both compilers.
build-asan: deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) --target test_binaries -j $(JOBS)

run: build
	mkdir -p $(DATA_DIR)
	./$(BUILD)/peat-node --listen $(LISTEN) --data-dir $(DATA_DIR)

test: build build-asan npm-deps fmt-check buf-check lockfile-check fuzz
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	$(MAKE) package-check package-test-fast

test-unit: build
	ctest --test-dir $(BUILD) -L unit --output-on-failure -j $(JOBS)

test-asan: build-asan
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

test-integration: build npm-deps
	ctest --test-dir $(BUILD) -L integration --output-on-failure

# DDIL scenarios on network-namespace hosts (root only; tests/scenarios/README.md): every scenario,
# the long ones ("ci": false: 5-minute split, bulk transfer over loss, node churn) too. CI runs only
# the "ci": true ones (ctest -L scenario).
test-long: build npm-deps
	PEAT_SCENARIOS=all PEAT_NODE_BIN=$(BUILD)/peat-node PEATNET_BIN=$(BUILD)/tests/net/netem-lite \
	  node --test --test-reporter=spec tests/scenarios/scenarios.test.mjs

buf-check: npm-deps
	@bash scripts/buf-check.sh

# Every package-lock.json in the repo installs with `npm ci` (in a temporary copy; the benchmarks'
# anchors are installed, not run).
lockfile-check: deps
	@bash scripts/check-lockfiles.sh

fmt:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

fmt-check: deps
	@bad=$$(git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror 2>&1 | grep -o '^[^:]*\.\(cc\|h\)' | sort -u); \
	if [ -n "$$bad" ]; then echo "not clang-formatted (run 'make fmt'):"; echo "$$bad"; exit 1; fi; \
	echo "fmt-check: all C++ sources formatted"

# libFuzzer targets (clang), each run for FUZZ_SECONDS; fails on any crash or sanitizer report.
fuzz: deps
	FUZZ_SECONDS=$${FUZZ_SECONDS:-8} bash scripts/fuzz.sh

bench: bench-rpc bench-engine bench-footprint bench-mesh bench-scale bench-ddil bench-attach bench-watcher bench-nats

bench-rpc: build
	bash bench/rpc.sh

bench-engine: build
	BENCH_BUILD_DIR=$(BUILD) bash bench/engine.sh

bench-footprint: build
	bash bench/footprint.sh

# B3/B4/B5: two-node convergence, catch-up, propagation latency; anchor: automerge-repo (bench/mesh)
bench-mesh: build npm-deps
	bash bench/mesh.sh

# B8: N nodes on a random degree-3 topology or a full mesh, relay offer / push (BENCH_SCALE_CASES), time until every node has every doc
bench-scale: build npm-deps
	bash bench/scale.sh

# B7: 1 Mbit/s, 200 ms RTT, 10 % loss between two network-namespace hosts (root only): goodput of
# 1,000 docs, and an urgent doc under a 2 MB bulk backlog with and without --collection-priority
bench-ddil: build npm-deps
	bash bench/ddil.sh

# B10–B14: attachments. 100 MiB A→B on loopback vs scp/rsync/curl (nginx, TLS 1.3)/cp, 50 MiB to 6
# receivers vs 6 scp; as root also 4 MiB over the B7 link, cut and kill -9 resume, CRITICAL during
# a 200 MB BULK (installs openssh-server, rsync, nginx-light when missing)
bench-attach: build npm-deps
	bash bench/attach.sh

# Agent watcher: mesh bytes per node per hour in steady state vs the original's rewrite-everything
# pattern (bench/watcher.mjs; docs/WATCHER.md)
bench-watcher: build npm-deps
	PEAT_NODE_BIN=$(BUILD)/peat-node node bench/watcher.mjs

# B15: the NATS bridge end to end (two sites: nats-server + peat-node each) next to nats-server
# alone, messages/s and RSS growth for 100,000 x 1 KiB (bench/nats/run.mjs; docs/NATS.md)
bench-nats: build npm-deps
	BENCH_BUILD_DIR=$(BUILD) node bench/nats/run.mjs

# ---- packaging (issue #11; docs/DEPLOYMENT.md) ----
# Each part owns its block; package-check runs every check script in turn.
PACKAGE_CHECKS :=

# packaging: image (Dockerfile, scripts/package/stage-rootfs.sh)
# package-check-image: the Dockerfile's rules, the staged rootfs, an OCI layout, sizes, and the
# binary as PID 1 on a read-only root (no container engine; ~20 s). image: podman build (slow the
# first time; skipped when localhost/peat-node:<version> exists, FORCE=1 rebuilds).
# package-test-image: that image under podman (healthcheck, --read-only, an RPC, stop -> exit 0).
.PHONY: package-check-image package-test-image
package-check-image: build
	@bash scripts/package/check-image.sh $(BUILD)/peat-node
PACKAGE_CHECKS += package-check-image

image:
	@bash scripts/package/build-image.sh

package-test-image: image
	@bash scripts/package/test-image.sh

# packaging: chart (chart/peat-node, zarf.yaml, bundle/)
.PHONY: package-check-chart package-test-chart
PACKAGE_CHECKS += package-check-chart
# helm lint, helm template of every ci/ values file and test parent chart validated against the
# Kubernetes schemas, the chart's invariants (node:test), zarf.yaml + bundle vs the render, yamllint.
package-check-chart:
	@bash scripts/package/check-chart.sh
# The chart for real: two pods (alpha, bravo: app + injected peat-node) under podman kube play
# form a mesh and sync. Needs the image (make image). Part of make test-package.
package-test-chart: image
	@bash scripts/package/test-chart.sh

# packaging: systemd + deb (packaging/, CPack)
.PHONY: deb package-check-deb
# The .deb from the build tree (cmake/Packaging.cmake): $(BUILD)/deb/peat-node_<version>_amd64.deb
deb: build
	cpack -G DEB --config $(BUILD)/CPackConfig.cmake -B $(BUILD)/deb

# The unit (systemd-analyze verify, security ≤ 2.0), the .deb (contents, lintian), install →
# upgrade → purge in a Debian 12 root, and systemd as PID 1 under systemd-nspawn (SKIPPED where
# the sandbox cannot boot a container). Root only.
package-check-deb: build
	BUILD=$(BUILD) bash scripts/package/check-deb.sh
PACKAGE_CHECKS += package-check-deb

package-check: build npm-deps $(PACKAGE_CHECKS)

# Slow: builds the image (a cold in-container build is ~15 min on 2 cores), then runs it and the
# chart under podman. Not part of make test.
test-package: package-check
	$(MAKE) package-test-image
	$(MAKE) package-test-chart

# The fast form make test runs (~1 min): the image's final stage over the build tree's binary
# (IMAGE_FROM_BINARY; a later make image rebuilds it from the Dockerfile), then the same podman runs
# of the image and of the chart (alpha + bravo) as make test-package.
package-test-fast: build
	IMAGE_FROM_BINARY=$(BUILD)/peat-node FORCE=1 bash scripts/package/build-image.sh
	bash scripts/package/test-image.sh
	bash scripts/package/test-chart.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
