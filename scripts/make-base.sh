#!/usr/bin/env bash
# Makes the tree of a small but real base snap in DIR: busybox (Debian's busybox-static) for
# /bin/sh and the usual tools, and the host's C library and loader so that dynamically linked
# programs shipped by app snaps run on it. Pack the result with `snap pack DIR`.
#
# usage: scripts/make-base.sh DIR NAME [BINARY...]
#   BINARY: programs whose shared libraries the base must also carry (found with ldd).
set -euo pipefail
dir=${1:?usage: make-base.sh DIR NAME [BINARY...]}
name=${2:?usage: make-base.sh DIR NAME [BINARY...]}
shift 2
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "make-base: $busybox is missing (apt-get install busybox-static)" >&2; exit 1; }

mkdir -p "$dir"/meta
# The directories the sandbox mounts host and snap paths onto must exist in the base.
for d in bin sbin usr/bin usr/sbin usr/lib usr/lib/snapd lib lib64 etc dev proc sys run tmp home \
    root snap var/snap var/lib/snapd var/tmp var/log media mnt; do
    mkdir -p "$dir/$d"
done
# The launcher binds its own directory on /usr/lib/snapd, with snapctl in it.
ln -sfn ../lib/snapd/snapctl "$dir/usr/bin/snapctl"
cat > "$dir/meta/snap.yaml" <<YAML
name: $name
version: "1"
type: base
summary: A small base built from busybox and the host's C library
description: |
  Made by scripts/make-base.sh for tests and the demo.
YAML
printf 'ID=%s\nNAME="%s"\nVERSION_ID="1"\n' "$name" "$name" > "$dir/etc/os-release"

install -m 0755 "$busybox" "$dir/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
done

# Shared libraries: the C library and its loader always, and whatever the given binaries need.
copy_lib() {
    local lib=$1
    [ -e "$lib" ] || return 0
    mkdir -p "$dir$(dirname "$lib")"
    cp -L "$lib" "$dir$lib"
}
# The absolute paths in `ldd` output: `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)` gives
# the third field, the loader's `/lib64/ld-linux-x86-64.so.2 (0x...)` the first (both when the
# loader is printed with `=>` too); `linux-vdso.so.1 (0x...)` and `=> not found` give nothing.
# Plain POSIX awk: mawk (Debian's default awk) has no `\s`.
libc_of() {
    ldd "$1" 2>/dev/null | awk -v bin="$1" '
        $2 == "=>" && $3 ~ /^\// { print $3 }
        $2 == "=>" && $3 == "not" { print "make-base: " $1 " (needed by " bin ") not found" > "/dev/stderr" }
        $1 ~ /^\// { print $1 }
    ' | sort -u
}
for lib in $(libc_of /usr/bin/true); do copy_lib "$lib"; done
# What programs built with Rust need besides the C library: snapctl runs in every sandbox.
libdir=$(dirname "$(libc_of /usr/bin/true | grep '/libc\.so' | head -n1)")
for lib in libgcc_s.so.1 libm.so.6; do copy_lib "$libdir/$lib"; done
for bin in "$@"; do
    for lib in $(libc_of "$bin"); do copy_lib "$lib"; done
done
