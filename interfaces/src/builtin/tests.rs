use super::*;
use crate::arch::Arch;
use crate::catalogue::catalogue;
use crate::compile::eval::{Call, run};
use crate::ends::{plugs_of, slots_of, system_slots};
use crate::profile::{Profile, SandboxMode};
use crate::test_util::{plug, slot};
use crate::{MAX_INSTRUCTIONS, Options, app_profile_with, compile_program, hook_profile_with};
use serde_json::json;

fn system(iface: &str) -> SlotEnd {
    system_slots()
        .into_iter()
        .find(|s| s.interface == iface)
        .unwrap()
}

fn access(g: &Grants, path: &str) -> Vec<Access> {
    g.paths
        .iter()
        .filter(|r| r.path == path)
        .map(|r| r.access)
        .collect()
}

fn has(g: &Grants, path: &str, a: Access) -> bool {
    access(g, path).contains(&a)
}

/// A plug of every interface with valid attributes, and a slot it may connect to.
fn sample(iface: &str) -> (PlugEnd, SlotEnd) {
    let p = |a| plug(iface, a);
    let g = |a| slot("gadget", iface, a);
    match iface {
        "content" => (
            p(json!({"target": "$SNAP/shared", "content": "c"})),
            slot(
                "provider",
                iface,
                json!({"content": "c", "read": ["$SNAP/data"]}),
            ),
        ),
        "personal-files" => (
            p(json!({"read": ["$HOME/.config/a"], "write": ["$HOME/.local/share/a"]})),
            system(iface),
        ),
        "system-files" => (
            p(json!({"read": ["/etc/a.conf"], "write": ["/var/lib/a"]})),
            system(iface),
        ),
        "serial-port" => (p(json!({})), g(json!({"path": "/dev/ttyUSB7"}))),
        "hidraw" => (p(json!({})), g(json!({"path": "/dev/hidraw2"}))),
        "spi" => (p(json!({})), g(json!({"path": "/dev/spidev0.1"}))),
        "i2c" => (p(json!({})), g(json!({"path": "/dev/i2c-3"}))),
        "gpio" => (p(json!({})), g(json!({"number": 17}))),
        "dbus" => {
            let a = json!({"bus": "system", "name": "org.example.Svc"});
            (p(a.clone()), slot("service", iface, a))
        }
        _ => (p(json!({})), system(iface)),
    }
}

#[test]
fn every_interface_grants_something_real() {
    for def in catalogue() {
        let (p, s) = sample(def.name);
        assert_eq!(crate::check_connection(&p, &s), Ok(()), "{}", def.name);
        let mut g = plug_grants(&p, &s);
        if def.name == "content" {
            g.mounts = content_mounts(&p, &s);
        }
        assert!(!g.is_empty(), "{} grants nothing", def.name);
        // Every path is absolute or starts with a placeholder the profile understands.
        for r in &g.paths {
            assert!(
                r.path.starts_with('/') || r.path.starts_with("$HOME/"),
                "{}: {}",
                def.name,
                r.path
            );
        }
    }
}

#[test]
fn network_interfaces() {
    let g = plug_grants(&plug("network", json!({})), &system("network"));
    assert!(g.tcp_connect_any && !g.tcp_bind_any);
    assert!(has(&g, "/etc/resolv.conf", Access::Read));
    let g = plug_grants(&plug("network-bind", json!({})), &system("network-bind"));
    assert!(g.tcp_bind_any && !g.tcp_connect_any);
    assert!(g.syscalls.contains(&"listen".to_string()));
    let g = plug_grants(
        &plug("network-control", json!({})),
        &system("network-control"),
    );
    assert!(g.capabilities.contains(&"net_admin".to_string()));
    assert!(has(&g, "/dev/net/tun", Access::Device));
    let g = plug_grants(
        &plug("network-observe", json!({})),
        &system("network-observe"),
    );
    assert_eq!(g.capabilities, ["net_raw"]);
}

