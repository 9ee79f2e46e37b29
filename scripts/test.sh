#!/usr/bin/env bash
# Sets up and runs every test: unit tests, the snap.yaml corpus, and the end-to-end tests that
# mount, loop-attach and run the real binaries on temporary roots (these need root).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The end-to-end tests drive the real binaries, so build them first.
cargo build --workspace --bins
cargo nextest run --workspace --no-fail-fast "$@"
