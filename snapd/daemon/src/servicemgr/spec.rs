//! What a service is and how it behaves, from its snap.yaml app: the daemon type, the restart
//! rule, the timeouts, the stop mode, the ordering. Pure: the supervisor and the unit
//! generator both read it; the decisions (restart or not, start limit, start order) are here
//! and unit-tested.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use snap_core::{App, DaemonType, InstallMode, RefreshMode, RestartCondition, StopMode};

/// snapd's default `TimeoutStopSec` when the snap does not set `stop-timeout`.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// systemd's default `TimeoutStartSec` (not for oneshot services, which have none).
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(90);
/// systemd's default `RestartSec`.
pub const DEFAULT_RESTART_DELAY: Duration = Duration::from_millis(100);
/// systemd's default start limit (`StartLimitBurst=5` in `StartLimitIntervalSec=10s`).
pub const START_LIMIT_BURST: usize = 5;
pub const START_LIMIT_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceSpec {
    pub snap: String,
    pub app: String,
    pub daemon: DaemonType,
    pub restart: RestartCondition,
    pub restart_delay: Duration,
    /// `None`: wait as long as it takes (oneshot without `start-timeout`).
    pub start_timeout: Option<Duration>,
    pub stop_timeout: Duration,
    pub stop_mode: StopMode,
    pub refresh_mode: Option<RefreshMode>,
    pub install_mode: InstallMode,
    pub has_stop_command: bool,
    pub has_reload_command: bool,
    pub has_post_stop_command: bool,
    pub bus_name: Option<String>,
    pub watchdog: Option<Duration>,
    /// Extra exit codes counted as success.
    pub success_exit_status: Vec<u8>,
    /// Other services of the same snap this one starts after / before.
    pub after: Vec<String>,
    pub before: Vec<String>,
}

impl ServiceSpec {
    /// The service of `app`, `None` for an app that is not a daemon. User daemons
    /// (`daemon-scope: user`) are not supervised by the system daemon, as in snapd.
    pub fn of(snap: &str, app: &App) -> Option<ServiceSpec> {
        let daemon = app.daemon?;
        if app.daemon_scope == Some(snap_core::DaemonScope::User) {
            return None;
        }
        let dur = |t: Option<snap_core::Timeout>| t.and_then(|t| t.as_duration());
        Some(ServiceSpec {
            snap: snap.to_owned(),
            app: app.name.clone(),
            daemon,
            // snapd writes Restart=on-failure when the snap says nothing.
            restart: app.restart_condition.unwrap_or(RestartCondition::OnFailure),
            restart_delay: dur(app.restart_delay).unwrap_or(DEFAULT_RESTART_DELAY),
            start_timeout: dur(app.start_timeout).or(match daemon {
                DaemonType::Oneshot => None,
                _ => Some(DEFAULT_START_TIMEOUT),
            }),
            stop_timeout: dur(app.stop_timeout).unwrap_or(DEFAULT_STOP_TIMEOUT),
            stop_mode: app.stop_mode.unwrap_or(StopMode::Sigterm),
            refresh_mode: app.refresh_mode,
            install_mode: app.install_mode.unwrap_or(InstallMode::Enable),
            has_stop_command: app.stop_command.is_some(),
            has_reload_command: app.reload_command.is_some(),
            has_post_stop_command: app.post_stop_command.is_some(),
            bus_name: app.bus_name.clone(),
            watchdog: dur(app.watchdog_timeout).filter(|d| !d.is_zero()),
            success_exit_status: app.success_exit_status.clone(),
            after: app.after.clone(),
            before: app.before.clone(),
        })
    }

    /// `snap.NAME.APP.service`, systemd's unit name and our cgroup's name.
    pub fn unit_name(&self) -> String {
        unit_name(&self.snap, &self.app)
    }
}

pub fn unit_name(snap: &str, app: &str) -> String {
    format!("snap.{snap}.{app}.service")
}

/// The services of a snap, by app name.
pub fn services_of(snap: &snap_core::SnapYaml) -> BTreeMap<String, ServiceSpec> {
    snap.apps
        .values()
        .filter_map(|a| ServiceSpec::of(&snap.name, a))
        .map(|s| (s.app.clone(), s))
        .collect()
}

/// How a run of a service ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The main process exited with this code.
    Exited(i32),
    /// The main process was killed by this signal.
    Signaled(i32),
    /// It did not start or stop in time.
    Timeout,
    /// The watchdog (`watchdog-timeout`) was not fed in time.
    Watchdog,
    /// The processes went away without a status to read (an adopted service, whose main
    /// process is not our child; a forking service whose cgroup emptied).
    Gone,
}

const SIGHUP: i32 = 1;
const SIGINT: i32 = 2;
const SIGPIPE: i32 = 13;
const SIGTERM: i32 = 15;

