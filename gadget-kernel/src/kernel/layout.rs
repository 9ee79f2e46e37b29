//! The shape of a kernel snap, checked against the listing of its files.

use crate::image::content::{Listing, NodeKind};
use crate::model::Bootloader;

use super::{KernelError, KernelYaml};

/// How the kernel is booted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootImage {
    /// `kernel.img` and `initrd.img`, loaded separately by the bootloader.
    Separate,
    /// `kernel.efi`, a unified kernel image (kernel, initrd and stub in one EFI binary).
    Unified,
    /// Both forms are shipped (a kernel for both UC16/18-style and UC20+ grub systems).
    Both,
}

/// A checked kernel snap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelSnap {
    pub boot_image: BootImage,
    /// Every file under `dtbs/`, relative to the snap.
    pub dtbs: Vec<String>,
    /// The names of the directories under `modules/` (one per kernel version).
    pub module_versions: Vec<String>,
    pub has_firmware: bool,
    /// `meta/force-kernel-extraction`: grub UC16/18 systems extract this kernel too.
    pub force_extraction: bool,
    pub info: KernelYaml,
}

/// Follows symlinks inside the snap (relative targets only, at most 8 hops) to what `path`
/// finally is; `None` when it leaves the snap, dangles or loops.
fn resolve<'a>(files: &'a Listing, path: &str) -> Option<&'a NodeKind> {
    let mut path = path.to_owned();
    for _ in 0..8 {
        match files.get(&path)? {
            NodeKind::Symlink { target } => {
                if target.starts_with('/') {
                    return None;
                }
                let mut parts: Vec<&str> = path.split('/').collect();
                parts.pop();
                for c in target.split('/') {
                    match c {
                        "" | "." => {}
                        ".." => {
                            parts.pop()?;
                        }
                        c => parts.push(c),
                    }
                }
                path = parts.join("/");
            }
            other => return Some(other),
        }
    }
    None
}

/// The size and mode of the file `path` is, following symlinks inside the snap.
pub fn resolved_file(files: &Listing, path: &str) -> Option<(u64, u16)> {
    match resolve(files, path)? {
        NodeKind::File { size, mode } => Some((*size, *mode)),
        _ => None,
    }
}

fn is_file(files: &Listing, path: &str) -> Result<bool, KernelError> {
    match (files.get(path), resolve(files, path)) {
        (None, _) => Ok(false),
        (Some(_), Some(NodeKind::File { .. })) => Ok(true),
        _ => Err(KernelError::Layout {
            path: path.to_owned(),
            reason: "must be a file (or a symlink to one inside the snap)".into(),
        }),
    }
}

fn is_dir(files: &Listing, path: &str) -> Result<bool, KernelError> {
    match files.get(path) {
        None => Ok(false),
        Some(NodeKind::Dir { .. }) => Ok(true),
        Some(_) => Err(KernelError::Layout {
            path: path.to_owned(),
            reason: "must be a directory".into(),
        }),
    }
}

fn under<'a>(files: &'a Listing, dir: &'a str) -> impl Iterator<Item = (&'a String, &'a NodeKind)> {
    let prefix = format!("{dir}/");
    files.iter().filter(move |(p, _)| p.starts_with(&prefix))
}

impl KernelSnap {
    /// Checks a kernel snap's files: a boot image (`kernel.img` needs `initrd.img`),
    /// `dtbs/`, `modules/` and `firmware/` as directories, `modules/` holding only
    /// per-version directories, and `meta/kernel.yaml` (given as `kernel_yaml` when the snap
    /// has one) whose asset content exists in the snap.
    pub fn from_listing(
        files: &Listing,
        kernel_yaml: Option<&[u8]>,
    ) -> Result<KernelSnap, KernelError> {
        let img = is_file(files, "kernel.img")?;
        let efi = is_file(files, "kernel.efi")?;
        let initrd = is_file(files, "initrd.img")?;
        let boot_image = match (img, efi) {
            (false, false) => return Err(KernelError::NoKernel),
            (true, false) => BootImage::Separate,
            (false, true) => BootImage::Unified,
            (true, true) => BootImage::Both,
        };
        if img && !initrd {
            return Err(KernelError::NoInitrd);
        }
        let dtbs = if is_dir(files, "dtbs")? {
            under(files, "dtbs")
                .filter(|(_, k)| matches!(k, NodeKind::File { .. }))
                .map(|(p, _)| p.clone())
                .collect()
        } else {
            Vec::new()
        };
        let mut module_versions = Vec::new();
        if is_dir(files, "modules")? {
            for (p, k) in under(files, "modules") {
                let rest = &p["modules/".len()..];
                if rest.contains('/') {
                    continue;
                }
                if !matches!(k, NodeKind::Dir { .. }) {
                    return Err(KernelError::Layout {
                        path: p.clone(),
                        reason: "must be a directory named for a kernel version".into(),
                    });
                }
                module_versions.push(rest.to_owned());
            }
        }
        let has_firmware = is_dir(files, "firmware")?;
        let info = match kernel_yaml {
            Some(bytes) => KernelYaml::parse(bytes)?,
            None => KernelYaml::default(),
        };
        for (name, asset) in &info.assets {
            for path in &asset.content {
                let trimmed = path.trim_end_matches('/');
                let found = match files.get(trimmed) {
                    Some(NodeKind::Dir { .. }) => true,
                    Some(_) => !path.ends_with('/'),
                    None => false,
                };
                if !found {
                    return Err(KernelError::AssetContent {
                        asset: name.clone(),
                        path: path.clone(),
                        reason: "is not in the kernel snap",
                    });
                }
            }
        }
        Ok(KernelSnap {
            boot_image,
            dtbs,
            module_versions,
            has_firmware,
            force_extraction: files.contains_key("meta/force-kernel-extraction"),
            info,
        })
    }

