//! Loading an app's profile and compiled seccomp program from the profiles directory, and the
//! checks that make the launcher fail closed: anything missing, unreadable, unparsable, of
//! another format, or naming another app is refused before anything is set up.

use std::path::{Path, PathBuf};

use seccompiler::sock_filter;
use snap_core::naming::validate_snap_name;
use snap_interfaces::profile::{
    PROFILE_FORMAT, Profile, SandboxMode, profile_file_name, program_file_name,
};

use crate::error::Error;

/// A loaded, checked profile and (for strict and devmode apps) its seccomp program.
#[derive(Debug)]
pub struct Loaded {
    pub profile: Profile,
    pub profile_path: PathBuf,
    /// Empty for classic apps, which get no filter.
    pub program: Vec<sock_filter>,
    pub program_path: PathBuf,
}

/// Reads `snap.SNAP.APP.json` (and `.bpf` unless classic) from `profiles_dir`.
pub fn load(profiles_dir: &Path, snap: &str, app: &str) -> Result<Loaded, Error> {
    let profile_path = profiles_dir.join(profile_file_name(snap, app));
    let program_path = profiles_dir.join(program_file_name(snap, app));
    let bytes = std::fs::read(&profile_path).map_err(|source| Error::Read {
        path: profile_path.clone(),
        source,
    })?;
    let profile = parse_profile(&bytes, &profile_path)?;
    check_profile(&profile, snap, app).map_err(|reason| Error::Profile {
        path: profile_path.clone(),
        reason,
    })?;
    let program = if profile.confinement == SandboxMode::Classic {
        Vec::new()
    } else {
        let bytes = std::fs::read(&program_path).map_err(|source| Error::Read {
            path: program_path.clone(),
            source,
        })?;
        program_from_bytes(&bytes).map_err(|reason| Error::Program {
            path: program_path.clone(),
            reason,
        })?
    };
    Ok(Loaded {
        profile,
        profile_path,
        program,
        program_path,
    })
}

/// Parses a profile and checks its format number (checked first, so that a profile of a newer
/// format is reported as such rather than as an unknown field).
pub fn parse_profile(bytes: &[u8], path: &Path) -> Result<Profile, Error> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|source| Error::ParseProfile {
            path: path.to_owned(),
            source,
        })?;
    match value.get("format").and_then(serde_json::Value::as_u64) {
        Some(f) if f == u64::from(PROFILE_FORMAT) => {}
        other => {
            return Err(Error::Format {
                path: path.to_owned(),
                found: other.map_or(0, |f| u32::try_from(f).unwrap_or(u32::MAX)),
                expected: PROFILE_FORMAT,
            });
        }
    }
    serde_json::from_value(value).map_err(|source| Error::ParseProfile {
        path: path.to_owned(),
        source,
    })
}

/// What the launcher needs of a parsed profile beyond its format.
pub fn check_profile(p: &Profile, snap: &str, app: &str) -> Result<(), String> {
    if p.snap != snap || p.app != app {
        return Err(format!(
            "it is the profile of {}.{}, not of {snap}.{app}",
            p.snap, p.app
        ));
    }
    if p.command.is_empty() {
        return Err("the command is empty".into());
    }
    if p.confinement != SandboxMode::Classic {
        if p.base.is_empty() {
            return Err(format!("{:?} confinement needs a base", p.confinement).to_lowercase());
        }
        validate_snap_name(&p.base).map_err(|e| format!("base: {e}"))?;
    }
    crate::sandbox::parse_capabilities(&p.capabilities)?;
    Ok(())
}

/// Reads a `.bpf` file with the profile crate's reader, and refuses an empty program: only
/// classic apps run without a filter, and they do not get here.
pub fn program_from_bytes(bytes: &[u8]) -> Result<Vec<sock_filter>, String> {
    let program = snap_interfaces::program_from_bytes(bytes).map_err(|e| e.to_string())?;
    if program.is_empty() {
        return Err("the program is empty".into());
    }
    Ok(program)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile_json() -> serde_json::Value {
        serde_json::json!({
            "format": 1,
            "snap": "hello",
            "app": "hello",
            "revision": "x1",
            "version": "1.0",
            "base": "core24",
            "confinement": "strict",
            "command": ["/snap/hello/x1/bin/hello"],
            "environment": [["SNAP", "/snap/hello/x1"]],
            "user-dirs": ["$HOME/snap/hello/x1"],
            "landlock": {"paths": [{"path": "/usr", "access": "read-exec"}]},
            "seccomp": {"default-action": "errno", "allow": ["read"]}
        })
    }

    fn parse(v: &serde_json::Value) -> Result<Profile, Error> {
        parse_profile(&serde_json::to_vec(v).unwrap(), Path::new("p.json"))
    }

    #[test]
    fn a_good_profile() {
        let p = parse(&profile_json()).unwrap();
        check_profile(&p, "hello", "hello").unwrap();
        assert_eq!(p.environment[0], ("SNAP".into(), "/snap/hello/x1".into()));
    }

    #[test]
    fn wrong_format_is_refused_before_unknown_fields() {
        let mut v = profile_json();
        v["format"] = 2.into();
        v["new-field"] = true.into();
        let e = parse(&v).unwrap_err();
        assert!(matches!(e, Error::Format { found: 2, .. }), "{e}");
        let mut v = profile_json();
        v.as_object_mut().unwrap().remove("format");
        assert!(matches!(parse(&v), Err(Error::Format { found: 0, .. })));
        let mut v = profile_json();
        v["new-field"] = true.into();
        assert!(matches!(parse(&v), Err(Error::ParseProfile { .. })));
        assert!(matches!(
            parse_profile(b"{", Path::new("p")),
            Err(Error::ParseProfile { .. })
        ));
    }

    #[test]
    fn profile_checks() {
        let p = parse(&profile_json()).unwrap();
        assert!(check_profile(&p, "hello", "other").is_err());
        assert!(check_profile(&p, "other", "hello").is_err());
        let mut q = p.clone();
        q.command.clear();
        assert!(check_profile(&q, "hello", "hello").is_err());
        let mut q = p.clone();
        q.base = "../../etc".into();
        assert!(check_profile(&q, "hello", "hello").is_err());
        let mut q = p.clone();
        q.base = String::new();
        assert!(check_profile(&q, "hello", "hello").is_err());
        q.confinement = SandboxMode::Classic;
        check_profile(&q, "hello", "hello").unwrap();
        let mut q = p.clone();
        q.capabilities = vec!["CAP_NOPE".into()];
        assert!(check_profile(&q, "hello", "hello").is_err());
    }

    #[test]
    fn programs() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0x20u16.to_ne_bytes());
        bytes.extend_from_slice(&[1, 2]);
        bytes.extend_from_slice(&4u32.to_ne_bytes());
        bytes.extend_from_slice(&0x06u16.to_ne_bytes());
        bytes.extend_from_slice(&[0, 0]);
        bytes.extend_from_slice(&0x7fff_0000u32.to_ne_bytes());
        let prog = program_from_bytes(&bytes).unwrap();
        assert_eq!(prog.len(), 2);
        assert_eq!(
            prog[0],
            sock_filter {
                code: 0x20,
                jt: 1,
                jf: 2,
                k: 4
            }
        );
        assert_eq!(prog[1].k, 0x7fff_0000);
        assert!(program_from_bytes(&[]).is_err());
        assert!(program_from_bytes(&bytes[..7]).is_err());
        assert!(program_from_bytes(&vec![0; 8 * 4097]).is_err());
        assert_eq!(program_from_bytes(&vec![0; 8 * 4096]).unwrap().len(), 4096);
    }
}
