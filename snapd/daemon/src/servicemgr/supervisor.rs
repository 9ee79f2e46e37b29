//! One supervised service: its process started through the launcher in its cgroup, watched by
//! a thread that restarts it as its `restart-condition` says (within the start limit), and
//! stopped with its stop-command, the stop-mode's signal, and after the stop timeout
//! `cgroup.kill`. A service found running when the daemon starts (its cgroup populated) is
//! adopted: watched through its cgroup, never started twice.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use snap_core::DaemonType;
use snap_core::dirs::Dirs;

use super::cgroup::Cgroups;
use super::logs::{self, LogLimits, LogWriter};
use super::spec::{Outcome, ServiceSpec, StartLimit, should_restart};

/// What every service shares: the root, the launcher, the cgroups, the log limits.
pub struct Ctx {
    pub dirs: Dirs,
    pub confine: PathBuf,
    pub cgroups: Cgroups,
    pub limits: LogLimits,
    /// Called when a service ended by itself for good (not restarted, not stopped on request):
    /// the state then no longer says it should run.
    pub ended: Box<dyn Fn(&ServiceSpec) + Send + Sync>,
}

impl Ctx {
    /// `<root>/run/snapd/services/UNIT`: the output FIFO and the notify socket.
    pub fn run_dir(&self, unit: &str) -> PathBuf {
        self.dirs.root().join("run/snapd/services").join(unit)
    }

    /// `<root>/var/log/snapd/services/UNIT`.
    pub fn log_dir(&self, unit: &str) -> PathBuf {
        self.dirs.root().join("var/log/snapd/services").join(unit)
    }

    /// Removes a stopped unit's cgroup, FIFO, notify socket and logs, and their parents when
    /// they are empty, so that a root without services looks as it did before any was
    /// installed.
    pub fn remove_traces(&self, unit: &str) {
        let _ = self.cgroups.remove(unit);
        let _ = fs::remove_dir_all(self.run_dir(unit));
        let _ = fs::remove_dir_all(self.log_dir(unit));
        let root = self.dirs.root();
        for d in [
            "run/snapd/services",
            "run/snapd",
            "var/log/snapd/services",
            "var/log/snapd",
            "var/log",
        ] {
            let _ = fs::remove_dir(root.join(d));
        }
    }
}

/// systemd's `ActiveState`, as `snap services` and `/v2/apps` show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActiveState {
    Inactive,
    Activating,
    Active,
    Deactivating,
    Failed,
}

impl ActiveState {
    pub fn as_str(self) -> &'static str {
        match self {
            ActiveState::Inactive => "inactive",
            ActiveState::Activating => "activating",
            ActiveState::Active => "active",
            ActiveState::Deactivating => "deactivating",
            ActiveState::Failed => "failed",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("cannot start service {unit}: {reason}")]
    Start { unit: String, reason: String },
    #[error("cannot stop service {unit}: {reason}")]
    Stop { unit: String, reason: String },
}

struct Runtime {
    state: ActiveState,
    /// Asked to run: a watcher that sees the process end restarts it only while this holds.
    want: bool,
    watcher: bool,
    main_pid: Option<u32>,
    limit: StartLimit,
    result: &'static str,
    /// Set by the notify reader on `READY=1`.
    ready: bool,
    /// The run the notify reader belongs to; a reader of an earlier run ends.
    run_gen: u64,
    /// The last `WATCHDOG=1` of this run.
    last_ping: Option<Instant>,
    /// How many times the service became active: a start succeeded once this grew, even if
    /// the service ended right after (as a `systemctl start` job of a simple service does).
    activations: u64,
}

pub struct Service {
    pub spec: Mutex<ServiceSpec>,
    pub unit: String,
    ctx: Arc<Ctx>,
    rt: Mutex<Runtime>,
    cv: Condvar,
    pump_stop: Arc<AtomicBool>,
    pump: Mutex<Option<std::thread::JoinHandle<()>>>,
}

fn poll() -> Duration {
    Duration::from_millis(20)
}

