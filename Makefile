# llconform: Landlock conformance across kernels.
GO ?= go
export CGO_ENABLED ?= 0

.PHONY: test matrix bench lint native

test: lint
	$(GO) test -count=1 ./...

native:
	$(GO) run ./cmd/llconform native

matrix:
	@echo "make matrix: the VM matrix is not built yet" >&2; exit 2

bench:
	@echo "make bench: not built yet" >&2; exit 2

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
