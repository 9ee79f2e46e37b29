//! First boot: a classic-style image (no grade) is built with `snap-image`, its seed is copied
//! out of the image's ext4 `writable` partition with `debugfs rdump` (nothing is mounted) into
//! a fresh root, and the daemon started on that root seeds it: one `seed` change installing
//! the snaps in order, the gadget's `system` defaults applied, `seeded` reported; a restart
//! does nothing more. A broken seed, a failing seed change and a crash mid-seeding leave the
//! root as it was or finish the same change.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use snap_tests::*;

/// Two structures, the classic UC16 layout: the seed goes into `writable`.
const GADGET: &str = r#"volumes:
  pc:
    bootloader: grub
    structure:
      - name: system-boot
        role: system-boot
        type: EF,C12A7328-F81F-11D2-BA4B-00A0C93EC93B
        filesystem: vfat
        filesystem-label: system-boot
        size: 40M
      - name: writable
        role: system-data
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        filesystem: ext4
        filesystem-label: writable
        size: 24M
defaults:
  system:
    refresh:
      retain: 3
    service:
      ssh:
        disable: true
  AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:
    some-option: 1
connections:
  - plug: BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB:camera
    slot: system:camera
"#;

/// The install order the seed must be installed in.
const ORDER: [&str; 5] = ["snapd", "core22", "test-kernel", "test-gadget", "hello"];

/// Builds the image and copies its seed into `root/var/lib/snapd/seed`.
fn seed_root(root: &TestRoot) {
    let work = tempfile::tempdir().unwrap();
    let snaps = work.path().join("snaps");
    let gadget = make_snap(
        &snaps,
        "name: test-gadget\nversion: '1'\ntype: gadget\nbase: core22\nsummary: test gadget\n",
        &[
            ("meta/gadget.yaml", GADGET, 0o644),
            ("grub.conf", "", 0o644),
        ],
    );
    let kernel = make_snap(
        &snaps,
        "name: test-kernel\nversion: '1'\ntype: kernel\nsummary: test kernel\n",
        &[
            ("kernel.img", "not really a kernel\n", 0o644),
            ("initrd.img", "not really an initrd\n", 0o644),
        ],
    );
    let base = base_snap(&snaps, "core22");
    let snapd = make_snap(
        &snaps,
        "name: snapd\nversion: '1'\ntype: snapd\nsummary: snapd\n",
        &[("usr/lib/snapd/snapd", "#!/bin/sh\n", 0o755)],
    );
    // A camera plug: not auto-connected, so only the gadget could connect it.
    let app = make_snap(
        &snaps,
        "name: hello\nversion: '1.0'\nbase: core22\nsummary: test app\nplugs:\n  camera: null\napps:\n  hello:\n    command: bin/run\n",
        &[("bin/run", "#!/bin/sh\necho hi\n", 0o755)],
    );
    // Apps listed first: the seed's order comes from snap-image, not from the model.
    let model = format!(
        "name: test-device\narchitecture: amd64\nsnaps:\n  gadget: {}\n  kernel: {}\n  base: {}\n  snapd: {}\n  apps:\n    - {}\n",
        gadget.display(),
        kernel.display(),
        base.display(),
        snapd.display(),
        app.display()
    );
    let model_path = work.path().join("model.yaml");
    fs::write(&model_path, model).unwrap();
    let out = work.path().join("out");
    ok(&output_within(
        Command::new(bin("snap-image"))
            .arg("--quiet")
            .arg(&model_path)
            .arg("-o")
            .arg(&out),
        Duration::from_secs(120),
    ));
    let img = out.join("pc.img");
    let part = writable_partition(&img, work.path());
    let dest = root.path().join("var/lib/snapd");
    fs::create_dir_all(&dest).unwrap();
    ok(&output_within(
        Command::new("debugfs")
            .arg("-R")
            .arg(format!(
                "rdump /system-data/var/lib/snapd/seed {}",
                dest.display()
            ))
            .arg(&part),
        Duration::from_secs(60),
    ));
    let seed_yaml = fs::read_to_string(dest.join("seed/seed.yaml")).unwrap();
    assert!(
        seed_yaml.contains("file: hello_x1.snap"),
        "seed.yaml: {seed_yaml}"
    );
}

/// The `writable` partition of `img` copied into its own file (debugfs reads a filesystem
/// image, not a partition of a disk image).
fn writable_partition(img: &Path, scratch: &Path) -> PathBuf {
    use std::io::{Read, Seek, SeekFrom};
    let text = ok(&output_within(
        Command::new("sfdisk").arg("--json").arg(img),
        Duration::from_secs(30),
    ));
    let table: serde_json::Value = serde_json::from_str(&text).unwrap();
    let p = table["partitiontable"]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "writable")
        .unwrap_or_else(|| panic!("no writable partition: {table}"))
        .clone();
    let (start, size) = (
        p["start"].as_u64().unwrap() * 512,
        p["size"].as_u64().unwrap() * 512,
    );
    let mut f = fs::File::open(img).unwrap();
    f.seek(SeekFrom::Start(start)).unwrap();
    let mut buf = vec![0u8; size as usize];
    f.read_exact(&mut buf).unwrap();
    let path = scratch.join("writable.img");
    fs::write(&path, buf).unwrap();
    path
}

