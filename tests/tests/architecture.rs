//! `spec/architecture.md` stays true: the workspace's crates depend on each other only as the
//! table there allows, and `unsafe` stays in the two crates allowed to use it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// Which workspace crates each crate may depend on (normal dependencies), from the spec.
fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let all_but_confine = [
        "snap-core",
        "snap-squashfs",
        "snap-state",
        "snap-sys",
        "snapd-api",
        "snap-interfaces",
        "gadget-kernel",
        "snap-store",
        "snap-snapshots",
    ];
    [
        ("snap-core", vec![]),
        ("snap-squashfs", vec!["snap-core"]),
        ("snap-state", vec![]),
        ("snap-sys", vec![]),
        ("snapd-api", vec!["snap-core"]),
        ("snap-store", vec!["snap-core", "snap-squashfs"]),
        ("snap-snapshots", vec!["snap-core"]),
        ("snapd", all_but_confine.to_vec()),
        ("snap-cli", vec!["snap-core", "snap-squashfs", "snapd-api"]),
        (
            "snap-confine",
            vec!["snap-core", "snap-sys", "snap-interfaces"],
        ),
        ("snap-interfaces", vec!["snap-core"]),
        // The settings UI talks to the daemon over D-Bus only.
        ("snap-settings", vec![]),
        (
            "gadget-kernel",
            vec!["snap-core", "snap-squashfs", "snap-sys"],
        ),
        (
            "snap-tests",
            all_but_confine
                .iter()
                .copied()
                .chain(["snap-confine", "snapd", "snap-cli"])
                .collect(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.into_iter().collect()))
    .collect()
}

fn metadata() -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(&root)
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("metadata JSON")
}

#[test]
fn crates_depend_only_as_the_spec_allows() {
    let meta = metadata();
    let allowed = allowed();
    let packages = meta["packages"].as_array().expect("packages");
    let names: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    for p in packages {
        let name = p["name"].as_str().unwrap();
        let may = allowed.get(name).unwrap_or_else(|| {
            panic!("crate {name} is not in spec/architecture.md's table; add it there and here")
        });
        for dep in p["dependencies"].as_array().unwrap() {
            let dep_name = dep["name"].as_str().unwrap();
            if !names.contains(dep_name) || dep["kind"].as_str() == Some("dev") {
                continue;
            }
            assert!(
                may.contains(dep_name),
                "{name} depends on {dep_name}, which spec/architecture.md does not allow"
            );
        }
    }
}

#[test]
fn only_the_privileged_edges_use_unsafe() {
    let meta = metadata();
    for p in meta["packages"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        if matches!(name, "snap-sys" | "snap-confine") {
            continue;
        }
        for target in p["targets"].as_array().unwrap() {
            let kinds: Vec<&str> = target["kind"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|k| k.as_str())
                .collect();
            if !(kinds.contains(&"lib") || kinds.contains(&"bin")) {
                continue;
            }
            let src = target["src_path"].as_str().unwrap();
            // The probes make raw syscalls on purpose: they are what the sandbox is tested with.
            let target_name = target["name"].as_str().unwrap();
            if name == "snap-tests" && target_name.ends_with("-probe") {
                continue;
            }
            let text = std::fs::read_to_string(src).unwrap();
            assert!(
                text.contains("#![forbid(unsafe_code)]"),
                "{src} ({name}) must say #![forbid(unsafe_code)]"
            );
        }
    }
}
