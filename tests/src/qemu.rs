//! Booting disk images in QEMU for the boot tests: a newc initramfs written here (busybox and
//! an `/init` script, with `/dev/console` as a node, so no root or mknod is needed), the
//! Debian kernel, grub's EFI binary, OVMF, one bounded boot with its serial console kept, and
//! reading and writing files of a vfat partition inside an image with mtools.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One entry of a newc ("070701") cpio archive.
pub enum CpioEntry<'a> {
    Dir(&'a str),
    File(&'a str, u32, &'a [u8]),
    Symlink(&'a str, &'a str),
    CharDev(&'a str, u32, u32),
}

/// A newc cpio archive (what the kernel unpacks as an initramfs), entries in the order given
/// (parents first), every file root's, time 0.
pub fn newc_archive(entries: &[CpioEntry<'_>]) -> Vec<u8> {
    fn pad4(out: &mut Vec<u8>) {
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }
    fn entry(out: &mut Vec<u8>, ino: u32, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        let fields = [
            ino,
            mode,
            0,
            0,
            1,
            0,
            data.len() as u32,
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() as u32 + 1,
            0,
        ];
        out.extend_from_slice(b"070701");
        for f in fields {
            out.extend_from_slice(format!("{f:08X}").as_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        pad4(out);
        out.extend_from_slice(data);
        pad4(out);
    }
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let ino = i as u32 + 1;
        match e {
            CpioEntry::Dir(p) => entry(&mut out, ino, p, 0o040_755, (0, 0), &[]),
            CpioEntry::File(p, mode, data) => {
                entry(&mut out, ino, p, 0o100_000 | mode, (0, 0), data)
            }
            CpioEntry::Symlink(p, target) => {
                entry(&mut out, ino, p, 0o120_777, (0, 0), target.as_bytes())
            }
            CpioEntry::CharDev(p, major, minor) => {
                entry(&mut out, ino, p, 0o020_600, (*major, *minor), &[])
            }
        }
    }
    entry(&mut out, 0, "TRAILER!!!", 0, (0, 0), &[]);
    out
}

/// The static busybox of busybox-static.
pub fn busybox() -> PathBuf {
    ["/usr/bin/busybox", "/bin/busybox"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("busybox-static is not installed (scripts/setup.sh)")
}

/// An initramfs of busybox and `init_script` as `/init` (run by busybox's sh). It needs
/// nothing from a root filesystem.
pub fn busybox_initramfs(init_script: &str) -> Vec<u8> {
    let bb = fs::read(busybox()).expect("read busybox");
    let init = format!("#!/bin/busybox sh\n{init_script}");
    newc_archive(&[
        CpioEntry::Dir("bin"),
        CpioEntry::File("bin/busybox", 0o755, &bb),
        CpioEntry::Symlink("bin/sh", "busybox"),
        CpioEntry::Dir("dev"),
        CpioEntry::CharDev("dev/console", 5, 1),
        CpioEntry::Dir("proc"),
        CpioEntry::Dir("sys"),
        CpioEntry::File("init", 0o755, init.as_bytes()),
    ])
}

/// The newest `/boot/vmlinuz-*` (Debian's linux-image-amd64).
pub fn debian_kernel() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir("/boot")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("vmlinuz-"))
        })
        .collect();
    found.sort();
    found.pop()
}

/// Writes a kernel snap tree at `tree` from Debian's kernel `vmlinuz` (`/boot/vmlinuz-VER`):
/// `kernel.img`, an `initrd.img` whose `/init` is `init_script`, `modules/VER/` with the
/// module indexes of `/lib/modules/VER` (the modules themselves are not needed to boot the
/// initramfs), `meta/snap.yaml` (`pc-kernel`, amd64) and an empty `meta/kernel.yaml`.
pub fn debian_kernel_snap_tree(tree: &Path, vmlinuz: &Path, init_script: &str) {
    kernel_snap_tree_with_initrd(tree, vmlinuz, &busybox_initramfs(init_script));
}

