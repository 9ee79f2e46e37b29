//! Writes a planned filesystem tree into a staging directory on the host, from which the
//! filesystem tools copy it.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use snap_squashfs::SnapFile;

use crate::image::content::{EnvKind, FsTree, Node, SnapRole};
use crate::image::env::grubenv::GrubEnv;
use crate::image::env::ubootenv::UbootEnv;
use crate::image::error::ImageError;

/// The gadget and kernel snaps, opened.
pub struct Snaps {
    pub gadget: SnapFile,
    pub kernel: SnapFile,
}

impl Snaps {
    fn get(&self, role: SnapRole) -> &SnapFile {
        match role {
            SnapRole::Gadget => &self.gadget,
            SnapRole::Kernel => &self.kernel,
        }
    }

    /// Reads a file of a snap (following symlinks inside it), at most `limit` bytes.
    pub fn read(&self, role: SnapRole, path: &str, limit: u64) -> Result<Vec<u8>, ImageError> {
        let snap = self.get(role);
        snap.read(path, limit).map_err(|e| ImageError::Snap {
            path: snap.path().to_owned(),
            reason: e.to_string(),
        })
    }
}

/// The bytes of an environment file: the gadget's copy edited, or a new one.
fn env_bytes(
    snaps: &Snaps,
    kind: &EnvKind,
    base: &Option<(SnapRole, String)>,
    vars: &[(String, String)],
    context: &str,
) -> Result<Vec<u8>, ImageError> {
    let bad = |e: crate::image::env::EnvError| ImageError::Plan(format!("{context}: {e}"));
    let existing = match base {
        Some((role, path)) => Some(snaps.read(*role, path, 1 << 20)?),
        None => None,
    };
    match kind {
        EnvKind::Grub => {
            let mut env = match &existing {
                Some(b) => GrubEnv::parse(b).map_err(bad)?,
                None => GrubEnv::new(),
            };
            for (k, v) in vars {
                env.set(k, v).map_err(bad)?;
            }
            env.encode().map_err(bad)
        }
        EnvKind::Uboot { size, redundant } => {
            let mut env = match &existing {
                Some(b) => UbootEnv::parse(b).map_err(bad)?,
                None => UbootEnv::new(*size, *redundant),
            };
            for (k, v) in vars {
                env.set(k, v).map_err(bad)?;
            }
            env.encode().map_err(bad)
        }
    }
}

/// Writes `tree` under `dir`. With `follow_symlinks` (vfat, which has none) a symlink becomes
/// a copy of the file it points to inside its snap.
pub fn stage_tree(
    tree: &FsTree,
    snaps: &Snaps,
    dir: &Path,
    follow_symlinks: bool,
    size_limit: u64,
    context: &str,
) -> Result<(), ImageError> {
    for (rel, node) in tree.nodes() {
        let dest = dir.join(rel);
        let write = |bytes: &[u8], mode: u16| -> Result<(), ImageError> {
            fs::write(&dest, bytes)
                .map_err(ImageError::io(format!("writing {}", dest.display())))?;
            fs::set_permissions(&dest, fs::Permissions::from_mode(u32::from(mode & 0o7777)))
                .map_err(ImageError::io(format!(
                    "setting the mode of {}",
                    dest.display()
                )))
        };
        match node {
            Node::Dir { mode } => {
                fs::create_dir_all(&dest)
                    .map_err(ImageError::io(format!("creating {}", dest.display())))?;
                fs::set_permissions(&dest, fs::Permissions::from_mode(u32::from(mode & 0o7777)))
                    .map_err(ImageError::io(format!(
                        "setting the mode of {}",
                        dest.display()
                    )))?;
            }
            Node::SnapFile {
                snap, path, mode, ..
            } => {
                write(&snaps.read(*snap, path, size_limit)?, *mode)?;
            }
            Node::Symlink { target, snap, path } => {
                if follow_symlinks {
                    let bytes = snaps.read(*snap, path, size_limit).map_err(|e| {
                        ImageError::Plan(format!(
                            "{context}: symlink {rel:?} cannot be stored on vfat: {e}"
                        ))
                    })?;
                    write(&bytes, 0o644)?;
                } else {
                    symlink(target, &dest)
                        .map_err(ImageError::io(format!("creating {}", dest.display())))?;
                }
            }
            Node::HostFile { path, .. } => {
                fs::copy(path, &dest).map_err(ImageError::io(format!(
                    "copying {} to {}",
                    path.display(),
                    dest.display()
                )))?;
                fs::set_permissions(&dest, fs::Permissions::from_mode(0o644)).map_err(
                    ImageError::io(format!("setting the mode of {}", dest.display())),
                )?;
            }
            Node::Bytes { data, mode } => write(data, *mode)?,
            Node::Env { kind, base, vars } => {
                let bytes = env_bytes(snaps, kind, base, vars, context)?;
                write(&bytes, 0o644)?;
            }
        }
    }
    Ok(())
}
