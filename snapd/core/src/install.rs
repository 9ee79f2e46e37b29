//! Checks snapd makes at install time from snap.yaml alone, against what this snapd supports.
//! `snap pack` accepts snaps that fail these; `snap install` refuses them.

use crate::model::SnapYaml;

/// A system user a snap may ask for, and which snaps (by snap-id) may, if restricted.
pub struct SupportedSystemUsername {
    pub name: &'static str,
    pub id: u32,
    pub allowed_snap_ids: Option<&'static [&'static str]>,
}

/// The system users snapd creates on request, with their fixed ids.
pub const SUPPORTED_SYSTEM_USERNAMES: &[SupportedSystemUsername] = &[
    SupportedSystemUsername {
        name: "snap_daemon",
        id: 584788,
        allowed_snap_ids: None,
    },
    SupportedSystemUsername {
        name: "snap_microk8s",
        id: 584789,
        allowed_snap_ids: Some(&["EaXqgt1lyCaxKaQCU349mlodBkDCXRcg"]),
    },
    SupportedSystemUsername {
        name: "snap_aziotedge",
        id: 584790,
        allowed_snap_ids: Some(&["8neFt3wtSaWGgIbEepgIJcEZ3fnz7Lwt"]),
    },
    SupportedSystemUsername {
        name: "snap_aziotdu",
        id: 584791,
        allowed_snap_ids: Some(&["KzF67Mv8CeQBdUdrGaKU2sZVEiICWBg1"]),
    },
    SupportedSystemUsername {
        name: "_daemon_",
        id: 584792,
        allowed_snap_ids: None,
    },
];

/// `system-usernames`: only known users, only the snaps allowed to use restricted ones (when
/// the snap-id is known), and only `scope: shared`.
pub fn check_system_usernames(snap: &SnapYaml, snap_id: Option<&str>) -> Result<(), String> {
    for user in snap.system_usernames.values() {
        let Some(known) = SUPPORTED_SYSTEM_USERNAMES
            .iter()
            .find(|u| u.name == user.name)
        else {
            return Err(format!(
                "snap {:?} requires unsupported system username {:?}",
                snap.name, user.name
            ));
        };
        if let (Some(allowed), Some(id)) =
            (known.allowed_snap_ids, snap_id.filter(|i| !i.is_empty()))
            && !allowed.contains(&id)
        {
            return Err(format!(
                "snap {:?} is not allowed to use the system user {:?}",
                snap.name, user.name
            ));
        }
        match user.scope.as_str() {
            "shared" => {}
            "private" | "external" => {
                return Err(format!(
                    "snap {:?} requires unsupported user scope {:?} for this version of snapd",
                    snap.name, user.scope
                ));
            }
            other => {
                return Err(format!(
                    "snap {:?} requires unsupported user scope {other:?}",
                    snap.name
                ));
            }
        }
    }
    Ok(())
}

/// Features snapd advertises for `assumes:` besides `snapdX.Y`.
pub const SNAPD_FEATURES: &[&str] = &[
    "common-data-dir",
    "snap-env",
    "command-chain",
    "kernel-assets",
    "app-refresh-mode",
    "snap-uid-envvars",
];

/// The leading `N(.N)*` of a version (N without leading zero first), if any.
fn version_numbers(v: &str) -> Option<(Vec<u64>, usize)> {
    let b = v.as_bytes();
    if !b.first().is_some_and(|c| (b'1'..=b'9').contains(c)) {
        return None;
    }
    let mut nums = Vec::new();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        nums.push(v[start..i].parse().unwrap_or(u64::MAX));
        if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
            i += 1;
        } else {
            return Some((nums, i));
        }
    }
}

/// Whether `snapd<required>` is satisfied by `current`. An empty `current` only checks the
/// form; `unknown` (a development build) satisfies everything.
fn snapd_version_ok(required: &str, current: &str) -> bool {
    let Some((req, len)) = version_numbers(required) else {
        return false;
    };
    if current.is_empty() {
        return true;
    }
    // Suffixes such as `~pre1` are not something a snap may rely on.
    if len != required.len() {
        return false;
    }
    if current == "unknown" {
        return true;
    }
    let Some((cur, _)) = version_numbers(current) else {
        return false;
    };
    for (i, r) in req.iter().enumerate() {
        match cur.get(i) {
            None => return false,
            Some(c) if c != r => return c > r,
            Some(_) => {}
        }
    }
    true
}

fn is_feature_shaped(flag: &str) -> bool {
    !flag.is_empty()
        && flag.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// What an install checks `assumes:` against.
pub struct AssumesContext<'a> {
    /// This snapd's version; empty to only check that `snapdX.Y` entries are well-formed.
    pub snapd_version: &'a str,
    /// Supported features; empty to only check that entries are well-formed.
    pub features: &'a [&'a str],
    /// The device's architecture (dpkg name); empty to skip `isa-` checks.
    pub architecture: &'a str,
    /// Whether the CPU supports an ISA extension of the device's architecture.
    pub isa_supported: &'a dyn Fn(&str) -> bool,
}