fn seed_changes(root: &TestRoot) -> Vec<serde_json::Value> {
    all_changes(root)
        .into_iter()
        .filter(|c| c["kind"] == "seed")
        .collect()
}

fn seeded(root: &TestRoot) -> bool {
    api_get(root, "/v2/system-info")["result"]["seeded"]
        .as_bool()
        .expect("system-info has seeded")
}

fn installed(root: &TestRoot) -> Vec<String> {
    let resp = api_get(root, "/v2/snaps");
    let mut names: Vec<String> = resp["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// The root without what every daemon start rewrites (the state, its lock, the log).
fn root_tree(root: &TestRoot) -> std::collections::BTreeMap<PathBuf, String> {
    tree(
        root.path(),
        &[
            "var/lib/snapd/state.json",
            "var/lib/snapd/state.journal",
            "var/lib/snapd/state.lock",
        ],
    )
}

fn wait_seed_change(root: &TestRoot) -> serde_json::Value {
    let list = seed_changes(root);
    let last = list.last().expect("a seed change");
    wait_change_ready(root, last["id"].as_str().unwrap(), Duration::from_secs(120))
}

#[test]
fn first_boot_seeds_in_order_applies_defaults_and_is_done_once() {
    let root = TestRoot::new();
    seed_root(&root);
    let mut daemon = Some(Daemon::start(&root, &[]));
    let mut to_remove: Vec<String> = ORDER.iter().map(|s| s.to_string()).collect();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let chg = wait_seed_change(&root);
        assert_eq!(chg["status"], "Done", "{chg:#}");
        assert_eq!(chg["summary"], "Initialize system state");
        let tasks = chg["tasks"].as_array().unwrap();
        for t in tasks.iter().filter(|t| t["log"].is_array()) {
            eprintln!("{} {}: {}", t["kind"], t["status"], t["log"]);
        }

        // Linked one snap after the other, in the seed's install order.
        let mut links: Vec<(&str, &str)> = tasks
            .iter()
            .filter(|t| t["kind"] == "link-snap")
            .map(|t| {
                (
                    t["ready-time"].as_str().unwrap(),
                    t["summary"].as_str().unwrap(),
                )
            })
            .collect();
        links.sort_by_key(|(at, _)| *at);
        assert!(
            links.windows(2).all(|w| w[0].0 < w[1].0),
            "link-snap tasks finished at distinct times: {links:?}"
        );
        let linked: Vec<&str> = links
            .iter()
            .map(|(_, s)| s.split('"').nth(1).unwrap())
            .collect();
        assert_eq!(linked, ORDER, "link order");
        assert_eq!(
            tasks.last().unwrap()["kind"],
            "mark-seeded",
            "mark-seeded comes last"
        );

        assert_eq!(installed(&root), {
            let mut v: Vec<String> = ORDER.iter().map(|s| s.to_string()).collect();
            v.sort();
            v
        });
        let list = ok(&root.snap(&["list"]));
        for name in ORDER {
            assert!(
                list.lines()
                    .any(|l| l.starts_with(name) && l.contains("x1")),
                "{name} not listed as x1:\n{list}"
            );
        }
        assert!(seeded(&root), "system-info reports seeded");

        // The gadget's `system` defaults, flattened into the system's options.
        assert_eq!(
            ok(&root.snap(&["get", "system", "refresh.retain"])).trim(),
            "3"
        );
        assert_eq!(
            ok(&root.snap(&["get", "system", "service.ssh.disable"])).trim(),
            "true"
        );
        assert_eq!(
            ok(&root.snap(&["get", "system", "seed.loaded"])).trim(),
            "true"
        );

        // The gadget's connection names the app by snap-id; an unasserted seed has none, so it
        // is skipped (and said so), and the camera plug stays unconnected.
        let connect = tasks
            .iter()
            .find(|t| t["kind"] == "gadget-connect")
            .unwrap();
        let log = connect["log"].to_string();
        assert!(
            log.contains("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB") && log.contains("skipped"),
            "gadget-connect log: {log}"
        );
        assert!(
            !tasks.iter().any(|t| t["kind"] == "connect"),
            "no connect task"
        );
        let conns = api_get(&root, "/v2/connections?select=all");
        assert!(
            !conns["result"]["established"].as_array().is_some_and(|a| a
                .iter()
                .any(|c| c["plug"]["snap"] == "hello" && c["plug"]["plug"] == "camera")),
            "camera connected: {conns:#}"
        );
        let mark_log = tasks.last().unwrap()["log"].to_string();
        assert!(
            mark_log.contains("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            "skipped defaults stanza reported: {mark_log}"
        );

        // A restart seeds nothing again.
        let st = daemon.take().unwrap().stop();
        assert!(st.success(), "snapd exited with {st}");
        let before = root_tree(&root);
        daemon = Some(Daemon::start(&root, &[]));
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(seed_changes(&root).len(), 1, "seeded once");
        assert!(seeded(&root));
        assert_eq!(
            ok(&root.snap(&["get", "system", "refresh.retain"])).trim(),
            "3"
        );
        let st = daemon.take().unwrap().stop();
        assert!(st.success(), "snapd exited with {st}");
        assert_eq!(root_tree(&root), before, "a restart changed the root");
        daemon = Some(Daemon::start(&root, &[]));
    }));
    match result {
        Ok(()) => remove_all_and_stop(&root, &mut to_remove, &mut daemon),
        Err(e) => {
            if let Some(d) = &daemon {
                eprintln!("daemon log:\n{}", d.log_text());
            }
            remove_all_best_effort(&root, &mut to_remove, &mut daemon);
            std::panic::resume_unwind(e);
        }
    }
}

