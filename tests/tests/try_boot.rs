//! Kernel try-boot, the daemon's half, end to end (`spec/boot.md`, "Daemon"): the real daemon
//! on a test root whose `boot/grub` holds a grubenv, a kernel snap refreshed from x1 to x2.
//! The bootloader is simulated with gadget-kernel's model of grub.cfg (`bootloader_select`,
//! held against real grub by `qemu_boot.rs`) and the booted kernel with a command-line file.
//!
//! Needs root (mounts); each test skips itself otherwise.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gadget_kernel::boot::{
    BootEnv, KERNEL_STATUS, SNAP_KERNEL, SNAP_TRY_KERNEL, bootloader_select,
};
use gadget_kernel::image::env::grubenv::GrubEnv;
use snap_tests::*;

const KERNEL: &str = "tkernel";
const X1: &str = "tkernel_x1.snap";
const X2: &str = "tkernel_x2.snap";
const REASON: &str = "reboot required to try the new kernel";

/// A device: a test root with a grubenv and the seeded kernel's files as the image builder
/// leaves them, the kernel snaps x1 and x2, and the command line the "booted" kernel has.
struct Device {
    root: TestRoot,
    work: tempfile::TempDir,
    daemon: Option<Daemon>,
    k1: PathBuf,
    k2: PathBuf,
}