/// As [`debian_kernel_snap_tree`], with `initrd` (any initramfs the kernel can unpack) as
/// `initrd.img`.
pub fn kernel_snap_tree_with_initrd(tree: &Path, vmlinuz: &Path, initrd: &[u8]) {
    let put = |rel: &str, data: &[u8]| {
        let p = tree.join(rel);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(&p, data).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    };
    put(
        "meta/snap.yaml",
        b"name: pc-kernel\nversion: '6.1'\ntype: kernel\narchitectures: [amd64]\nsummary: Debian's kernel\n",
    );
    put("meta/kernel.yaml", b"assets: {}\n");
    put("kernel.img", &fs::read(vmlinuz).expect("read the kernel"));
    put("initrd.img", initrd);
    let version = vmlinuz
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("vmlinuz-"))
        .expect("a /boot/vmlinuz-VERSION file");
    fs::create_dir_all(tree.join("modules").join(version)).expect("mkdir modules");
    for index in ["modules.order", "modules.builtin"] {
        if let Ok(data) = fs::read(Path::new("/lib/modules").join(version).join(index)) {
            put(&format!("modules/{version}/{index}"), &data);
        }
    }
}

/// grub for x86_64 EFI (grub-efi-amd64-bin) with its prefix at `/EFI/ubuntu` on the partition
/// it was loaded from, and the modules the try-boot grub.cfg uses.
pub fn grub_efi_image(out: &Path) {
    let status = Command::new("grub-mkimage")
        .args(["-O", "x86_64-efi", "-p", "/EFI/ubuntu", "-o"])
        .arg(out)
        .args([
            "part_gpt",
            "fat",
            "ext2",
            "normal",
            "boot",
            "linux",
            "loadenv",
            "test",
            "echo",
            "configfile",
            "search",
            "all_video",
            "efi_gop",
        ])
        .status()
        .expect("run grub-mkimage (grub-common, grub-efi-amd64-bin)");
    assert!(status.success(), "grub-mkimage failed");
}

/// OVMF's 4 MiB code and variable-store templates.
pub fn ovmf() -> Option<(PathBuf, PathBuf)> {
    let code = PathBuf::from("/usr/share/OVMF/OVMF_CODE_4M.fd");
    let vars = PathBuf::from("/usr/share/OVMF/OVMF_VARS_4M.fd");
    (code.exists() && vars.exists()).then_some((code, vars))
}

/// What one boot did.
pub struct Boot {
    /// The serial console (and QEMU's own messages).
    pub console: String,
    pub elapsed: Duration,
    /// QEMU was killed at the limit rather than exiting by itself.
    pub timed_out: bool,
}

impl Boot {
    /// The console, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "boot took {:.1} s{}; console:\n{}",
            self.elapsed.as_secs_f64(),
            if self.timed_out {
                " (killed at the limit)"
            } else {
                ""
            },
            self.console
        )
    }
}

/// The accelerator: software emulation unless `SNAP_TEST_QEMU_ACCEL` says otherwise (`kvm`).
pub fn accel() -> String {
    std::env::var("SNAP_TEST_QEMU_ACCEL").unwrap_or_else(|_| "tcg".into())
}

/// `qemu-system-x86_64` for a q35 machine with `memory` MiB booting `image` (the first
/// drive, on the default interface) through OVMF with the variable store `vars`: no
/// display, no network, the serial console on stdout, `-no-reboot`. More drives can be
/// added to the command.
pub fn efi_machine(image: &Path, vars: &Path, memory: &str) -> Command {
    let (code, _) = ovmf().expect("OVMF is not installed (scripts/setup.sh)");
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args([
        "-machine",
        "q35",
        "-accel",
        &accel(),
        "-m",
        memory,
        "-nographic",
    ])
    .args(["-monitor", "none", "-net", "none", "-no-reboot"])
    .arg("-drive")
    .arg(format!(
        "if=pflash,format=raw,readonly=on,file={}",
        code.display()
    ))
    .arg("-drive")
    .arg(format!("if=pflash,format=raw,file={}", vars.display()))
    .arg("-drive")
    .arg(format!("file={},format=raw", image.display()));
    cmd
}

/// Runs one QEMU machine to its end (it must print its serial console on stdout), killing
/// it after `limit`; what it printed and how long it took.
pub fn run_qemu(cmd: Command, limit: Duration) -> Boot {
    run_bounded(cmd, limit, None)
}

