//! The checks a tree must pass before it is packed into a `.snap`, in the spirit of snapd's
//! container validation: an image that would not work, or that reaches outside itself, is
//! refused at pack time rather than on a device.

use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::reader::normalize_inside;

/// Symlink chains deeper than this are refused (as snapd's container checks).
const MAX_SYMLINK_DEPTH: usize = 10;

/// Why a tree cannot become a snap.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TreeError {
    #[error("meta/snap.yaml is missing")]
    MissingSnapYaml,
    #[error("meta must be a directory, not a symlink or file")]
    MetaNotDir,
    #[error("symlink {path} -> {target} points outside the snap")]
    ExternalSymlink { path: PathBuf, target: PathBuf },
    #[error("symlink {path} -> {target} is dangling or loops")]
    BrokenSymlink { path: PathBuf, target: PathBuf },
    #[error("{path} in meta/ must be a regular file, a directory or a symlink inside the snap")]
    BadMetaEntry { path: PathBuf },
    #[error("{path} is a device node, fifo or socket; a snap may not contain those")]
    SpecialFile { path: PathBuf },
    #[error("{owner}: {what} {path:?} does not exist in the snap")]
    MissingCommand {
        owner: String,
        what: &'static str,
        path: String,
    },
    #[error("{owner}: {what} {path:?} is not a regular file")]
    CommandNotFile {
        owner: String,
        what: &'static str,
        path: String,
    },
    #[error("{owner}: {what} {path:?} is not executable (mode {mode:o})")]
    CommandNotExecutable {
        owner: String,
        what: &'static str,
        path: String,
        mode: u32,
    },
    #[error("hook {path} is not executable (mode {mode:o})")]
    HookNotExecutable { path: PathBuf, mode: u32 },
    #[error("{path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
}

/// One executable an app or hook refers to: whose it is, which field, and the path as written.
struct Executable<'a> {
    owner: String,
    what: &'static str,
    written: &'a str,
}

/// Checks `root` (a directory about to be packed) against the parsed `snap.yaml`.
pub fn check_tree(root: &Path, snap: &snap_core::SnapYaml) -> Result<(), TreeError> {
    check_layout(root)?;
    check_executables(root, snap)
}

/// The checks that need no snap.yaml: `meta/` is sound, no symlink leaves the snap, no special
/// files. Run before snap.yaml is read, so that reading it cannot be tricked.
pub(crate) fn check_layout(root: &Path) -> Result<(), TreeError> {
    check_meta_dir(root)?;
    walk(root, Path::new(""))?;
    match fs::metadata(root.join("meta/snap.yaml")) {
        Ok(md) if md.is_file() => Ok(()),
        _ => Err(TreeError::MissingSnapYaml),
    }
}

/// Every command, command-chain entry and service command the apps and hooks name exists
/// inside the snap and is executable.
pub(crate) fn check_executables(root: &Path, snap: &snap_core::SnapYaml) -> Result<(), TreeError> {
    executables(snap)
        .iter()
        .try_for_each(|exe| check_executable(root, exe))
}

fn check_meta_dir(root: &Path) -> Result<(), TreeError> {
    match fs::symlink_metadata(root.join("meta")) {
        Ok(md) if md.is_dir() => Ok(()),
        Ok(_) => Err(TreeError::MetaNotDir),
        Err(_) => Err(TreeError::MissingSnapYaml),
    }
}

/// Visits every entry without following symlinks.
fn walk(root: &Path, rel: &Path) -> Result<(), TreeError> {
    let dir = root.join(rel);
    let entries = fs::read_dir(&dir).map_err(|e| unreadable(rel, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| unreadable(rel, e))?;
        let child = rel.join(entry.file_name());
        let ft = entry.file_type().map_err(|e| unreadable(&child, e))?;
        let in_meta = child.starts_with("meta");
        if ft.is_symlink() {
            check_symlink(root, &child, in_meta)?;
        } else if ft.is_dir() {
            walk(root, &child)?;
        } else if ft.is_block_device() || ft.is_char_device() || ft.is_fifo() || ft.is_socket() {
            return Err(if in_meta {
                TreeError::BadMetaEntry { path: child }
            } else {
                TreeError::SpecialFile { path: child }
            });
        } else if child.starts_with("meta/hooks") {
            let mode = entry
                .metadata()
                .map_err(|e| unreadable(&child, e))?
                .permissions()
                .mode();
            if mode & 0o111 == 0 {
                return Err(TreeError::HookNotExecutable { path: child, mode });
            }
        }
    }
    Ok(())
}

