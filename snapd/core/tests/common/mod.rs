//! Helpers shared by the integration tests.
#![allow(dead_code)]

use snap_core::{SnapYaml, SnapYamlError, parse_snap_yaml};

/// A minimal valid header, so each test only writes what it is about.
pub const HEAD: &str = "name: test-snap\nversion: '1.0'\n";

/// Parses `HEAD` + `body`, which must be valid.
pub fn ok(body: &str) -> SnapYaml {
    let doc = format!("{HEAD}{body}");
    parse_snap_yaml(doc.as_bytes()).unwrap_or_else(|e| panic!("expected valid, got {e}\n{doc}"))
}

/// Parses `HEAD` + `body`, which must be refused; returns the error.
pub fn err(body: &str) -> SnapYamlError {
    let doc = format!("{HEAD}{body}");
    match parse_snap_yaml(doc.as_bytes()) {
        Ok(_) => panic!("expected an error for:\n{doc}"),
        Err(e) => e,
    }
}

/// Asserts the error is at `path` and its message contains `needle`.
pub fn refused_at(body: &str, path: &str, needle: &str) {
    let e = err(body);
    assert_eq!(e.path(), path, "wrong path for {e}");
    assert!(e.to_string().contains(needle), "{e:?} lacks {needle:?}");
}
