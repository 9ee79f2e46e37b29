//! The automatic refresh loop: on its own thread, it gathers what the policy needs (the clock,
//! `refresh.timer`, `refresh.hold`, each snap's hold, the network, the snaps with running
//! apps), asks [`policy::decide`], and when a refresh is due asks the store which snaps have
//! updates and refreshes those the policy lets go, in one `auto-refresh` change (all or
//! nothing, like any multi-snap refresh).
//!
//! The clock is injectable: with `SNAPD_CLOCK_FILE` set, "now" is the RFC3339 time in that
//! file (re-read every 100 ms), so tests move the device's time by writing it. Metered
//! connections are reported by `SNAPD_TEST_METERED=1` (no NetworkManager is asked yet).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::tz::TimeZone;
use serde_json::Value;
use snap_state::{State, Timestamp};

use super::policy::{self, HoldUntil, Inputs, MeteredPolicy, Reason};
use super::{running, schedule};
use crate::configmgr::tx::{Transaction, document};
use crate::daemon::Daemon;
use crate::hookmgr::handlers::SYSTEM_SNAP;
use crate::snapmgr::holds::{Hold, active_hold};
use crate::snapmgr::model::all_snaps;
use crate::snapmgr::refresh_ops::{self, Refreshed};

/// snapd's state keys: when the last automatic refresh was launched, and since when each
/// snap's refresh has been put off for its running apps.
pub const LAST_REFRESH_KEY: &str = "last-refresh";
pub const INHIBITED_KEY: &str = "refresh-inhibited";

/// The device's time.
#[derive(Clone, Debug)]
pub struct Clock {
    file: Option<PathBuf>,
}

impl Clock {
    pub fn from_env() -> Clock {
        Clock {
            file: std::env::var_os("SNAPD_CLOCK_FILE").map(PathBuf::from),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|t| Timestamp::parse_rfc3339(t.trim()).ok())
            .unwrap_or_else(Timestamp::now)
    }

    /// How long to sleep before deciding again: the time to `next`, at most a minute (the
    /// configuration may change meanwhile); with an injected clock, a tenth of a second.
    fn pause(&self, now: Timestamp, next: Timestamp) -> Duration {
        if self.file.is_some() {
            return Duration::from_millis(100);
        }
        let secs = next
            .unix_secs()
            .saturating_sub(now.unix_secs())
            .clamp(1, 60);
        Duration::from_secs(secs as u64)
    }
}

/// What `snap refresh --time` shows (`refresh` of `/v2/system-info`).
#[derive(Clone, Debug, Default)]
pub struct Status {
    pub timer: String,
    pub last: Option<Timestamp>,
    pub next: Option<Timestamp>,
    pub hold: Option<String>,
}

pub struct AutoRefresh {
    daemon: Arc<Daemon>,
    clock: Clock,
    stop: AtomicBool,
    pub status: Arc<Mutex<Status>>,
}

impl AutoRefresh {
    pub fn new(daemon: Arc<Daemon>, status: Arc<Mutex<Status>>) -> Arc<AutoRefresh> {
        Arc::new(AutoRefresh {
            daemon,
            clock: Clock::from_env(),
            stop: AtomicBool::new(false),
            status,
        })
    }

