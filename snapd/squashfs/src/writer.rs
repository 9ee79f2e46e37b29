use std::fs;
use std::io::{Seek, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use backhand::compression::{CompressionOptions, Compressor, Lz4};
use backhand::{FilesystemCompressor, FilesystemWriter, NodeHeader};

use crate::SquashfsError;

/// Block size snapd's mksquashfs invocation uses (the mksquashfs default).
const BLOCK_SIZE: u32 = 128 * 1024;

/// How the image's blocks are compressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    /// snapd's default: smallest images, slowest to decompress at app start.
    #[default]
    Xz,
    /// Several times faster to decompress than xz, for snaps whose start-up time matters.
    Lz4,
    /// Between the two; the kernel reads it natively too.
    Zstd,
}

impl Compression {
    pub fn parse(s: &str) -> Option<Compression> {
        match s {
            "xz" => Some(Compression::Xz),
            "lz4" => Some(Compression::Lz4),
            "zstd" => Some(Compression::Zstd),
            _ => None,
        }
    }

    fn compressor(self) -> Result<FilesystemCompressor, backhand::BackhandError> {
        match self {
            Compression::Xz => FilesystemCompressor::new(Compressor::Xz, None),
            // lz4 images must say which lz4 format they use; the kernel reads only the legacy
            // frame format (version 1), which is what mksquashfs writes too.
            Compression::Lz4 => FilesystemCompressor::new(
                Compressor::Lz4,
                Some(CompressionOptions::Lz4(Lz4 {
                    version: 1,
                    flags: 0,
                })),
            ),
            Compression::Zstd => FilesystemCompressor::new(Compressor::Zstd, None),
        }
    }
}

/// Writes the tree under `dir` as a squashfs image into `out`.
///
/// Reproducible by construction: entries in byte order of their names, every timestamp 0,
/// every owner root (as snapd's `-all-root`), no xattrs (as `-no-xattrs`). Only the permission
/// bits of the tree are carried over. The caller has already run [`crate::check_tree`], so
/// special files do not occur.
pub fn write_image<W: Write + Seek>(
    dir: &Path,
    compression: Compression,
    out: &mut W,
) -> Result<(), SquashfsError> {
    let io = |context: String| move |source| SquashfsError::Io { context, source };
    let mut fs_writer = FilesystemWriter::default();
    fs_writer.set_time(0);
    fs_writer.set_block_size(BLOCK_SIZE);
    fs_writer.set_only_root_id();
    let root_mode = fs::metadata(dir)
        .map_err(io(format!("reading {}", dir.display())))?
        .permissions()
        .mode();
    fs_writer.set_root_mode(perm(root_mode));
    fs_writer.set_root_uid(0);
    fs_writer.set_root_gid(0);
    let compressor = compression.compressor().map_err(|e| write_error(dir, e))?;
    fs_writer.set_compressor(compressor);

    for entry in walkdir::WalkDir::new(dir)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| SquashfsError::Io {
            context: format!("walking {}", dir.display()),
            source: e.into(),
        })?;
        let rel = entry
            .path()
            .strip_prefix(dir)
            .expect("walkdir yields paths under its root");
        let md = entry
            .path()
            .symlink_metadata()
            .map_err(io(format!("reading {}", entry.path().display())))?;
        let header = NodeHeader::new(perm(md.permissions().mode()), 0, 0, 0);
        let ft = md.file_type();
        let pushed = if ft.is_symlink() {
            let target = fs::read_link(entry.path())
                .map_err(io(format!("reading link {}", entry.path().display())))?;
            fs_writer.push_symlink(target, rel, header)
        } else if ft.is_dir() {
            fs_writer.push_dir(rel, header)
        } else {
            fs_writer.push_file_from_path(entry.path(), rel, header)
        };
        pushed.map_err(|e| write_error(entry.path(), e))?;
    }
    fs_writer.write(out).map_err(|e| write_error(dir, e))?;
    Ok(())
}

fn perm(mode: u32) -> u16 {
    (mode & 0o7777) as u16
}

fn write_error(path: &Path, e: backhand::BackhandError) -> SquashfsError {
    SquashfsError::Write {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}