#[test]
fn files_and_home() {
    let g = plug_grants(&plug("home", json!({})), &system("home"));
    assert!(has(&g, "$HOME/Documents", Access::ReadWrite));
    // Never the whole home: dotfiles and other snaps' data stay out of reach.
    assert!(access(&g, "$HOME").is_empty());
    assert!(g.paths.iter().all(|r| !r.path.starts_with("$HOME/.")));
    assert!(g.paths.iter().all(|r| !r.path.starts_with("$HOME/snap")));
    let all = plug_grants(&plug("home", json!({"read": "all"})), &system("home"));
    assert!(has(&all, "/home", Access::Read));

    let (p, s) = sample("personal-files");
    let g = plug_grants(&p, &s);
    assert!(has(&g, "$HOME/.config/a", Access::Read));
    assert!(has(&g, "$HOME/.local/share/a", Access::ReadWrite));
    let (p, s) = sample("system-files");
    let g = plug_grants(&p, &s);
    assert!(has(&g, "/etc/a.conf", Access::Read));
    assert!(has(&g, "/var/lib/a", Access::ReadWrite));

    let g = plug_grants(
        &plug("removable-media", json!({})),
        &system("removable-media"),
    );
    assert!(has(&g, "/media", Access::Full) && has(&g, "/mnt", Access::Full));
}

#[test]
fn devices_come_from_the_slot() {
    let (p, s) = sample("serial-port");
    assert_eq!(
        plug_grants(&p, &s).paths,
        [rule("/dev/ttyUSB7", Access::Device)]
    );
    let (p, s) = sample("hidraw");
    assert_eq!(
        plug_grants(&p, &s).paths,
        [rule("/dev/hidraw2", Access::Device)]
    );
    let (p, s) = sample("spi");
    assert_eq!(
        plug_grants(&p, &s).paths,
        [rule("/dev/spidev0.1", Access::Device)]
    );
    let (p, s) = sample("i2c");
    assert_eq!(
        plug_grants(&p, &s).paths,
        [rule("/dev/i2c-3", Access::Device)]
    );
    let g = plug_grants(&p, &slot("g", "i2c", json!({"sysfs-name": "1-0050"})));
    assert_eq!(
        g.paths,
        [rule("/sys/bus/i2c/devices/1-0050", Access::ReadWrite)]
    );
    let (p, s) = sample("gpio");
    assert_eq!(
        plug_grants(&p, &s).paths,
        [rule("/sys/class/gpio/gpio17", Access::ReadWrite)]
    );
    // Another slot, another device.
    let other = slot("gadget", "serial-port", json!({"path": "/dev/ttyS1"}));
    assert_eq!(
        plug_grants(&plug("serial-port", json!({})), &other).paths,
        [rule("/dev/ttyS1", Access::Device)]
    );

    let g = plug_grants(&plug("camera", json!({})), &system("camera"));
    assert!(has(&g, "/dev/video0", Access::Device) && has(&g, "/dev/video63", Access::Device));
    assert!(access(&g, "/dev").is_empty());
    let g = plug_grants(&plug("kvm", json!({})), &system("kvm"));
    assert_eq!(g.paths, [rule("/dev/kvm", Access::Device)]);
    let g = plug_grants(&plug("block-devices", json!({})), &system("block-devices"));
    for node in [
        "/dev/sda",
        "/dev/sda1",
        "/dev/vdb15",
        "/dev/nvme0n1p2",
        "/dev/loop7",
        "/dev/mmcblk0p1",
    ] {
        assert!(has(&g, node, Access::Device), "{node}");
    }
    assert!(access(&g, "/dev/mem").is_empty());
    assert!(g.paths.len() < 1500, "{}", g.paths.len());
    let g = plug_grants(&plug("raw-usb", json!({})), &system("raw-usb"));
    assert!(has(&g, "/dev/bus/usb", Access::Device) && has(&g, "/dev/bus/usb", Access::Read));
    let g = plug_grants(&plug("opengl", json!({})), &system("opengl"));
    assert!(has(&g, "/dev/dri", Access::Device) && has(&g, "/dev/nvidiactl", Access::Device));
    let g = plug_grants(&plug("optical-drive", json!({})), &system("optical-drive"));
    assert!(has(&g, "/dev/sr0", Access::Read) && !has(&g, "/dev/sr0", Access::Device));
    let g = plug_grants(
        &plug("optical-drive", json!({"write": true})),
        &system("optical-drive"),
    );
    assert!(has(&g, "/dev/sr0", Access::Device));
}

