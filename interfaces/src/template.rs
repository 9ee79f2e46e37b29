//! The default landlock sandbox of strict (and devmode) apps: what every app may touch
//! without any interface connected. It follows snapd's AppArmor base template where landlock
//! can express it (landlock has no globs, no owner checks and no deny rules).

use crate::environment::Target;
use crate::grants::Grants;
use crate::profile::{Access, LandlockPolicy, PathRule, SandboxMode};

/// The base snap's system directories: programs and libraries.
const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt",
];

/// Files of `/etc` snapd's base template (and the AppArmor abstractions it includes) lets
/// every snap read. Not the whole of `/etc`: snap services run as root, and `/etc` holds
/// root-only secrets (`shadow`, ssh host keys, `ssl/private`) that DAC alone would give them.
const ETC_FILES: &[&str] = &[
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/ld.so.preload",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/default/nss",
    "/etc/locale.alias",
    "/etc/locale.conf",
    "/etc/default/locale",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/sysconfig/clock",
    "/etc/os-release",
    "/etc/lsb-release",
    "/etc/debian_version",
    "/etc/machine-id",
    "/etc/hostname",
    "/etc/mailname",
    "/etc/mime.types",
    "/etc/environment",
    "/etc/profile",
    "/etc/bash.bashrc",
    "/etc/inputrc",
    "/etc/bash_completion.d",
    "/etc/terminfo",
    "/etc/default/keyboard",
    "/etc/libnl-3",
    "/etc/udev/udev.conf",
    "/etc/ssl/openssl.cnf",
    "/var/lib/extrausers/passwd",
    "/var/lib/extrausers/group",
];

/// Device nodes every app may use (snap-confine's device cgroup allows the same).
const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts",
];

/// The journal's sockets (native protocol, stdout streams, and syslog's, where `/dev/log`
/// points), which snapd's template lets every snap write to. The launcher binds into the
/// sandbox's `/run` only what rules name there.
const JOURNAL_SOCKETS: &[&str] = &[
    "/run/systemd/journal/socket",
    "/run/systemd/journal/stdout",
    "/run/systemd/journal/dev-log",
];

fn rule(path: impl Into<String>, access: Access) -> PathRule {
    PathRule {
        path: path.into(),
        access,
    }
}

/// The landlock policy of an app in `mode`, with `grants` added. Classic apps get none (the
/// launcher applies no ruleset to them).
pub(crate) fn landlock_policy(t: &Target, mode: SandboxMode, grants: &Grants) -> LandlockPolicy {
    if mode == SandboxMode::Classic {
        return LandlockPolicy::default();
    }
    let mut paths = Vec::new();
    paths.extend(SYSTEM_DIRS.iter().map(|d| rule(*d, Access::ReadExec)));
    paths.push(rule(t.mount_dir(), Access::ReadExec));
    if t.has_components {
        paths.push(rule(
            format!("/snap/{}/components", t.name),
            Access::ReadExec,
        ));
    }
    paths.extend(ETC_FILES.iter().map(|f| rule(*f, Access::Read)));
    paths.push(rule("/proc", Access::Read));
    paths.push(rule("/sys", Access::Read));
    paths.extend(DEVICES.iter().map(|d| rule(*d, Access::Device)));
    // The launcher binds the snap's own directory of the machine's shared memory
    // (`/dev/shm/snap.NAME`, per user for other callers than root) onto `/dev/shm`: all of it
    // is the app's (snapd allows only `/dev/shm/snap.NAME.*` of a `/dev/shm` shared with the
    // machine, which landlock, without globs, cannot express).
    paths.push(rule("/dev/shm", Access::ReadWrite));
    paths.extend(JOURNAL_SOCKETS.iter().map(|s| rule(*s, Access::ReadWrite)));
    // Every revision's data may be read (as snapd allows); the current one and common are
    // the app's own, executables included (snapd allows `ix` there, and in /tmp).
    paths.push(rule(format!("/var/snap/{}", t.name), Access::Read));
    paths.push(rule(
        format!("$HOME/snap/{}", t.instance_name()),
        Access::Read,
    ));
    for own in [
        t.data_dir(),
        t.common_dir(),
        t.user_data_dir(),
        t.user_common_dir(),
        "/tmp".to_owned(),
        t.runtime_dir(),
    ] {
        paths.push(rule(own, Access::Full));
    }
    for extra in &grants.paths {
        if !paths.contains(extra) {
            paths.push(extra.clone());
        }
    }

    let mut tcp_bind = if grants.tcp_bind_any {
        Vec::new()
    } else {
        grants.tcp_bind.clone()
    };
    tcp_bind.sort_unstable();
    tcp_bind.dedup();
    let tcp_connect = if grants.tcp_connect_any {
        None
    } else {
        let mut ports = grants.tcp_connect.clone();
        ports.sort_unstable();
        ports.dedup();
        Some(ports)
    };
    LandlockPolicy {
        paths,
        tcp_bind,
        tcp_bind_any: grants.tcp_bind_any,
        tcp_connect,
        scope_abstract_unix: !grants.unscoped_abstract_unix,
        scope_signal: !grants.unscoped_signals,
    }
}
