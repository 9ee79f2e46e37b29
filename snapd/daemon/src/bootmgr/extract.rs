//! Copies a kernel's boot files from its mounted snap to the boot partition, and removes
//! them again. Both bootloaders load `<kernels>/<name>_<rev>.snap/kernel.img` and
//! `initrd.img` (grub from its prefix, U-Boot's script from `kernel_assets_dir`), the names
//! the image builder uses for the seeded kernel; U-Boot's script also loads
//! `dtbs/${fdtfile}` from there, so for U-Boot every file of the snap's `dtbs/` comes along
//! (`KernelSnap::boot_files`).

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The files every bootloader boots a kernel snap from.
pub const BOOT_FILES: [&str; 2] = ["kernel.img", "initrd.img"];
/// The device trees' directory in a kernel snap and beside its extracted files.
pub const DTBS: &str = "dtbs";

/// Extracts the boot files of the snap mounted at `mount` into `dir` (made afresh: a
/// leftover of an interrupted extraction is replaced), with `dtbs/` when `with_dtbs` and
/// the snap has one, and syncs them, the directories and `dir`'s parent, so that they are
/// on disk before the environment names them.
pub fn extract(mount: &Path, dir: &Path, with_dtbs: bool) -> anyhow::Result<()> {
    let mount_real = fs::canonicalize(mount)
        .with_context(|| format!("cannot find the mounted snap {}", mount.display()))?;
    // Check every source before writing anything: a broken kernel snap changes nothing.
    let mut sources: Vec<(PathBuf, PathBuf)> = Vec::new();
    for f in BOOT_FILES {
        sources.push((f.into(), inside(&mount_real, &mount.join(f), f)?));
    }
    if with_dtbs && mount.join(DTBS).is_dir() {
        dtb_sources(&mount_real, mount, Path::new(DTBS), &mut sources)?;
    }
    remove(dir)?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut dirs = vec![dir.to_owned()];
    for (rel, src) in sources {
        let to = dir.join(&rel);
        let parent = to.parent().expect("a file in dir");
        if !dirs.iter().any(|d| d == parent) {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
            // Every directory from `dir` down to this one is new (`dir` was emptied): each
            // is synced, or a power cut could lose an intermediate one (`dtbs/` holding only
            // `broadcom/`) that the environment then points into.
            for a in parent.ancestors().take_while(|a| *a != dir) {
                if !dirs.iter().any(|d| d == a) {
                    dirs.push(a.to_owned());
                }
            }
        }
        let mut out =
            File::create(&to).with_context(|| format!("cannot create {}", to.display()))?;
        let mut input =
            File::open(&src).with_context(|| format!("cannot open {}", rel.display()))?;
        std::io::copy(&mut input, &mut out)
            .with_context(|| format!("cannot copy {} to {}", rel.display(), to.display()))?;
        out.sync_all()
            .with_context(|| format!("cannot sync {}", to.display()))?;
    }
    // Deepest first (more components first), `dir` last, then its parent.
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in &dirs {
        sync_dir(d)?;
    }
    sync_dir(dir.parent().unwrap_or(Path::new("/")))
}

/// `path` (named `what` in the snap) resolved, which must be a file inside the snap: a
/// symlink in the snap may not lead out of it.
fn inside(mount_real: &Path, path: &Path, what: impl std::fmt::Display) -> anyhow::Result<PathBuf> {
    let src =
        fs::canonicalize(path).with_context(|| format!("the kernel snap has no usable {what}"))?;
    if !src.starts_with(mount_real) || !src.is_file() {
        bail!("the kernel snap's {what} is not a file inside the snap");
    }
    Ok(src)
}

/// Every file under `rel` (a directory of the snap mounted at `mount`), as (path relative to
/// the snap, resolved source), in name order.
fn dtb_sources(
    mount_real: &Path,
    mount: &Path,
    rel: &Path,
    out: &mut Vec<(PathBuf, PathBuf)>,
) -> anyhow::Result<()> {
    let at = mount.join(rel);
    let mut entries: Vec<_> = fs::read_dir(&at)
        .with_context(|| format!("cannot read {}", at.display()))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot read {}", at.display()))?;
    entries.sort();
    for name in entries {
        let rel = rel.join(name);
        let path = mount.join(&rel);
        let meta = fs::symlink_metadata(&path)
            .with_context(|| format!("cannot stat {}", path.display()))?;
        if meta.is_dir() {
            dtb_sources(mount_real, mount, &rel, out)?;
        } else {
            out.push((rel.clone(), inside(mount_real, &path, rel.display())?));
        }
    }
    Ok(())
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
        fs::create_dir_all(mount.join("dtbs/broadcom")).unwrap();
        fs::write(mount.join("dtbs/broadcom/rpi.dtb"), "D").unwrap();
        fs::write(mount.join("dtbs/overlay.dtbo"), "O").unwrap();
        // grub: the boot image only.
        extract(&mount, &dir, false).unwrap();
        assert_eq!(fs::read_to_string(dir.join("kernel.img")).unwrap(), "K2");
        assert_eq!(fs::read_to_string(dir.join("initrd.img")).unwrap(), "I2");
        assert!(!dir.join("stale").exists());
        assert!(!dir.join("dtbs").exists());
        // U-Boot: the device trees too, where the script loads them.
        extract(&mount, &dir, true).unwrap();
        assert_eq!(fs::read_to_string(dir.join("kernel.img")).unwrap(), "K2");
        assert_eq!(
            fs::read_to_string(dir.join("dtbs/broadcom/rpi.dtb")).unwrap(),
            "D"
        );
        assert_eq!(
            fs::read_to_string(dir.join("dtbs/overlay.dtbo")).unwrap(),
            "O"
        );
        // A kernel without dtbs/ extracts for U-Boot as for grub.
        fs::remove_dir_all(mount.join("dtbs")).unwrap();
        extract(&mount, &dir, true).unwrap();
        assert!(dir.join("initrd.img").is_file() && !dir.join("dtbs").exists());
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
        let err = extract(&mount, &dir, false).unwrap_err();
        assert!(format!("{err:#}").contains("initrd.img"), "{err:#}");
        assert!(!dir.exists());
        fs::remove_file(mount.join("initrd.img")).unwrap();
        assert!(extract(&mount, &dir, false).is_err());
        assert!(!dir.exists());
        // A device tree leading out of the snap is refused before anything is written.
        fs::write(mount.join("initrd.img"), "I").unwrap();
        fs::create_dir_all(mount.join("dtbs")).unwrap();
        std::os::unix::fs::symlink(d.path().join("outside"), mount.join("dtbs/x.dtb")).unwrap();
        let err = extract(&mount, &dir, true).unwrap_err();
        assert!(format!("{err:#}").contains("dtbs/x.dtb"), "{err:#}");
        assert!(!dir.exists());
        extract(&mount, &dir, false).unwrap();
    }
}
