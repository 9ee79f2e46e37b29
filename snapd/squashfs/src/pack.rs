use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::tree_check::{check_executables, check_layout};
use crate::writer::{Compression, write_image};
use crate::{SnapDigest, SquashfsError, digest_file};

/// How to pack.
#[derive(Clone, Debug, Default)]
pub struct PackOptions {
    pub compression: Compression,
    /// Write to this file name instead of `NAME_VERSION_ARCH.snap` in the target directory.
    pub filename: Option<PathBuf>,
}

/// What [`pack_snap`] produced.
#[derive(Clone, Debug)]
pub struct PackedSnap {
    pub path: PathBuf,
    pub snap: snap_core::SnapYaml,
    pub digest: SnapDigest,
}

/// `NAME_VERSION_ARCH.snap`, as `snap pack` names its output; ARCH is `all`, the single
/// architecture listed, or `multi`.
pub fn snap_file_name(snap: &snap_core::SnapYaml) -> String {
    let arch = match snap.architectures.as_slice() {
        [] => "all",
        [one] => one.as_str(),
        _ => "multi",
    };
    let version = snap.version.as_deref().unwrap_or("");
    format!("{}_{}_{}.snap", snap.name, version, arch)
}

/// Validates the tree under `source` and packs it into a `.snap` in `target_dir`.
///
/// Nothing is left in `target_dir` on failure: the image is written to a hidden temporary
/// file there and renamed into place only once complete and synced.
pub fn pack_snap(
    source: &Path,
    target_dir: &Path,
    opts: &PackOptions,
) -> Result<PackedSnap, SquashfsError> {
    let invalid = |source_err| SquashfsError::InvalidTree {
        dir: source.to_owned(),
        source: source_err,
    };
    check_layout(source).map_err(invalid)?;
    let yaml_path = source.join("meta/snap.yaml");
    let yaml = read_capped(&yaml_path, snap_core::MAX_SNAP_YAML_BYTES as u64)?;
    let snap = snap_core::parse_snap_yaml(&yaml).map_err(|e| SquashfsError::InvalidSnapYaml {
        path: yaml_path.clone(),
        source: e,
    })?;
    check_executables(source, &snap).map_err(invalid)?;

    let name = match &opts.filename {
        Some(f) => plain_file_name(f)?,
        None => PathBuf::from(snap_file_name(&snap)),
    };
    let dest = target_dir.join(name);
    let tmp = dest.with_file_name(format!(
        ".{}.{}.partial",
        dest.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let written = write_synced(source, &tmp, opts.compression);
    if let Err(e) = written.and_then(|()| {
        fs::rename(&tmp, &dest).map_err(|e| SquashfsError::Io {
            context: format!("renaming {} to {}", tmp.display(), dest.display()),
            source: e,
        })
    }) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    let digest = digest_file(&dest)?;
    Ok(PackedSnap {
        path: dest,
        snap,
        digest,
    })
}

fn write_synced(source: &Path, tmp: &Path, compression: Compression) -> Result<(), SquashfsError> {
    let io = |context: String| move |e| SquashfsError::Io { context, source: e };
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)
        .map_err(io(format!("creating {}", tmp.display())))?;
    let mut out = BufWriter::new(file);
    write_image(source, compression, &mut out)?;
    out.flush()
        .map_err(io(format!("writing {}", tmp.display())))?;
    let file = out.into_inner().map_err(|e| SquashfsError::Io {
        context: format!("writing {}", tmp.display()),
        source: e.into_error(),
    })?;
    file.sync_all()
        .map_err(io(format!("syncing {}", tmp.display())))
}

fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, SquashfsError> {
    let file = File::open(path).map_err(|e| SquashfsError::Open {
        path: path.to_owned(),
        source: e,
    })?;
    let mut buf = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| SquashfsError::Io {
            context: format!("reading {}", path.display()),
            source: e,
        })?;
    if buf.len() as u64 > limit {
        return Err(SquashfsError::TooLarge {
            path: path.to_owned(),
            inner: "meta/snap.yaml".into(),
            limit,
        });
    }
    Ok(buf)
}

/// `--filename` names a file in the target directory; a path that climbs out of it (`../x`) or
/// is absolute would write somewhere the user did not ask for.
fn plain_file_name(name: &Path) -> Result<PathBuf, SquashfsError> {
    use std::path::Component;
    let plain = name.components().count() > 0
        && name.components().all(|c| matches!(c, Component::Normal(_)));
    if !plain {
        return Err(SquashfsError::BadFileName {
            name: name.to_owned(),
        });
    }
    Ok(name.to_owned())
}
