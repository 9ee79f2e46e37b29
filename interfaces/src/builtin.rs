//! What each interface grants, in this sandbox's terms: landlock path rules (device nodes with
//! [`Access::Device`]), TCP rights, landlock scopes, seccomp syscalls and argument rules,
//! capabilities, bind mounts and environment variables. [`grants_for`] gathers them for one
//! app or hook from the connections of its snap.
//!
//! Landlock rules attach to files that exist when the app starts (the launcher skips missing
//! paths) and cover whole trees; there are no globs. Where snapd matches a family of device
//! nodes with a pattern (`/dev/video[0-9]*`), the nodes are listed one by one up to a bound.

use std::collections::BTreeMap;

use snap_core::SnapYaml;

use crate::catalogue::{is_system_snap, lookup};
use crate::checks::{content_paths, dbus_attrs, slot_path};
use crate::ends::{Connection, PlugEnd, SlotEnd, plugs_of_instance, slots_of_instance};
use crate::grants::Grants;
use crate::profile::{Access, ArgCond, ArgRule, MountEntry, PathRule};
use crate::seccomp::consts::*;

fn rule(path: impl Into<String>, access: Access) -> PathRule {
    PathRule {
        path: path.into(),
        access,
    }
}

fn rules<S: AsRef<str>>(access: Access, paths: impl IntoIterator<Item = S>) -> Vec<PathRule> {
    paths
        .into_iter()
        .map(|p| rule(p.as_ref(), access))
        .collect()
}

/// `prefix0` … `prefix{n-1}`.
fn numbered(prefix: &str, n: u32) -> impl Iterator<Item = String> + '_ {
    (0..n).map(move |i| format!("{prefix}{i}"))
}

fn syscalls(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn caps(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn socket_rule(conds: Vec<ArgCond>) -> ArgRule {
    ArgRule::all("socket", conds).expect("conditions")
}

/// `socket(AF_NETLINK, *, protocol)`.
fn netlink(protocol: u32) -> ArgRule {
    socket_rule(vec![
        ArgCond::u32(0, "eq", AF_NETLINK),
        ArgCond::u32(2, "eq", protocol),
    ])
}

/// `socket(family, type, *)`, the type without its flags.
fn socket_of_type(family: u32, ty: u32) -> ArgRule {
    socket_rule(vec![
        ArgCond::u32(0, "eq", family),
        ArgCond::u32(1, &format!("masked-eq:{SOCK_TYPE_MASK:#x}"), ty),
    ])
}

/// `socket(family, type, protocol)`.
fn socket_of_protocol(family: u32, ty: u32, protocol: u32) -> ArgRule {
    socket_rule(vec![
        ArgCond::u32(0, "eq", family),
        ArgCond::u32(1, &format!("masked-eq:{SOCK_TYPE_MASK:#x}"), ty),
        ArgCond::u32(2, "eq", protocol),
    ])
}

/// `socket(family, *, *)`.
fn socket_family(family: u32) -> ArgRule {
    socket_rule(vec![ArgCond::u32(0, "eq", family)])
}

/// The D-Bus system bus socket. Connecting to it is the whole grant: the bus itself is not
/// mediated here (no AppArmor D-Bus rules, no filtering proxy yet).
const SYSTEM_BUS: &str = "/run/dbus/system_bus_socket";
/// The user's session bus socket (systemd's default address).
const SESSION_BUS: &str = "/run/user/$UID/bus";

/// The udev database entries of character devices `major:0` … `major:{n-1}`.
fn udev_data(major: u32, n: u32) -> Vec<String> {
    (0..n)
        .map(|i| format!("/run/udev/data/c{major}:{i}"))
        .collect()
}

/// Block device nodes `block-devices` grants: whole disks and their first 15 partitions.
fn block_device_nodes() -> Vec<String> {
    let mut out = Vec::new();
    let parts = |disk: String, sep: &str, out: &mut Vec<String>| {
        out.push(disk.clone());
        out.extend((1..=15).map(|p| format!("{disk}{sep}{p}")));
    };
    for letter in 'a'..='z' {
        parts(format!("/dev/sd{letter}"), "", &mut out);
        parts(format!("/dev/vd{letter}"), "", &mut out);
    }
    for i in 0..8 {
        out.push(format!("/dev/nvme{i}"));
        parts(format!("/dev/nvme{i}n1"), "p", &mut out);
        parts(format!("/dev/mmcblk{i}"), "p", &mut out);
    }
    out.extend(numbered("/dev/loop", 64));
    out.push("/dev/loop-control".into());
    out
}

/// A content path of `snap` as seen from another snap's sandbox: `$SNAP` is the snap's
/// current revision (`/snap/NAME/current`), `$SNAP_DATA` its current data, `$SNAP_COMMON` its
/// common data; a path without a variable is under `$SNAP`.
fn other_snap_path(path: &str, snap: &str) -> String {
    for (var, dir) in [
        ("$SNAP_DATA", format!("/var/snap/{snap}/current")),
        ("$SNAP_COMMON", format!("/var/snap/{snap}/common")),
        ("$SNAP", format!("/snap/{snap}/current")),
    ] {
        if let Some(rest) = path.strip_prefix(var)
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return crate::checks::clean(&format!("{dir}{rest}"));
        }
    }
    crate::checks::clean(&format!("/snap/{snap}/current/{path}"))
}

/// A content target of the plug's own snap, kept as `$SNAP...` for the profile composition to
/// spell out with the revision; a path without a variable is under `$SNAP`.
fn own_snap_path(path: &str) -> String {
    for var in ["$SNAP_DATA", "$SNAP_COMMON", "$SNAP"] {
        if let Some(rest) = path.strip_prefix(var)
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return path.to_owned();
        }
    }
    crate::checks::clean(&format!("$SNAP/{path}"))
}

