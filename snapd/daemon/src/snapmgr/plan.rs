//! What installing or removing a snap takes: the checks that refuse it before anything
//! happens, and the chain of tasks that does it. Pure: the handlers do the work.

use snap_core::{Confinement, Revision, SnapType, SnapYaml};

use super::model::{Installed, SnapState};

/// The options a caller asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstallFlags {
    pub dangerous: bool,
    pub devmode: bool,
    pub classic: bool,
}

/// Why an install or remove is refused before a change is made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("cannot install snap file: installing an unsigned snap requires --dangerous")]
    NeedsDangerous,
    #[error("snap {0:?} requires devmode or confinement override")]
    NeedsDevmode(String),
    #[error("snap {0:?} requires classic confinement")]
    NeedsClassic(String),
    #[error("cannot find required base {0:?}")]
    MissingBase(String),
    #[error("cannot use {base:?} as the base of {snap:?}: it is a snap of type {actual}, not base")]
    BaseNotABase {
        snap: String,
        base: String,
        actual: String,
    },
    #[error("cannot install snap {0:?} of type \"snapd\" with a name other than \"snapd\"")]
    SnapdName(String),
    #[error("cannot install core snap {0:?} when core snap {1:?} is already present")]
    TwoCores(String, String),
    #[error("cannot replace {kind} snap with a different one")]
    ReplaceDeviceSnap { kind: &'static str },
    #[error("snap {name:?} is not removable: snap is being used by snap {user}")]
    InUse { name: String, user: String },
    #[error("cannot refresh snap {name:?} of type {from:?} to a snap of type {to:?}")]
    ChangeType {
        name: String,
        from: String,
        to: String,
    },
    /// The bootloader boots (or is about to try) this revision: removing it would leave the
    /// boot environment naming a missing file.
    #[error(
        "snap {name:?} is not removable: its revision {rev} is named by the boot environment ({var}={file})"
    )]
    Booted {
        name: String,
        rev: Revision,
        var: &'static str,
        file: String,
    },
    #[error("cannot check whether the bootloader uses snap {name:?}: {reason}")]
    BootUnknown { name: String, reason: String },
}

/// Checks an install against what is installed; `Ok` means a change may be created.
pub fn check_install(
    snap: &SnapYaml,
    flags: &InstallFlags,
    installed: &impl Installed,
) -> Result<(), Refusal> {
    if !flags.dangerous && !flags.devmode {
        // No store assertions exist for an uploaded file; as snapd, only --dangerous (or
        // --devmode, which implies it) installs one.
        return Err(Refusal::NeedsDangerous);
    }
    match snap.confinement {
        Confinement::Devmode if !flags.devmode => {
            return Err(Refusal::NeedsDevmode(snap.name.clone()));
        }
        Confinement::Classic if !flags.classic => {
            return Err(Refusal::NeedsClassic(snap.name.clone()));
        }
        _ => {}
    }
    check_type_rules(snap, installed)?;
    check_base(&snap.name, snap.snap_type, snap.base.as_deref(), installed)
}

fn check_type_rules(snap: &SnapYaml, installed: &impl Installed) -> Result<(), Refusal> {
    let other_of_type = |t: &str| {
        installed
            .all()
            .into_iter()
            .find(|(n, s)| s.snap_type == t && *n != snap.name)
            .map(|(n, _)| n)
    };
    match snap.snap_type {
        SnapType::Snapd if snap.name != "snapd" => Err(Refusal::SnapdName(snap.name.clone())),
        SnapType::Os => match other_of_type("os") {
            Some(other) => Err(Refusal::TwoCores(snap.name.clone(), other)),
            None => Ok(()),
        },
        SnapType::Kernel if other_of_type("kernel").is_some() => {
            Err(Refusal::ReplaceDeviceSnap { kind: "kernel" })
        }
        SnapType::Gadget if other_of_type("gadget").is_some() => {
            Err(Refusal::ReplaceDeviceSnap { kind: "gadget" })
        }
        _ => Ok(()),
    }
}

