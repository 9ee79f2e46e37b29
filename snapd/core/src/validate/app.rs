//! Rules for one `apps.<name>` entry, and service ordering across apps.

use super::{check_command, check_command_chain, socket};
use crate::error::{SnapYamlError, join};
use crate::model::{App, Confinement, DaemonScope, RefreshMode, SnapYaml, Timeout};
use crate::naming;
use crate::timer::validate_timer;
use std::collections::BTreeMap;

struct Ctx<'a> {
    path: String,
    app: &'a App,
}

impl Ctx<'_> {
    /// `field` is a path suffix built by the caller (already quoted where needed).
    fn err(&self, field: &str, reason: impl Into<String>) -> SnapYamlError {
        let path = if field.is_empty() {
            self.path.clone()
        } else {
            format!("{}.{field}", self.path)
        };
        SnapYamlError::invalid(path, reason)
    }

    fn service_only(&self, field: &str, what: &str) -> Result<(), SnapYamlError> {
        if self.app.is_service() {
            Ok(())
        } else {
            Err(self.err(field, format!("{what} is only applicable to services")))
        }
    }
}

/// A zero duration counts as unset, as in snapd.
fn set(t: Option<Timeout>) -> Option<Timeout> {
    t.filter(|t| t.nanos() != 0)
}

fn order_names(
    snap: &SnapYaml,
    c: &Ctx<'_>,
    field: &str,
    deps: &[String],
) -> Result<(), SnapYamlError> {
    if !deps.is_empty() && !c.app.is_service() {
        return Err(c.err(field, "must be a service to define before/after ordering"));
    }
    for dep in deps {
        let Some(other) = snap.apps.get(dep) else {
            return Err(c.err(
                field,
                format!("before/after references a missing application {dep:?}"),
            ));
        };
        if !other.is_service() {
            return Err(c.err(
                field,
                format!("before/after references a non-service application {dep:?}"),
            ));
        }
        if other.daemon_scope != c.app.daemon_scope {
            return Err(c.err(
                field,
                format!("before/after references service with different daemon-scope {dep:?}"),
            ));
        }
    }
    Ok(())
}

fn activates_on(snap: &SnapYaml, c: &Ctx<'_>) -> Result<(), SnapYamlError> {
    let app = c.app;
    if app.activates_on.is_empty() {
        return Ok(());
    }
    c.service_only("activates-on", "activates-on")?;
    for name in &app.activates_on {
        let fail = |r: String| Err(c.err("activates-on", r));
        // A slot dropped as a bad interface cannot be dbus, which snapd reports the same way.
        let Some(slot) = snap.slots.get(name).filter(|s| s.interface == "dbus") else {
            return fail(format!(
                "invalid activates-on value {name:?}: slot does not use dbus interface"
            ));
        };
        let bus = slot.attr("bus").and_then(|b| b.as_str()).unwrap_or("");
        let want = match app.daemon_scope {
            Some(DaemonScope::User) => "session",
            _ => "system",
        };
        if bus != want {
            let scope = app.daemon_scope.map_or("", |s| s.as_str());
            return fail(format!(
                "invalid activates-on value {name:?}: bus {bus:?} does not match daemon-scope {scope:?}"
            ));
        }
        let other = snap
            .apps
            .values()
            .find(|o| o.name != app.name && o.activates_on.contains(name));
        if let Some(other) = other {
            return fail(format!(
                "invalid activates-on value {name:?}: slot is also activatable on app {:?}",
                other.name
            ));
        }
    }
    Ok(())
}