/// The content mounts of a connection: each slot `read` path read-only and each `write` path
/// read-write onto the plug's `target` (with a `source:` section, onto `target/BASENAME`).
fn content_mounts(plug: &PlugEnd, slot: &SlotEnd) -> Vec<MountEntry> {
    let Some(target) = plug.attr_str("target") else {
        return Vec::new();
    };
    let target = own_snap_path(target);
    let has_source = slot.attrs.contains_key("source");
    let mut out = Vec::new();
    for (which, read_only) in [("read", true), ("write", false)] {
        for path in content_paths(&slot.attrs, which) {
            let source = other_snap_path(&path, &slot.snap);
            let target = if has_source {
                let base = source.rsplit('/').next().unwrap_or_default();
                format!("{target}/{base}")
            } else {
                target.clone()
            };
            out.push(MountEntry {
                source,
                target,
                read_only,
            });
        }
    }
    out
}

/// snapd's unclashing of mount points: entries onto the same target from the same source are
/// merged (read-write wins), others get `-2`, `-3`, … appended to their target.
fn unclash(entries: Vec<MountEntry>) -> Vec<MountEntry> {
    let mut out: Vec<MountEntry> = Vec::new();
    let mut count: BTreeMap<String, (usize, u32)> = BTreeMap::new();
    for mut e in entries {
        match count.get_mut(&e.target) {
            None => {
                count.insert(e.target.clone(), (out.len(), 1));
                out.push(e);
            }
            Some((first, n)) => {
                if out[*first].source == e.source {
                    out[*first].read_only &= e.read_only;
                } else {
                    *n += 1;
                    e.target = format!("{}-{n}", e.target);
                    out.push(e);
                }
            }
        }
    }
    out
}