impl Outcome {
    /// systemd's "clean" exit: code 0 (or a listed success code), or SIGHUP, SIGINT, SIGTERM,
    /// SIGPIPE. `Gone` counts as clean: nothing says otherwise.
    pub fn is_clean(self, success: &[u8]) -> bool {
        match self {
            Outcome::Exited(0) | Outcome::Gone => true,
            Outcome::Exited(c) => u8::try_from(c).is_ok_and(|c| success.contains(&c)),
            Outcome::Signaled(s) => matches!(s, SIGHUP | SIGINT | SIGTERM | SIGPIPE),
            Outcome::Timeout | Outcome::Watchdog => false,
        }
    }

    /// systemd's `Result=` word for it.
    pub fn result(self, success: &[u8]) -> &'static str {
        match self {
            o if o.is_clean(success) => "success",
            Outcome::Exited(_) => "exit-code",
            Outcome::Signaled(_) => "signal",
            Outcome::Timeout => "timeout",
            Outcome::Watchdog => "watchdog",
            Outcome::Gone => "success",
        }
    }
}

/// systemd's `Restart=` table: whether a service that ended with `outcome` (not by a stop
/// request) is started again.
pub fn should_restart(cond: RestartCondition, outcome: Outcome, success: &[u8]) -> bool {
    let clean = outcome.is_clean(success);
    let unclean_signal = matches!(outcome, Outcome::Signaled(_)) && !clean;
    let timeout = matches!(outcome, Outcome::Timeout);
    let watchdog = matches!(outcome, Outcome::Watchdog);
    match cond {
        RestartCondition::Never => false,
        RestartCondition::Always => true,
        RestartCondition::OnSuccess => clean,
        RestartCondition::OnFailure => !clean,
        RestartCondition::OnAbnormal => unclean_signal || timeout || watchdog,
        RestartCondition::OnAbort => unclean_signal,
        RestartCondition::OnWatchdog => watchdog,
    }
}

/// The start rate limit: at most `burst` starts in any `interval`; a start beyond it puts the
/// service in the failed state (systemd's `start-limit-hit`).
#[derive(Clone, Debug)]
pub struct StartLimit {
    burst: usize,
    interval: Duration,
    starts: VecDeque<Instant>,
}

impl Default for StartLimit {
    fn default() -> Self {
        StartLimit::new(START_LIMIT_BURST, START_LIMIT_INTERVAL)
    }
}

impl StartLimit {
    pub fn new(burst: usize, interval: Duration) -> StartLimit {
        StartLimit {
            burst,
            interval,
            starts: VecDeque::new(),
        }
    }

    /// Records a start at `now` if the limit allows it.
    pub fn allow(&mut self, now: Instant) -> bool {
        while self
            .starts
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.interval)
        {
            self.starts.pop_front();
        }
        if self.starts.len() >= self.burst {
            return false;
        }
        self.starts.push_back(now);
        true
    }

    /// A start the user asked for clears the count (`systemctl reset-failed`).
    pub fn reset(&mut self) {
        self.starts.clear();
    }
}

/// Why services cannot be ordered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OrderError {
    #[error("services of snap {snap:?} are ordered in a cycle: {apps}")]
    Cycle { snap: String, apps: String },
}

