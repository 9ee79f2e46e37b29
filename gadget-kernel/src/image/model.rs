//! The image model file (`spec/image-model.md`): which snaps make the device and how the
//! image is built. A plain YAML document, not a signed assertion.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use snap_core::bounded_yaml::{YamlFailure, YamlLimits, decode_bounded};

use crate::quantity;

/// 2020-01-01T00:00:00Z: the default time stamped on every file and filesystem. FAT cannot
/// store times before 1980, so 0 is not an option.
pub const DEFAULT_SOURCE_DATE_EPOCH: u64 = 1_577_836_800;

const LIMITS: YamlLimits = YamlLimits {
    max_bytes: 64 * 1024,
    max_depth: 16,
    max_nodes: 10_000,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawModel {
    name: String,
    architecture: String,
    grade: Option<String>,
    system_label: Option<String>,
    sector_size: Option<u64>,
    image_size: Option<String>,
    source_date_epoch: Option<u64>,
    snaps: RawSnaps,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSnaps {
    gadget: String,
    kernel: String,
    base: String,
    snapd: Option<String>,
    #[serde(default)]
    apps: Vec<String>,
}

/// The validated model. Snap paths are resolved against the model file's directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageModel {
    pub name: String,
    pub architecture: String,
    /// `Some("dangerous")` for a UC20-style image (seed on the `system-seed` structure);
    /// `None` for a UC16/18-style one (seed in `system-data`).
    pub grade: Option<String>,
    /// The recovery system label (UC20-style images).
    pub system_label: String,
    pub sector_size: u64,
    /// Grow each image file to at least this size.
    pub image_size: Option<u64>,
    pub source_date_epoch: u64,
    pub gadget: PathBuf,
    pub kernel: PathBuf,
    pub base: PathBuf,
    pub snapd: Option<PathBuf>,
    pub apps: Vec<PathBuf>,
}

impl ImageModel {
    /// Every snap file of the model: gadget, kernel, base, snapd (if any), apps.
    pub fn snap_paths(&self) -> Vec<&Path> {
        let mut out = vec![
            self.gadget.as_path(),
            self.kernel.as_path(),
            self.base.as_path(),
        ];
        out.extend(self.snapd.as_deref());
        out.extend(self.apps.iter().map(PathBuf::as_path));
        out
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// Parses and validates a model; relative snap paths are joined to `base_dir`.
pub fn parse_image_model(bytes: &[u8], base_dir: &Path) -> Result<ImageModel, String> {
    let (raw, _) = decode_bounded::<RawModel>(bytes, &LIMITS).map_err(|f| match f {
        YamlFailure::TooLarge { size, max } => {
            format!("{size} bytes, more than the {max} accepted")
        }
        YamlFailure::Parse { path, message } if path.is_empty() => message,
        YamlFailure::Parse { path, message } => format!("{path}: {message}"),
    })?;
    if !is_name(&raw.name) {
        return Err(format!(
            "invalid name {:?}: lower-case letters, digits and dashes",
            raw.name
        ));
    }
    if raw.architecture.is_empty()
        || !raw
            .architecture
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(format!("invalid architecture {:?}", raw.architecture));
    }
    match raw.grade.as_deref() {
        None | Some("dangerous") => {}
        Some(g @ ("signed" | "secured")) => {
            return Err(format!(
                "grade {g:?} needs signed snaps and assertions, which snap-image does not handle: use \"dangerous\""
            ));
        }
        Some(g) => {
            return Err(format!(
                "invalid grade {g:?}: use \"dangerous\" or leave it out"
            ));
        }
    }
    if raw.system_label.is_some() && raw.grade.is_none() {
        return Err("system-label needs a grade (UC20-style images only)".into());
    }
    let system_label = raw.system_label.unwrap_or_else(|| "image".to_owned());
    if !is_name(&system_label) {
        return Err(format!("invalid system-label {system_label:?}"));
    }
    let sector_size = raw.sector_size.unwrap_or(512);
    if sector_size != 512 && sector_size != 4096 {
        return Err(format!(
            "sector-size must be 512 or 4096, not {sector_size}"
        ));
    }
    let image_size = raw
        .image_size
        .as_deref()
        .map(|s| quantity::parse_size(s).map_err(|e| format!("image-size: {e}")))
        .transpose()?;
    let source_date_epoch = raw.source_date_epoch.unwrap_or(DEFAULT_SOURCE_DATE_EPOCH);
    // FAT dates run from 1980 to 2107.
    if !(315_532_800..4_354_819_199).contains(&source_date_epoch) {
        return Err(format!(
            "source-date-epoch {source_date_epoch} is outside what FAT can store (1980-2107)"
        ));
    }
    let path = |p: &str, what: &str| -> Result<PathBuf, String> {
        if p.is_empty() {
            return Err(format!("snaps.{what}: empty path"));
        }
        Ok(base_dir.join(p))
    };
    Ok(ImageModel {
        name: raw.name,
        architecture: raw.architecture,
        grade: raw.grade,
        system_label,
        sector_size,
        image_size,
        source_date_epoch,
        gadget: path(&raw.snaps.gadget, "gadget")?,
        kernel: path(&raw.snaps.kernel, "kernel")?,
        base: path(&raw.snaps.base, "base")?,
        snapd: raw
            .snaps
            .snapd
            .as_deref()
            .map(|p| path(p, "snapd"))
            .transpose()?,
        apps: raw
            .snaps
            .apps
            .iter()
            .map(|p| path(p, "apps"))
            .collect::<Result<_, _>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PC: &str = "name: test-pc\narchitecture: amd64\ngrade: dangerous\nsnaps:\n  gadget: pc.snap\n  kernel: /abs/k.snap\n  base: core22.snap\n  apps: [hello.snap]\n";

    #[test]
    fn parses_and_resolves_paths() {
        let m = parse_image_model(PC.as_bytes(), Path::new("/models")).unwrap();
        assert_eq!(m.gadget, Path::new("/models/pc.snap"));
        assert_eq!(m.kernel, Path::new("/abs/k.snap"));
        assert_eq!(m.apps, vec![PathBuf::from("/models/hello.snap")]);
        assert_eq!(m.grade.as_deref(), Some("dangerous"));
        assert_eq!(m.system_label, "image");
        assert_eq!(m.sector_size, 512);
        assert_eq!(m.source_date_epoch, DEFAULT_SOURCE_DATE_EPOCH);
        assert_eq!(m.snap_paths().len(), 4);
    }

    #[test]
    fn image_size_takes_gadget_suffixes() {
        let doc = format!("{PC}image-size: 3G\n");
        let m = parse_image_model(doc.as_bytes(), Path::new("/")).unwrap();
        assert_eq!(m.image_size, Some(3 << 30));
    }

    #[test]
    fn bad_models_say_why() {
        let cases = [
            (
                "name: Bad\narchitecture: amd64\nsnaps: {gadget: g, kernel: k, base: b}\n",
                "invalid name",
            ),
            (
                "name: x\narchitecture: amd64\ngrade: signed\nsnaps: {gadget: g, kernel: k, base: b}\n",
                "needs signed snaps",
            ),
            (
                "name: x\narchitecture: amd64\nsector-size: 1024\nsnaps: {gadget: g, kernel: k, base: b}\n",
                "512 or 4096",
            ),
            (
                "name: x\narchitecture: amd64\nsnaps: {gadget: g, kernel: k}\n",
                "base",
            ),
            (
                "name: x\narchitecture: amd64\ncolour: red\nsnaps: {gadget: g, kernel: k, base: b}\n",
                "colour",
            ),
            (
                "name: x\narchitecture: amd64\nsystem-label: a\nsnaps: {gadget: g, kernel: k, base: b}\n",
                "needs a grade",
            ),
            (
                "name: x\narchitecture: amd64\nsource-date-epoch: 0\nsnaps: {gadget: g, kernel: k, base: b}\n",
                "FAT",
            ),
        ];
        for (doc, want) in cases {
            let e = parse_image_model(doc.as_bytes(), Path::new("/")).unwrap_err();
            assert!(e.contains(want), "{doc}: {e}");
        }
    }
}
