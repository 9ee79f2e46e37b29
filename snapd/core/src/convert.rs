//! Raw document → model: defaults, keyword parsing, implicit plugs/slots and binding.
//! Everything here is what snapd does while reading snap.yaml, before its validation pass.

use crate::attr::{Yaml, normalize};
use crate::duration::parse_duration;
use crate::epoch::Epoch;
use crate::error::{SnapYamlError, join};
use crate::hooks::{is_supported_component_hook, is_supported_hook};
use crate::layout;
use crate::model::*;
use crate::plugs::{Scoped, Side, parse_definition, rename_clashing_core_plugs, sanitize};
use crate::raw::{Entries, RawApp, RawEnv, RawHook, RawSnap, strings};
use std::collections::BTreeMap;

/// Empty strings mean "unset" in snap.yaml, as in snapd.
fn opt(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn keyword<T>(
    path: &str,
    value: Option<String>,
    parse: fn(&str) -> Option<T>,
    describe: impl FnOnce(&str) -> String,
) -> Result<Option<T>, SnapYamlError> {
    match value {
        None => Ok(None),
        Some(v) => parse(&v)
            .map(Some)
            .ok_or_else(|| SnapYamlError::invalid(path, describe(&v))),
    }
}

fn one_of<T: Copy>(all: &[T], text: fn(T) -> &'static str) -> String {
    let names: Vec<&str> = all.iter().map(|v| text(*v)).collect();
    match names.as_slice() {
        [init @ .., last] if !init.is_empty() => format!("{} or {last}", init.join(", ")),
        _ => names.join(""),
    }
}

fn environment(path: &str, raw: Option<RawEnv>) -> Result<Environment, SnapYamlError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in raw.unwrap_or_default().0 {
        let Yaml::Str(key) = k else {
            return Err(SnapYamlError::invalid(path, format!("cannot read {k}")));
        };
        if out.iter().any(|(e, _)| *e == key) {
            return Err(SnapYamlError::invalid(
                path,
                format!("found duplicate key {key:?}"),
            ));
        }
        out.push((key, v));
    }
    Ok(Environment(out))
}

fn timeout(path: &str, field: &str, v: Option<String>) -> Result<Option<Timeout>, SnapYamlError> {
    v.map(|s| parse_duration(&s).map_err(|e| SnapYamlError::invalid(join(path, field), e)))
        .transpose()
}

/// The app, and the plug and slot names it lists.
type ReadApp = (App, Vec<String>, Vec<String>);

