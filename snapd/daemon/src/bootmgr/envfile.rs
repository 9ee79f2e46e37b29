//! The boot environment file, grub's or U-Boot's, read and rewritten in place one variable
//! at a time.
//!
//! - grub's `grubenv`: `save_env` overwrites the existing 1024-byte block in place and
//!   cannot create or rename files, so we do the same: the block is written over the file's
//!   own bytes (no temporary file and rename, which on the FAT ESP is not atomic either) and
//!   synced before the next write. Our variables sit in the block's first 512-byte sector
//!   (`spec/boot.md`), so one write is one sector and cannot tear between variables.
//! - U-Boot's `uboot.env` (UC16/18) or `uboot/ubuntu/boot.sel` (UC20+), the file the boot
//!   script of `gadget_kernel::boot::ubootscr` imports and saves whole: rewritten whole, in
//!   its own size, layout (CRC header with or without the flag byte) and padding, over the
//!   file's own bytes, then synced. Keeping the padding the file has (U-Boot's `env export`
//!   pads with NULs, `mkenvimage` with 0xff) means that only the bytes of the variables and
//!   the CRC change, all in the first sector; a power cut during the write is discussed in
//!   `spec/boot.md` ("U-Boot", "Limits").
//!
//! Which codec a file takes follows from its name, which `BootConfig` found.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;

use anyhow::{Context, bail};
use gadget_kernel::boot::{BootEnv, Write};
use gadget_kernel::image::env::EnvError;
use gadget_kernel::image::env::grubenv::GrubEnv;
use gadget_kernel::image::env::ubootenv::UbootEnv;

/// The file names of the environments the daemon manages.
pub const GRUBENV: &str = "grubenv";
pub const UBOOT_ENV: &str = "uboot.env";
pub const BOOT_SEL: &str = "boot.sel";

/// A boot environment as read from its file, in the file's own format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Env {
    Grub(GrubEnv),
    Uboot(UbootEnv),
}

impl BootEnv for Env {
    fn var(&self, key: &str) -> &str {
        match self {
            Env::Grub(e) => e.var(key),
            Env::Uboot(e) => e.var(key),
        }
    }
    fn set_var(&mut self, key: &str, value: &str) -> Result<(), EnvError> {
        match self {
            Env::Grub(e) => e.set_var(key, value),
            Env::Uboot(e) => e.set_var(key, value),
        }
    }
}

impl Env {
    /// The whole file.
    pub fn encode(&self) -> Result<Vec<u8>, EnvError> {
        match self {
            Env::Grub(e) => e.encode(),
            Env::Uboot(e) => e.encode(),
        }
    }

    fn what(&self) -> &'static str {
        match self {
            Env::Grub(_) => "grub environment block",
            Env::Uboot(_) => "U-Boot environment",
        }
    }
}

/// Whether `path` names a U-Boot environment (`uboot.env`, `boot.sel`) rather than a
/// grubenv.
fn is_uboot(path: &Path) -> anyhow::Result<bool> {
    match path.file_name().and_then(|n| n.to_str()) {
        Some(GRUBENV) => Ok(false),
        Some(UBOOT_ENV | BOOT_SEL) => Ok(true),
        _ => bail!(
            "{} is not a boot environment the daemon knows ({GRUBENV}, {UBOOT_ENV}, {BOOT_SEL})",
            path.display()
        ),
    }
}

pub fn read(path: &Path) -> anyhow::Result<Env> {
    let uboot = is_uboot(path)?;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let env = if uboot {
        UbootEnv::parse(&bytes).map(Env::Uboot)
    } else {
        GrubEnv::parse(&bytes).map(Env::Grub)
    };
    env.with_context(|| format!("cannot parse {}", path.display()))
}

