//! Kernel and base try-boot, the daemon's half, end to end (`spec/boot.md`, "Daemon"): the
//! real daemon on a test root whose `boot/grub` holds a grubenv (or, for a U-Boot device,
//! whose `boot/uboot` holds `uboot.env`), a kernel snap (or the boot base) refreshed from x1
//! to x2. The bootloader is simulated with gadget-kernel's model of grub.cfg and of U-Boot's
//! boot script (`bootloader_boot`, held against real grub by `qemu_device.rs` and real
//! U-Boot by `uboot_boot.rs`) and the booted kernel and base with a command-line file.
//!
//! Needs root (mounts); each test skips itself otherwise.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gadget_kernel::boot::ubootscr::script_variables;
use gadget_kernel::boot::{BASE_SLOT, BootEnv, BootSlot, Booted, KERNEL_SLOT, bootloader_boot};
use gadget_kernel::image::env::EnvError;
use gadget_kernel::image::env::grubenv::GrubEnv;
use gadget_kernel::image::env::ubootenv::UbootEnv;
use snap_tests::*;

const KERNEL: &str = "tkernel";
const X1: &str = "tkernel_x1.snap";
const X2: &str = "tkernel_x2.snap";
const REASON: &str = "reboot required to try the new kernel";
/// The boot base (`snap_core` names it) and a base the device does not boot.
const BASE: &str = "tbase";
const BX1: &str = "tbase_x1.snap";
const BX2: &str = "tbase_x2.snap";
const OTHER_BASE: &str = "tother";
const BASE_REASON: &str = "reboot required to try the new base";

/// What a test refreshes: a snap and the boot slot it goes through.
#[derive(Clone, Copy)]
struct Subject {
    name: &'static str,
    slot: BootSlot,
    x1: &'static str,
    x2: &'static str,
    reason: &'static str,
}

const KERNEL_SUBJECT: Subject = Subject {
    name: KERNEL,
    slot: KERNEL_SLOT,
    x1: X1,
    x2: X2,
    reason: REASON,
};

const BASE_SUBJECT: Subject = Subject {
    name: BASE,
    slot: BASE_SLOT,
    x1: BX1,
    x2: BX2,
    reason: BASE_REASON,
};

/// The bootloader a [`Device`] boots with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loader {
    /// grub: `boot/grub/grubenv` (the ESP's `EFI/ubuntu`), kernels beside it.
    Grub,
    /// U-Boot, UC16/18 layout: the boot partition at `boot/uboot`, with `uboot.env` (128 KiB,
    /// no flag byte: the layout Debian's U-Boot reads) and the kernels at its root, where
    /// the boot script of `ubootscr` looks.
    Uboot,
}

/// A device's boot environment, in its bootloader's format.
enum DevEnv {
    Grub(GrubEnv),
    Uboot(UbootEnv),
}

impl BootEnv for DevEnv {
    fn var(&self, key: &str) -> &str {
        match self {
            DevEnv::Grub(e) => e.var(key),
            DevEnv::Uboot(e) => e.var(key),
        }
    }
    fn set_var(&mut self, key: &str, value: &str) -> Result<(), EnvError> {
        match self {
            DevEnv::Grub(e) => e.set_var(key, value),
            DevEnv::Uboot(e) => e.set_var(key, value),
        }
    }
}

impl DevEnv {
    fn set(&mut self, key: &str, value: &str) -> Result<(), EnvError> {
        self.set_var(key, value)
    }

    fn encode(&self) -> Result<Vec<u8>, EnvError> {
        match self {
            DevEnv::Grub(e) => e.encode(),
            DevEnv::Uboot(e) => e.encode(),
        }
    }
}

/// A device: a test root with a boot environment and the seeded kernel's files as the image
/// builder leaves them, the kernel snaps x1 and x2, the base snaps x1 and x2 (the environment's
/// `snap_core` names base x1) and another base, and the command line the "booted" kernel and
/// base have.
struct Device {
    root: TestRoot,
    work: tempfile::TempDir,
    daemon: Option<Daemon>,
    loader: Loader,
    k1: PathBuf,
    k2: PathBuf,
    b1: PathBuf,
    b2: PathBuf,
    other: PathBuf,
    /// What the test installed, in order (removed newest first at the end).
    installed: Vec<String>,
}

impl Device {
    fn new() -> Device {
        Device::on(Loader::Grub)
    }

