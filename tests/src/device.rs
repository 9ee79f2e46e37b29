//! A device initramfs for the boot tests that run the real daemon inside QEMU: busybox, the
//! project's own `snapd` and `snap` (debug information stripped) with the C libraries they
//! link, the kernel modules a device needs to reach its disks and mount snaps (with their
//! dependencies, in load order), and an `/init` script. Compressed with zstd, which Debian's
//! kernel unpacks (`CONFIG_RD_ZSTD`).

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::qemu::{CpioEntry, busybox, newc_archive};

/// Where the initramfs keeps the module load order (paths under `/lib/modules/VERSION`).
pub const MODULES_ORDER: &str = "etc/modules.order";

/// The kernel version of Debian's `/boot/vmlinuz-VERSION`.
pub fn kernel_version(vmlinuz: &Path) -> String {
    vmlinuz
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("vmlinuz-"))
        .expect("a /boot/vmlinuz-VERSION file")
        .to_owned()
}

/// The module files (relative to `/lib/modules/VERSION`) that loading `names` takes, every
/// dependency before its users, from the kernel's `modules.dep`.
pub fn modules_in_load_order(version: &str, names: &[&str]) -> Vec<String> {
    let dep_file = Path::new("/lib/modules").join(version).join("modules.dep");
    let text = fs::read_to_string(&dep_file)
        .unwrap_or_else(|e| panic!("read {}: {e}", dep_file.display()));
    let deps = parse_modules_dep(&text);
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    for name in names {
        let path = deps
            .iter()
            .find(|(p, _)| module_name(p) == name.replace('-', "_"))
            .map(|(p, _)| p.clone())
            .unwrap_or_else(|| panic!("no module {name} in {}", dep_file.display()));
        visit(&deps, &path, &mut seen, &mut order);
    }
    order
}

fn visit(
    deps: &[(String, Vec<String>)],
    path: &str,
    seen: &mut BTreeSet<String>,
    order: &mut Vec<String>,
) {
    if !seen.insert(path.to_owned()) {
        return;
    }
    if let Some((_, needs)) = deps.iter().find(|(p, _)| p == path) {
        for n in needs {
            visit(deps, n, seen, order);
        }
    }
    order.push(path.to_owned());
}

/// `modules.dep`: `kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko ...` per line.
fn parse_modules_dep(text: &str) -> Vec<(String, Vec<String>)> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(m, d)| {
            (
                m.trim().to_owned(),
                d.split_whitespace().map(str::to_owned).collect(),
            )
        })
        .collect()
}

/// `kernel/fs/nls/nls_cp437.ko` → `nls_cp437` (the kernel writes `-` in names as `_`).
fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.split('.').next().unwrap_or(file).replace('-', "_")
}

/// The shared libraries `program` loads (the dynamic loader included), from `ldd`.
pub fn shared_libraries(program: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd").arg(program).output().expect("run ldd");
    assert!(out.status.success(), "ldd {}", program.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
            // "/lib64/ld-linux-x86-64.so.2 (0x...)"; the vDSO has no file.
            let path = l.split("=>").last()?.split_whitespace().next()?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// `program` without its debug information (the debug build's binaries are mostly that).
pub fn stripped(program: &Path) -> Vec<u8> {
    let tmp = tempfile::NamedTempFile::new().expect("tmp");
    let st = Command::new("objcopy")
        .arg("--strip-debug")
        .arg(program)
        .arg(tmp.path())
        .status()
        .expect("run objcopy (binutils)");
    assert!(st.success(), "objcopy --strip-debug {}", program.display());
    fs::read(tmp.path()).expect("read the stripped program")
}

/// What goes into a device initramfs besides busybox.
pub struct DeviceInitramfs<'a> {
    /// Programs installed as `/bin/NAME`, with the libraries they link.
    pub programs: &'a [(&'a str, &'a Path)],
    /// The kernel the modules are for.
    pub kernel_version: &'a str,
    /// Modules to load at boot (dependencies are added); their files in load order are
    /// listed in [`MODULES_ORDER`].
    pub modules: &'a [&'a str],
    /// The `/init` script, run by busybox's sh.
    pub init: &'a str,
}

