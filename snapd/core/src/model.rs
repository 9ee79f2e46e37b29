//! The validated snap.yaml model other crates consume.

use crate::attr::AttrValue;
use crate::epoch::Epoch;
use crate::layout::Layout;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Defines a closed set of snap.yaml keywords with their spelling.
macro_rules! keyword_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in the order snapd documents them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling used in snap.yaml.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the snap.yaml spelling.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

keyword_enum!(
    /// `type:`; `app` when absent, and always `snapd` for the snap named `snapd`.
    SnapType { App => "app", Gadget => "gadget", Kernel => "kernel", Base => "base", Snapd => "snapd", Os => "os" }
);

keyword_enum!(
    /// `confinement:`; `strict` when absent.
    Confinement { Strict => "strict", Devmode => "devmode", Classic => "classic" }
);

keyword_enum!(
    /// `grade:`; `stable` when absent.
    Grade { Stable => "stable", Devel => "devel" }
);

keyword_enum!(
    /// `apps.<app>.daemon:`
    DaemonType { Simple => "simple", Forking => "forking", Oneshot => "oneshot", Notify => "notify", Dbus => "dbus" }
);

keyword_enum!(
    /// `apps.<app>.daemon-scope:`; `system` for every daemon that does not say.
    DaemonScope { System => "system", User => "user" }
);

keyword_enum!(
    /// `apps.<app>.restart-condition:` (`no` is accepted as a spelling of `never`).
    RestartCondition {
        Never => "never", OnSuccess => "on-success", OnFailure => "on-failure",
        OnAbnormal => "on-abnormal", OnAbort => "on-abort", OnWatchdog => "on-watchdog",
        Always => "always",
    }
);

keyword_enum!(
    /// `apps.<app>.stop-mode:`
    StopMode {
        Sigterm => "sigterm", SigtermAll => "sigterm-all", Sighup => "sighup",
        SighupAll => "sighup-all", Sigusr1 => "sigusr1", Sigusr1All => "sigusr1-all",
        Sigusr2 => "sigusr2", Sigusr2All => "sigusr2-all", Sigint => "sigint",
        SigintAll => "sigint-all",
    }
);

keyword_enum!(
    /// `apps.<app>.refresh-mode:`
    RefreshMode { Endure => "endure", Restart => "restart", IgnoreRunning => "ignore-running" }
);

keyword_enum!(
    /// `apps.<app>.install-mode:`
    InstallMode { Enable => "enable", Disable => "disable" }
);

keyword_enum!(
    /// `components.<c>.type:`
    ComponentType { Test => "test", Standard => "standard", KernelModules => "kernel-modules" }
);

impl RestartCondition {
    /// The value for systemd's `Restart=`.
    pub fn systemd_value(self) -> &'static str {
        match self {
            RestartCondition::Never => "no",
            other => other.as_str(),
        }
    }
}

impl StopMode {
    /// Whether every process of the service gets the signal, not just the main one.
    pub fn kill_all(self) -> bool {
        self.as_str().ends_with("-all")
    }

    /// The signal name systemd's `KillSignal=` takes (`SIGTERM`, ...).
    pub fn signal(self) -> String {
        self.as_str().trim_end_matches("-all").to_ascii_uppercase()
    }
}

/// A Go-style duration (`10s`, `1m30s`, `250ms`). Kept signed because snapd parses negative
/// values and refuses them later with a more useful message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timeout {
    nanos: i64,
}

impl Timeout {
    pub fn from_nanos(nanos: i64) -> Self {
        Timeout { nanos }
    }
    pub fn nanos(self) -> i64 {
        self.nanos
    }
    pub fn is_negative(self) -> bool {
        self.nanos < 0
    }
    /// `None` for negative values, which validation refuses.
    pub fn as_duration(self) -> Option<Duration> {
        u64::try_from(self.nanos).ok().map(Duration::from_nanos)
    }
}

/// An ordered `KEY: value` map; order matters because later values may refer to earlier ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Environment(pub Vec<(String, String)>);