    /// The files (paths in the snap) a bootloader loads from the boot partition, which the
    /// image builder and a kernel refresh extract into `<kernel-file>/`: the boot image,
    /// and for U-Boot the device trees too (its boot script loads them from there).
    pub fn boot_files(&self, bootloader: Bootloader) -> Vec<String> {
        let mut out: Vec<String> = match self.boot_image {
            BootImage::Separate => vec!["kernel.img".into(), "initrd.img".into()],
            BootImage::Unified => vec!["kernel.efi".into()],
            BootImage::Both => vec![
                "kernel.efi".into(),
                "kernel.img".into(),
                "initrd.img".into(),
            ],
        };
        if bootloader == Bootloader::UBoot {
            out.extend(self.dtbs.iter().cloned());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(entries: &[(&str, NodeKind)]) -> Listing {
        entries
            .iter()
            .map(|(p, k)| ((*p).to_owned(), k.clone()))
            .collect()
    }
    fn file() -> NodeKind {
        NodeKind::File {
            size: 10,
            mode: 0o644,
        }
    }
    fn dir() -> NodeKind {
        NodeKind::Dir { mode: 0o755 }
    }
    fn link(t: &str) -> NodeKind {
        NodeKind::Symlink { target: t.into() }
    }

    fn pc_kernel() -> Listing {
        listing(&[
            ("meta", dir()),
            ("meta/snap.yaml", file()),
            ("meta/kernel.yaml", file()),
            ("boot", dir()),
            ("boot/vmlinuz-6.1.0", file()),
            ("kernel.img", link("boot/vmlinuz-6.1.0")),
            ("initrd.img", file()),
            ("dtbs", dir()),
            ("dtbs/broadcom", dir()),
            ("dtbs/broadcom/rpi.dtb", file()),
            ("modules", dir()),
            ("modules/6.1.0", dir()),
            ("modules/6.1.0/modules.dep", file()),
            ("firmware", dir()),
        ])
    }

    #[test]
    fn a_complete_kernel_is_described() {
        let k = KernelSnap::from_listing(
            &pc_kernel(),
            Some(b"assets:\n  dtbs:\n    content: [dtbs/]\n"),
        )
        .unwrap();
        assert_eq!(k.boot_image, BootImage::Separate);
        assert_eq!(k.dtbs, ["dtbs/broadcom/rpi.dtb"]);
        assert_eq!(k.module_versions, ["6.1.0"]);
        assert!(k.has_firmware);
        assert!(!k.force_extraction);
        assert_eq!(k.boot_files(Bootloader::Grub), ["kernel.img", "initrd.img"]);
        assert_eq!(
            k.boot_files(Bootloader::UBoot),
            ["kernel.img", "initrd.img", "dtbs/broadcom/rpi.dtb"]
        );
    }

    #[test]
    fn a_unified_kernel_needs_no_initrd() {
        let files = listing(&[
            ("kernel.efi", file()),
            ("meta/force-kernel-extraction", file()),
        ]);
        let k = KernelSnap::from_listing(&files, None).unwrap();
        assert_eq!(k.boot_image, BootImage::Unified);
        assert!(k.force_extraction);
        assert_eq!(k.boot_files(Bootloader::Grub), ["kernel.efi"]);
    }

    #[test]
    fn bad_layouts_say_why() {
        let mut files = pc_kernel();
        files.remove("initrd.img");
        assert_eq!(
            KernelSnap::from_listing(&files, None).unwrap_err(),
            KernelError::NoInitrd
        );
        let files = listing(&[("initrd.img", file())]);
        assert_eq!(
            KernelSnap::from_listing(&files, None).unwrap_err(),
            KernelError::NoKernel
        );
        let mut files = pc_kernel();
        files.insert("kernel.img".into(), link("/boot/vmlinuz"));
        let e = KernelSnap::from_listing(&files, None).unwrap_err();
        assert!(
            e.to_string().starts_with("kernel.img must be a file"),
            "{e}"
        );
        let mut files = pc_kernel();
        files.insert("kernel.img".into(), dir());
        assert!(KernelSnap::from_listing(&files, None).is_err());
        let mut files = pc_kernel();
        files.insert("modules/stray.ko".into(), file());
        let e = KernelSnap::from_listing(&files, None).unwrap_err();
        assert!(e.to_string().contains("modules/stray.ko"), "{e}");
        let mut files = pc_kernel();
        files.insert("firmware".into(), file());
        let e = KernelSnap::from_listing(&files, None).unwrap_err();
        assert_eq!(e.to_string(), "firmware must be a directory");
        let e = KernelSnap::from_listing(
            &pc_kernel(),
            Some(b"assets:\n  dtbs:\n    content: [dtbs/overlays/]\n"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("is not in the kernel snap"), "{e}");
        // A file named with a trailing slash is not a directory.
        let e = KernelSnap::from_listing(
            &pc_kernel(),
            Some(b"assets:\n  k:\n    content: [initrd.img/]\n"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("is not in the kernel snap"), "{e}");
    }

    #[test]
    fn symlink_loops_are_not_files() {
        let files = listing(&[
            ("kernel.img", link("a")),
            ("a", link("kernel.img")),
            ("initrd.img", file()),
        ]);
        assert!(KernelSnap::from_listing(&files, None).is_err());
    }
}
