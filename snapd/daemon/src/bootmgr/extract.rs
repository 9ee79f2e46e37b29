//! Copies a kernel's boot files from its mounted snap to the boot partition, and removes
//! them again. grub (UC16/18) loads `<prefix>/<name>_<rev>.snap/kernel.img` and
//! `initrd.img`, the names the image builder uses for the seeded kernel.

use std::fs::{self, File};
use std::path::Path;

use anyhow::{Context, bail};

/// The files grub boots a kernel snap from.
pub const BOOT_FILES: [&str; 2] = ["kernel.img", "initrd.img"];

/// Extracts the boot files of the snap mounted at `mount` into `dir` (made afresh: a
/// leftover of an interrupted extraction is replaced) and syncs them, the directory and its
/// parent, so that they are on disk before the environment names them.
pub fn extract(mount: &Path, dir: &Path) -> anyhow::Result<()> {
    let mount_real = fs::canonicalize(mount)
        .with_context(|| format!("cannot find the mounted snap {}", mount.display()))?;
    // Check every source before writing anything: a broken kernel snap changes nothing.
    let mut sources = Vec::new();
    for f in BOOT_FILES {
        let src = fs::canonicalize(mount.join(f))
            .with_context(|| format!("the kernel snap has no usable {f}"))?;
        // A symlink in the snap must stay inside it.
        if !src.starts_with(&mount_real) || !src.is_file() {
            bail!("the kernel snap's {f} is not a file inside the snap");
        }
        sources.push((f, src));
    }
    remove(dir)?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (f, src) in sources {
        let to = dir.join(f);
        let mut out =
            File::create(&to).with_context(|| format!("cannot create {}", to.display()))?;
        let mut input = File::open(&src).with_context(|| format!("cannot open {f}"))?;
        std::io::copy(&mut input, &mut out)
            .with_context(|| format!("cannot copy {f} to {}", to.display()))?;
        out.sync_all()
            .with_context(|| format!("cannot sync {}", to.display()))?;
    }
    sync_dir(dir)?;
    sync_dir(dir.parent().unwrap_or(Path::new("/")))
}

/// Removes an extracted kernel directory, if present, durably.
pub fn remove(dir: &Path) -> anyhow::Result<()> {
    match fs::remove_dir_all(dir) {
        Ok(()) => sync_dir(dir.parent().unwrap_or(Path::new("/"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", dir.display())),
    }
}

fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_and_replaces_leftovers() {
        let d = tempfile::tempdir().unwrap();
        let mount = d.path().join("snap");
        fs::create_dir_all(&mount).unwrap();
        fs::write(mount.join("vmlinuz"), "K2").unwrap();
        std::os::unix::fs::symlink("vmlinuz", mount.join("kernel.img")).unwrap();
        fs::write(mount.join("initrd.img"), "I2").unwrap();
        let dir = d.path().join("boot/k_x2.snap");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("stale"), "half").unwrap();
        extract(&mount, &dir).unwrap();
        assert_eq!(fs::read_to_string(dir.join("kernel.img")).unwrap(), "K2");
        assert_eq!(fs::read_to_string(dir.join("initrd.img")).unwrap(), "I2");
        assert!(!dir.join("stale").exists());
        remove(&dir).unwrap();
        assert!(!dir.exists());
        remove(&dir).unwrap();
    }

    #[test]
    fn a_broken_kernel_changes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let mount = d.path().join("snap");
        fs::create_dir_all(&mount).unwrap();
        fs::write(mount.join("kernel.img"), "K").unwrap();
        fs::write(d.path().join("outside"), "I").unwrap();
        std::os::unix::fs::symlink(d.path().join("outside"), mount.join("initrd.img")).unwrap();
        let dir = d.path().join("boot/k_x2.snap");
        let err = extract(&mount, &dir).unwrap_err();
        assert!(format!("{err:#}").contains("initrd.img"), "{err:#}");
        assert!(!dir.exists());
        fs::remove_file(mount.join("initrd.img")).unwrap();
        assert!(extract(&mount, &dir).is_err());
        assert!(!dir.exists());
    }
}
