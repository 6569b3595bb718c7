# drover: the two commands that matter are `make demo` and `make check`.
# Both install the Debian packages drover needs (scripts/install-deps, as root),
# build, and then run the demo or every test.

BUILD      ?= build
ASAN_BUILD ?= build-asan
MESON_OPTS ?= -Dwerror=true

.PHONY: all deps build build-asan test-guest check demo unit integration soak bench bench-cluster bench-cluster-manager bench-rbd bench-storage bench-replication bench-droverd bench-guest bench-vm-status format clean

all: build

deps:
	scripts/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) $(MESON_OPTS) -Db_sanitize=address,undefined -Db_lundef=false

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

# The test guest (a Debian cloud kernel and a busybox initramfs, from Debian
# packages), cached in the build directory: rebuilt only when its script or
# the packages change.
test-guest: $(BUILD)/build.ninja
	scripts/make-test-guest --build $(BUILD)

# Everything: unit tests, the same under ASan+UBSan, integration tests on real mounts.
check: deps build build-asan test-guest
	scripts/run-tests --build $(BUILD) --asan-build $(ASAN_BUILD)

unit: build
	scripts/run-tests --build $(BUILD) --only unit

integration: build
	scripts/run-tests --build $(BUILD) --only integration

# The no-lost-writes test under faults for minutes (not part of check, which runs it for 60 s).
# SOAK_SECONDS sets the duration; DROVER_NOLOST_SEED=N repeats a run.
SOAK_SECONDS ?= 600
soak: build
	DROVER_BUILD=$(CURDIR)/$(BUILD) DROVER_NOLOST_SECONDS=$(SOAK_SECONDS) \
		/usr/bin/python3 -m pytest -v -s -p no:cacheprovider tests/integration/test_cluster_nolost.py

demo: deps build
	scripts/demo --build $(BUILD)

bench: build
	bench/run-cfs-bench --build $(BUILD)

# droverfs in cluster mode on a 3-node sandbox (bench/README.md); not part of check.
bench-cluster: build
	bench/run-cluster-bench --build $(BUILD)

# drover cluster create/add/status on bare sandbox nodes (bench/README.md); not part of check.
bench-cluster-manager: build
	bench/run-cluster-manager-bench --build $(BUILD)

# rbd streams between two sandbox nodes against rbd export-diff | rbd import-diff
# (bench/README.md); not part of check.
bench-rbd: build
	bench/run-rbd-bench --build $(BUILD)

# drover storage copy against btrfs send | ssh | btrfs receive on a 2-node sandbox; not part of check.
bench-storage: build
	bench/run-storage-bench --build $(BUILD)

# drover replication against the raw pipe and btrbk, fixed cost, parallel jobs, idle CPU,
# on a 3-node sandbox (bench/README.md); not part of check.
bench-replication: build
	bench/run-replication-bench --build $(BUILD)

# droverd's idle CPU and memory with 100 guests on a sandbox node (docs/benchmarks.md); not part of check.
bench-droverd: build
	bench/run-droverd-bench --build $(BUILD)

# vm start against QEMU by hand, vm/ct list with 1,000 configs, droverd idle (docs/benchmarks.md); not part of check.
bench-guest: build
	bench/run-guest-bench --build $(BUILD)

# droverd's status tick with 100 stopped VMs, a /proc scan per VM against one per tick (docs/benchmarks.md); not part of check.
bench-vm-status: build
	bench/run-vm-status-bench --build $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
