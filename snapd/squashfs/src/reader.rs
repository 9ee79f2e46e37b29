use std::fs::File;
use std::io::{BufReader, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Component, Path, PathBuf};

use backhand::{FilesystemReader, InnerNode, Node, SquashfsFileReader};

use crate::SquashfsError;

/// The most any single file is read into memory. `meta/snap.yaml` and the other files the
/// daemon reads before mounting are small; a hostile image must not make us allocate more.
pub const MAX_READ_BYTES: u64 = 16 * 1024 * 1024;

/// Symlinks inside the image are followed at most this deep, as snapd's container checks do.
const MAX_SYMLINK_DEPTH: usize = 10;

/// A `.snap` opened for reading in user space, without mounting it.
pub struct SnapFile {
    path: PathBuf,
    fs: FilesystemReader<'static>,
}

/// What a path inside the image is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File { size: u64 },
    Dir,
    Symlink { target: PathBuf },
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
}

/// One node of the image, with its path relative to the snap root ("" is the root itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: PathBuf,
    pub kind: EntryKind,
    /// Permission bits, including setuid/setgid/sticky.
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
}

impl SnapFile {
    /// Opens and parses the image's superblock and directory tables.
    pub fn open(path: &Path) -> Result<SnapFile, SquashfsError> {
        let file = File::open(path).map_err(|source| SquashfsError::Open {
            path: path.to_owned(),
            source,
        })?;
        // The parser reads untrusted bytes. It returns errors for what its authors foresaw; a
        // panic on what they did not must still come back as "corrupt", not kill the daemon.
        let parsed = catch_unwind(AssertUnwindSafe(|| {
            FilesystemReader::from_reader(BufReader::new(file))
        }));
        let fs = match parsed {
            Ok(Ok(fs)) => fs,
            Ok(Err(e)) => return Err(not_squashfs(path, e.to_string())),
            Err(_) => {
                return Err(not_squashfs(
                    path,
                    "the image's tables are malformed".into(),
                ));
            }
        };
        Ok(SnapFile {
            path: path.to_owned(),
            fs,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The compressor the image records ("xz", "lz4", ...).
    pub fn compression(&self) -> String {
        match self.fs.compressor {
            Some(c) => format!("{c:?}").to_lowercase(),
            None => "none".into(),
        }
    }

    /// Every node of the image, root first, in the image's order.
    pub fn entries(&self) -> Vec<Entry> {
        self.fs.files().map(entry_of).collect()
    }

    /// Reads the file at `inner` (relative to the snap root, e.g. `meta/snap.yaml`), following
    /// symlinks that stay inside the snap, up to `limit` bytes.
    pub fn read(&self, inner: &str, limit: u64) -> Result<Vec<u8>, SquashfsError> {
        let node = self.resolve(inner)?;
        let InnerNode::File(file) = &node.inner else {
            return Err(SquashfsError::NotRegular {
                path: self.path.clone(),
                inner: inner.to_owned(),
            });
        };
        let size = file.file_len() as u64;
        if size > limit {
            return Err(SquashfsError::TooLarge {
                path: self.path.clone(),
                inner: inner.to_owned(),
                limit,
            });
        }
        let read = catch_unwind(AssertUnwindSafe(|| -> std::io::Result<Vec<u8>> {
            let mut out = Vec::with_capacity(size as usize);
            self.fs
                .file(file)
                .reader_checked()
                .map_err(std::io::Error::other)?
                .take(limit + 1)
                .read_to_end(&mut out)?;
            Ok(out)
        }));
        let read_error = |reason: String| SquashfsError::Read {
            path: self.path.clone(),
            inner: inner.to_owned(),
            reason,
        };
        let out = match read {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => return Err(read_error(e.to_string())),
            Err(_) => return Err(read_error("corrupt data blocks".into())),
        };
        if out.len() as u64 != size {
            return Err(read_error(format!(
                "the image says {size} bytes but {} were read",
                out.len()
            )));
        }
        Ok(out)
    }

    /// Reads and validates `meta/snap.yaml`.
    pub fn snap_yaml(&self) -> Result<snap_core::SnapYaml, SquashfsError> {
        let bytes = self.read("meta/snap.yaml", snap_core::MAX_SNAP_YAML_BYTES as u64)?;
        snap_core::parse_snap_yaml(&bytes).map_err(|source| SquashfsError::InvalidSnapYaml {
            path: self.path.clone(),
            source,
        })
    }

    fn find(&self, rel: &Path) -> Option<&Node<SquashfsFileReader>> {
        let full = Path::new("/").join(rel);
        self.fs.files().find(|n| n.fullpath == full)
    }

    fn resolve(&self, inner: &str) -> Result<&Node<SquashfsFileReader>, SquashfsError> {
        let missing = || SquashfsError::NoSuchFile {
            path: self.path.clone(),
            inner: inner.to_owned(),
        };
        let mut rel = normalize_inside(Path::new(""), Path::new(inner)).ok_or_else(missing)?;
        for _ in 0..=MAX_SYMLINK_DEPTH {
            let node = self.find(&rel).ok_or_else(missing)?;
            match &node.inner {
                InnerNode::Symlink(link) => {
                    let parent = rel.parent().unwrap_or(Path::new("")).to_owned();
                    // An absolute target means the host's (or the sandbox's) root, never ours.
                    if link.link.is_absolute() {
                        return Err(missing());
                    }
                    rel = normalize_inside(&parent, &link.link).ok_or_else(missing)?;
                }
                _ => return Ok(node),
            }
        }
        Err(missing())
    }
}

/// Joins `rel` onto `base` lexically and returns the result if it stays inside the root.
pub(crate) fn normalize_inside(base: &Path, rel: &Path) -> Option<PathBuf> {
    let mut out: Vec<&std::ffi::OsStr> = base
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s),
            _ => None,
        })
        .collect();
    for c in rel.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out.iter().collect())
}

fn entry_of(node: &Node<SquashfsFileReader>) -> Entry {
    let kind = match &node.inner {
        InnerNode::File(f) => EntryKind::File {
            size: f.file_len() as u64,
        },
        InnerNode::Dir(_) => EntryKind::Dir,
        InnerNode::Symlink(s) => EntryKind::Symlink {
            target: s.link.clone(),
        },
        InnerNode::CharacterDevice(_) => EntryKind::CharDevice,
        InnerNode::BlockDevice(_) => EntryKind::BlockDevice,
        InnerNode::NamedPipe => EntryKind::Fifo,
        InnerNode::Socket => EntryKind::Socket,
    };
    Entry {
        path: node
            .fullpath
            .strip_prefix("/")
            .unwrap_or(&node.fullpath)
            .to_owned(),
        kind,
        mode: node.header.permissions,
        uid: node.header.uid,
        gid: node.header.gid,
    }
}

fn not_squashfs(path: &Path, reason: String) -> SquashfsError {
    SquashfsError::NotSquashfs {
        path: path.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_stays_inside() {
        assert_eq!(
            normalize_inside(Path::new("meta"), Path::new("../bin/x")),
            Some(PathBuf::from("bin/x"))
        );
        assert_eq!(
            normalize_inside(Path::new("meta"), Path::new("../../x")),
            None
        );
        assert_eq!(
            normalize_inside(Path::new(""), Path::new("/etc/passwd")),
            None
        );
        assert_eq!(
            normalize_inside(Path::new(""), Path::new("./a/./b")),
            Some(PathBuf::from("a/b"))
        );
    }
}
