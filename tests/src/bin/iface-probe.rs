//! `iface-probe ACTION...`: what an interface connection lets a confined app do, seen from
//! inside. The probe of `tests/tests/interfaces_enforced.rs`.
//!
//! Each action tries one thing and prints one line, in order:
//!
//! * `ACTION ok [DETAIL]`: it worked (DETAIL: bytes read, entries listed, a value);
//! * `ACTION denied WHY [DETAIL]`: the sandbox said no: WHY is `EPERM` or `EACCES` (the errnos
//!   of seccomp, landlock and missing capabilities), or for the two actions that make no call,
//!   `absent` (`cap:`: the capability is not in `CapEff`) and `unset` (`env:`);
//! * `ACTION error ...`: anything else (another errno, a bad argument). Syscall actions use
//!   arguments on which the kernel itself fails with another errno (EINVAL, ENOENT, ...), so a
//!   call that gets past the sandbox shows as `error EINVAL`, never as a change to the machine.
//!
//! The exit status is 0 whatever the actions say (2 for a usage error).
//!
//! | action | what |
//! |---|---|
//! | `read:PATH` | open read-only (non-blocking) and read up to 64 KiB |
//! | `write:PATH` | open write-only (created if missing), write a line |
//! | `open-dev:PATH` | open a device node read-write (non-blocking, no controlling tty), close it |
//! | `open-sock:PATH` | open(2) a named socket read-write: the kernel refuses every open of a socket with ENXIO *after* the sandbox's check, so `ok passed-sandbox` means landlock let it through, `denied EACCES` that it did not |
//! | `list:DIR` | list a directory |
//! | `mounted:PATH` | whether PATH is a mount point (`/proc/self/mountinfo`); `error not-mounted` otherwise |
//! | `socket:FAMILY:KIND` | `socket()`: FAMILY `inet`, `inet6`, `unix`, `packet`, `netlink`; KIND `stream`, `dgram`, `raw`, `seqpacket`, `icmp` (inet datagram ping socket), or for netlink the protocol `route`, `generic`, `uevent`, `sock_diag`, `audit` |
//! | `tcp-connect:HOST:PORT` | a TCP connection to HOST:PORT (IPv4) |
//! | `tcp-listen:PORT` | bind 127.0.0.1:PORT (0: any) and listen; DETAIL is the port |
//! | `unix-connect:PATH`, `unix-connect:@NAME` | a stream connection to a named or abstract socket |
//! | `syscall:clock_settime` | `clock_settime(100, {0, 0})`: no such clock, EINVAL once past the filter |
//! | `syscall:quotactl` | `quotactl(QCMD(Q_GETQUOTA, USRQUOTA), "/nonexistent-iface-probe", 0, buf)`: ENOENT once past the filter |
//! | `syscall:kill:PID` | `kill(PID, 0)` (nothing is sent) |
//! | `syscall:setpriority:PID` | `setpriority(PRIO_PROCESS, PID, its current value)` |
//! | `syscall:sched_setaffinity:PID` | `sched_setaffinity(PID, its current mask)` |
//! | `syscall:sched_setscheduler` | `sched_setscheduler(0, current policy, current parameters)` |
//! | `syscall:lsm_get_self_attr` | `lsm_get_self_attr(0, NULL, NULL, 0)`: EINVAL once past the filter |
//! | `cap:NAME` | whether `CapEff` has the capability (`sys_time`, `CAP_SYS_TIME`) |
//! | `env:NAME` | the variable's value |
#![allow(clippy::undocumented_unsafe_blocks)] // every block is one libc call with valid arguments

use std::ffi::CString;
use std::io::Read;
use std::os::fd::FromRawFd;
use std::os::unix::fs::FileTypeExt;

/// The outcome of one action.
enum Outcome {
    Ok(String),
    Denied(String),
    Error(String),
}

use Outcome::{Denied, Error, Ok};

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// The symbolic name of an errno value.
fn errno_name(e: i32) -> String {
    let name = match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::ENOTBLK => "ENOTBLK",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENOTTY => "ENOTTY",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::E2BIG => "E2BIG",
        libc::ENOSYS => "ENOSYS",
        libc::ELOOP => "ELOOP",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        libc::ESOCKTNOSUPPORT => "ESOCKTNOSUPPORT",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ETIMEDOUT => "ETIMEDOUT",
        _ => return format!("errno{e}"),
    };
    name.to_owned()
}

/// A failed call with errno `e`: a denial for the sandbox's errnos, an error otherwise.
fn failed(e: i32) -> Outcome {
    if matches!(e, libc::EPERM | libc::EACCES) {
        Denied(errno_name(e))
    } else {
        Error(errno_name(e))
    }
}

