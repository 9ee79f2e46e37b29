//! The profile of one app or hook: command, environment, sandbox, from its snap.yaml.

use snap_core::{Confinement, Revision, SnapYaml};

use crate::ProfileError;
use crate::arch::Arch;
use crate::command::{app_command, hook_command, service_commands};
use crate::environment::{AppVars, Target, base_environment};
use crate::grants::Grants;
use crate::profile::{PROFILE_FORMAT, Profile, SandboxMode};
use crate::{seccomp, template};

/// What a profile depends on besides the snap.yaml.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// The instance key of a parallel instance (`bar` of `foo_bar`); empty for the plain one.
    pub instance_key: String,
    /// What connected interfaces add. Plugs in snap.yaml grant nothing by themselves.
    pub grants: Grants,
    /// Run a strict snap in devmode (`snap install --devmode`).
    pub devmode: bool,
}

/// The profile of `app` of the snap at `revision` (`42`, `x1`), without interfaces.
pub fn app_profile(snap: &SnapYaml, revision: &str, app: &str) -> Result<Profile, ProfileError> {
    app_profile_with(snap, revision, app, &Options::default())
}

/// The profile of `hook` of the snap at `revision`, without interfaces. Hooks present only in
/// `meta/hooks` must have been added with `SnapYaml::add_implicit_hook` first.
pub fn hook_profile(snap: &SnapYaml, revision: &str, hook: &str) -> Result<Profile, ProfileError> {
    hook_profile_with(snap, revision, hook, &Options::default())
}

pub fn app_profile_with(
    snap: &SnapYaml,
    revision: &str,
    app: &str,
    options: &Options,
) -> Result<Profile, ProfileError> {
    let info = snap.apps.get(app).ok_or_else(|| ProfileError::UnknownApp {
        snap: snap.name.clone(),
        app: app.to_owned(),
    })?;
    let revision = checked_revision(revision)?;
    let vars = AppVars {
        name: &info.name,
        common_id: info.common_id.as_deref(),
        bus_name: info.bus_name.as_deref(),
    };
    let target = target(snap, &revision, options, Some(vars))?;
    let command = app_command(&snap.name, &target.mount_dir(), info)?;
    let mut profile = build(
        snap,
        &target,
        app.to_owned(),
        command,
        &info.environment,
        options,
    )?;
    profile.service_commands = service_commands(&target.mount_dir(), info)?;
    Ok(profile)
}

pub fn hook_profile_with(
    snap: &SnapYaml,
    revision: &str,
    hook: &str,
    options: &Options,
) -> Result<Profile, ProfileError> {
    let info = snap
        .hooks
        .get(hook)
        .ok_or_else(|| ProfileError::UnknownHook {
            snap: snap.name.clone(),
            hook: hook.to_owned(),
        })?;
    let revision = checked_revision(revision)?;
    let target = target(snap, &revision, options, None)?;
    let command = hook_command(&target.mount_dir(), info)?;
    build(
        snap,
        &target,
        format!("hook.{hook}"),
        command,
        &info.environment,
        options,
    )
}

/// The revision as snapd writes it.
fn checked_revision(revision: &str) -> Result<String, ProfileError> {
    Ok(revision.parse::<Revision>()?.to_string())
}

fn mode(snap: &SnapYaml, options: &Options) -> SandboxMode {
    match snap.confinement {
        Confinement::Strict if options.devmode => SandboxMode::Devmode,
        Confinement::Strict => SandboxMode::Strict,
        Confinement::Devmode => SandboxMode::Devmode,
        Confinement::Classic => SandboxMode::Classic,
    }
}

fn target<'a>(
    snap: &'a SnapYaml,
    revision: &'a str,
    options: &'a Options,
    app: Option<AppVars<'a>>,
) -> Result<Target<'a>, ProfileError> {
    let key = &options.instance_key;
    let valid_key = key.len() <= 10
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !valid_key {
        return Err(ProfileError::InvalidInstanceKey(key.clone()));
    }
    Ok(Target {
        name: &snap.name,
        instance_key: key,
        revision,
        version: snap.version.as_deref().unwrap_or_default(),
        mode: mode(snap, options),
        has_components: !snap.components.is_empty(),
        app,
    })
}