/// The base an app or gadget snap runs on, if it needs one installed. An empty base means the
/// legacy `core` snap, as in snapd; `none` means no base at all.
pub fn required_base(snap_type: SnapType, base: Option<&str>) -> Option<String> {
    if !matches!(snap_type, SnapType::App | SnapType::Gadget) {
        return None;
    }
    match base {
        Some("none") => None,
        Some("") | None => Some("core".to_owned()),
        Some(b) => Some(b.to_owned()),
    }
}

pub fn check_base(
    name: &str,
    snap_type: SnapType,
    base: Option<&str>,
    installed: &impl Installed,
) -> Result<(), Refusal> {
    let Some(base) = required_base(snap_type, base) else {
        return Ok(());
    };
    match installed.snap(&base) {
        Some(st) if st.snap_type == "base" || (base == "core" && st.snap_type == "os") => Ok(()),
        Some(st) => Err(Refusal::BaseNotABase {
            snap: name.to_owned(),
            base,
            actual: st.snap_type.clone(),
        }),
        None => Err(Refusal::MissingBase(base)),
    }
}

/// Checks a removal: a base still used by an installed snap stays, unless that snap goes in
/// the same change (`going`).
pub fn check_remove(
    name: &str,
    going: &[String],
    installed: &impl Installed,
) -> Result<(), Refusal> {
    // Only bases (and the legacy core) carry other snaps; nothing else needs the scan.
    let is_base = installed
        .snap(name)
        .is_some_and(|s| s.snap_type == "base" || s.snap_type == "os");
    if !is_base {
        return Ok(());
    }
    for (other, st) in installed.all() {
        if other == name || going.contains(&other) {
            continue;
        }
        let uses = st
            .current_info()
            .and_then(|i| {
                SnapType::parse(&st.snap_type).map(|t| required_base(t, i.base.as_deref()))
            })
            .flatten()
            .is_some_and(|b| b == name);
        if uses {
            return Err(Refusal::InUse {
                name: name.to_owned(),
                user: other,
            });
        }
    }
    Ok(())
}

/// One task to create: its kind, its summary as snapd words it, and the revision it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskPlan {
    pub kind: &'static str,
    pub summary: String,
    pub revision: Revision,
    /// For `run-hook`: which hook, and how its absence or failure is taken.
    pub hook: Option<HookPlan>,
}

impl TaskPlan {
    pub fn new(kind: &'static str, summary: String, revision: Revision) -> TaskPlan {
        TaskPlan {
            kind,
            summary,
            revision,
            hook: None,
        }
    }

    /// A `run-hook` task for `hook` of `snap`, summarised as snapd does.
    pub fn hook(snap: &str, hook: HookPlan, revision: Revision) -> TaskPlan {
        TaskPlan {
            kind: "run-hook",
            summary: hook_summary(snap, hook.name, hook.optional),
            revision,
            hook: Some(hook),
        }
    }
}

/// How snapd words a `run-hook` task.
pub fn hook_summary(snap: &str, hook: &str, optional: bool) -> String {
    match hook {
        "check-health" => format!("Run health check of {snap:?} snap"),
        name if optional => format!("Run {name} hook of {snap:?} snap if present"),
        name => format!("Run {name} hook of {snap:?} snap"),
    }
}

/// A hook a chain runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HookPlan {
    pub name: &'static str,
    /// A snap without this hook skips the task.
    pub optional: bool,
    /// A failing hook is logged in the task, and the change goes on.
    pub ignore_error: bool,
    /// The gadget's configuration defaults for the snap are applied first (the configure hook
    /// of a first install, as snapd's `use-defaults`).
    pub use_defaults: bool,
}

impl HookPlan {
    /// A hook the snap may lack, whose failure fails the change.
    pub const fn optional(name: &'static str) -> HookPlan {
        HookPlan {
            name,
            optional: true,
            ignore_error: false,
            use_defaults: false,
        }
    }
}