fn io_failed(e: &std::io::Error) -> Outcome {
    match e.raw_os_error() {
        Some(code) => failed(code),
        None => Error(e.to_string()),
    }
}

/// The outcome of a call returning a negative value on failure.
fn sys(ret: libc::c_long) -> Outcome {
    if ret < 0 {
        failed(errno())
    } else {
        Ok(String::new())
    }
}

fn cstr(s: &str) -> Result<CString, Outcome> {
    CString::new(s).map_err(|_| Error("NUL in the argument".into()))
}

fn open(path: &str, flags: libc::c_int) -> Result<std::fs::File, Outcome> {
    let p = cstr(path)?;
    let fd = unsafe { libc::open(p.as_ptr(), flags | libc::O_CLOEXEC, 0o644) };
    if fd < 0 {
        return Err(failed(errno()));
    }
    // SAFETY: a descriptor just opened and owned by nothing else.
    Result::Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}

fn read_path(path: &str) -> Outcome {
    let mut f = match open(path, libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY) {
        Result::Ok(f) => f,
        Err(o) => return o,
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    while total < buf.len() {
        match f.read(&mut buf[total..]) {
            Result::Ok(0) => break,
            Result::Ok(n) => total += n,
            // A device or pipe with nothing more to give (/dev/kmsg at its end).
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => {
                return match io_failed(&e) {
                    Error(s) => Error(format!("read: {s}")),
                    other => other,
                };
            }
        }
    }
    Ok(format!("{total} bytes"))
}

fn write_path(path: &str) -> Outcome {
    use std::io::Write;
    let mut f = match open(path, libc::O_WRONLY | libc::O_CREAT | libc::O_NONBLOCK) {
        Result::Ok(f) => f,
        Err(o) => return o,
    };
    match f.write_all(b"1\n") {
        Result::Ok(()) => Ok(String::new()),
        Err(e) => match io_failed(&e) {
            Error(s) => Error(format!("write: {s}")),
            other => other,
        },
    }
}

fn open_dev(path: &str) -> Outcome {
    match open(path, libc::O_RDWR | libc::O_NONBLOCK | libc::O_NOCTTY) {
        Result::Ok(_) => Ok(String::new()),
        Err(o) => o,
    }
}

fn open_sock(path: &str) -> Outcome {
    match std::fs::metadata(path) {
        Result::Ok(md) if md.file_type().is_socket() => {}
        Result::Ok(_) => return Error("not a socket".into()),
        Err(e) => return io_failed(&e),
    }
    match open(path, libc::O_RDWR | libc::O_NONBLOCK) {
        Result::Ok(_) => Error("a socket opened".into()),
        Err(Error(e)) if e == "ENXIO" => Ok("passed-sandbox".into()),
        Err(o) => o,
    }
}

fn list_path(path: &str) -> Outcome {
    match std::fs::read_dir(path) {
        Result::Ok(entries) => {
            let mut n = 0;
            for e in entries {
                if let Err(e) = e {
                    return io_failed(&e);
                }
                n += 1;
            }
            Ok(format!("{n} entries"))
        }
        Err(e) => io_failed(&e),
    }
}

fn mounted(path: &str) -> Outcome {
    let info = match std::fs::read_to_string("/proc/self/mountinfo") {
        Result::Ok(s) => s,
        Err(e) => return Error(format!("mountinfo: {e}")),
    };
    // Field 5 is the mount point, with spaces and such escaped in octal.
    let escaped = path
        .replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('\t', "\\011")
        .replace('\n', "\\012");
    if info
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(escaped.as_str()))
    {
        Ok(String::new())
    } else {
        Error("not-mounted".into())
    }
}

fn socket_of(spec: &str) -> Outcome {
    let Some((family, kind)) = spec.split_once(':') else {
        return Error("socket:FAMILY:KIND".into());
    };
    let family = match family {
        "inet" => libc::AF_INET,
        "inet6" => libc::AF_INET6,
        "unix" => libc::AF_UNIX,
        "packet" => libc::AF_PACKET,
        "netlink" => libc::AF_NETLINK,
        _ => return Error(format!("unknown family {family:?}")),
    };
    let (ty, proto) = if family == libc::AF_NETLINK {
        let proto = match kind {
            "route" => libc::NETLINK_ROUTE,
            "generic" => libc::NETLINK_GENERIC,
            "uevent" => libc::NETLINK_KOBJECT_UEVENT,
            "sock_diag" => libc::NETLINK_SOCK_DIAG,
            "audit" => libc::NETLINK_AUDIT,
            _ => return Error(format!("unknown netlink protocol {kind:?}")),
        };
        (libc::SOCK_RAW, proto)
    } else {
        match kind {
            "stream" => (libc::SOCK_STREAM, 0),
            "dgram" => (libc::SOCK_DGRAM, 0),
            "seqpacket" => (libc::SOCK_SEQPACKET, 0),
            "raw" if family == libc::AF_PACKET => (libc::SOCK_RAW, 0),
            "raw" => (libc::SOCK_RAW, libc::IPPROTO_ICMP),
            "icmp" => (libc::SOCK_DGRAM, libc::IPPROTO_ICMP),
            _ => return Error(format!("unknown socket kind {kind:?}")),
        }
    };
    let fd = unsafe { libc::socket(family, ty | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return failed(errno());
    }
    unsafe { libc::close(fd) };
    Ok(String::new())
}

fn sockaddr_in(ip: std::net::Ipv4Addr, port: u16) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    }
}