fn build(
    snap: &SnapYaml,
    target: &Target,
    label: String,
    command: Vec<String>,
    own_environment: &snap_core::Environment,
    options: &Options,
) -> Result<Profile, ProfileError> {
    let mode = target.mode;
    let grants = own_paths(&options.grants, target);
    let mut env = base_environment(target);
    if mode != SandboxMode::Classic {
        for (key, value) in &grants.environment {
            env.set(key, value.clone());
        }
    }
    env.extend_expanded(snap.environment.iter().chain(own_environment.iter()));

    let base = match (mode, snap.effective_base()) {
        (SandboxMode::Classic, _) | (_, "none") => String::new(),
        (_, base) => base.to_owned(),
    };
    let seccomp = match mode {
        SandboxMode::Classic => seccomp::unfiltered(),
        _ => seccomp::policy(mode, Arch::host()?, &grants),
    };
    let mut capabilities = if mode == SandboxMode::Classic {
        Vec::new()
    } else {
        grants.capabilities.clone()
    };
    capabilities.sort();
    capabilities.dedup();
    Ok(Profile {
        format: PROFILE_FORMAT,
        snap: target.instance_name(),
        app: label,
        revision: target.revision.to_owned(),
        version: target.version.to_owned(),
        base,
        confinement: mode,
        command,
        environment: env.into_vec(),
        user_dirs: vec![target.user_data_dir(), target.user_common_dir()],
        mounts: if mode == SandboxMode::Classic {
            Vec::new()
        } else {
            grants.mounts.clone()
        },
        landlock: template::landlock_policy(target, mode, &grants),
        seccomp,
        capabilities,
        service_commands: Default::default(),
    })
}