#[test]
fn sockets_scopes_and_environment() {
    let g = plug_grants(
        &plug("audio-playback", json!({})),
        &system("audio-playback"),
    );
    assert!(has(&g, "/run/user/$UID/pulse/native", Access::ReadWrite));
    assert!(g.environment.contains(&(
        "PULSE_SERVER".into(),
        "unix:/run/user/$UID/pulse/native".into()
    )));
    let server = slot("pulseaudio", "audio-playback", json!({}));
    let g = plug_grants(&plug("audio-playback", json!({})), &server);
    assert!(has(
        &g,
        "/run/user/$UID/snap.pulseaudio/pulse/native",
        Access::ReadWrite
    ));

    let g = plug_grants(&plug("wayland", json!({})), &system("wayland"));
    assert_eq!(
        g.environment,
        [("WAYLAND_DISPLAY".into(), "/run/user/$UID/wayland-0".into())]
    );
    let g = plug_grants(&plug("x11", json!({})), &system("x11"));
    assert!(g.unscoped_abstract_unix && !g.unscoped_signals);
    let g = plug_grants(
        &plug("process-control", json!({})),
        &system("process-control"),
    );
    assert!(g.unscoped_signals && !g.unscoped_abstract_unix);
    assert!(g.capabilities.contains(&"kill".to_string()));

    for iface in ["shutdown", "time-control", "system-observe"] {
        let g = plug_grants(&plug(iface, json!({})), &system(iface));
        assert!(
            has(&g, "/run/dbus/system_bus_socket", Access::ReadWrite),
            "{iface}"
        );
    }
    let g = plug_grants(&plug("desktop", json!({})), &system("desktop"));
    assert!(has(&g, "/run/user/$UID/bus", Access::ReadWrite));
    let g = plug_grants(&plug("snapd-control", json!({})), &system("snapd-control"));
    assert_eq!(g.paths, [rule("/run/snapd.socket", Access::ReadWrite)]);
    let (p, s) = sample("dbus");
    assert_eq!(
        plug_grants(&p, &s).paths,
        [rule("/run/dbus/system_bus_socket", Access::ReadWrite)]
    );
    let session = json!({"bus": "session", "name": "org.example.Svc"});
    let g = plug_grants(
        &plug("dbus", session.clone()),
        &slot("svc", "dbus", session.clone()),
    );
    assert_eq!(g.paths, [rule("/run/user/$UID/bus", Access::ReadWrite)]);
    let g = permanent_slot_grants(&slot("svc", "dbus", session));
    assert!(g.syscalls.contains(&"listen".to_string()));
    assert!(has(&g, "/run/user/$UID/bus", Access::ReadWrite));
    // The system snap's slots are not apps.
    assert!(permanent_slot_grants(&system("x11")).is_empty());
    assert!(
        permanent_slot_grants(&slot("xorg", "x11", json!({})))
            .syscalls
            .contains(&"accept4".to_string())
    );
}

