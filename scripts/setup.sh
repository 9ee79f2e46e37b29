#!/usr/bin/env bash
# Installs what building, the demo and the tests need on a fresh Debian 12 machine (as root).
# Safe to run again: it only installs what is missing.
set -euo pipefail

packages=(
    squashfs-tools   # mksquashfs/unsquashfs: test oracles for our own squashfs reader and writer
    util-linux       # mount, losetup
    snapd            # Debian's `snap` client: existing clients must drive our daemon
    gir1.2-snapd-2   # snapd-glib, the other client the daemon must serve
    python3-gi       # to drive snapd-glib from tests
    busybox-static   # the shell and tools of the real base snap scripts/make-base.sh builds
    bubblewrap       # the baseline the launch benchmark compares snap run with
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
    echo "setup: cargo is required (rustup toolchain 1.90 or newer)" >&2
    exit 1
fi
if ! command -v cargo-nextest >/dev/null; then
    echo "setup: installing cargo-nextest"
    cargo install --locked cargo-nextest
fi
