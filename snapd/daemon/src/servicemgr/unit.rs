//! The systemd unit snapd writes for a service (`/etc/systemd/system/snap.NAME.APP.service`),
//! for machines whose PID 1 is systemd. Pure text, in snapd's layout and key order; where PID 1
//! is not systemd the daemon supervises services itself and writes no unit.

// The daemon does not yet write units (this machine's PID 1 is not systemd, and the
// supervisor is what runs here); the generator is tested on its own and with systemd-analyze.
#![allow(dead_code)]

use std::fmt::Write;
use std::path::Path;

use snap_core::{DaemonType, Revision};

use super::spec::ServiceSpec;

/// What the unit refers to outside the service itself.
#[derive(Clone, Copy, Debug)]
pub struct UnitContext<'a> {
    pub revision: Revision,
    /// The program that runs apps: `/usr/bin/snap` (units say `snap run NAME.APP`).
    pub snap_binary: &'a Path,
    /// `/var/snap`, for `WorkingDirectory`.
    pub snap_data_root: &'a Path,
    /// The snap's type is `snapd`, `os` or `core`: its services are the last to be OOM-killed.
    pub core_type: bool,
}

fn secs(d: std::time::Duration) -> String {
    // systemd takes fractional seconds; snapd writes whole ones.
    format!("{}", d.as_secs_f64())
}

/// The mount unit of a revision: `snap-NAME-REV.mount` (systemd's path escaping of
/// `/snap/NAME/REV`; instance and revision names need no escaping beyond `-`).
pub fn mount_unit_name(snap: &str, rev: Revision) -> String {
    format!("snap-{}-{rev}.mount", snap.replace('-', "\\x2d"))
}

/// The unit text of `spec`.
pub fn service_unit(spec: &ServiceSpec, cx: &UnitContext<'_>) -> String {
    let name = format!("{}.{}", spec.snap, spec.app);
    let launcher = format!("{} run", cx.snap_binary.display());
    let mount = mount_unit_name(&spec.snap, cx.revision);
    let mut u = String::new();
    let mut line = |s: String| {
        u.push_str(&s);
        u.push('\n');
    };
    line("[Unit]".into());
    line("# Auto-generated, DO NOT EDIT".into());
    line(format!("Description=Service for snap application {name}"));
    line(format!("Requires={mount}"));
    line("Wants=network.target".into());
    let mut after = format!("After={mount} network.target");
    for a in &spec.after {
        let _ = write!(after, " snap.{}.{a}.service", spec.snap);
    }
    line(after);
    if !spec.before.is_empty() {
        let before: Vec<String> = spec
            .before
            .iter()
            .map(|b| format!("snap.{}.{b}.service", spec.snap))
            .collect();
        line(format!("Before={}", before.join(" ")));
    }
    line("X-Snappy=yes".into());
    line(String::new());
    line("[Service]".into());
    line("EnvironmentFile=-/etc/environment".into());
    line(format!("ExecStart={launcher} {name}"));
    line(format!("SyslogIdentifier={name}"));
    line(format!("Restart={}", spec.restart.systemd_value()));
    if spec.restart_delay != super::spec::DEFAULT_RESTART_DELAY {
        line(format!("RestartSec={}", secs(spec.restart_delay)));
    }
    line(format!(
        "WorkingDirectory={}",
        cx.snap_data_root
            .join(&spec.snap)
            .join(cx.revision.to_string())
            .display()
    ));
    if spec.has_stop_command {
        line(format!("ExecStop={launcher} --command=stop {name}"));
    }
    if spec.has_reload_command {
        line(format!("ExecReload={launcher} --command=reload {name}"));
    }
    if spec.has_post_stop_command {
        line(format!(
            "ExecStopPost={launcher} --command=post-stop {name}"
        ));
    }
    line(format!("TimeoutStopSec={}", secs(spec.stop_timeout)));
    if let Some(t) = spec.start_timeout
        && t != super::spec::DEFAULT_START_TIMEOUT
    {
        line(format!("TimeoutStartSec={}", secs(t)));
    }
    line(format!("Type={}", spec.daemon.as_str()));
    if spec.daemon == DaemonType::Oneshot {
        line("RemainAfterExit=yes".into());
    }
    if let Some(bus) = &spec.bus_name {
        line(format!("BusName={bus}"));
    }
    if let Some(w) = spec.watchdog {
        line(format!("WatchdogSec={}", secs(w)));
    }
    if !spec.stop_mode.kill_all() {
        // Only the main process gets the stop signal; the rest of the cgroup is killed after
        // the stop timeout, as for every unit.
        line("KillMode=process".into());
    }
    if spec.stop_mode != snap_core::StopMode::Sigterm
        && spec.stop_mode != snap_core::StopMode::SigtermAll
    {
        line(format!("KillSignal={}", spec.stop_mode.signal()));
    }
    if cx.core_type {
        line("OOMScoreAdjust=-900".into());
    }
    if !spec.success_exit_status.is_empty() {
        let codes: Vec<String> = spec.success_exit_status.iter().map(u8::to_string).collect();
        line(format!("SuccessExitStatus={}", codes.join(" ")));
    }
    line(String::new());
    line("[Install]".into());
    line("WantedBy=multi-user.target".into());
    u
}

