#!/usr/bin/env bash
# The main job, on a throwaway directory: pack the demo snaps and look inside them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --workspace --bins --quiet
snap_bin="$PWD/target/debug/snap"
work=$(mktemp -d /tmp/snap-demo.XXXXXX)
trap 'umount "$work/mnt" 2>/dev/null || true; rm -rf "$work"' EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step snap version
"$snap_bin" version

step snap pack demo/snaps/hello "$work"
"$snap_bin" pack demo/snaps/hello "$work"
snap_file=$(ls "$work"/*.snap)

step "snap pack (again, to show the output is reproducible)"
mkdir "$work/again"
"$snap_bin" pack demo/snaps/hello "$work/again" >/dev/null
sha384sum "$snap_file" "$work/again/"*.snap

step unsquashfs -lln "$snap_file"
unsquashfs -lln "$snap_file"

step "mount -t squashfs -o loop,ro $(basename "$snap_file") && run its app"
mkdir "$work/mnt"
mount -t squashfs -o loop,ro "$snap_file" "$work/mnt"
"$work/mnt/bin/hello"
umount "$work/mnt"

step "snap pack of a broken tree is refused"
cp -r demo/snaps/hello "$work/broken"
ln -s ../../../etc/shadow "$work/broken/meta/escape"
"$snap_bin" pack "$work/broken" "$work" || true