/// Builds the image of a model of `gadget`, `kernel` and `base` (packed snaps) with
/// `snap-image` into `work/out`; the path of the volume named `volume`'s image.
pub fn build_image(
    work: &Path,
    volume: &str,
    gadget: &Path,
    kernel: &Path,
    base: &Path,
) -> PathBuf {
    let model = work.join("model.yaml");
    fs::write(
        &model,
        format!(
            "name: qemu-{volume}\narchitecture: amd64\nsnaps:\n  gadget: {}\n  kernel: {}\n  base: {}\n",
            gadget.display(),
            kernel.display(),
            base.display()
        ),
    )
    .expect("write the model");
    let out = work.join("out");
    crate::ok(&crate::output_within(
        Command::new(crate::bin("snap-image"))
            .arg(&model)
            .arg("-o")
            .arg(&out),
        Duration::from_secs(300),
    ));
    out.join(format!("{volume}.img"))
}

/// The byte offset of partition `number` (1-based) of `image`, from `sfdisk --json`.
pub fn partition_offset(image: &Path, number: usize) -> u64 {
    let out = Command::new("sfdisk")
        .arg("--json")
        .arg(image)
        .output()
        .expect("run sfdisk");
    assert!(out.status.success(), "sfdisk --json failed");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sfdisk json");
    let table = &v["partitiontable"];
    let sector = table["sectorsize"].as_u64().unwrap_or(512);
    table["partitions"][number - 1]["start"]
        .as_u64()
        .expect("partition start")
        * sector
}

fn mtools(tool: &str, image: &Path, offset: u64) -> Command {
    let mut c = Command::new(tool);
    c.env("MTOOLS_SKIP_CHECK", "1")
        .arg("-i")
        .arg(format!("{}@@{offset}", image.display()));
    c
}