/// `grants` with the app's own directories spelled out: a path starting with `$SNAP`,
/// `$SNAP_DATA` or `$SNAP_COMMON` (followed by `/` or nothing) becomes the revision's
/// directory, as snapd expands content targets from the plug snap's own perspective.
fn own_paths(grants: &Grants, t: &Target) -> Grants {
    let expand = |path: &str| -> String {
        for (var, dir) in [
            ("$SNAP_DATA", t.data_dir()),
            ("$SNAP_COMMON", t.common_dir()),
            ("$SNAP", t.mount_dir()),
        ] {
            if let Some(rest) = path.strip_prefix(var)
                && (rest.is_empty() || rest.starts_with('/'))
            {
                return format!("{dir}{rest}");
            }
        }
        path.to_owned()
    };
    let mut out = grants.clone();
    for rule in &mut out.paths {
        rule.path = expand(&rule.path);
    }
    for m in &mut out.mounts {
        m.source = expand(&m.source);
        m.target = expand(&m.target);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Access, PathRule};

    const YAML: &[u8] = br#"
name: hello
version: "1.2"
base: core22
environment:
  SNAP_LEVEL: $SNAP/share
  PATH: $SNAP/custom/bin:$PATH
  LD_LIBRARY_PATH: ${SNAP_LIBRARY_PATH}:$LD_LIBRARY_PATH:$SNAP/lib
apps:
  hello:
    command: bin/hello --data $SNAP_DATA/x  --home $HOME
    command-chain: [snap/command-chain/launch, $SNAP/bin/wrapper]
    common-id: io.example.Hello
    environment:
      APP_LEVEL: $SNAP_LEVEL/app
      SNAP_LEVEL: overridden
      CONF: ${XDG_CONFIG_HOME:-$HOME/.config}/hello
  plain:
    command: $SNAP/usr/bin/plain
hooks:
  configure:
    command-chain: [bin/hook-chain]
    environment:
      HOOKY: $SNAP_COMMON/h
  install: {}
"#;

    fn snap(yaml: &[u8]) -> SnapYaml {
        snap_core::parse_snap_yaml(yaml).unwrap()
    }

    fn env(p: &Profile) -> Vec<(&str, &str)> {
        p.environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    fn get<'a>(p: &'a Profile, key: &str) -> Option<&'a str> {
        p.environment
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn app_command_and_environment() {
        let p = app_profile(&snap(YAML), "x1", "hello").unwrap();
        assert_eq!(p.format, PROFILE_FORMAT);
        assert_eq!((p.snap.as_str(), p.app.as_str()), ("hello", "hello"));
        assert_eq!((p.revision.as_str(), p.version.as_str()), ("x1", "1.2"));
        assert_eq!(p.base, "core22");
        assert_eq!(p.confinement, SandboxMode::Strict);
        assert_eq!(
            p.command,
            [
                "/snap/hello/x1/snap/command-chain/launch",
                "/snap/hello/x1/bin/wrapper",
                "/snap/hello/x1/bin/hello",
                "--data",
                "$SNAP_DATA/x",
                "--home",
                "$HOME",
            ]
        );
        let arch = crate::arch::dpkg_arch();
        let snap_path = "/snap/hello/x1/usr/sbin:/snap/hello/x1/usr/bin:/snap/hello/x1/sbin:\
            /snap/hello/x1/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:\
            /usr/games:/usr/local/games";
        let path = format!("/snap/hello/x1/custom/bin:{snap_path}");
        assert_eq!(
            env(&p),
            [
                ("SNAP", "/snap/hello/x1"),
                ("SNAP_COMMON", "/var/snap/hello/common"),
                ("SNAP_DATA", "/var/snap/hello/x1"),
                ("SNAP_NAME", "hello"),
                ("SNAP_INSTANCE_NAME", "hello"),
                ("SNAP_INSTANCE_KEY", ""),
                ("SNAP_VERSION", "1.2"),
                ("SNAP_REVISION", "x1"),
                ("SNAP_ARCH", arch),
                (
                    "SNAP_LIBRARY_PATH",
                    "/var/lib/snapd/lib/gl:/var/lib/snapd/lib/gl32"
                ),
                ("SNAP_REEXEC", ""),
                ("SNAP_UID", "$UID"),
                ("SNAP_EUID", "$UID"),
                ("SNAP_APP_NAME", "hello"),
                ("SNAP_APP_COMMON_ID", "io.example.Hello"),
                ("SNAP_USER_COMMON", "$HOME/snap/hello/common"),
                ("SNAP_USER_DATA", "$HOME/snap/hello/x1"),
                ("HOME", "$HOME/snap/hello/x1"),
                ("XDG_RUNTIME_DIR", "/run/user/$UID/snap.hello"),
                ("SNAP_REAL_HOME", "$HOME"),
                ("TMPDIR", "/tmp"),
                ("PATH", path.as_str()),
                ("SHELL", "/bin/bash"),
                // snap-level, then app-level, each expanded against what precedes it.
                ("SNAP_LEVEL", "overridden"),
                (
                    "LD_LIBRARY_PATH",
                    "/var/lib/snapd/lib/gl:/var/lib/snapd/lib/gl32::/snap/hello/x1/lib"
                ),
                ("APP_LEVEL", "/snap/hello/x1/share/app"),
                ("CONF", "$HOME/snap/hello/x1/.config/hello"),
            ]
        );
        assert_eq!(
            p.user_dirs,
            ["$HOME/snap/hello/x1", "$HOME/snap/hello/common"]
        );
        assert!(p.mounts.is_empty() && p.capabilities.is_empty());

        let plain = app_profile(&snap(YAML), "42", "plain").unwrap();
        assert_eq!(plain.command, ["/snap/hello/42/usr/bin/plain"]);
        assert_eq!(get(&plain, "SNAP_LEVEL"), Some("/snap/hello/42/share"));
        assert_eq!(get(&plain, "SNAP_APP_COMMON_ID"), None);
    }

    #[test]
    fn launch_time_expansion_of_the_command() {
        let p = app_profile(&snap(YAML), "x1", "hello").unwrap();
        let env: Vec<(String, String)> = p
            .environment
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    crate::profile::substitute_user(v, "/home/alice", 1000),
                )
            })
            .collect();
        assert_eq!(
            crate::environment::expand_args(&p.command, &env)[4..],
            [
                "/var/snap/hello/x1/x",
                "--home",
                "/home/alice/snap/hello/x1"
            ]
        );
        assert_eq!(
            crate::profile::substitute_user(get(&p, "XDG_RUNTIME_DIR").unwrap(), "/h", 1000),
            "/run/user/1000/snap.hello"
        );
    }

    #[test]
    fn hooks() {
        let s = snap(YAML);
        let p = hook_profile(&s, "7", "configure").unwrap();
        assert_eq!(p.app, "hook.configure");
        assert_eq!(
            p.command,
            [
                "/snap/hello/7/bin/hook-chain",
                "/snap/hello/7/meta/hooks/configure"
            ]
        );
        assert_eq!(get(&p, "HOOKY"), Some("/var/snap/hello/common/h"));
        assert_eq!(get(&p, "SNAP_LEVEL"), Some("/snap/hello/7/share"));
        assert_eq!(get(&p, "SNAP_APP_NAME"), None);
        assert_eq!(get(&p, "HOME"), Some("$HOME/snap/hello/7"));
        assert_eq!(p.confinement, SandboxMode::Strict);
        assert_eq!(p.seccomp.default_action, "errno");

        let p = hook_profile(&s, "7", "install").unwrap();
        assert_eq!(p.command, ["/snap/hello/7/meta/hooks/install"]);

        // A hook found only in meta/hooks, declared by the caller.
        let mut s = s;
        assert!(s.add_implicit_hook("remove"));
        let p = hook_profile(&s, "7", "remove").unwrap();
        assert_eq!(p.command, ["/snap/hello/7/meta/hooks/remove"]);
    }

    #[test]
    fn strict_sandbox() {
        let p = app_profile(&snap(YAML), "x1", "hello").unwrap();
        let l = &p.landlock;
        let access = |path: &str| l.paths.iter().find(|r| r.path == path).map(|r| r.access);
        assert_eq!(access("/usr"), Some(Access::ReadExec));
        assert_eq!(access("/snap/hello/x1"), Some(Access::ReadExec));
        assert_eq!(access("/etc/passwd"), Some(Access::Read));
        assert_eq!(access("/proc"), Some(Access::Read));
        assert_eq!(access("/dev/null"), Some(Access::Device));
        assert_eq!(access("/dev/pts"), Some(Access::Device));
        assert_eq!(access("/dev/shm"), Some(Access::ReadWrite));
        for own in [
            "/var/snap/hello/x1",
            "/var/snap/hello/common",
            "$HOME/snap/hello/x1",
            "$HOME/snap/hello/common",
            "/tmp",
            "/run/user/$UID/snap.hello",
        ] {
            assert_eq!(access(own), Some(Access::Full), "{own}");
        }
        // Nothing else that matters is reachable.
        for path in &l.paths {
            let p = path.path.as_str();
            for forbidden in ["/", "/etc", "/etc/shadow", "/home", "/root", "/var", "/run"] {
                assert_ne!(p, forbidden);
            }
            for outside in [
                "/var/lib/snapd",
                "/etc/ssl/private",
                "/etc/ssh",
                "/snap/core",
            ] {
                assert!(!p.starts_with(outside), "{p}");
            }
            assert!(
                !p.starts_with("$HOME") || p.starts_with("$HOME/snap/hello"),
                "{p}"
            );
            if p.starts_with("/snap/") {
                assert!(p.starts_with("/snap/hello/x1"), "{p}");
            }
            if p.starts_with("/var/snap/") {
                assert!(p.starts_with("/var/snap/hello"), "{p}");
            }
        }
        assert!(l.tcp_bind.is_empty());
        assert_eq!(l.tcp_connect, Some(vec![]));
        assert!(l.scope_abstract_unix && l.scope_signal);
        assert_eq!(p.seccomp.default_action, "errno");
        assert!(!p.seccomp.allow.is_empty());
    }

    #[test]
    fn plugs_grant_nothing_by_themselves_but_grants_do() {
        let yaml = br#"
name: net
version: "1"
plugs:
  network:
  network-bind:
  home:
apps:
  srv:
    command: bin/srv
    plugs: [network, network-bind, home]
"#;
        let s = snap(yaml);
        let p = app_profile(&s, "1", "srv").unwrap();
        assert_eq!(p.landlock.tcp_connect, Some(vec![]));
        assert!(
            !p.landlock
                .paths
                .iter()
                .any(|r| r.path == "/etc/resolv.conf")
        );

        let mut grants = Grants::network();
        grants.merge(Grants::network_bind(&[8443, 80, 80]));
        grants.capabilities.push("net_bind_service".into());
        grants.paths.push(PathRule {
            path: "$HOME".into(),
            access: Access::ReadWrite,
        });
        let options = Options {
            grants,
            ..Options::default()
        };
        let p = app_profile_with(&s, "1", "srv", &options).unwrap();
        assert_eq!(p.landlock.tcp_connect, None);
        assert_eq!(p.landlock.tcp_bind, [80, 8443]);
        assert!(
            p.landlock
                .paths
                .iter()
                .any(|r| r.path == "/etc/resolv.conf")
        );
        assert!(p.landlock.paths.iter().any(|r| r.path == "$HOME"));
        assert!(p.seccomp.allow.contains(&"listen".to_string()));
        assert_eq!(p.capabilities, ["net_bind_service"]);
    }

    #[test]
    fn devmode() {
        let yaml = String::from_utf8(YAML.to_vec())
            .unwrap()
            .replace("base: core22", "base: core22\nconfinement: devmode");
        let dev = app_profile(&snap(yaml.as_bytes()), "x1", "hello").unwrap();
        let strict = app_profile(&snap(YAML), "x1", "hello").unwrap();
        assert_eq!(dev.confinement, SandboxMode::Devmode);
        assert_eq!(dev.seccomp.default_action, "log");
        assert_eq!(dev.seccomp.allow, strict.seccomp.allow);
        assert_eq!(dev.seccomp.allow_if, strict.seccomp.allow_if);
        assert_eq!(dev.seccomp.errno.len(), 1);
        // Same sandbox otherwise (the launcher does not enforce landlock in devmode).
        assert_eq!(dev.landlock, strict.landlock);
        assert_eq!(dev.environment, strict.environment);
        assert_eq!(dev.base, "core22");

        // `snap install --devmode` of a strict snap, two ways.
        let options = Options {
            devmode: true,
            ..Options::default()
        };
        let forced = app_profile_with(&snap(YAML), "x1", "hello", &options).unwrap();
        let mut made = strict.clone();
        made.make_devmode();
        assert_eq!(forced, dev);
        assert_eq!(made, dev);
    }

    #[test]
    fn classic() {
        let yaml = br#"
name: tool
version: "3"
confinement: classic
environment:
  TOOL_HOME: $HOME/.tool
apps:
  tool:
    command: bin/tool
hooks:
  install: {}
"#;
        let s = snap(yaml);
        for p in [
            app_profile(&s, "5", "tool").unwrap(),
            hook_profile(&s, "5", "install").unwrap(),
        ] {
            assert_eq!(p.confinement, SandboxMode::Classic);
            assert_eq!(p.base, "");
            assert_eq!(get(&p, "HOME"), Some("$HOME"));
            assert_eq!(get(&p, "TOOL_HOME"), Some("$HOME/.tool"));
            assert_eq!(get(&p, "XDG_RUNTIME_DIR"), Some("/run/user/$UID"));
            assert_eq!(get(&p, "SNAP_USER_DATA"), Some("$HOME/snap/tool/5"));
            assert_eq!(get(&p, "SHELL"), None);
            assert!(get(&p, "PATH").unwrap().ends_with(":/snap/bin"));
            assert_eq!(p.landlock, crate::profile::LandlockPolicy::default());
            assert_eq!(p.seccomp.default_action, "allow");
            assert!(crate::compile_seccomp(&p.seccomp).unwrap().is_empty());
            assert!(p.capabilities.is_empty() && p.mounts.is_empty());
        }
    }

    #[test]
    fn base_defaults_to_core() {
        let p = app_profile(
            &snap(b"name: old\nversion: '1'\napps:\n  old:\n    command: bin/old\n"),
            "1",
            "old",
        )
        .unwrap();
        assert_eq!(p.base, "core");
    }

    #[test]
    fn parallel_instance() {
        let options = Options {
            instance_key: "foo".into(),
            ..Options::default()
        };
        let p = app_profile_with(&snap(YAML), "x1", "hello", &options).unwrap();
        assert_eq!(p.snap, "hello_foo");
        assert_eq!(get(&p, "SNAP"), Some("/snap/hello/x1"));
        assert_eq!(get(&p, "SNAP_DATA"), Some("/var/snap/hello/x1"));
        assert_eq!(get(&p, "SNAP_NAME"), Some("hello"));
        assert_eq!(get(&p, "SNAP_INSTANCE_NAME"), Some("hello_foo"));
        assert_eq!(get(&p, "SNAP_INSTANCE_KEY"), Some("foo"));
        assert_eq!(get(&p, "HOME"), Some("$HOME/snap/hello_foo/x1"));
        assert_eq!(
            get(&p, "XDG_RUNTIME_DIR"),
            Some("/run/user/$UID/snap.hello_foo")
        );
        assert_eq!(
            p.user_dirs,
            ["$HOME/snap/hello_foo/x1", "$HOME/snap/hello_foo/common"]
        );
        for bad in ["Foo", "toolongtoolong", "a_b"] {
            let options = Options {
                instance_key: bad.into(),
                ..Options::default()
            };
            assert_eq!(
                app_profile_with(&snap(YAML), "x1", "hello", &options),
                Err(ProfileError::InvalidInstanceKey(bad.into()))
            );
        }
    }

    #[test]
    fn errors() {
        let s = snap(YAML);
        assert_eq!(
            app_profile(&s, "1", "nope"),
            Err(ProfileError::UnknownApp {
                snap: "hello".into(),
                app: "nope".into()
            })
        );
        assert_eq!(
            hook_profile(&s, "1", "remove"),
            Err(ProfileError::UnknownHook {
                snap: "hello".into(),
                hook: "remove".into()
            })
        );
        for bad in ["0", "x", "01", "-1", "current"] {
            assert!(
                matches!(
                    app_profile(&s, bad, "hello"),
                    Err(ProfileError::InvalidRevision(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn profile_json_round_trip() {
        let p = app_profile(&snap(YAML), "x1", "hello").unwrap();
        let json = serde_json::to_string(&p).unwrap();
        let back: Profile = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
    }
}
