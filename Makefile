# MIGRATE_SWIOTLB: build / boot / test harness.
# The real work is in scripts/; see README.md. `make help` lists targets.

TOP := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
BUILD := $(TOP)/build
KTREE := $(BUILD)/linux
# ARCH=arm64 puts its products under build/arm64/ (scripts/common.sh); no
# ARCH means x86_64, except for make test, which then runs both.
ABUILD := $(if $(filter arm64 aarch64,$(ARCH)),$(BUILD)/arm64,$(BUILD))
INITRAMFS := $(ABUILD)/initramfs.cpio.gz

# User variables (all optional), passed to the scripts through the environment.
#   ARCH=x86_64|arm64 (guest architecture; make test without it runs both)
#   VARIANT=reclaim|debug|static|dynamic   DEBUG=1 (= VARIANT=debug)
#   KERNEL_SRC=/path  CMDLINE="..."  SCENARIO=name  MEM=768M  TIMEOUT=600
#   ICOUNT=1  QEMU_EXTRA="..."  JOBS=N  DISK_SIZE=512M  FORCE=1 (make tree)
#   CONFIG_ONLY=1 (make kernel stops after writing and checking .config)
#   TOOLS_IN_INITRAMFS=1 (stress-ng/fio + libs inside the initramfs, not build/tools.img)
#   FORCE=1 also lets make save overwrite repo changes made since make tree
#   MINUTES=20 SOAK_SCENARIOS="pressure pagecache overprovision" SOAK_VARIANT=debug (make soak)
#   make bench: RUNS=N QUICK=1 BENCH_OUT=dir ICOUNT_SHIFT=N BENCH_BUILD=0 BENCH_KERNELS="a b"
export ARCH VARIANT DEBUG KCSAN KERNEL_SRC CMDLINE SCENARIO MEM TIMEOUT ICOUNT QEMU_EXTRA JOBS DISK_SIZE FORCE CONFIG_ONLY TOOLS_IN_INITRAMFS
export RUNS QUICK BENCH_OUT ICOUNT_SHIFT BENCH_BUILD BENCH_KERNELS
export MINUTES SOAK_SCENARIOS SOAK_VARIANT

SH := bash $(TOP)/scripts
# One time origin for the "elapsed" read-outs of every step of this make run.
export HARNESS_T0 := $(shell date +%s)

.DEFAULT_GOAL := help
.PHONY: help deps prepare-src kernel initramfs initramfs-only boot run kunit check test kcsan bench soak \
	tree save patches prefixes selftest-harness clean distclean

help:
	@echo "MIGRATE_SWIOTLB harness (see README.md)"
	@echo "  make run          build everything, narrate the demo, plot the pool -> build/run/pool.png"
	@echo "  make test         deps, kernel, initramfs, kunit, all tests/scenarios/*; then arm64 KUnit + subset [ARCH=...]"
	@echo "  make deps         install missing Debian packages"
	@echo "  make kernel       patched (or VARIANT=...) kernel -> build/bzImage (ARCH=arm64: build/arm64/Image)"
	@echo "  make initramfs    build/initramfs.cpio.gz"
	@echo "  make boot         SCENARIO=name [CMDLINE=...] [MEM=...] [TIMEOUT=...] [VARIANT=...]"
	@echo "  make kunit        boot with kunit.enable=1 and parse the KTAP"
	@echo "  make kcsan        KCSAN kernel + overprovision (SCENARIO=...); sorts the data-race reports"
	@echo "  make soak         MINUTES=N: loop pressure/pagecache/overprovision on the debug kernel, table"
	@echo "  make tree / save  series <-> git tree in build/tree; make patches: mail series"
	@echo "  make prefixes     build every prefix of the series, feature on and off"
	@echo "  make prepare-src  only stage + patch the source tree"
	@echo "  make selftest-harness  prove failures/timeouts/panics/bad patches are caught"
	@echo "  make bench        static vs dynamic vs reclaim -> bench/report.md [RUNS=N QUICK=1]"

deps:
	@$(SH)/deps.sh

prepare-src:
	@$(SH)/prepare-src.sh

kernel: deps
	@$(SH)/build-kernel.sh

# --- initramfs: rebuilt only when one of its inputs changed ---------------
INITRAMFS_DEPS := $(TOP)/scripts/build-initramfs.sh $(TOP)/scripts/common.sh \
	$(TOP)/tests/guest/init $(TOP)/tests/lib.sh \
	$(TOP)/tests/scenarios $(TOP)/tests/harness $(TOP)/tests/bench \
	$(wildcard $(TOP)/tests/scenarios/* $(TOP)/tests/harness/* $(TOP)/tests/bench/* $(TOP)/tests/guest/src/*.c $(TOP)/tests/guest/src/*.h) \
	$(wildcard /bin/busybox /usr/bin/stress-ng /usr/bin/fio $(TOP)/scripts/arm64-userland.sh \
		$(if $(filter $(BUILD),$(ABUILD)),,$(ABUILD)/sysroot/.stamp)) \
	$(wildcard $(KTREE)/tools/testing/selftests/dma/dma_map_benchmark.c \
		$(KTREE)/include/linux/map_benchmark.h $(KTREE)/usr/gen_init_cpio.c)

$(INITRAMFS) $(ABUILD)/tools.img &: $(INITRAMFS_DEPS)
	@$(SH)/build-initramfs.sh

initramfs-only: $(INITRAMFS) $(ABUILD)/tools.img
	@echo "initramfs: $(INITRAMFS) ready"

initramfs: deps
	@$(MAKE) --no-print-directory -f $(TOP)/Makefile initramfs-only

# --- booting ----------------------------------------------------------------
boot: initramfs-only
	@$(SH)/boot.sh

kunit: kernel initramfs
	@$(SH)/kunit.sh

check: kernel
	@$(SH)/check.sh

run: kernel initramfs
	@SCENARIO=$${SCENARIO:-$$(test -f $(TOP)/tests/scenarios/demo && echo demo || echo smoke)} $(SH)/run.sh

test:
	@$(SH)/test.sh

# Separate from make test: KCSAN kernel (reclaim + KCSAN) running overprovision
kcsan: deps
	@$(SH)/kcsan.sh

bench:
	@$(SH)/bench.sh

soak: deps
	@$(SH)/soak.sh

selftest-harness: initramfs
	@$(SH)/selftest-harness.sh

# --- working on the series ----------------------------------------------------
tree:
	@$(SH)/tree.sh

save:
	@$(SH)/save.sh

patches: tree
	@$(SH)/patches.sh

prefixes: deps
	@$(SH)/build-prefixes.sh

clean:
	rm -rf $(BUILD)/obj-* $(BUILD)/bzImage $(BUILD)/debug $(BUILD)/static $(BUILD)/dynamic \
		$(BUILD)/logs $(BUILD)/disk-*.img $(INITRAMFS) $(BUILD)/tools $(BUILD)/patches \
		$(BUILD)/tools.img $(BUILD)/tools-root $(BUILD)/prefix $(BUILD)/prefixes $(BUILD)/soak \
		$(BUILD)/arm64/obj-* $(BUILD)/arm64/Image $(BUILD)/arm64/*/Image $(BUILD)/arm64/logs \
		$(BUILD)/arm64/disk-*.img $(BUILD)/arm64/initramfs.cpio.gz $(BUILD)/arm64/tools \
		$(BUILD)/arm64/tools.img $(BUILD)/arm64/tools-root

distclean:
	rm -rf $(BUILD)