impl Environment {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// A plug or a slot. `apps` and `hooks` are the result of snapd's binding rule, see
/// [`SnapYaml::plugs`].
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub name: String,
    pub interface: String,
    pub label: Option<String>,
    pub attrs: BTreeMap<String, AttrValue>,
    /// Apps this plug/slot is bound to.
    pub apps: BTreeSet<String>,
    /// Hooks this plug/slot is bound to (component hooks as `component+hook`).
    pub hooks: BTreeSet<String>,
    /// Declared at top level and listed by no app or hook, so bound to all of them.
    pub unscoped: bool,
}

pub type Plug = Endpoint;
pub type Slot = Endpoint;

impl Endpoint {
    pub(crate) fn new(name: &str, interface: &str) -> Self {
        Endpoint {
            name: name.to_owned(),
            interface: interface.to_owned(),
            label: None,
            attrs: BTreeMap::new(),
            apps: BTreeSet::new(),
            hooks: BTreeSet::new(),
            unscoped: false,
        }
    }

    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        self.attrs.get(key)
    }
}

/// `apps.<app>.sockets.<name>`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Socket {
    pub name: String,
    pub listen_stream: String,
    pub socket_mode: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct App {
    pub name: String,
    pub command: Option<String>,
    pub command_chain: Vec<String>,
    pub daemon: Option<DaemonType>,
    /// Always set for daemons (defaulting to system), never for other apps.
    pub daemon_scope: Option<DaemonScope>,
    pub stop_command: Option<String>,
    pub reload_command: Option<String>,
    pub post_stop_command: Option<String>,
    pub stop_timeout: Option<Timeout>,
    pub start_timeout: Option<Timeout>,
    pub watchdog_timeout: Option<Timeout>,
    pub restart_condition: Option<RestartCondition>,
    pub restart_delay: Option<Timeout>,
    /// Extra exit codes (1–255) systemd should count as success.
    pub success_exit_status: Vec<u8>,
    pub completer: Option<String>,
    pub refresh_mode: Option<RefreshMode>,
    pub stop_mode: Option<StopMode>,
    pub install_mode: Option<InstallMode>,
    pub bus_name: Option<String>,
    /// Names of dbus slots that activate this service.
    pub activates_on: Vec<String>,
    pub common_id: Option<String>,
    pub environment: Environment,
    pub sockets: BTreeMap<String, Socket>,
    pub after: Vec<String>,
    pub before: Vec<String>,
    /// The `timer:` schedule, checked against snapd's schedule grammar.
    pub timer: Option<String>,
    pub autostart: Option<String>,
    /// Ignored by snapd (snapcraft moves desktop files to `meta/gui`); kept for reference.
    pub desktop: Option<String>,
    /// Legacy `aliases:`; snapd no longer acts on them but still validates them.
    pub aliases: Vec<String>,
    /// Plugs bound to this app after the binding rule.
    pub plugs: BTreeSet<String>,
    /// Slots bound to this app after the binding rule.
    pub slots: BTreeSet<String>,
}

impl App {
    pub(crate) fn new(name: &str) -> Self {
        App {
            name: name.to_owned(),
            command: None,
            command_chain: Vec::new(),
            daemon: None,
            daemon_scope: None,
            stop_command: None,
            reload_command: None,
            post_stop_command: None,
            stop_timeout: None,
            start_timeout: None,
            watchdog_timeout: None,
            restart_condition: None,
            restart_delay: None,
            success_exit_status: Vec::new(),
            completer: None,
            refresh_mode: None,
            stop_mode: None,
            install_mode: None,
            bus_name: None,
            activates_on: Vec::new(),
            common_id: None,
            environment: Environment::default(),
            sockets: BTreeMap::new(),
            after: Vec::new(),
            before: Vec::new(),
            timer: None,
            autostart: None,
            desktop: None,
            aliases: Vec::new(),
            plugs: BTreeSet::new(),
            slots: BTreeSet::new(),
        }
    }