/// The tasks of a sideload install, in order: `auto-connect` follows `link-snap`, as in snapd's
/// chain (services and hooks will come after it).
pub fn install_tasks(name: &str, snap_path: &str, rev: Revision) -> Vec<TaskPlan> {
    let t = |kind, summary: String| TaskPlan::new(kind, summary, rev);
    vec![
        t(
            "prepare-snap",
            format!("Prepare snap {snap_path:?} ({rev})"),
        ),
        t(
            "prerequisites",
            format!("Ensure prerequisites for {name:?} are available"),
        ),
        t("mount-snap", format!("Mount snap {name:?} ({rev})")),
        t("copy-snap-data", format!("Copy snap {name:?} data")),
    ]
    .into_iter()
    .chain(link_tasks(name, rev))
    .chain([
        TaskPlan::hook(name, HookPlan::optional("install"), rev),
        // As snapd: services start after the install hook, before configure.
        t(
            "start-snap-services",
            format!("Start snap {name:?} ({rev}) services"),
        ),
        TaskPlan::hook(
            name,
            HookPlan {
                use_defaults: true,
                ..HookPlan::optional("configure")
            },
            rev,
        ),
        TaskPlan::hook(name, HookPlan::optional("check-health"), rev),
    ])
    .collect()
}

/// The tasks of an install from the store, as snapd's chain: `prerequisites`, `download-snap`
/// (in place of the sideload's `prepare-snap`), then the sideload's tail.
pub fn store_install_tasks(name: &str, channel: &str, rev: Revision) -> Vec<TaskPlan> {
    let mut out = vec![
        TaskPlan::new(
            "prerequisites",
            format!("Ensure prerequisites for {name:?} are available"),
            rev,
        ),
        TaskPlan::new(
            "download-snap",
            format!("Download snap {name:?} ({rev}) from channel {channel:?}"),
            rev,
        ),
    ];
    out.extend(
        install_tasks(name, "", rev)
            .into_iter()
            .filter(|t| t.kind != "prepare-snap"),
    );
    out
}

/// The tasks of removing every revision of a snap: disconnect its interfaces, unlink the
/// current one, then clear and discard each revision, older ones first and the current one
/// last.
/// `auto_snapshot`: save the snap's data in an automatic snapshot before it goes (snapd's
/// `save-snapshot`, decided by `snapshotmgr::policy::auto_snapshot_on_remove`).
pub fn remove_tasks(name: &str, st: &SnapState, auto_snapshot: bool) -> Vec<TaskPlan> {
    let mut out = Vec::new();
    // As snapd: services stop first (their removal also takes their logs and cgroups).
    out.push(TaskPlan::new(
        "stop-snap-services",
        format!("Stop snap {name:?} services"),
        st.current,
    ));
    if st.active {
        // As snapd: a failing remove hook is logged and the removal goes on, so that a broken
        // snap can always be removed.
        out.push(TaskPlan::hook(
            name,
            HookPlan {
                name: "remove",
                optional: true,
                ignore_error: true,
                use_defaults: false,
            },
            st.current,
        ));
    }
    out.push(TaskPlan::new(
        "auto-disconnect",
        format!("Disconnect interfaces of snap {name:?}"),
        st.current,
    ));
    if auto_snapshot {
        out.push(TaskPlan::new(
            "save-snapshot",
            format!("Save data of snap {name:?} in automatic snapshot set"),
            st.current,
        ));
    }
    if st.active {
        out.push(TaskPlan::new(
            "unlink-snap",
            format!("Make snap {name:?} unavailable to the system"),
            st.current,
        ));
    }
    out.push(TaskPlan::new(
        "remove-profiles",
        format!("Remove security profiles of snap {name:?}"),
        st.current,
    ));
    let mut revs: Vec<Revision> = st
        .sequence
        .iter()
        .map(|r| r.revision)
        .filter(|r| *r != st.current)
        .collect();
    revs.push(st.current);
    for rev in revs {
        out.extend(discard_tasks(name, rev));
    }
    out
}