fn app_from_raw(name: &str, mut raw: RawApp) -> Result<ReadApp, SnapYamlError> {
    let listed_plugs = strings(raw.plugs.take());
    let listed_slots = strings(raw.slots.take());
    let path = join("apps", name);
    let p = |f: &str| join(&path, f);
    let mut app = App::new(name);
    app.daemon = keyword(&p("daemon"), opt(raw.daemon), DaemonType::parse, |v| {
        format!(
            "unknown daemon type {v:?} (expected {})",
            one_of(DaemonType::ALL, DaemonType::as_str)
        )
    })?;
    app.daemon_scope = keyword(
        &p("daemon-scope"),
        raw.daemon_scope,
        DaemonScope::parse,
        |v| format!("invalid daemon scope: {v:?} (expected system or user)"),
    )?;
    if app.daemon.is_some() && app.daemon_scope.is_none() {
        app.daemon_scope = Some(DaemonScope::System);
    }
    app.command = opt(raw.command);
    app.command_chain = strings(raw.command_chain);
    app.stop_command = opt(raw.stop_command);
    app.reload_command = opt(raw.reload_command);
    app.post_stop_command = opt(raw.post_stop_command);
    app.stop_timeout = timeout(&path, "stop-timeout", raw.stop_timeout)?;
    app.start_timeout = timeout(&path, "start-timeout", raw.start_timeout)?;
    app.watchdog_timeout = timeout(&path, "watchdog-timeout", raw.watchdog_timeout)?;
    app.restart_delay = timeout(&path, "restart-delay", raw.restart_delay)?;
    app.restart_condition = keyword(
        &p("restart-condition"),
        raw.restart_condition,
        |v| match v {
            "no" => Some(RestartCondition::Never),
            other => RestartCondition::parse(other),
        },
        |v| {
            format!(
                "invalid restart condition {v:?} (expected {})",
                one_of(RestartCondition::ALL, RestartCondition::as_str)
            )
        },
    )?;
    let mut statuses = Vec::new();
    for s in strings(raw.success_exit_status) {
        match s.parse::<i64>().ok().and_then(|c| u8::try_from(c).ok()) {
            Some(code) if code >= 1 => statuses.push(code),
            _ => {
                return Err(SnapYamlError::invalid(
                    p("success-exit-status"),
                    format!("exit code must be an integer in range 1 to 255 (got {s:?})"),
                ));
            }
        }
    }
    app.success_exit_status = statuses;
    app.completer = opt(raw.completer);
    app.refresh_mode = keyword(
        &p("refresh-mode"),
        opt(raw.refresh_mode),
        RefreshMode::parse,
        |v| format!("\"refresh-mode\" field contains invalid value {v:?}"),
    )?;
    app.stop_mode = keyword(&p("stop-mode"), opt(raw.stop_mode), StopMode::parse, |v| {
        format!("\"stop-mode\" field contains invalid value {v:?}")
    })?;
    app.install_mode = keyword(
        &p("install-mode"),
        opt(raw.install_mode),
        InstallMode::parse,
        |v| format!("\"install-mode\" field contains invalid value {v:?}"),
    )?;
    app.bus_name = opt(raw.bus_name);
    app.activates_on = strings(raw.activates_on);
    app.common_id = opt(raw.common_id);
    app.environment = environment(&p("environment"), raw.environment)?;
    for (sname, sock) in raw.sockets.unwrap_or_default().0 {
        let sock = sock.unwrap_or_default();
        let socket = Socket {
            name: sname.clone(),
            listen_stream: sock.listen_stream.unwrap_or_default(),
            socket_mode: sock.socket_mode.filter(|m| *m != 0),
        };
        app.sockets.insert(sname, socket);
    }
    app.after = strings(raw.after);
    app.before = strings(raw.before);
    app.timer = opt(raw.timer);
    app.autostart = opt(raw.autostart);
    app.desktop = raw.desktop.and_then(|d| d.scalar_text());
    app.aliases = strings(raw.aliases);
    Ok((app, listed_plugs, listed_slots))
}

fn hook_from_raw(path: &str, name: &str, raw: &RawHook) -> Result<Hook, SnapYamlError> {
    let mut hook = Hook::new(name, true);
    hook.command_chain = strings(raw.command_chain.clone());
    hook.environment = environment(&join(path, "environment"), raw.environment.clone())?;
    Ok(hook)
}

fn definitions(
    snap: &mut SnapYaml,
    side: Side,
    entries: Option<Entries<Yaml>>,
) -> Result<(), SnapYamlError> {
    for (name, value) in entries.unwrap_or_default().0 {
        let ep = parse_definition(side, &name, &value)?;
        match side {
            Side::Plug => snap.plugs.insert(name, ep),
            Side::Slot => snap.slots.insert(name, ep),
        };
    }
    Ok(())
}

fn components(
    snap: &mut SnapYaml,
    scoped: &mut Scoped,
    raw: Option<Entries<Option<crate::raw::RawComponent>>>,
) -> Result<(), SnapYamlError> {
    for (name, comp) in raw.unwrap_or_default().0 {
        let comp = comp.unwrap_or_default();
        let path = join("components", &name);
        let component_type = keyword(
            &join(&path, "type"),
            comp.comp_type,
            ComponentType::parse,
            |v| format!("unknown component type {v:?}"),
        )?;
        if component_type == Some(ComponentType::KernelModules)
            && snap.snap_type != SnapType::Kernel
        {
            return Err(SnapYamlError::invalid(
                join(&path, "type"),
                "kernel-modules components can exist only for kernel snaps",
            ));
        }
        let mut hooks = BTreeMap::new();
        let mut plug_lists = Vec::new();
        for (hname, hook) in comp.hooks.unwrap_or_default().0 {
            let hpath = join(&join(&path, "hooks"), &hname);
            if !is_supported_component_hook(&hname) {
                return Err(SnapYamlError::invalid(
                    hpath,
                    format!("unsupported component hook: {hname:?}"),
                ));
            }
            let hook = hook.unwrap_or_default();
            if !strings(hook.slots.clone()).is_empty() {
                return Err(SnapYamlError::invalid(
                    join(&hpath, "slots"),
                    "component hooks cannot have slots",
                ));
            }
            hooks.insert(hname.clone(), hook_from_raw(&hpath, &hname, &hook)?);
            plug_lists.push((hname, strings(hook.plugs)));
        }
        let component = Component {
            name: name.clone(),
            component_type,
            summary: opt(comp.summary),
            description: opt(comp.description),
            hooks,
        };
        snap.components.insert(name.clone(), component);
        for (hname, plugs) in plug_lists {
            for plug in plugs {
                scoped.bind_component_hook(snap, &name, &hname, &plug);
            }
        }
    }
    Ok(())
}

