//! Every snap.yaml from snapd's own test tree must fare here as it fares in snapd.
//!
//! `corpus-invalid.txt` lists the files snapd refuses, with the stage (`parse`: snap.yaml
//! parsing/validation, i.e. `snap pack` already fails; `install`: the static install-time
//! checks) and a piece of our error. `corpus-warnings.txt` lists the files snapd installs with
//! an "unknown interface" warning. Every other file must parse, validate and pass the install
//! checks with no warning.

use snap_core::install::{AssumesContext, SNAPD_FEATURES, check_assumes, check_system_usernames};
use snap_core::{SnapYaml, parse_snap_yaml_with_interfaces};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn corpus_dir() -> PathBuf {
    match std::env::var_os("SNAP_CORPUS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/snap-yaml"),
    }
}

/// `file<TAB>what<TAB>detail` lines; `#` starts a comment line.
fn table(text: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "malformed expectations line: {line:?}");
        out.entry(cols[0].to_owned())
            .or_default()
            .push((cols[1].to_owned(), cols[2].to_owned()));
    }
    out
}

fn known_interfaces() -> Vec<&'static str> {
    include_str!("snapd-interfaces.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect()
}

fn install_checks(snap: &SnapYaml) -> Result<(), String> {
    check_system_usernames(snap, None)?;
    let ctx = AssumesContext {
        // A development snapd, as the one the spread tests run, satisfies any snapdX.Y.
        snapd_version: "unknown",
        features: SNAPD_FEATURES,
        architecture: "amd64",
        isa_supported: &|_| true,
    };
    check_assumes(&snap.assumes, &ctx)
}

#[test]
fn corpus_matches_snapd() {
    let dir = corpus_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read corpus at {}: {e}", dir.display()))
        .map(|e| e.expect("corpus directory entry").path())
        .collect();
    files.sort();
    let yaml_files: Vec<&PathBuf> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    assert_eq!(
        yaml_files.len(),
        files.len(),
        "the corpus directory holds files this test would not read"
    );
    assert!(!yaml_files.is_empty(), "empty corpus at {}", dir.display());

    let invalid = table(include_str!("corpus-invalid.txt"));
    let warnings = table(include_str!("corpus-warnings.txt"));
    let names: Vec<String> = yaml_files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for listed in invalid.keys().chain(warnings.keys()) {
        assert!(
            names.contains(listed),
            "expectation for missing file {listed}"
        );
    }

    let ifaces = known_interfaces();
    let known = |name: &str| ifaces.contains(&name);
    let mut seen = 0;
    let mut failures = Vec::new();
    for (path, name) in yaml_files.iter().zip(&names) {
        seen += 1;
        let bytes = std::fs::read(path).expect("read corpus file");
        let parsed = parse_snap_yaml_with_interfaces(&bytes, &known);
        let expected = invalid.get(name).and_then(|v| v.first());
        match (expected, &parsed) {
            (Some((stage, want)), Err(e)) if stage == "parse" => {
                if !e.to_string().contains(want.as_str()) {
                    failures.push(format!("{name}: error {e:?} lacks {want:?}"));
                }
            }
            (Some((stage, want)), Ok(snap)) if stage == "install" => match install_checks(snap) {
                Err(e) if e.contains(want.as_str()) => {}
                Err(e) => failures.push(format!("{name}: install error {e:?} lacks {want:?}")),
                Ok(()) => failures.push(format!("{name}: install checks unexpectedly passed")),
            },
            (Some((stage, _)), Ok(_)) => failures.push(format!(
                "{name}: unexpectedly valid (expected {stage} failure)"
            )),
            (Some((stage, _)), Err(e)) => failures.push(format!(
                "{name}: expected an {stage} failure, got parse error {e}"
            )),
            (None, Err(e)) => failures.push(format!("{name}: unexpectedly invalid: {e}")),
            (None, Ok(snap)) => {
                if let Err(e) = install_checks(snap) {
                    failures.push(format!("{name}: install checks failed: {e}"));
                }
            }
        }
        if let Ok(snap) = &parsed {
            let want = warnings.get(name).cloned().unwrap_or_default();
            for (plug, reason) in &want {
                match snap.bad_interfaces.get(plug) {
                    Some(r) if r.contains(reason.as_str()) => {}
                    other => failures.push(format!(
                        "{name}: expected warning for {plug} ({reason}), got {other:?}"
                    )),
                }
            }
            if snap.bad_interfaces.len() != want.len() {
                failures.push(format!(
                    "{name}: warnings {:?}, expected {want:?}",
                    snap.bad_interfaces
                ));
            }
        }
    }
    assert_eq!(seen, names.len());
    assert!(
        failures.is_empty(),
        "{} of {seen} corpus files differ from snapd:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