/// Removing one revision: its data, then its blob and mount.
fn discard_tasks(name: &str, rev: Revision) -> [TaskPlan; 2] {
    [
        TaskPlan::new(
            "clear-snap",
            format!("Remove data for snap {name:?} ({rev})"),
            rev,
        ),
        TaskPlan::new(
            "discard-snap",
            format!("Remove snap {name:?} ({rev}) from the system"),
            rev,
        ),
    ]
}

/// snapd's default for `refresh.retain` on a classic system: the current revision and one
/// before it stay on disk.
pub const DEFAULT_RETAIN: usize = 2;

/// The revisions a refresh to `new` discards: the oldest of the sequence, so that `retain`
/// remain with the new one (the current one is never among them).
pub fn revisions_beyond_retain(st: &SnapState, new: Revision, retain: usize) -> Vec<Revision> {
    let mut kept: Vec<Revision> = st.sequence.iter().map(|r| r.revision).collect();
    if !kept.contains(&new) {
        kept.push(new);
    }
    let excess = kept.len().saturating_sub(retain.max(2));
    kept.into_iter()
        .filter(|r| *r != st.current && *r != new)
        .take(excess)
        .collect()
}

/// The tasks of refreshing an installed snap to the revision in a file, as snapd's chain: the
/// old revision's pre-refresh hook and services stop, its data is copied for the new one, the
/// new one is linked, its post-refresh hook runs and its services start, its configure hook and
/// health check run, and last revisions beyond `retain` go. A failure anywhere undoes it all.
pub fn refresh_tasks(
    name: &str,
    source: &RefreshSource,
    st: &SnapState,
    new: Revision,
    retain: usize,
) -> Vec<TaskPlan> {
    let old = st.current;
    let t = |kind, summary: String| TaskPlan::new(kind, summary, new);
    let prerequisites = t(
        "prerequisites",
        format!("Ensure prerequisites for {name:?} are available"),
    );
    let mut out = match source {
        RefreshSource::File(path) => vec![
            t("prepare-snap", format!("Prepare snap {path:?} ({new})")),
            prerequisites,
        ],
        RefreshSource::Store(channel) => vec![
            prerequisites,
            t(
                "download-snap",
                format!("Download snap {name:?} ({new}) from channel {channel:?}"),
            ),
        ],
    };
    out.extend([
        t("mount-snap", format!("Mount snap {name:?} ({new})")),
        TaskPlan::hook(name, HookPlan::optional("pre-refresh"), old),
        TaskPlan::new(
            "stop-snap-services",
            format!("Stop snap {name:?} services"),
            old,
        ),
        t("copy-snap-data", format!("Copy snap {name:?} data")),
    ]);
    out.extend(link_tasks(name, new));
    out.extend([
        TaskPlan::hook(name, HookPlan::optional("post-refresh"), new),
        t(
            "start-snap-services",
            format!("Start snap {name:?} ({new}) services"),
        ),
    ]);
    out.push(TaskPlan::hook(name, HookPlan::optional("configure"), new));
    out.push(TaskPlan::hook(
        name,
        HookPlan::optional("check-health"),
        new,
    ));
    // Last, once nothing can fail any more: a discarded revision cannot be brought back, so a
    // refresh that fails and rolls back must find the revisions it had (snapd discards them
    // before configure and the health check).
    for rev in revisions_beyond_retain(st, new, retain) {
        out.extend(discard_tasks(name, rev));
    }
    out
}

