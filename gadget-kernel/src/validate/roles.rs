//! Role consistency across all volumes, against the model (snapd's `gadget.Validate`): one
//! structure per system role, seed needs data, save needs seed and data, labels matching the
//! roles, reserved labels, eMMC volume restrictions.

use std::collections::HashMap;

use crate::options::ParseOptions;
use crate::spec::{SpecStructure, SpecVolume};

const TRACKED_ROLES: [&str; 6] = [
    "system-seed",
    "system-seed-null",
    "system-boot",
    "system-data",
    "system-save",
    "system-boot-state",
];

/// Labels structures without a role may not use once modes exist...
const RESERVED_WITH_MODES: [&str; 4] = ["ubuntu-boot", "ubuntu-seed", "ubuntu-data", "ubuntu-save"];
/// ... and before (the seed is the ESP there, and data is called `writable`).
const RESERVED_WITHOUT_MODES: [&str; 2] = ["ubuntu-seed", "ubuntu-data"];

const EMMC_NAMES: [&str; 2] = ["boot0", "boot1"];

/// Where a role was found.
struct RoleAt<'a> {
    volume: &'a str,
    structure: &'a SpecStructure,
}

/// The error is a whole message (volume-scoped ones carry the `invalid volume` prefix via
/// [`RoleError::Volume`]).
pub(crate) enum RoleError {
    Volume { volume: String, reason: String },
    Gadget(String),
}

pub(crate) fn validate_roles(vols: &[SpecVolume], opts: &ParseOptions) -> Result<(), RoleError> {
    let across = if vols.len() == 1 {
        ""
    } else {
        " across volumes"
    };
    let mut roles: HashMap<&str, RoleAt<'_>> = HashMap::new();
    for v in vols {
        for s in &v.structures {
            if !TRACKED_ROLES.contains(&s.role.as_str()) {
                continue;
            }
            if roles.contains_key(s.role.as_str()) {
                return Err(RoleError::Gadget(format!(
                    "cannot have more than one partition with {} role{across}",
                    s.role
                )));
            }
            roles.insert(
                s.role.as_str(),
                RoleAt {
                    volume: &v.name,
                    structure: s,
                },
            );
        }
    }
    if roles.contains_key("system-seed") && roles.contains_key("system-seed-null") {
        return Err(RoleError::Gadget(format!(
            "cannot have more than one partition with system-seed/system-seed-null role{across}"
        )));
    }

    let (has_modes, classic_with_modes) = match opts.model {
        Some(m) => (m.has_modes, m.classic && m.has_modes),
        None => {
            // Without a model, a seed means UC20 rules, a null seed classic with modes.
            let null_seed = roles.contains_key("system-seed-null");
            (roles.contains_key("system-seed") || null_seed, null_seed)
        }
    };

    for v in vols {
        validate_volume_rules(v, has_modes).map_err(|reason| RoleError::Volume {
            volume: v.name.clone(),
            reason,
        })?;
    }

    if classic_with_modes {
        classic_with_modes_consistency(&roles)
    } else {
        core_consistency(&roles, has_modes)
    }
    .map_err(RoleError::Gadget)?;

    if opts.encrypted_data {
        if !has_modes {
            return Err(RoleError::Gadget(
                "internal error: cannot support encrypted data in a system without modes"
                    .to_owned(),
            ));
        }
        if !roles.contains_key("system-save") {
            return Err(RoleError::Gadget(
                "gadget does not support encrypted data: required partition with system-save role is missing".to_owned(),
            ));
        }
    }
    Ok(())
}

