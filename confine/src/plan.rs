//! The mount plan: the list of mounts that turn the scratch directory into the app's `/`,
//! computed from the layout and the profile alone (pure). [`crate::mounts`] carries it out.
//!
//! 1. The base snap's mounted revision (`<root>/snap/BASE/current`, the symlink resolved) is
//!    bound (recursively) onto the scratch directory `<root>/var/lib/snapd/sandbox`, read-only.
//! 2. Into it, recursive binds of the machine's `/dev`, `/proc`, `/sys`, `/etc`, `/media`,
//!    `/mnt` (always the real ones: they describe the machine, not the snap layout), then of
//!    the root's `snap`, `var/snap`, `var/lib/snapd`, `home` and `root`: the *trees*.
//! 3. Files readable by root that no app needs are hidden under an empty read-only file or
//!    directory ([`MASKED_FILES`], [`MASKED_DIRS`], and the ssh host private keys).
//! 4. Every tree is made read-only, submounts included, except the paths the profile lets the
//!    app write ([`writable_paths`]: its landlock rules with read-write or full access), which
//!    are bound again on top as they were before, with the machine's own mount flags. Landlock
//!    has no right for changing modes, owners, times or extended attributes; a read-only mount
//!    refuses them (EROFS), so the app can change metadata only where it may write.
//! 5. A new devpts instance on `/dev/pts`, with `/dev/ptmx` bound to its `ptmx`.
//! 6. The snap's private `/dev/shm` (`/dev/shm/snap.NAME` on the machine, per user for other
//!    callers than root) onto `/dev/shm`: the machine's POSIX shared memory and semaphores
//!    stay out of sight.
//! 7. The snap's private `/tmp`.
//! 8. A small tmpfs on `/run` holding only what the profile names under `/run`
//!    ([`run_entries`]) and the app's `XDG_RUNTIME_DIR`, bound from the machine's `/run`
//!    (read-only unless the rule grants writing); the tmpfs itself is then read-only. Landlock
//!    before ABI 9 does not mediate `connect()` on named sockets, so a socket the app must not
//!    reach must not be in its mount namespace at all.
//! 9. The profile's extra bind mounts.
//!
//! Targets are paths inside the sandbox. A target missing from the (read-only) base is skipped,
//! except the [`Bind::required`] ones (`/dev`, `/proc`, `/snap`, `/tmp`).

use std::path::{Path, PathBuf};

use snap_core::dirs::Dirs;
use snap_interfaces::profile::{Access, MountEntry, PathRule};

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
pub const MASKED_DIRS: &[&str] = &["/etc/sudoers.d", "/var/lib/snapd/cookie"];

/// The directory whose `ssh_host_*_key` files (the private host keys) are hidden too.
pub const SSH_DIR: &str = "/etc/ssh";

/// Whether `name` (in [`SSH_DIR`]) is an ssh host *private* key.
pub fn is_ssh_host_private_key(name: &str) -> bool {
    name.starts_with("ssh_host_") && name.ends_with("_key")
}

/// One recursive bind mount of a tree from outside the sandbox onto a path inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    /// An absolute path on the machine.
    pub source: PathBuf,
    /// An absolute path inside the sandbox.
    pub target: String,
    /// A missing source or target is an error rather than a skipped mount.
    pub required: bool,
    /// Create the source with this mode when it is missing (directories under the root).
    pub create_source: Option<u32>,
}

/// A path of the machine's `/run` bound into the sandbox's `/run` (the same path on both
/// sides).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunEntry {
    pub path: String,
    /// Bound read-write (the rule grants writing); read-only otherwise.
    pub writable: bool,
    /// Where it comes from on the machine when that is not `path` itself (the root's own
    /// sockets, which live under the root rather than in the machine's `/run`).
    pub source: Option<PathBuf>,
}