impl Device {
    fn new() -> Device {
        let root = TestRoot::new();
        let work = tempfile::tempdir().unwrap();
        let boot = root.path().join("boot/grub");
        fs::create_dir_all(boot.join(X1)).unwrap();
        fs::write(boot.join(X1).join("kernel.img"), "kernel one").unwrap();
        fs::write(boot.join(X1).join("initrd.img"), "initrd one").unwrap();
        let mut env = GrubEnv::new();
        // The image builder's UC16/18 variables stay; the protocol ignores them.
        env.set("snap_mode", "").unwrap();
        env.set("snap_core", "core18_x1.snap").unwrap();
        env.set(SNAP_KERNEL, X1).unwrap();
        fs::write(boot.join("grubenv"), env.encode().unwrap()).unwrap();
        let k1 = kernel_snap(&work.path().join("k1"), "one");
        let k2 = kernel_snap(&work.path().join("k2"), "two");
        let d = Device {
            root,
            work,
            daemon: None,
            k1,
            k2,
        };
        d.boot_as(X1);
        d
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    fn cmdline(&self) -> PathBuf {
        self.work.path().join("cmdline")
    }

    fn boot_as(&self, kernel_file: &str) {
        fs::write(
            self.cmdline(),
            format!("console=ttyS0 snap_kernel={kernel_file} panic=-1\n"),
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

    /// A power cycle: the daemon stops, nothing stays mounted, grub runs (its `save_env`
    /// included) and the kernel it picks "boots".
    fn reboot(&mut self) -> String {
        if self.daemon.is_some() {
            self.stop();
        }
        unmount_all_under(self.path());
        let mut env = self.env();
        let booted = bootloader_select(&mut env).unwrap();
        fs::write(self.grubenv(), env.encode().unwrap()).unwrap();
        // The kernel grub loads must be complete on the boot partition.
        let dir = self.path().join("boot/grub").join(&booted);
        assert!(
            dir.join("kernel.img").is_file() && dir.join("initrd.img").is_file(),
            "grub would boot {booted} without its files"
        );
        self.boot_as(&booted);
        booted
    }

    fn grubenv(&self) -> PathBuf {
        self.path().join("boot/grub/grubenv")
    }

    fn env(&self) -> GrubEnv {
        GrubEnv::parse(&fs::read(self.grubenv()).unwrap()).unwrap()
    }

    fn vars(&self) -> (String, String, String) {
        let e = self.env();
        (
            e.var(SNAP_KERNEL).into(),
            e.var(SNAP_TRY_KERNEL).into(),
            e.var(KERNEL_STATUS).into(),
        )
    }

    /// A device with the daemon running and kernel x1 installed.
    fn with_x1() -> Device {
        let mut dev = Device::new();
        dev.start(&[]);
        dev.install_x1();
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
        ok(&self
            .root
            .snap(&["install", "--dangerous", self.k1.to_str().unwrap()]));
        assert_eq!(self.current(), "x1");
    }

    /// Starts the refresh to x2 without waiting; its change id.
    fn refresh_x2(&self) -> String {
        ok(&self.root.snap(&[
            "install",
            "--dangerous",
            "--no-wait",
            self.k2.to_str().unwrap(),
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

    fn current(&self) -> String {
        let info = api_get(&self.root, &format!("/v2/snaps/{KERNEL}"));
        info["result"]["revision"]
            .as_str()
            .unwrap_or_else(|| panic!("{info}"))
            .to_owned()
    }

    fn extracted(&self, kernel_file: &str) -> Option<(String, String)> {
        let dir = self.path().join("boot/grub").join(kernel_file);
        Some((
            fs::read_to_string(dir.join("kernel.img")).ok()?,
            fs::read_to_string(dir.join("initrd.img")).ok()?,
        ))
    }

    /// The refresh waits for its reboot with the try prepared and the files in place.
    fn assert_waiting(&self, id: &str) {
        let chg = self.wait_status(id, "Wait");
        let task = chg["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["kind"] == "prepare-boot")
            .unwrap_or_else(|| panic!("no prepare-boot task: {chg:#}"));
        assert_eq!(task["status"], "Wait", "{chg:#}");
        assert!(
            task["log"]
                .as_array()
                .is_some_and(|l| l.iter().any(|e| e.as_str().unwrap_or("").contains(REASON))),
            "{task:#}"
        );
        assert_eq!(
            self.vars(),
            (X1.into(), X2.into(), "try".into()),
            "grubenv after prepare-boot"
        );
        assert_eq!(
            self.extracted(X2),
            Some(("kernel two".into(), "initrd two".into()))
        );
        // The new revision is linked; the tasks after the reboot point have not run.
        assert_eq!(self.current(), "x2");
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
        let mut installed = vec![KERNEL.to_owned()];
        remove_all_and_stop(&self.root, &mut installed, &mut self.daemon);
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(d) = &self.daemon {
                eprintln!("daemon log:\n{}", d.log_text());
            }
            let mut installed = vec![KERNEL.to_owned()];
            remove_all_best_effort(&self.root, &mut installed, &mut self.daemon);
        }
    }
}

/// A kernel snap whose boot files say which one it is.
fn kernel_snap(out: &Path, which: &str) -> PathBuf {
    let yaml = format!("name: {KERNEL}\nversion: '{which}'\ntype: kernel\nsummary: test kernel\n");
    make_snap(
        out,
        &yaml,
        &[
            ("kernel.img", &format!("kernel {which}"), 0o644),
            ("initrd.img", &format!("initrd {which}"), 0o644),
            ("meta/kernel.yaml", "dynamic-modules: $SNAP_DATA\n", 0o644),
            ("modules/6.1.0/modules.dep", "", 0o644),
        ],
    )
}

#[test]
fn a_kernel_that_boots_is_confirmed_at_the_next_start() {
    need_root!();
    let mut dev = Device::with_x1();
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
    assert_eq!(dev.current(), "x2");
    // Both kernels' files stay: x1 is the retained revision to go back to.
    assert!(dev.extracted(X1).is_some() && dev.extracted(X2).is_some());
    // The next boot is the new kernel, with nothing left to try.
    assert_eq!(dev.reboot(), X2);
    assert_eq!(dev.vars(), (X2.into(), String::new(), String::new()));
    dev.teardown();
}

#[test]
fn a_kernel_that_fails_to_boot_is_undone_at_the_next_start() {
    need_root!();
    let mut dev = Device::with_x1();
    let id = dev.refresh_x2();
    dev.assert_waiting(&id);

    // grub boots the candidate, which dies before the daemon runs; the next boot finds
    // `trying` and falls back to x1.
    assert_eq!(dev.reboot(), X2);
    assert_eq!(dev.reboot(), X1);
    assert_eq!(dev.vars(), (X1.into(), X2.into(), String::new()));
    dev.start(&[]);
    let chg = wait_change_ready(&dev.root, &id, Duration::from_secs(60));
    assert_eq!(chg["status"], "Error", "{chg:#}");
    let err = chg["err"].as_str().unwrap_or_default();
    assert!(
        err.contains("the new kernel failed to boot: the bootloader fell back to tkernel_x1.snap"),
        "{chg:#}"
    );
    let link = chg["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "link-snap")
        .unwrap();
    assert_eq!(link["status"], "Undone", "{chg:#}");
    assert_eq!(dev.current(), "x1");
    let list = ok(&dev.root.snap(&["list"]));
    assert!(
        list.lines()
            .any(|l| l.split_whitespace().take(3).collect::<Vec<_>>() == [KERNEL, "one", "x1"]),
        "{list}"
    );
    assert_eq!(dev.vars(), (X1.into(), String::new(), String::new()));
    assert_eq!(dev.extracted(X2), None);
    assert!(!dev.path().join("boot/grub").join(X2).exists());
    assert!(dev.extracted(X1).is_some());
    assert_eq!(dev.reboot(), X1);
    dev.teardown();
}

/// The daemon dies after the extraction (before any environment write) and after the first
/// write (the candidate without `try`): the device boots x1 whenever the power goes there,
/// and the restarted daemon finishes the refresh.
#[test]
fn a_crash_during_prepare_boot_leaves_a_bootable_device_and_resumes() {
    need_root!();
    for point in ["extracted", "env-write-1"] {
        let mut dev = Device::with_x1();
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

/// A refresh confirmed at the start and failing later in its change is undone as a whole:
/// the boot kernel goes back to x1 directly (both are known to boot) and x2's files go.
#[test]
fn a_confirmed_kernel_refresh_failing_later_switches_the_boot_kernel_back() {
    need_root!();
    let mut dev = Device::with_x1();
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