/// The start order of a snap's services: every service after those it names in `after` and
/// those that name it in `before`; names of apps that are not services are ignored (snapd's
/// validation already refused them). Ties go alphabetically, so the order is stable. Stopping
/// goes in the reverse order.
pub fn start_order(services: &BTreeMap<String, ServiceSpec>) -> Result<Vec<String>, OrderError> {
    // edges: first -> then
    let mut preds: BTreeMap<&str, BTreeSet<&str>> = services
        .keys()
        .map(|k| (k.as_str(), BTreeSet::new()))
        .collect();
    for (name, s) in services {
        for a in &s.after {
            if services.contains_key(a) {
                preds
                    .get_mut(name.as_str())
                    .expect("present")
                    .insert(a.as_str());
            }
        }
        for b in &s.before {
            if let Some(p) = preds.get_mut(b.as_str()) {
                p.insert(name.as_str());
            }
        }
    }
    let mut out: Vec<String> = Vec::with_capacity(services.len());
    while !preds.is_empty() {
        let ready: Option<&str> = preds
            .iter()
            .find(|(_, p)| p.iter().all(|x| out.iter().any(|o| o == x)))
            .map(|(n, _)| *n);
        match ready {
            Some(n) => {
                preds.remove(n);
                out.push(n.to_owned());
            }
            None => {
                let snap = services
                    .values()
                    .next()
                    .map(|s| s.snap.clone())
                    .unwrap_or_default();
                return Err(OrderError::Cycle {
                    snap,
                    apps: preds.keys().copied().collect::<Vec<_>>().join(", "),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [RestartCondition; 7] = [
        RestartCondition::Never,
        RestartCondition::Always,
        RestartCondition::OnSuccess,
        RestartCondition::OnFailure,
        RestartCondition::OnAbnormal,
        RestartCondition::OnAbort,
        RestartCondition::OnWatchdog,
    ];

    /// systemd.service(5)'s table, row by row: (outcome, [no, always, on-success, on-failure,
    /// on-abnormal, on-abort, on-watchdog]).
    #[test]
    fn restart_table_is_systemds() {
        let rows: [(Outcome, [bool; 7]); 7] = [
            (
                Outcome::Exited(0),
                [false, true, true, false, false, false, false],
            ),
            (
                Outcome::Exited(3),
                [false, true, false, true, false, false, false],
            ),
            (
                Outcome::Signaled(15),
                [false, true, true, false, false, false, false],
            ),
            (
                Outcome::Signaled(9),
                [false, true, false, true, true, true, false],
            ),
            (
                Outcome::Timeout,
                [false, true, false, true, true, false, false],
            ),
            (
                Outcome::Watchdog,
                [false, true, false, true, true, false, true],
            ),
            (
                Outcome::Gone,
                [false, true, true, false, false, false, false],
            ),
        ];
        for (outcome, want) in rows {
            for (cond, w) in ALL.iter().zip(want) {
                assert_eq!(should_restart(*cond, outcome, &[]), w, "{cond} {outcome:?}");
            }
        }
        // A listed success code is clean.
        assert!(!should_restart(
            RestartCondition::OnFailure,
            Outcome::Exited(3),
            &[3]
        ));
        assert_eq!(Outcome::Exited(3).result(&[]), "exit-code");
        assert_eq!(Outcome::Signaled(9).result(&[]), "signal");
        assert_eq!(Outcome::Exited(0).result(&[]), "success");
    }

    #[test]
    fn start_limit_allows_five_in_ten_seconds() {
        let t0 = Instant::now();
        let mut l = StartLimit::default();
        for i in 0..5 {
            assert!(l.allow(t0 + Duration::from_millis(i * 100)), "start {i}");
        }
        assert!(!l.allow(t0 + Duration::from_secs(1)));
        // Ten seconds after the first start, one slot is free again.
        assert!(l.allow(t0 + Duration::from_secs(10)));
        assert!(!l.allow(t0 + Duration::from_secs(10)));
        l.reset();
        assert!(l.allow(t0 + Duration::from_secs(10)));
    }

    fn snap(yaml: &str) -> snap_core::SnapYaml {
        snap_core::parse_snap_yaml(yaml.as_bytes()).unwrap()
    }

    #[test]
    fn specs_take_snapds_defaults() {
        let s = snap(
            "name: svc\nversion: '1'\napps:\n  a:\n    command: a\n    daemon: simple\n  b:\n    command: b\n    daemon: oneshot\n    restart-condition: never\n    stop-timeout: 5s\n    stop-mode: sigterm-all\n    install-mode: disable\n    post-stop-command: p\n  c:\n    command: c\n",
        );
        let all = services_of(&s);
        assert_eq!(all.keys().collect::<Vec<_>>(), ["a", "b"]);
        let a = &all["a"];
        assert_eq!(a.restart, RestartCondition::OnFailure);
        assert_eq!(a.stop_timeout, DEFAULT_STOP_TIMEOUT);
        assert_eq!(a.start_timeout, Some(DEFAULT_START_TIMEOUT));
        assert_eq!(a.restart_delay, DEFAULT_RESTART_DELAY);
        assert_eq!(a.install_mode, InstallMode::Enable);
        assert_eq!(a.unit_name(), "snap.svc.a.service");
        let b = &all["b"];
        assert_eq!(b.start_timeout, None);
        assert_eq!(b.stop_timeout, Duration::from_secs(5));
        assert_eq!(b.stop_mode, StopMode::SigtermAll);
        assert_eq!(b.install_mode, InstallMode::Disable);
        assert!(b.has_post_stop_command && !b.has_stop_command);
    }

    #[test]
    fn order_follows_before_and_after() {
        let s = snap(
            "name: svc\nversion: '1'\napps:\n  web:\n    command: a\n    daemon: simple\n    after: [db]\n  db:\n    command: b\n    daemon: simple\n  migrate:\n    command: c\n    daemon: oneshot\n    before: [web]\n    after: [db]\n  zz:\n    command: c\n    daemon: simple\n    before: [db]\n",
        );
        assert_eq!(
            start_order(&services_of(&s)).unwrap(),
            ["zz", "db", "migrate", "web"]
        );
        let mut cyc = services_of(&s);
        cyc.get_mut("db").unwrap().after.push("web".into());
        let e = start_order(&cyc).unwrap_err();
        assert!(e.to_string().contains("cycle"), "{e}");
    }
}
