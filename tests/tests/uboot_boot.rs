//! U-Boot try-boot for real: the boot script of `gadget_kernel::boot::ubootscr`, compiled to
//! `boot.scr` in Rust, run by Debian's U-Boot for QEMU (u-boot-qemu, the 32-bit `qemu-x86`
//! build as the PC's firmware) from a vfat partition on a virtio disk, with its environment in
//! `uboot.env` on that partition, booting Debian's kernel with `zboot` and a busybox
//! initramfs; the daemon itself inside a device booted that way, concluding a kernel refresh
//! U-Boot fell back from; and the arm64 variant (`booti`) in Debian's arm64 U-Boot with a
//! stand-in kernel. Every boot is bounded. Also: our `boot.scr` against `mkimage -T script` byte for
//! byte, and our `uboot.env` against `mkenvimage` and `fw_printenv`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gadget_kernel::Bootloader;
use gadget_kernel::boot::ubootscr::{
    ImageArch, KernelBoot, ScriptLayout, read_script_image, script_image, try_boot_script,
};
use gadget_kernel::boot::{self, BASE_SLOT, KERNEL_SLOT, bootloader_boot};
use gadget_kernel::image::env::ubootenv::UbootEnv;
use snap_tests::device::{
    self, BROKEN_LINE, DeviceBoots, DeviceDisks, DeviceInitramfs, SAY, SNAP_DEVICE_MODULES,
    VIRTIO_DISK_MODULES, broken_kernel_snap, device_init, device_kernel_snap, kernel_version,
    row_of, section, waiting_change, write_job_disk,
};
use snap_tests::qemu::*;
use snap_tests::*;

/// Printed by the good initramfs, followed by the kernel command line.
const OK_LINE: &str = "SNAP-TEST init reached; cmdline:";
/// Printed by the broken initramfs before its /init exits (the kernel panics, `panic=-1`
/// resets the machine, and `-no-reboot` ends QEMU).
/// A boot takes about 10 s under software emulation on an idle machine (U-Boot's own 2 s
/// autoboot delay and 2 s USB scan included); the machine is shared, so allow much more.
const BOOT_LIMIT: Duration = Duration::from_secs(120);
/// What U-Boot's distro boot prints when a script returned without booting; it then goes
/// on to other devices and ends at its prompt, so the run is stopped there.
const SCRIPT_FAILED: &str = "SCRIPT FAILED: continuing...";
const CMDLINE: &str = "console=ttyS0 panic=-1";
/// The boot partition: 1 MiB in, FAT, 64 MiB.
const PART_OFFSET: u64 = 1 << 20;

fn script() -> String {
    try_boot_script(ScriptLayout::UC16, CMDLINE, KernelBoot::Zboot).unwrap()
}