/// Reads `path` (e.g. `/EFI/ubuntu/grubenv`) of the vfat filesystem at `offset` in `image`.
pub fn fat_read(image: &Path, offset: u64, path: &str) -> Vec<u8> {
    let out = mtools("mcopy", image, offset)
        .arg(format!("::{path}"))
        .arg("-")
        .output()
        .expect("run mcopy");
    assert!(
        out.status.success(),
        "mcopy {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Writes `data` as `path` (its directory must exist) of the vfat filesystem at `offset`,
/// replacing a file there.
pub fn fat_write(image: &Path, offset: u64, path: &str, data: &[u8]) {
    let tmp = tempfile::NamedTempFile::new().expect("tmp");
    fs::write(tmp.path(), data).expect("write tmp");
    let out = mtools("mcopy", image, offset)
        .arg("-o")
        .arg(tmp.path())
        .arg(format!("::{path}"))
        .output()
        .expect("run mcopy");
    assert!(
        out.status.success(),
        "mcopy to {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes the directory `path` of the vfat filesystem at `offset`.
pub fn fat_mkdir(image: &Path, offset: u64, path: &str) {
    let out = mtools("mmd", image, offset)
        .arg(format!("::{path}"))
        .output()
        .expect("run mmd");
    assert!(
        out.status.success(),
        "mmd {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// U-Boot as the firmware (tests/tests/uboot_boot.rs).
// ---------------------------------------------------------------------------------------------

/// Debian's U-Boot for QEMU's PC machine, the 32-bit build (u-boot-qemu). The 64-bit build
/// (`qemu-x86_64/u-boot.rom`) resets the machine as soon as `zboot` jumps to the kernel.
pub fn uboot_x86_rom() -> Option<PathBuf> {
    let rom = PathBuf::from("/usr/lib/u-boot/qemu-x86/u-boot.rom");
    rom.exists().then_some(rom)
}

/// Debian's U-Boot for QEMU's arm64 `virt` machine (u-boot-qemu).
pub fn uboot_arm64_bin() -> Option<PathBuf> {
    let bin = PathBuf::from("/usr/lib/u-boot/qemu_arm64/u-boot.bin");
    bin.exists().then_some(bin)
}

/// Boots `image` as a virtio disk (read-only to the guest with `readonly`, so U-Boot's writes
/// fail) with U-Boot's ROM as the PC's firmware, the serial console on stdout, `-no-reboot` so
/// a reset ends the run. QEMU is killed after `limit` (`timed_out`), or as soon as the console
/// shows `stop_at` (U-Boot waits at its prompt when nothing booted).
pub fn boot_uboot(image: &Path, readonly: bool, limit: Duration, stop_at: Option<&str>) -> Boot {
    let mut cmd = uboot_machine("512");
    cmd.arg("-drive").arg(format!(
        "if=virtio,file={},format=raw{}",
        image.display(),
        if readonly { ",readonly=on" } else { "" }
    ));
    run_bounded(cmd, limit, stop_at)
}

/// `qemu-system-x86_64` with U-Boot's ROM as the PC's firmware and `memory` MiB, no display,
/// no network, the serial console on stdout, `-no-reboot`; add the disks (`-drive
/// if=virtio,...`: U-Boot and the kernel see them as virtio block devices, in order).
pub fn uboot_machine(memory: &str) -> Command {
    let rom = uboot_x86_rom().expect("U-Boot for QEMU is not installed (scripts/setup.sh)");
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.arg("-bios")
        .arg(&rom)
        .args(["-accel", &accel(), "-m", memory, "-nographic"])
        .args(["-monitor", "none", "-net", "none", "-no-reboot"]);
    cmd
}

/// [`run_qemu`], also stopped as soon as the console shows `stop_at` (U-Boot waits at its
/// prompt when nothing booted).
pub fn run_qemu_until(cmd: Command, limit: Duration, stop_at: &str) -> Boot {
    run_bounded(cmd, limit, Some(stop_at))
}

/// [`boot_uboot`] on QEMU's arm64 `virt` machine (cortex-a57, software emulation), the disk
/// as a virtio-mmio block device.
pub fn boot_uboot_arm64(image: &Path, limit: Duration, stop_at: Option<&str>) -> Boot {
    let bin = uboot_arm64_bin().expect("U-Boot for QEMU is not installed (scripts/setup.sh)");
    let mut cmd = Command::new("qemu-system-aarch64");
    cmd.args(["-machine", "virt", "-cpu", "cortex-a57", "-m", "512"])
        .arg("-bios")
        .arg(&bin)
        .args([
            "-nographic",
            "-monitor",
            "none",
            "-net",
            "none",
            "-no-reboot",
        ])
        .arg("-drive")
        .arg(format!(
            "if=none,id=disk,file={},format=raw",
            image.display()
        ))
        .args(["-device", "virtio-blk-device,drive=disk"]);
    run_bounded(cmd, limit, stop_at)
}

/// Runs QEMU with its console captured, killed after `limit` or once the console shows
/// `stop_at`.
fn run_bounded(mut cmd: Command, limit: Duration, stop_at: Option<&str>) -> Boot {
    use std::sync::{Arc, Mutex};
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} (qemu-system-x86, qemu-system-arm): {e}"));
    let console = Arc::new(Mutex::new(Vec::new()));
    let mut out = child.stdout.take().expect("stdout");
    let sink = Arc::clone(&console);
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().expect("console").extend_from_slice(&buf[..n]);
        }
    });
    let mut err = child.stderr.take().expect("stderr");
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let mut timed_out = false;
    loop {
        if child.try_wait().expect("wait for qemu").is_some() {
            break;
        }
        let stop = stop_at.is_some_and(|s| {
            String::from_utf8_lossy(&console.lock().expect("console")).contains(s)
        });
        if stop || start.elapsed() > limit {
            timed_out = !stop;
            // Our own child, by its pid.
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let elapsed = start.elapsed();
    reader.join().expect("reader");
    let mut console = String::from_utf8_lossy(&console.lock().expect("console")).into_owned();
    let stderr = err_reader.join().expect("reader");
    if !stderr.is_empty() {
        console.push_str("\n[qemu stderr]\n");
        console.push_str(&String::from_utf8_lossy(&stderr));
    }
    Boot {
        console,
        elapsed,
        timed_out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newc_layout() {
        let a = newc_archive(&[CpioEntry::File("init", 0o755, b"hi")]);
        // Header (110) + "init\0" padded to 116, data padded to 120, then the trailer.
        assert_eq!(&a[..6], b"070701");
        assert_eq!(&a[14..22], b"000081ED");
        assert_eq!(&a[54..62], b"00000002");
        assert_eq!(&a[110..115], b"init\0");
        assert_eq!(&a[116..118], b"hi");
        assert_eq!(&a[120..126], b"070701");
        assert!(a.ends_with(b"TRAILER!!!\0\0\0\0"));
        assert_eq!(a.len() % 4, 0);
    }
}