/// The refresh of a kernel snap, or of the boot base, on a device whose boot the daemon
/// manages: the refresh chain with `prepare-boot` (the reboot point, `bootmgr`) right after
/// `link-snap`, so that the tasks after it, among them the discarding of old revisions, run
/// only once the new kernel or base has booted, and a fallback undoes the link.
pub fn boot_refresh_tasks(
    name: &str,
    source: &RefreshSource,
    st: &SnapState,
    new: Revision,
    retain: usize,
) -> Vec<TaskPlan> {
    let mut out = refresh_tasks(name, source, st, new, retain);
    insert_prepare_boot(&mut out, name, &st.snap_type, new);
    out
}

/// `prepare-boot` of `rev` right after `link-snap`.
fn insert_prepare_boot(out: &mut Vec<TaskPlan>, name: &str, snap_type: &str, rev: Revision) {
    let at = out
        .iter()
        .position(|t| t.kind == "link-snap")
        .map_or(out.len(), |i| i + 1);
    out.insert(
        at,
        TaskPlan::new(
            "prepare-boot",
            format!("Prepare {snap_type} {name:?} ({rev}) for the next boot"),
            rev,
        ),
    );
}

/// Where a refresh takes the new revision from: an uploaded file (shown by its name) or the
/// store, on a channel (shown as snapd shortens it).
pub enum RefreshSource {
    File(String),
    Store(String),
}

/// The tasks of reverting to a retained revision: no download, no data copy (the revision's
/// own data is still there), no refresh hooks, as snapd's revert.
pub fn revert_tasks(name: &str, target: Revision, st: &SnapState) -> Vec<TaskPlan> {
    let mut out = vec![TaskPlan::new(
        "stop-snap-services",
        format!("Stop snap {name:?} services"),
        st.current,
    )];
    out.extend(link_tasks(name, target));
    out.extend([
        TaskPlan::new(
            "start-snap-services",
            format!("Start snap {name:?} ({target}) services"),
            target,
        ),
        TaskPlan::hook(name, HookPlan::optional("configure"), target),
        TaskPlan::hook(name, HookPlan::optional("check-health"), target),
    ]);
    out
}

/// The revert of a kernel snap, or of the boot base, on a device whose boot the daemon
/// manages: the revert chain with `prepare-boot` right after `link-snap`, as a refresh has.
/// The reverted-to revision is tried once across a reboot like a new one: the revert waits
/// for the reboot, is confirmed when that revision runs, and is undone (the newer revision
/// linked and booted again) when the bootloader falls back (`spec/boot.md`, "Daemon").
pub fn boot_revert_tasks(name: &str, target: Revision, st: &SnapState) -> Vec<TaskPlan> {
    let mut out = revert_tasks(name, target, st);
    insert_prepare_boot(&mut out, name, &st.snap_type, target);
    out
}

/// What makes a revision the snap's current one: its profiles, the link, and the connections
/// its plugs and slots make by themselves.
fn link_tasks(name: &str, rev: Revision) -> [TaskPlan; 3] {
    [
        TaskPlan::new(
            "setup-profiles",
            format!("Setup snap {name:?} ({rev}) security profiles"),
            rev,
        ),
        TaskPlan::new(
            "link-snap",
            format!("Make snap {name:?} ({rev}) available to the system"),
            rev,
        ),
        TaskPlan::new(
            "auto-connect",
            format!("Automatically connect eligible plugs and slots of snap {name:?}"),
            rev,
        ),
    ]
}

/// Why a revert is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RevertRefusal {
    #[error("no revision to revert to")]
    NothingBefore,
    #[error("cannot find revision {rev} for snap {name:?}")]
    NoSuchRevision { name: String, rev: Revision },
    #[error("already on requested revision")]
    AlreadyCurrent,
}