pub(super) fn validate_app(snap: &SnapYaml, app: &App) -> Result<(), SnapYamlError> {
    let c = Ctx {
        path: join("apps", &app.name),
        app,
    };
    if app.daemon.is_none() && app.daemon_scope.is_some() {
        return Err(c.err(
            "daemon-scope",
            "\"daemon-scope\" can only be set for daemons",
        ));
    }
    if naming::validate_app_name(&app.name).is_err() {
        return Err(c.err(
            "",
            format!(
                "cannot have {:?} as app name - use letters, digits, and dash as separator",
                app.name
            ),
        ));
    }
    let fields = [
        ("command", &app.command),
        ("stop-command", &app.stop_command),
        ("reload-command", &app.reload_command),
        ("post-stop-command", &app.post_stop_command),
        ("bus-name", &app.bus_name),
    ];
    for (field, value) in fields {
        if let Some(v) = value {
            check_command(v)
                .map_err(|allowed| c.err(field, format!("contains illegal {v:?} ({allowed})")))?;
        }
    }
    for (i, entry) in app.command_chain.iter().enumerate() {
        check_command_chain(entry).map_err(|allowed| {
            c.err(
                &format!("command-chain[{i}]"),
                format!("contains illegal {entry:?} ({allowed})"),
            )
        })?;
    }
    if !app.sockets.is_empty()
        && !app.plugs.contains("network-bind")
        && snap.confinement != Confinement::Classic
    {
        return Err(c.err(
            "sockets",
            "\"network-bind\" interface plug is required when sockets are used",
        ));
    }
    for sock in app.sockets.values() {
        socket::validate_socket(&snap.name, app, sock).map_err(|reason| {
            c.err(
                &format!("sockets.{}", join("", &sock.name)),
                format!("invalid definition of socket {:?}: {reason}", sock.name),
            )
        })?;
    }
    activates_on(snap, &c)?;

    if let Some(delay) = set(app.restart_delay) {
        c.service_only("restart-delay", "restart-delay")?;
        if delay.is_negative() {
            return Err(c.err("restart-delay", "restart-delay cannot be negative"));
        }
    }
    if app.restart_condition.is_some() {
        c.service_only("restart-condition", "restart-condition")?;
    }
    order_names(snap, &c, "before", &app.before)?;
    order_names(snap, &c, "after", &app.after)?;
    for (field, t) in [
        ("start-timeout", app.start_timeout),
        ("stop-timeout", app.stop_timeout),
        ("watchdog-timeout", app.watchdog_timeout),
    ] {
        if let Some(t) = set(t) {
            c.service_only(field, field)?;
            if t.is_negative() {
                return Err(c.err(field, format!("{field} cannot be negative")));
            }
        }
    }
    if !app.success_exit_status.is_empty() {
        c.service_only("success-exit-status", "success exit status")?;
    }
    if app.stop_mode.is_some() && !app.is_service() {
        return Err(c.err(
            "stop-mode",
            format!(
                "\"stop-mode\" cannot be used for {:?}, only for services",
                app.name
            ),
        ));
    }
    match (app.refresh_mode, app.is_service()) {
        (Some(RefreshMode::IgnoreRunning), true) => {
            return Err(c.err(
                "refresh-mode",
                "\"refresh-mode\" cannot be set to \"ignore-running\" for services",
            ));
        }
        (Some(mode), false) if mode != RefreshMode::IgnoreRunning => {
            return Err(c.err(
                "refresh-mode",
                format!(
                    "\"refresh-mode\" for app {:?} can only have value \"ignore-running\"",
                    app.name
                ),
            ));
        }
        _ => {}
    }
    if app.install_mode.is_some() && !app.is_service() {
        return Err(c.err(
            "install-mode",
            format!(
                "\"install-mode\" cannot be used for {:?}, only for services",
                app.name
            ),
        ));
    }
    if let Some(timer) = &app.timer {
        c.service_only("timer", "timer")?;
        validate_timer(timer)
            .map_err(|e| c.err("timer", format!("timer has invalid format: {e}")))?;
    }
    Ok(())
}

/// Services must be startable in some order that satisfies every before/after.
pub(super) fn validate_order_cycles(snap: &SnapYaml) -> Result<(), SnapYamlError> {
    let services: Vec<&App> = snap.services().collect();
    let is_service = |n: &str| snap.apps.get(n).is_some_and(App::is_service);
    let mut preds: BTreeMap<&str, usize> = services.iter().map(|a| (a.name.as_str(), 0)).collect();
    let mut succs: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for app in &services {
        for other in app.after.iter().filter(|o| is_service(o)) {
            *preds.entry(&app.name).or_default() += 1;
            succs.entry(other).or_default().push(&app.name);
        }
        for other in app.before.iter().filter(|o| is_service(o)) {
            *preds.entry(other).or_default() += 1;
            succs.entry(&app.name).or_default().push(other);
        }
    }
    let mut queue: Vec<&str> = preds
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(k, _)| *k)
        .collect();
    while let Some(name) = queue.pop() {
        preds.remove(name);
        for s in succs.get(name).into_iter().flatten() {
            if let Some(n) = preds.get_mut(s) {
                *n -= 1;
                if *n == 0 {
                    queue.push(s);
                }
            }
        }
    }
    if preds.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = preds.keys().copied().collect();
    Err(SnapYamlError::invalid(
        "apps",
        format!(
            "applications are part of a before/after cycle: {}",
            names.join(", ")
        ),
    ))
}