/// The sockets of the sound server the plug reaches through `slot`: the user's PulseAudio
/// and PipeWire sockets for the system slot, the server snap's own runtime directory for a
/// slot of an app snap.
fn audio_grants(slot: &SlotEnd) -> Grants {
    let (pulse, pipewire_dir) = if is_system_snap(&slot.snap) {
        (
            "/run/user/$UID/pulse/native".to_owned(),
            "/run/user/$UID".to_owned(),
        )
    } else {
        let dir = format!("/run/user/$UID/snap.{}", slot.snap);
        (format!("{dir}/pulse/native"), dir)
    };
    Grants {
        paths: [
            rule(&pulse, Access::ReadWrite),
            rule(format!("{pipewire_dir}/pipewire-0"), Access::ReadWrite),
            rule("/etc/pulse", Access::Read),
            rule("/etc/alsa", Access::Read),
            rule("$HOME/.config/pulse/cookie", Access::Read),
        ]
        .into(),
        environment: vec![
            ("PULSE_SERVER".into(), format!("unix:{pulse}")),
            ("PIPEWIRE_RUNTIME_DIR".into(), pipewire_dir),
        ],
        ..Grants::none()
    }
}

/// What the plug side of a connection of `plug` to `slot` gets (content mounts excepted: see
/// [`grants_for`]). Assumes [`crate::check_connection`] passed.
pub fn plug_grants(plug: &PlugEnd, slot: &SlotEnd) -> Grants {
    use Access::{Device, Full, Read, ReadExec, ReadWrite};
    let none = Grants::none;
    match plug.interface.as_str() {
        "network" => Grants::network(),
        "network-bind" => Grants::network_bind_any(),
        "network-observe" => Grants {
            paths: rules(
                Read,
                [
                    "/etc/iproute2",
                    "/etc/networks",
                    "/etc/ethers",
                    "/etc/rpc",
                    "/etc/protocols",
                    "/etc/services",
                    "/run/systemd/resolve/stub-resolv.conf",
                ],
            ),
            syscall_rules: vec![
                netlink(NETLINK_ROUTE),
                netlink(NETLINK_SOCK_DIAG),
                netlink(NETLINK_GENERIC),
                netlink(NETLINK_KOBJECT_UEVENT),
                // ping: raw ICMP (with net_raw) or ICMP datagram sockets.
                socket_of_type(AF_INET, SOCK_RAW),
                socket_of_type(AF_INET6, SOCK_RAW),
                socket_of_protocol(AF_INET, SOCK_DGRAM, IPPROTO_ICMP),
                socket_of_protocol(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6),
            ],
            capabilities: caps(&["net_raw"]),
            ..none()
        },
        "network-control" => Grants {
            paths: [
                rules(
                    ReadWrite,
                    ["/proc/sys/net", "/run/netns", "/run/xtables.lock"],
                ),
                rules(
                    Read,
                    [
                        "/etc/iproute2",
                        "/etc/networks",
                        "/etc/protocols",
                        "/etc/services",
                        "/run/systemd/netif",
                        "/run/systemd/resolve/stub-resolv.conf",
                        "/run/udev/data",
                    ],
                ),
                vec![rule("/dev/net/tun", Device)],
            ]
            .concat(),
            syscall_rules: vec![
                socket_family(AF_INET),
                socket_family(AF_INET6),
                socket_family(AF_PACKET),
                socket_family(AF_NETLINK),
            ],
            capabilities: caps(&["net_admin", "net_raw", "net_broadcast"]),
            ..none()
        },
        "home" => {
            let mut g = Grants {
                paths: rules(
                    ReadWrite,
                    [
                        "Desktop",
                        "Documents",
                        "Downloads",
                        "Music",
                        "Pictures",
                        "Public",
                        "Templates",
                        "Videos",
                    ]
                    .iter()
                    .map(|d| format!("$HOME/{d}")),
                ),
                ..none()
            };
            if plug.attr_str("read") == Some("all") {
                g.paths.push(rule("/home", Read));
                g.capabilities = caps(&["dac_read_search"]);
            }
            g
        }
        "removable-media" => Grants {
            paths: rules(Full, ["/media", "/run/media", "/mnt"]),
            ..none()
        },
        "personal-files" | "system-files" => {
            let list = |key: &str| -> Vec<String> {
                plug.attrs
                    .get(key)
                    .and_then(|v| v.as_array())
                    .map(|l| {
                        l.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let mut paths = rules(Read, list("read"));
            paths.extend(rules(ReadWrite, list("write")));
            Grants { paths, ..none() }
        }
        "content" => none(),
        "camera" => Grants {
            paths: [
                rules(Device, numbered("/dev/video", 64)),
                vec![rule("/dev/vchiq", Device)],
                rules(Read, udev_data(81, 64)),
            ]
            .concat(),
            ..none()
        },
        "audio-playback" | "audio-record" => audio_grants(slot),
        "alsa" => Grants {
            paths: [
                vec![
                    rule("/dev/snd", Device),
                    rule("/dev/snd", Read),
                    rule("/var/lib/alsa", Read),
                    rule("/etc/alsa", Read),
                ],
                rules(Read, udev_data(116, 64)),
            ]
            .concat(),
            ..none()
        },
        "opengl" => Grants {
            paths: [
                vec![rule("/dev/dri", Device), rule("/dev/dri", Read)],
                rules(Device, numbered("/dev/nvidia", 16)),
                rules(
                    Device,
                    [
                        "/dev/nvidiactl",
                        "/dev/nvidia-uvm",
                        "/dev/nvidia-uvm-tools",
                        "/dev/nvidia-modeset",
                        "/dev/vchiq",
                        "/dev/vcsm-cma",
                        "/dev/mali0",
                    ],
                ),
                rules(
                    ReadExec,
                    [
                        "/var/lib/snapd/lib/gl",
                        "/var/lib/snapd/lib/gl32",
                        "/var/lib/snapd/lib/vulkan",
                        "/var/lib/snapd/lib/glvnd",
                    ],
                ),
                rules(Read, ["/etc/glvnd", "/etc/drirc", "/etc/vdpau_wrapper.cfg"]),
                rules(Read, udev_data(226, 16)),
                rules(Read, (128..144).map(|i| format!("/run/udev/data/c226:{i}"))),
            ]
            .concat(),
            ..none()
        },
        "x11" => Grants {
            paths: rules(Read, ["$HOME/.Xauthority", "/run/user/$UID/gdm/Xauthority"]),
            syscall_rules: vec![netlink(NETLINK_KOBJECT_UEVENT)],
            unscoped_abstract_unix: true,
            ..none()
        },
        "wayland" => {
            let socket = if is_system_snap(&slot.snap) {
                "/run/user/$UID/wayland-0".to_owned()
            } else {
                format!("/run/user/$UID/snap.{}/wayland-0", slot.snap)
            };
            Grants {
                paths: vec![rule(&socket, ReadWrite)],
                environment: vec![("WAYLAND_DISPLAY".into(), socket)],
                ..none()
            }
        }
        "desktop" => Grants {
            paths: [
                rules(
                    ReadWrite,
                    [SESSION_BUS, "/run/user/$UID/at-spi", "/run/user/$UID/doc"],
                ),
                rules(
                    Read,
                    [
                        "/etc/fonts",
                        "/var/cache/fontconfig",
                        "/etc/gtk-2.0",
                        "/etc/gtk-3.0",
                        "/etc/xdg",
                        "/var/lib/snapd/desktop",
                        "$HOME/.fonts",
                        "$HOME/.local/share/fonts",
                        "$HOME/.config/fontconfig",
                        "$HOME/.cache/fontconfig",
                        "$HOME/.config/gtk-3.0",
                        "$HOME/.config/gtk-4.0",
                        "$HOME/.config/user-dirs.dirs",
                        "$HOME/.config/mimeapps.list",
                        "$HOME/.themes",
                        "$HOME/.icons",
                        "$HOME/.local/share/themes",
                        "$HOME/.local/share/icons",
                    ],
                ),
            ]
            .concat(),
            ..none()
        },
        "system-observe" => Grants {
            paths: [
                rules(
                    Read,
                    [
                        "/boot",
                        "/var/lib/snapd/hostfs/etc/os-release",
                        "/var/lib/snapd/hostfs/usr/lib/os-release",
                    ],
                ),
                vec![rule(SYSTEM_BUS, ReadWrite)],
            ]
            .concat(),
            syscalls: syscalls(&["lsm_get_self_attr"]),
            ..none()
        },
        "hardware-observe" => Grants {
            paths: rules(
                Read,
                [
                    "/run/udev/data",
                    "/etc/modprobe.d",
                    "/etc/sensors3.conf",
                    "/etc/sensors.d",
                    "/var/lib/usbutils",
                    "/dev/bus/usb",
                    "/run/systemd/container",
                ],
            ),
            syscall_rules: vec![netlink(NETLINK_GENERIC), netlink(NETLINK_KOBJECT_UEVENT)],
            syscalls: syscalls(&["riscv_hwprobe"]),
            capabilities: caps(&["sys_rawio"]),
            ..none()
        },
        "log-observe" => Grants {
            paths: rules(
                Read,
                [
                    "/var/log",
                    "/run/log/journal",
                    "/dev/kmsg",
                    "/var/lib/systemd/catalog",
                ],
            ),
            capabilities: caps(&["dac_read_search", "dac_override"]),
            ..none()
        },
        "mount-observe" => Grants {
            paths: rules(Read, ["/etc/fstab", "/etc/mtab", "/run/mount/utab"]),
            syscall_rules: [Q_GETQUOTA, Q_GETINFO, Q_GETFMT, Q_XGETQUOTA, Q_XGETQSTAT]
                .iter()
                .map(|cmd| {
                    // QCMD(cmd, type): the command above the low 8 bits of the quota type.
                    ArgRule::all(
                        "quotactl",
                        vec![ArgCond::u32(0, "masked-eq:0xffffff00", cmd << 8)],
                    )
                    .expect("condition")
                })
                .collect(),
            syscalls: syscalls(&["listmount", "statmount"]),
            ..none()
        },
        "process-control" => Grants {
            syscalls: syscalls(&[
                "nice",
                "setpriority",
                "sched_setaffinity",
                "sched_setattr",
                "sched_setparam",
                "sched_setscheduler",
            ]),
            capabilities: caps(&["kill", "sys_nice", "sys_resource"]),
            unscoped_signals: true,
            ..none()
        },
        "shutdown" => Grants {
            paths: vec![rule(SYSTEM_BUS, ReadWrite)],
            ..none()
        },
        "serial-port" | "hidraw" | "spi" => match slot_path(&slot.attrs) {
            Some(path) => Grants {
                paths: vec![rule(path, Device)],
                ..none()
            },
            None => none(),
        },
        "i2c" => {
            if let Some(name) = slot.attr_str("sysfs-name").filter(|n| !n.is_empty()) {
                Grants {
                    paths: vec![rule(format!("/sys/bus/i2c/devices/{name}"), ReadWrite)],
                    ..none()
                }
            } else if let Some(path) = slot_path(&slot.attrs) {
                Grants {
                    paths: vec![rule(path, Device)],
                    ..none()
                }
            } else {
                none()
            }
        }
        "gpio" => match slot.attrs.get("number").and_then(|v| v.as_i64()) {
            // A symlink into /sys/devices: the launcher's rule attaches to its target.
            Some(n) => Grants {
                paths: vec![rule(format!("/sys/class/gpio/gpio{n}"), ReadWrite)],
                ..none()
            },
            None => none(),
        },
        "raw-usb" => Grants {
            paths: [
                vec![
                    rule("/dev/bus/usb", Device),
                    rule("/dev/bus/usb", Read),
                    rule("/run/udev/data", Read),
                ],
                rules(Device, numbered("/dev/ttyUSB", 32)),
                rules(Device, numbered("/dev/ttyACM", 32)),
                rules(Device, numbered("/dev/usb/lp", 16)),
            ]
            .concat(),
            syscall_rules: vec![netlink(NETLINK_KOBJECT_UEVENT)],
            ..none()
        },
        "kvm" => Grants {
            paths: vec![rule("/dev/kvm", Device)],
            ..none()
        },
        "block-devices" => Grants {
            paths: [
                rules(Device, block_device_nodes()),
                rules(Read, ["/run/udev/data", "/etc/hostid"]),
            ]
            .concat(),
            capabilities: caps(&["sys_rawio", "sys_admin"]),
            ..none()
        },
        "time-control" => Grants {
            paths: [
                vec![rule("/dev/rtc", Device), rule(SYSTEM_BUS, ReadWrite)],
                rules(Device, numbered("/dev/rtc", 4)),
            ]
            .concat(),
            syscalls: syscalls(&[
                "settimeofday",
                "adjtimex",
                "clock_adjtime",
                "clock_adjtime64",
                "clock_settime",
                "clock_settime64",
            ]),
            capabilities: caps(&["sys_time"]),
            ..none()
        },
        "snapd-control" => Grants {
            paths: vec![rule("/run/snapd.socket", ReadWrite)],
            ..none()
        },
        "dbus" => match dbus_attrs(&plug.attrs) {
            Ok((bus, _)) => bus_grants(&bus),
            Err(_) => none(),
        },
        "joystick" => Grants {
            paths: [
                rules(Device, numbered("/dev/input/js", 32)),
                rules(Read, udev_data(13, 32)),
            ]
            .concat(),
            ..none()
        },
        "tpm" => Grants {
            paths: [
                rules(Device, numbered("/dev/tpm", 4)),
                rules(Device, numbered("/dev/tpmrm", 4)),
            ]
            .concat(),
            ..none()
        },
        "optical-drive" => {
            let access = if plug.attrs.get("write") == Some(&serde_json::Value::Bool(true)) {
                Device
            } else {
                Read
            };
            Grants {
                paths: [
                    rules(access, numbered("/dev/sr", 8)),
                    rules(access, numbered("/dev/scd", 8)),
                ]
                .concat(),
                ..none()
            }
        }
        "ssh-keys" => Grants {
            paths: rules(
                Read,
                ["$HOME/.ssh", "/etc/ssh/ssh_config", "/etc/ssh/ssh_config.d"],
            ),
            ..none()
        },
        "gpg-keys" => Grants {
            paths: vec![
                rule("$HOME/.gnupg", Read),
                rule("$HOME/.gnupg/random_seed", ReadWrite),
                rule("/run/user/$UID/gnupg", ReadWrite),
            ],
            ..none()
        },
        _ => none(),
    }
}

/// The bus socket of a D-Bus `bus` attribute.
fn bus_grants(bus: &str) -> Grants {
    let socket = if bus == "system" {
        SYSTEM_BUS
    } else {
        SESSION_BUS
    };
    Grants {
        paths: vec![rule(socket, Access::ReadWrite)],
        ..Grants::none()
    }
}

/// What the slot side of a connection gets beyond [`permanent_slot_grants`]: nothing for the
/// interfaces of the catalogue (snapd's connected-slot rules are about AppArmor peer labels
/// and D-Bus, which have no counterpart here).
pub fn slot_grants(_plug: &PlugEnd, _slot: &SlotEnd) -> Grants {
    Grants::none()
}

/// What an app or hook gets for providing `slot` (snapd's permanent slot snippets), whether
/// or not anything is connected: serving X11, Wayland, sound, or a D-Bus name. Slots of the
/// system snap are not confined apps and get nothing.
pub fn permanent_slot_grants(slot: &SlotEnd) -> Grants {
    if is_system_snap(&slot.snap) {
        return Grants::none();
    }
    let server = || Grants {
        syscalls: syscalls(&["listen", "accept", "accept4"]),
        syscall_rules: vec![netlink(NETLINK_KOBJECT_UEVENT)],
        ..Grants::none()
    };
    match slot.interface.as_str() {
        "x11" | "wayland" => server(),
        "audio-playback" | "audio-record" => {
            let mut g = server();
            g.syscalls.extend(syscalls(&["setpriority", "personality"]));
            g
        }
        "dbus" => match dbus_attrs(&slot.attrs) {
            Ok((bus, _)) => {
                let mut g = bus_grants(&bus);
                g.syscalls = syscalls(&["listen", "accept", "accept4"]);
                g
            }
            Err(_) => Grants::none(),
        },
        _ => Grants::none(),
    }
}

/// What the connections give `label` (an app name, or `hook.NAME`) of `snap`: the plug-side
/// grants of every connection whose plug is bound to it, the slot-side grants of every
/// connection whose slot is bound to it, and the permanent grants of the slots bound to it
/// (see [`permanent_slot_grants`]). Binding and the attributes of the snap's own ends come
/// from `snap` (the revision being set up), the other end's from the connection.
/// `$HOME` and `$UID` in the result are the profile's placeholders, `$SNAP...` the app's own
/// directories (spelled out by the profile composition).
pub fn grants_for(snap: &SnapYaml, label: &str, connections: &[Connection]) -> Grants {
    grants_for_instance(snap, &snap.name, label, connections)
}

/// [`grants_for`] for the instance `instance` (`foo_bar`) of `snap`.
pub fn grants_for_instance(
    snap: &SnapYaml,
    instance: &str,
    label: &str,
    connections: &[Connection],
) -> Grants {
    let own_plugs = plugs_of_instance(snap, instance);
    let own_slots = slots_of_instance(snap, instance);
    let bound_plug = |name: &str, iface: &str| {
        own_plugs
            .iter()
            .find(|p| p.plug == name && p.interface == iface && p.apps.iter().any(|a| a == label))
    };
    let bound_slot = |name: &str, iface: &str| {
        own_slots
            .iter()
            .find(|s| s.slot == name && s.interface == iface && s.apps.iter().any(|a| a == label))
    };

    let mut sorted: Vec<&Connection> = connections
        .iter()
        .filter(|c| c.plug.interface == c.slot.interface && lookup(&c.plug.interface).is_some())
        .collect();
    sorted.sort_by(|a, b| {
        (&a.plug.snap, &a.plug.plug, &a.slot.snap, &a.slot.slot).cmp(&(
            &b.plug.snap,
            &b.plug.plug,
            &b.slot.snap,
            &b.slot.slot,
        ))
    });

    let mut grants = Grants::none();
    let mut mounts = Vec::new();
    for c in sorted {
        if c.plug.snap == instance
            && let Some(plug) = bound_plug(&c.plug.plug, &c.plug.interface)
        {
            grants.merge(plug_grants(plug, &c.slot));
            if plug.interface == "content" {
                mounts.extend(content_mounts(plug, &c.slot));
            }
        }
        if c.slot.snap == instance
            && let Some(slot) = bound_slot(&c.slot.slot, &c.slot.interface)
        {
            grants.merge(slot_grants(&c.plug, slot));
        }
    }
    for slot in own_slots
        .iter()
        .filter(|s| s.apps.iter().any(|a| a == label))
    {
        grants.merge(permanent_slot_grants(slot));
    }
    // Content: the mounts, and the same rights on what appears at each target (read-only
    // content may hold programs and libraries; writable content is the plug's as much as
    // its own data is).
    for m in unclash(mounts) {
        let access = if m.read_only {
            Access::ReadExec
        } else {
            Access::Full
        };
        grants.paths.push(rule(&m.target, access));
        grants.mounts.push(m);
    }
    grants
}

#[cfg(test)]
mod tests;