/// The daemon's socket for snaps (`snapctl`), at the same place in every sandbox; the
/// daemon tells callers apart by their cookie, never by this path.
pub const SNAP_SOCKET: &str = "/run/snapd-snap.socket";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A tree (see the module documentation), bound read-write until [`Step::ReadOnly`].
    Bind(Bind),
    /// Hide these files and directories (inside the sandbox) when they exist.
    Mask {
        files: Vec<String>,
        dirs: Vec<String>,
        ssh_dir: String,
    },
    /// Make the bound `trees` read-only (recursively), except `writable`, which are bound
    /// again on top as they were before (recursive copies taken first, so they keep the
    /// machine's own mount flags, submounts included). `sources` are the sources of read-write
    /// profile mounts, copied at the same moment for [`Step::Extra`].
    ReadOnly {
        trees: Vec<String>,
        writable: Vec<String>,
        sources: Vec<String>,
    },
    /// A new devpts instance on `/dev/pts` and `/dev/ptmx` bound to `/dev/pts/ptmx`.
    Devpts,
    /// The snap's private shared memory directory (prepared on the host beforehand) onto
    /// `/dev/shm`.
    PrivateShm { source: PathBuf },
    /// The snap's private tmp (prepared on the host beforehand) onto `/tmp`.
    PrivateTmp { source: PathBuf },
    /// A tmpfs on `/run` and these paths of the machine's `/run` bound into it, parents
    /// first; the tmpfs is read-only afterwards.
    Run { entries: Vec<RunEntry> },
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

/// Host directories bound into every sandbox: (machine path, required). `/run` is not among
/// them: see [`Step::Run`].
const HOST_BINDS: &[(&str, bool)] = &[
    ("/dev", true),
    ("/proc", true),
    ("/sys", false),
    ("/etc", false),
    ("/media", false),
    ("/mnt", false),
    // The machine's logs, as snapd binds them: only log-observe's rule opens them.
    ("/var/log", false),
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

/// Where the launcher's own directory (with `snapctl` beside it) appears in every sandbox, as
/// snapd binds its libexec directory: bases carry the empty directory and `/usr/bin/snapctl`
/// pointing into it.
pub const LIBEXEC_IN_SANDBOX: &str = "/usr/lib/snapd";

/// Paths the launcher mounts itself (read-write where the app may write): rules under them
/// need no tree re-bound. `/run` is rebuilt by [`Step::Run`].
const OWN_MOUNTS: &[&str] = &["/tmp", "/dev/shm", "/dev/pts", "/run"];

/// What a plan is made of, besides the layout.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// The base snap's name.
    pub base: &'a str,
    /// The snap's private tmp on the machine.
    pub private_tmp: &'a Path,
    /// The snap's private shared memory directory on the machine.
    pub private_shm: &'a Path,
    /// The profile's landlock path rules (`$HOME` and `$UID` not yet substituted).
    pub rules: &'a [PathRule],
    /// The profile's extra mounts (paths may use `$HOME` and `$UID`).
    pub mounts: &'a [MountEntry],
    /// The app's `XDG_RUNTIME_DIR` (`/run/user/UID/snap.NAME`), bound read-write when the
    /// machine has it.
    pub runtime_dir: &'a str,
    /// What `$HOME` and `$UID` stand for.
    pub home: &'a str,
    pub uid: u32,
    /// The directory holding the launcher and `snapctl` on the machine.
    pub libexec_dir: Option<&'a Path>,
}