#[test]
fn a_broken_seed_leaves_the_device_unseeded_and_a_crash_resumes_seeding() {
    let root = TestRoot::new();
    seed_root(&root);
    let seed = root.path().join("var/lib/snapd/seed");
    let mut daemon: Option<Daemon> = None;
    let mut to_remove: Vec<String> = Vec::new();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // The root as a daemon leaves it when it does nothing: no seed.yaml, no seeding.
        fs::rename(seed.join("seed.yaml"), root.path().join("seed.yaml.aside")).unwrap();
        let mut d = Daemon::start(&root, &[]);
        assert!(!seeded(&root));
        assert!(d.stop().success());
        fs::rename(root.path().join("seed.yaml.aside"), seed.join("seed.yaml")).unwrap();
        let pristine = root_tree(&root);

        // A corrupt snap: refused before anything is done.
        let app = seed.join("snaps/hello_x1.snap");
        let good = fs::read(&app).unwrap();
        fs::write(&app, b"not a squashfs image at all").unwrap();
        let mut d = Daemon::start(&root, &[]);
        assert!(
            seed_changes(&root).is_empty(),
            "no change for a corrupt seed"
        );
        assert!(!seeded(&root));
        assert!(installed(&root).is_empty());
        assert!(
            d.log_text().contains("cannot seed the system"),
            "log: {}",
            d.log_text()
        );
        let warnings = api_get(&root, "/v2/warnings").to_string();
        assert!(
            warnings.contains("cannot seed the system") && warnings.contains("hello_x1.snap"),
            "warnings: {warnings}"
        );
        assert!(d.stop().success());
        fs::write(&app, &good).unwrap();
        assert_eq!(
            root_tree(&root),
            pristine,
            "a refused seed changed the root"
        );

        // The last task fails: every snap installed by the change is undone.
        daemon = Some(Daemon::start(
            &root,
            &[("SNAPD_TEST_FAIL_TASK", "mark-seeded")],
        ));
        let chg = wait_seed_change(&root);
        assert_eq!(chg["status"], "Error", "{chg:#}");
        assert!(
            chg["err"]
                .to_string()
                .contains("injected failure of mark-seeded")
        );
        let undone = chg["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["kind"] == "link-snap" && t["status"] == "Undone")
            .count();
        assert_eq!(undone, ORDER.len(), "every snap was linked, then undone");
        assert!(!seeded(&root));
        assert!(installed(&root).is_empty());
        // No default applied: the option does not exist.
        fails(&root.snap(&["get", "system", "refresh.retain"]));
        let (mounts, loops) = leaks(root.path());
        assert!(
            mounts.is_empty() && loops.is_empty(),
            "{mounts:?} {loops:?}"
        );
        assert!(daemon.take().unwrap().stop().success());
        assert_eq!(
            root_tree(&root),
            pristine,
            "a failed seeding changed the root"
        );

        // The next start tries again; this one dies after the first snap is linked, and the
        // start after it finishes that same change.
        let mut d = start_daemon_may_crash(&root, &[("SNAPD_CRASH_AFTER_TASK", "link-snap")]);
        let st = d.wait_exit();
        assert!(!st.success(), "the daemon should have crashed");
        unmount_all_under(root.path());
        daemon = Some(Daemon::start(&root, &[]));
        to_remove = ORDER.iter().map(|s| s.to_string()).collect();
        let chg = wait_seed_change(&root);
        assert_eq!(chg["status"], "Done", "{chg:#}");
        let list = seed_changes(&root);
        assert_eq!(
            list.len(),
            2,
            "the failed change and the resumed one: {list:#?}"
        );
        assert!(seeded(&root));
        assert_eq!(installed(&root).len(), ORDER.len());
    }));
    match result {
        Ok(()) => remove_all_and_stop(&root, &mut to_remove, &mut daemon),
        Err(e) => {
            if let Some(d) = &daemon {
                eprintln!("daemon log:\n{}", d.log_text());
            }
            remove_all_best_effort(&root, &mut to_remove, &mut daemon);
            std::panic::resume_unwind(e);
        }
    }
}