/// Syscall answers of a profile's program on x86_64.
fn answers(grants: &Grants) -> impl Fn(i64, &[u64]) -> bool + use<> {
    let policy = crate::seccomp::policy(SandboxMode::Strict, Arch::X86_64, grants);
    let program = compile_program(&policy, Arch::X86_64).unwrap();
    move |nr, args| {
        let mut a = [0u64; 6];
        a[..args.len()].copy_from_slice(args);
        run(
            &program,
            &Call {
                nr: nr as u32,
                arch: 0xc000_003e,
                args: a,
            },
        ) == 0x7fff_0000
    }
}

#[test]
fn seccomp_effects() {
    const SOCKET: i64 = 41;
    const QUOTACTL: i64 = 179;
    const CLOCK_SETTIME: i64 = 227;
    const SETPRIORITY: i64 = 141;
    #[cfg(target_arch = "x86_64")]
    {
        assert_eq!(SOCKET, libc::SYS_socket);
        assert_eq!(QUOTACTL, libc::SYS_quotactl);
        assert_eq!(CLOCK_SETTIME, libc::SYS_clock_settime);
        assert_eq!(SETPRIORITY, libc::SYS_setpriority);
    }
    let packet = [u64::from(AF_PACKET), u64::from(SOCK_RAW), 0];
    let usrquota = |cmd: u32| [u64::from(cmd << 8)];

    let default = answers(&Grants::none());
    assert!(!default(SOCKET, &packet));
    assert!(!default(QUOTACTL, &usrquota(Q_GETQUOTA)));
    assert!(!default(CLOCK_SETTIME, &[0, 0]));
    assert!(!default(SETPRIORITY, &[0, 1234, 0]));

    let g = |iface: &str| plug_grants(&plug(iface, json!({})), &system(iface));
    let control = answers(&g("network-control"));
    assert!(control(SOCKET, &packet));
    assert!(control(SOCKET, &[u64::from(AF_NETLINK), 3, 9]));
    let observe = answers(&g("network-observe"));
    assert!(!observe(SOCKET, &packet));
    assert!(observe(
        SOCKET,
        &[u64::from(AF_NETLINK), 3, u64::from(NETLINK_SOCK_DIAG)]
    ));
    assert!(observe(
        SOCKET,
        &[
            u64::from(AF_INET),
            u64::from(SOCK_DGRAM),
            u64::from(IPPROTO_ICMP)
        ]
    ));
    // Not UDP in general.
    assert!(!observe(
        SOCKET,
        &[u64::from(AF_INET), u64::from(SOCK_DGRAM), 17]
    ));

    let mounts = answers(&g("mount-observe"));
    assert!(mounts(QUOTACTL, &usrquota(Q_GETQUOTA)));
    assert!(mounts(QUOTACTL, &[u64::from((Q_GETQUOTA << 8) | 1)])); // GRPQUOTA
    assert!(mounts(QUOTACTL, &usrquota(Q_XGETQSTAT)));
    const Q_SETQUOTA: u32 = 0x80_0008;
    assert!(!mounts(QUOTACTL, &usrquota(Q_SETQUOTA)));

    assert!(answers(&g("time-control"))(CLOCK_SETTIME, &[0, 0]));
    assert!(answers(&g("process-control"))(SETPRIORITY, &[0, 1234, 0]));
}

const YAML: &[u8] = br#"
name: consumer
version: "1"
plugs:
  shared:
    interface: content
    content: c
    target: $SNAP_DATA/shared
  cam: camera
slots:
  out:
    interface: content
    content: out
    write: [$SNAP_COMMON/out]
apps:
  a:
    command: bin/a
    plugs: [shared, network, cam]
  b:
    command: bin/b
  srv:
    command: bin/srv
    slots: [out, x11]
hooks:
  configure:
    plugs: [network]
"#;

fn consumer() -> SnapYaml {
    snap_core::parse_snap_yaml(YAML).unwrap()
}

fn conn(p: &PlugEnd, s: &SlotEnd) -> Connection {
    Connection {
        plug: p.clone(),
        slot: s.clone(),
    }
}

fn own_plug(name: &str) -> PlugEnd {
    plugs_of(&consumer())
        .into_iter()
        .find(|p| p.plug == name)
        .unwrap()
}

