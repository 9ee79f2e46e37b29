//! Fixtures shared by the squashfs tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const SNAP_YAML: &str = "name: fixture\nversion: '1.2'\nsummary: s\ndescription: d\n\
apps:\n  fixture:\n    command: bin/run --flag\n  svc:\n    command: $SNAP/bin/svc\n    daemon: simple\n    stop-command: bin/stop\n";

/// A tree with files of several sizes (below and above one block), nested dirs, internal
/// symlinks and modes that must survive packing.
pub fn make_tree(root: &Path) {
    write(root, "meta/snap.yaml", SNAP_YAML.as_bytes(), 0o644);
    write(root, "bin/run", b"#!/bin/sh\necho run\n", 0o755);
    write(root, "bin/svc", b"#!/bin/sh\nsleep 1\n", 0o755);
    write(root, "bin/stop", b"#!/bin/sh\n", 0o700);
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    write(root, "share/data/big.bin", &big, 0o644);
    write(root, "share/data/empty", b"", 0o600);
    write(root, "share/doc/README", b"hello\n", 0o444);
    fs::create_dir_all(root.join("empty-dir")).unwrap();
    symlink("../share/doc/README", root.join("bin/readme")).unwrap();
    symlink("/usr/bin/python3", root.join("bin/python3")).unwrap();
    symlink("run", root.join("bin/run-alias")).unwrap();
}

pub fn write(root: &Path, rel: &str, content: &[u8], mode: u32) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, content).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
}

/// What a tree holds, as comparable data: path → (kind, permission bits, content or target).
pub fn describe_tree(root: &Path) -> BTreeMap<PathBuf, (char, u32, Vec<u8>)> {
    let mut out = BTreeMap::new();
    for e in walkdir_sorted(root) {
        let rel = e.strip_prefix(root).unwrap().to_owned();
        if rel.as_os_str().is_empty() {
            continue;
        }
        let md = fs::symlink_metadata(&e).unwrap();
        let perm = md.permissions().mode() & 0o7777;
        let entry = if md.file_type().is_symlink() {
            (
                'l',
                0,
                fs::read_link(&e).unwrap().into_os_string().into_vec(),
            )
        } else if md.is_dir() {
            ('d', perm, Vec::new())
        } else {
            ('f', perm, fs::read(&e).unwrap())
        };
        out.insert(rel, entry);
    }
    out
}

fn walkdir_sorted(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![root.to_owned()];
    let mut i = 0;
    while i < out.len() {
        let p = out[i].clone();
        i += 1;
        if fs::symlink_metadata(&p).unwrap().is_dir() {
            let mut kids: Vec<_> = fs::read_dir(&p)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            kids.sort();
            out.extend(kids);
        }
    }
    out
}

use std::os::unix::ffi::OsStringExt;

/// Runs a tool the tests use as an oracle; fails loudly if it is not installed, since
/// `scripts/setup.sh` installs it.
pub fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} must be installed (scripts/setup.sh does it): {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
