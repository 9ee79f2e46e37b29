//! What connected interfaces add to the default sandbox. [`crate::grants_for`] builds one
//! [`Grants`] per connection end bound to an app or hook and merges them; plugs listed in
//! snap.yaml grant nothing by themselves.
//!
//! Paths (of rules and mounts) may start with `$SNAP`, `$SNAP_DATA` or `$SNAP_COMMON`: the
//! app's own directories, expanded when the profile is composed (the revision is known
//! there), and may use the launcher's `$HOME` and `$UID` placeholders.

use crate::profile::{Access, ArgCond, ArgRule, MountEntry, PathRule};
use crate::seccomp::consts::{
    AF_INET, AF_INET6, AF_NETLINK, NETLINK_ROUTE, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM,
    SOCK_TYPE_MASK,
};

/// Additions to an app's profile. Everything here only ever widens what the app may do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    /// More landlock path rules (paths inside the sandbox; `$HOME` and `$UID` allowed).
    pub paths: Vec<PathRule>,
    /// TCP ports the app may bind.
    pub tcp_bind: Vec<u16>,
    /// TCP ports the app may connect to.
    pub tcp_connect: Vec<u16>,
    /// Connecting to any TCP port (the `network` interface).
    pub tcp_connect_any: bool,
    /// Binding any TCP port (the `network-bind` interface): the launcher leaves TCP binds
    /// unrestricted ([`crate::profile::LandlockPolicy::tcp_bind_any`]).
    pub tcp_bind_any: bool,
    /// Connecting to abstract unix sockets created outside the sandbox (landlock's abstract
    /// socket scope is not applied): X11 servers listen on `@/tmp/.X11-unix/X0`.
    pub unscoped_abstract_unix: bool,
    /// Sending signals to processes outside the sandbox (landlock's signal scope is not
    /// applied): `process-control`.
    pub unscoped_signals: bool,
    /// Syscalls allowed whatever their arguments.
    pub syscalls: Vec<String>,
    /// Syscalls allowed with some arguments (alternatives to the default rules for them).
    pub syscall_rules: Vec<ArgRule>,
    pub capabilities: Vec<String>,
    pub mounts: Vec<MountEntry>,
    /// Variables set for the app after snapd's own and before snap.yaml's `environment:`
    /// (values may use `$HOME` and `$UID`).
    pub environment: Vec<(String, String)>,
}

impl Grants {
    /// Nothing beyond the default sandbox.
    pub fn none() -> Grants {
        Grants::default()
    }

    /// Adds everything `other` grants.
    pub fn merge(&mut self, other: Grants) {
        self.paths.extend(other.paths);
        self.tcp_bind.extend(other.tcp_bind);
        self.tcp_connect.extend(other.tcp_connect);
        self.tcp_connect_any |= other.tcp_connect_any;
        self.tcp_bind_any |= other.tcp_bind_any;
        self.unscoped_abstract_unix |= other.unscoped_abstract_unix;
        self.unscoped_signals |= other.unscoped_signals;
        self.syscalls.extend(other.syscalls);
        self.syscall_rules.extend(other.syscall_rules);
        self.capabilities.extend(other.capabilities);
        for m in other.mounts {
            if !self.mounts.contains(&m) {
                self.mounts.push(m);
            }
        }
        for (k, v) in other.environment {
            if !self.environment.iter().any(|(key, _)| *key == k) {
                self.environment.push((k, v));
            }
        }
    }

    /// Whether this grants nothing at all.
    pub fn is_empty(&self) -> bool {
        *self == Grants::default()
    }

    /// Client networking (snapd's `network` interface): IPv4/IPv6 stream, datagram and
    /// seqpacket sockets (not raw ones), netlink route sockets (interface and address
    /// queries, as glibc's resolver makes), connecting to any TCP port, and the files name
    /// resolution and TLS read.
    pub fn network() -> Grants {
        let mut rules = Vec::new();
        for family in [AF_INET, AF_INET6] {
            for ty in [SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET] {
                rules.extend(ArgRule::all(
                    "socket",
                    vec![
                        ArgCond::u32(0, "eq", family),
                        ArgCond::u32(1, &format!("masked-eq:{SOCK_TYPE_MASK:#x}"), ty),
                    ],
                ));
            }
        }
        // Netlink sockets are SOCK_RAW or SOCK_DGRAM (the same thing for netlink).
        rules.extend(ArgRule::all(
            "socket",
            vec![
                ArgCond::u32(0, "eq", AF_NETLINK),
                ArgCond::u32(2, "eq", NETLINK_ROUTE),
            ],
        ));
        let read = |p: &str| PathRule {
            path: p.to_owned(),
            access: Access::Read,
        };
        Grants {
            paths: [
                "/etc/hosts",
                "/etc/host.conf",
                "/etc/resolv.conf",
                "/etc/gai.conf",
                "/etc/services",
                "/etc/protocols",
                "/etc/ssl",
                "/etc/ca-certificates",
                "/etc/pki",
                "/etc/gnutls",
                "/run/systemd/resolve",
                "/run/resolvconf",
            ]
            .iter()
            .map(|p| read(p))
            .collect(),
            tcp_connect_any: true,
            syscall_rules: rules,
            ..Grants::default()
        }
    }

    /// Server networking (snapd's `network-bind` interface) on the given TCP ports: the
    /// sockets and files of [`Grants::network`] without its outbound TCP, plus listening and
    /// accepting. [`Grants::network_bind_any`] is the interface's grant (any port).
    pub fn network_bind(ports: &[u16]) -> Grants {
        let mut grants = Grants::network();
        grants.tcp_connect_any = false;
        grants.tcp_bind = ports.to_vec();
        grants.syscalls = ["listen", "accept", "accept4"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        grants
    }

    /// [`Grants::network_bind`] on any TCP port: snapd's `network-bind` interface.
    pub fn network_bind_any() -> Grants {
        let mut grants = Grants::network_bind(&[]);
        grants.tcp_bind_any = true;
        grants
    }
}
