//! The interfaces this system knows, with the facts of snapd's base declaration that decide
//! where their slots may be, whether they auto-connect and whether installing a plug of them
//! needs a store grant.

/// The snap that holds the implicit system slots. The REST API also accepts `core` and
/// `system` for it ([`is_system_snap`]).
pub const SYSTEM_SNAP: &str = "snapd";

/// Whether `name` designates the system snap: `snapd`, or the names snapd maps onto it
/// (`core`, `system`).
pub fn is_system_snap(name: &str) -> bool {
    matches!(name, "snapd" | "core" | "system")
}

/// When a plug auto-connects, as the base declaration decides it (policy that snap
/// declarations from a store could change is not modelled: every snap here is local).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AutoConnect {
    /// Whenever exactly one candidate slot passes.
    Always,
    /// Only by `snap connect` (or a gadget's `connections:`).
    Never,
    /// Only on classic systems (`home`, `x11`, `wayland`).
    ClassicOnly,
    /// The content interface: to a slot of a snap of the same publisher whose `content`
    /// label matches the plug's.
    SamePublisherContent,
}

/// One interface of the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct InterfaceDef {
    pub name: &'static str,
    pub summary: &'static str,
    /// Whether [`SYSTEM_SNAP`] has an implicit slot of this interface (snapd's
    /// `implicitOnClassic`; this system always runs as a classic one).
    pub system_slot: bool,
    pub auto_connect: AutoConnect,
    /// Installing a snap with a plug of this interface needs a store grant (`allow-installation:
    /// false` for plugs in the base declaration), so only `--dangerous` installs it.
    pub super_privileged: bool,
}

const fn def(
    name: &'static str,
    summary: &'static str,
    system_slot: bool,
    auto_connect: AutoConnect,
    super_privileged: bool,
) -> InterfaceDef {
    InterfaceDef {
        name,
        summary,
        system_slot,
        auto_connect,
        super_privileged,
    }
}

use AutoConnect::{Always, ClassicOnly, Never, SamePublisherContent};

/// Sorted by name.
static CATALOGUE: &[InterfaceDef] = &[
    def(
        "alsa",
        "allows access to raw ALSA devices",
        true,
        Never,
        false,
    ),
    def(
        "audio-playback",
        "allows audio playback via supporting services",
        true,
        Always,
        false,
    ),
    def(
        "audio-record",
        "allows audio recording via supporting services",
        true,
        Never,
        false,
    ),
    def(
        "block-devices",
        "allows access to disk block devices",
        true,
        Never,
        true,
    ),
    def("camera", "allows access to all cameras", true, Never, false),
    def(
        "content",
        "allows sharing code and data with other snaps",
        false,
        SamePublisherContent,
        false,
    ),
    def(
        "dbus",
        "allows owning a specific name on DBus",
        false,
        Never,
        false,
    ),
    def(
        "desktop",
        "allows access to basic graphical desktop resources",
        true,
        Always,
        false,
    ),
    def(
        "gpg-keys",
        "allows reading gpg user configuration and keys and updating gpg's random seed file",
        true,
        Never,
        false,
    ),
    def(
        "gpio",
        "allows access to specific GPIO pin",
        false,
        Never,
        false,
    ),
    def(
        "hardware-observe",
        "allows reading information about system hardware",
        true,
        Never,
        false,
    ),
    def(
        "hidraw",
        "allows access to specific hidraw device",
        false,
        Never,
        false,
    ),
    def(
        "home",
        "allows access to non-hidden files in the home directory",
        true,
        ClassicOnly,
        false,
    ),
    def(
        "i2c",
        "allows access to specific I2C controller",
        false,
        Never,
        false,
    ),
    def(
        "joystick",
        "allows access to joystick devices",
        true,
        Never,
        false,
    ),
    def("kvm", "allows access to the kvm device", true, Never, false),
    def(
        "log-observe",
        "allows read access to system logs",
        true,
        Never,
        false,
    ),
    def(
        "mount-observe",
        "allows reading mount table and quota information",
        true,
        Never,
        false,
    ),
    def(
        "network",
        "allows access to the network",
        true,
        Always,
        false,
    ),
    def(
        "network-bind",
        "allows operating as a network service",
        true,
        Always,
        false,
    ),
    def(
        "network-control",
        "allows configuring networking and network namespaces",
        true,
        Never,
        false,
    ),
    def(
        "network-observe",
        "allows querying network status",
        true,
        Never,
        false,
    ),
    def(
        "opengl",
        "allows access to OpenGL stack",
        true,
        Always,
        false,
    ),
    def(
        "optical-drive",
        "allows access to optical drives",
        true,
        Always,
        false,
    ),
    def(
        "personal-files",
        "allows access to personal files or directories",
        true,
        Never,
        true,
    ),
    def(
        "process-control",
        "allows controlling other processes",
        true,
        Never,
        false,
    ),
    def(
        "raw-usb",
        "allows raw access to all USB devices",
        true,
        Never,
        false,
    ),
    def(
        "removable-media",
        "allows access to mounted removable storage",
        true,
        Never,
        false,
    ),
    def(
        "serial-port",
        "allows accessing a specific serial port",
        false,
        Never,
        false,
    ),
    def(
        "shutdown",
        "allows shutting down or rebooting the system",
        true,
        Never,
        true,
    ),
    def(
        "snapd-control",
        "allows communicating with snapd",
        true,
        Never,
        true,
    ),
    def(
        "spi",
        "allows access to specific spi controller",
        false,
        Never,
        false,
    ),
    def(
        "ssh-keys",
        "allows reading ssh user configuration and keys",
        true,
        Never,
        false,
    ),
    def(
        "system-files",
        "allows access to system files or directories",
        true,
        Never,
        true,
    ),
    def(
        "system-observe",
        "allows observing all processes and drivers",
        true,
        Never,
        false,
    ),
    def(
        "time-control",
        "allows setting system date and time",
        true,
        Never,
        false,
    ),
    def(
        "tpm",
        "allows access to the Trusted Platform Module device",
        true,
        Never,
        false,
    ),
    def(
        "wayland",
        "allows access to compositors supporting wayland protocol",
        true,
        ClassicOnly,
        false,
    ),
    def(
        "x11",
        "allows interacting with or running as an X11 server",
        true,
        ClassicOnly,
        false,
    ),
];

