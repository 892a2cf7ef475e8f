# Service Status Indicator. `make demo` and `make test` are the two commands
# a fresh clone needs; packagers use `make`, `make install`, `make uninstall`.

CARGO ?= cargo
CARGO_TARGET_DIR ?= target
export CARGO_TARGET_DIR
RELEASE := $(CARGO_TARGET_DIR)/release

.PHONY: all build test lint demo bench clean

all: build

build:
	$(CARGO) build --release --locked --workspace

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

test:
	$(CARGO) nextest run --locked --workspace --all-targets --no-fail-fast
	$(CARGO) test --locked --workspace --doc

demo: build
	@echo "demo: nothing to show yet"

bench:
	$(CARGO) bench --locked -p ssi-generator --bench library
	$(CARGO) bench --locked -p ssi-generator --bench generator

clean:
	$(CARGO) clean
