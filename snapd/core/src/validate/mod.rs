//! snapd's snap.yaml rules, applied to the built model in the order snapd applies them.

mod app;
mod gpio;
mod socket;

use crate::error::{SnapYamlError, join};
use crate::hooks;
use crate::license::validate_license;
use crate::links::validate_links;
use crate::model::{SnapType, SnapYaml};
use crate::naming::{self, DEFAULT_PROVENANCE};

/// Characters `command`, `stop-command` and friends may use: anything else could confuse
/// snap-exec's splitting and quoting.
const COMMAND_CHARS: &str = "A-Z a-z 0-9 / . _ # : $ - and space";

fn is_command_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/. _#:$-".contains(c)
}

/// A `command`-like field; `Err` says which characters are allowed.
pub(crate) fn check_command(value: &str) -> Result<(), String> {
    if value.chars().all(is_command_char) {
        Ok(())
    } else {
        Err(format!("allowed characters: {COMMAND_CHARS}"))
    }
}

/// A `command-chain` entry: like a command, but a single word (no spaces).
pub(crate) fn check_command_chain(value: &str) -> Result<(), String> {
    if value.chars().all(|c| c != ' ' && is_command_char(c)) {
        Ok(())
    } else {
        Err("allowed characters: A-Z a-z 0-9 / . _ # : $ -".into())
    }
}

fn count_chars(s: Option<&str>) -> usize {
    s.map_or(0, |s| s.chars().count())
}

fn snap_level(snap: &SnapYaml) -> Result<(), SnapYamlError> {
    if snap.name.is_empty() {
        return Err(SnapYamlError::invalid("name", "snap name cannot be empty"));
    }
    if let Some(prov) = snap.provenance.as_deref().filter(|p| !p.is_empty()) {
        if prov == DEFAULT_PROVENANCE {
            return Err(SnapYamlError::invalid(
                "provenance",
                "provenance cannot be set to default (global-upload) explicitly",
            ));
        }
        naming::validate_provenance(prov)
            .map_err(|e| SnapYamlError::invalid("provenance", e.to_string()))?;
    }
    naming::validate_snap_name(&snap.name)
        .map_err(|e| SnapYamlError::invalid("name", e.to_string()))?;
    for (name, comp) in &snap.components {
        let path = join("components", name);
        naming::validate_component_name(name)
            .map_err(|e| SnapYamlError::invalid(&path, e.to_string()))?;
        let n = count_chars(comp.summary.as_deref());
        if n > 128 {
            return Err(SnapYamlError::invalid(
                join(&path, "summary"),
                format!("summary can have up to 128 codepoints, got {n}"),
            ));
        }
        let n = count_chars(comp.description.as_deref());
        if n > 4096 {
            return Err(SnapYamlError::invalid(
                join(&path, "description"),
                format!("description can have up to 4096 codepoints, got {n}"),
            ));
        }
        for (hname, hook) in &comp.hooks {
            hooks::validate_hook(&join(&join(&path, "hooks"), hname), hook)?;
        }
    }
    let n = count_chars(snap.title.as_deref());
    if n > 40 {
        return Err(SnapYamlError::invalid(
            "title",
            format!("title can have up to 40 codepoints, got {n}"),
        ));
    }
    // snapd does not limit the summary of a snap (only of components); neither do we.
    let n = count_chars(snap.description.as_deref());
    if n > 4096 {
        return Err(SnapYamlError::invalid(
            "description",
            format!("description can have up to 4096 codepoints, got {n}"),
        ));
    }
    naming::validate_version(snap.version.as_deref().unwrap_or(""))
        .map_err(|e| SnapYamlError::invalid("version", e.to_string()))?;
    snap.epoch
        .validate()
        .map_err(|e| SnapYamlError::invalid("epoch", e.to_string()))?;
    if let Some(license) = snap.license.as_deref().filter(|l| !l.is_empty()) {
        validate_license(license).map_err(|e| SnapYamlError::invalid("license", e))?;
    }
    Ok(())
}

