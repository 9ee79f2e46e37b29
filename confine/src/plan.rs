//! The mount plan: the list of mounts that turn the scratch directory into the app's `/`,
//! computed from the layout and the profile alone (pure). [`crate::mounts`] carries it out.
//!
//! 1. The base snap's mounted revision (`<root>/snap/BASE/current`, the symlink resolved) is
//!    bound (recursively) onto the scratch directory `<root>/var/lib/snapd/sandbox`, read-only.
//! 2. Into it, recursive binds of the machine's `/dev`, `/proc`, `/sys`, `/etc`, `/run`,
//!    `/media`, `/mnt` (always the real ones: they describe the machine, not the snap layout),
//!    then of the root's `snap`, `var/snap`, `var/lib/snapd`, `home` and `root`.
//! 3. A new devpts instance on `/dev/pts`, with `/dev/ptmx` bound to its `ptmx`.
//! 4. Files readable by root that no app needs are hidden under an empty read-only file or
//!    directory ([`MASKED_FILES`], [`MASKED_DIRS`], and the ssh host private keys).
//! 5. The snap's private `/tmp`.
//! 6. The profile's extra bind mounts.
//!
//! Targets are paths inside the sandbox. A target missing from the (read-only) base is skipped,
//! except the [`Bind::required`] ones (`/dev`, `/proc`, `/snap`, `/tmp`).

use std::path::{Path, PathBuf};

use snap_core::dirs::Dirs;
use snap_interfaces::profile::MountEntry;

use crate::env::substitute_user;

/// Host files hidden from every app (when present).
pub const MASKED_FILES: &[&str] = &[
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/shadow-",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/security/opasswd",
];

/// Host directories hidden from every app (when present).
pub const MASKED_DIRS: &[&str] = &["/etc/sudoers.d"];

/// The directory whose `ssh_host_*_key` files (the private host keys) are hidden too.
pub const SSH_DIR: &str = "/etc/ssh";

/// Whether `name` (in [`SSH_DIR`]) is an ssh host *private* key.
pub fn is_ssh_host_private_key(name: &str) -> bool {
    name.starts_with("ssh_host_") && name.ends_with("_key")
}