/// The plan under `dirs` for `input`.
pub fn plan(dirs: &Dirs, input: &Input) -> MountPlan {
    let mut steps = Vec::new();
    let mut trees = Vec::new();
    for &(path, required) in HOST_BINDS {
        trees.push(path.to_owned());
        steps.push(Step::Bind(Bind {
            source: PathBuf::from(path),
            target: path.to_owned(),
            required,
            create_source: None,
        }));
    }
    for &(rel, required, mode) in ROOT_BINDS {
        trees.push(format!("/{rel}"));
        steps.push(Step::Bind(Bind {
            source: dirs.root().join(rel),
            target: format!("/{rel}"),
            required,
            create_source: Some(mode),
        }));
    }
    if let Some(dir) = input.libexec_dir {
        trees.push(LIBEXEC_IN_SANDBOX.to_owned());
        steps.push(Step::Bind(Bind {
            source: dir.to_owned(),
            target: LIBEXEC_IN_SANDBOX.to_owned(),
            required: false,
            create_source: None,
        }));
    }
    steps.push(Step::Mask {
        files: MASKED_FILES.iter().map(|s| s.to_string()).collect(),
        dirs: MASKED_DIRS.iter().map(|s| s.to_string()).collect(),
        ssh_dir: SSH_DIR.to_owned(),
    });
    let extra: Vec<(String, String, bool)> = input
        .mounts
        .iter()
        .map(|m| {
            (
                substitute_user(&m.source, input.home, input.uid),
                substitute_user(&m.target, input.home, input.uid),
                m.read_only,
            )
        })
        .collect();
    let mut sources: Vec<String> = extra
        .iter()
        .filter(|(source, _, read_only)| !read_only && trees.iter().any(|t| is_under(source, t)))
        .map(|(source, _, _)| source.clone())
        .collect();
    sources.sort();
    sources.dedup();
    steps.push(Step::ReadOnly {
        writable: writable_paths(input.rules, input.home, input.uid, &trees),
        trees,
        sources,
    });
    steps.push(Step::Devpts);
    steps.push(Step::PrivateShm {
        source: input.private_shm.to_owned(),
    });
    steps.push(Step::PrivateTmp {
        source: input.private_tmp.to_owned(),
    });
    let mut run = run_entries(input.rules, input.home, input.uid, input.runtime_dir);
    if !run.iter().any(|e| is_under(SNAP_SOCKET, &e.path)) {
        run.push(RunEntry {
            path: SNAP_SOCKET.to_owned(),
            writable: true,
            source: Some(dirs.snap_socket()),
        });
        run.sort_by(|a, b| a.path.cmp(&b.path));
    }
    steps.push(Step::Run { entries: run });
    for (source, target, read_only) in extra {
        steps.push(Step::Extra {
            source,
            target,
            read_only,
        });
    }
    MountPlan {
        base_link: dirs.current_link(input.base),
        scratch: dirs.sandbox_scratch_dir(),
        steps,
    }
}

/// Whether `path` is `dir` or below it (by components, as written).
pub fn is_under(path: &str, dir: &str) -> bool {
    match path.strip_prefix(dir) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || dir.ends_with('/'),
        None => false,
    }
}

/// A profile path (`$HOME` and `$UID` substituted) if it is absolute and clean, and not `/`.
fn clean_rule_path(rule: &PathRule, home: &str, uid: u32) -> Option<String> {
    let path = substitute_user(&rule.path, home, uid);
    match relative_in_sandbox(&path) {
        Some(rel) if rel != "." => Some(path),
        _ => None,
    }
}

fn grants_writing(access: Access) -> bool {
    matches!(access, Access::ReadWrite | Access::Full)
}

/// The paths bound read-write again over the read-only trees: the targets of the profile's
/// rules with read-write or full access (`$HOME`, `$UID` substituted) that lie in one of
/// `trees` and not in a directory the launcher mounts itself ([`OWN_MOUNTS`]), sorted, each
/// once, none below another (the copy of a directory holds everything below it). Device rules
/// need nothing: device nodes can be read and written on a read-only mount.
pub fn writable_paths(rules: &[PathRule], home: &str, uid: u32, trees: &[String]) -> Vec<String> {
    let mut paths: Vec<String> = rules
        .iter()
        .filter(|r| grants_writing(r.access))
        .filter_map(|r| clean_rule_path(r, home, uid))
        .filter(|p| trees.iter().any(|t| is_under(p, t)))
        .filter(|p| !OWN_MOUNTS.iter().any(|o| is_under(p, o)))
        .collect();
    paths.sort();
    paths.dedup();
    let mut out: Vec<String> = Vec::with_capacity(paths.len());
    for p in paths {
        if !out.iter().any(|a| is_under(&p, a)) {
            out.push(p);
        }
    }
    out
}

