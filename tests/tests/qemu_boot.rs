//! The real boot test: an amd64 image built by `snap-image` from a gadget made here (grub
//! for EFI with the try-boot grub.cfg of `gadget_kernel::boot::grubcfg`), a kernel snap made
//! from Debian's kernel with a busybox initramfs, and a small base, booted in
//! `qemu-system-x86_64` (q35, OVMF, software emulation) with every boot bounded. Then a kernel
//! refresh to a broken revision: grub tries it once, the machine resets, the next boot falls
//! back to the good kernel by itself, and the try-boot logic, fed the grubenv read back from
//! the image, concludes that the refresh must be undone. Finally a refresh to a working
//! revision is confirmed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gadget_kernel::Bootloader;
use gadget_kernel::boot::{self, Outcome};
use gadget_kernel::image::content::{Listing, NodeKind};
use gadget_kernel::image::env::grubenv::GrubEnv;
use gadget_kernel::kernel::{BootImage, KernelSnap};
use snap_tests::qemu::*;
use snap_tests::*;

/// Printed by the good initramfs, followed by the kernel command line.
const OK_LINE: &str = "SNAP-TEST init reached; cmdline:";
/// Printed by the broken initramfs before its /init exits (the kernel panics, `panic=-1`
/// resets the machine, and `-no-reboot` ends QEMU).
const BROKEN_LINE: &str = "SNAP-TEST broken init";
/// A boot takes about 10 s under software emulation on an idle machine; the machine is
/// shared, so allow much more before calling it hung.
const BOOT_LIMIT: Duration = Duration::from_secs(120);
const CMDLINE: &str = "console=ttyS0 panic=-1";

const GADGET_YAML: &str = r#"volumes:
  pc:
    bootloader: grub
    structure:
      - name: system-boot
        role: system-boot
        filesystem: vfat
        filesystem-label: system-boot
        type: EF,C12A7328-F81F-11D2-BA4B-00A0C93EC93B
        size: 64M
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
        size: 48M
"#;

fn good_init() -> String {
    format!(
        "/bin/busybox mount -t proc proc /proc\n\
         /bin/busybox mount -t sysfs sys /sys\n\
         echo \"{OK_LINE} $(/bin/busybox cat /proc/cmdline)\"\n\
         /bin/busybox poweroff -f\n"
    )
}

fn broken_init() -> String {
    format!("echo \"{BROKEN_LINE}\"\nexit 1\n")
}

fn write(path: &Path, data: &[u8], mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// The files of a snap tree as the kernel model sees them.
fn listing_of(dir: &Path) -> Listing {
    use std::os::unix::fs::PermissionsExt;
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            let md = e.path().symlink_metadata().unwrap();
            let mode = (md.permissions().mode() & 0o7777) as u16;
            let kind = if md.is_dir() {
                NodeKind::Dir { mode }
            } else if md.file_type().is_symlink() {
                NodeKind::Symlink {
                    target: fs::read_link(e.path()).unwrap().display().to_string(),
                }
            } else {
                NodeKind::File {
                    size: md.len(),
                    mode,
                }
            };
            (rel, kind)
        })
        .collect()
}

/// A kernel snap tree from Debian's kernel and an initramfs whose /init is `init`; checked
/// against the kernel snap model. Returns the tree (for extraction) and the packed snap.
fn kernel_snap(work: &Path, tag: &str, vmlinuz: &Path, init: &str) -> (PathBuf, PathBuf) {
    let tree = work.join(format!("kernel-{tag}"));
    debian_kernel_snap_tree(&tree, vmlinuz, init);
    let k = KernelSnap::from_listing(&listing_of(&tree), Some(b"assets: {}\n"))
        .expect("a valid kernel snap");
    assert_eq!(k.boot_image, BootImage::Separate);
    assert_eq!(k.module_versions.len(), 1);
    let snap = pack_tree(&tree, &work.join(format!("snaps-{tag}")));
    (tree, snap)
}

struct Machine {
    image: PathBuf,
    vars: PathBuf,
    esp: u64,
    boots: Vec<(String, Duration)>,
}

