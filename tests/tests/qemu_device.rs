//! The daemon inside a booted device: an amd64 image built by `snap-image` (grub for EFI with
//! the try-boot grub.cfg, a kernel snap made from Debian's kernel, a small base) whose
//! kernel's initramfs carries busybox and the project's `snapd` and `snap`. Its `/init`
//! mounts the image's partitions, starts the daemon on the `writable` partition with the ESP
//! as its boot directory, waits with `snap wait system seed.loaded`, runs the operator's job
//! from a second disk (a vfat "USB stick" the test writes before each boot), reports
//! `snap list` and `snap changes` on the serial console, stops the daemon and reboots when the
//! daemon asked for it (`SNAPD_REBOOT_COMMAND`).
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
//!    such a base is tried once, fallen back from and undone, and a working one confirmed;
//! 9.–10. `snap revert pc-kernel` tries the older kernel across a reboot and is confirmed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gadget_kernel::boot;
use gadget_kernel::image::env::grubenv::GrubEnv;
use snap_tests::device::{
    AHCI_DISK_MODULES, BROKEN_LINE, DeviceBoots, DeviceDisks, DeviceInitramfs, SAY,
    SNAP_DEVICE_MODULES, booted_kernel, broken_kernel_snap, device_init, device_kernel_snap,
    kernel_version, row_of, section, waiting_change, write_job_disk,
};
use snap_tests::qemu::*;
use snap_tests::*;

/// A boot that runs the debug daemon under software emulation takes well under a minute on
/// an idle machine; the machine is shared, so allow much more before calling it hung.
const BOOT_LIMIT: Duration = Duration::from_secs(300);
const CMDLINE: &str = "console=ttyS0 panic=-1 loglevel=4";

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

fn write(path: &Path, data: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

struct Device {
    image: PathBuf,
    vars: PathBuf,
    job: PathBuf,
    esp: u64,
    boots: DeviceBoots,
}

impl Device {
    /// Writes the operator's stick: `run.sh` and the files it uses.
    fn job(&self, script: &str, files: &[&Path]) {
        write_job_disk(&self.job, script, files);
    }

    fn boot(&mut self, what: &str) -> String {
        let mut cmd = efi_machine(&self.image, &self.vars, "1024");
        cmd.arg("-drive")
            .arg(format!("file={},format=raw", self.job.display()));
        self.boots.record(what, run_qemu(cmd, BOOT_LIMIT))
    }

    /// Three variables of the image's grubenv, unset ones as "".
    fn env3(&self, keys: [&str; 3]) -> (String, String, String) {
        let bytes = fat_read(&self.image, self.esp, "/EFI/ubuntu/grubenv");
        let env = GrubEnv::parse(&bytes).expect("grubenv");
        let [a, b, c] = keys.map(|k| env.get(k).unwrap_or("").to_owned());
        (a, b, c)
    }

    /// `snap_kernel`, `snap_try_kernel`, `kernel_status`.
    fn grubenv(&self) -> (String, String, String) {
        self.env3([
            boot::SNAP_KERNEL,
            boot::SNAP_TRY_KERNEL,
            boot::KERNEL_STATUS,
        ])
    }

    /// `snap_core`, `snap_try_core`, `base_status`.
    fn base_env(&self) -> (String, String, String) {
        self.env3([boot::SNAP_CORE, boot::SNAP_TRY_CORE, boot::BASE_STATUS])
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

fn kernel_row<'a>(report: &'a str, rev: &str) -> Option<&'a str> {
    row_of(report, "pc-kernel", rev)
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
        modules: &[AHCI_DISK_MODULES, SNAP_DEVICE_MODULES].concat(),
        init: &device_init(&DeviceDisks {
            boot_part: "/dev/sda1",
            writable_part: "/dev/sda2",
            job_disk: "/dev/sdb",
            boot_mount: "/boot/efi",
            boot_dir: "/boot/efi/EFI/ubuntu",
        }),
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
    let image = build_image(w, "pc", &gadget_snap, &kernel_1, &base);
    let vars = w.join("OVMF_VARS.fd");
    fs::copy(&ovmf_vars, &vars).unwrap();
    let mut dev = Device {
        esp: partition_offset(&image, 1),
        image,
        vars,
        job: w.join("job.img"),
        boots: DeviceBoots::new("device-boot"),
    };
    assert_eq!(
        dev.grubenv(),
        ("pc-kernel_x1.snap".into(), "".into(), "".into())
    );

    // 1. First boot: seeding, then the operator refreshes the kernel to a broken x2.
    let kernel_2 = broken_kernel_snap(w, &vmlinuz);
    dev.job(
        "snap install --dangerous /job/pc-kernel-broken.snap\n",
        &[&kernel_2],
    );
    let console = dev.boot("1 (first boot, refresh to a broken kernel)");
    assert_eq!(booted_kernel(&console), "pc-kernel_x1.snap");
    assert!(console.contains(&format!("{SAY} seeded")), "{console}");
    let job = section(&console, "job begin", "job end");
    let refresh = waiting_change(job, "new kernel");
    let report = section(&console, "report begin", "report end");
    for snap in ["pc ", "core22 "] {
        assert!(
            report.lines().any(|l| l.starts_with(snap)),
            "{snap} not installed by the seeding:\n{report}"
        );
    }
    // The broken revision is linked and waits; clients are told that the system is about
    // to restart, and the device reboots.
    assert!(kernel_row(report, "x2").is_some(), "{report}");
    assert!(
        report.contains("WARNING: snapd is about to reboot the system"),
        "{report}"
    );
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
    let refresh_3 = waiting_change(job, "new kernel");
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
    let report = section(&console, "report begin", "report end");
    assert!(!report.contains("about to reboot"), "{report}");

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
    let base_refresh = waiting_change(job, "new base");
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
    let base_refresh_3 = waiting_change(job, "new base");
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

    // 9. `snap revert` of the kernel goes through the bootloader too: the older x1 is tried
    //    once across the reboot the daemon asks for, and confirmed by the daemon on it.
    dev.job("snap revert pc-kernel\n", &[]);
    let console = dev.boot("9 (revert of the kernel)");
    let job = section(&console, "job begin", "job end");
    let revert = waiting_change(job, "reverted kernel");
    assert_eq!(
        dev.grubenv(),
        (try_kernel.clone(), "pc-kernel_x1.snap".into(), "try".into())
    );
    dev.job(
        &format!("snap watch {revert}; echo \"watch exited with $?\"\n"),
        &[],
    );
    let console = dev.boot("10 (the reverted kernel booted)");
    assert_eq!(booted_kernel(&console), "pc-kernel_x1.snap");
    let job = section(&console, "job begin", "job end");
    assert!(job.contains("watch exited with 0"), "{job}");
    assert_eq!(
        dev.grubenv(),
        ("pc-kernel_x1.snap".into(), "".into(), "".into())
    );
    let report = section(&console, "report begin", "report end");
    let x1 = kernel_row(report, "x1").unwrap_or_else(|| panic!("x1 is gone:\n{report}"));
    assert!(!x1.contains("disabled"), "x1 is not current:\n{report}");

    eprintln!("{}", dev.boots.summary());
}
