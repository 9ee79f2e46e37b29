//! The daemon inside a booted device: an amd64 image built by `snap-image` (grub for EFI with
//! the try-boot grub.cfg, a kernel snap made from Debian's kernel, a small base) whose
//! kernel's initramfs carries busybox and the project's `snapd` and `snap`. Its `/init`
//! mounts the image's partitions, starts the daemon on the `writable` partition with the ESP
//! as its boot directory, waits with `snap wait system seed.loaded`, runs the operator's job
//! from a second disk (a vfat "USB stick" the test writes before each boot), reports
//! `snap list` and `snap changes` on the serial console, stops the daemon and reboots when a
//! change waits for one.
//!
//! Booted in `qemu-system-x86_64` (q35, OVMF, software emulation), every boot bounded:
//! 1. first boot: the daemon seeds the device; the job refreshes the kernel to a broken x2,
//!    which the daemon extracts and prepares as a try, then the device reboots;
//! 2. grub boots x2 once in trying mode; it panics;
//! 3. grub falls back to x1 by itself; the daemon, started on x1, finds the fallback and
//!    undoes the refresh (`snap watch` fails with the reason, x1 current, grubenv clean, x2's
//!    files gone); the job then refreshes to a working x3;
//! 4. x3 boots in trying mode and the daemon running on it confirms it;
//! 5.–8. the same for the boot base: the initramfs mounts the base named by `snap_core=`
//!    (from the seed on the first boot) and refuses one without an os-release; a refresh to
//!    such a base is tried once, fallen back from and undone, and a working one confirmed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gadget_kernel::boot;
use gadget_kernel::image::env::grubenv::GrubEnv;
use snap_tests::device::{DeviceInitramfs, kernel_version};
use snap_tests::qemu::*;
use snap_tests::*;

/// Every line the device's /init prints starts with this.
const SAY: &str = "SNAP-DEVICE";
const BROKEN_LINE: &str = "SNAP-TEST broken init";
/// A boot that runs the debug daemon under software emulation takes well under a minute on
/// an idle machine; the machine is shared, so allow much more before calling it hung.
const BOOT_LIMIT: Duration = Duration::from_secs(300);
const CMDLINE: &str = "console=ttyS0 panic=-1 loglevel=4";
const MODULES: &[&str] = &[
    "ahci",
    "sd_mod",
    "crc32c_generic",
    "ext4",
    "vfat",
    "nls_cp437",
    "nls_ascii",
    "nls_utf8",
    "loop",
    "squashfs",
];

const GADGET_YAML: &str = r#"volumes:
  pc:
    bootloader: grub
    structure:
      - name: system-boot
        role: system-boot
        filesystem: vfat
        filesystem-label: system-boot
        type: EF,C12A7328-F81F-11D2-BA4B-00A0C93EC93B
        size: 160M
        content:
          - source: grubx64.efi
            target: EFI/boot/bootx64.efi
          - source: grub.cfg
            target: EFI/ubuntu/grub.cfg
      - name: writable
        role: system-data
        filesystem: ext4
        filesystem-label: writable
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 320M
"#;