impl Machine {
    fn boot(&mut self, what: &str) -> Boot {
        let b = boot_efi(&self.image, &self.vars, BOOT_LIMIT);
        eprintln!("boot {what}: {:.1} s", b.elapsed.as_secs_f64());
        self.boots.push((what.to_owned(), b.elapsed));
        // Kept for a look at what grub and the kernel said (CI can collect the directory).
        if let Some(dir) = std::env::var_os("SNAP_TEST_BOOT_LOG_DIR") {
            let name = format!("boot-{}.log", self.boots.len());
            fs::create_dir_all(&dir).unwrap();
            fs::write(Path::new(&dir).join(name), &b.console).unwrap();
        }
        assert!(!b.timed_out, "boot {what} hung: {}", b.describe());
        b
    }

    fn grubenv(&self) -> GrubEnv {
        let bytes = fat_read(&self.image, self.esp, "/EFI/ubuntu/grubenv");
        assert_eq!(bytes.len(), 1024, "grubenv keeps its size");
        GrubEnv::parse(&bytes).expect("grubenv")
    }

    /// Applies the daemon's writes one at a time, each a whole in-place rewrite of the file.
    fn apply(&self, writes: &[boot::Write]) {
        for w in writes {
            let mut env = self.grubenv();
            env.set(w.key, &w.value).unwrap();
            fat_write(
                &self.image,
                self.esp,
                "/EFI/ubuntu/grubenv",
                &env.encode().unwrap(),
            );
        }
    }

    /// Plays the daemon's extraction of a refreshed kernel onto the boot partition.
    fn extract(&self, tree: &Path, kernel_file: &str) {
        let k = KernelSnap::from_listing(&listing_of(tree), None).unwrap();
        let dir = boot::kernel_assets_dir(Bootloader::Grub, false).unwrap();
        fat_mkdir(&self.image, self.esp, &format!("/{dir}/{kernel_file}"));
        for f in k.boot_files(Bootloader::Grub) {
            let to = boot::kernel_asset_path(dir, kernel_file, &f);
            fat_write(
                &self.image,
                self.esp,
                &format!("/{to}"),
                &fs::read(tree.join(&f)).unwrap(),
            );
        }
    }

    fn vars(&self) -> (String, String, String) {
        let env = self.grubenv();
        let get = |k| env.get(k).unwrap_or("").to_owned();
        (
            get(boot::SNAP_KERNEL),
            get(boot::SNAP_TRY_KERNEL),
            get(boot::KERNEL_STATUS),
        )
    }
}

/// The kernel file the good initramfs saw on its command line.
fn booted_kernel(b: &Boot) -> String {
    let line = b
        .console
        .lines()
        .find_map(|l| l.split_once(OK_LINE).map(|(_, rest)| rest.to_owned()))
        .unwrap_or_else(|| panic!("no success line: {}", b.describe()));
    boot::running_kernel(&line)
        .unwrap_or_else(|| panic!("no snap_kernel= on {line:?}"))
        .to_owned()
}

