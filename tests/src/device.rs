//! A device initramfs for the boot tests that run the real daemon inside QEMU: busybox, the
//! project's own `snapd` and `snap` (debug information stripped) with the C libraries they
//! link, the kernel modules a device needs to reach its disks and mount snaps (with their
//! dependencies, in load order), and an `/init` script. Compressed with zstd, which Debian's
//! kernel unpacks (`CONFIG_RD_ZSTD`).

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::qemu::{CpioEntry, busybox, newc_archive};

/// The modules a device needs to reach its disks on QEMU's PC with OVMF (AHCI: `/dev/sdX`).
pub const AHCI_DISK_MODULES: &[&str] = &["ahci", "sd_mod"];
/// The same with virtio disks (`/dev/vdX`), as U-Boot's machine has.
pub const VIRTIO_DISK_MODULES: &[&str] = &["virtio_pci", "virtio_blk"];
/// What the daemon and the /init need besides the disks: ext4 (`writable`, with the crc32c
/// its metadata checksums ask for, which no modprobe would load here), vfat with the code
/// pages Debian's kernel defaults to (the boot partition, the operator's stick), and loop
/// and squashfs (snaps).
pub const SNAP_DEVICE_MODULES: &[&str] = &[
    "crc32c_generic",
    "ext4",
    "vfat",
    "nls_cp437",
    "nls_ascii",
    "nls_utf8",
    "loop",
    "squashfs",
];

/// Where the initramfs keeps the module load order (paths under `/lib/modules/VERSION`).
pub const MODULES_ORDER: &str = "etc/modules.order";

/// The kernel version of Debian's `/boot/vmlinuz-VERSION`.
pub fn kernel_version(vmlinuz: &Path) -> String {
    vmlinuz
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("vmlinuz-"))
        .expect("a /boot/vmlinuz-VERSION file")
        .to_owned()
}

/// The module files (relative to `/lib/modules/VERSION`) that loading `names` takes, every
/// dependency before its users, from the kernel's `modules.dep`.
pub fn modules_in_load_order(version: &str, names: &[&str]) -> Vec<String> {
    let dep_file = Path::new("/lib/modules").join(version).join("modules.dep");
    let text = fs::read_to_string(&dep_file)
        .unwrap_or_else(|e| panic!("read {}: {e}", dep_file.display()));
    let deps = parse_modules_dep(&text);
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    for name in names {
        let path = deps
            .iter()
            .find(|(p, _)| module_name(p) == name.replace('-', "_"))
            .map(|(p, _)| p.clone())
            .unwrap_or_else(|| panic!("no module {name} in {}", dep_file.display()));
        visit(&deps, &path, &mut seen, &mut order);
    }
    order
}

fn visit(
    deps: &[(String, Vec<String>)],
    path: &str,
    seen: &mut BTreeSet<String>,
    order: &mut Vec<String>,
) {
    if !seen.insert(path.to_owned()) {
        return;
    }
    if let Some((_, needs)) = deps.iter().find(|(p, _)| p == path) {
        for n in needs {
            visit(deps, n, seen, order);
        }
    }
    order.push(path.to_owned());
}

/// `modules.dep`: `kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko ...` per line.
fn parse_modules_dep(text: &str) -> Vec<(String, Vec<String>)> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(m, d)| {
            (
                m.trim().to_owned(),
                d.split_whitespace().map(str::to_owned).collect(),
            )
        })
        .collect()
}

/// `kernel/fs/nls/nls_cp437.ko` → `nls_cp437` (the kernel writes `-` in names as `_`).
fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.split('.').next().unwrap_or(file).replace('-', "_")
}

