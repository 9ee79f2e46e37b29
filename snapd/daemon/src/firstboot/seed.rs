//! `seed.yaml` (snapd's UC16 seed format, as `snap-image` writes it) and the order the seeded
//! snaps are installed in. Pure: the caller reads the files.

use std::collections::BTreeSet;

use serde::Deserialize;
use snap_core::SnapType;

/// Why a seed cannot be used. Nothing is installed when the seed is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SeedError {
    #[error("cannot read seed.yaml: {0}")]
    Yaml(String),
    #[error("seed.yaml lists no snaps")]
    Empty,
    #[error("seed.yaml: snap {0:?} is listed twice")]
    Duplicate(String),
    #[error("seed.yaml: snap {name:?} has an invalid file name {file:?}")]
    BadFile { name: String, file: String },
    #[error(
        "seed.yaml: snap {0:?} is asserted, and seeds with assertions are not supported yet (only `unasserted: true` snaps)"
    )]
    Asserted(String),
    #[error(
        "seed.yaml: snap {name:?} is listed as type {listed}, but its file is of type {actual}"
    )]
    TypeMismatch {
        name: String,
        listed: String,
        actual: String,
    },
    #[error("seed.yaml lists snap {listed:?}, but its file {file:?} holds snap {actual:?}")]
    NameMismatch {
        listed: String,
        file: String,
        actual: String,
    },
}

/// One `snaps:` entry. Fields snapd has that we do not use (`snap-id`, `channel`, `contact`,
/// `private`) are accepted and ignored, so a seed made by other tools still reads.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct SeedEntry {
    pub name: String,
    #[serde(rename = "type", default)]
    pub snap_type: Option<String>,
    pub file: String,
    #[serde(default)]
    pub unasserted: bool,
    #[serde(default)]
    pub devmode: bool,
    #[serde(default)]
    pub classic: bool,
}

#[derive(Deserialize)]
struct SeedYaml {
    #[serde(default)]
    snaps: Vec<SeedEntry>,
}

/// Parses and checks `seed.yaml`: at least one snap, each once, each an unasserted file
/// directly inside `snaps/`.
pub fn parse(text: &str) -> Result<Vec<SeedEntry>, SeedError> {
    let seed: SeedYaml =
        serde_saphyr::from_str(text).map_err(|e| SeedError::Yaml(e.to_string()))?;
    if seed.snaps.is_empty() {
        return Err(SeedError::Empty);
    }
    let mut seen = BTreeSet::new();
    for e in &seed.snaps {
        if !seen.insert(e.name.as_str()) {
            return Err(SeedError::Duplicate(e.name.clone()));
        }
        // A path would let the seed point anywhere on the device.
        if e.file.is_empty()
            || e.file.contains('/')
            || e.file == "."
            || e.file == ".."
            || e.file.contains('\0')
        {
            return Err(SeedError::BadFile {
                name: e.name.clone(),
                file: e.file.clone(),
            });
        }
        if !e.unasserted {
            return Err(SeedError::Asserted(e.name.clone()));
        }
    }
    Ok(seed.snaps)
}

/// Checks an entry against what its file says it is.
pub fn check_file(e: &SeedEntry, actual_name: &str, actual: SnapType) -> Result<(), SeedError> {
    if actual_name != e.name {
        return Err(SeedError::NameMismatch {
            listed: e.name.clone(),
            file: e.file.clone(),
            actual: actual_name.to_owned(),
        });
    }
    if let Some(listed) = &e.snap_type
        && listed != actual.as_str()
    {
        return Err(SeedError::TypeMismatch {
            name: e.name.clone(),
            listed: listed.clone(),
            actual: actual.as_str().to_owned(),
        });
    }
    Ok(())
}

fn rank(t: SnapType) -> u8 {
    match t {
        SnapType::Snapd => 0,
        SnapType::Os | SnapType::Base => 1,
        SnapType::Kernel => 2,
        SnapType::Gadget => 3,
        SnapType::App => 4,
    }
}

/// The install order: the snapd-type snap, bases (the seed's order among them, which puts the
/// boot base first as `snap-image` writes it), the kernel, the gadget, then apps in the seed's
/// order. snapd sorts the essential snaps first the same way whatever the file's order.
pub fn install_order<T>(mut snaps: Vec<(T, SnapType)>) -> Vec<(T, SnapType)> {
    snaps.sort_by_key(|(_, t)| rank(*t));
    snaps
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAP_IMAGE_SEED: &str = "snaps:\n  - name: snapd\n    type: snapd\n    file: snapd_x1.snap\n    unasserted: true\n  - name: core22\n    type: base\n    file: core22_x1.snap\n    unasserted: true\n";

    #[test]
    fn reads_what_snap_image_writes() {
        let got = parse(SNAP_IMAGE_SEED).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].name, "snapd");
        assert_eq!(got[0].snap_type.as_deref(), Some("snapd"));
        assert_eq!(got[1].file, "core22_x1.snap");
        assert!(got[1].unasserted);
    }

    #[test]
    fn unknown_snapd_fields_are_ignored() {
        let y = "snaps:\n  - name: a\n    snap-id: xyz\n    channel: stable\n    file: a_x1.snap\n    unasserted: true\n";
        assert_eq!(parse(y).unwrap()[0].name, "a");
    }

    #[test]
    fn bad_seeds_are_refused() {
        assert_eq!(parse("snaps: []\n").unwrap_err(), SeedError::Empty);
        assert!(matches!(parse("snaps: 3\n"), Err(SeedError::Yaml(_))));
        let two = "snaps:\n  - {name: a, file: a.snap, unasserted: true}\n  - {name: a, file: b.snap, unasserted: true}\n";
        assert_eq!(parse(two).unwrap_err(), SeedError::Duplicate("a".into()));
        for file in ["../../etc/passwd", "sub/a.snap", "..", ""] {
            let y = format!("snaps:\n  - {{name: a, file: {file:?}, unasserted: true}}\n");
            assert!(
                matches!(parse(&y), Err(SeedError::BadFile { .. })),
                "{file:?} accepted"
            );
        }
        let asserted = "snaps:\n  - {name: a, file: a_1.snap}\n";
        assert_eq!(
            parse(asserted).unwrap_err(),
            SeedError::Asserted("a".into())
        );
    }

    #[test]
    fn file_must_match_its_entry() {
        let e = &parse(SNAP_IMAGE_SEED).unwrap()[1];
        assert!(check_file(e, "core22", SnapType::Base).is_ok());
        assert!(matches!(
            check_file(e, "core22", SnapType::App),
            Err(SeedError::TypeMismatch { .. })
        ));
        assert!(matches!(
            check_file(e, "core24", SnapType::Base),
            Err(SeedError::NameMismatch { .. })
        ));
    }

    #[test]
    fn order_is_snapd_bases_kernel_gadget_apps() {
        let got = install_order(vec![
            ("hello", SnapType::App),
            ("pc", SnapType::Gadget),
            ("core22", SnapType::Base),
            ("pc-kernel", SnapType::Kernel),
            ("core24", SnapType::Base),
            ("world", SnapType::App),
            ("snapd", SnapType::Snapd),
        ]);
        let names: Vec<_> = got.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "snapd",
                "core22",
                "core24",
                "pc-kernel",
                "pc",
                "hello",
                "world"
            ]
        );
    }
}
