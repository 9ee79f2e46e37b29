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
}

/// The tasks of a sideload install, in order: `auto-connect` follows `link-snap`, as in snapd's
/// chain (services and hooks will come after it).
pub fn install_tasks(name: &str, snap_path: &str, rev: Revision) -> Vec<TaskPlan> {
    let t = |kind, summary: String| TaskPlan {
        kind,
        summary,
        revision: rev,
    };
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
        t(
            "setup-profiles",
            format!("Setup snap {name:?} ({rev}) security profiles"),
        ),
        t(
            "link-snap",
            format!("Make snap {name:?} ({rev}) available to the system"),
        ),
        t(
            "auto-connect",
            format!("Automatically connect eligible plugs and slots of snap {name:?}"),
        ),
    ]
}

/// The tasks of removing every revision of a snap: disconnect its interfaces, unlink the
/// current one, then clear and discard each revision, older ones first and the current one
/// last.
pub fn remove_tasks(name: &str, st: &SnapState) -> Vec<TaskPlan> {
    let mut out = vec![TaskPlan {
        kind: "auto-disconnect",
        summary: format!("Disconnect interfaces of snap {name:?}"),
        revision: st.current,
    }];
    if st.active {
        out.push(TaskPlan {
            kind: "unlink-snap",
            summary: format!("Make snap {name:?} unavailable to the system"),
            revision: st.current,
        });
    }
    out.push(TaskPlan {
        kind: "remove-profiles",
        summary: format!("Remove security profiles of snap {name:?}"),
        revision: st.current,
    });
    let mut revs: Vec<Revision> = st
        .sequence
        .iter()
        .map(|r| r.revision)
        .filter(|r| *r != st.current)
        .collect();
    revs.push(st.current);
    for rev in revs {
        out.push(TaskPlan {
            kind: "clear-snap",
            summary: format!("Remove data for snap {name:?} ({rev})"),
            revision: rev,
        });
        out.push(TaskPlan {
            kind: "discard-snap",
            summary: format!("Remove snap {name:?} ({rev}) from the system"),
            revision: rev,
        });
    }
    out
}