/// The shared libraries `program` loads (the dynamic loader included), from `ldd`.
pub fn shared_libraries(program: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd").arg(program).output().expect("run ldd");
    assert!(out.status.success(), "ldd {}", program.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
            // "/lib64/ld-linux-x86-64.so.2 (0x...)"; the vDSO has no file.
            let path = l.split("=>").last()?.split_whitespace().next()?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// `program` without its debug information (the debug build's binaries are mostly that).
pub fn stripped(program: &Path) -> Vec<u8> {
    let tmp = tempfile::NamedTempFile::new().expect("tmp");
    let st = Command::new("objcopy")
        .arg("--strip-debug")
        .arg(program)
        .arg(tmp.path())
        .status()
        .expect("run objcopy (binutils)");
    assert!(st.success(), "objcopy --strip-debug {}", program.display());
    fs::read(tmp.path()).expect("read the stripped program")
}

/// What goes into a device initramfs besides busybox.
pub struct DeviceInitramfs<'a> {
    /// Programs installed as `/bin/NAME`, with the libraries they link.
    pub programs: &'a [(&'a str, &'a Path)],
    /// The kernel the modules are for.
    pub kernel_version: &'a str,
    /// Modules to load at boot (dependencies are added); their files in load order are
    /// listed in [`MODULES_ORDER`].
    pub modules: &'a [&'a str],
    /// The `/init` script, run by busybox's sh.
    pub init: &'a str,
}

impl DeviceInitramfs<'_> {
    /// The zstd-compressed newc archive.
    pub fn build(&self) -> Vec<u8> {
        // Every file with its parents; BTreeSet keeps parents before children.
        let mut dirs: BTreeSet<String> = ["bin", "dev", "etc", "proc", "run", "sys", "tmp"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        let mut files: Vec<(String, u32, Vec<u8>)> = Vec::new();
        let add_parents = |dirs: &mut BTreeSet<String>, path: &str| {
            let mut p = Path::new(path).parent();
            while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
                dirs.insert(d.display().to_string());
                p = d.parent();
            }
        };
        files.push((
            "bin/busybox".into(),
            0o755,
            fs::read(busybox()).expect("busybox"),
        ));
        let mut libs = BTreeSet::new();
        for (name, path) in self.programs {
            files.push((format!("bin/{name}"), 0o755, stripped(path)));
            libs.extend(shared_libraries(path));
        }
        for lib in libs {
            let rel = lib
                .strip_prefix("/")
                .expect("absolute")
                .display()
                .to_string();
            add_parents(&mut dirs, &rel);
            let data = fs::read(&lib).unwrap_or_else(|e| panic!("read {}: {e}", lib.display()));
            files.push((rel, 0o755, data));
        }
        let modules = modules_in_load_order(self.kernel_version, self.modules);
        let module_root = format!("lib/modules/{}", self.kernel_version);
        for m in &modules {
            let rel = format!("{module_root}/{m}");
            add_parents(&mut dirs, &rel);
            let data =
                fs::read(Path::new("/").join(&rel)).unwrap_or_else(|e| panic!("read /{rel}: {e}"));
            files.push((rel, 0o644, data));
        }
        let order: String = modules
            .iter()
            .map(|m| format!("/{module_root}/{m}\n"))
            .collect();
        files.push((MODULES_ORDER.into(), 0o644, order.into_bytes()));
        files.push((
            "init".into(),
            0o755,
            format!("#!/bin/busybox sh\n{}", self.init).into_bytes(),
        ));

        let mut entries: Vec<CpioEntry<'_>> = dirs.iter().map(|d| CpioEntry::Dir(d)).collect();
        entries.push(CpioEntry::Symlink("bin/sh", "busybox"));
        entries.push(CpioEntry::CharDev("dev/console", 5, 1));
        for (path, mode, data) in &files {
            entries.push(CpioEntry::File(path, *mode, data));
        }
        zstd(&newc_archive(&entries))
    }
}

/// Every line a device's /init ([`device_init`]) prints starts with this.
pub const SAY: &str = "SNAP-DEVICE";