impl DeviceInitramfs<'_> {
    /// The zstd-compressed newc archive.
    pub fn build(&self) -> Vec<u8> {
        // Every file with its parents; BTreeSet keeps parents before children.
        let mut dirs: BTreeSet<String> = ["bin", "dev", "etc", "proc", "run", "sys", "tmp"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        let mut files: Vec<(String, u32, Vec<u8>)> = Vec::new();
        let add_parents = |dirs: &mut BTreeSet<String>, path: &str| {
            let mut p = Path::new(path).parent();
            while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
                dirs.insert(d.display().to_string());
                p = d.parent();
            }
        };
        files.push((
            "bin/busybox".into(),
            0o755,
            fs::read(busybox()).expect("busybox"),
        ));
        let mut libs = BTreeSet::new();
        for (name, path) in self.programs {
            files.push((format!("bin/{name}"), 0o755, stripped(path)));
            libs.extend(shared_libraries(path));
        }
        for lib in libs {
            let rel = lib
                .strip_prefix("/")
                .expect("absolute")
                .display()
                .to_string();
            add_parents(&mut dirs, &rel);
            let data = fs::read(&lib).unwrap_or_else(|e| panic!("read {}: {e}", lib.display()));
            files.push((rel, 0o755, data));
        }
        let modules = modules_in_load_order(self.kernel_version, self.modules);
        let module_root = format!("lib/modules/{}", self.kernel_version);
        for m in &modules {
            let rel = format!("{module_root}/{m}");
            add_parents(&mut dirs, &rel);
            let data =
                fs::read(Path::new("/").join(&rel)).unwrap_or_else(|e| panic!("read /{rel}: {e}"));
            files.push((rel, 0o644, data));
        }
        let order: String = modules
            .iter()
            .map(|m| format!("/{module_root}/{m}\n"))
            .collect();
        files.push((MODULES_ORDER.into(), 0o644, order.into_bytes()));
        files.push((
            "init".into(),
            0o755,
            format!("#!/bin/busybox sh\n{}", self.init).into_bytes(),
        ));

        let mut entries: Vec<CpioEntry<'_>> = dirs.iter().map(|d| CpioEntry::Dir(d)).collect();
        entries.push(CpioEntry::Symlink("bin/sh", "busybox"));
        entries.push(CpioEntry::CharDev("dev/console", 5, 1));
        for (path, mode, data) in &files {
            entries.push(CpioEntry::File(path, *mode, data));
        }
        zstd(&newc_archive(&entries))
    }
}

fn zstd(data: &[u8]) -> Vec<u8> {
    let mut child = Command::new("zstd")
        .args(["-q", "-3", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run zstd");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("zstd");
    writer.join().expect("writer").expect("write to zstd");
    assert!(out.status.success(), "zstd failed");
    out.stdout
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_dep_in_load_order() {
        let deps = parse_modules_dep(
            "kernel/a/ext4.ko: kernel/b/jbd2.ko kernel/c/mbcache.ko\n\
             kernel/b/jbd2.ko: kernel/c/mbcache.ko\n\
             kernel/c/mbcache.ko:\n\
             kernel/d/nls-x.ko:\n",
        );
        let mut seen = BTreeSet::new();
        let mut order = Vec::new();
        visit(&deps, "kernel/a/ext4.ko", &mut seen, &mut order);
        assert_eq!(
            order,
            [
                "kernel/c/mbcache.ko",
                "kernel/b/jbd2.ko",
                "kernel/a/ext4.ko"
            ]
        );
        assert_eq!(module_name("kernel/d/nls-x.ko"), "nls_x");
    }
}