fn own_slot(name: &str) -> SlotEnd {
    slots_of(&consumer())
        .into_iter()
        .find(|s| s.slot == name)
        .unwrap()
}

fn provider(content: &str, attrs: serde_json::Value) -> SlotEnd {
    let mut s = slot("provider", "content", attrs);
    s.attrs.insert("content".into(), json!(content));
    s
}

#[test]
fn binding_decides_who_gets_what() {
    let snap = consumer();
    let conns = vec![
        conn(&own_plug("network"), &system("network")),
        conn(&own_plug("cam"), &system("camera")),
    ];
    let a = grants_for(&snap, "a", &conns);
    assert!(a.tcp_connect_any && has(&a, "/dev/video0", Access::Device));
    // b lists no plug: the plugs listed by a are not b's.
    assert!(grants_for(&snap, "b", &conns).is_empty());
    // The hook listing network gets it, and nothing else.
    let hook = grants_for(&snap, "hook.configure", &conns);
    assert!(hook.tcp_connect_any && !has(&hook, "/dev/video0", Access::Device));
    assert!(grants_for(&snap, "nope", &conns).is_empty());
    // Connections of other snaps, and of an instance, are not this one's.
    let mut other = conn(&own_plug("network"), &system("network"));
    other.plug.snap = "consumer_x".into();
    assert!(grants_for(&snap, "a", &[other.clone()]).is_empty());
    assert!(grants_for_instance(&snap, "consumer_x", "a", &[other]).tcp_connect_any);
    // A connection remembered for a plug the revision no longer has (or that changed
    // interface) gives nothing.
    let mut gone = conn(&own_plug("network"), &system("network"));
    gone.plug.plug = "old".into();
    assert!(grants_for(&snap, "a", &[gone]).is_empty());
}

#[test]
fn slot_side_and_permanent_grants() {
    let snap = consumer();
    // srv serves x11 whether or not a client is connected.
    let srv = grants_for(&snap, "srv", &[]);
    assert!(srv.syscalls.contains(&"listen".to_string()));
    assert!(grants_for(&snap, "a", &[]).is_empty());
    // A client's plug connected to srv's content slot gives srv no mounts.
    let client = plug("content", json!({"target": "$SNAP/in", "content": "out"}));
    let c = conn(&client, &own_slot("out"));
    assert!(
        grants_for(&snap, "srv", std::slice::from_ref(&c))
            .mounts
            .is_empty()
    );
    // And the client gets the slot's common directory.
    let mut client_snap = snap_core::parse_snap_yaml(
        b"name: consumer\nversion: '1'\nplugs:\n  p:\n    interface: content\n    content: out\n    target: $SNAP/in\napps:\n  app:\n    command: bin/app\n",
    )
    .unwrap();
    client_snap.name = "consumer".into();
    let g = grants_for(&client_snap, "app", &[c]);
    assert_eq!(
        g.mounts,
        [MountEntry {
            source: "/var/snap/consumer/common/out".into(),
            target: "$SNAP/in".into(),
            read_only: false,
        }]
    );
    assert!(has(&g, "$SNAP/in", Access::Full));
}