fn plug_slot_names(snap: &SnapYaml) -> Result<(), SnapYamlError> {
    if let Some(name) = snap.plugs.keys().find(|n| snap.slots.contains_key(*n)) {
        return Err(SnapYamlError::invalid(
            join("plugs", name),
            format!("cannot have plug and slot with the same name: {name:?}"),
        ));
    }
    Ok(())
}

/// The `base` field: bases carry none, `none` means no apps or hooks, and it must name a snap.
pub(crate) fn validate_base(snap: &SnapYaml) -> Result<(), SnapYamlError> {
    let base = snap.base.as_deref().unwrap_or("");
    if matches!(snap.snap_type, SnapType::Os | SnapType::Base) && !base.is_empty() && base != "none"
    {
        return Err(SnapYamlError::invalid(
            "base",
            format!(
                "cannot have \"base\" field with value other than \"none\" on {:?} snap {:?}",
                snap.snap_type.as_str(),
                snap.name
            ),
        ));
    }
    if base == "none" && (!snap.hooks.is_empty() || !snap.apps.is_empty()) {
        let path = if snap.apps.is_empty() {
            "hooks"
        } else {
            "apps"
        };
        return Err(SnapYamlError::invalid(
            path,
            "cannot have apps or hooks with base \"none\"",
        ));
    }
    if !base.is_empty() {
        let (name, key) = naming::split_instance_name(base);
        if !key.is_empty() {
            return Err(SnapYamlError::invalid(
                "base",
                format!("base cannot specify a snap instance name: {base:?}"),
            ));
        }
        naming::validate_snap_name(name)
            .map_err(|e| SnapYamlError::invalid("base", format!("invalid base name: {e}")))?;
    }
    Ok(())
}

fn system_usernames(snap: &SnapYaml) -> Result<(), SnapYamlError> {
    for name in snap.system_usernames.keys() {
        if naming::validate_system_username(name).is_err() {
            return Err(SnapYamlError::invalid(
                join("system-usernames", name),
                format!("invalid system username {name:?}"),
            ));
        }
    }
    Ok(())
}

fn common_ids(snap: &SnapYaml) -> Result<(), SnapYamlError> {
    let mut seen = std::collections::BTreeMap::new();
    for app in snap.apps.values() {
        let Some(id) = app.common_id.as_deref() else {
            continue;
        };
        if let Some(other) = seen.insert(id, &app.name) {
            return Err(SnapYamlError::invalid(
                join(&join("apps", &app.name), "common-id"),
                format!(
                    "application {:?} common-id {id:?} must be unique, already used by application {other:?}",
                    app.name
                ),
            ));
        }
    }
    Ok(())
}

/// Checks a built model against every snap.yaml rule snapd enforces when packing or installing.
pub fn validate(snap: &SnapYaml) -> Result<(), SnapYamlError> {
    snap_level(snap)?;
    for app in snap.apps.values() {
        app::validate_app(snap, app)?;
    }
    app::validate_order_cycles(snap)?;
    for (alias, app) in &snap.legacy_aliases {
        if naming::validate_alias(alias).is_err() {
            return Err(SnapYamlError::invalid(
                join(&join("apps", app), "aliases"),
                format!(
                    "cannot have {alias:?} as alias name for app {app:?} - use only letters, \
                     digits, dash, underscore and dot characters"
                ),
            ));
        }
    }
    hooks::validate_hooks(snap)?;
    plug_slot_names(snap)?;
    gpio::validate_gpio_chardev_slots(snap)?;
    validate_base(snap)?;
    system_usernames(snap)?;
    validate_links(&snap.links).map_err(|(k, r)| SnapYamlError::invalid(join("links", &k), r))?;
    common_ids(snap)?;
    crate::layout::validate_all(&snap.layout, &snap.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_characters() {
        assert!(check_command("bin/foo --arg $SNAP_DATA/x:1 #c").is_ok());
        assert!(check_command("bin/foo 'x'").is_err());
        assert!(check_command("bin/foo\"").is_err());
        assert!(check_command("bin/foo;rm").is_err());
        assert!(check_command_chain("snap/command-chain/run").is_ok());
        assert!(check_command_chain("bin/a b").is_err());
    }
}