/// Overwrites `path` with `env`, then syncs it. The file must already have the size the
/// encoding has (1024 bytes for grub; for U-Boot the size it was read with): a file of
/// another size is refused unchanged.
pub fn write_in_place(path: &Path, env: &Env) -> anyhow::Result<()> {
    let bytes = env
        .encode()
        .with_context(|| format!("cannot encode the {}", env.what()))?;
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let len = f.metadata()?.len();
    if len != bytes.len() as u64 {
        bail!(
            "{} is {len} bytes, not a {}-byte {}: not rewriting it",
            path.display(),
            bytes.len(),
            env.what()
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
    env: &mut Env,
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
    use gadget_kernel::boot::{
        KERNEL_STATUS, SNAP_CORE, SNAP_KERNEL, SNAP_TRY_KERNEL, cancel_try, prepare_try,
    };

    fn grubenv(dir: &Path, kernel: &str) -> std::path::PathBuf {
        let mut e = GrubEnv::new();
        e.set("snap_mode", "").unwrap();
        e.set(SNAP_KERNEL, kernel).unwrap();
        let p = dir.join(GRUBENV);
        std::fs::write(&p, e.encode().unwrap()).unwrap();
        p
    }

    /// A `uboot.env` of `size` bytes as U-Boot's `env export -c` leaves it (NUL padding) or
    /// as mkenvimage makes it (0xff), with the flag byte or without.
    fn uboot_env(path: &Path, size: usize, redundant: bool, pad: u8) -> Vec<u8> {
        let mut e = UbootEnv::new(size, redundant);
        e.set_padding(pad);
        e.set(SNAP_KERNEL, "k_x1.snap").unwrap();
        e.set(SNAP_CORE, "core22_x1.snap").unwrap();
        let bytes = e.encode().unwrap();
        std::fs::write(path, &bytes).unwrap();
        bytes
    }

    /// Each write lands, in order, in the file `path` and is read back by the right codec.
    fn prepare_in_order(p: &Path) {
        let mut env = read(p).unwrap();
        let prep = prepare_try(&env, "k_x2.snap").unwrap();
        let mut seen = Vec::new();
        apply_durably(p, &mut env, &prep.writes, |i| {
            let on_disk = read(p).unwrap();
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
            ],
            "{}",
            p.display()
        );
        assert_eq!(read(p).unwrap().var(SNAP_KERNEL), "k_x1.snap");
    }

    #[test]
    fn writes_land_in_order_in_the_same_block() {
        let d = tempfile::tempdir().unwrap();
        let p = grubenv(d.path(), "k_x1.snap");
        let before = std::fs::read(&p).unwrap();
        prepare_in_order(&p);
        let back = read(&p).unwrap();
        let Env::Grub(g) = &back else {
            panic!("{back:?}")
        };
        assert_eq!(g.get("snap_mode"), Some(""));
        let after = std::fs::read(&p).unwrap();
        assert_eq!(after.len(), 1024);
        // The same bytes the grub codec makes: the daemon's grubenv is unchanged by the
        // abstraction over both bootloaders.
        let mut expected = GrubEnv::parse(&before).unwrap();
        expected.set(SNAP_TRY_KERNEL, "k_x2.snap").unwrap();
        expected.set(KERNEL_STATUS, "try").unwrap();
        assert_eq!(after, expected.encode().unwrap());
    }

    #[test]
    fn a_uboot_env_is_rewritten_whole_keeping_size_layout_and_padding() {
        let d = tempfile::tempdir().unwrap();
        for (name, size, redundant, pad) in [
            (UBOOT_ENV, 131_072, false, 0x00),
            (UBOOT_ENV, 131_072, true, 0xff),
            (BOOT_SEL, 4096, true, 0x00),
            (BOOT_SEL, 4096, false, 0xff),
        ] {
            let p = d.path().join(name);
            let before = uboot_env(&p, size, redundant, pad);
            prepare_in_order(&p);
            let after = std::fs::read(&p).unwrap();
            let what = format!("{name} {size} redundant={redundant} pad={pad:#x}");
            assert_eq!(after.len(), size, "{what}");
            let Env::Uboot(u) = read(&p).unwrap() else {
                panic!("{what}: not read as U-Boot's")
            };
            assert_eq!(u.size(), size, "{what}");
            assert_eq!(u.redundant(), redundant, "{what}");
            assert_eq!(u.get(SNAP_CORE), Some("core22_x1.snap"), "{what}");
            if redundant {
                assert_eq!(after[4], 1, "{what}: the flag byte");
            }
            // Only the first sector changed: the CRC and the variables.
            let differs: Vec<usize> = (0..size).filter(|i| before[*i] != after[*i]).collect();
            assert!(
                differs.first() == Some(&0) && differs.last().is_some_and(|l| *l < 512),
                "{what}: bytes {:?}..{:?} changed",
                differs.first(),
                differs.last()
            );
            // Withdrawing the try clears both: an empty U-Boot value is no variable.
            let mut env = read(&p).unwrap();
            let writes = cancel_try(&env);
            apply_durably(&p, &mut env, &writes, |_| {}).unwrap();
            let Env::Uboot(u) = read(&p).unwrap() else {
                unreachable!()
            };
            assert_eq!(u.get(SNAP_TRY_KERNEL), None, "{what}");
            assert_eq!(u.get(KERNEL_STATUS), None, "{what}");
            // Back to the first state, byte for byte.
            assert_eq!(std::fs::read(&p).unwrap(), before, "{what}");
        }
    }

    #[test]
    fn a_file_of_another_size_is_refused_unchanged() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(GRUBENV);
        let short = b"# GRUB Environment Block\nsnap_kernel=k_x1.snap\n";
        std::fs::write(&p, short).unwrap();
        let mut env = read(&p).unwrap();
        env.set_var(SNAP_KERNEL, "k_x2.snap").unwrap();
        let err = write_in_place(&p, &env).unwrap_err();
        assert!(format!("{err:#}").contains("not a 1024-byte"), "{err:#}");
        assert_eq!(std::fs::read(&p).unwrap(), short);

        // A uboot.env that changed size since it was read.
        let p = d.path().join(UBOOT_ENV);
        uboot_env(&p, 8192, false, 0xff);
        let mut env = read(&p).unwrap();
        let other = uboot_env(&p, 4096, false, 0xff);
        env.set_var(SNAP_KERNEL, "k_x2.snap").unwrap();
        let err = write_in_place(&p, &env).unwrap_err();
        assert!(
            format!("{err:#}").contains("not a 8192-byte U-Boot environment"),
            "{err:#}"
        );
        assert_eq!(std::fs::read(&p).unwrap(), other);
    }

    #[test]
    fn the_codec_follows_the_file_name_and_bad_files_are_errors() {
        let d = tempfile::tempdir().unwrap();
        // A grub block named uboot.env is not a U-Boot environment, and the reverse.
        let g = grubenv(d.path(), "k_x1.snap");
        let u = d.path().join(UBOOT_ENV);
        std::fs::copy(&g, &u).unwrap();
        assert!(format!("{:#}", read(&u).unwrap_err()).contains("not a U-Boot environment"));
        uboot_env(&g, 4096, false, 0xff);
        assert!(format!("{:#}", read(&g).unwrap_err()).contains("not a grub environment"));
        // A U-Boot environment whose CRC does not match (a torn write) is refused.
        let mut bytes = uboot_env(&u, 4096, false, 0x00);
        bytes[8] ^= 1;
        std::fs::write(&u, &bytes).unwrap();
        assert!(format!("{:#}", read(&u).unwrap_err()).contains("CRC mismatch"));
        let other = d.path().join("env.txt");
        std::fs::write(&other, "x").unwrap();
        assert!(format!("{:#}", read(&other).unwrap_err()).contains("not a boot environment"));
    }
}
