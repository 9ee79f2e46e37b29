//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use gadget_kernel::{GadgetError, GadgetYaml, Volume};

/// The gadget.yaml corpus: `$GADGET_CORPUS_DIR`, or `shared/corpus/gadget-yaml` next to the
/// workspace.
pub fn corpus_dir() -> PathBuf {
    match std::env::var_os("GADGET_CORPUS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/gadget-yaml"),
    }
}

/// Reads one corpus file.
pub fn corpus_file(name: &str) -> Vec<u8> {
    let path = corpus_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Parses `yaml` for an image build.
pub fn parse(yaml: &str) -> Result<GadgetYaml, GadgetError> {
    gadget_kernel::parse_gadget_yaml(yaml.as_bytes())
}

/// The error message of parsing `yaml` for an image build (panics if it parses).
pub fn parse_err(yaml: &str) -> String {
    match parse(yaml) {
        Ok(_) => panic!("expected an error for:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}

/// The only volume of a parsed gadget.
pub fn only_volume(g: &GadgetYaml) -> &Volume {
    assert_eq!(g.volumes().len(), 1);
    &g.volumes()[0]
}

/// A one-volume gadget (`pc`, grub) with the given structure list (YAML, indented by 6).
pub fn pc_with(structures: &str) -> String {
    format!("volumes:\n  pc:\n    bootloader: grub\n    structure:\n{structures}")
}
