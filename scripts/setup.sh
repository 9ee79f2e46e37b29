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
    dbus-daemon      # a private message bus for the D-Bus API tests (not the system bus service)
    libglib2.0-bin   # gdbus: the D-Bus client the API tests drive the daemon with
    tmux             # drives the terminal settings UI in its tests (send-keys, capture-pane)
    nginx-light      # serves static store repositories in tests (ETag, Range); each test starts
                     # its own nginx as a child on a free loopback port, never the system service
    dosfstools       # snap-image: mkfs.vfat for vfat structures; fsck.fat checks them in tests
    mtools           # snap-image: fills vfat structures without mounting (mmd, mcopy); tests read back
    e2fsprogs        # snap-image: mkfs.ext4 -d and debugfs for ext4 structures; e2fsck in tests
    fdisk            # sfdisk --json: the image tests check partition tables with it
    systemd          # systemd-analyze verify checks the generated service units (snapd depends on
                     # it anyway; installing the package does not make it PID 1)
    binutils         # objcopy strips the daemon for the boot test's device initramfs
    zstd             # snapshot-bench compares snapshots with `tar --zstd`, which runs the zstd CLI
    qemu-system-x86  # tests/tests/qemu_device.rs boots built images (q35, software emulation)
    ovmf             # the EFI firmware those boots use (OVMF_CODE_4M.fd / OVMF_VARS_4M.fd)
    grub-efi-amd64-bin  # grub's x86_64-efi modules: the boot test's gadget ships grub for EFI
    grub-common      # grub-mkimage, which builds that grub binary
    linux-image-amd64   # Debian's kernel (/boot/vmlinuz-*): the boot test's kernel snap
    u-boot-qemu      # U-Boot for QEMU (qemu-x86/u-boot.rom): tests/tests/uboot_boot.rs runs the
                     # U-Boot try-boot script in it
    u-boot-tools     # mkimage/dumpimage and mkenvimage: oracles for boot.scr and uboot.env
    libubootenv-tool # fw_printenv -c: reads our uboot.env as U-Boot's own user-space tool does
    qemu-system-arm  # qemu-system-aarch64: the arm64 U-Boot (qemu_arm64) runs the booti variant
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