/// Where a device's /init finds its disks and its boot files.
pub struct DeviceDisks<'a> {
    /// The image's boot partition (vfat) and `writable` (ext4): `/dev/sda1`, `/dev/sda2` on
    /// an AHCI machine, `/dev/vda1`, `/dev/vda2` with virtio.
    pub boot_part: &'a str,
    pub writable_part: &'a str,
    /// The operator's stick (vfat, no partition table), holding `run.sh`.
    pub job_disk: &'a str,
    /// Where the boot partition is mounted.
    pub boot_mount: &'a str,
    /// The daemon's boot directory (`SNAPD_BOOT_DIR`): grub's prefix on the ESP, or the U-Boot
    /// boot partition itself.
    pub boot_dir: &'a str,
}

/// A device's /init: what an Ubuntu Core initramfs and init system do for snapd, reduced to
/// what the boot tests need: mounts proc, sys, devtmpfs, /run, /tmp and cgroup2, loads the
/// modules of [`MODULES_ORDER`], prints `SNAP-DEVICE booted: <cmdline>`, mounts the image's
/// partitions and the base named by `snap_core=` (refusing to go on, and so panicking the
/// kernel, when it cannot be mounted or has no os-release), starts `snapd` on `writable`
/// with the boot directory, runs the job disk's `run.sh`, reports `snap list --all` and
/// `snap changes`, stops the daemon and reboots when it asked for a reboot, else powers off.
pub fn device_init(d: &DeviceDisks<'_>) -> String {
    let DeviceDisks {
        boot_part,
        writable_part,
        job_disk,
        boot_mount,
        boot_dir,
    } = d;
    format!(
        r#"PATH=/bin
export PATH
/bin/busybox --install -s /bin
say() {{ echo "{SAY} $*"; }}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /sys/fs/cgroup
mount -t cgroup2 cgroup2 /sys/fs/cgroup
for m in $(cat /{MODULES_ORDER}); do insmod "$m" || say "cannot load $m"; done
say "booted: $(cat /proc/cmdline)"
n=0
while [ ! -b {writable_part} ] && [ $n -lt 1200 ]; do sleep 0.1; n=$((n + 1)); done
mkdir -p /writable {boot_mount} /job
if ! mount -t ext4 {writable_part} /writable || ! mount -t vfat {boot_part} {boot_mount}; then
    say "FAILED: cannot mount the image's partitions"
    poweroff -f
fi
# The base the bootloader chose, as an Ubuntu Core initramfs mounts it (from the seed on
# the first boot): one that cannot be mounted or has no os-release does not boot.
base=$(sed -n 's/.* snap_core=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$base" ]; then
    file=/writable/system-data/var/lib/snapd/snaps/$base
    [ -f "$file" ] || file=/writable/system-data/var/lib/snapd/seed/snaps/$base
    mkdir -p /base
    if ! mount -t squashfs -o ro,loop "$file" /base || [ ! -f /base/usr/lib/os-release ]; then
        say "the base $base is not usable"
        exit 1
    fi
    say "base $base: $(head -n 1 /base/usr/lib/os-release)"
fi
n=0
while [ ! -b {job_disk} ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
[ -b {job_disk} ] && mount -t vfat -o ro {job_disk} /job
export SNAPPY_GLOBAL_ROOT=/writable/system-data SNAPD_BOOT_DIR={boot_dir}
# The daemon asks this init for the reboot a try needs; the init reboots once its work is
# done (an init system would stop its services first, as below).
export SNAPD_REBOOT_COMMAND="touch /run/reboot-requested" SNAPD_REBOOT_DELAY_MS=0
snapd >/run/snapd.log 2>&1 &
snapd_pid=$!
if timeout 240 snap wait system seed.loaded; then say "seeded"; else say "FAILED: not seeded"; fi
if [ -f /job/run.sh ]; then
    say "job begin"
    # Through a pipe: progress as plain lines, not a spinner redrawn on the console.
    sh /job/run.sh 2>&1 | cat
    say "job end"
fi
say "report begin"
snap list --all 2>&1
snap changes 2>&1
say "report end"
action=poweroff
[ -e /run/reboot-requested ] && action=reboot
kill -TERM $snapd_pid
wait $snapd_pid
say "snapd exited with $?"
say "daemon log begin"
tail -n 40 /run/snapd.log
say "daemon log end"
sync
say "$action"
$action -f
"#
    )
}

/// What the initramfs of [`broken_kernel_snap`] prints before its /init exits.
pub const BROKEN_LINE: &str = "SNAP-TEST broken init";

/// An initramfs /init that prints [`BROKEN_LINE`] and exits: the kernel panics, and with
/// `panic=-1` the machine resets, as a kernel that cannot boot the device does.
pub fn broken_init() -> String {
    format!("echo \"{BROKEN_LINE}\"\nexit 1\n")
}

/// `work/pc-kernel-broken.snap`: Debian's kernel `vmlinuz` with a [`broken_init`] initramfs.
pub fn broken_kernel_snap(work: &Path, vmlinuz: &Path) -> PathBuf {
    let tree = work.join("broken");
    crate::qemu::debian_kernel_snap_tree(&tree, vmlinuz, &broken_init());
    let packed = crate::pack_tree(&tree, &work.join("snaps-broken"));
    let named = work.join("pc-kernel-broken.snap");
    fs::rename(&packed, &named).expect("rename the broken kernel snap");
    named
}

/// The boots of one device in a test: each timed, its console kept as
/// `SNAP_TEST_BOOT_LOG_DIR/<name>-<n>.log` when that is set, and checked.
pub struct DeviceBoots {
    name: &'static str,
    boots: Vec<(String, std::time::Duration)>,
}

impl DeviceBoots {
    pub fn new(name: &'static str) -> DeviceBoots {
        DeviceBoots {
            name,
            boots: Vec::new(),
        }
    }

    /// Records boot `what`; fails the test if it hung or the device's /init said
    /// `SNAP-DEVICE FAILED`. Its console.
    pub fn record(&mut self, what: &str, b: crate::qemu::Boot) -> String {
        eprintln!("boot {what}: {:.1} s", b.elapsed.as_secs_f64());
        self.boots.push((what.to_owned(), b.elapsed));
        if let Some(dir) = std::env::var_os("SNAP_TEST_BOOT_LOG_DIR") {
            let file = format!("{}-{}.log", self.name, self.boots.len());
            fs::create_dir_all(&dir).expect("boot log dir");
            fs::write(Path::new(&dir).join(file), &b.console).expect("boot log");
        }
        assert!(!b.timed_out, "boot {what} hung: {}", b.describe());
        assert!(
            !b.console.contains(&format!("{SAY} FAILED")),
            "boot {what}: {}",
            b.describe()
        );
        b.console
    }

    /// Every boot's time, for the test's output.
    pub fn summary(&self) -> String {
        let total: f64 = self.boots.iter().map(|(_, d)| d.as_secs_f64()).sum();
        format!(
            "boots ({}): {}; total {total:.1} s",
            crate::qemu::accel(),
            self.boots
                .iter()
                .map(|(w, d)| format!("{w}: {:.1} s", d.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// A kernel snap (`pc-kernel`, amd64) of Debian's kernel `vmlinuz` with `initrd` as its
/// initramfs, packed under `work`; `tag` is its version's suffix, which tells revisions
/// apart in `snap list`.
pub fn device_kernel_snap(work: &Path, tag: &str, vmlinuz: &Path, initrd: &[u8]) -> PathBuf {
    let tree = work.join(format!("kernel-{tag}"));
    crate::qemu::kernel_snap_tree_with_initrd(&tree, vmlinuz, initrd);
    fs::write(
        tree.join("meta/snap.yaml"),
        format!(
            "name: pc-kernel\nversion: '6.1-{tag}'\ntype: kernel\narchitectures: [amd64]\n\
             summary: Debian's kernel with the device's initramfs\n"
        ),
    )
    .expect("write snap.yaml");
    crate::pack_tree(&tree, &work.join(format!("snaps-{tag}")))
}

/// Writes the operator's stick `job` (a 128 MiB vfat disk): `run.sh` and the files it uses.
pub fn write_job_disk(job: &Path, script: &str, files: &[&Path]) {
    let _ = fs::remove_file(job);
    let st = Command::new("mkfs.vfat")
        .arg("-C")
        .arg(job)
        .arg("131072")
        .output()
        .expect("run mkfs.vfat");
    assert!(st.status.success(), "mkfs.vfat: {st:?}");
    crate::qemu::fat_write(job, 0, "/run.sh", script.as_bytes());
    for f in files {
        let name = f.file_name().unwrap().to_str().unwrap();
        crate::qemu::fat_write(job, 0, &format!("/{name}"), &fs::read(f).unwrap());
    }
}

/// The lines the device printed between `SNAP-DEVICE <from>` and `SNAP-DEVICE <to>`.
pub fn section<'a>(console: &'a str, from: &str, to: &str) -> &'a str {
    let begin = format!("{SAY} {from}");
    let end = format!("{SAY} {to}");
    let start = console
        .find(&begin)
        .unwrap_or_else(|| panic!("no {begin:?} on the console:\n{console}"))
        + begin.len();
    let stop = console[start..]
        .find(&end)
        .unwrap_or_else(|| panic!("no {end:?} on the console:\n{console}"));
    &console[start..start + stop]
}

/// The kernel file on the command line the device's /init printed.
pub fn booted_kernel(console: &str) -> String {
    let prefix = format!("{SAY} booted: ");
    let line = console
        .lines()
        .find_map(|l| l.split_once(&prefix).map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("the device's /init did not run:\n{console}"));
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("snap_kernel="))
        .unwrap_or_else(|| panic!("no snap_kernel= on {line:?}"))
        .to_owned()
}

/// The row of `snap list --all` for `snap`'s revision `rev`.
pub fn row_of<'a>(report: &'a str, snap: &str, rev: &str) -> Option<&'a str> {
    report.lines().find(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        cols.first() == Some(&snap) && cols.get(2) == Some(&rev)
    })
}

/// The id of the change that `Change N waits: reboot required to try the <what>` names
/// (`new kernel`, `reverted kernel`, `new base`, ...).
pub fn waiting_change(job: &str, what: &str) -> String {
    let waits = format!(" waits: reboot required to try the {what}");
    let line = job
        .lines()
        .find(|l| l.contains(&waits))
        .unwrap_or_else(|| panic!("no change waits to try the {what}:\n{job}"));
    line.trim()
        .strip_prefix("Change ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no change id in {line:?}"))
        .to_owned()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    let mut child = Command::new("zstd")
        .args(["-q", "-3", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run zstd");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("zstd");
    writer.join().expect("writer").expect("write to zstd");
    assert!(out.status.success(), "zstd failed");
    out.stdout
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_dep_in_load_order() {
        let deps = parse_modules_dep(
            "kernel/a/ext4.ko: kernel/b/jbd2.ko kernel/c/mbcache.ko\n\
             kernel/b/jbd2.ko: kernel/c/mbcache.ko\n\
             kernel/c/mbcache.ko:\n\
             kernel/d/nls-x.ko:\n",
        );
        let mut seen = BTreeSet::new();
        let mut order = Vec::new();
        visit(&deps, "kernel/a/ext4.ko", &mut seen, &mut order);
        assert_eq!(
            order,
            [
                "kernel/c/mbcache.ko",
                "kernel/b/jbd2.ko",
                "kernel/a/ext4.ko"
            ]
        );
        assert_eq!(module_name("kernel/d/nls-x.ko"), "nls_x");
    }
}
