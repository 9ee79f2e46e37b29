//! Automatic refresh end to end, on a device whose clock the test moves (`SNAPD_CLOCK_FILE`):
//! a store (published with `snap-store`, served by nginx), `refresh.timer` set to a daily
//! window, and the daemon refreshing by itself only inside the window, and never a snap held
//! (per snap or all), on a metered connection with `refresh.metered=hold`, or one whose app
//! runs.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use snap_tests::store_fixture::StoreFixture as Fx;
use snap_tests::*;

struct Device {
    fx: Fx,
    clock: PathBuf,
}

impl Device {
    fn new() -> Device {
        let fx = Fx::new();
        let clock = fx.dir.path().join("clock");
        std::fs::write(&clock, "2030-01-07T08:00:00Z").unwrap();
        let mut dev = Device { fx, clock };
        dev.restart(&[]);
        dev
    }

    fn restart(&mut self, extra: &[(&str, &str)]) {
        let clock = self.clock.to_str().unwrap().to_owned();
        let mut env = vec![("SNAPD_CLOCK_FILE", clock.as_str()), ("TZ", "UTC")];
        env.extend_from_slice(extra);
        self.fx.restart_daemon_with(&env);
    }

    fn set_time(&self, t: &str) {
        std::fs::write(&self.clock, t).unwrap();
    }

    fn version(&self, name: &str) -> String {
        api_get(&self.fx.root, &format!("/v2/snaps/{name}"))["result"]["version"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// Waits until `name` is at `version` (an automatic refresh done), or fails.
    fn wait_version(&self, name: &str, version: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.version(name) != version {
            assert!(
                Instant::now() < deadline,
                "{name} never reached {version}: {:#?}",
                all_changes(&self.fx.root).last()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `name` stays at `version` for a while (the loop decides every 0.1 s).
    fn stays(&self, name: &str, version: &str) {
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(self.version(name), version, "{name} was refreshed");
    }

    /// The loop launched an automatic refresh at `t` (it records every launch, whether or not
    /// a snap was refreshed), so a snap that stays where it was was put off, not overlooked.
    fn launched_at(&self, t: &str) {
        let want = format!("last: {t}");
        let time = self.refresh_time_with(&want);
        assert!(time.contains(&want), "no launch at {t}: {time}");
    }

    fn refresh_time(&self) -> String {
        String::from_utf8_lossy(&self.fx.snap(&["refresh", "--time"]).stdout).into_owned()
    }

    /// `snap refresh --time` once the loop has decided with `expect` in force (it decides
    /// every 0.1 s).
    fn refresh_time_with(&self, expect: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let t = self.refresh_time();
            if t.contains(expect) || Instant::now() > deadline {
                return t;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A process standing for a running app of `snap`, recorded as the launcher records apps.
fn fake_running_app(root: &std::path::Path, snap: &str) -> Child {
    let child = Command::new("sleep").arg("120").spawn().unwrap();
    let start = snap_sys::proc::start_time(Some(child.id())).unwrap();
    let dir = root.join("run/snapd/running");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("snap.{snap}.{}", child.id())),
        format!("{start}\n"),
    )
    .unwrap();
    child
}

#[test]
fn auto_refresh_follows_the_timer_and_respects_holds_metering_and_running_apps() {
    need_root!();
    let mut dev = Device::new();
    dev.fx.publish(&dev.fx.base(), "latest/stable");
    dev.fx.publish(&dev.fx.app("alpha", "1"), "latest/stable");
    for n in ["core24", "alpha"] {
        ok(&dev.fx.snap(&["install", n]));
        dev.fx.installed.push(n.into());
    }
    ok(&dev.fx.snap(&["set", "system", "refresh.timer=10:00-11:00"]));
    // The first decision after the start launched a refresh at once (never refreshed before).
    let time = dev.refresh_time_with("timer: 10:00-11:00");
    assert!(time.contains("timer: 10:00-11:00"), "{time}");
    assert!(time.contains("last: 2030-01-07T08:00:00"), "{time}");

    dev.fx.publish(&dev.fx.app("alpha", "2"), "latest/stable");
    dev.stays("alpha", "1");
    dev.set_time("2030-01-07T09:59:00Z");
    dev.stays("alpha", "1");
    let time = dev.refresh_time_with("next: 2030-01-07T10:00:00");
    assert!(time.contains("next: 2030-01-07T10:00:00"), "{time}");
    // Inside the window: refreshed, by an `auto-refresh` change.
    dev.set_time("2030-01-07T10:30:00Z");
    dev.wait_version("alpha", "2");
    let chg = all_changes(&dev.fx.root)
        .into_iter()
        .rev()
        .find(|c| c["kind"] == "auto-refresh")
        .expect("an auto-refresh change");
    let chg = wait_change_ready(
        &dev.fx.root,
        chg["id"].as_str().unwrap(),
        Duration::from_secs(30),
    );
    assert_eq!(chg["status"], "Done", "{chg:#}");

    // Held (this snap): the next day's window passes it by; unheld, the one after takes it.
    ok(&dev.fx.snap(&["refresh", "--hold", "alpha"]));
    dev.fx.publish(&dev.fx.app("alpha", "3"), "latest/stable");
    dev.set_time("2030-01-08T10:30:00Z");
    dev.stays("alpha", "2");
    dev.launched_at("2030-01-08T10:30:00Z");
    ok(&dev.fx.snap(&["refresh", "--unhold", "alpha"]));
    dev.set_time("2030-01-09T10:30:00Z");
    dev.wait_version("alpha", "3");

    // Held (all snaps) until a time in the next window's day: that window is skipped.
    ok(&dev
        .fx
        .snap(&["set", "system", "refresh.hold=2030-01-10T23:00:00Z"]));
    dev.fx.publish(&dev.fx.app("alpha", "4"), "latest/stable");
    dev.set_time("2030-01-10T10:30:00Z");
    dev.stays("alpha", "3");
    // After the hold, the first window refreshes (and the expired hold is cleared).
    dev.set_time("2030-01-11T10:30:00Z");
    dev.wait_version("alpha", "4");

    // A metered connection with refresh.metered=hold: put off.
    ok(&dev.fx.snap(&["set", "system", "refresh.metered=hold"]));
    dev.restart(&[("SNAPD_TEST_METERED", "1")]);
    dev.fx.publish(&dev.fx.app("alpha", "5"), "latest/stable");
    dev.set_time("2030-01-12T10:30:00Z");
    dev.stays("alpha", "4");
    // Not metered any more: the next window refreshes.
    dev.restart(&[]);
    dev.set_time("2030-01-13T10:30:00Z");
    dev.wait_version("alpha", "5");

    // An app of the snap runs: put off until it has stopped.
    let mut app = fake_running_app(dev.fx.root.path(), "alpha");
    dev.fx.publish(&dev.fx.app("alpha", "6"), "latest/stable");
    dev.set_time("2030-01-14T10:30:00Z");
    dev.stays("alpha", "5");
    dev.launched_at("2030-01-14T10:30:00Z");
    let _ = app.kill();
    let _ = app.wait();
    dev.set_time("2030-01-15T10:30:00Z");
    dev.wait_version("alpha", "6");
    // The refresh's last tasks (hooks) may still run: let it end before removing everything.
    for c in all_changes(&dev.fx.root) {
        wait_change_ready(
            &dev.fx.root,
            c["id"].as_str().unwrap(),
            Duration::from_secs(30),
        );
    }
    dev.fx.finish();
}
