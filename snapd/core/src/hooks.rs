//! Which hooks exist, and the rules for hooks a snap declares.

use crate::error::{SnapYamlError, join};
use crate::model::{Hook, SnapType, SnapYaml};
use crate::naming;
use crate::validate::check_command_chain;

const FIXED_HOOKS: &[&str] = &[
    "prepare-device",
    "install-device",
    "prepare-serial-request",
    "default-configure",
    "configure",
    "install",
    "pre-refresh",
    "post-refresh",
    "remove",
    "check-health",
    "fde-setup",
    "gate-auto-refresh",
];

const COMPONENT_HOOKS: &[&str] = &["install", "pre-refresh", "post-refresh", "remove"];

/// Interface hooks: `<action>-plug-<name>` / `<action>-slot-<name>`.
const INTERFACE_HOOK_PREFIXES: &[&str] = &["prepare-", "unprepare-", "connect-", "disconnect-"];

/// confdb view hooks: `<action>-view-<anything on one line>`.
const VIEW_HOOK_PREFIXES: &[&str] = &[
    "change-view-",
    "save-view-",
    "query-view-",
    "load-view-",
    "observe-view-",
];

/// Whether snapd knows a hook of this name; unknown entries in `hooks:` are ignored by snapd.
pub fn is_supported_hook(name: &str) -> bool {
    if FIXED_HOOKS.contains(&name) {
        return true;
    }
    for prefix in INTERFACE_HOOK_PREFIXES {
        if let Some(rest) = name.strip_prefix(prefix) {
            let target = rest
                .strip_prefix("plug-")
                .or_else(|| rest.strip_prefix("slot-"));
            if let Some(t) = target {
                return !t.is_empty()
                    && t.bytes()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
            }
        }
    }
    VIEW_HOOK_PREFIXES.iter().any(|p| {
        name.strip_prefix(p)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('\n'))
    })
}

/// Hooks a component may declare.
pub fn is_supported_component_hook(name: &str) -> bool {
    COMPONENT_HOOKS.contains(&name)
}

/// Checks one hook's name and command-chain.
pub(crate) fn validate_hook(path: &str, hook: &Hook) -> Result<(), SnapYamlError> {
    naming::validate_hook_name(&hook.name)
        .map_err(|e| SnapYamlError::invalid(path, e.to_string()))?;
    for entry in &hook.command_chain {
        check_command_chain(entry).map_err(|reason| {
            SnapYamlError::invalid(
                join(path, "command-chain"),
                format!("hook command-chain contains illegal {entry:?} ({reason})"),
            )
        })?;
    }
    Ok(())
}

/// The snap's hooks, plus which of `configure`/`default-configure` a snap of its type may have.
pub(crate) fn validate_hooks(snap: &SnapYaml) -> Result<(), SnapYamlError> {
    for (name, hook) in &snap.hooks {
        validate_hook(&join("hooks", name), hook)?;
    }
    let default_configure = snap.hooks.contains_key("default-configure");
    let configure = snap.hooks.contains_key("configure");
    if matches!(
        snap.snap_type,
        SnapType::Snapd | SnapType::Base | SnapType::Os
    ) {
        let mut refused = Vec::new();
        if default_configure {
            refused.push("\"default-configure\"");
        }
        // Old core snaps shipped a configure hook; it stays tolerated for type os only.
        if configure && snap.snap_type != SnapType::Os {
            refused.push("\"configure\"");
        }
        if !refused.is_empty() {
            let path = if default_configure {
                "hooks.default-configure"
            } else {
                "hooks.configure"
            };
            return Err(SnapYamlError::invalid(
                path,
                format!(
                    "cannot specify {} hook for {:?} snap {:?}",
                    refused.join(" or "),
                    snap.snap_type.as_str(),
                    snap.name
                ),
            ));
        }
    }
    if default_configure && !configure {
        return Err(SnapYamlError::invalid(
            "hooks.default-configure",
            "cannot specify \"default-configure\" hook without \"configure\" hook",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_names() {
        for ok in [
            "install",
            "configure",
            "default-configure",
            "check-health",
            "gate-auto-refresh",
            "prepare-plug-foo",
            "connect-slot-a-1",
            "disconnect-plug-x",
            "unprepare-slot-y",
            "change-view-setup",
            "observe-view-Foo_Bar",
            "fde-setup",
            "install-device",
        ] {
            assert!(is_supported_hook(ok), "{ok}");
        }
        for bad in [
            "bogus",
            "prepare-plug-",
            "prepare-foo",
            "connect-plug-Foo",
            "change-view-",
            "installx",
            "observe-view-a\nb",
        ] {
            assert!(!is_supported_hook(bad), "{bad}");
        }
        assert!(is_supported_component_hook("install"));
        assert!(!is_supported_component_hook("configure"));
    }
}