#[test]
fn content_mounts_and_rules() {
    let snap = consumer();
    let p = own_plug("shared");
    let read = provider(
        "c",
        json!({"read": ["$SNAP/lib", "share", "$SNAP_DATA/conf"]}),
    );
    let g = grants_for(&snap, "a", &[conn(&p, &read)]);
    let m = |source: &str, target: &str, ro: bool| MountEntry {
        source: source.into(),
        target: target.into(),
        read_only: ro,
    };
    assert_eq!(
        g.mounts,
        [
            m("/snap/provider/current/lib", "$SNAP_DATA/shared", true),
            m("/snap/provider/current/share", "$SNAP_DATA/shared-2", true),
            m(
                "/var/snap/provider/current/conf",
                "$SNAP_DATA/shared-3",
                true
            ),
        ]
    );
    for t in [
        "$SNAP_DATA/shared",
        "$SNAP_DATA/shared-2",
        "$SNAP_DATA/shared-3",
    ] {
        assert!(has(&g, t, Access::ReadExec), "{t}");
    }
    // `source:` puts each directory under the target by its name.
    let src = provider(
        "c",
        json!({"source": {"read": ["$SNAP/a"], "write": ["$SNAP_COMMON/b"]}}),
    );
    let g = grants_for(&snap, "a", &[conn(&p, &src)]);
    assert_eq!(
        g.mounts,
        [
            m("/snap/provider/current/a", "$SNAP_DATA/shared/a", true),
            m("/var/snap/provider/common/b", "$SNAP_DATA/shared/b", false),
        ]
    );
    assert!(has(&g, "$SNAP_DATA/shared/b", Access::Full));
    // Read and write of the same directory: one read-write mount.
    let both = provider(
        "c",
        json!({"read": ["$SNAP_DATA/x"], "write": ["$SNAP_DATA/x"]}),
    );
    let g = grants_for(&snap, "a", &[conn(&p, &both)]);
    assert_eq!(
        g.mounts,
        [m(
            "/var/snap/provider/current/x",
            "$SNAP_DATA/shared",
            false
        )]
    );
    // Plug bound to a only.
    assert!(grants_for(&snap, "b", &[conn(&p, &read)]).mounts.is_empty());

    // In the profile, $SNAP_DATA is the revision's data directory.
    let options = Options {
        grants: grants_for(&snap, "a", &[conn(&p, &read)]),
        ..Options::default()
    };
    let profile = app_profile_with(&snap, "7", "a", &options).unwrap();
    assert_eq!(profile.mounts[0].target, "/var/snap/consumer/7/shared");
    assert_eq!(
        profile.data_mount_targets(),
        [
            "/var/snap/consumer/7/shared",
            "/var/snap/consumer/7/shared-2",
            "/var/snap/consumer/7/shared-3"
        ]
    );
    assert_eq!(profile.mounts[0].source, "/snap/provider/current/lib");
    assert!(
        profile
            .landlock
            .paths
            .contains(&rule("/var/snap/consumer/7/shared-2", Access::ReadExec))
    );
}

#[test]
fn paths_of_other_snaps() {
    assert_eq!(other_snap_path("$SNAP/a/b", "p"), "/snap/p/current/a/b");
    assert_eq!(other_snap_path("$SNAP", "p"), "/snap/p/current");
    assert_eq!(other_snap_path("a", "p_x"), "/snap/p_x/current/a");
    assert_eq!(
        other_snap_path("$SNAP_DATA/d", "p"),
        "/var/snap/p/current/d"
    );
    assert_eq!(other_snap_path("$SNAP_COMMON", "p"), "/var/snap/p/common");
    assert_eq!(own_snap_path("$SNAP_COMMON/t"), "$SNAP_COMMON/t");
    assert_eq!(own_snap_path("lib/t"), "$SNAP/lib/t");
}

/// Every interface's grants at once, as one app with everything connected.
fn everything() -> Grants {
    let mut all = Grants::none();
    for def in catalogue() {
        let (p, s) = sample(def.name);
        all.merge(plug_grants(&p, &s));
        let mut server = s.clone();
        server.snap = "server".into();
        all.merge(permanent_slot_grants(&server));
    }
    all
}

#[test]
fn everything_connected_stays_under_the_bpf_limit() {
    let all = everything();
    for arch in [Arch::X86_64, Arch::Aarch64, Arch::Riscv64] {
        for mode in [SandboxMode::Strict, SandboxMode::Devmode] {
            let policy = crate::seccomp::policy(mode, arch, &all);
            let n = compile_program(&policy, arch).unwrap().len();
            assert!(n < MAX_INSTRUCTIONS, "{arch:?} {mode:?}: {n}");
            if mode == SandboxMode::Strict {
                println!("{}: everything connected: {n} instructions", arch.name());
            }
        }
    }
}

