//! What a `run-hook` task carries (snapd's `hook-setup`).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use snap_core::Revision;

use crate::snapmgr::plan::HookPlan;

pub const HOOK_SETUP_KEY: &str = "hook-setup";

/// snapd's limits: ten minutes for a hook, thirty seconds for a health check.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
pub const CHECK_HEALTH_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct HookSetup {
    pub snap: String,
    /// The revision whose hook runs; none for the system's own configuration, which has no
    /// hook to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<Revision>,
    pub hook: String,
    #[serde(default)]
    pub optional: bool,
    #[serde(default)]
    pub ignore_error: bool,
    /// Apply the gadget's configuration defaults for the snap before the hook runs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub use_defaults: bool,
    /// In seconds; the hook's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
}

impl HookSetup {
    pub fn from_plan(snap: &str, plan: &HookPlan, revision: Revision) -> HookSetup {
        HookSetup {
            snap: snap.to_owned(),
            revision: Some(revision),
            hook: plan.name.to_owned(),
            optional: plan.optional,
            ignore_error: plan.ignore_error,
            use_defaults: plan.use_defaults,
            timeout: None,
        }
    }

    pub fn timeout(&self) -> Duration {
        match self.timeout {
            Some(s) => Duration::from_secs(s),
            None if self.hook == "check-health" => CHECK_HEALTH_TIMEOUT,
            None => DEFAULT_TIMEOUT,
        }
    }
}

/// Go's way of printing a duration, which snapd's timeout message uses (`10m0s`, `30s`).
pub fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    let frac = d.subsec_millis();
    let s = |n: u64| {
        if frac == 0 {
            format!("{n}s")
        } else {
            format!("{n}.{}s", format!("{frac:03}").trim_end_matches('0'))
        }
    };
    match (secs / 3600, (secs % 3600) / 60, secs % 60) {
        (0, 0, sec) => s(sec),
        (0, m, sec) => format!("{m}m{}", s(sec)),
        (h, m, sec) => format!("{h}h{m}m{}", s(sec)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go_does() {
        assert_eq!(go_duration(Duration::from_secs(600)), "10m0s");
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(go_duration(Duration::from_secs(3661)), "1h1m1s");
    }

    #[test]
    fn health_checks_have_a_shorter_default_timeout() {
        let mut h =
            HookSetup::from_plan("a", &HookPlan::optional("check-health"), Revision::local(1));
        assert_eq!(h.timeout(), CHECK_HEALTH_TIMEOUT);
        h.hook = "install".into();
        assert_eq!(h.timeout(), DEFAULT_TIMEOUT);
        h.timeout = Some(2);
        assert_eq!(h.timeout(), Duration::from_secs(2));
    }
}