/// The device's /init: what an Ubuntu Core initramfs and init system do for snapd, reduced
/// to what this test needs.
const DEVICE_INIT: &str = r#"PATH=/bin
export PATH
/bin/busybox --install -s /bin
say() { echo "SNAP-DEVICE $*"; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /sys/fs/cgroup
mount -t cgroup2 cgroup2 /sys/fs/cgroup
for m in $(cat /etc/modules.order); do insmod "$m" || say "cannot load $m"; done
say "booted: $(cat /proc/cmdline)"
n=0
while [ ! -b /dev/sda2 ] && [ $n -lt 1200 ]; do sleep 0.1; n=$((n + 1)); done
mkdir -p /writable /boot/efi /job
if ! mount -t ext4 /dev/sda2 /writable || ! mount -t vfat /dev/sda1 /boot/efi; then
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
while [ ! -b /dev/sdb ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
[ -b /dev/sdb ] && mount -t vfat -o ro /dev/sdb /job
export SNAPPY_GLOBAL_ROOT=/writable/system-data SNAPD_BOOT_DIR=/boot/efi/EFI/ubuntu
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
if snap changes 2>/dev/null | grep -qw Wait; then action=reboot; fi
kill -TERM $snapd_pid
wait $snapd_pid
say "snapd exited with $?"
say "daemon log begin"
tail -n 40 /run/snapd.log
say "daemon log end"
sync
say "$action"
$action -f
"#;

fn broken_init() -> String {
    format!("echo \"{BROKEN_LINE}\"\nexit 1\n")
}

fn write(path: &Path, data: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

/// A kernel snap from Debian's kernel whose initramfs is the device's; `version` tells the
/// revisions apart in `snap list`.
fn device_kernel_snap(work: &Path, tag: &str, vmlinuz: &Path, initrd: &[u8]) -> PathBuf {
    let tree = work.join(format!("kernel-{tag}"));
    kernel_snap_tree_with_initrd(&tree, vmlinuz, initrd);
    write(
        &tree.join("meta/snap.yaml"),
        format!(
            "name: pc-kernel\nversion: '6.1-{tag}'\ntype: kernel\narchitectures: [amd64]\n\
             summary: Debian's kernel with the device's initramfs\n"
        )
        .as_bytes(),
    );
    pack_tree(&tree, &work.join(format!("snaps-{tag}")))
}

struct Device {
    image: PathBuf,
    vars: PathBuf,
    job: PathBuf,
    esp: u64,
    boots: Vec<(String, Duration)>,
}

impl Device {
    /// Writes the operator's stick: `run.sh` and the files it uses.
    fn job(&self, script: &str, files: &[&Path]) {
        let _ = fs::remove_file(&self.job);
        let st = Command::new("mkfs.vfat")
            .arg("-C")
            .arg(&self.job)
            .arg("131072")
            .output()
            .expect("run mkfs.vfat");
        assert!(st.status.success(), "mkfs.vfat: {st:?}");
        fat_write(&self.job, 0, "/run.sh", script.as_bytes());
        for f in files {
            let name = f.file_name().unwrap().to_str().unwrap();
            fat_write(&self.job, 0, &format!("/{name}"), &fs::read(f).unwrap());
        }
    }

    fn boot(&mut self, what: &str) -> String {
        let mut cmd = efi_machine(&self.image, &self.vars, "1024");
        cmd.arg("-drive")
            .arg(format!("file={},format=raw", self.job.display()));
        let b = run_qemu(&mut cmd, BOOT_LIMIT);
        eprintln!("boot {what}: {:.1} s", b.elapsed.as_secs_f64());
        self.boots.push((what.to_owned(), b.elapsed));
        if let Some(dir) = std::env::var_os("SNAP_TEST_BOOT_LOG_DIR") {
            let name = format!("device-boot-{}.log", self.boots.len());
            fs::create_dir_all(&dir).unwrap();
            fs::write(Path::new(&dir).join(name), &b.console).unwrap();
        }
        assert!(!b.timed_out, "boot {what} hung: {}", b.describe());
        assert!(
            !b.console.contains(&format!("{SAY} FAILED")),
            "boot {what}: {}",
            b.describe()
        );
        b.console
    }

    fn grubenv(&self) -> (String, String, String) {
        let bytes = fat_read(&self.image, self.esp, "/EFI/ubuntu/grubenv");
        let env = GrubEnv::parse(&bytes).expect("grubenv");
        let get = |k| env.get(k).unwrap_or("").to_owned();
        (
            get(boot::SNAP_KERNEL),
            get(boot::SNAP_TRY_KERNEL),
            get(boot::KERNEL_STATUS),
        )
    }

    /// `snap_core`, `snap_try_core`, `base_status`.
    fn base_env(&self) -> (String, String, String) {
        let bytes = fat_read(&self.image, self.esp, "/EFI/ubuntu/grubenv");
        let env = GrubEnv::parse(&bytes).expect("grubenv");
        let get = |k| env.get(k).unwrap_or("").to_owned();
        (
            get(boot::SNAP_CORE),
            get(boot::SNAP_TRY_CORE),
            get(boot::BASE_STATUS),
        )
    }

    /// Whether the ESP holds `dir` (a kernel's extracted boot files).
    fn esp_has(&self, dir: &str) -> bool {
        Command::new("mdir")
            .env("MTOOLS_SKIP_CHECK", "1")
            .arg("-i")
            .arg(format!("{}@@{}", self.image.display(), self.esp))
            .arg(format!("::/EFI/ubuntu/{dir}"))
            .output()
            .expect("run mdir")
            .status
            .success()
    }
}

/// The lines the device printed between `SNAP-DEVICE <from>` and `SNAP-DEVICE <to>`.
fn section<'a>(console: &'a str, from: &str, to: &str) -> &'a str {
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
fn booted_kernel(console: &str) -> String {
    let prefix = format!("{SAY} booted: ");
    let line = console
        .lines()
        .find_map(|l| l.split_once(&prefix).map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("the device's /init did not run:\n{console}"));
    boot::running_kernel(line)
        .unwrap_or_else(|| panic!("no snap_kernel= on {line:?}"))
        .to_owned()
}

/// The row of `snap list --all` for `snap`'s revision `rev`.
fn row_of<'a>(report: &'a str, snap: &str, rev: &str) -> Option<&'a str> {
    report.lines().find(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        cols.first() == Some(&snap) && cols.get(2) == Some(&rev)
    })
}

