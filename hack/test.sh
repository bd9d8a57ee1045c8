#!/usr/bin/env bash
# Run every check CI runs: formatting, clippy and the whole test suite (including the storage contract
# suite against the embedded store and a real etcd, the embedded store's crash test, and the
# conformance scenarios that drive stock kubectl and the Python client against a real `tugboat`).
#
# Works on a fresh Debian machine with a Rust toolchain: missing system packages (etcd-server for the
# etcd tests, protobuf-compiler for etcd-client's build, a C toolchain and pkg-config, python3 with
# venv and pip for the stock clients) are installed with apt-get, as root or through sudo; the stock
# clients go to .tools/ (hack/install-clients.sh). Safe to run again: it installs nothing that is
# already there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source hack/lib.sh

if ! command -v cargo >/dev/null 2>&1; then
    echo "hack/test.sh: cargo is not on PATH; install a Rust toolchain (rustup) first" >&2
    exit 1
fi
ensure_apt_packages etcd-server protobuf-compiler build-essential pkg-config python3
# hack/install-clients.sh downloads with `python3 -m pip` and makes a venv (which needs ensurepip).
python3 -c 'import ensurepip, venv' 2>/dev/null || ensure_apt_packages python3-venv
python3 -m pip --version >/dev/null 2>&1 || ensure_apt_packages python3-pip

section "Stock clients (kubectl, helm, Python client)"
bash hack/install-clients.sh

section "Toolchain"
cargo --version
rustc --version
etcd --version | sed -n 1p
protoc --version

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"

# Every step runs even if an earlier one failed, so that one CI run shows every problem; the script
# fails at the end if any step did. Everything goes to stdout, so that the cargo test summary lines
# land in CI logs in order.
failed=()
step() {
    local name="$1"
    shift
    section "$name"
    if "$@" 2>&1; then
        echo "---- ok: $name"
    else
        echo "---- FAILED: $name"
        failed+=("$name")
    fi
}

step "cargo fmt --all -- --check" cargo fmt --all -- --check
step "cargo clippy --workspace --all-targets --locked -- -D warnings" \
    cargo clippy --workspace --all-targets --locked -- -D warnings
# The conformance scenarios run the `tugboat` binary, another package's, which `cargo test` does not
# build for them: build it first (they find it at target/debug/tugboat, or at $TUGBOAT_BIN).
step "cargo build -p tugboat --locked" cargo build -p tugboat --locked
step "cargo test --workspace --locked" cargo test --workspace --locked --no-fail-fast

if ((${#failed[@]} > 0)); then
    section "FAILED steps"
    printf '  %s\n' "${failed[@]}"
    exit 1
fi
section "All checks passed"