/// The mount unit snapd writes for a revision's squashfs.
pub fn mount_unit(snap: &str, rev: Revision, blob: &Path, mount_point: &Path) -> String {
    format!(
        "[Unit]\nDescription=Mount unit for {snap}, revision {rev}\nAfter=snapd.mounts-pre.target\nBefore=snapd.mounts.target\nBefore=local-fs.target\n\n[Mount]\nWhat={}\nWhere={}\nType=squashfs\nOptions=nodev,ro,x-gdu.hide,x-gvfs-hide\nLazyUnmount=yes\n\n[Install]\nWantedBy=snapd.mounts.target\nWantedBy=multi-user.target\n",
        blob.display(),
        mount_point.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servicemgr::spec::services_of;

    fn specs(yaml: &str) -> std::collections::BTreeMap<String, ServiceSpec> {
        services_of(&snap_core::parse_snap_yaml(yaml.as_bytes()).unwrap())
    }

    const YAML: &str = "name: hello-svc\nversion: '1'\napps:\n  web:\n    command: bin/web\n    daemon: notify\n    after: [db]\n    stop-command: bin/stop\n    post-stop-command: bin/post\n    reload-command: bin/reload\n    restart-condition: always\n    restart-delay: 2s\n    start-timeout: 1m\n    stop-timeout: 15s\n    stop-mode: sighup\n  db:\n    command: bin/db\n    daemon: oneshot\n    before: [web]\n    stop-mode: sigterm-all\n    restart-condition: never\n";

    fn cx() -> UnitContext<'static> {
        UnitContext {
            revision: Revision::local(3),
            snap_binary: Path::new("/usr/bin/snap"),
            snap_data_root: Path::new("/var/snap"),
            core_type: false,
        }
    }

    #[test]
    fn unit_text_is_snapds() {
        let s = specs(YAML);
        assert_eq!(
            service_unit(&s["web"], &cx()),
            "[Unit]
# Auto-generated, DO NOT EDIT
Description=Service for snap application hello-svc.web
Requires=snap-hello\\x2dsvc-x3.mount
Wants=network.target
After=snap-hello\\x2dsvc-x3.mount network.target snap.hello-svc.db.service
X-Snappy=yes

[Service]
EnvironmentFile=-/etc/environment
ExecStart=/usr/bin/snap run hello-svc.web
SyslogIdentifier=hello-svc.web
Restart=always
RestartSec=2
WorkingDirectory=/var/snap/hello-svc/x3
ExecStop=/usr/bin/snap run --command=stop hello-svc.web
ExecReload=/usr/bin/snap run --command=reload hello-svc.web
ExecStopPost=/usr/bin/snap run --command=post-stop hello-svc.web
TimeoutStopSec=15
TimeoutStartSec=60
Type=notify
KillMode=process
KillSignal=SIGHUP

[Install]
WantedBy=multi-user.target
"
        );
        assert_eq!(
            service_unit(&s["db"], &cx()),
            "[Unit]
# Auto-generated, DO NOT EDIT
Description=Service for snap application hello-svc.db
Requires=snap-hello\\x2dsvc-x3.mount
Wants=network.target
After=snap-hello\\x2dsvc-x3.mount network.target
Before=snap.hello-svc.web.service
X-Snappy=yes

[Service]
EnvironmentFile=-/etc/environment
ExecStart=/usr/bin/snap run hello-svc.db
SyslogIdentifier=hello-svc.db
Restart=no
WorkingDirectory=/var/snap/hello-svc/x3
TimeoutStopSec=30
Type=oneshot
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
"
        );
    }

    /// `systemd-analyze verify` (Debian's systemd package) accepts the generated units, with
    /// the mount unit they require beside them. Skipped where the tool is missing.
    #[test]
    fn systemd_analyze_verifies_the_units() {
        let Ok(tool) = which("systemd-analyze") else {
            eprintln!("skipped: systemd-analyze is not installed");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        // An executable that exists, for ExecStart's check.
        let snap_bin = Path::new("/bin/sh");
        let c = UnitContext {
            snap_binary: snap_bin,
            ..cx()
        };
        let mut paths = Vec::new();
        for s in specs(YAML).values() {
            let p = dir.path().join(s.unit_name());
            std::fs::write(&p, service_unit(s, &c)).unwrap();
            paths.push(p);
        }
        let m = dir
            .path()
            .join(mount_unit_name("hello-svc", Revision::local(3)));
        std::fs::write(
            &m,
            mount_unit(
                "hello-svc",
                Revision::local(3),
                Path::new("/var/lib/snapd/snaps/hello-svc_x3.snap"),
                Path::new("/snap/hello-svc/x3"),
            ),
        )
        .unwrap();
        let out = std::process::Command::new(tool)
            .arg("verify")
            .arg("--man=no")
            .args(&paths)
            .env("SYSTEMD_UNIT_PATH", format!("{}:", dir.path().display()))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        // Complaints about this machine (no systemd running, missing targets) are not about the
        // units; anything naming our units is.
        let ours: Vec<&str> = err
            .lines()
            .filter(|l| l.contains("snap.hello-svc") || l.contains("snap-hello"))
            .collect();
        assert!(ours.is_empty(), "systemd-analyze verify: {err}");
    }

    fn which(name: &str) -> Result<std::path::PathBuf, ()> {
        std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
            .ok_or(())
    }
}