fn kernel_row<'a>(report: &'a str, rev: &str) -> Option<&'a str> {
    row_of(report, "pc-kernel", rev)
}

/// The id of the change that `Change N waits: reboot required to try the new <what>` names.
fn waiting_change(job: &str, what: &str) -> String {
    let waits = format!(" waits: reboot required to try the new {what}");
    let line = job
        .lines()
        .find(|l| l.contains(&waits))
        .unwrap_or_else(|| panic!("the refresh does not wait for a reboot:\n{job}"));
    line.trim()
        .strip_prefix("Change ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no change id in {line:?}"))
        .to_owned()
}

#[test]
fn the_daemon_in_a_booted_device_undoes_kernel_and_base_refreshes_that_fell_back() {
    if Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)");
        return;
    }
    let vmlinuz =
        debian_kernel().expect("no /boot/vmlinuz-*: run scripts/setup.sh (linux-image-amd64)");
    let (_, ovmf_vars) = ovmf().expect("no OVMF: run scripts/setup.sh (ovmf)");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();

    let version = kernel_version(&vmlinuz);
    let started = Instant::now();
    let device_initrd = DeviceInitramfs {
        programs: &[("snapd", &bin("snapd")), ("snap", &bin("snap"))],
        kernel_version: &version,
        modules: MODULES,
        init: DEVICE_INIT,
    }
    .build();
    eprintln!(
        "device initramfs: {:.1} MB in {:.1} s",
        device_initrd.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let gadget = w.join("gadget");
    write(
        &gadget.join("meta/snap.yaml"),
        b"name: pc\nversion: '1'\ntype: gadget\nbase: core22\nsummary: test pc gadget\n",
    );
    write(&gadget.join("meta/gadget.yaml"), GADGET_YAML.as_bytes());
    grub_efi_image(&gadget.join("grubx64.efi"));
    write(
        &gadget.join("grub.cfg"),
        boot::grubcfg::try_boot_grub_cfg(CMDLINE)
            .unwrap()
            .as_bytes(),
    );
    let gadget_snap = pack_tree(&gadget, &w.join("snaps"));
    let kernel_1 = device_kernel_snap(w, "1", &vmlinuz, &device_initrd);
    let base = base_snap(&w.join("snaps"), "core22");
    let model = w.join("model.yaml");
    fs::write(
        &model,
        format!(
            "name: qemu-pc\narchitecture: amd64\nsnaps:\n  gadget: {}\n  kernel: {}\n  base: {}\n",
            gadget_snap.display(),
            kernel_1.display(),
            base.display()
        ),
    )
    .unwrap();
    let out = w.join("out");
    ok(&output_within(
        Command::new(bin("snap-image"))
            .arg(&model)
            .arg("-o")
            .arg(&out),
        Duration::from_secs(300),
    ));
    let image = out.join("pc.img");
    let vars = w.join("OVMF_VARS.fd");
    fs::copy(&ovmf_vars, &vars).unwrap();
    let mut dev = Device {
        esp: partition_offset(&image, 1),
        image,
        vars,
        job: w.join("job.img"),
        boots: Vec::new(),
    };
    assert_eq!(
        dev.grubenv(),
        ("pc-kernel_x1.snap".into(), "".into(), "".into())
    );

    // 1. First boot: seeding, then the operator refreshes the kernel to a broken x2.
    let broken = w.join("broken");
    debian_kernel_snap_tree(&broken, &vmlinuz, &broken_init());
    let kernel_2 = pack_tree(&broken, &w.join("snaps-2"));
    let kernel_2 = {
        let named = w.join("pc-kernel-broken.snap");
        fs::rename(&kernel_2, &named).unwrap();
        named
    };
    dev.job(
        "snap install --dangerous /job/pc-kernel-broken.snap\n",
        &[&kernel_2],
    );
    let console = dev.boot("1 (first boot, refresh to a broken kernel)");
    assert_eq!(booted_kernel(&console), "pc-kernel_x1.snap");
    assert!(console.contains(&format!("{SAY} seeded")), "{console}");
    let job = section(&console, "job begin", "job end");
    let refresh = waiting_change(job, "kernel");
    let report = section(&console, "report begin", "report end");
    for snap in ["pc ", "core22 "] {
        assert!(
            report.lines().any(|l| l.starts_with(snap)),
            "{snap} not installed by the seeding:\n{report}"
        );
    }
    // The broken revision is linked and waits; the device reboots for it.
    assert!(kernel_row(report, "x2").is_some(), "{report}");
    assert!(console.contains(&format!("{SAY} reboot")), "{console}");
    assert_eq!(
        dev.grubenv(),
        (
            "pc-kernel_x1.snap".into(),
            "pc-kernel_x2.snap".into(),
            "try".into()
        ),
        "the daemon's try writes"
    );
    assert!(dev.esp_has("pc-kernel_x2.snap"), "x2 was not extracted");

    // 2. grub tries x2 once; it panics.
    dev.job("true\n", &[]);
    let console = dev.boot("2 (try of the broken kernel)");
    assert!(console.contains(BROKEN_LINE), "{console}");
    assert!(console.contains("Kernel panic"), "{console}");
    assert!(!console.contains(&format!("{SAY} booted")), "{console}");
    assert_eq!(dev.grubenv().2, "trying");

    // 3. grub falls back to x1 by itself; the daemon undoes the refresh. Then the operator
    //    refreshes to a working x3.
    let kernel_3 = device_kernel_snap(w, "3", &vmlinuz, &device_initrd);
    dev.job(
        &format!(
            "snap watch {refresh}; echo \"watch exited with $?\"\n\
             snap tasks {refresh}\n\
             echo \"{SAY} list after the undo\"\n\
             snap list --all\n\
             ls /boot/efi/EFI/ubuntu\n\
             echo \"{SAY} refresh again\"\n\
             snap install --dangerous /job/{}\n",
            kernel_3.file_name().unwrap().to_str().unwrap()
        ),
        &[&kernel_3],
    );
    let console = dev.boot("3 (fallback, then refresh to a working kernel)");
    assert!(
        console
            .contains("kernel pc-kernel_x2.snap failed to boot: falling back to pc-kernel_x1.snap"),
        "grub did not report the fallback: {console}"
    );
    assert_eq!(booted_kernel(&console), "pc-kernel_x1.snap");
    let job = section(&console, "job begin", "job end");
    assert!(
        job.contains(
            "the new kernel failed to boot: the bootloader fell back to pc-kernel_x1.snap"
        ),
        "snap watch does not report the fallback:\n{job}"
    );
    assert!(job.contains("watch exited with 1"), "{job}");
    let tasks: Vec<&str> = job
        .lines()
        .skip_while(|l| !l.starts_with("Status"))
        .take_while(|l| !l.contains(" waits: "))
        .collect();
    let row = |summary_part: &str| {
        tasks
            .iter()
            .find(|l| l.contains(summary_part))
            .unwrap_or_else(|| panic!("no task {summary_part:?} in:\n{job}"))
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(row("Make snap \"pc-kernel\" (x2) available"), "Undone");
    let undone = section(&console, "list after the undo", "refresh again");
    let x1 = kernel_row(undone, "x1").unwrap_or_else(|| panic!("x1 is gone:\n{undone}"));
    assert!(!x1.contains("disabled"), "x1 is not current:\n{undone}");
    assert!(kernel_row(undone, "x2").is_none(), "x2 stayed:\n{undone}");
    let refresh_3 = waiting_change(job, "kernel");
    // x3 was just installed and is waiting for its reboot.
    let (kernel, try_kernel, status) = dev.grubenv();
    assert_eq!(kernel, "pc-kernel_x1.snap");
    assert_eq!(status, "try");
    // The ESP after the undo: the failed kernel's files are gone.
    assert!(undone.contains("pc-kernel_x1.snap"), "{undone}");
    assert!(
        !undone.contains("pc-kernel_x2.snap"),
        "the failed kernel's files stayed:\n{undone}"
    );
    // The new try's files are x3's (its local revision may reuse the undone one's number).
    assert_eq!(
        fat_read(
            &dev.image,
            dev.esp,
            &format!("/EFI/ubuntu/{try_kernel}/initrd.img")
        ),
        device_initrd,
        "{try_kernel} is not x3"
    );

    // 4. The working kernel boots in trying mode and the daemon on it confirms it.
    dev.job(
        &format!("snap watch {refresh_3}; echo \"watch exited with $?\"\n"),
        &[],
    );
    let console = dev.boot("4 (try of the working kernel)");
    assert_eq!(booted_kernel(&console), try_kernel);
    let job = section(&console, "job begin", "job end");
    assert!(job.contains("watch exited with 0"), "{job}");
    assert_eq!(dev.grubenv(), (try_kernel.clone(), "".into(), "".into()));

    // 5. A refresh of the boot base to a broken revision (no os-release: the initramfs
    //    refuses it), the same way: tried once, fallen back from, undone by the daemon.
    let broken_base = make_snap(
        &w.join("snaps-base-2"),
        "name: core22\nversion: '2'\ntype: base\nsummary: a base missing its os-release\n",
        &[("usr/lib/nothing", "", 0o644)],
    );
    let good_base = make_snap(
        &w.join("snaps-base-3"),
        "name: core22\nversion: '3'\ntype: base\nsummary: a working base\n",
        &[("usr/lib/os-release", "ID=test-3\n", 0o644)],
    );
    dev.job(
        &format!(
            "snap install --dangerous /job/{}\n",
            broken_base.file_name().unwrap().to_str().unwrap()
        ),
        &[&broken_base],
    );
    let console = dev.boot("5 (refresh of the base to a broken one)");
    let job = section(&console, "job begin", "job end");
    let base_refresh = waiting_change(job, "base");
    assert_eq!(
        dev.base_env(),
        (
            "core22_x1.snap".into(),
            "core22_x2.snap".into(),
            "try".into()
        ),
        "the daemon's try writes for the base"
    );

    dev.job("true\n", &[]);
    let console = dev.boot("6 (try of the broken base)");
    assert!(
        console.contains(&format!("{SAY} the base core22_x2.snap is not usable")),
        "{console}"
    );
    assert!(console.contains("Kernel panic"), "{console}");
    assert_eq!(dev.base_env().2, "trying");

    dev.job(
        &format!(
            "snap watch {base_refresh}; echo \"watch exited with $?\"\n\
             echo \"{SAY} list after the undo\"\n\
             snap list --all\n\
             echo \"{SAY} refresh again\"\n\
             snap install --dangerous /job/{}\n",
            good_base.file_name().unwrap().to_str().unwrap()
        ),
        &[&good_base],
    );
    let console = dev.boot("7 (base fallback, then refresh to a working base)");
    assert!(
        console.contains("base core22_x2.snap failed to boot: falling back to core22_x1.snap"),
        "grub did not report the fallback: {console}"
    );
    assert!(
        console.contains(&format!("{SAY} base core22_x1.snap: ID=test")),
        "{console}"
    );
    let job = section(&console, "job begin", "job end");
    assert!(
        job.contains("the new base failed to boot: the bootloader fell back to core22_x1.snap"),
        "snap watch does not report the fallback:\n{job}"
    );
    assert!(job.contains("watch exited with 1"), "{job}");
    let undone = section(&console, "list after the undo", "refresh again");
    let x1 = row_of(undone, "core22", "x1").unwrap_or_else(|| panic!("x1 is gone:\n{undone}"));
    assert!(
        !x1.contains("disabled"),
        "core22 x1 is not current:\n{undone}"
    );
    let base_refresh_3 = waiting_change(job, "base");
    let (_, try_base, status) = dev.base_env();
    assert_eq!(status, "try");

    dev.job(
        &format!("snap watch {base_refresh_3}; echo \"watch exited with $?\"\n"),
        &[],
    );
    let console = dev.boot("8 (try of the working base)");
    assert!(
        console.contains(&format!("{SAY} base {try_base}: ID=test-3")),
        "{console}"
    );
    let job = section(&console, "job begin", "job end");
    assert!(job.contains("watch exited with 0"), "{job}");
    assert_eq!(dev.base_env(), (try_base, "".into(), "".into()));
    // The kernel confirmed before is untouched by the base's try.
    assert_eq!(dev.grubenv().0, booted_kernel(&console));
    assert!(console.contains(&format!("{SAY} poweroff")), "{console}");

    let total: f64 = dev.boots.iter().map(|(_, d)| d.as_secs_f64()).sum();
    eprintln!(
        "boots ({}): {}; total {total:.1} s",
        accel(),
        dev.boots
            .iter()
            .map(|(w, d)| format!("{w}: {:.1} s", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    );
}