    /// A device booting with `loader`; the daemon finds the boot directory by itself (no
    /// `SNAPD_BOOT_DIR`).
    fn on(loader: Loader) -> Device {
        let root = TestRoot::new();
        let work = tempfile::tempdir().unwrap();
        let boot = boot_dir_of(root.path(), loader);
        fs::create_dir_all(boot.join(X1)).unwrap();
        fs::write(boot.join(X1).join("kernel.img"), "kernel one").unwrap();
        fs::write(boot.join(X1).join("initrd.img"), "initrd one").unwrap();
        let mut env = match loader {
            Loader::Grub => DevEnv::Grub(GrubEnv::new()),
            Loader::Uboot => DevEnv::Uboot(UbootEnv::new(131_072, false)),
        };
        // The image builder's UC16/18 variables stay; the protocol ignores snap_mode (an
        // empty value is no variable at all in a U-Boot environment).
        env.set("snap_mode", "").unwrap();
        env.set("snap_core", BX1).unwrap();
        env.set("snap_kernel", X1).unwrap();
        env.set("snap_try_core", "").unwrap();
        env.set("snap_try_kernel", "").unwrap();
        fs::write(boot.join(env_name(loader)), env.encode().unwrap()).unwrap();
        let w = work.path();
        let d = Device {
            loader,
            k1: kernel_snap(&w.join("k1"), "one"),
            k2: kernel_snap(&w.join("k2"), "two"),
            b1: test_base(&w.join("b1"), BASE, "one"),
            b2: test_base(&w.join("b2"), BASE, "two"),
            other: test_base(&w.join("o1"), OTHER_BASE, "one"),
            root,
            work,
            daemon: None,
            installed: Vec::new(),
        };
        d.boot_as(&Booted {
            kernel: X1.into(),
            base: BX1.into(),
        });
        d
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    fn cmdline(&self) -> PathBuf {
        self.work.path().join("cmdline")
    }

    /// The command line grub.cfg gives what it boots.
    fn boot_as(&self, booted: &Booted) {
        let base = if booted.base.is_empty() {
            String::new()
        } else {
            format!(" snap_core={}", booted.base)
        };
        fs::write(
            self.cmdline(),
            format!(
                "console=ttyS0 snap_kernel={}{base} panic=-1\n",
                booted.kernel
            ),
        )
        .unwrap();
    }

    fn start(&mut self, extra: &[(&str, &str)]) {
        let cmdline = self.cmdline();
        let mut env = vec![("SNAPD_TEST_CMDLINE_FILE", cmdline.to_str().unwrap())];
        env.extend_from_slice(extra);
        self.daemon = Some(Daemon::start(&self.root, &env));
    }

    fn stop(&mut self) {
        let st = self.daemon.take().expect("running").stop();
        assert!(st.success(), "snapd exited with {st}");
    }

    /// A power cycle: the daemon stops, nothing stays mounted, the bootloader runs (grub's
    /// `save_env` or the U-Boot script's saves included) and the kernel and base it picks
    /// "boot".
    fn reboot_all(&mut self) -> Booted {
        if self.daemon.is_some() {
            self.stop();
        }
        unmount_all_under(self.path());
        let booted = match self.env() {
            DevEnv::Grub(mut env) => {
                let booted = bootloader_boot(&mut env).unwrap();
                fs::write(self.env_file(), env.encode().unwrap()).unwrap();
                booted
            }
            DevEnv::Uboot(file) => {
                // The script imports only its variables (`env import -d -c`), and saves, when
                // the state needs a save, only those, in the file's size and layout, padded
                // with NULs as `env export -c -s` does.
                let mut env = UbootEnv::new(file.size(), file.redundant());
                env.set_padding(0);
                for v in script_variables() {
                    env.set(v, file.get(v).unwrap_or("")).unwrap();
                }
                let imported = env.clone();
                let booted = bootloader_boot(&mut env).unwrap();
                if env.vars() != imported.vars() {
                    fs::write(self.env_file(), env.encode().unwrap()).unwrap();
                }
                booted
            }
        };
        // The kernel the bootloader loads must be complete on the boot partition.
        let dir = self.kernel_dir(&booted.kernel);
        assert!(
            dir.join("kernel.img").is_file() && dir.join("initrd.img").is_file(),
            "the bootloader would boot {} without its files",
            booted.kernel
        );
        // The initramfs mounts the base from its snap file.
        if self.installed.iter().any(|n| n == BASE) {
            assert!(
                self.snap_file(&booted.base).is_file(),
                "the initramfs would mount {} and find no file",
                booted.base
            );
        }
        self.boot_as(&booted);
        booted
    }

    /// [`Device::reboot_all`], the kernel it boots.
    fn reboot(&mut self) -> String {
        self.reboot_all().kernel
    }

    /// [`Device::reboot_all`], the base it boots.
    fn reboot_base(&mut self) -> String {
        self.reboot_all().base
    }

    fn snap_file(&self, file: &str) -> PathBuf {
        self.path().join("var/lib/snapd/snaps").join(file)
    }

    /// The boot partition's directory the daemon manages.
    fn boot_dir(&self) -> PathBuf {
        boot_dir_of(self.path(), self.loader)
    }

    /// Where the kernel `file`'s boot files are (both layouts: in the boot directory).
    fn kernel_dir(&self, file: &str) -> PathBuf {
        self.boot_dir().join(file)
    }

    /// The boot environment file: `grubenv` or `uboot.env`.
    fn env_file(&self) -> PathBuf {
        self.boot_dir().join(env_name(self.loader))
    }

    /// [`Device::env_file`] (the name the grub-only tests use).
    fn grubenv(&self) -> PathBuf {
        self.env_file()
    }

    fn env(&self) -> DevEnv {
        let bytes = fs::read(self.env_file()).unwrap();
        match self.loader {
            Loader::Grub => DevEnv::Grub(GrubEnv::parse(&bytes).unwrap()),
            Loader::Uboot => DevEnv::Uboot(UbootEnv::parse(&bytes).unwrap()),
        }
    }

    /// The kernel's variables: current, candidate, status.
    fn vars(&self) -> (String, String, String) {
        self.slot_vars(KERNEL_SLOT)
    }

    fn slot_vars(&self, slot: BootSlot) -> (String, String, String) {
        let e = self.env();
        (
            e.var(slot.current).into(),
            e.var(slot.candidate).into(),
            e.var(slot.status).into(),
        )
    }

    /// A device with the daemon running and kernel x1 installed.
    fn with_x1() -> Device {
        Device::with_x1_on(Loader::Grub)
    }

    fn with_x1_on(loader: Loader) -> Device {
        let mut dev = Device::on(loader);
        dev.start(&[]);
        dev.install_x1();
        dev
    }

    /// A device with the daemon running and the boot base x1 installed.
    fn with_base_x1() -> Device {
        Device::with_base_x1_on(Loader::Grub)
    }

    fn with_base_x1_on(loader: Loader) -> Device {
        let mut dev = Device::on(loader);
        dev.start(&[]);
        let b1 = dev.b1.clone();
        dev.install(&b1, BASE);
        dev
    }

    /// Refreshes to x2 with a daemon armed to crash at `point` of `prepare-boot`, and checks
    /// that it did.
    fn refresh_x2_crashing_at(&mut self, point: &str) {
        self.stop();
        self.daemon = Some(start_daemon_may_crash(
            &self.root,
            &[
                ("SNAPD_TEST_CMDLINE_FILE", self.cmdline().to_str().unwrap()),
                ("SNAPD_TEST_BOOT_CRASH", point),
            ],
        ));
        let _ = self.root.snap(&[
            "install",
            "--dangerous",
            "--no-wait",
            self.k2.to_str().unwrap(),
        ]);
        let st = self.daemon.as_mut().unwrap().wait_exit();
        assert!(!st.success(), "{point}: the daemon did not crash");
        self.daemon = None;
    }

    fn install_x1(&mut self) {
        let k1 = self.k1.clone();
        self.install(&k1, KERNEL);
    }

    /// Installs the first revision of `name` from `file`.
    fn install(&mut self, file: &Path, name: &str) {
        ok(&self
            .root
            .snap(&["install", "--dangerous", file.to_str().unwrap()]));
        self.installed.push(name.to_owned());
        assert_eq!(self.current_of(name), "x1");
    }

    /// Starts the refresh to kernel x2 without waiting; its change id.
    fn refresh_x2(&self) -> String {
        self.refresh(&self.k2)
    }

    /// Starts a refresh from `file` without waiting; its change id.
    fn refresh(&self, file: &Path) -> String {
        ok(&self.root.snap(&[
            "install",
            "--dangerous",
            "--no-wait",
            file.to_str().unwrap(),
        ]))
        .trim()
        .to_owned()
    }

    fn change(&self, id: &str) -> serde_json::Value {
        api_get(&self.root, &format!("/v2/changes/{id}"))["result"].clone()
    }

    fn wait_status(&self, id: &str, status: &str) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let chg = self.change(id);
            if chg["status"] == status {
                return chg;
            }
            assert!(
                Instant::now() < deadline && chg["ready"] != true,
                "change {id} is not {status}: {chg:#}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The kernel's current revision.
    fn current(&self) -> String {
        self.current_of(KERNEL)
    }

    fn current_of(&self, name: &str) -> String {
        let info = api_get(&self.root, &format!("/v2/snaps/{name}"));
        info["result"]["revision"]
            .as_str()
            .unwrap_or_else(|| panic!("{info}"))
            .to_owned()
    }

    fn extracted(&self, kernel_file: &str) -> Option<(String, String)> {
        let dir = self.kernel_dir(kernel_file);
        Some((
            fs::read_to_string(dir.join("kernel.img")).ok()?,
            fs::read_to_string(dir.join("initrd.img")).ok()?,
        ))
    }

    /// The kernel refresh waits for its reboot with the try prepared and the files in place.
    fn assert_waiting(&self, id: &str) {
        self.assert_waiting_for(KERNEL_SUBJECT, id);
        assert_eq!(
            self.extracted(X2),
            Some(("kernel two".into(), "initrd two".into()))
        );
        // U-Boot's script loads the kernel's device trees from beside it; grub none.
        let dtb = fs::read_to_string(self.kernel_dir(X2).join("dtbs/board.dtb")).ok();
        let expected = (self.loader == Loader::Uboot).then(|| "dtb two".to_owned());
        assert_eq!(dtb, expected, "{:?}", self.loader);
    }

    /// The refresh of `sub` waits for its reboot with the try prepared in its own variables.
    fn assert_waiting_for(&self, sub: Subject, id: &str) {
        let chg = self.wait_status(id, "Wait");
        let task = chg["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["kind"] == "prepare-boot")
            .unwrap_or_else(|| panic!("no prepare-boot task: {chg:#}"));
        assert_eq!(task["status"], "Wait", "{chg:#}");
        assert!(
            task["log"].as_array().is_some_and(|l| l
                .iter()
                .any(|e| e.as_str().unwrap_or("").contains(sub.reason))),
            "{task:#}"
        );
        assert_eq!(
            self.slot_vars(sub.slot),
            (sub.x1.into(), sub.x2.into(), "try".into()),
            "{:?} environment after prepare-boot",
            self.loader
        );
        // The new revision is linked; the tasks after the reboot point have not run.
        assert_eq!(self.current_of(sub.name), "x2");
        let after: Vec<_> = chg["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .skip_while(|t| t["kind"] != "prepare-boot")
            .skip(1)
            .map(|t| t["status"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            !after.is_empty() && after.iter().all(|s| s == "Do"),
            "{after:?}"
        );
    }

    fn teardown(&mut self) {
        if self.daemon.is_none() {
            self.start(&[]);
        }
        self.decommission();
        remove_all_and_stop(&self.root, &mut self.installed, &mut self.daemon);
    }

    /// The device stops booting from its environment, so that the cleanup may remove its
    /// kernel and boot base: the daemon refuses to remove a revision the environment names.
    fn decommission(&self) {
        fn remove_envs(dir: &Path) {
            for e in fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    remove_envs(&p);
                } else if ["grubenv", "uboot.env", "boot.sel"]
                    .iter()
                    .any(|f| e.file_name() == *f)
                {
                    let _ = fs::remove_file(&p);
                }
            }
        }
        remove_envs(&self.path().join("boot"));
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(d) = &self.daemon {
                eprintln!("daemon log:\n{}", d.log_text());
            }
            self.decommission();
            remove_all_best_effort(&self.root, &mut self.installed, &mut self.daemon);
        }
    }
}

fn boot_dir_of(root: &Path, loader: Loader) -> PathBuf {
    root.join(match loader {
        Loader::Grub => "boot/grub",
        Loader::Uboot => "boot/uboot",
    })
}

fn env_name(loader: Loader) -> &'static str {
    match loader {
        Loader::Grub => "grubenv",
        Loader::Uboot => "uboot.env",
    }
}

/// A kernel snap whose boot files (and device tree) say which one it is.
fn kernel_snap(out: &Path, which: &str) -> PathBuf {
    let yaml = format!("name: {KERNEL}\nversion: '{which}'\ntype: kernel\nsummary: test kernel\n");
    make_snap(
        out,
        &yaml,
        &[
            ("kernel.img", &format!("kernel {which}"), 0o644),
            ("initrd.img", &format!("initrd {which}"), 0o644),
            ("dtbs/board.dtb", &format!("dtb {which}"), 0o644),
            ("meta/kernel.yaml", "dynamic-modules: $SNAP_DATA\n", 0o644),
            ("modules/6.1.0/modules.dep", "", 0o644),
        ],
    )
}

/// A base snap whose os-release says which one it is.
/// A test on a grub device (`NAME::grub`) and the same on a U-Boot device (`NAME::uboot`).
macro_rules! on_grub_and_uboot {
    ($(#[$doc:meta])* $name:ident => $body:ident) => {
        $(#[$doc])*
        mod $name {
            #[test]
            fn grub() {
                super::$body(super::Loader::Grub);
            }

            #[test]
            fn uboot() {
                super::$body(super::Loader::Uboot);
            }
        }
    };
}

fn test_base(out: &Path, name: &str, which: &str) -> PathBuf {
    let yaml = format!("name: {name}\nversion: '{which}'\ntype: base\nsummary: test base\n");
    make_snap(
        out,
        &yaml,
        &[("usr/lib/os-release", &format!("ID=test-{which}\n"), 0o644)],
    )
}

on_grub_and_uboot! {
    a_kernel_that_boots_is_confirmed_at_the_next_start => kernel_confirmed
}

fn kernel_confirmed(loader: Loader) {
    need_root!();
    let mut dev = Device::with_x1_on(loader);
    // The first install is no refresh: nothing tried.
    assert_eq!(dev.vars(), (X1.into(), String::new(), String::new()));
    let id = dev.refresh_x2();
    dev.assert_waiting(&id);

    // The daemon restarts without a reboot: the try is still pending.
    dev.stop();
    dev.start(&[]);
    dev.assert_waiting(&id);

    // grub boots the candidate once (saving `trying`), and it reaches the daemon.
    assert_eq!(dev.reboot(), X2);
    assert_eq!(dev.vars(), (X1.into(), X2.into(), "trying".into()));
    dev.start(&[]);
    let chg = wait_change_ready(&dev.root, &id, Duration::from_secs(60));
    assert_eq!(chg["status"], "Done", "{chg:#}");
    assert_eq!(dev.vars(), (X2.into(), String::new(), String::new()));
    if let DevEnv::Uboot(e) = dev.env() {
        // The daemon rewrote the file U-Boot saved in its own size and padding.
        assert_eq!((e.size(), e.redundant(), e.padding()), (131_072, false, 0));
    }
    assert_eq!(dev.current(), "x2");
    // Both kernels' files stay: x1 is the retained revision to go back to.
    assert!(dev.extracted(X1).is_some() && dev.extracted(X2).is_some());
    // The next boot is the new kernel, with nothing left to try.
    assert_eq!(dev.reboot(), X2);
    assert_eq!(dev.vars(), (X2.into(), String::new(), String::new()));
    dev.teardown();
}

on_grub_and_uboot! {
    a_kernel_that_fails_to_boot_is_undone_at_the_next_start => kernel_fell_back
}

/// The change `id` ended in Error because the bootloader fell back to `running` (the `what`,
/// "kernel" or "base", it tried did not boot), with its `link-snap` undone.
fn assert_undone_by_fallback(dev: &Device, id: &str, what: &str, running: &str) {
    let chg = wait_change_ready(&dev.root, id, Duration::from_secs(60));
    assert_eq!(chg["status"], "Error", "{chg:#}");
    let err = chg["err"].as_str().unwrap_or_default();
    let expected = format!("the new {what} failed to boot: the bootloader fell back to {running}");
    assert!(err.contains(&expected), "{chg:#}");
    let link = chg["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "link-snap")
        .unwrap();
    assert_eq!(link["status"], "Undone", "{chg:#}");
}

fn kernel_fell_back(loader: Loader) {
    need_root!();
    let mut dev = Device::with_x1_on(loader);
    let id = dev.refresh_x2();
    dev.assert_waiting(&id);

    // grub boots the candidate, which dies before the daemon runs; the next boot finds
    // `trying` and falls back to x1.
    assert_eq!(dev.reboot(), X2);
    assert_eq!(dev.reboot(), X1);
    assert_eq!(dev.vars(), (X1.into(), X2.into(), String::new()));
    dev.start(&[]);
    assert_undone_by_fallback(&dev, &id, "kernel", X1);
    assert_eq!(dev.current(), "x1");
    let list = ok(&dev.root.snap(&["list"]));
    assert!(
        list.lines()
            .any(|l| l.split_whitespace().take(3).collect::<Vec<_>>() == [KERNEL, "one", "x1"]),
        "{list}"
    );
    assert_eq!(dev.vars(), (X1.into(), String::new(), String::new()));
    assert_eq!(dev.extracted(X2), None);
    assert!(!dev.kernel_dir(X2).exists());
    assert!(dev.extracted(X1).is_some());
    assert_eq!(dev.reboot(), X1);
    dev.teardown();
}

on_grub_and_uboot! {
    /// The daemon dies after the extraction (before any environment write) and after the first
    /// write (the candidate without `try`): the device boots x1 whenever the power goes there,
    /// and the restarted daemon finishes the refresh.
    a_crash_during_prepare_boot_leaves_a_bootable_device_and_resumes => crash_during_prepare_boot
}

fn crash_during_prepare_boot(loader: Loader) {
    need_root!();
    for point in ["extracted", "env-write-1"] {
        let mut dev = Device::with_x1_on(loader);
        dev.refresh_x2_crashing_at(point);
        assert_eq!(
            dev.extracted(X2),
            Some(("kernel two".into(), "initrd two".into())),
            "{point}"
        );
        let expected_try = if point == "extracted" { "" } else { X2 };
        assert_eq!(
            dev.vars(),
            (X1.into(), expected_try.into(), String::new()),
            "{point}"
        );
        // Whatever the power does now, grub boots x1, whose files are there.
        let saved = fs::read(dev.grubenv()).unwrap();
        assert_eq!(dev.reboot(), X1, "{point}");
        assert_eq!(fs::read(dev.grubenv()).unwrap(), saved, "{point}");

        dev.start(&[]);
        let id = all_changes(&dev.root)
            .last()
            .and_then(|c| c["id"].as_str().map(str::to_owned))
            .unwrap();
        dev.assert_waiting(&id);
        assert_eq!(dev.reboot(), X2, "{point}");
        dev.start(&[]);
        let chg = wait_change_ready(&dev.root, &id, Duration::from_secs(60));
        assert_eq!(chg["status"], "Done", "{point}: {chg:#}");
        assert_eq!(dev.vars(), (X2.into(), String::new(), String::new()));
        dev.teardown();
    }
}

on_grub_and_uboot! {
    /// A refresh confirmed at the start and failing later in its change is undone as a whole:
    /// the boot kernel goes back to x1 directly (both are known to boot) and x2's files go.
    a_confirmed_kernel_refresh_failing_later_switches_the_boot_kernel_back => confirmed_failing_later
}

fn confirmed_failing_later(loader: Loader) {
    need_root!();
    let mut dev = Device::with_x1_on(loader);
    let id = dev.refresh_x2();
    dev.assert_waiting(&id);
    assert_eq!(dev.reboot(), X2);
    // auto-connect is the first task after the reboot point.
    dev.start(&[("SNAPD_TEST_FAIL_TASK", "auto-connect")]);
    let chg = wait_change_ready(&dev.root, &id, Duration::from_secs(60));
    assert_eq!(chg["status"], "Error", "{chg:#}");
    let prepare = chg["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "prepare-boot")
        .unwrap();
    assert_eq!(prepare["status"], "Undone", "{chg:#}");
    assert_eq!(dev.vars(), (X1.into(), String::new(), String::new()));
    assert_eq!(dev.extracted(X2), None);
    assert_eq!(dev.current(), "x1");
    dev.stop();
    assert_eq!(dev.reboot(), X1);
    dev.teardown();
}

/// The daemon dies after both environment writes, before the Wait is recorded, and the power
/// cut reboots the device: grub tries x2 once. The restarted daemon re-runs `prepare-boot`,
/// which concludes the try it finds when x2 runs; when grub already fell back the
/// environment cannot tell this from a try cut after its first write, and x2 is tried again.
#[test]
fn a_power_cut_after_the_writes_is_concluded_by_the_rerun() {
    need_root!();
    for x2_boots in [true, false] {
        let mut dev = Device::with_x1();
        dev.refresh_x2_crashing_at("env-write-2");
        assert_eq!(dev.vars(), (X1.into(), X2.into(), "try".into()));
        assert_eq!(dev.reboot(), X2);
        if !x2_boots {
            assert_eq!(dev.reboot(), X1);
        }
        dev.start(&[]);
        let id = all_changes(&dev.root)
            .last()
            .and_then(|c| c["id"].as_str().map(str::to_owned))
            .unwrap();
        if !x2_boots {
            // grub cleared `trying`: the environment reads as a try prepared only as far as
            // the candidate (a crash after the first write), so the re-run prepares it again
            // and x2 gets one more try, which fails the same way.
            dev.assert_waiting(&id);
            assert_eq!(dev.reboot(), X2);
            assert_eq!(dev.reboot(), X1);
            dev.start(&[]);
        }
        let chg = wait_change_ready(&dev.root, &id, Duration::from_secs(60));
        if x2_boots {
            assert_eq!(chg["status"], "Done", "{chg:#}");
            assert_eq!(dev.vars(), (X2.into(), String::new(), String::new()));
            assert_eq!(dev.current(), "x2");
        } else {
            assert_eq!(chg["status"], "Error", "{chg:#}");
            assert!(
                chg["err"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("fell back to tkernel_x1.snap"),
                "{chg:#}"
            );
            assert_eq!(dev.vars(), (X1.into(), String::new(), String::new()));
            assert_eq!(dev.current(), "x1");
            assert_eq!(dev.extracted(X2), None);
        }
        dev.teardown();
    }
}

// ---- the boot base (`snap_core`, `snap_try_core`, `base_status`) ----

on_grub_and_uboot! {
    /// A refresh of the boot base waits for its reboot with the try prepared in the base's own
    /// variables (nothing extracted: the initramfs mounts the snap file); booting the new base
    /// confirms it.
    a_base_that_boots_is_confirmed_at_the_next_start => base_confirmed
}

fn base_confirmed(loader: Loader) {
    need_root!();
    let mut dev = Device::with_base_x1_on(loader);
    assert_eq!(
        dev.slot_vars(BASE_SLOT),
        (BX1.into(), String::new(), String::new())
    );
    let kernel_before = dev.vars();
    let id = dev.refresh(&dev.b2.clone());
    dev.assert_waiting_for(BASE_SUBJECT, &id);
    assert!(dev.snap_file(BX2).is_file());
    assert!(!dev.kernel_dir(BX2).exists());
    // The kernel's try state is not touched.
    assert_eq!(dev.vars(), kernel_before);

    // The daemon restarts without a reboot: the try is still pending.
    dev.stop();
    dev.start(&[]);
    dev.assert_waiting_for(BASE_SUBJECT, &id);

    // grub passes the candidate once (saving `trying`), and the system reaches the daemon.
    let booted = dev.reboot_all();
    assert_eq!((booted.kernel.as_str(), booted.base.as_str()), (X1, BX2));
    assert_eq!(
        dev.slot_vars(BASE_SLOT),
        (BX1.into(), BX2.into(), "trying".into())
    );
    dev.start(&[]);
    let chg = wait_change_ready(&dev.root, &id, Duration::from_secs(60));
    assert_eq!(chg["status"], "Done", "{chg:#}");
    assert_eq!(
        dev.slot_vars(BASE_SLOT),
        (BX2.into(), String::new(), String::new())
    );
    assert_eq!(dev.vars(), kernel_before);
    assert_eq!(dev.current_of(BASE), "x2");
    // Both files stay: x1 is the retained revision to go back to.
    assert!(dev.snap_file(BX1).is_file() && dev.snap_file(BX2).is_file());
    assert_eq!(dev.reboot_base(), BX2);
    assert_eq!(
        dev.slot_vars(BASE_SLOT),
        (BX2.into(), String::new(), String::new())
    );
    dev.teardown();
}

/// The new base never reaches the daemon; grub falls back to x1 and the refresh is undone.
#[test]
fn a_base_that_fails_to_boot_is_undone_at_the_next_start() {
    need_root!();
    let mut dev = Device::with_base_x1();
    let id = dev.refresh(&dev.b2.clone());
    dev.assert_waiting_for(BASE_SUBJECT, &id);

    assert_eq!(dev.reboot_base(), BX2);
    assert_eq!(dev.reboot_base(), BX1);
    assert_eq!(
        dev.slot_vars(BASE_SLOT),
        (BX1.into(), BX2.into(), String::new())
    );
    dev.start(&[]);
    assert_undone_by_fallback(&dev, &id, "base", BX1);
    assert_eq!(dev.current_of(BASE), "x1");
    assert_eq!(
        dev.slot_vars(BASE_SLOT),
        (BX1.into(), String::new(), String::new())
    );
    assert_eq!(dev.vars(), (X1.into(), String::new(), String::new()));
    // The undone revision's file is gone; the one the bootloader names stays.
    assert!(!dev.snap_file(BX2).exists());
    assert!(dev.snap_file(BX1).is_file());
    assert_eq!(dev.reboot_base(), BX1);
    dev.teardown();
}

/// A base the environment does not name is not booted: it refreshes as before, without a
/// reboot point, and the environment is untouched.
#[test]
fn a_base_that_is_not_the_boot_base_refreshes_without_waiting() {
    need_root!();
    let mut dev = Device::new();
    dev.start(&[]);
    let o1 = dev.other.clone();
    dev.install(&o1, OTHER_BASE);
    let env_before = fs::read(dev.grubenv()).unwrap();
    let o2 = test_base(&dev.work.path().join("o2"), OTHER_BASE, "two");
    let id = dev.refresh(&o2);
    let chg = wait_change_ready(&dev.root, &id, Duration::from_secs(60));
    assert_eq!(chg["status"], "Done", "{chg:#}");
    assert!(
        chg["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["kind"] != "prepare-boot"),
        "{chg:#}"
    );
    assert_eq!(dev.current_of(OTHER_BASE), "x2");
    assert_eq!(fs::read(dev.grubenv()).unwrap(), env_before);
    dev.teardown();
}

/// A kernel try and a base try prepared together go through one reboot, each with its own
/// status: both are confirmed independently at the next start.
#[test]
fn a_kernel_and_a_base_tried_together_are_concluded_independently() {
    need_root!();
    let mut dev = Device::with_x1();
    let b1 = dev.b1.clone();
    dev.install(&b1, BASE);
    let kernel = dev.refresh_x2();
    dev.assert_waiting(&kernel);
    let base = dev.refresh(&dev.b2.clone());
    dev.assert_waiting_for(BASE_SUBJECT, &base);
    let booted = dev.reboot_all();
    assert_eq!((booted.kernel.as_str(), booted.base.as_str()), (X2, BX2));
    dev.start(&[]);
    for id in [&kernel, &base] {
        let chg = wait_change_ready(&dev.root, id, Duration::from_secs(60));
        assert_eq!(chg["status"], "Done", "{chg:#}");
    }
    assert_eq!(dev.vars(), (X2.into(), String::new(), String::new()));
    assert_eq!(
        dev.slot_vars(BASE_SLOT),
        (BX2.into(), String::new(), String::new())
    );
    dev.teardown();
}

// ---- revert and removal of a booted kernel or base ----

const REVERT_REASON: &str = "reboot required to try the reverted kernel";
const BASE_REVERT_REASON: &str = "reboot required to try the reverted base";

/// A grub device whose kernel was refreshed from x1 to x2 and x2 confirmed by its boot.
fn with_kernel_x2_confirmed() -> Device {
    let mut dev = Device::with_x1();
    let k2 = dev.k2.clone();
    refresh_and_confirm(&mut dev, KERNEL_SUBJECT, &k2);
    dev
}

/// Refreshes `sub` from x1 to x2 and confirms it across a reboot: x2 current and booted, x1
/// retained.
fn refresh_and_confirm(dev: &mut Device, sub: Subject, file: &Path) {
    let id = dev.refresh(file);
    dev.assert_waiting_for(sub, &id);
    let booted = dev.reboot_all();
    let in_slot = if sub.slot == KERNEL_SLOT {
        booted.kernel
    } else {
        booted.base
    };
    assert_eq!(in_slot, sub.x2);
    dev.start(&[]);
    let chg = wait_change_ready(&dev.root, &id, Duration::from_secs(60));
    assert_eq!(chg["status"], "Done", "{chg:#}");
    assert_eq!(
        dev.slot_vars(sub.slot),
        (sub.x2.into(), "".into(), "".into())
    );
}

/// `snap revert NAME`, which returns once the revert waits for its reboot; the change id and
/// what the command said.
fn revert_waiting(dev: &Device, name: &str) -> (String, String) {
    let out = dev.root.snap(&["revert", name]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    let chg = all_changes(&dev.root)
        .into_iter()
        .rfind(|c| c["kind"] == "revert-snap")
        .unwrap_or_else(|| panic!("no revert change: {said}"));
    (chg["id"].as_str().unwrap().to_owned(), said)
}

/// The revert of `sub` from x2 to x1 waits for its reboot: x1 linked, tried next in the
/// slot's variables, the tasks after the reboot point not run.
fn assert_revert_waiting(dev: &Device, sub: Subject, id: &str, reason: &str, said: &str) {
    assert!(
        said.contains(&format!("Change {id} waits: {reason}")),
        "{said}"
    );
    let chg = dev.wait_status(id, "Wait");
    let kinds: Vec<&str> = chg["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    let link = kinds.iter().position(|k| *k == "link-snap").unwrap();
    assert_eq!(kinds[link + 1], "prepare-boot", "{kinds:?}");
    let task = &chg["tasks"][link + 1];
    assert_eq!(task["status"], "Wait", "{chg:#}");
    assert_eq!(dev.current_of(sub.name), "x1");
    assert_eq!(
        dev.slot_vars(sub.slot),
        (sub.x2.into(), sub.x1.into(), "try".into()),
        "grubenv after the revert's prepare-boot"
    );
}

/// A confirmed kernel refresh reverted: the revert extracts x1's boot files again (they may
/// be gone from the boot partition), makes x1 the kernel tried at the next boot, waits for
/// that reboot (`snap revert` says so), and is confirmed when x1 runs: x1 current and
/// booted from then on. When x1 fails to boot instead, the bootloader falls back to x2 and
/// the revert is undone.
#[test]
fn reverting_a_confirmed_kernel_refresh_boots_the_old_kernel() {
    need_root!();
    for x1_boots in [true, false] {
        let mut dev = with_kernel_x2_confirmed();
        // Boot files missing for the revision reverted to: extracted again.
        fs::remove_dir_all(dev.path().join("boot/grub").join(X1)).unwrap();
        let (id, said) = revert_waiting(&dev, KERNEL);
        assert_revert_waiting(&dev, KERNEL_SUBJECT, &id, REVERT_REASON, &said);
        assert_eq!(
            dev.extracted(X1),
            Some(("kernel one".into(), "initrd one".into()))
        );
        assert_eq!(dev.reboot(), X1);
        if x1_boots {
            dev.start(&[]);
            let chg = wait_change_ready(&dev.root, &id, Duration::from_secs(60));
            assert_eq!(chg["status"], "Done", "{chg:#}");
            assert_eq!(dev.vars(), (X1.into(), String::new(), String::new()));
            assert_eq!(dev.current(), "x1");
            // Both stay: x2 is retained, its files with it.
            assert!(dev.extracted(X2).is_some());
            assert_eq!(dev.reboot(), X1);
            assert_eq!(dev.vars(), (X1.into(), String::new(), String::new()));
        } else {
            assert_eq!(dev.reboot(), X2);
            dev.start(&[]);
            let chg = wait_change_ready(&dev.root, &id, Duration::from_secs(60));
            assert_eq!(chg["status"], "Error", "{chg:#}");
            assert!(
                chg["err"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("fell back to tkernel_x2.snap"),
                "{chg:#}"
            );
            assert_eq!(dev.current(), "x2");
            assert_eq!(dev.vars(), (X2.into(), String::new(), String::new()));
            assert_eq!(dev.reboot(), X2);
        }
        dev.teardown();
    }
}

/// A revert confirmed at the start and failing later in its change is undone: the boot
/// kernel goes back to x2 directly and x2 is current again.
#[test]
fn a_confirmed_kernel_revert_failing_later_switches_the_boot_kernel_back() {
    need_root!();
    let mut dev = with_kernel_x2_confirmed();
    let (id, said) = revert_waiting(&dev, KERNEL);
    assert_revert_waiting(&dev, KERNEL_SUBJECT, &id, REVERT_REASON, &said);
    assert_eq!(dev.reboot(), X1);
    // auto-connect is the first task after the reboot point.
    dev.start(&[("SNAPD_TEST_FAIL_TASK", "auto-connect")]);
    let chg = wait_change_ready(&dev.root, &id, Duration::from_secs(60));
    assert_eq!(chg["status"], "Error", "{chg:#}");
    assert_eq!(dev.vars(), (X2.into(), String::new(), String::new()));
    assert_eq!(dev.current(), "x2");
    assert!(dev.extracted(X2).is_some());
    dev.stop();
    assert_eq!(dev.reboot(), X2);
    dev.teardown();
}

/// The boot base reverted after a confirmed refresh: x1 is tried at the next boot in the
/// base's variables (nothing extracted), confirmed when it runs; the kernel's untouched.
#[test]
fn reverting_a_confirmed_base_refresh_boots_the_old_base() {
    need_root!();
    let mut dev = Device::with_base_x1();
    let kernel_before = dev.vars();
    let b2 = dev.b2.clone();
    refresh_and_confirm(&mut dev, BASE_SUBJECT, &b2);
    let (id, said) = revert_waiting(&dev, BASE);
    assert_revert_waiting(&dev, BASE_SUBJECT, &id, BASE_REVERT_REASON, &said);
    assert!(!dev.path().join("boot/grub").join(BX1).exists());
    assert_eq!(dev.reboot_base(), BX1);
    dev.start(&[]);
    let chg = wait_change_ready(&dev.root, &id, Duration::from_secs(60));
    assert_eq!(chg["status"], "Done", "{chg:#}");
    assert_eq!(
        dev.slot_vars(BASE_SLOT),
        (BX1.into(), String::new(), String::new())
    );
    assert_eq!(dev.vars(), kernel_before);
    assert_eq!(dev.current_of(BASE), "x1");
    assert!(dev.snap_file(BX1).is_file() && dev.snap_file(BX2).is_file());
    assert_eq!(dev.reboot_base(), BX1);
    dev.teardown();
}

/// Removing the kernel the bootloader boots (or the boot base) is refused before anything
/// happens: the environment is byte for byte unchanged and the snap stays.
#[test]
fn removing_the_booted_kernel_or_base_is_refused() {
    need_root!();
    let mut dev = Device::with_x1();
    let b1 = dev.b1.clone();
    dev.install(&b1, BASE);
    let env_before = fs::read(dev.grubenv()).unwrap();
    for (name, named) in [
        (KERNEL, "snap_kernel=tkernel_x1.snap"),
        (BASE, "snap_core=tbase_x1.snap"),
    ] {
        let err = fails(&dev.root.snap(&["remove", name]));
        assert!(
            err.contains(&format!("snap {name:?} is not removable"))
                && err.contains(&format!("({named})")),
            "{err}"
        );
        assert_eq!(dev.current_of(name), "x1");
    }
    assert_eq!(fs::read(dev.grubenv()).unwrap(), env_before);
    assert!(dev.extracted(X1).is_some() && dev.snap_file(BX1).is_file());
    assert!(
        all_changes(&dev.root)
            .iter()
            .all(|c| c["kind"] != "remove-snap")
    );
    assert_eq!(dev.reboot(), X1);
    dev.teardown();
}

/// The discard of old revisions at the end of a kernel refresh (`refresh.retain`, 2 by
/// default) takes a discarded kernel's boot files with it, and keeps a revision the boot
/// environment still names when the discard runs.
#[test]
fn discarding_old_kernels_keeps_what_the_bootloader_names() {
    need_root!();
    let mut dev = with_kernel_x2_confirmed();
    // x1 → x2 → x3: x1 goes, with its files on the boot partition.
    let k3 = kernel_snap(&dev.work.path().join("k3"), "three");
    let id = dev.refresh(&k3);
    dev.wait_status(&id, "Wait");
    assert_eq!(dev.reboot(), "tkernel_x3.snap");
    dev.start(&[]);
    let chg = wait_change_ready(&dev.root, &id, Duration::from_secs(60));
    assert_eq!(chg["status"], "Done", "{chg:#}");
    assert!(
        chg["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["kind"] == "discard-snap")
    );
    assert_eq!(dev.extracted(X1), None);
    assert!(!dev.snap_file(X1).exists());
    assert!(dev.extracted(X2).is_some() && dev.snap_file(X2).is_file());

    // x2 → x3 → x4 discards x2; the daemon dies as its data is about to go, and meanwhile
    // the environment is made to name x2 again (as one written by hand, or left by a revert
    // that did not go through the bootloader). The resumed discard keeps x2 and says why.
    let k4 = kernel_snap(&dev.work.path().join("k4"), "four");
    let id = dev.refresh(&k4);
    dev.wait_status(&id, "Wait");
    assert_eq!(dev.reboot(), "tkernel_x4.snap");
    dev.daemon = Some(start_daemon_may_crash(
        &dev.root,
        &[
            ("SNAPD_TEST_CMDLINE_FILE", dev.cmdline().to_str().unwrap()),
            ("SNAPD_CRASH_AFTER_TASK", "clear-snap:Doing"),
        ],
    ));
    let st = dev.daemon.as_mut().unwrap().wait_exit();
    assert!(!st.success(), "the daemon did not crash");
    dev.daemon = None;
    assert_eq!(
        dev.vars(),
        ("tkernel_x4.snap".into(), String::new(), String::new())
    );
    let mut env = dev.env();
    env.set("snap_kernel", X2).unwrap();
    fs::write(dev.grubenv(), env.encode().unwrap()).unwrap();
    dev.start(&[]);
    let chg = wait_change_ready(&dev.root, &id, Duration::from_secs(60));
    assert_eq!(chg["status"], "Done", "{chg:#}");
    let discard = chg["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "discard-snap")
        .unwrap();
    assert!(
        discard["log"].as_array().is_some_and(|l| l.iter().any(|e| e
            .as_str()
            .unwrap_or("")
            .contains(
                "revision x2 kept: the boot environment names it (snap_kernel=tkernel_x2.snap)"
            ))),
        "{discard:#}"
    );
    assert!(dev.extracted(X2).is_some() && dev.snap_file(X2).is_file());
    let list = ok(&dev.root.snap(&["list", "--all"]));
    assert!(
        list.lines()
            .any(|l| l.split_whitespace().nth(2) == Some("x2")),
        "{list}"
    );
    // What the environment names boots.
    assert_eq!(dev.reboot(), X2);
    dev.teardown();
}

/// The API's `maintenance` while a try waits for its reboot, and the reboot the daemon asks
/// for: `SNAPD_REBOOT_COMMAND` runs once per request; a daemon restarted in the same boot
/// asks again, one started in another boot that still finds `try` (a bootloader that ignored
/// the try) does not; aborting the waiting refresh withdraws the announcement.
#[test]
fn the_daemon_asks_for_the_reboot_a_try_needs_and_withdraws_it() {
    need_root!();
    let mut dev = Device::on(Loader::Grub);
    let asked = dev.work.path().join("reboot-asked");
    let command = format!("echo asked >> {}", asked.display());
    let env = [
        ("SNAPD_REBOOT_COMMAND", command.as_str()),
        ("SNAPD_REBOOT_DELAY_MS", "0"),
        ("SNAPD_TEST_BOOT_ID", "boot-1"),
    ];
    dev.start(&env);
    dev.install_x1();
    let maintenance = |dev: &Device| api_get(&dev.root, "/v2/system-info")["maintenance"].clone();
    assert!(maintenance(&dev).is_null(), "nothing to announce yet");
    let times_asked = || {
        fs::read_to_string(&asked)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };
    let wait_asked = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while times_asked() < n {
            assert!(Instant::now() < deadline, "the reboot command did not run");
            std::thread::sleep(Duration::from_millis(20));
        }
    };

    let id = dev.refresh_x2();
    dev.assert_waiting(&id);
    assert_eq!(
        maintenance(&dev),
        serde_json::json!({"kind": "system-restart", "message": "system is restarting"})
    );
    wait_asked(1);

    // Restarted before the reboot came: asked again.
    dev.stop();
    dev.start(&env);
    wait_asked(2);
    assert_eq!(maintenance(&dev)["kind"], "system-restart");

    // Started in another boot that still finds `try` on x1: the change keeps waiting, but
    // nothing asks for a reboot that would only come back here.
    dev.stop();
    let other_boot = [env[0], env[1], ("SNAPD_TEST_BOOT_ID", "boot-2")];
    dev.start(&other_boot);
    assert_eq!(dev.change(&id)["status"], "Wait");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(times_asked(), 2);
    assert!(maintenance(&dev).is_null(), "{}", maintenance(&dev));

    // Back in the boot that asked; then the refresh is aborted: undone, no restart announced.
    dev.stop();
    dev.start(&env);
    wait_asked(3);
    ok(&dev.root.snap(&["abort", &id]));
    let chg = wait_change_ready(&dev.root, &id, Duration::from_secs(60));
    assert_eq!(chg["status"], "Undone", "{chg:#}");
    assert!(maintenance(&dev).is_null(), "{}", maintenance(&dev));
    assert_eq!(dev.vars(), (X1.into(), String::new(), String::new()));
    assert_eq!(dev.current(), "x1");
    dev.teardown();
}