/// What the sandbox's `/run` holds: every profile rule's path under `/run` (or `/var/run`,
/// the base's symlink to it), writable when the rule grants writing, and `runtime_dir`
/// (writable); sorted so that parents come first, each once, and without the ones already
/// bound through a parent with the same access or a writable one.
pub fn run_entries(rules: &[PathRule], home: &str, uid: u32, runtime_dir: &str) -> Vec<RunEntry> {
    let mut entries: Vec<RunEntry> = rules
        .iter()
        .filter_map(|r| {
            let path = clean_rule_path(r, home, uid)?;
            let path = match path.strip_prefix("/var/run") {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("/run{rest}"),
                _ => path,
            };
            is_under(&path, "/run").then(|| RunEntry {
                path,
                writable: grants_writing(r.access),
                source: None,
            })
        })
        .collect();
    if relative_in_sandbox(runtime_dir).is_some() && is_under(runtime_dir, "/run") {
        entries.push(RunEntry {
            path: runtime_dir.to_owned(),
            writable: true,
            source: None,
        });
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path).then(b.writable.cmp(&a.writable)));
    entries.dedup_by(|later, first| later.path == first.path);
    let mut out: Vec<RunEntry> = Vec::with_capacity(entries.len());
    for e in entries {
        let covered = out
            .iter()
            .any(|a| is_under(&e.path, &a.path) && (a.writable || a.writable == e.writable));
        if !covered {
            out.push(e);
        }
    }
    out
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

    fn rule(path: &str, access: Access) -> PathRule {
        PathRule {
            path: path.into(),
            access,
        }
    }

    #[test]
    fn plan_for_a_test_root() {
        let dirs = Dirs::new("/tmp/r");
        let extra = vec![
            MountEntry {
                source: "/snap/hello/x1/lib".into(),
                target: "$HOME/lib-$UID".into(),
                read_only: true,
            },
            MountEntry {
                source: "/var/snap/other/current/shared".into(),
                target: "/var/snap/hello/x1/shared".into(),
                read_only: false,
            },
        ];
        let rules = vec![
            rule("/usr", Access::ReadExec),
            rule("/var/snap/hello/x1", Access::Full),
            rule("$HOME/snap/hello/x1", Access::Full),
            rule("/tmp", Access::Full),
            rule("/dev/shm", Access::ReadWrite),
            rule("/dev/null", Access::Device),
            rule("/run/user/$UID/snap.hello", Access::Full),
        ];
        let p = plan(
            &dirs,
            &Input {
                base: "core24",
                private_tmp: Path::new("/tmp/r/tmp/snap-private-tmp/snap.hello/tmp"),
                private_shm: Path::new("/dev/shm/snap.hello"),
                rules: &rules,
                mounts: &extra,
                runtime_dir: "/run/user/0/snap.hello",
                home: "/root",
                uid: 0,
                libexec_dir: Some(Path::new("/usr/libexec/snapd")),
            },
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
            ("/media", "/media", false),
            ("/mnt", "/mnt", false),
            ("/var/log", "/var/log", false),
            ("/tmp/r/snap", "/snap", true),
            ("/tmp/r/var/snap", "/var/snap", false),
            ("/tmp/r/var/lib/snapd", "/var/lib/snapd", false),
            ("/tmp/r/home", "/home", false),
            ("/tmp/r/root", "/root", false),
            ("/usr/libexec/snapd", "/usr/lib/snapd", false),
        ]
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
        .collect();
        assert_eq!(binds, expect);
        let rest = &p.steps[binds.len()..];
        assert!(
            matches!(&rest[0], Step::Mask { files, .. } if files.contains(&"/etc/shadow".to_string()))
        );
        let trees: Vec<String> = expect.iter().map(|(_, t, _)| t.clone()).collect();
        assert_eq!(
            rest[1],
            Step::ReadOnly {
                trees,
                writable: vec!["/root/snap/hello/x1".into(), "/var/snap/hello/x1".into()],
                sources: vec!["/var/snap/other/current/shared".into()],
            }
        );
        assert_eq!(rest[2], Step::Devpts);
        assert_eq!(
            rest[3],
            Step::PrivateShm {
                source: "/dev/shm/snap.hello".into()
            }
        );
        assert_eq!(
            rest[4],
            Step::PrivateTmp {
                source: "/tmp/r/tmp/snap-private-tmp/snap.hello/tmp".into()
            }
        );
        assert_eq!(
            rest[5],
            Step::Run {
                entries: vec![
                    // The daemon's socket for snaps comes from the root, not the machine.
                    RunEntry {
                        path: "/run/snapd-snap.socket".into(),
                        writable: true,
                        source: Some("/tmp/r/run/snapd-snap.socket".into()),
                    },
                    RunEntry {
                        path: "/run/user/0/snap.hello".into(),
                        writable: true,
                        source: None,
                    },
                ]
            }
        );
        assert_eq!(
            rest[6],
            Step::Extra {
                source: "/snap/hello/x1/lib".into(),
                target: "/root/lib-0".into(),
                read_only: true
            }
        );
        assert_eq!(
            rest[7],
            Step::Extra {
                source: "/var/snap/other/current/shared".into(),
                target: "/var/snap/hello/x1/shared".into(),
                read_only: false
            }
        );
        assert_eq!(rest.len(), 8);
    }

    #[test]
    fn writable_paths_are_the_rules_that_grant_writing() {
        let trees: Vec<String> = ["/dev", "/etc", "/media", "/var/snap", "/home"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let rules = vec![
            rule("/var/snap/a/x1", Access::Full),
            rule("/var/snap/a/x1/sub", Access::ReadWrite),
            rule("/var/snap/a/x10", Access::Full),
            rule("/var/snap/a", Access::Read),
            rule("$HOME/snap/a/x1", Access::Full),
            rule("$HOME/snap/a/x1", Access::ReadWrite),
            rule("$HOME/.gnupg/random_seed", Access::ReadWrite),
            rule("/media", Access::Full),
            rule("/media/usb", Access::Full),
            rule("/etc/passwd", Access::Read),
            rule("/dev/net/tun", Access::Device),
            rule("/dev/shm", Access::Full),
            rule("/dev/shm/x", Access::Full),
            rule("/dev/pts", Access::Full),
            rule("/tmp", Access::Full),
            rule("/run/user/$UID/snap.a", Access::Full),
            rule("/usr/lib/x", Access::Full),
            rule("/var/snap/../../etc", Access::Full),
            rule("relative", Access::Full),
            rule("/", Access::Full),
        ];
        assert_eq!(
            writable_paths(&rules, "/home/al", 1000, &trees),
            [
                "/home/al/.gnupg/random_seed",
                "/home/al/snap/a/x1",
                "/media",
                "/var/snap/a/x1",
                "/var/snap/a/x10",
            ]
        );
        assert!(writable_paths(&[], "/root", 0, &trees).is_empty());
    }

    #[test]
    fn run_holds_only_what_rules_name() {
        let rules = vec![
            rule("/run/dbus/system_bus_socket", Access::ReadWrite),
            rule("/run/systemd/resolve", Access::Read),
            rule("/run/systemd/resolve/stub-resolv.conf", Access::Read),
            rule("/run/udev/data", Access::Read),
            rule("/run/udev/data/c189:1", Access::ReadWrite),
            rule("/var/run/netns", Access::ReadWrite),
            rule("/run/media", Access::Full),
            rule("/run/media/x", Access::Read),
            rule("/run/user/$UID/bus", Access::ReadWrite),
            rule("/run/user/$UID/snap.a", Access::Full),
            rule("/runx", Access::Full),
            rule("/var/runx", Access::Full),
            rule("/etc/hosts", Access::Read),
            rule("/run/../etc", Access::Read),
        ];
        let entries = run_entries(&rules, "/home/al", 1000, "/run/user/1000/snap.a");
        let got: Vec<(&str, bool)> = entries
            .iter()
            .map(|e| (e.path.as_str(), e.writable))
            .collect();
        assert_eq!(
            got,
            [
                ("/run/dbus/system_bus_socket", true),
                ("/run/media", true),
                ("/run/netns", true),
                ("/run/systemd/resolve", false),
                ("/run/udev/data", false),
                ("/run/udev/data/c189:1", true),
                ("/run/user/1000/bus", true),
                ("/run/user/1000/snap.a", true),
            ]
        );
        // The runtime directory alone when no rule names /run.
        assert_eq!(
            run_entries(&[], "/root", 0, "/run/user/0/snap.a"),
            [RunEntry {
                path: "/run/user/0/snap.a".into(),
                writable: true,
                source: None,
            }]
        );
    }

    #[test]
    fn paths_under_directories() {
        assert!(is_under("/run", "/run"));
        assert!(is_under("/run/x", "/run"));
        assert!(!is_under("/runx", "/run"));
        assert!(!is_under("/ru", "/run"));
        assert!(is_under("/anything", "/"));
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