#[test]
fn everything_connected_answers_as_the_linear_layout() {
    let all = everything();
    for arch in [Arch::X86_64, Arch::Aarch64, Arch::Riscv64] {
        for mode in [SandboxMode::Strict, SandboxMode::Devmode] {
            let policy = crate::seccomp::policy(mode, arch, &all);
            crate::compile::equivalence::assert_equivalent("everything", &policy, arch);
        }
    }
}

#[test]
fn composed_profiles() {
    let snap = consumer();
    let conns: Vec<Connection> = catalogue()
        .iter()
        .filter(|d| d.system_slot)
        .map(|d| {
            let mut p = own_plug("network");
            p.plug = d.name.into();
            p.interface = d.name.into();
            conn(&p, &system(d.name))
        })
        .collect();
    // Plugs the snap does not have give nothing; the network plug does.
    let g = grants_for(&snap, "a", &conns);
    assert!(g.tcp_connect_any);

    let options = Options {
        grants: everything(),
        ..Options::default()
    };
    let p: Profile = app_profile_with(&snap, "3", "a", &options).unwrap();
    assert!(p.landlock.tcp_bind_any && p.landlock.tcp_bind.is_empty());
    assert_eq!(p.landlock.tcp_connect, None);
    assert!(!p.landlock.scope_abstract_unix && !p.landlock.scope_signal);
    assert!(
        p.environment
            .iter()
            .any(|(k, v)| k == "WAYLAND_DISPLAY" && v == "/run/user/$UID/wayland-0")
    );
    assert!(p.capabilities.contains(&"net_admin".to_string()));
    let program = crate::compile_seccomp(&p.seccomp).unwrap();
    assert!(program.len() / 8 < MAX_INSTRUCTIONS);
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.contains("\"tcp-bind-any\":true"));
    assert_eq!(serde_json::from_str::<Profile>(&json).unwrap(), p);
    println!(
        "profile with everything: {} bytes of JSON, {} path rules",
        json.len(),
        p.landlock.paths.len()
    );

    // Without grants the field is left out, and old profiles read.
    let plain = app_profile_with(&snap, "3", "a", &Options::default()).unwrap();
    assert!(
        !serde_json::to_string(&plain)
            .unwrap()
            .contains("tcp-bind-any")
    );
    assert!(plain.landlock.scope_signal && plain.landlock.scope_abstract_unix);

    // Hooks get their own grants; classic snaps get none of them.
    let hook = hook_profile_with(
        &snap,
        "3",
        "configure",
        &Options {
            grants: grants_for(&snap, "hook.configure", &conns),
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(hook.landlock.tcp_connect, None);
    let classic = snap_core::parse_snap_yaml(
        b"name: cl\nversion: '1'\nconfinement: classic\napps:\n  c:\n    command: bin/c\n",
    )
    .unwrap();
    let p = app_profile_with(&classic, "1", "c", &options).unwrap();
    assert!(p.mounts.is_empty() && p.capabilities.is_empty());
    assert!(!p.environment.iter().any(|(k, _)| k == "WAYLAND_DISPLAY"));
}

#[test]
fn unclash_like_snapd() {
    let m = |s: &str, t: &str, ro: bool| MountEntry {
        source: s.into(),
        target: t.into(),
        read_only: ro,
    };
    assert_eq!(
        unclash(vec![
            m("/a", "/t", true),
            m("/b", "/t", true),
            m("/a", "/t", false),
            m("/c", "/t", false),
            m("/d", "/u", true),
        ]),
        [
            m("/a", "/t", false),
            m("/b", "/t-2", true),
            m("/c", "/t-3", false),
            m("/d", "/u", true),
        ]
    );
}