/// The revision a revert goes to: the one asked for, or the one before the current in the
/// sequence.
pub fn revert_target(
    name: &str,
    st: &SnapState,
    wanted: Option<Revision>,
) -> Result<Revision, RevertRefusal> {
    match wanted {
        Some(rev) if rev == st.current => Err(RevertRefusal::AlreadyCurrent),
        Some(rev) if st.sequence.iter().any(|r| r.revision == rev) => Ok(rev),
        Some(rev) => Err(RevertRefusal::NoSuchRevision {
            name: name.to_owned(),
            rev,
        }),
        None => {
            let at = st
                .sequence
                .iter()
                .position(|r| r.revision == st.current)
                .unwrap_or(0);
            at.checked_sub(1)
                .map(|i| st.sequence[i].revision)
                .ok_or(RevertRefusal::NothingBefore)
        }
    }
}

#[cfg(test)]
mod refresh_tests {
    use super::*;
    use crate::snapmgr::model::sample_info;

    fn state(revs: &[u32], current: u32) -> SnapState {
        let info = |n: u32| sample_info(Revision::local(n), &n.to_string());
        SnapState {
            snap_type: "app".into(),
            sequence: revs.iter().map(|n| info(*n)).collect(),
            current: Revision::local(current),
            active: true,
            devmode: false,
            classic: false,
            tracking_channel: None,
            snap_id: None,
        }
    }

    fn kinds(plan: &[TaskPlan]) -> Vec<(&'static str, String)> {
        plan.iter()
            .map(|t| (t.kind, t.revision.to_string()))
            .collect()
    }

    #[test]
    fn a_refresh_runs_the_old_revisions_hook_and_services_then_links_the_new_one() {
        let st = state(&[1], 1);
        let plan = refresh_tasks(
            "a",
            &RefreshSource::File("a.snap".into()),
            &st,
            Revision::local(2),
            DEFAULT_RETAIN,
        );
        let k: Vec<(&str, String)> = kinds(&plan);
        let s = |kind: &'static str, rev: &str| (kind, rev.to_owned());
        assert_eq!(
            k,
            [
                s("prepare-snap", "x2"),
                s("prerequisites", "x2"),
                s("mount-snap", "x2"),
                s("run-hook", "x1"),
                s("stop-snap-services", "x1"),
                s("copy-snap-data", "x2"),
                s("setup-profiles", "x2"),
                s("link-snap", "x2"),
                s("auto-connect", "x2"),
                s("run-hook", "x2"),
                s("start-snap-services", "x2"),
                s("run-hook", "x2"),
                s("run-hook", "x2"),
            ]
        );
        let hooks: Vec<&str> = plan.iter().filter_map(|t| t.hook.map(|h| h.name)).collect();
        assert_eq!(
            hooks,
            ["pre-refresh", "post-refresh", "configure", "check-health"]
        );
        // From the store: downloaded instead of prepared.
        let plan = refresh_tasks(
            "a",
            &RefreshSource::Store("beta".into()),
            &st,
            Revision::store(7),
            DEFAULT_RETAIN,
        );
        assert_eq!(plan[0].kind, "prerequisites");
        assert_eq!(plan[1].kind, "download-snap");
        assert_eq!(
            plan[1].summary,
            "Download snap \"a\" (7) from channel \"beta\""
        );
    }

    #[test]
    fn revisions_beyond_retain_are_the_oldest_and_never_current_or_new() {
        let new = Revision::local(4);
        assert!(revisions_beyond_retain(&state(&[1], 1), new, 2).is_empty());
        assert_eq!(
            revisions_beyond_retain(&state(&[1, 2], 2), new, 2),
            [Revision::local(1)]
        );
        assert_eq!(
            revisions_beyond_retain(&state(&[1, 2, 3], 3), new, 2),
            [Revision::local(1), Revision::local(2)]
        );
        assert_eq!(
            revisions_beyond_retain(&state(&[1, 2, 3], 3), new, 3),
            [Revision::local(1)]
        );
        // Reverted to x1: x1 is current and stays; x2, x3 go first.
        assert_eq!(
            revisions_beyond_retain(&state(&[1, 2, 3], 1), new, 2),
            [Revision::local(2), Revision::local(3)]
        );
        // A retain below snapd's minimum of 2 counts as 2.
        assert_eq!(
            revisions_beyond_retain(&state(&[1, 2], 2), new, 1),
            [Revision::local(1)]
        );
        // The discards end the chain, after the health check: a refresh that fails keeps them.
        let plan = refresh_tasks(
            "a",
            &RefreshSource::File("f".into()),
            &state(&[1, 2], 2),
            new,
            2,
        );
        let at = plan.iter().position(|t| t.kind == "clear-snap").unwrap();
        assert_eq!(plan[at].revision, Revision::local(1));
        assert_eq!(plan[at + 1].kind, "discard-snap");
        assert_eq!(at + 2, plan.len());
        assert_eq!(plan[at - 1].hook.map(|h| h.name), Some("check-health"));
    }