/// Every interface this system knows, sorted by name.
pub fn catalogue() -> &'static [InterfaceDef] {
    CATALOGUE
}

/// The interface called `name`.
pub fn lookup(name: &str) -> Option<&'static InterfaceDef> {
    CATALOGUE
        .binary_search_by(|d| d.name.cmp(name))
        .ok()
        .map(|i| &CATALOGUE[i])
}

/// Whether `name` is an interface of the catalogue (for
/// `snap_core::parse_snap_yaml_with_interfaces`).
pub fn is_known_interface(name: &str) -> bool {
    lookup(name).is_some()
}

/// The snap types whose snaps may declare a slot of `interface` without a store grant
/// (the base declaration's `allow-installation: slot-snap-type`): `core` stands for the
/// system snap (and `snapd`, `os`), `app`, `gadget`, `kernel` for those types. Installing
/// an app snap with, say, a `network` slot needs a store grant (or `--dangerous`), and its
/// slot then competes with the system one for auto-connection, as in snapd.
pub fn slot_snap_types(interface: &str) -> &'static [&'static str] {
    match interface {
        "content" => &["app", "gadget", "kernel"],
        "dbus" => &["app"],
        "audio-playback" | "audio-record" | "x11" | "wayland" => &["app", "core"],
        "serial-port" | "gpio" | "i2c" | "spi" | "hidraw" => &["core", "gadget"],
        // desktop: app slots are allowed and then denied (`deny-installation: app`).
        _ if lookup(interface).is_some() => &["core"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_and_found() {
        for w in CATALOGUE.windows(2) {
            assert!(w[0].name < w[1].name, "{} {}", w[0].name, w[1].name);
        }
        for d in CATALOGUE {
            assert_eq!(lookup(d.name), Some(d));
            assert!(d.summary.starts_with("allows "), "{}", d.name);
            assert!(snap_core::naming::validate_interface_name(d.name).is_ok());
        }
        assert_eq!(lookup("nope"), None);
        assert!(is_known_interface("network") && !is_known_interface("netwrk"));
    }

    #[test]
    fn the_interfaces_asked_for_are_all_there() {
        for name in [
            "network",
            "network-bind",
            "network-observe",
            "network-control",
            "home",
            "removable-media",
            "personal-files",
            "system-files",
            "content",
            "camera",
            "audio-playback",
            "opengl",
            "x11",
            "wayland",
            "desktop",
            "system-observe",
            "hardware-observe",
            "log-observe",
            "mount-observe",
            "process-control",
            "shutdown",
            "serial-port",
            "gpio",
            "i2c",
            "spi",
            "hidraw",
            "raw-usb",
            "kvm",
            "block-devices",
            "time-control",
            "snapd-control",
            "dbus",
        ] {
            assert!(lookup(name).is_some(), "{name}");
        }
    }

    #[test]
    fn base_declaration_facts() {
        let super_privileged: Vec<&str> = CATALOGUE
            .iter()
            .filter(|d| d.super_privileged)
            .map(|d| d.name)
            .collect();
        assert_eq!(
            super_privileged,
            [
                "block-devices",
                "personal-files",
                "shutdown",
                "snapd-control",
                "system-files"
            ]
        );
        let always: Vec<&str> = CATALOGUE
            .iter()
            .filter(|d| d.auto_connect == AutoConnect::Always)
            .map(|d| d.name)
            .collect();
        assert_eq!(
            always,
            [
                "audio-playback",
                "desktop",
                "network",
                "network-bind",
                "opengl",
                "optical-drive"
            ]
        );
        for name in ["home", "x11", "wayland"] {
            assert_eq!(lookup(name).unwrap().auto_connect, AutoConnect::ClassicOnly);
        }
        // Slots that only gadgets or app snaps provide.
        for name in [
            "content",
            "dbus",
            "serial-port",
            "gpio",
            "i2c",
            "spi",
            "hidraw",
        ] {
            assert!(!lookup(name).unwrap().system_slot, "{name}");
        }
        assert!(lookup("kvm").unwrap().system_slot && !lookup("kvm").unwrap().super_privileged);
        assert_eq!(slot_snap_types("network"), ["core"]);
        assert_eq!(slot_snap_types("serial-port"), ["core", "gadget"]);
        assert!(slot_snap_types("nope").is_empty());
        assert!(is_system_snap("core") && is_system_snap("system") && is_system_snap(SYSTEM_SNAP));
        assert!(!is_system_snap("core22"));
    }
}
