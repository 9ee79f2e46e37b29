use std::sync::Arc;

use axum::extract::State;
use serde_json::json;
use snapd_api::{Locations, OsRelease, SystemInfo};

use super::reply::{ApiResult, sync};
use crate::daemon::Daemon;

/// `GET /v2/system-info`.
pub async fn system_info(State(d): State<Arc<Daemon>>) -> ApiResult {
    let (id, version_id) = os_release();
    let info = SystemInfo {
        series: "16".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        build_id: String::new(),
        os_release: OsRelease { id, version_id },
        on_classic: true,
        managed: false,
        kernel_version: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
        architecture: dpkg_architecture().into(),
        locations: Locations {
            snap_mount_dir: d.dirs.snap_mount_dir().display().to_string(),
            snap_bin_dir: d.dirs.snap_bin_dir().display().to_string(),
        },
        refresh: refresh_info(&d),
        confinement: "strict".into(),
        sandbox_features: json!({"confinement-options": ["classic", "devmode", "strict"]}),
        system_mode: "run".into(),
    };
    let mut v = serde_json::to_value(info).expect("system info serializes");
    // First boot done (`firstboot`); snapd's own readiness signal is the `seed.loaded`
    // system option, which seeding sets too.
    v["seeded"] = json!(crate::firstboot::is_seeded(&d.store.lock()));
    sync(v)
}

/// `GET /v2/warnings`.
pub async fn warnings(State(d): State<Arc<Daemon>>) -> ApiResult {
    let st = d.store.lock();
    sync(serde_json::to_value(st.all_warnings()).unwrap_or_else(|_| json!([])))
}

/// The host's distribution, from os-release (the system the daemon runs on).
fn os_release() -> (String, String) {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim_matches('"').to_owned())
            .unwrap_or_default()
    };
    (field("ID"), field("VERSION_ID"))
}

/// The architecture as snapd (and Debian) name it.
pub fn dpkg_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "armhf",
        "x86" => "i386",
        "powerpc64" => "ppc64el",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

/// snapd's `refresh` object: the timer, and the last and next automatic refresh.
fn refresh_info(d: &Daemon) -> serde_json::Value {
    let s = d
        .refresh_status
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let mut v = json!({"timer": s.timer});
    if let Some(t) = s.last {
        v["last"] = t.to_rfc3339_secs().into();
    }
    if let Some(t) = s.next {
        v["next"] = t.to_rfc3339_secs().into();
    }
    if let Some(h) = s.hold {
        v["hold"] = h.into();
    }
    v
}
