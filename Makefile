# llconform: Landlock conformance across kernels.
GO ?= go
export CGO_ENABLED ?= 0
# Guest architectures of matrix, bench and soak (and the QEMU that deps
# installs): amd64, arm64 or all.
ARCH ?= amd64
comma := ,
E2E_ARCH = $(if $(filter all,$(ARCH)),amd64$(comma)arm64,$(ARCH))

.PHONY: test matrix bench soak lint native unit e2e deps

# The main job: every default kernel in QEMU, one matrix (ARCH=all: both
# architectures' kernels in one matrix).
matrix: deps
	$(GO) run ./cmd/llconform matrix --arch $(ARCH)

# Unit tests, the suites natively on this kernel (root and unprivileged),
# and the VM end-to-end run of the full default matrix (of ARCH).
test: lint deps
	LLCONFORM_E2E=1 LLCONFORM_E2E_ARCH=$(E2E_ARCH) $(GO) test -count=1 -timeout 30m ./...

# Without the VM end-to-end run.
unit: lint
	$(GO) test -count=1 ./...

native:
	$(GO) run ./cmd/llconform native

# The full matrix against the kernel's own Landlock selftests on the same
# kernels (built once from the verified linux-source), with the bare-boot
# floor and the harness overhead, measured in one run.
bench: deps
	@./scripts/ensure-peer.sh $(ARCH)
	$(GO) run ./cmd/llconform bench --arch $(ARCH)

# Determinism: the full matrix 10 times; lists every case whose verdict varied.
soak: deps
	$(GO) run ./cmd/llconform soak --arch $(ARCH) 10

deps:
	@./scripts/ensure-qemu.sh $(ARCH)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