/// A relative symlink must stay inside the snap. An absolute one resolves against the root of
/// the app's sandbox at run time (the base snap), so it is allowed, except under `meta/`, whose
/// files the daemon itself reads and which must therefore come from the snap.
fn check_symlink(root: &Path, rel: &Path, in_meta: bool) -> Result<(), TreeError> {
    let target = fs::read_link(root.join(rel)).map_err(|e| unreadable(rel, e))?;
    let external = || TreeError::ExternalSymlink {
        path: rel.to_owned(),
        target: target.clone(),
    };
    if target.is_absolute() {
        return if in_meta { Err(external()) } else { Ok(()) };
    }
    let parent = rel.parent().unwrap_or(Path::new(""));
    let resolved = normalize_inside(parent, &target).ok_or_else(external)?;
    if in_meta {
        // Follow the chain: what meta/ names must end on a real file or directory of ours.
        let end = resolve(root, &resolved).ok_or_else(|| TreeError::BrokenSymlink {
            path: rel.to_owned(),
            target: target.clone(),
        })?;
        if end.as_os_str().is_empty() || end == Path::new("meta") {
            return Err(TreeError::BadMetaEntry {
                path: rel.to_owned(),
            });
        }
    }
    Ok(())
}

/// Follows symlinks from `rel` lexically, staying inside `root`; `None` if the chain leaves the
/// snap, dangles or loops.
fn resolve(root: &Path, rel: &Path) -> Option<PathBuf> {
    let mut cur = rel.to_owned();
    for _ in 0..=MAX_SYMLINK_DEPTH {
        let md = fs::symlink_metadata(root.join(&cur)).ok()?;
        if !md.file_type().is_symlink() {
            return Some(cur);
        }
        let target = fs::read_link(root.join(&cur)).ok()?;
        if target.is_absolute() {
            return None;
        }
        cur = normalize_inside(cur.parent().unwrap_or(Path::new("")), &target)?;
    }
    None
}

fn executables(snap: &snap_core::SnapYaml) -> Vec<Executable<'_>> {
    let mut out = Vec::new();
    for (name, app) in &snap.apps {
        let fields = [
            ("command", app.command.as_deref()),
            ("stop-command", app.stop_command.as_deref()),
            ("reload-command", app.reload_command.as_deref()),
            ("post-stop-command", app.post_stop_command.as_deref()),
        ];
        let chain = app
            .command_chain
            .iter()
            .map(|c| ("command-chain entry", Some(c.as_str())));
        for (what, text) in fields.into_iter().chain(chain) {
            if let Some(written) = text {
                out.push(Executable {
                    owner: format!("app {name}"),
                    what,
                    written,
                });
            }
        }
    }
    for (name, hook) in &snap.hooks {
        for written in &hook.command_chain {
            out.push(Executable {
                owner: format!("hook {name}"),
                what: "command-chain entry",
                written,
            });
        }
    }
    out
}

/// The path inside the snap an executable field names: its first word, with `$SNAP/` or a
/// leading `/` meaning the snap's root, as snapd reads it.
fn snap_relative(written: &str) -> Option<PathBuf> {
    let first = written.split_whitespace().next()?;
    let trimmed = first
        .strip_prefix("$SNAP/")
        .or_else(|| first.strip_prefix("${SNAP}/"))
        .unwrap_or(first)
        .trim_start_matches('/');
    normalize_inside(Path::new(""), Path::new(trimmed))
}

fn check_executable(root: &Path, exe: &Executable<'_>) -> Result<(), TreeError> {
    let missing = || TreeError::MissingCommand {
        owner: exe.owner.clone(),
        what: exe.what,
        path: exe.written.to_owned(),
    };
    let rel = snap_relative(exe.written).ok_or_else(missing)?;
    let resolved = resolve(root, &rel).ok_or_else(missing)?;
    let md = fs::metadata(root.join(&resolved)).map_err(|_| missing())?;
    if !md.is_file() {
        return Err(TreeError::CommandNotFile {
            owner: exe.owner.clone(),
            what: exe.what,
            path: exe.written.to_owned(),
        });
    }
    let mode = md.permissions().mode();
    if mode & 0o111 == 0 {
        return Err(TreeError::CommandNotExecutable {
            owner: exe.owner.clone(),
            what: exe.what,
            path: exe.written.to_owned(),
            mode: mode & 0o7777,
        });
    }
    Ok(())
}

fn unreadable(path: &Path, e: std::io::Error) -> TreeError {
    TreeError::Unreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}