fn system_usernames(snap: &mut SnapYaml, raw: Option<Entries<Yaml>>) -> Result<(), SnapYamlError> {
    for (user, value) in raw.unwrap_or_default().0 {
        let path = join("system-usernames", &user);
        let fail = |r: String| Err(SnapYamlError::invalid(path.clone(), r));
        if user.is_empty() {
            return fail("system username cannot be empty".into());
        }
        let mut scope = String::new();
        let mut attrs = BTreeMap::new();
        match &value {
            Yaml::Str(s) => scope = s.clone(),
            Yaml::Null => {}
            Yaml::Map(entries) => {
                for (k, v) in entries {
                    let Yaml::Str(key) = k else {
                        return fail(format!(
                            "system username {user:?} has attribute key that is not a string (found {})",
                            k.type_name()
                        ));
                    };
                    match (key.as_str(), v) {
                        ("scope", Yaml::Str(s)) => scope = s.clone(),
                        ("scope", other) => {
                            return fail(format!(
                                "scope on system username {user:?} is not a string (found {})",
                                other.type_name()
                            ));
                        }
                        ("", _) => {
                            return fail(format!(
                                "system username {user:?} has an empty attribute key"
                            ));
                        }
                        (key, v) => {
                            let value = normalize(v).map_err(|e| {
                                SnapYamlError::invalid(
                                    path.clone(),
                                    format!("attribute {key:?} of system username {user:?}: {e}"),
                                )
                            })?;
                            attrs.insert(key.to_owned(), value);
                        }
                    }
                }
            }
            other => {
                return fail(format!(
                    "system username {user:?} has malformed definition (found {})",
                    other.type_name()
                ));
            }
        }
        if scope.is_empty() {
            return fail(format!("system username {user:?} does not specify a scope"));
        }
        let name = user.clone();
        snap.system_usernames
            .insert(user, SystemUsername { name, scope, attrs });
    }
    Ok(())
}

fn skeleton(raw: &mut RawSnap) -> Result<SnapYaml, SnapYamlError> {
    let name = raw.name.take().unwrap_or_default();
    let mut snap_type = keyword(
        "type",
        raw.snap_type.take(),
        |t| match t {
            // The store says "application"; snap.yaml means the same.
            "application" => Some(SnapType::App),
            other => SnapType::parse(other),
        },
        |v| {
            format!(
                "invalid snap type: {v:?} (expected {})",
                one_of(SnapType::ALL, SnapType::as_str)
            )
        },
    )?
    .unwrap_or(SnapType::App);
    if name == "snapd" {
        snap_type = SnapType::Snapd;
    }
    let confinement = keyword(
        "confinement",
        raw.confinement.take(),
        Confinement::parse,
        |v| format!("invalid confinement type: {v:?} (expected strict, devmode or classic)"),
    )?
    .unwrap_or(Confinement::Strict);
    let grade = keyword("grade", opt(raw.grade.take()), Grade::parse, |v| {
        format!("unknown grade type: {v:?} (expected stable or devel)")
    })?
    .unwrap_or(Grade::Stable);
    let epoch = Epoch::from_raw(raw.epoch.as_ref().map(|e| &e.value))
        .map_err(|e| SnapYamlError::invalid("epoch", e.to_string()))?;
    let mut architectures = strings(raw.architectures.take());
    if architectures.is_empty() {
        architectures.push("all".into());
    }
    let mut assumes = strings(raw.assumes.take());
    assumes.sort();
    Ok(SnapYaml {
        name,
        version: raw.version.take(),
        snap_type,
        base: opt(raw.base.take()),
        build_base: raw.build_base.take().and_then(|b| b.scalar_text()),
        confinement,
        grade,
        summary: opt(raw.summary.take()),
        description: opt(raw.description.take()),
        title: opt(raw.title.take()),
        license: opt(raw.license.take()),
        provenance: opt(raw.provenance.take()),
        architectures,
        assumes,
        epoch,
        environment: environment("environment", raw.environment.take())?,
        apps: BTreeMap::new(),
        hooks: BTreeMap::new(),
        plugs: BTreeMap::new(),
        slots: BTreeMap::new(),
        layout: BTreeMap::new(),
        system_usernames: BTreeMap::new(),
        links: BTreeMap::new(),
        components: BTreeMap::new(),
        legacy_aliases: BTreeMap::new(),
        bad_interfaces: BTreeMap::new(),
        unsupported_hooks: Vec::new(),
    })
}

