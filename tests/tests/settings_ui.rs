//! The terminal settings UI end to end, driven through tmux as a person would: it lists the
//! snaps and their permissions from the daemon's D-Bus API, toggles a connection with a key
//! (which `snap connections` then shows), follows changes made elsewhere from the signals,
//! and shows an ordinary user why they may not change anything.

mod dbus_common;

use std::process::Command;
use std::time::Duration;

use dbus_common::*;
use snap_tests::*;

const APP: &str = "uicam";

/// A UI running in a tmux server of its own (so that no other tmux session is touched).
struct Ui {
    server: String,
}

impl Ui {
    fn start(name: &str, command: &[String]) -> Ui {
        let server = format!("snap-settings-{name}-{}", std::process::id());
        let out = Command::new("tmux")
            .args(["-L", &server, "new-session", "-d", "-x", "120", "-y", "32"])
            .args(command)
            .output()
            .expect("tmux (package tmux)");
        assert!(out.status.success(), "tmux: {}", text(&out.stderr));
        Ui { server }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.server, "capture-pane", "-p"])
            .output()
            .expect("tmux capture-pane");
        text(&out.stdout)
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let out = Command::new("tmux")
                .args(["-L", &self.server, "send-keys", k])
                .output()
                .expect("tmux send-keys");
            assert!(out.status.success(), "send-keys {k}: {}", text(&out.stderr));
            // One key per frame: the UI reads keys between redraws.
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn wait_for(&self, what: &str) -> String {
        let mut last = String::new();
        let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_until(
                &format!("{what:?} on screen"),
                Duration::from_secs(20),
                || {
                    last = self.screen();
                    last.contains(what)
                },
            )
        }));
        assert!(found.is_ok(), "{what:?} never showed; the screen:\n{last}");
        last
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.server, "kill-server"])
            .output();
    }
}

fn ui_command(bus: &Bus) -> Vec<String> {
    vec![
        bin("snap-settings").display().to_string(),
        "--address".into(),
        bus.address.clone(),
    ]
}

#[test]
fn toggling_a_connection_from_the_terminal_ui() {
    let root = TestRoot::new();
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::start();
    let mut daemon = Some(start_daemon(&root, &bus, None));
    let mut installed = install_fixture_snaps(&root, dir.path(), APP);
    let run = || {
        let ui = Ui::start("root", &ui_command(&bus));
        ui.wait_for(&format!("> {BASE} 1"));
        // Down to the app, then to its plugs: camera (first) is not connected.
        ui.keys(&["Down"]);
        let s = ui.wait_for("[ ] camera (camera)");
        assert!(s.contains("Camera App 1.2 (rev x1)"), "{s}");
        assert!(s.contains("[x] network (network) -> snapd:network"), "{s}");
        ui.keys(&["Right", "Space"]);
        ui.wait_for("[x] camera (camera) -> snapd:camera");
        ui.wait_for(&format!("Connect {APP}:camera: done"));
        assert!(
            cli_connections(&root, APP).contains(&format!("camera {APP}:camera :camera")),
            "{:?}",
            cli_connections(&root, APP)
        );
        // And back.
        ui.keys(&["Space"]);
        ui.wait_for(&format!("Disconnect {APP}:camera: done"));
        ui.wait_for("[ ] camera (camera)");
        assert!(
            cli_connections(&root, APP).contains(&format!("camera {APP}:camera -")),
            "{:?}",
            cli_connections(&root, APP)
        );
        // A change made elsewhere shows without a key pressed.
        ok(&root.snap(&["connect", &format!("{APP}:camera")]));
        ui.wait_for("[x] camera (camera) -> snapd:camera");
        ok(&root.snap(&["disconnect", &format!("{APP}:camera")]));
        ui.wait_for("[ ] camera (camera)");
        ui.keys(&["q"]);
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run));
    match result {
        Ok(()) => remove_all_and_stop(&root, &mut installed, &mut daemon),
        Err(e) => {
            remove_all_best_effort(&root, &mut installed, &mut daemon);
            std::panic::resume_unwind(e);
        }
    }
}

#[test]
fn an_ordinary_user_sees_why_they_may_not_change() {
    let root = TestRoot::new();
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::start();
    let mut daemon = Some(start_daemon(&root, &bus, None));
    let mut installed = install_fixture_snaps(&root, dir.path(), APP);
    let user = ensure_test_user("snapsettingsuser");
    let run = || {
        let mut command = vec![
            "setpriv".to_owned(),
            format!("--reuid={}", user.uid),
            format!("--regid={}", user.gid),
            "--clear-groups".to_owned(),
        ];
        command.extend(ui_command(&bus));
        let ui = Ui::start("user", &command);
        ui.wait_for(&format!("> {BASE} 1"));
        ui.keys(&["Down", "Right", "Space"]);
        let s = ui.wait_for("error: permission denied");
        assert!(
            s.contains(&format!("uid {} may not make changes", user.uid)),
            "{s}"
        );
        assert!(s.contains("[ ] camera (camera)"), "{s}");
        assert!(
            cli_connections(&root, APP).contains(&format!("camera {APP}:camera -")),
            "{:?}",
            cli_connections(&root, APP)
        );
        ui.keys(&["q"]);
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run));
    match result {
        Ok(()) => remove_all_and_stop(&root, &mut installed, &mut daemon),
        Err(e) => {
            remove_all_best_effort(&root, &mut installed, &mut daemon);
            std::panic::resume_unwind(e);
        }
    }
}