#[test]
fn image_boots_and_a_broken_kernel_refresh_falls_back() {
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

    // The gadget: grub for EFI as the removable-media loader, and the try-boot grub.cfg.
    let gadget = w.join("gadget");
    write(
        &gadget.join("meta/snap.yaml"),
        b"name: pc\nversion: '1'\ntype: gadget\nsummary: test pc gadget\n",
        0o644,
    );
    write(
        &gadget.join("meta/gadget.yaml"),
        GADGET_YAML.as_bytes(),
        0o644,
    );
    grub_efi_image(&gadget.join("grubx64.efi"));
    write(
        &gadget.join("grub.cfg"),
        boot::grubcfg::try_boot_grub_cfg(CMDLINE)
            .unwrap()
            .as_bytes(),
        0o644,
    );
    let gadget_snap = pack_tree(&gadget, &w.join("snaps"));
    let (_, kernel_1) = kernel_snap(w, "1", &vmlinuz, &good_init());
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
    let started = std::time::Instant::now();
    ok(&output_within(
        Command::new(bin("snap-image"))
            .arg(&model)
            .arg("-o")
            .arg(&out),
        Duration::from_secs(300),
    ));
    eprintln!("snap-image: {:.1} s", started.elapsed().as_secs_f64());
    let image = out.join("pc.img");
    let vars = w.join("OVMF_VARS.fd");
    fs::copy(&ovmf_vars, &vars).unwrap();
    let mut m = Machine {
        esp: partition_offset(&image, 1),
        image,
        vars,
        boots: Vec::new(),
    };

    // The image builder extracted the seeded kernel next to grub's environment.
    assert_eq!(
        fat_read(&m.image, m.esp, "/EFI/ubuntu/pc-kernel_x1.snap/kernel.img"),
        fs::read(&vmlinuz).unwrap()
    );
    assert_eq!(m.vars(), ("pc-kernel_x1.snap".into(), "".into(), "".into()));

    // 1. The image boots: grub, Debian's kernel, our init.
    let b = m.boot("1 (seeded kernel)");
    assert_eq!(booted_kernel(&b), "pc-kernel_x1.snap", "{}", b.describe());

    // 2. A refresh to a broken revision: extract it, then the daemon's try writes.
    let (broken_tree, _) = kernel_snap(w, "2", &vmlinuz, &broken_init());
    m.extract(&broken_tree, "pc-kernel_x2.snap");
    let prepared = boot::prepare_try(&m.grubenv(), "pc-kernel_x2.snap").unwrap();
    assert!(prepared.reboot);
    m.apply(&prepared.writes);
    assert_eq!(
        m.vars(),
        (
            "pc-kernel_x1.snap".into(),
            "pc-kernel_x2.snap".into(),
            "try".into()
        )
    );
    let b = m.boot("2 (try of the broken kernel)");
    assert!(b.console.contains(BROKEN_LINE), "{}", b.describe());
    assert!(!b.console.contains(OK_LINE), "{}", b.describe());
    // It ended because the kernel panicked when /init exited (panic=-1, -no-reboot).
    assert!(b.console.contains("Kernel panic"), "{}", b.describe());
    // grub marked the try before booting it.
    assert_eq!(m.vars().2, "trying");

    // 3. The next boot falls back by itself.
    let b = m.boot("3 (fallback)");
    assert!(!b.console.contains(BROKEN_LINE), "{}", b.describe());
    assert!(
        b.console
            .contains("kernel pc-kernel_x2.snap failed to boot: falling back to pc-kernel_x1.snap"),
        "grub did not report the fallback: {}",
        b.describe()
    );
    let running = booted_kernel(&b);
    assert_eq!(running, "pc-kernel_x1.snap", "{}", b.describe());
    assert_eq!(
        m.vars(),
        (
            "pc-kernel_x1.snap".into(),
            "pc-kernel_x2.snap".into(),
            "".into()
        )
    );
    let c = boot::conclude(&m.grubenv(), &running).unwrap();
    assert_eq!(
        c.outcome,
        Outcome::FellBack {
            tried: "pc-kernel_x2.snap".into(),
            running: "pc-kernel_x1.snap".into()
        }
    );
    m.apply(&c.writes);
    assert_eq!(m.vars(), ("pc-kernel_x1.snap".into(), "".into(), "".into()));

    // 4. A refresh to a working revision is booted once in trying mode and confirmed.
    let (good_tree, _) = kernel_snap(w, "3", &vmlinuz, &good_init());
    m.extract(&good_tree, "pc-kernel_x3.snap");
    m.apply(
        &boot::prepare_try(&m.grubenv(), "pc-kernel_x3.snap")
            .unwrap()
            .writes,
    );
    let b = m.boot("4 (try of a working kernel)");
    let running = booted_kernel(&b);
    assert_eq!(running, "pc-kernel_x3.snap", "{}", b.describe());
    let c = boot::conclude(&m.grubenv(), &running).unwrap();
    assert_eq!(
        c.outcome,
        Outcome::Confirmed {
            kernel: "pc-kernel_x3.snap".into()
        }
    );
    m.apply(&c.writes);
    assert_eq!(m.vars(), ("pc-kernel_x3.snap".into(), "".into(), "".into()));

    let total: f64 = m.boots.iter().map(|(_, d)| d.as_secs_f64()).sum();
    eprintln!(
        "boots ({}): {}; total {total:.1} s",
        accel(),
        m.boots
            .iter()
            .map(|(w, d)| format!("{w}: {:.1} s", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    );
}