    /// Runs the loop on its own thread until [`AutoRefresh::stop`].
    pub fn spawn(self: &Arc<Self>) -> std::io::Result<std::thread::JoinHandle<()>> {
        let me = self.clone();
        std::thread::Builder::new()
            .name("auto-refresh".into())
            .spawn(move || me.run())
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    fn run(&self) {
        while !self.stop.load(Ordering::SeqCst) {
            let now = self.clock.now();
            let next = match self.tick(now) {
                Ok(next) => next,
                Err(e) => {
                    tracing::warn!("automatic refresh: {e}");
                    now + policy::RETRY_DELAY
                }
            };
            let pause = self.clock.pause(now, next);
            // Sleep in short steps so that stopping the daemon is not held up.
            let mut slept = Duration::ZERO;
            while slept < pause && !self.stop.load(Ordering::SeqCst) {
                let step = Duration::from_millis(100).min(pause - slept);
                std::thread::sleep(step);
                slept += step;
            }
        }
    }

    /// One decision, and the refresh it calls for; returns when to decide again.
    fn tick(&self, now: Timestamp) -> Result<Timestamp, String> {
        let d = &self.daemon;
        if !d.storemgr.is_configured() {
            // Nothing to refresh from: look again later (the store is set at start only).
            return Ok(Timestamp::from_unix_secs(now.unix_secs() + 3600));
        }
        let seed = d
            .storemgr
            .seed()
            .map(|s| snap_store::rollout::derive_u64(s, "auto-refresh"))
            .map_err(|e| e.to_string())?;
        // Reading /proc and the records is file I/O: done before the state lock is taken.
        let running_now = running::snaps_with_running_apps(&d.dirs);
        let gathered = Gathered::read(&d.store.lock(), &running_now)?;
        let tz = TimeZone::system();
        let decide = |candidates: &[String]| {
            policy::decide(&Inputs {
                now,
                time_zone: &tz,
                last_refresh: gathered.last,
                schedule: &gathered.schedule,
                seed,
                hold_all: gathered.hold_all,
                snap_holds: &gathered.snap_holds,
                metered_connection: std::env::var("SNAPD_TEST_METERED").as_deref() == Ok("1"),
                metered: gathered.metered,
                running: &gathered.running,
                max_inhibition_days: gathered.max_inhibition_days,
                candidates,
            })
        };
        let first = decide(&[]);
        let mut decision = first.clone();
        if first.due {
            let candidates = refresh_ops::updates_available(d).map_err(|e| e.to_string())?;
            decision = decide(&candidates);
            self.launched(now, &decision, &gathered)?;
            if !decision.refresh.is_empty() {
                tracing::info!("automatic refresh of {}", decision.refresh.join(", "));
                match refresh_ops::refresh(d, &decision.refresh, None, "auto-refresh") {
                    Ok(Refreshed::Change(id)) => tracing::info!("automatic refresh: change {id}"),
                    Ok(Refreshed::UpToDate) => {}
                    Err(e) => tracing::warn!("automatic refresh: {e}"),
                }
            }
            for (snap, why) in &decision.postponed {
                tracing::info!("automatic refresh of {snap} put off: {why:?}");
            }
        }
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        *status = Status {
            timer: gathered.timer_text.clone(),
            last: if first.due { Some(now) } else { gathered.last },
            next: Some(decision.next_refresh),
            hold: gathered.hold_text.clone(),
        };
        Ok(decision.next_check)
    }

    /// Records a launch as snapd does: the time (whether or not anything had an update), since
    /// when each newly put-off snap waits for its apps, and the end of an expired hold.
    fn launched(
        &self,
        now: Timestamp,
        decision: &policy::Decision,
        gathered: &Gathered,
    ) -> Result<(), String> {
        let mut st = self.daemon.store.lock();
        let res = (|| -> Result<(), snap_state::StateError> {
            st.set(LAST_REFRESH_KEY, &now.to_rfc3339())?;
            let mut inhibited: BTreeMap<String, String> =
                st.get(INHIBITED_KEY)?.unwrap_or_default();
            inhibited.retain(|snap, _| gathered.running.contains_key(snap));
            for (snap, why) in &decision.postponed {
                if let Reason::AppRunning { since, .. } = why {
                    inhibited
                        .entry(snap.clone())
                        .or_insert_with(|| since.to_rfc3339());
                }
            }
            st.set(INHIBITED_KEY, &inhibited)?;
            if let Some(HoldUntil::Until(t)) = gathered.hold_all
                && t <= now
            {
                let mut tx = Transaction::begin(&st, SYSTEM_SNAP)?;
                let _ = tx.set("refresh.hold", Value::Null);
                tx.commit(&mut st)?;
            }
            st.commit()
        })();
        res.map_err(|e| e.to_string())
    }
}

/// What one decision reads from the state and the machine.
struct Gathered {
    last: Option<Timestamp>,
    schedule: schedule::Schedule,
    timer_text: String,
    hold_all: Option<HoldUntil>,
    hold_text: Option<String>,
    snap_holds: BTreeMap<String, Hold>,
    metered: MeteredPolicy,
    running: BTreeMap<String, Option<Timestamp>>,
    max_inhibition_days: u32,
}

impl Gathered {
    fn read(st: &State, running_now: &BTreeSet<String>) -> Result<Gathered, String> {
        let conf = document(st, SYSTEM_SNAP).map_err(|e| e.to_string())?;
        let text = |key: &str| {
            conf.pointer(key)
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default()
        };
        let timer_text = text("/refresh/timer");
        let schedule = schedule::from_config(&timer_text).unwrap_or_else(|e| {
            tracing::warn!("refresh.timer: {e}; using the default");
            schedule::Schedule::default()
        });
        let hold_raw = text("/refresh/hold");
        let hold_all = HoldUntil::parse_config(&hold_raw).unwrap_or_else(|e| {
            tracing::warn!("refresh.hold: {e}");
            None
        });
        let metered = MeteredPolicy::parse_config(&text("/refresh/metered")).unwrap_or_default();
        let max_inhibition_days = conf
            .pointer("/refresh/max-inhibition-days")
            .and_then(Value::as_u64)
            .unwrap_or(0) as u32;
        let last = st
            .get::<String>(LAST_REFRESH_KEY)
            .map_err(|e| e.to_string())?
            .and_then(|t| Timestamp::parse_rfc3339(&t).ok());
        let snaps = all_snaps(st).map_err(|e| e.to_string())?;
        let snap_holds = snaps
            .keys()
            .filter_map(|n| active_hold(st, n).map(|h| (n.clone(), h)))
            .collect();
        let inhibited: BTreeMap<String, String> = st
            .get(INHIBITED_KEY)
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        let running = running_now
            .iter()
            .filter(|s| snaps.contains_key(*s))
            .map(|s| {
                let since = inhibited
                    .get(s)
                    .and_then(|t| Timestamp::parse_rfc3339(t).ok());
                (s.clone(), since)
            })
            .collect();
        Ok(Gathered {
            last,
            schedule,
            timer_text: if timer_text.is_empty() {
                schedule::Schedule::default().to_string()
            } else {
                timer_text
            },
            hold_text: (!hold_raw.is_empty()).then_some(hold_raw),
            hold_all,
            snap_holds,
            metered,
            running,
            max_inhibition_days,
        })
    }
}
