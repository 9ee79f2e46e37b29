//! The grubenv file: read, and rewritten in place one variable at a time.
//!
//! grub's `save_env` overwrites the existing 1024-byte block in place and cannot create or
//! rename files, so we do the same: the block is written over the file's own bytes (no
//! temporary file and rename, which on the FAT ESP is not atomic either) and synced before
//! the next write. Our variables sit in the block's first 512-byte sector (`spec/boot.md`),
//! so one write is one sector and cannot tear between variables.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;

use anyhow::{Context, bail};
use gadget_kernel::boot::{BootEnv, Write};
use gadget_kernel::image::env::grubenv::GrubEnv;

pub fn read(path: &Path) -> anyhow::Result<GrubEnv> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    GrubEnv::parse(&bytes).with_context(|| format!("cannot parse {}", path.display()))
}

/// Overwrites the block of `path` with `env`, then syncs it. The file must already have the
/// block's size: a file of another size is refused unchanged.
pub fn write_in_place(path: &Path, env: &GrubEnv) -> anyhow::Result<()> {
    let bytes = env.encode().context("cannot encode the grub environment")?;
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let len = f.metadata()?.len();
    if len != bytes.len() as u64 {
        bail!(
            "{} is {len} bytes, not a {}-byte grub environment block: not rewriting it",
            path.display(),
            bytes.len()
        );
    }
    f.write_all_at(&bytes, 0)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.sync_all()
        .with_context(|| format!("cannot sync {}", path.display()))
}

/// Applies `writes` in order, each one durable before the next (the order is what keeps the
/// device bootable across a power cut). `after_each(i)` runs after the i-th (1-based) write
/// is on disk; crash tests hook in there.
pub fn apply_durably(
    path: &Path,
    env: &mut GrubEnv,
    writes: &[Write],
    mut after_each: impl FnMut(usize),
) -> anyhow::Result<()> {
    for (i, w) in writes.iter().enumerate() {
        env.set_var(w.key, &w.value)
            .with_context(|| format!("cannot set {}={:?}", w.key, w.value))?;
        write_in_place(path, env)?;
        after_each(i + 1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gadget_kernel::boot::{KERNEL_STATUS, SNAP_KERNEL, SNAP_TRY_KERNEL, prepare_try};

    fn grubenv(dir: &Path, kernel: &str) -> std::path::PathBuf {
        let mut e = GrubEnv::new();
        e.set("snap_mode", "").unwrap();
        e.set(SNAP_KERNEL, kernel).unwrap();
        let p = dir.join("grubenv");
        std::fs::write(&p, e.encode().unwrap()).unwrap();
        p
    }

    #[test]
    fn writes_land_in_order_in_the_same_block() {
        let d = tempfile::tempdir().unwrap();
        let p = grubenv(d.path(), "k_x1.snap");
        let mut env = read(&p).unwrap();
        let prep = prepare_try(&env, "k_x2.snap").unwrap();
        let mut seen = Vec::new();
        apply_durably(&p, &mut env, &prep.writes, |i| {
            let on_disk = read(&p).unwrap();
            seen.push((
                i,
                on_disk.var(SNAP_TRY_KERNEL).to_owned(),
                on_disk.var(KERNEL_STATUS).to_owned(),
            ));
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                (1, "k_x2.snap".to_owned(), String::new()),
                (2, "k_x2.snap".to_owned(), "try".to_owned())
            ]
        );
        let back = read(&p).unwrap();
        assert_eq!(back.var(SNAP_KERNEL), "k_x1.snap");
        assert_eq!(back.get("snap_mode"), Some(""));
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 1024);
    }

    #[test]
    fn a_file_of_another_size_is_refused_unchanged() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("grubenv");
        let short = b"# GRUB Environment Block\nsnap_kernel=k_x1.snap\n";
        std::fs::write(&p, short).unwrap();
        let mut env = read(&p).unwrap();
        env.set(SNAP_KERNEL, "k_x2.snap").unwrap();
        let err = write_in_place(&p, &env).unwrap_err();
        assert!(format!("{err:#}").contains("not a 1024-byte"), "{err:#}");
        assert_eq!(std::fs::read(&p).unwrap(), short);
    }
}