fn validate_volume_rules(v: &SpecVolume, has_modes: bool) -> Result<(), String> {
    let emmc = v.schema == "emmc";
    if emmc {
        if !v.bootloader.is_empty() {
            return Err(r#"cannot set "bootloader" for eMMC schemas"#.to_owned());
        }
        if !v.id.is_empty() {
            return Err(r#"cannot set "id" for eMMC schemas"#.to_owned());
        }
        if !v.partial.is_empty() {
            return Err(r#"cannot set "partial" content for eMMC schemas"#.to_owned());
        }
    }
    let reserved: &[&str] = if has_modes {
        &RESERVED_WITH_MODES
    } else {
        &RESERVED_WITHOUT_MODES
    };
    for s in &v.structures {
        let what = || format!("invalid structure {}", s.describe());
        if s.role.is_empty() && !s.label.is_empty() && reserved.iter().any(|r| s.has_label(r)) {
            return Err(format!("{}: label {:?} is reserved", what(), s.label));
        }
        if emmc && !EMMC_NAMES.contains(&s.name.as_str()) {
            return Err(format!(
                r#"{}: cannot use {:?} as emmc name, only ["boot0" "boot1"] is allowed"#,
                what(),
                s.name
            ));
        }
    }
    Ok(())
}

/// A role's structure must carry the role's own label, or none.
fn check_label(roles: &HashMap<&str, RoleAt<'_>>, role: &str, label: &str) -> Result<(), String> {
    let Some(at) = roles.get(role) else {
        return Err(format!("internal error: {role:?} not in volume"));
    };
    let s = at.structure;
    if !s.label.is_empty() && !s.has_label(label) {
        return Err(format!(
            "{role} structure must have an implicit label or {label:?}, not {:?}",
            s.label
        ));
    }
    Ok(())
}

fn core_consistency(roles: &HashMap<&str, RoleAt<'_>>, seed_expected: bool) -> Result<(), String> {
    let seed = roles.contains_key("system-seed");
    let data = roles.contains_key("system-data");
    match (seed, data) {
        (false, false) if seed_expected => {
            return Err(
                "model requires system-seed partition, but no system-seed or system-data partition found"
                    .to_owned(),
            );
        }
        (false, false) => {}
        (true, false) => {
            return Err("the system-seed role requires system-data to be defined".to_owned());
        }
        (false, true) => {
            if seed_expected {
                return Err("model requires system-seed structure, but none was found".to_owned());
            }
            check_label(roles, "system-data", "writable")?;
        }
        (true, true) => {
            if !seed_expected {
                return Err("model does not support the system-seed role".to_owned());
            }
            check_label(roles, "system-data", "ubuntu-data")?;
            check_label(roles, "system-seed", "ubuntu-seed")?;
        }
    }
    if roles.contains_key("system-save") {
        if !seed_expected {
            return Err("model does not support the system-save role".to_owned());
        }
        if !(seed && data) {
            return Err(
                "internal error: system-save requires system-seed and system-data structures"
                    .to_owned(),
            );
        }
        check_label(roles, "system-save", "ubuntu-save")?;
    }
    if seed_expected {
        // Checked above: a seed exists here.
        let seed_volume = roles
            .get("system-seed")
            .map(|r| r.volume)
            .unwrap_or_default();
        for other in ["system-boot", "system-data", "system-save"] {
            if roles.get(other).is_some_and(|r| r.volume != seed_volume) {
                return Err(
                    "system-boot, system-data, and system-save are expected to share the same volume as system-seed"
                        .to_owned(),
                );
            }
        }
    }
    Ok(())
}

fn classic_with_modes_consistency(roles: &HashMap<&str, RoleAt<'_>>) -> Result<(), String> {
    let (Some(boot), true) = (roles.get("system-boot"), roles.contains_key("system-data")) else {
        return Err("system-boot and system-data roles are needed on classic".to_owned());
    };
    check_label(roles, "system-boot", "ubuntu-boot")?;
    check_label(roles, "system-data", "ubuntu-data")?;
    for (role, label) in [
        ("system-seed", "ubuntu-seed"),
        ("system-seed-null", "ubuntu-seed"),
        ("system-save", "ubuntu-save"),
    ] {
        if roles.contains_key(role) {
            check_label(roles, role, label)?;
        }
    }
    for role in ["system-seed", "system-seed-null", "system-save"] {
        if roles.get(role).is_some_and(|r| r.volume != boot.volume) {
            return Err(format!(
                "system-boot and {role} are expected to share the same volume"
            ));
        }
    }
    Ok(())
}