/// One bind mount from outside the sandbox onto a path inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    /// An absolute path on the machine.
    pub source: PathBuf,
    /// An absolute path inside the sandbox.
    pub target: String,
    pub recursive: bool,
    pub read_only: bool,
    /// A missing source or target is an error rather than a skipped mount.
    pub required: bool,
    /// Create the source with this mode when it is missing (directories under the root).
    pub create_source: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Bind(Bind),
    /// A new devpts instance on `/dev/pts` and `/dev/ptmx` bound to `/dev/pts/ptmx`.
    Devpts,
    /// Hide these files and directories (inside the sandbox) when they exist.
    Mask {
        files: Vec<String>,
        dirs: Vec<String>,
        ssh_dir: String,
    },
    /// The snap's private tmp (prepared on the host beforehand) onto `/tmp`.
    PrivateTmp {
        source: PathBuf,
    },
    /// A profile mount: both paths are inside the sandbox.
    Extra {
        source: String,
        target: String,
        read_only: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountPlan {
    /// `<root>/snap/BASE/current`, resolved when the plan is carried out.
    pub base_link: PathBuf,
    /// `<root>/var/lib/snapd/sandbox`.
    pub scratch: PathBuf,
    pub steps: Vec<Step>,
}

/// Host directories bound into every sandbox: (machine path, required).
const HOST_BINDS: &[(&str, bool)] = &[
    ("/dev", true),
    ("/proc", true),
    ("/sys", false),
    ("/etc", false),
    ("/run", false),
    ("/media", false),
    ("/mnt", false),
];

/// Directories of the root bound into every sandbox: (path under the root and inside the
/// sandbox, required, mode to create the source with).
const ROOT_BINDS: &[(&str, bool, u32)] = &[
    ("snap", true, 0o755),
    ("var/snap", false, 0o755),
    ("var/lib/snapd", false, 0o755),
    ("home", false, 0o755),
    ("root", false, 0o700),
];

/// The plan for `base` under `dirs`, with the private tmp at `private_tmp` and the profile's
/// `mounts` (whose paths may use `$HOME` and `$UID`, substituted with `home` and `uid`).
pub fn plan(
    dirs: &Dirs,
    base: &str,
    private_tmp: &Path,
    extra: &[MountEntry],
    home: &str,
    uid: u32,
) -> MountPlan {
    let mut steps = Vec::new();
    for &(path, required) in HOST_BINDS {
        steps.push(Step::Bind(Bind {
            source: PathBuf::from(path),
            target: path.to_owned(),
            recursive: true,
            read_only: false,
            required,
            create_source: None,
        }));
    }
    for &(rel, required, mode) in ROOT_BINDS {
        steps.push(Step::Bind(Bind {
            source: dirs.root().join(rel),
            target: format!("/{rel}"),
            recursive: true,
            read_only: false,
            required,
            create_source: Some(mode),
        }));
    }
    steps.push(Step::Devpts);
    steps.push(Step::Mask {
        files: MASKED_FILES.iter().map(|s| s.to_string()).collect(),
        dirs: MASKED_DIRS.iter().map(|s| s.to_string()).collect(),
        ssh_dir: SSH_DIR.to_owned(),
    });
    steps.push(Step::PrivateTmp {
        source: private_tmp.to_owned(),
    });
    for m in extra {
        steps.push(Step::Extra {
            source: substitute_user(&m.source, home, uid),
            target: substitute_user(&m.target, home, uid),
            read_only: m.read_only,
        });
    }
    MountPlan {
        base_link: dirs.current_link(base),
        scratch: dirs.sandbox_scratch_dir(),
        steps,
    }
}

/// A recursive bind of `source` onto `target` (inside the sandbox) also copies whatever is
/// mounted under `source`, and so the sandbox being built when `scratch` lies under `source`
/// (`<root>/var/lib/snapd` holds the scratch directory; so does `/run` or `/mnt` for a root
/// placed there). Returns the path of that copy inside the sandbox, to be detached.
pub fn nested_scratch(source: &Path, target: &str, scratch: &Path) -> Option<String> {
    let rest = scratch.strip_prefix(source).ok()?;
    let mut p = PathBuf::from(target);
    p.push(rest);
    Some(p.to_string_lossy().into_owned())
}

/// A path inside the sandbox, relative to the sandbox's root, for `openat2(RESOLVE_IN_ROOT)`.
/// `None` if it is not absolute or climbs with `..` (the profile's paths are absolute and
/// clean).
pub fn relative_in_sandbox(path: &str) -> Option<&str> {
    let rel = path.strip_prefix('/')?;
    if Path::new(rel)
        .components()
        .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return None;
    }
    Some(if rel.is_empty() { "." } else { rel })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_for_a_test_root() {
        let dirs = Dirs::new("/tmp/r");
        let extra = vec![MountEntry {
            source: "/snap/hello/x1/lib".into(),
            target: "$HOME/lib-$UID".into(),
            read_only: true,
        }];
        let p = plan(
            &dirs,
            "core24",
            Path::new("/tmp/r/tmp/snap-private-tmp/snap.hello/tmp"),
            &extra,
            "/root",
            0,
        );
        assert_eq!(p.base_link, Path::new("/tmp/r/snap/core24/current"));
        assert_eq!(p.scratch, Path::new("/tmp/r/var/lib/snapd/sandbox"));
        let binds: Vec<(String, String, bool)> = p
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Bind(b) => Some((
                    b.source.to_string_lossy().into_owned(),
                    b.target.clone(),
                    b.required,
                )),
                _ => None,
            })
            .collect();
        let expect: Vec<(String, String, bool)> = [
            ("/dev", "/dev", true),
            ("/proc", "/proc", true),
            ("/sys", "/sys", false),
            ("/etc", "/etc", false),
            ("/run", "/run", false),
            ("/media", "/media", false),
            ("/mnt", "/mnt", false),
            ("/tmp/r/snap", "/snap", true),
            ("/tmp/r/var/snap", "/var/snap", false),
            ("/tmp/r/var/lib/snapd", "/var/lib/snapd", false),
            ("/tmp/r/home", "/home", false),
            ("/tmp/r/root", "/root", false),
        ]
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
        .collect();
        assert_eq!(binds, expect);
        let rest = &p.steps[binds.len()..];
        assert_eq!(rest[0], Step::Devpts);
        assert!(
            matches!(&rest[1], Step::Mask { files, .. } if files.contains(&"/etc/shadow".to_string()))
        );
        assert_eq!(
            rest[2],
            Step::PrivateTmp {
                source: "/tmp/r/tmp/snap-private-tmp/snap.hello/tmp".into()
            }
        );
        assert_eq!(
            rest[3],
            Step::Extra {
                source: "/snap/hello/x1/lib".into(),
                target: "/root/lib-0".into(),
                read_only: true
            }
        );
        assert_eq!(rest.len(), 4);
    }

    #[test]
    fn nested_copies_of_the_sandbox() {
        let scratch = Path::new("/r/var/lib/snapd/sandbox");
        assert_eq!(
            nested_scratch(Path::new("/r/var/lib/snapd"), "/var/lib/snapd", scratch),
            Some("/var/lib/snapd/sandbox".into())
        );
        assert_eq!(
            nested_scratch(Path::new("/r"), "/x", scratch),
            Some("/x/var/lib/snapd/sandbox".into())
        );
        assert_eq!(
            nested_scratch(Path::new("/r/var/snap"), "/var/snap", scratch),
            None
        );
        assert_eq!(
            nested_scratch(Path::new("/r/var/lib/snap"), "/x", scratch),
            None
        );
    }

    #[test]
    fn sandbox_paths() {
        assert_eq!(relative_in_sandbox("/etc/shadow"), Some("etc/shadow"));
        assert_eq!(relative_in_sandbox("/"), Some("."));
        assert_eq!(relative_in_sandbox("etc"), None);
        assert_eq!(relative_in_sandbox("/a/../b"), None);
        assert_eq!(relative_in_sandbox("/a/./b"), Some("a/./b"));
    }

    #[test]
    fn ssh_keys() {
        assert!(is_ssh_host_private_key("ssh_host_ed25519_key"));
        assert!(!is_ssh_host_private_key("ssh_host_ed25519_key.pub"));
        assert!(!is_ssh_host_private_key("sshd_config"));
    }
}