fn boot_scr() -> Vec<u8> {
    script_image(&script(), ImageArch::X86, "snap try-boot", 0).unwrap()
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

fn good_init() -> String {
    format!(
        "/bin/busybox mount -t proc proc /proc\n\
         /bin/busybox mount -t sysfs sys /sys\n\
         echo \"{OK_LINE} $(/bin/busybox cat /proc/cmdline)\"\n\
         /bin/busybox poweroff -f\n"
    )
}

/// The command line the good initramfs printed.
fn booted_cmdline(b: &Boot) -> String {
    b.console
        .lines()
        .find_map(|l| {
            l.split_once(OK_LINE)
                .map(|(_, rest)| rest.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no success line: {}", b.describe()))
}

fn booted_kernel(b: &Boot) -> String {
    let line = booted_cmdline(b);
    boot::running_kernel(&line)
        .unwrap_or_else(|| panic!("no snap_kernel= on {line:?}"))
        .to_owned()
}

fn log_boot(n: usize, b: &Boot) {
    if let Some(dir) = std::env::var_os("SNAP_TEST_BOOT_LOG_DIR") {
        fs::create_dir_all(&dir).unwrap();
        fs::write(Path::new(&dir).join(format!("uboot-{n}.log")), &b.console).unwrap();
    }
}

fn run(cmd: &mut Command) -> String {
    ok(&output_within(cmd, Duration::from_secs(60)))
}

/// Why the real boots cannot run here, if they cannot.
fn missing_for_boots() -> Option<&'static str> {
    if !have("qemu-system-x86_64") {
        return Some("qemu-system-x86_64 is not installed (qemu-system-x86)");
    }
    if uboot_x86_rom().is_none() {
        return Some("U-Boot for QEMU is not installed (u-boot-qemu)");
    }
    if debian_kernel().is_none() {
        return Some("no /boot/vmlinuz-* (linux-image-amd64)");
    }
    if !have("mkfs.vfat") || !have("mcopy") || !have("sfdisk") {
        return Some("dosfstools, mtools and fdisk are needed");
    }
    None
}

#[test]
fn boot_scr_is_what_mkimage_makes() {
    if !have("mkimage") || !have("dumpimage") {
        eprintln!("SKIPPED: mkimage/dumpimage are not installed (u-boot-tools)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cmd = dir.path().join("boot.cmd");
    let text = script();
    fs::write(&cmd, &text).unwrap();
    for (arch, name, time) in [
        (ImageArch::X86, "x86", 0u32),
        (ImageArch::Arm64, "arm64", 1_700_000_000),
        (ImageArch::Arm, "arm", 1_234_567_890),
        (ImageArch::Riscv, "riscv", 42),
    ] {
        let theirs = dir.path().join(format!("mkimage-{name}.scr"));
        run(Command::new("mkimage")
            .env("SOURCE_DATE_EPOCH", time.to_string())
            .args(["-A", name, "-O", "linux", "-T", "script", "-C", "none"])
            .args(["-n", "snap try-boot", "-d"])
            .arg(&cmd)
            .arg(&theirs));
        let ours = script_image(&text, arch, "snap try-boot", time).unwrap();
        let theirs = fs::read(&theirs).unwrap();
        assert_eq!(ours.len(), theirs.len(), "{name}");
        assert!(
            ours == theirs,
            "{name}: our boot.scr differs from mkimage's"
        );
        assert_eq!(read_script_image(&theirs).unwrap(), text);
    }
    // dumpimage reads ours.
    let ours = dir.path().join("ours.scr");
    fs::write(&ours, boot_scr()).unwrap();
    let listing = run(Command::new("dumpimage").arg("-l").arg(&ours));
    assert!(listing.contains("Image Name:   snap try-boot"), "{listing}");
    assert!(
        listing.contains("Intel x86 Linux Script (uncompressed)"),
        "{listing}"
    );
    assert!(
        listing.contains(&format!("Image 0: {} Bytes", text.len())),
        "{listing}"
    );
    let back = dir.path().join("back.cmd");
    run(Command::new("dumpimage")
        .args(["-T", "script", "-p", "0", "-o"])
        .arg(&back)
        .arg(&ours));
    // This dumpimage gives the whole data area: the length table, then the script.
    let mut data = (text.len() as u32).to_be_bytes().to_vec();
    data.extend_from_slice(&[0; 4]);
    data.extend_from_slice(text.as_bytes());
    assert!(fs::read(&back).unwrap() == data);
}

#[test]
fn uboot_env_is_what_mkenvimage_makes_and_fw_printenv_reads() {
    if !have("mkenvimage") {
        eprintln!("SKIPPED: mkenvimage is not installed (u-boot-tools)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let vars = [
        ("kernel_status", "try"),
        ("snap_core", "core18_1.snap"),
        ("snap_kernel", "pi-kernel_1.snap"),
        ("snap_try_kernel", "pi-kernel_2.snap"),
    ];
    let text: String = vars.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    let txt = dir.path().join("env.txt");
    fs::write(&txt, text).unwrap();
    for (size, redundant) in [(4096usize, false), (4096, true), (131_072, false)] {
        let mut env = UbootEnv::new(size, redundant);
        for (k, v) in vars {
            env.set(k, v).unwrap();
        }
        let ours = env.encode().unwrap();
        let out = dir.path().join("theirs.bin");
        let mut cmd = Command::new("mkenvimage");
        cmd.args(["-s", &size.to_string(), "-o"]).arg(&out);
        if redundant {
            cmd.arg("-r");
        }
        run(cmd.arg(&txt));
        assert!(
            ours == fs::read(&out).unwrap(),
            "{size} bytes, redundant {redundant}: differs from mkenvimage's"
        );
    }
    if !have("fw_printenv") {
        eprintln!("SKIPPED the fw_printenv part: libubootenv-tool is not installed");
        return;
    }
    // U-Boot's user-space tool reads ours and writes what we read.
    let mut env = UbootEnv::new(4096, false);
    for (k, v) in vars {
        env.set(k, v).unwrap();
    }
    let file = dir.path().join("uboot.env");
    fs::write(&file, env.encode().unwrap()).unwrap();
    let config = dir.path().join("fw_env.config");
    fs::write(&config, format!("{} 0x0 0x1000\n", file.display())).unwrap();
    let printed = run(Command::new("fw_printenv").arg("-c").arg(&config));
    for (k, v) in vars {
        assert!(printed.contains(&format!("{k}={v}\n")), "{printed}");
    }
    run(Command::new("fw_setenv")
        .arg("-c")
        .arg(&config)
        .args(["kernel_status", "trying"]));
    let back = UbootEnv::parse(&fs::read(&file).unwrap()).unwrap();
    assert_eq!(back.get("kernel_status"), Some("trying"));
    assert_eq!(back.get("snap_kernel"), Some("pi-kernel_1.snap"));
}

/// A 64 MiB disk: an MBR with one FAT partition (type 0c) at 1 MiB holding `boot.scr`.
fn uboot_disk(path: &Path) {
    let f = fs::File::create(path).unwrap();
    f.set_len(66 << 20).unwrap();
    drop(f);
    let mut sfdisk = Command::new("sfdisk");
    sfdisk
        .arg("--quiet")
        .arg(path)
        .stdin(std::process::Stdio::piped());
    let mut child = sfdisk
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("sfdisk");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"label: dos\nstart=2048, size=131072, type=c, bootable\n")
        .unwrap();
    assert!(child.wait().unwrap().success(), "sfdisk");
    run(Command::new("mkfs.vfat")
        .args(["-F", "32", "--offset", "2048", "-n", "SYSTEM-BOOT"])
        .arg(path)
        .arg("65536"));
    assert_eq!(partition_offset(path, 1), PART_OFFSET);
    fat_write(path, PART_OFFSET, "/boot.scr", &boot_scr());
}

/// Extracts a kernel as the daemon would for U-Boot on UC16/18: `<file>/kernel.img` and
/// `<file>/initrd.img` at the partition root.
fn extract(image: &Path, offset: u64, kernel_file: &str, vmlinuz: &Path, init: &str) {
    let dir = boot::kernel_assets_dir(Bootloader::UBoot, false).unwrap();
    fat_mkdir(image, offset, &format!("/{kernel_file}"));
    fat_write(
        image,
        offset,
        &format!(
            "/{}",
            boot::kernel_asset_path(dir, kernel_file, "kernel.img")
        ),
        &fs::read(vmlinuz).unwrap(),
    );
    fat_write(
        image,
        offset,
        &format!(
            "/{}",
            boot::kernel_asset_path(dir, kernel_file, "initrd.img")
        ),
        &busybox_initramfs(init),
    );
}

fn read_env(image: &Path, offset: u64) -> UbootEnv {
    UbootEnv::parse(&fat_read(image, offset, "/uboot.env")).expect("uboot.env")
}

const A: &str = "pc-kernel_x1.snap";
const B: &str = "pc-kernel_x2.snap";
const BASE_A: &str = "core18_1.snap";
const BASE_B: &str = "core18_2.snap";

/// Every state of the protocol, each booted for real, held against the Rust model: the
/// kernel and base U-Boot booted (from the command line the initramfs saw), the environment
/// U-Boot left in the file, and its fallback message.
#[test]
fn the_script_runs_every_state_in_real_uboot() {
    if let Some(why) = missing_for_boots() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let vmlinuz = debian_kernel().unwrap();
    let work = tempfile::tempdir().unwrap();
    let image = work.path().join("disk.img");
    uboot_disk(&image);
    extract(&image, PART_OFFSET, A, &vmlinuz, &good_init());
    extract(&image, PART_OFFSET, B, &vmlinuz, &good_init());
    // (kernel_status, snap_try_kernel, base_status, snap_try_core)
    let states = [
        ("", "", "", ""),
        ("try", B, "", ""),
        ("trying", B, "", ""),
        ("try", "", "", ""),
        ("bogus", B, "", ""),
        ("", "", "try", BASE_B),
        ("trying", B, "trying", BASE_B),
    ];
    let mut n = 0;
    for (status, try_kernel, base_status, try_core) in states {
        let what = format!(
            "kernel_status={status:?} snap_try_kernel={try_kernel:?} base_status={base_status:?} snap_try_core={try_core:?}"
        );
        let mut env = UbootEnv::new(4096, false);
        for (k, v) in [
            ("snap_kernel", A),
            ("snap_try_kernel", try_kernel),
            ("kernel_status", status),
            ("snap_core", BASE_A),
            ("snap_try_core", try_core),
            ("base_status", base_status),
        ] {
            env.set(k, v).unwrap();
        }
        fat_write(&image, PART_OFFSET, "/uboot.env", &env.encode().unwrap());
        let mut model = env.clone();
        let chosen = bootloader_boot(&mut model).unwrap();
        let b = boot_uboot(&image, false, BOOT_LIMIT, Some(SCRIPT_FAILED));
        n += 1;
        log_boot(n, &b);
        eprintln!("{what}: {:.1} s", b.elapsed.as_secs_f64());
        assert!(!b.timed_out, "{what}: {}", b.describe());
        assert_eq!(
            booted_cmdline(&b),
            format!(
                "snap_kernel={} snap_core={} {CMDLINE}",
                chosen.kernel, chosen.base
            ),
            "{what}: {}",
            b.describe()
        );
        let after = read_env(&image, PART_OFFSET);
        assert_eq!(after.vars(), model.vars(), "{what}: {}", b.describe());
        for (slot, st, cand, current) in [
            (KERNEL_SLOT, status, try_kernel, A),
            (BASE_SLOT, base_status, try_core, BASE_A),
        ] {
            let line = format!(
                "{} {cand} failed to boot: falling back to {current}",
                slot.what
            );
            assert_eq!(
                b.console.contains(&line),
                st == "trying",
                "{what}: {}",
                b.describe()
            );
        }
    }

    // A try that U-Boot cannot save (the disk is read-only to the guest) is not booted.
    let mut env = UbootEnv::new(4096, false);
    env.set("snap_kernel", A).unwrap();
    env.set("snap_try_kernel", B).unwrap();
    env.set("kernel_status", "try").unwrap();
    let bytes = env.encode().unwrap();
    fat_write(&image, PART_OFFSET, "/uboot.env", &bytes);
    let b = boot_uboot(&image, true, BOOT_LIMIT, Some(SCRIPT_FAILED));
    n += 1;
    log_boot(n, &b);
    assert!(!b.timed_out, "{}", b.describe());
    assert_eq!(booted_kernel(&b), A, "{}", b.describe());
    assert_eq!(fat_read(&image, PART_OFFSET, "/uboot.env"), bytes);

    // An environment whose CRC is wrong boots nothing and is left alone.
    let mut bad = bytes.clone();
    bad[10] ^= 1;
    fat_write(&image, PART_OFFSET, "/uboot.env", &bad);
    let b = boot_uboot(&image, false, BOOT_LIMIT, Some(SCRIPT_FAILED));
    n += 1;
    log_boot(n, &b);
    assert!(!b.timed_out, "{}", b.describe());
    assert!(
        b.console
            .contains("cannot read the boot environment /uboot.env: not booting"),
        "{}",
        b.describe()
    );
    assert!(!b.console.contains(OK_LINE), "{}", b.describe());
    assert_eq!(fat_read(&image, PART_OFFSET, "/uboot.env"), bad);
}

/// The files of a tree, for packing it into a snap: written with `mode`.
fn write(path: &Path, data: &[u8], mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

const GADGET_YAML: &str = r#"volumes:
  pc:
    schema: mbr
    bootloader: u-boot
    structure:
      - name: system-boot
        role: system-boot
        type: 0C
        filesystem: vfat
        filesystem-label: system-boot
        size: 160M
        content:
          - source: boot.scr
            target: boot.scr
          - source: uboot.env
            target: uboot.env
      - name: writable
        role: system-data
        type: 83
        filesystem: ext4
        filesystem-label: writable
        size: 320M
"#;

/// The device's command line (the script adds `snap_kernel=` and `snap_core=`).
const DEVICE_CMDLINE: &str = "console=ttyS0 panic=-1 loglevel=4";
/// A boot that runs the debug daemon under software emulation takes well under a minute on
/// an idle machine; the machine is shared, so allow much more before calling it hung.
const DEVICE_LIMIT: Duration = Duration::from_secs(300);

/// A device booted by U-Boot: an image built by `snap-image` from a U-Boot gadget (its
/// `boot.scr` and `uboot.env`), and the operator's stick.
struct UbootDevice {
    image: PathBuf,
    job: PathBuf,
    boot_part: u64,
    boots: DeviceBoots,
}

impl UbootDevice {
    fn job(&self, script: &str, files: &[&Path]) {
        write_job_disk(&self.job, script, files);
    }

    /// One boot: U-Boot, its script, the kernel it chose and the device's /init, to the
    /// device's poweroff or reboot (or a kernel panic's reset).
    fn boot(&mut self, what: &str) -> String {
        let mut cmd = uboot_machine("1024");
        for disk in [&self.image, &self.job] {
            cmd.arg("-drive")
                .arg(format!("if=virtio,file={},format=raw", disk.display()));
        }
        let console = self
            .boots
            .record(what, run_qemu_until(cmd, DEVICE_LIMIT, SCRIPT_FAILED));
        assert!(
            !console.contains(SCRIPT_FAILED),
            "boot {what}: U-Boot booted nothing:\n{console}"
        );
        console
    }

    fn env_bytes(&self) -> Vec<u8> {
        fat_read(&self.image, self.boot_part, "/uboot.env")
    }

    fn env(&self) -> UbootEnv {
        UbootEnv::parse(&self.env_bytes()).expect("uboot.env")
    }

    /// `snap_kernel`, `snap_try_kernel`, `kernel_status`.
    fn vars(&self) -> (String, String, String) {
        let env = self.env();
        let get = |k| env.get(k).unwrap_or("").to_owned();
        (
            get(boot::SNAP_KERNEL),
            get(boot::SNAP_TRY_KERNEL),
            get(boot::KERNEL_STATUS),
        )
    }

    /// Whether the boot partition holds `dir` (a kernel's extracted boot files).
    fn has(&self, dir: &str) -> bool {
        Command::new("mdir")
            .env("MTOOLS_SKIP_CHECK", "1")
            .arg("-i")
            .arg(format!("{}@@{}", self.image.display(), self.boot_part))
            .arg(format!("::/{dir}"))
            .output()
            .expect("run mdir")
            .status
            .success()
    }
}

/// The daemon inside a device booted by real U-Boot: the image is built by `snap-image` from
/// a U-Boot gadget (UC16/18 layout: `boot.scr`, a 128 KiB `uboot.env` without the flag byte,
/// the seeded kernel extracted at the root of `system-boot`); the kernel snaps are Debian's
/// kernel with the device initramfs of `snap_tests::device` (the project's `snapd` and
/// `snap`, virtio modules). The daemon seeds the device; a refresh to a broken kernel is
/// extracted and prepared by the daemon in `uboot.env`; U-Boot tries it once (it panics),
/// then falls back by itself; the daemon on the old kernel undoes the refresh; a refresh to
/// a working kernel is booted in trying mode and confirmed by the daemon running on it.
#[test]
fn the_daemon_in_a_uboot_device_undoes_a_kernel_refresh_that_fell_back() {
    if let Some(why) = missing_for_boots() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let vmlinuz = debian_kernel().unwrap();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();

    let version = kernel_version(&vmlinuz);
    let started = std::time::Instant::now();
    let init = device_init(&DeviceDisks {
        boot_part: "/dev/vda1",
        writable_part: "/dev/vda2",
        job_disk: "/dev/vdb",
        boot_mount: "/boot/uboot",
        boot_dir: "/boot/uboot",
    });
    let device_initrd = DeviceInitramfs {
        programs: &[("snapd", &bin("snapd")), ("snap", &bin("snap"))],
        kernel_version: &version,
        modules: &[VIRTIO_DISK_MODULES, SNAP_DEVICE_MODULES].concat(),
        init: &init,
    }
    .build();
    eprintln!(
        "device initramfs: {:.1} MB in {:.1} s",
        device_initrd.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    // The gadget: the try-boot boot.scr, and an empty uboot.env in the layout this U-Boot's
    // `env import -c` reads (no flag byte: Debian builds it without a redundant
    // environment), 128 KiB like the Raspberry Pi gadgets', padded with NULs as U-Boot's
    // `env export` pads it, so that no save ever changes more than its first sector
    // (`spec/boot.md`, "Power cuts"); snap-image sets its variables.
    let gadget = w.join("gadget");
    write(
        &gadget.join("meta/snap.yaml"),
        b"name: pc\nversion: '1'\ntype: gadget\nbase: core22\nsummary: test u-boot gadget\n",
        0o644,
    );
    write(
        &gadget.join("meta/gadget.yaml"),
        GADGET_YAML.as_bytes(),
        0o644,
    );
    // The 24 MB initramfs goes above the kernel's decompression window (16 MiB + 63.6 MiB
    // for Debian's kernel), where qemu-x86's `ramdisk_addr_r` (64 MiB) is not.
    let script = try_boot_script(
        ScriptLayout::UC16,
        DEVICE_CMDLINE,
        KernelBoot::ZbootInitrdAt(0x800_0000),
    )
    .unwrap();
    write(
        &gadget.join("boot.scr"),
        &script_image(&script, ImageArch::X86, "snap try-boot", 0).unwrap(),
        0o644,
    );
    let mut empty_env = UbootEnv::new(131_072, false);
    empty_env.set_padding(0);
    write(
        &gadget.join("uboot.env"),
        &empty_env.encode().unwrap(),
        0o644,
    );
    let gadget_snap = pack_tree(&gadget, &w.join("snaps"));
    let kernel_1 = device_kernel_snap(w, "1", &vmlinuz, &device_initrd);
    let base = base_snap(&w.join("snaps"), "core22");
    let image = build_image(w, "pc", &gadget_snap, &kernel_1, &base);
    let mut dev = UbootDevice {
        boot_part: partition_offset(&image, 1),
        image,
        job: w.join("job.img"),
        boots: DeviceBoots::new("uboot-device"),
    };
    // The image builder kept the gadget's layout, size and padding and extracted the kernel
    // at the partition's root, where the script looks.
    let env = dev.env();
    assert_eq!(
        (env.size(), env.redundant(), env.padding()),
        (131_072, false, 0)
    );
    // Every save from now on, U-Boot's and the daemon's, leaves all but the first sector as
    // the builder wrote it: a power cut during any of them leaves the old or the new
    // environment.
    let beyond_first_sector = dev.env_bytes()[512..].to_vec();
    let assert_one_sector = |dev: &UbootDevice, after: &str| {
        assert!(
            dev.env_bytes()[512..] == beyond_first_sector[..],
            "after {after}, uboot.env changed beyond its first sector"
        );
    };
    assert_eq!(env.get("snap_core"), Some("core22_x1.snap"));
    assert_eq!(dev.vars(), (A.into(), "".into(), "".into()));
    assert_eq!(
        fat_read(&dev.image, dev.boot_part, &format!("/{A}/initrd.img")),
        device_initrd
    );

    // 1. First boot: U-Boot boots the seeded kernel, the daemon seeds the device; the
    //    operator refreshes the kernel to a broken x2, which the daemon extracts to the boot
    //    partition and prepares as a try in uboot.env; the device reboots.
    let kernel_2 = broken_kernel_snap(w, &vmlinuz);
    dev.job(
        "snap install --dangerous /job/pc-kernel-broken.snap\n",
        &[&kernel_2],
    );
    let console = dev.boot("1 (first boot, refresh to a broken kernel)");
    assert_eq!(device::booted_kernel(&console), A);
    assert!(console.contains(&format!("{SAY} seeded")), "{console}");
    let job = section(&console, "job begin", "job end");
    let refresh = waiting_change(job, "new kernel");
    let report = section(&console, "report begin", "report end");
    assert!(row_of(report, "pc-kernel", "x2").is_some(), "{report}");
    assert!(console.contains(&format!("{SAY} reboot")), "{console}");
    assert_eq!(
        dev.vars(),
        (A.into(), B.into(), "try".into()),
        "the daemon's try writes"
    );
    assert!(dev.has(B), "x2 was not extracted to the boot partition");
    // The daemon rewrote the file in its own size, layout and padding.
    let env = dev.env();
    assert_eq!(
        (env.size(), env.redundant(), env.padding()),
        (131_072, false, 0)
    );
    assert_one_sector(&dev, "boot 1");
    assert_eq!(env.get("snap_core"), Some("core22_x1.snap"));

    // 2. U-Boot saves "trying" and boots x2 once; it panics.
    dev.job("true\n", &[]);
    let console = dev.boot("2 (try of the broken kernel)");
    assert!(console.contains(BROKEN_LINE), "{console}");
    assert!(console.contains("Kernel panic"), "{console}");
    assert!(!console.contains(&format!("{SAY} booted")), "{console}");
    assert_eq!(dev.vars().2, "trying");
    // What U-Boot's `env export -c -s` wrote is our encoding with NUL padding, byte for byte.
    let saved_by_uboot = dev.env_bytes();
    let env = UbootEnv::parse(&saved_by_uboot).unwrap();
    assert_eq!(env.padding(), 0);
    assert!(env.encode().unwrap() == saved_by_uboot);
    assert_one_sector(&dev, "boot 2");

    // 3. U-Boot falls back to x1 by itself; the daemon on x1 concludes the fallback and
    //    undoes the refresh. Then the operator refreshes to a working x3.
    let kernel_3 = device_kernel_snap(w, "3", &vmlinuz, &device_initrd);
    dev.job(
        &format!(
            "snap watch {refresh}; echo \"watch exited with $?\"\n\
             snap tasks {refresh}\n\
             echo \"{SAY} list after the undo\"\n\
             snap list --all\n\
             ls /boot/uboot\n\
             echo \"{SAY} refresh again\"\n\
             snap install --dangerous /job/{}\n",
            kernel_3.file_name().unwrap().to_str().unwrap()
        ),
        &[&kernel_3],
    );
    let console = dev.boot("3 (fallback, then refresh to a working kernel)");
    assert!(
        console.contains(&format!("kernel {B} failed to boot: falling back to {A}")),
        "U-Boot did not report the fallback: {console}"
    );
    assert_eq!(device::booted_kernel(&console), A);
    let job = section(&console, "job begin", "job end");
    assert!(
        job.contains(&format!(
            "the new kernel failed to boot: the bootloader fell back to {A}"
        )),
        "snap watch does not report the fallback:\n{job}"
    );
    assert!(job.contains("watch exited with 1"), "{job}");
    let undone_link = job
        .lines()
        .find(|l| l.contains("Make snap \"pc-kernel\" (x2) available"))
        .unwrap_or_else(|| panic!("no link task in:\n{job}"));
    assert!(undone_link.starts_with("Undone"), "{job}");
    let undone = section(&console, "list after the undo", "refresh again");
    let x1 = row_of(undone, "pc-kernel", "x1").unwrap_or_else(|| panic!("x1 is gone:\n{undone}"));
    assert!(!x1.contains("disabled"), "x1 is not current:\n{undone}");
    assert!(
        row_of(undone, "pc-kernel", "x2").is_none(),
        "x2 stayed:\n{undone}"
    );
    // The boot partition after the undo: the failed kernel's files are gone.
    assert!(undone.contains(A), "{undone}");
    assert!(
        !undone.contains(B),
        "the failed kernel's files stayed:\n{undone}"
    );
    let refresh_3 = waiting_change(job, "new kernel");
    let (kernel, try_kernel, status) = dev.vars();
    assert_eq!((kernel.as_str(), status.as_str()), (A, "try"));
    // The new try's files are x3's (its local revision may reuse the undone one's number).
    assert_eq!(
        fat_read(
            &dev.image,
            dev.boot_part,
            &format!("/{try_kernel}/initrd.img")
        ),
        device_initrd,
        "{try_kernel} is not x3"
    );
    // U-Boot's save and the daemon's rewrites kept the NUL padding.
    assert_eq!(dev.env().padding(), 0);
    assert_one_sector(&dev, "boot 3");

    // 4. The working kernel boots in trying mode and the daemon on it confirms it.
    dev.job(
        &format!("snap watch {refresh_3}; echo \"watch exited with $?\"\n"),
        &[],
    );
    let console = dev.boot("4 (try of the working kernel)");
    assert_eq!(device::booted_kernel(&console), try_kernel);
    let job = section(&console, "job begin", "job end");
    assert!(job.contains("watch exited with 0"), "{job}");
    assert_eq!(dev.vars(), (try_kernel.clone(), "".into(), "".into()));
    assert_one_sector(&dev, "boot 4");
    assert!(console.contains(&format!("{SAY} poweroff")), "{console}");

    eprintln!("{}", dev.boots.summary());
}

/// A stand-in arm64 kernel for `booti` (there is no arm64 Linux here): the 64-byte arm64
/// `Image` header (a branch over it, image size, the "ARM\x64" magic) and a few instructions
/// that print a line on the `virt` machine's PL011 UART, then every printable run of the
/// device tree U-Boot passed in x0 (so `/chosen/bootargs` shows up as a line), then power off
/// through PSCI. Assembled with `llvm-mc -triple=aarch64` from:
///
/// ```text
///     adr   x1, msg               //  print msg
///     movz  x2, #0x900, lsl #16   //  x2 = the UART's data register
/// 1:  ldrb  w3, [x1], #1
///     cbz   w3, 2f
///     strb  w3, [x2]
///     b     1b
/// 2:  mov   x4, x0                //  x4..x5: the device tree, totalsize at +4 (BE)
///     ldr   w5, [x4, #4]
///     rev   w5, w5
///     add   x5, x4, x5
///     mov   w7, #10               //  w7: the last character printed
/// 3:  cmp   x4, x5
///     b.hs  6f
///     ldrb  w3, [x4], #1
///     cmp   w3, #0x20
///     b.lo  4f
///     cmp   w3, #0x7e
///     b.hi  3b
///     strb  w3, [x2]
///     mov   w7, w3
///     b     3b
/// 4:  cmp   w7, #10               //  a non-printable byte ends the line, once
///     b.eq  3b
///     mov   w7, #10
///     strb  w7, [x2]
///     b     3b
/// 6:  movz  x0, #0x8400, lsl #16  //  PSCI SYSTEM_OFF
///     movk  x0, #0x8
///     hvc   #0
/// 7:  b     7b
/// msg: .asciz "SNAP-TEST arm64 kernel entered\n"
/// ```
fn arm64_probe_kernel() -> Vec<u8> {
    const CODE: [u32; 30] = [
        0x100003c1, 0xd2a12002, 0x38401423, 0x34000063, 0x39000043, 0x17fffffd, 0xaa0003e4,
        0xb9400485, 0x5ac008a5, 0x8b050085, 0x52800147, 0xeb05009f, 0x540001c2, 0x38401483,
        0x7100807f, 0x540000c3, 0x7101f87f, 0x54ffff48, 0x39000043, 0x2a0303e7, 0x17fffff7,
        0x710028ff, 0x54fffea0, 0x52800147, 0x39000047, 0x17fffff2, 0xd2b08000, 0xf2800100,
        0xd4000002, 0x14000000,
    ];
    let mut body: Vec<u8> = CODE.iter().flat_map(|w| w.to_le_bytes()).collect();
    body.extend_from_slice(ARM64_LINE.as_bytes());
    body.extend_from_slice(b"\n\0");
    let size = (64 + body.len()).next_multiple_of(8);
    let mut image = Vec::with_capacity(size);
    image.extend_from_slice(&0x1400_0010u32.to_le_bytes()); // b +64
    image.extend_from_slice(&0u32.to_le_bytes());
    image.extend_from_slice(&0u64.to_le_bytes()); // text_offset
    image.extend_from_slice(&(size as u64).to_le_bytes()); // image_size
    image.extend_from_slice(&[0; 32]); // flags, reserved
    image.extend_from_slice(&0x644d_5241u32.to_le_bytes()); // "ARM\x64"
    image.extend_from_slice(&0u32.to_le_bytes());
    image.extend_from_slice(&body);
    image.resize(size, 0);
    image
}

const ARM64_LINE: &str = "SNAP-TEST arm64 kernel entered";

/// The arm64 script (`booti`, the device tree U-Boot runs with) in Debian's arm64 U-Boot on
/// QEMU's `virt` machine: a try boots the candidate with `booti` and leaves `trying`, and the
/// next boot falls back. The kernel is [`arm64_probe_kernel`], which prints the command line
/// U-Boot put in the device tree.
#[test]
fn the_arm64_script_boots_with_booti_in_real_uboot() {
    if !have("qemu-system-aarch64") || uboot_arm64_bin().is_none() {
        eprintln!(
            "SKIPPED: qemu-system-aarch64 (qemu-system-arm) or U-Boot for QEMU (u-boot-qemu) is not installed"
        );
        return;
    }
    if !have("mkfs.vfat") || !have("mcopy") || !have("sfdisk") {
        eprintln!("SKIPPED: dosfstools, mtools and fdisk are needed");
        return;
    }
    let cmdline = "console=ttyAMA0 panic=-1";
    let script = try_boot_script(ScriptLayout::UC16, cmdline, KernelBoot::Booti).unwrap();
    let scr = script_image(&script, ImageArch::Arm64, "snap try-boot", 0).unwrap();
    let work = tempfile::tempdir().unwrap();
    let image = work.path().join("disk.img");
    uboot_disk(&image);
    fat_write(&image, PART_OFFSET, "/boot.scr", &scr);
    for k in [A, B] {
        fat_mkdir(&image, PART_OFFSET, &format!("/{k}"));
        fat_write(
            &image,
            PART_OFFSET,
            &format!("/{k}/kernel.img"),
            &arm64_probe_kernel(),
        );
        fat_write(
            &image,
            PART_OFFSET,
            &format!("/{k}/initrd.img"),
            &[0x5a; 4096],
        );
    }
    let mut env = UbootEnv::new(4096, false);
    env.set("snap_kernel", A).unwrap();
    env.set("snap_core", BASE_A).unwrap();
    let prepared = boot::prepare_try(&env, B).unwrap();
    boot::apply(&mut env, &prepared.writes).unwrap();
    fat_write(&image, PART_OFFSET, "/uboot.env", &env.encode().unwrap());

    let bootargs = |b: &Boot| {
        assert!(b.console.contains(ARM64_LINE), "{}", b.describe());
        b.console
            .lines()
            .find_map(|l| l.find("snap_kernel=").map(|i| l[i..].trim().to_owned()))
            .unwrap_or_else(|| panic!("no bootargs in the device tree: {}", b.describe()))
    };
    // 1. The try: booti starts the candidate, U-Boot saved "trying" first.
    let b = boot_uboot_arm64(&image, BOOT_LIMIT, Some(SCRIPT_FAILED));
    log_boot(200, &b);
    eprintln!("arm64 try: {:.1} s", b.elapsed.as_secs_f64());
    assert!(!b.timed_out, "{}", b.describe());
    assert_eq!(
        bootargs(&b),
        format!("snap_kernel={B} snap_core={BASE_A} {cmdline}")
    );
    let after = read_env(&image, PART_OFFSET);
    assert_eq!(after.get("kernel_status"), Some("trying"));
    // 2. Nothing confirmed it: the next boot falls back.
    let b = boot_uboot_arm64(&image, BOOT_LIMIT, Some(SCRIPT_FAILED));
    log_boot(201, &b);
    eprintln!("arm64 fallback: {:.1} s", b.elapsed.as_secs_f64());
    assert!(!b.timed_out, "{}", b.describe());
    assert!(
        b.console
            .contains(&format!("kernel {B} failed to boot: falling back to {A}")),
        "{}",
        b.describe()
    );
    assert_eq!(
        bootargs(&b),
        format!("snap_kernel={A} snap_core={BASE_A} {cmdline}")
    );
    let after = read_env(&image, PART_OFFSET);
    assert_eq!(after.get("kernel_status"), None);
    assert_eq!(after.get("snap_try_kernel"), Some(B));
}