    pub fn is_service(&self) -> bool {
        self.daemon.is_some()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Hook {
    pub name: String,
    pub command_chain: Vec<String>,
    pub environment: Environment,
    /// Plugs bound to this hook after the binding rule.
    pub plugs: BTreeSet<String>,
    /// Slots bound to this hook after the binding rule.
    pub slots: BTreeSet<String>,
    /// Declared in snap.yaml (as opposed to only present in `meta/hooks/`).
    pub explicit: bool,
}

impl Hook {
    pub(crate) fn new(name: &str, explicit: bool) -> Self {
        Hook {
            name: name.to_owned(),
            command_chain: Vec::new(),
            environment: Environment::default(),
            plugs: BTreeSet::new(),
            slots: BTreeSet::new(),
            explicit,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Component {
    pub name: String,
    /// `None` when the component does not say (snapd accepts that).
    pub component_type: Option<ComponentType>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub hooks: BTreeMap<String, Hook>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SystemUsername {
    pub name: String,
    /// `shared` is the only scope snapd supports today; others are refused at install.
    pub scope: String,
    pub attrs: BTreeMap<String, AttrValue>,
}

/// A parsed and validated `meta/snap.yaml`.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapYaml {
    pub name: String,
    /// Always `Some` once validated: snapd requires a version.
    pub version: Option<String>,
    pub snap_type: SnapType,
    /// `None` means the snap runs on `core`; `none` and `bare` are kept as written.
    pub base: Option<String>,
    /// snapcraft's field, ignored by snapd; kept for reference.
    pub build_base: Option<String>,
    pub confinement: Confinement,
    pub grade: Grade,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub title: Option<String>,
    pub license: Option<String>,
    pub provenance: Option<String>,
    /// `[all]` when absent.
    pub architectures: Vec<String>,
    /// Sorted, as snapd keeps them.
    pub assumes: Vec<String>,
    pub epoch: Epoch,
    pub environment: Environment,
    pub apps: BTreeMap<String, App>,
    pub hooks: BTreeMap<String, Hook>,
    /// Every plug, including the ones apps or hooks declare just by listing them.
    pub plugs: BTreeMap<String, Plug>,
    /// Every slot, including the ones apps or hooks declare just by listing them.
    pub slots: BTreeMap<String, Slot>,
    pub layout: BTreeMap<String, Layout>,
    pub system_usernames: BTreeMap<String, SystemUsername>,
    pub links: BTreeMap<String, Vec<String>>,
    pub components: BTreeMap<String, Component>,
    /// Legacy app aliases: alias → app.
    pub legacy_aliases: BTreeMap<String, String>,
    /// Plugs and slots snapd drops with a warning instead of refusing the snap: name → reason.
    pub bad_interfaces: BTreeMap<String, String>,
    /// Hook entries snapd ignores because no such hook exists.
    pub unsupported_hooks: Vec<String>,
}

impl SnapYaml {
    /// The daemons, by name.
    pub fn services(&self) -> impl Iterator<Item = &App> {
        self.apps.values().filter(|a| a.is_service())
    }

    /// snapd treats an unset base as `core` for most purposes.
    pub fn effective_base(&self) -> &str {
        self.base.as_deref().unwrap_or("core")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_round_trip() {
        for t in SnapType::ALL {
            assert_eq!(SnapType::parse(t.as_str()), Some(*t));
        }
        assert_eq!(SnapType::parse("application"), None);
        assert_eq!(DaemonType::parse("notify"), Some(DaemonType::Notify));
        assert_eq!(RestartCondition::Never.systemd_value(), "no");
        assert_eq!(RestartCondition::Always.systemd_value(), "always");
    }

    #[test]
    fn stop_mode_signals() {
        assert!(StopMode::SighupAll.kill_all());
        assert!(!StopMode::Sighup.kill_all());
        assert_eq!(StopMode::Sigusr1All.signal(), "SIGUSR1");
    }

    #[test]
    fn timeout_conversion() {
        assert_eq!(
            Timeout::from_nanos(1_500_000_000).as_duration(),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(Timeout::from_nanos(-1).as_duration(), None);
    }

    #[test]
    fn environment_lookup_keeps_order() {
        let env = Environment(vec![("B".into(), "1".into()), ("A".into(), "2".into())]);
        assert_eq!(env.keys().collect::<Vec<_>>(), ["B", "A"]);
        assert_eq!(env.get("A"), Some("2"));
        assert_eq!(env.get("C"), None);
    }
}