/// A TCP socket (closed when dropped).
struct Fd(libc::c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        unsafe { libc::close(self.0) };
    }
}

fn tcp_socket() -> Result<Fd, Outcome> {
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(match failed(errno()) {
            Denied(e) => Denied(format!("{e} socket")),
            Error(e) => Error(format!("socket: {e}")),
            o => o,
        });
    }
    Result::Ok(Fd(fd))
}

fn tcp_connect(spec: &str) -> Outcome {
    let Some((host, port)) = spec.rsplit_once(':') else {
        return Error("tcp-connect:HOST:PORT".into());
    };
    let (Result::Ok(ip), Result::Ok(port)) = (host.parse(), port.parse()) else {
        return Error("tcp-connect:IPV4:PORT".into());
    };
    let s = match tcp_socket() {
        Result::Ok(s) => s,
        Err(o) => return o,
    };
    let addr = sockaddr_in(ip, port);
    let ret = unsafe {
        libc::connect(
            s.0,
            (&raw const addr).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    match sys(ret.into()) {
        Denied(e) => Denied(format!("{e} connect")),
        o => o,
    }
}

fn tcp_listen(port: &str) -> Outcome {
    let Result::Ok(port) = port.parse::<u16>() else {
        return Error("tcp-listen:PORT".into());
    };
    let s = match tcp_socket() {
        Result::Ok(s) => s,
        Err(o) => return o,
    };
    let addr = sockaddr_in(std::net::Ipv4Addr::LOCALHOST, port);
    let len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
    if unsafe { libc::bind(s.0, (&raw const addr).cast(), len) } < 0 {
        return match failed(errno()) {
            Denied(e) => Denied(format!("{e} bind")),
            o => o,
        };
    }
    if unsafe { libc::listen(s.0, 1) } < 0 {
        return match failed(errno()) {
            Denied(e) => Denied(format!("{e} listen")),
            o => o,
        };
    }
    let mut bound = sockaddr_in(std::net::Ipv4Addr::UNSPECIFIED, 0);
    let mut blen = len;
    unsafe { libc::getsockname(s.0, (&raw mut bound).cast(), &mut blen) };
    Ok(format!("port {}", u16::from_be(bound.sin_port)))
}

fn unix_connect(target: &str) -> Outcome {
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    // An abstract name starts with a NUL byte instead of `@`, and is not NUL-terminated.
    let (bytes, abstract_name) = match target.strip_prefix('@') {
        Some(name) => (name.as_bytes(), true),
        None => (target.as_bytes(), false),
    };
    let offset = usize::from(abstract_name);
    if bytes.len() + offset >= addr.sun_path.len() {
        return Error("name too long".into());
    }
    for (i, b) in bytes.iter().enumerate() {
        addr.sun_path[i + offset] = *b as libc::c_char;
    }
    let len = size_of::<libc::sa_family_t>() + offset + bytes.len() + usize::from(!abstract_name);
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return failed(errno());
    }
    let s = Fd(fd);
    let ret = unsafe { libc::connect(s.0, (&raw const addr).cast(), len as libc::socklen_t) };
    sys(ret.into())
}

fn pid_arg(arg: Option<&str>) -> Result<libc::pid_t, Outcome> {
    arg.and_then(|a| a.parse().ok())
        .ok_or_else(|| Error("needs a PID".into()))
}

fn syscall_action(spec: &str) -> Outcome {
    let (name, arg) = match spec.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (spec, None),
    };
    match name {
        "clock_settime" => {
            let ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // No clock has this id: the kernel answers EINVAL before any permission check.
            sys(unsafe { libc::syscall(libc::SYS_clock_settime, 100 as libc::clockid_t, &ts) })
        }
        "quotactl" => {
            const USRQUOTA: libc::c_int = 0;
            let cmd = (libc::Q_GETQUOTA << 8) | USRQUOTA;
            let special = c"/nonexistent-iface-probe";
            let mut buf = [0u8; 256];
            sys(unsafe {
                libc::syscall(
                    libc::SYS_quotactl,
                    cmd,
                    special.as_ptr(),
                    0 as libc::c_int,
                    buf.as_mut_ptr(),
                )
            })
        }
        "kill" => match pid_arg(arg) {
            Result::Ok(pid) => sys(unsafe { libc::kill(pid, 0) }.into()),
            Err(o) => o,
        },
        "setpriority" => match pid_arg(arg) {
            Result::Ok(pid) => {
                // getpriority may legitimately return -1: clear errno first.
                unsafe { *libc::__errno_location() = 0 };
                let prio = unsafe { libc::getpriority(libc::PRIO_PROCESS, pid as libc::id_t) };
                if prio == -1 && errno() != 0 {
                    return Error(format!("getpriority: {}", errno_name(errno())));
                }
                sys(
                    unsafe { libc::setpriority(libc::PRIO_PROCESS, pid as libc::id_t, prio) }
                        .into(),
                )
            }
            Err(o) => o,
        },
        "sched_setaffinity" => match pid_arg(arg) {
            Result::Ok(pid) => {
                let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
                let size = size_of::<libc::cpu_set_t>();
                if unsafe { libc::sched_getaffinity(pid, size, &mut set) } < 0 {
                    return Error(format!("sched_getaffinity: {}", errno_name(errno())));
                }
                sys(unsafe { libc::sched_setaffinity(pid, size, &set) }.into())
            }
            Err(o) => o,
        },
        "sched_setscheduler" => {
            let policy = unsafe { libc::sched_getscheduler(0) };
            let mut param = libc::sched_param { sched_priority: 0 };
            if policy < 0 || unsafe { libc::sched_getparam(0, &mut param) } < 0 {
                return Error(format!("sched_get*: {}", errno_name(errno())));
            }
            sys(unsafe { libc::sched_setscheduler(0, policy, &param) }.into())
        }
        "lsm_get_self_attr" => {
            // x86_64, aarch64 and riscv64 share the number (the generic table's 459).
            const SYS_LSM_GET_SELF_ATTR: libc::c_long = 459;
            let null = std::ptr::null_mut::<libc::c_void>();
            sys(unsafe { libc::syscall(SYS_LSM_GET_SELF_ATTR, 0, null, null, 0) })
        }
        _ => Error(format!("unknown syscall action {name:?}")),
    }
}