impl Service {
    pub fn new(spec: ServiceSpec, ctx: Arc<Ctx>) -> Arc<Service> {
        Arc::new(Service {
            unit: spec.unit_name(),
            spec: Mutex::new(spec),
            ctx,
            rt: Mutex::new(Runtime {
                state: ActiveState::Inactive,
                want: false,
                watcher: false,
                main_pid: None,
                limit: StartLimit::default(),
                result: "success",
                ready: false,
                run_gen: 0,
                last_ping: None,
                activations: 0,
            }),
            cv: Condvar::new(),
            pump_stop: Arc::new(AtomicBool::new(false)),
            pump: Mutex::new(None),
        })
    }

    fn rt(&self) -> MutexGuard<'_, Runtime> {
        self.rt.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn spec(&self) -> ServiceSpec {
        self.spec.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn active(&self) -> ActiveState {
        self.rt().state
    }

    pub fn main_pid(&self) -> Option<u32> {
        self.rt().main_pid
    }

    fn set_state(&self, rt: &mut Runtime, s: ActiveState) {
        if s == ActiveState::Active && rt.state != ActiveState::Active {
            rt.activations += 1;
        }
        rt.state = s;
        self.cv.notify_all();
    }

    /// The output FIFO, made if missing, and the thread copying it to the log.
    fn ensure_output(self: &Arc<Service>) -> std::io::Result<PathBuf> {
        let dir = self.ctx.run_dir(&self.unit);
        fs::create_dir_all(&dir)?;
        let fifo = dir.join("output");
        if !fifo.exists() {
            rustix::fs::mknodat(
                rustix::fs::CWD,
                &fifo,
                rustix::fs::FileType::Fifo,
                rustix::fs::Mode::from_raw_mode(0o600),
                0,
            )?;
        }
        let mut pump = self.pump.lock().unwrap_or_else(|e| e.into_inner());
        if pump.is_none() {
            let me = Arc::downgrade(self);
            let pid = Arc::new(move || me.upgrade().and_then(|s| s.main_pid()));
            *pump = Some(logs::spawn_pump(
                fifo.clone(),
                LogWriter::new(self.ctx.log_dir(&self.unit), self.ctx.limits),
                pid,
                self.pump_stop.clone(),
                self.unit.clone(),
            )?);
        }
        Ok(fifo)
    }

    /// Ends the log thread (the service is gone for good).
    pub fn close_output(&self) {
        self.pump_stop.store(true, Ordering::SeqCst);
        let fifo = self.ctx.run_dir(&self.unit).join("output");
        if let Some(h) = self.pump.lock().unwrap_or_else(|e| e.into_inner()).take() {
            logs::wake_pump(&fifo);
            let _ = h.join();
        }
    }

    fn launcher(&self, fifo: &std::path::Path, extra: &[String]) -> std::io::Result<Command> {
        let out = fs::OpenOptions::new().read(true).write(true).open(fifo)?;
        let err = out.try_clone()?;
        let mut c = Command::new(&self.ctx.confine);
        c.env_clear()
            .env(snap_core::dirs::ROOT_ENV, self.ctx.dirs.root())
            .current_dir("/")
            .arg(format!(
                "--cgroup={}",
                self.ctx.cgroups.dir(&self.unit).display()
            ))
            .args(extra)
            .arg(format!("{}.{}", self.spec().snap, self.spec().app))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        Ok(c)
    }

    /// Starts the service (or, when `adopt`, takes over the one running in its cgroup) and
    /// waits until it is active, it failed, or `limit` passed.
    pub fn start(self: &Arc<Service>, adopt: bool) -> Result<(), ServiceError> {
        let spec = self.spec();
        let before = {
            let mut rt = self.rt();
            rt.want = true;
            if rt.watcher {
                // Already running or restarting.
                return Ok(());
            }
            if rt.state == ActiveState::Active && spec.daemon == DaemonType::Oneshot && !adopt {
                return Ok(());
            }
            rt.limit.reset();
            rt.watcher = true;
            rt.ready = false;
            self.set_state(&mut rt, ActiveState::Activating);
            rt.activations
        };
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("svc {}", self.unit))
            .spawn(move || me.watch(adopt));
        if let Err(e) = spawned {
            let mut rt = self.rt();
            rt.watcher = false;
            rt.want = false;
            self.set_state(&mut rt, ActiveState::Failed);
            return Err(ServiceError::Start {
                unit: self.unit.clone(),
                reason: e.to_string(),
            });
        }
        // Wait for the outcome of the first start.
        let wait = spec
            .start_timeout
            .unwrap_or(Duration::from_secs(3600))
            .saturating_add(Duration::from_secs(5));
        let deadline = Instant::now() + wait;
        let mut rt = self.rt();
        while rt.activations == before && rt.watcher && Instant::now() < deadline {
            rt = self
                .cv
                .wait_timeout(rt, Duration::from_millis(200))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        match rt.state {
            _ if rt.activations > before => Ok(()),
            s => Err(ServiceError::Start {
                unit: self.unit.clone(),
                reason: format!(
                    "the service is {} (result: {}); see 'snap logs {}.{}'",
                    s.as_str(),
                    rt.result,
                    spec.snap,
                    spec.app
                ),
            }),
        }
    }

    /// The watcher thread: runs (or adopts) the service, then restarts it while its restart
    /// rule and the start limit allow.
    fn watch(self: Arc<Service>, mut adopt: bool) {
        loop {
            let spec = self.spec();
            {
                let mut rt = self.rt();
                if !rt.want {
                    break;
                }
                if !adopt && !rt.limit.allow(Instant::now()) {
                    rt.want = false;
                    rt.result = "start-limit-hit";
                    tracing::warn!("{}: start request repeated too quickly", self.unit);
                    self.set_state(&mut rt, ActiveState::Failed);
                    drop(rt);
                    (self.ctx.ended)(&spec);
                    break;
                }
                if rt.state != ActiveState::Deactivating {
                    self.set_state(&mut rt, ActiveState::Activating);
                }
            }
            let outcome = if adopt {
                self.watch_adopted()
            } else {
                self.run_once(&spec)
            };
            adopt = false;
            if spec.daemon == DaemonType::Oneshot
                && outcome.is_clean(&spec.success_exit_status)
                && self.active() == ActiveState::Active
            {
                // RemainAfterExit=yes: done, and active until stopped (post-stop runs then).
                self.ctx
                    .cgroups
                    .kill_and_wait(&self.unit, Duration::from_secs(10));
                let mut rt = self.rt();
                rt.main_pid = None;
                rt.result = "success";
                break;
            }
            self.ctx
                .cgroups
                .kill_and_wait(&self.unit, Duration::from_secs(10));
            if spec.has_post_stop_command {
                self.run_command("post-stop", spec.stop_timeout);
                self.ctx
                    .cgroups
                    .kill_and_wait(&self.unit, Duration::from_secs(10));
            }
            let mut rt = self.rt();
            rt.main_pid = None;
            let _ = fs::remove_file(self.ctx.run_dir(&self.unit).join("main-pid"));
            let clean = outcome.is_clean(&spec.success_exit_status);
            rt.result = outcome.result(&spec.success_exit_status);
            if !rt.want {
                // Stopped on request.
                self.set_state(&mut rt, ActiveState::Inactive);
                break;
            }
            if should_restart(spec.restart, outcome, &spec.success_exit_status) {
                tracing::info!("{}: ended ({outcome:?}), restarting", self.unit);
                self.set_state(&mut rt, ActiveState::Activating);
                let deadline = Instant::now() + spec.restart_delay;
                while rt.want && Instant::now() < deadline {
                    let left = deadline.saturating_duration_since(Instant::now());
                    rt = self
                        .cv
                        .wait_timeout(rt, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                continue;
            }
            rt.want = false;
            let end = if clean {
                ActiveState::Inactive
            } else {
                ActiveState::Failed
            };
            self.set_state(&mut rt, end);
            drop(rt);
            (self.ctx.ended)(&spec);
            break;
        }
        let mut rt = self.rt();
        rt.watcher = false;
        if rt.state == ActiveState::Activating || rt.state == ActiveState::Deactivating {
            self.set_state(&mut rt, ActiveState::Inactive);
        }
        self.cv.notify_all();
    }

    fn spawn_main(&self, spec: &ServiceSpec) -> Result<(Child, Option<UnixDatagram>), String> {
        let me_fifo = self.ctx.run_dir(&self.unit).join("output");
        self.ctx
            .cgroups
            .create(&self.unit)
            .map_err(|e| e.to_string())?;
        let mut extra = Vec::new();
        let mut notify = None;
        // systemd gives a watchdog service the socket too (NotifyAccess=main).
        if spec.daemon == DaemonType::Notify || spec.watchdog.is_some() {
            let path = self.ctx.run_dir(&self.unit).join("notify");
            let _ = fs::remove_file(&path);
            let sock = UnixDatagram::bind(&path)
                .map_err(|e| format!("cannot make the notify socket {}: {e}", path.display()))?;
            // The service may run as another user: anyone who reaches the path may send.
            let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o777));
            sock.set_read_timeout(Some(Duration::from_millis(200)))
                .map_err(|e| e.to_string())?;
            extra.push(format!("--notify-socket={}", path.display()));
            notify = Some(sock);
        }
        let mut cmd = self.launcher(&me_fifo, &extra).map_err(|e| e.to_string())?;
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.ctx.confine.display()))?;
        Ok((child, notify))
    }

    fn record_main(&self, pid: Option<u32>) {
        let mut rt = self.rt();
        rt.main_pid = pid;
        if let Some(p) = pid {
            let _ = fs::write(self.ctx.run_dir(&self.unit).join("main-pid"), p.to_string());
        }
    }

    /// One run of the service; returns how it ended.
    fn run_once(self: &Arc<Service>, spec: &ServiceSpec) -> Outcome {
        if let Err(e) = self.ensure_output() {
            tracing::error!("{}: cannot set up its output: {e}", self.unit);
            return Outcome::Exited(1);
        }
        let (mut child, notify) = match self.spawn_main(spec) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("{}: {e}", self.unit);
                return Outcome::Exited(1);
            }
        };
        self.record_main(Some(child.id()));
        let run_gen = {
            let mut rt = self.rt();
            rt.run_gen += 1;
            rt.last_ping = None;
            rt.run_gen
        };
        if let Some(sock) = notify {
            let me = self.clone();
            // Ends with this run (see `read_notify`).
            std::thread::spawn(move || me.read_notify(sock, run_gen));
        }
        let started = Instant::now();
        let timed_out = |t: Option<Duration>| t.is_some_and(|t| started.elapsed() > t);
        match spec.daemon {
            DaemonType::Simple | DaemonType::Dbus => {
                let mut rt = self.rt();
                if rt.state == ActiveState::Activating {
                    self.set_state(&mut rt, ActiveState::Active);
                }
            }
            DaemonType::Notify => {
                if let Some(o) = self.wait_ready(&mut child, spec) {
                    let _ = child.kill();
                    let _ = child.wait();
                    return o;
                }
            }
            DaemonType::Forking => {
                // The starter must exit successfully within the start timeout; the daemon it
                // left behind runs on in the cgroup.
                loop {
                    match child.try_wait() {
                        Ok(Some(st)) => {
                            let o = outcome_of(st);
                            if o != Outcome::Exited(0) {
                                return o;
                            }
                            break;
                        }
                        Ok(None) if timed_out(spec.start_timeout) => return Outcome::Timeout,
                        Ok(None) => std::thread::sleep(poll()),
                        Err(_) => return Outcome::Gone,
                    }
                }
                let pids = self.ctx.cgroups.pids(&self.unit);
                // systemd's guess: the main process is the only one left.
                self.record_main(if pids.len() == 1 {
                    Some(pids[0] as u32)
                } else {
                    None
                });
                {
                    let mut rt = self.rt();
                    if rt.state == ActiveState::Activating {
                        self.set_state(&mut rt, ActiveState::Active);
                    }
                }
                return self.wait_empty();
            }
            DaemonType::Oneshot => loop {
                match child.try_wait() {
                    Ok(Some(st)) => {
                        let o = outcome_of(st);
                        if o.is_clean(&spec.success_exit_status) {
                            let mut rt = self.rt();
                            if rt.want {
                                self.set_state(&mut rt, ActiveState::Active);
                            }
                        }
                        return o;
                    }
                    Ok(None) if timed_out(spec.start_timeout) => return Outcome::Timeout,
                    Ok(None) => std::thread::sleep(poll()),
                    Err(_) => return Outcome::Gone,
                }
            },
        }
        let Some(watchdog) = spec.watchdog else {
            return match child.wait() {
                Ok(st) => outcome_of(st),
                Err(_) => Outcome::Gone,
            };
        };
        // With a watchdog: the service must send WATCHDOG=1 at least every watchdog-timeout.
        let active_at = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(st)) => return outcome_of(st),
                Ok(None) => {}
                Err(_) => return Outcome::Gone,
            }
            let last = self.rt().last_ping.unwrap_or(active_at);
            if last.elapsed() > watchdog && self.rt().want {
                tracing::warn!("{}: watchdog timeout", self.unit);
                self.ctx.cgroups.kill(&self.unit);
                let _ = child.wait();
                return Outcome::Watchdog;
            }
            std::thread::sleep(poll());
        }
    }

    /// Waits for `READY=1`; `Some` with the outcome when the service ended or timed out first.
    fn wait_ready(&self, child: &mut Child, spec: &ServiceSpec) -> Option<Outcome> {
        let started = Instant::now();
        loop {
            {
                let mut rt = self.rt();
                if rt.ready {
                    if rt.state == ActiveState::Activating {
                        self.set_state(&mut rt, ActiveState::Active);
                    }
                    return None;
                }
                if !rt.want {
                    return None;
                }
            }
            match child.try_wait() {
                Ok(Some(st)) => return Some(outcome_of(st)),
                Ok(None) => {}
                Err(_) => return Some(Outcome::Gone),
            }
            if spec.start_timeout.is_some_and(|t| started.elapsed() > t) {
                tracing::warn!("{}: no READY=1 within the start timeout", self.unit);
                return Some(Outcome::Timeout);
            }
            std::thread::sleep(poll());
        }
    }

    /// Reads sd_notify datagrams until the socket is no longer the service's.
    fn read_notify(self: Arc<Service>, sock: UnixDatagram, run_gen: u64) {
        let mut buf = [0u8; 4096];
        loop {
            match sock.recv(&mut buf) {
                Ok(n) => {
                    let text = String::from_utf8_lossy(&buf[..n]);
                    let mut rt = self.rt();
                    for line in text.lines() {
                        match line.split_once('=') {
                            Some(("READY", "1")) => rt.ready = true,
                            Some(("WATCHDOG", "1")) => rt.last_ping = Some(Instant::now()),
                            Some(("MAINPID", p)) => {
                                if let Ok(p) = p.trim().parse::<u32>() {
                                    rt.main_pid = Some(p);
                                }
                            }
                            _ => {}
                        }
                    }
                    self.cv.notify_all();
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    let rt = self.rt();
                    if !rt.watcher || rt.run_gen != run_gen {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    }

    /// Until the cgroup is empty.
    fn wait_empty(&self) -> Outcome {
        while self.ctx.cgroups.populated(&self.unit) {
            std::thread::sleep(Duration::from_millis(100));
        }
        Outcome::Gone
    }

    /// A service found running: its main pid from the file the previous daemon wrote (if that
    /// process is still in the cgroup), then watched until the cgroup empties.
    fn watch_adopted(self: &Arc<Service>) -> Outcome {
        if let Err(e) = self.ensure_output() {
            tracing::error!("{}: cannot read its output: {e}", self.unit);
        }
        let pids = self.ctx.cgroups.pids(&self.unit);
        let main = fs::read_to_string(self.ctx.run_dir(&self.unit).join("main-pid"))
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .filter(|p| pids.contains(&(*p as i32)));
        self.record_main(main);
        {
            let mut rt = self.rt();
            rt.ready = true;
            self.set_state(&mut rt, ActiveState::Active);
        }
        tracing::info!("{}: adopted (running, main pid {main:?})", self.unit);
        loop {
            if !self.ctx.cgroups.populated(&self.unit) {
                return Outcome::Gone;
            }
            // For simple services the main process ending ends the service.
            if let Some(p) = main
                && !std::path::Path::new(&format!("/proc/{p}")).exists()
            {
                return Outcome::Gone;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs `--command=NAME` of the service in its cgroup and waits up to `limit`.
    fn run_command(&self, name: &str, limit: Duration) -> Option<Outcome> {
        let fifo = self.ctx.run_dir(&self.unit).join("output");
        let mut c = match self.launcher(&fifo, &[format!("--command={name}")]) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("{}: cannot run its {name} command: {e}", self.unit);
                return None;
            }
        };
        // The cgroup may have been removed with the last process.
        let _ = self.ctx.cgroups.create(&self.unit);
        let mut child = match c.spawn() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("{}: cannot run its {name} command: {e}", self.unit);
                return None;
            }
        };
        let deadline = Instant::now() + limit;
        loop {
            match child.try_wait() {
                Ok(Some(st)) => return Some(outcome_of(st)),
                Ok(None) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Some(Outcome::Timeout);
                }
                Ok(None) => std::thread::sleep(poll()),
                Err(_) => return None,
            }
        }
    }

    /// Stops the service: its stop-command, then the stop-mode's signal, then after the stop
    /// timeout SIGKILL to the whole cgroup. Returns once nothing of it runs.
    pub fn stop(&self) -> Result<(), ServiceError> {
        let spec = self.spec();
        let watched = {
            let mut rt = self.rt();
            rt.want = false;
            self.cv.notify_all();
            if rt.watcher && rt.state != ActiveState::Failed {
                self.set_state(&mut rt, ActiveState::Deactivating);
            }
            rt.watcher
        };
        let running = watched || self.ctx.cgroups.populated(&self.unit);
        let remained = self.active() == ActiveState::Active && spec.daemon == DaemonType::Oneshot;
        if running || remained {
            if spec.has_stop_command {
                self.run_command("stop", spec.stop_timeout);
            }
            let sig = signal_of(spec.stop_mode);
            match (spec.stop_mode.kill_all(), self.main_pid()) {
                (false, Some(p)) => {
                    if let Some(pid) = rustix::process::Pid::from_raw(p as i32) {
                        let _ = rustix::process::kill_process(pid, sig);
                    }
                }
                _ => self.ctx.cgroups.signal_all(&self.unit, sig),
            }
            let deadline = Instant::now() + spec.stop_timeout;
            while Instant::now() < deadline
                && (self.rt().watcher || self.ctx.cgroups.populated(&self.unit))
            {
                if !self.rt().watcher && !self.ctx.cgroups.populated(&self.unit) {
                    break;
                }
                // For a main-only signal: once the main process is gone the watcher kills the
                // rest itself.
                std::thread::sleep(poll());
            }
            if !self
                .ctx
                .cgroups
                .kill_and_wait(&self.unit, Duration::from_secs(10))
            {
                return Err(ServiceError::Stop {
                    unit: self.unit.clone(),
                    reason: "processes are left in its cgroup after SIGKILL".into(),
                });
            }
            // The watcher runs the post-stop command, then ends.
            let limit = Instant::now() + spec.stop_timeout + Duration::from_secs(10);
            let mut rt = self.rt();
            while rt.watcher && Instant::now() < limit {
                rt = self
                    .cv
                    .wait_timeout(rt, Duration::from_millis(100))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            if !watched && remained {
                drop(rt);
                if spec.has_post_stop_command {
                    self.run_command("post-stop", spec.stop_timeout);
                    self.ctx
                        .cgroups
                        .kill_and_wait(&self.unit, Duration::from_secs(10));
                }
                rt = self.rt();
            }
            if rt.state != ActiveState::Failed {
                self.set_state(&mut rt, ActiveState::Inactive);
            }
        }
        Ok(())
    }

    /// Runs the reload command, or restarts the service when it has none.
    pub fn reload_or_restart(self: &Arc<Service>) -> Result<(), ServiceError> {
        let spec = self.spec();
        if spec.has_reload_command && self.active() == ActiveState::Active {
            match self.run_command("reload", spec.start_timeout.unwrap_or(spec.stop_timeout)) {
                Some(o) if o.is_clean(&[]) => return Ok(()),
                _ => {
                    return Err(ServiceError::Start {
                        unit: self.unit.clone(),
                        reason: "its reload command failed".into(),
                    });
                }
            }
        }
        self.stop()?;
        self.start(false)
    }

    /// After a stop, when the snap goes: its cgroup, FIFO, notify socket and logs.
    pub fn remove_traces(&self) {
        self.close_output();
        self.ctx.remove_traces(&self.unit);
    }
}

fn outcome_of(st: std::process::ExitStatus) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => Outcome::Exited(c),
        (None, Some(s)) => Outcome::Signaled(s),
        _ => Outcome::Gone,
    }
}

fn signal_of(mode: snap_core::StopMode) -> rustix::process::Signal {
    use rustix::process::Signal;
    match mode.signal().as_str() {
        "SIGHUP" => Signal::HUP,
        "SIGUSR1" => Signal::USR1,
        "SIGUSR2" => Signal::USR2,
        "SIGINT" => Signal::INT,
        _ => Signal::TERM,
    }
}
