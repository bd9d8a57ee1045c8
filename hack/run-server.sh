#!/usr/bin/env bash
# Build tugboat and run `tugboat server` on the embedded datastore, on a fresh Debian machine.
# Idempotent: installs only what is missing. Extra arguments go to `tugboat server`.
#   DATA_DIR (default: ./.tugboat-data) holds the store and, once the API exists, the kubeconfig.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh

ensure_apt_packages protobuf-compiler pkg-config
section "building tugboat (release)"
cargo build --release --locked -p tugboat
data_dir=${DATA_DIR:-$PWD/.tugboat-data}
section "starting tugboat server (data dir: $data_dir)"
exec ./target/release/tugboat server --data-dir "$data_dir" --https-listen-port "${PORT:-6443}" "$@"