/// Builds the model from the raw document; `is_known_interface` decides which plugs and slots
/// snapd would keep (the rest become `bad_interfaces`).
pub(crate) fn build(
    mut raw: RawSnap,
    is_known_interface: &dyn Fn(&str) -> bool,
) -> Result<SnapYaml, SnapYamlError> {
    if raw.layouts.is_some() {
        return Err(SnapYamlError::invalid(
            "layouts",
            "typo detected: use singular \"layout\" instead of plural \"layouts\"",
        ));
    }
    let mut snap = skeleton(&mut raw)?;
    definitions(&mut snap, Side::Plug, raw.plugs.take())?;
    definitions(&mut snap, Side::Slot, raw.slots.take())?;

    let mut scoped = Scoped::default();
    components(&mut snap, &mut scoped, raw.components.take())?;

    let mut listed = Vec::new();
    for (name, app) in raw.apps.take().unwrap_or_default().0 {
        let (app, plugs, slots) = app_from_raw(&name, app.unwrap_or_default())?;
        for alias in &app.aliases {
            if let Some(other) = snap.legacy_aliases.get(alias) {
                return Err(SnapYamlError::invalid(
                    join(&join("apps", &name), "aliases"),
                    format!("cannot set {alias:?} as alias for both {other:?} and {name:?}"),
                ));
            }
            snap.legacy_aliases.insert(alias.clone(), name.clone());
        }
        listed.push((name.clone(), plugs, slots));
        snap.apps.insert(name, app);
    }
    for (name, plugs, slots) in &listed {
        for p in plugs {
            scoped.bind_app(&mut snap, Side::Plug, name, p);
        }
        for s in slots {
            scoped.bind_app(&mut snap, Side::Slot, name, s);
        }
    }
    for (name, _, _) in &listed {
        for slot in snap.apps[name].activates_on.clone() {
            if !snap.slots.contains_key(&slot) {
                return Err(SnapYamlError::invalid(
                    join(&join("apps", name), "activates-on"),
                    format!("invalid activates-on value {slot:?} on app {name:?}: slot not found"),
                ));
            }
            scoped.bind_app(&mut snap, Side::Slot, name, &slot);
        }
    }

    for (name, hook) in raw.hooks.take().unwrap_or_default().0 {
        if !is_supported_hook(&name) {
            snap.unsupported_hooks.push(name);
            continue;
        }
        let hook_raw = hook.unwrap_or_default();
        let h = hook_from_raw(&join("hooks", &name), &name, &hook_raw)?;
        snap.hooks.insert(name.clone(), h);
        for p in strings(hook_raw.plugs) {
            scoped.bind_hook(&mut snap, Side::Plug, &name, &p);
        }
        for s in strings(hook_raw.slots) {
            scoped.bind_hook(&mut snap, Side::Slot, &name, &s);
        }
    }
    scoped.bind_unscoped(&mut snap);

    for (path, entry) in raw.layout.take().unwrap_or_default().0 {
        let l = layout::from_raw(&path, &entry.unwrap_or_default())?;
        snap.layout.insert(path, l);
    }

    rename_clashing_core_plugs(&mut snap);
    sanitize(&mut snap, is_known_interface);
    system_usernames(&mut snap, raw.system_usernames.take())?;

    for (key, values) in raw.links.take().unwrap_or_default().0 {
        let path = join("links", &key);
        if key.is_empty() {
            return Err(SnapYamlError::invalid(path, "links key cannot be empty"));
        }
        if crate::naming::validate_links_key(&key).is_err() {
            return Err(SnapYamlError::invalid(
                path,
                format!("links key is invalid: {key}"),
            ));
        }
        snap.links.insert(key, strings(values));
    }
    Ok(snap)
}