/// Checks every `assumes:` entry is a satisfied `snapdX.Y[.Z]`, a supported feature, or an
/// `isa-<arch>-<isa>` the CPU has (entries for other architectures are ignored).
pub fn check_assumes(assumes: &[String], ctx: &AssumesContext<'_>) -> Result<(), String> {
    let mut failed = Vec::new();
    for flag in assumes {
        if let Some(v) = flag.strip_prefix("snapd")
            && snapd_version_ok(v, ctx.snapd_version)
        {
            continue;
        }
        if flag.starts_with("isa-") {
            let parts: Vec<&str> = flag.splitn(3, '-').collect();
            if parts.len() != 3 {
                return Err(format!(
                    "{flag}: must be in the format isa-<arch>-<isa_val>"
                ));
            }
            if parts[1] == ctx.architecture && !(ctx.isa_supported)(parts[2]) {
                return Err(format!(
                    "{flag}: ISA {:?} is not supported by this CPU",
                    parts[2]
                ));
            }
            continue;
        }
        let ok = if ctx.features.is_empty() {
            is_feature_shaped(flag)
        } else {
            ctx.features.contains(&flag.as_str())
        };
        if !ok {
            failed.push(flag.as_str());
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    let word = if ctx.snapd_version.is_empty() && ctx.features.is_empty() {
        "invalid"
    } else {
        "unsupported"
    };
    Err(format!("{word} features: {}", failed.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_snap_yaml;

    fn ctx<'a>(version: &'a str, features: &'a [&'a str]) -> AssumesContext<'a> {
        AssumesContext {
            snapd_version: version,
            features,
            architecture: "amd64",
            isa_supported: &|isa| isa == "sse4",
        }
    }

    fn a(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn assumes_versions() {
        let c = ctx("2.61.1", SNAPD_FEATURES);
        assert!(check_assumes(&a(&["snapd2.61", "snapd2.61.1", "snapd1"]), &c).is_ok());
        assert!(check_assumes(&a(&["snapd2.62"]), &c).is_err());
        assert!(check_assumes(&a(&["snapd2.61.2"]), &c).is_err());
        assert!(check_assumes(&a(&["snapd2.48.3~pre2"]), &c).is_err());
        assert!(check_assumes(&a(&["snapd99"]), &ctx("unknown", SNAPD_FEATURES)).is_ok());
        assert!(check_assumes(&a(&["snapd2.99~x"]), &ctx("", &[])).is_ok());
    }

    #[test]
    fn assumes_features_and_isa() {
        let c = ctx("2.61", SNAPD_FEATURES);
        assert!(check_assumes(&a(&["command-chain", "snap-env"]), &c).is_ok());
        assert_eq!(
            check_assumes(&a(&["bogus-feature", "common-data-dir", "x"]), &c).unwrap_err(),
            "unsupported features: bogus-feature, x"
        );
        assert!(check_assumes(&a(&["isa-amd64-sse4", "isa-arm64-foo"]), &c).is_ok());
        assert!(check_assumes(&a(&["isa-amd64-avx9"]), &c).is_err());
        assert!(check_assumes(&a(&["isa-amd64"]), &c).is_err());
        let form_only = ctx("", &[]);
        assert!(check_assumes(&a(&["any-feature1"]), &form_only).is_ok());
        assert_eq!(
            check_assumes(&a(&["Bad_Feature"]), &form_only).unwrap_err(),
            "invalid features: Bad_Feature"
        );
    }

    #[test]
    fn system_usernames() {
        let ok =
            parse_snap_yaml(b"name: ss\nversion: 1\nsystem-usernames:\n  snap_daemon: shared\n")
                .unwrap();
        assert!(check_system_usernames(&ok, None).is_ok());
        let bad = parse_snap_yaml(b"name: ss\nversion: 1\nsystem-usernames:\n  daemon: shared\n")
            .unwrap();
        assert!(
            check_system_usernames(&bad, None)
                .unwrap_err()
                .contains("unsupported system username \"daemon\"")
        );
        let private =
            parse_snap_yaml(b"name: ss\nversion: 1\nsystem-usernames:\n  _daemon_: private\n")
                .unwrap();
        assert!(
            check_system_usernames(&private, None)
                .unwrap_err()
                .contains("for this version of snapd")
        );
        let restricted =
            parse_snap_yaml(b"name: ss\nversion: 1\nsystem-usernames:\n  snap_microk8s: shared\n")
                .unwrap();
        assert!(check_system_usernames(&restricted, None).is_ok());
        assert!(check_system_usernames(&restricted, Some("x")).is_err());
        assert!(
            check_system_usernames(&restricted, Some("EaXqgt1lyCaxKaQCU349mlodBkDCXRcg")).is_ok()
        );
    }
}