    #[test]
    fn revert_goes_to_the_previous_or_a_given_retained_revision() {
        let st = state(&[1, 2, 3], 3);
        assert_eq!(revert_target("a", &st, None), Ok(Revision::local(2)));
        assert_eq!(
            revert_target("a", &st, Some(Revision::local(1))),
            Ok(Revision::local(1))
        );
        assert_eq!(
            revert_target("a", &st, Some(Revision::local(3))),
            Err(RevertRefusal::AlreadyCurrent)
        );
        assert_eq!(
            revert_target("a", &st, Some(Revision::local(9))),
            Err(RevertRefusal::NoSuchRevision {
                name: "a".into(),
                rev: Revision::local(9)
            })
        );
        assert_eq!(
            revert_target("a", &state(&[1, 2], 1), None),
            Err(RevertRefusal::NothingBefore)
        );
        let plan = revert_tasks("a", Revision::local(2), &st);
        let k: Vec<&str> = plan.iter().map(|t| t.kind).collect();
        assert_eq!(
            k,
            [
                "stop-snap-services",
                "setup-profiles",
                "link-snap",
                "auto-connect",
                "start-snap-services",
                "run-hook",
                "run-hook"
            ]
        );
        assert_eq!(plan[0].revision, Revision::local(3));
        assert!(plan[1..].iter().all(|t| t.revision == Revision::local(2)));
    }

    #[test]
    fn a_booted_snaps_revert_waits_for_its_reboot_right_after_link_snap() {
        let mut st = state(&[1, 2, 3], 3);
        st.snap_type = "kernel".into();
        let plain = revert_tasks("k", Revision::local(2), &st);
        let boot = boot_revert_tasks("k", Revision::local(2), &st);
        let link = plain.iter().position(|t| t.kind == "link-snap").unwrap();
        assert_eq!(boot.len(), plain.len() + 1);
        assert_eq!(boot[..=link], plain[..=link]);
        assert_eq!(boot[link + 2..], plain[link + 1..]);
        assert_eq!(boot[link + 1].kind, "prepare-boot");
        assert_eq!(boot[link + 1].revision, Revision::local(2));
        assert_eq!(
            boot[link + 1].summary,
            "Prepare kernel \"k\" (x2) for the next boot"
        );
        // A revert discards nothing, booted or not.
        assert!(boot.iter().all(|t| t.kind != "discard-snap"));
        st.snap_type = "base".into();
        let base = boot_revert_tasks("core22", Revision::local(1), &st);
        assert_eq!(
            base[link + 1].summary,
            "Prepare base \"core22\" (x1) for the next boot"
        );
    }

    #[test]
    fn a_booted_revision_is_refused_with_the_variable_that_names_it() {
        let r = Refusal::Booted {
            name: "pc-kernel".into(),
            rev: Revision::store(7),
            var: "snap_kernel",
            file: "pc-kernel_7.snap".into(),
        };
        assert_eq!(
            r.to_string(),
            "snap \"pc-kernel\" is not removable: its revision 7 is named by the boot \
             environment (snap_kernel=pc-kernel_7.snap)"
        );
    }
}