/// Capability numbers (linux/capability.h).
const CAPS: &[&str] = &[
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

fn cap(name: &str) -> Outcome {
    let lower = name.to_ascii_lowercase();
    let short = lower.strip_prefix("cap_").unwrap_or(&lower);
    let Some(bit) = CAPS.iter().position(|c| *c == short) else {
        return Error(format!("unknown capability {name:?}"));
    };
    let status = match std::fs::read_to_string("/proc/self/status") {
        Result::Ok(s) => s,
        Err(e) => return Error(format!("/proc/self/status: {e}")),
    };
    let Some(eff) = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    else {
        return Error("no CapEff".into());
    };
    if eff & (1u64 << bit) != 0 {
        Ok(String::new())
    } else {
        Denied("absent".into())
    }
}

fn env(name: &str) -> Outcome {
    match std::env::var(name) {
        Result::Ok(v) => Ok(v),
        Err(_) => Denied("unset".into()),
    }
}

fn action(a: &str) -> Outcome {
    let Some((kind, arg)) = a.split_once(':') else {
        return Error("ACTION:ARGUMENT expected".into());
    };
    match kind {
        "read" => read_path(arg),
        "write" => write_path(arg),
        "open-dev" => open_dev(arg),
        "open-sock" => open_sock(arg),
        "list" => list_path(arg),
        "mounted" => mounted(arg),
        "socket" => socket_of(arg),
        "tcp-connect" => tcp_connect(arg),
        "tcp-listen" => tcp_listen(arg),
        "unix-connect" => unix_connect(arg),
        "syscall" => syscall_action(arg),
        "cap" => cap(arg),
        "env" => env(arg),
        _ => Error(format!("unknown action {kind:?}")),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        eprintln!("usage: iface-probe ACTION...");
        std::process::exit(2);
    }
    for a in &args {
        let line = match action(a) {
            Ok(d) if d.is_empty() => format!("{a} ok"),
            Ok(d) => format!("{a} ok {d}"),
            Denied(d) => format!("{a} denied {d}"),
            Error(d) => format!("{a} error {d}"),
        };
        println!("{line}");
    }
}
