//! `snap-probe PROBE...`: what a confined app may and may not do, seen from inside.
//!
//! Each probe tries one thing and prints one line, in order:
//!
//! * `PROBE ok [DETAIL]`: it worked (DETAIL: bytes read, entries listed, a value);
//! * `PROBE denied ERRNO [DETAIL]`: it failed with EPERM, EACCES, EROFS or ENOSYS, the errors
//!   the sandbox's layers (seccomp, landlock, the read-only base, dropped capabilities) give;
//! * `PROBE error ...`: anything else (another errno, a crash, an unexpected answer). A
//!   syscall probe whose arguments are chosen so that the kernel itself would refuse the call
//!   with a *different* errno (ENOENT, EBADF, EFAULT, EINVAL, ESRCH, ...) reports `error ENOENT`
//!   and so on when the sandbox let it through: a bypass never looks like a denial.
//!
//! The exit status is 0 whatever the probes say. Probes that would change the probe's own
//! state if they succeeded (namespaces, root, ptrace) run in a forked child.
//!
//! Probes (`PATH`, `PID`, `NAME` are arguments given after `=`):
//!
//! | probe | what |
//! |---|---|
//! | `read=PATH` | open read-only and read everything |
//! | `list=PATH` | list a directory |
//! | `write=PATH` | create or truncate, and write a line |
//! | `open=PATH` | open read-only (non-blocking), nothing read |
//! | `open-write=PATH` | open an existing file write-only, nothing written (harmless on host files) |
//! | `mkdir=PATH` | make a directory |
//! | `symlink-read=PATH` | a symlink to PATH made in `/tmp`, then read through it |
//! | `exec=PATH` | fork and exec PATH without arguments, report the exit status |
//! | `readlink=PATH` | the target of a symlink (e.g. `/proc/self/ns/mnt`) |
//! | `read-snap`, `write-snap` | `$SNAP/meta/snap.yaml`; a new file in `$SNAP` |
//! | `write-snap-data`, `write-snap-common`, `write-user-data` | a new file in that directory |
//! | `write-tmp=NAME` | `/tmp/NAME` |
//! | `status=FIELD` | a field of `/proc/self/status` (`CapEff`, `NoNewPrivs`, `Seccomp`, ...) |
//! | `ids` | real and effective ids and `CapEff` |
//! | `suid-exec` | runs `$SNAP/bin/suid-probe ids` (a setuid-root copy of this program) |
//! | `getpid`, `uname`, `socket-unix`, `socketpair`, `bind-abstract`, `abstract-dgram-self` | controls |
//! | `kill=PID`, `kill-init`, `kill-self` | `kill(PID, 0)`; PID may be `ppid` (the parent) |
//! | `ptrace-attach=PID`, `ptrace-seize=PID`, `ptrace-traceme`, `ptrace-bogus` | ptrace; PID may be `ppid` |
//! | `connect-abstract=NAME`, `sendto-abstract=NAME` | a stream connection, a datagram to `@NAME` |
//! | `connect-unix=PATH` | connect a stream socket to the named socket PATH |
//! | `tgkill=PID`, `sigqueue=PID` | signal 0 by `tgkill`, `rt_sigqueueinfo` |
//! | `chmod=PATH`, `utime=PATH`, `setxattr=PATH`, `chown-root=PATH` | metadata: mode 0666, times now, `user.snap-probe`, owner 0:0 |
//! | `truncate=PATH`, `unlink=PATH`, `rename=PATH` | to 0 bytes; remove; rename to `PATH.moved` |
//! | `fds` | open descriptors beyond 0-2 (`none` or `N:target,...`) |
//! | `syslog-read` | read the kernel log (`klogctl`) |
//! | `process-vm-readv` | read our own memory through `process_vm_readv` |
//! | `pidfd-signal-init` | `pidfd_send_signal(pidfd_open(1), 0)` |
//! | syscall names | see [`syscall_probe`] |
#![allow(clippy::undocumented_unsafe_blocks)] // every block is one raw syscall with valid arguments

use std::ffi::{CStr, CString};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;

/// The outcome of one probe.
enum Outcome {
    Ok(String),
    Denied(i32, String),
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
        libc::E2BIG => "E2BIG",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::ECHILD => "ECHILD",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ENOTTY => "ENOTTY",
        libc::ETXTBSY => "ETXTBSY",
        libc::ENOSPC => "ENOSPC",
        libc::ESPIPE => "ESPIPE",
        libc::EROFS => "EROFS",
        libc::EPIPE => "EPIPE",
        libc::ERANGE => "ERANGE",
        libc::ENOSYS => "ENOSYS",
        libc::ELOOP => "ELOOP",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ENOKEY => "ENOKEY",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        libc::ESOCKTNOSUPPORT => "ESOCKTNOSUPPORT",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::ENOTSOCK => "ENOTSOCK",
        libc::ENOTCONN => "ENOTCONN",
        libc::EDESTADDRREQ => "EDESTADDRREQ",
        _ => return format!("errno{e}"),
    };
    name.to_owned()
}

/// The errnos the sandbox's layers answer with.
fn is_denial(e: i32) -> bool {
    matches!(e, libc::EPERM | libc::EACCES | libc::EROFS | libc::ENOSYS)
}

/// A failed call with errno `e`.
fn failed(e: i32, detail: impl Into<String>) -> Outcome {
    if is_denial(e) {
        Denied(e, detail.into())
    } else {
        let d = detail.into();
        Error(if d.is_empty() {
            errno_name(e)
        } else {
            format!("{} {d}", errno_name(e))
        })
    }
}

/// The outcome of a syscall returning -1 on failure.
fn sys(ret: libc::c_long) -> Outcome {
    if ret < 0 {
        failed(errno(), "")
    } else {
        Ok(String::new())
    }
}

fn cstr(s: &str) -> CString {
    CString::new(s).expect("no NUL in probe arguments")
}

fn io_outcome(e: std::io::Error, what: &str) -> Outcome {
    match e.raw_os_error() {
        Some(code) => failed(code, what),
        None => Error(format!("{what}: {e}")),
    }
}

fn env(name: &str) -> Result<String, Outcome> {
    std::env::var(name).map_err(|_| Error(format!("${name} is not set")))
}

/// Runs `f` in a forked child and reports its result: the child exits with 0 on success or
/// the errno of the failure.
fn in_child(f: impl FnOnce() -> Result<(), i32>) -> Outcome {
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Error(format!("fork: {}", errno_name(errno())));
    }
    if pid == 0 {
        let code = match f() {
            Result::Ok(()) => 0,
            Err(e) => e.clamp(1, 254),
        };
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        return Error(format!("waitpid: {}", errno_name(errno())));
    }
    if libc::WIFSIGNALED(status) {
        return Error(format!("child killed by signal {}", libc::WTERMSIG(status)));
    }
    match libc::WEXITSTATUS(status) {
        0 => Ok(String::new()),
        e => failed(e, ""),
    }
}

/// `ret < 0` as the errno, for [`in_child`] closures.
fn check(ret: libc::c_long) -> Result<(), i32> {
    if ret < 0 {
        Err(errno())
    } else {
        Result::Ok(())
    }
}

fn read_path(path: &str) -> Outcome {
    match std::fs::File::open(path) {
        Result::Ok(mut f) => {
            let mut buf = Vec::new();
            match f.read_to_end(&mut buf) {
                Result::Ok(n) => Ok(format!("{n} bytes")),
                Err(e) => io_outcome(e, "read"),
            }
        }
        Err(e) => io_outcome(e, ""),
    }
}

fn list_path(path: &str) -> Outcome {
    match std::fs::read_dir(path) {
        Result::Ok(entries) => {
            let mut n = 0;
            for e in entries {
                if let Err(e) = e {
                    return io_outcome(e, "readdir");
                }
                n += 1;
            }
            Ok(format!("{n} entries"))
        }
        Err(e) => io_outcome(e, ""),
    }
}

fn write_path(path: &str) -> Outcome {
    match std::fs::write(path, "written by snap-probe\n") {
        Result::Ok(()) => Ok(String::new()),
        Err(e) => io_outcome(e, ""),
    }
}

fn open_flags(path: &str, flags: libc::c_int) -> Outcome {
    let p = cstr(path);
    let fd = unsafe { libc::open(p.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return failed(errno(), "");
    }
    unsafe { libc::close(fd) };
    Ok(String::new())
}

/// Forks and execs `argv`, returning its exit status and stdout.
fn run(argv: &[&str]) -> Result<(i32, String), Outcome> {
    let mut fds = [0; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(Error(format!("pipe2: {}", errno_name(errno()))));
    }
    let args: Vec<CString> = argv.iter().map(|a| cstr(a)).collect();
    let mut ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Error(format!("fork: {}", errno_name(errno()))));
    }
    if pid == 0 {
        unsafe {
            libc::dup2(fds[1], 1);
            libc::execv(ptrs[0], ptrs.as_ptr());
            let e = errno();
            libc::_exit(100 + e.min(100));
        }
    }
    unsafe { libc::close(fds[1]) };
    let mut out = Vec::new();
    let mut pipe = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fds[0]) };
    let _ = pipe.read_to_end(&mut out);
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFSIGNALED(status) {
        return Err(Error(format!(
            "killed by signal {}",
            libc::WTERMSIG(status)
        )));
    }
    let code = libc::WEXITSTATUS(status);
    if code > 100 {
        return Err(failed(code - 100, "at execve"));
    }
    Result::Ok((code, String::from_utf8_lossy(&out).into_owned()))
}

fn status_field(field: &str) -> Outcome {
    let status = match std::fs::read_to_string("/proc/self/status") {
        Result::Ok(s) => s,
        Err(e) => return io_outcome(e, "/proc/self/status"),
    };
    match status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
    {
        Some(v) => Ok(v.trim().to_owned()),
        None => Error(format!("no {field} in /proc/self/status")),
    }
}

fn ids() -> Outcome {
    let cap_eff = match status_field("CapEff") {
        Ok(v) => v,
        other => return other,
    };
    unsafe {
        Ok(format!(
            "uid={} euid={} gid={} egid={} capeff={cap_eff}",
            libc::getuid(),
            libc::geteuid(),
            libc::getgid(),
            libc::getegid()
        ))
    }
}

fn socket(domain: libc::c_int, ty: libc::c_int, proto: libc::c_int) -> Outcome {
    let fd = unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return failed(errno(), "");
    }
    unsafe { libc::close(fd) };
    Ok(String::new())
}

/// An abstract unix address `@name`.
fn abstract_addr(name: &str) -> (libc::sockaddr_un, libc::socklen_t) {
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = name.as_bytes();
    let n = bytes.len().min(addr.sun_path.len() - 1);
    for (i, b) in bytes[..n].iter().enumerate() {
        addr.sun_path[i + 1] = *b as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + 1 + n;
    (addr, len as libc::socklen_t)
}

fn unix_socket(ty: libc::c_int) -> Result<libc::c_int, Outcome> {
    let fd = unsafe { libc::socket(libc::AF_UNIX, ty | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(Error(format!(
            "socket(AF_UNIX): {} (the control failed)",
            errno_name(errno())
        )));
    }
    Result::Ok(fd)
}

fn bind_abstract(fd: libc::c_int, name: &str) -> libc::c_int {
    let (addr, len) = abstract_addr(name);
    unsafe { libc::bind(fd, (&raw const addr).cast(), len) }
}

fn connect_abstract(name: &str) -> Outcome {
    let fd = match unix_socket(libc::SOCK_STREAM) {
        Result::Ok(fd) => fd,
        Err(o) => return o,
    };
    let (addr, len) = abstract_addr(name);
    let r = unsafe { libc::connect(fd, (&raw const addr).cast(), len) };
    let out = if r < 0 {
        failed(errno(), "")
    } else {
        Ok(String::new())
    };
    unsafe { libc::close(fd) };
    out
}

/// Connects a stream socket to the named socket at `path`.
fn connect_unix(path: &str) -> Outcome {
    let fd = match unix_socket(libc::SOCK_STREAM) {
        Result::Ok(fd) => fd,
        Err(o) => return o,
    };
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_bytes();
    if bytes.len() >= addr.sun_path.len() {
        return Error("path too long".into());
    }
    for (i, b) in bytes.iter().enumerate() {
        addr.sun_path[i] = *b as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    let r = unsafe { libc::connect(fd, (&raw const addr).cast(), len) };
    let out = if r < 0 {
        failed(errno(), "")
    } else {
        Ok(String::new())
    };
    unsafe { libc::close(fd) };
    out
}

/// Sends a datagram to the abstract socket `@name`.
fn sendto_abstract(name: &str) -> Outcome {
    let fd = match unix_socket(libc::SOCK_DGRAM) {
        Result::Ok(fd) => fd,
        Err(o) => return o,
    };
    let (addr, len) = abstract_addr(name);
    let r = unsafe {
        libc::sendto(
            fd,
            b"x".as_ptr().cast(),
            1,
            0,
            (&raw const addr).cast(),
            len,
        )
    };
    let out = if r < 0 {
        failed(errno(), "")
    } else {
        Ok(String::new())
    };
    unsafe { libc::close(fd) };
    out
}

/// The open file descriptors other than 0, 1 and 2, with what they are.
fn fds() -> Outcome {
    let entries = match std::fs::read_dir("/proc/self/fd") {
        Result::Ok(e) => e,
        Err(e) => return io_outcome(e, "/proc/self/fd"),
    };
    let mut names: Vec<(i32, String)> = entries
        .flatten()
        .filter_map(|e| {
            let n: i32 = e.file_name().to_str()?.parse().ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            Some((n, target.display().to_string()))
        })
        .filter(|(n, t)| *n > 2 && !t.starts_with("/proc/") && !t.contains("/fd"))
        .collect();
    names.sort();
    let list: Vec<String> = names.iter().map(|(n, t)| format!("{n}:{t}")).collect();
    Ok(if list.is_empty() {
        "none".into()
    } else {
        list.join(",")
    })
}

fn listen_unix() -> Outcome {
    let fd = match unix_socket(libc::SOCK_STREAM) {
        Result::Ok(fd) => fd,
        Err(o) => return o,
    };
    let name = format!("snap-probe-listen-{}", std::process::id());
    let out = if bind_abstract(fd, &name) < 0 {
        Error(format!(
            "bind: {} (the control failed)",
            errno_name(errno())
        ))
    } else {
        sys(unsafe { libc::listen(fd, 1) }.into())
    };
    unsafe { libc::close(fd) };
    out
}

fn listen_tcp() -> Outcome {
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return failed(errno(), "at socket");
    }
    let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    addr.sin_family = libc::AF_INET as libc::sa_family_t;
    addr.sin_addr.s_addr = u32::from_be_bytes([127, 0, 0, 1]).to_be();
    let out = if unsafe {
        libc::bind(
            fd,
            (&raw const addr).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    } < 0
    {
        failed(errno(), "at bind")
    } else if unsafe { libc::listen(fd, 1) } < 0 {
        failed(errno(), "at listen")
    } else {
        Ok(String::new())
    };
    unsafe { libc::close(fd) };
    out
}

fn abstract_dgram_self() -> Outcome {
    let fd = match unix_socket(libc::SOCK_DGRAM) {
        Result::Ok(fd) => fd,
        Err(o) => return o,
    };
    let name = format!("snap-probe-dgram-{}", std::process::id());
    let out = if bind_abstract(fd, &name) < 0 {
        failed(errno(), "at bind")
    } else {
        let (addr, len) = abstract_addr(&name);
        let r = unsafe {
            libc::sendto(
                fd,
                b"x".as_ptr().cast(),
                1,
                0,
                (&raw const addr).cast(),
                len,
            )
        };
        if r < 0 {
            failed(errno(), "at sendto")
        } else {
            Ok(String::new())
        }
    };
    unsafe { libc::close(fd) };
    out
}

/// A file of ours in `/tmp` for the probes that change modes and owners.
fn tmp_file(name: &str) -> Result<CString, Outcome> {
    let path = format!("/tmp/{name}-{}", std::process::id());
    std::fs::write(&path, "x").map_err(|e| Error(format!("cannot create {path}: {e}")))?;
    Result::Ok(cstr(&path))
}

fn syscall_probe(name: &str) -> Option<Outcome> {
    let nonexistent = c"/nonexistent-snap-probe";
    let null = std::ptr::null::<libc::c_void>();
    let out = unsafe {
        match name {
            // Controls.
            "getpid" => Ok(format!("{}", libc::getpid())),
            "uname" => {
                let mut u: libc::utsname = std::mem::zeroed();
                if libc::uname(&mut u) < 0 {
                    failed(errno(), "")
                } else {
                    Ok(CStr::from_ptr(u.sysname.as_ptr())
                        .to_string_lossy()
                        .into_owned())
                }
            }
            "socket-unix" => socket(libc::AF_UNIX, libc::SOCK_STREAM, 0),
            "socketpair" => {
                let mut fds = [0; 2];
                let r = libc::socketpair(
                    libc::AF_UNIX,
                    libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
                    0,
                    fds.as_mut_ptr(),
                );
                if r < 0 {
                    failed(errno(), "")
                } else {
                    libc::close(fds[0]);
                    libc::close(fds[1]);
                    Ok(String::new())
                }
            }
            "bind-abstract" => match unix_socket(libc::SOCK_STREAM) {
                Result::Ok(fd) => {
                    let r = bind_abstract(fd, &format!("snap-probe-bind-{}", std::process::id()));
                    let o = sys(r.into());
                    libc::close(fd);
                    o
                }
                Err(o) => o,
            },
            "abstract-dgram-self" => abstract_dgram_self(),
            "kill-self" => sys(libc::kill(libc::getpid(), 0).into()),
            "fds" => fds(),
            "syslog-read" => {
                let mut buf = [0u8; 256];
                // SYSLOG_ACTION_READ_ALL
                sys(libc::klogctl(3, buf.as_mut_ptr().cast(), buf.len() as libc::c_int).into())
            }

            // Mounts and the root. The arguments make the kernel answer ENOENT or EINVAL if
            // the filter lets the call through.
            "mount" => in_child(|| {
                check(
                    libc::mount(
                        c"tmpfs".as_ptr(),
                        nonexistent.as_ptr(),
                        c"tmpfs".as_ptr(),
                        0,
                        null,
                    )
                    .into(),
                )
            }),
            "mount-tmpfs-tmp" => in_child(|| {
                check(
                    libc::mount(
                        c"tmpfs".as_ptr(),
                        c"/tmp".as_ptr(),
                        c"tmpfs".as_ptr(),
                        0,
                        null,
                    )
                    .into(),
                )
            }),
            "umount2" => in_child(|| check(libc::umount2(c"/tmp".as_ptr(), 0x4000_0000).into())),
            "pivot_root" => in_child(|| {
                check(libc::syscall(
                    libc::SYS_pivot_root,
                    nonexistent.as_ptr(),
                    nonexistent.as_ptr(),
                ))
            }),
            "chroot" => in_child(|| check(libc::chroot(nonexistent.as_ptr()).into())),
            "open_tree" => in_child(|| {
                check(libc::syscall(
                    libc::SYS_open_tree,
                    libc::AT_FDCWD,
                    nonexistent.as_ptr(),
                    0,
                ))
            }),
            "fsopen" => sys(libc::syscall(
                libc::SYS_fsopen,
                c"snap-probe-nofs".as_ptr(),
                0,
            )),
            "move_mount" => sys(libc::syscall(
                libc::SYS_move_mount,
                -1,
                c"".as_ptr(),
                -1,
                c"".as_ptr(),
                0,
            )),
            "mount_setattr" => sys(libc::syscall(
                libc::SYS_mount_setattr,
                -1,
                c"".as_ptr(),
                0,
                null,
                0,
            )),

            // Namespaces. Creating a user namespace needs no privilege: a bypass succeeds.
            "unshare-user" => in_child(|| check(libc::unshare(libc::CLONE_NEWUSER).into())),
            "unshare-mount" => in_child(|| check(libc::unshare(libc::CLONE_NEWNS).into())),
            "unshare-user-mount" => {
                in_child(|| check(libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS).into()))
            }
            "unshare-net" => in_child(|| check(libc::unshare(libc::CLONE_NEWNET).into())),
            "setns" => in_child(|| check(libc::setns(-1, 0).into())),
            "clone-newuser" => in_child(|| {
                let flags = (libc::CLONE_NEWUSER | libc::SIGCHLD) as libc::c_long;
                let pid = libc::syscall(libc::SYS_clone, flags, 0, 0, 0, 0);
                if pid == 0 {
                    libc::_exit(0);
                }
                if pid > 0 {
                    libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), 0);
                }
                check(pid)
            }),
            "clone3" => sys(libc::syscall(libc::SYS_clone3, null, 0)),
            "openat2" => sys(libc::syscall(
                libc::SYS_openat2,
                libc::AT_FDCWD,
                c"/".as_ptr(),
                null,
                0,
            )),

            // Other processes and the kernel.
            "ptrace-traceme" => {
                in_child(|| check(libc::ptrace(libc::PTRACE_TRACEME, 0, null, null)))
            }
            "ptrace-bogus" => sys(libc::ptrace(0x7f00, 0x7fff_fff0, null, null)),
            "process-vm-readv" => {
                let src = [7u8; 8];
                let mut dst = [0u8; 8];
                let local = libc::iovec {
                    iov_base: dst.as_mut_ptr().cast(),
                    iov_len: 8,
                };
                let remote = libc::iovec {
                    iov_base: src.as_ptr() as *mut libc::c_void,
                    iov_len: 8,
                };
                sys(
                    libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0)
                        as libc::c_long,
                )
            }
            "kill-init" => sys(libc::kill(1, 0).into()),
            "pidfd-signal-init" => {
                let fd = libc::syscall(libc::SYS_pidfd_open, 1, 0);
                if fd < 0 {
                    failed(errno(), "at pidfd_open")
                } else {
                    let r = libc::syscall(libc::SYS_pidfd_send_signal, fd, 0, null, 0);
                    let o = if r < 0 {
                        failed(errno(), "at pidfd_send_signal")
                    } else {
                        Ok(String::new())
                    };
                    libc::close(fd as libc::c_int);
                    o
                }
            }
            "bpf" => sys(libc::syscall(libc::SYS_bpf, 0xffff, null, 0)),
            "perf_event_open" => sys(libc::syscall(libc::SYS_perf_event_open, null, 0, -1, -1, 0)),
            "kexec_load" => sys(libc::syscall(
                libc::SYS_kexec_load,
                0,
                0,
                null,
                0xffff_0000u64,
            )),
            "kexec_file_load" => sys(libc::syscall(
                libc::SYS_kexec_file_load,
                -1,
                -1,
                0,
                null,
                0xffffu64,
            )),
            "init_module" => sys(libc::syscall(libc::SYS_init_module, null, 0, c"".as_ptr())),
            "finit_module" => sys(libc::syscall(libc::SYS_finit_module, -1, c"".as_ptr(), 0)),
            "delete_module" => sys(libc::syscall(
                libc::SYS_delete_module,
                c"snap_probe_none".as_ptr(),
                0,
            )),
            "keyctl" => sys(libc::syscall(libc::SYS_keyctl, 0x7fff_ffff, 0, 0, 0, 0)),
            "add_key" => sys(libc::syscall(
                libc::SYS_add_key,
                c"snap-probe-no-such-type".as_ptr(),
                c"d".as_ptr(),
                null,
                0,
                libc::KEY_SPEC_PROCESS_KEYRING,
            )),
            "request_key" => sys(libc::syscall(
                libc::SYS_request_key,
                c"user".as_ptr(),
                c"snap-probe-none".as_ptr(),
                null,
                0,
            )),
            // Invalid magic numbers: the kernel answers EINVAL, never reboots.
            "reboot" => sys(libc::syscall(
                libc::SYS_reboot,
                0x0bad_0bad,
                0x0bad_0bad,
                0x0bad_0bad,
                null,
            )),
            "swapon" => sys(libc::swapon(nonexistent.as_ptr(), 0).into()),
            "swapoff" => sys(libc::swapoff(nonexistent.as_ptr()).into()),
            "acct" => sys(libc::acct(nonexistent.as_ptr()).into()),
            "io_uring_setup" => sys(libc::syscall(libc::SYS_io_uring_setup, 1, null)),
            "userfaultfd" => {
                // UFFD_USER_MODE_ONLY: allowed to anyone by the kernel.
                let fd = libc::syscall(libc::SYS_userfaultfd, 1);
                if fd >= 0 {
                    libc::close(fd as libc::c_int);
                }
                sys(fd)
            }
            "name_to_handle_at" => sys(libc::syscall(
                libc::SYS_name_to_handle_at,
                libc::AT_FDCWD,
                c"/".as_ptr(),
                null,
                null,
                0,
            )),
            "open_by_handle_at" => sys(libc::syscall(libc::SYS_open_by_handle_at, -1, null, 0)),
            "fanotify_init" => sys(libc::syscall(libc::SYS_fanotify_init, 0, 0)),
            "clock_settime" => sys(libc::syscall(
                libc::SYS_clock_settime,
                libc::CLOCK_REALTIME,
                null,
            )),
            "adjtimex" => sys(libc::syscall(libc::SYS_adjtimex, null)),
            // Longer than a host name may be: EINVAL if it got through, never a rename.
            "sethostname" => sys(libc::syscall(libc::SYS_sethostname, c"x".as_ptr(), 4096)),
            "quotactl" => sys(libc::syscall(libc::SYS_quotactl, 0, null, 0, null)),
            "vhangup" => sys(libc::syscall(libc::SYS_vhangup)),
            #[cfg(target_arch = "x86_64")]
            "iopl" => sys(libc::syscall(libc::SYS_iopl, 3)),
            #[cfg(target_arch = "x86_64")]
            "ioperm" => sys(libc::syscall(libc::SYS_ioperm, 0x80, 1, 1)),
            "ioctl-tiocsti" => {
                let c = b'x';
                sys(libc::ioctl(0, libc::TIOCSTI, &c).into())
            }

            // Sockets: only unix sockets without the network interfaces.
            "socket-inet" => socket(libc::AF_INET, libc::SOCK_STREAM, 0),
            "socket-inet6" => socket(libc::AF_INET6, libc::SOCK_DGRAM, 0),
            "socket-raw" => socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP),
            "socket-packet" => socket(libc::AF_PACKET, libc::SOCK_RAW, 0x0300), // htons(ETH_P_ALL)
            "socket-netlink" => socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE),
            "socket-netlink-audit" => socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_AUDIT),
            "socket-alg" => socket(libc::AF_ALG, libc::SOCK_SEQPACKET, 0),
            "socket-vsock" => socket(libc::AF_VSOCK, libc::SOCK_STREAM, 0),
            "listen-tcp" => listen_tcp(),
            "listen-unix" => listen_unix(),
            "accept4" => {
                sys(libc::accept4(-1, std::ptr::null_mut(), std::ptr::null_mut(), 0).into())
            }

            // Files: set*id bits, devices, owners.
            "chmod-suid" => match tmp_file("snap-probe-chmod") {
                Result::Ok(p) => {
                    let o = sys(libc::chmod(p.as_ptr(), 0o4755).into());
                    libc::unlink(p.as_ptr());
                    o
                }
                Err(o) => o,
            },
            "create-suid" => {
                let p = cstr(&format!("/tmp/snap-probe-creat-{}", std::process::id()));
                let fd = libc::open(
                    p.as_ptr(),
                    libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC,
                    0o4755,
                );
                if fd >= 0 {
                    libc::close(fd);
                    libc::unlink(p.as_ptr());
                }
                sys(fd.into())
            }
            "mknod-char" => {
                let p = cstr(&format!("/tmp/snap-probe-null-{}", std::process::id()));
                let r = libc::mknod(p.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3));
                if r == 0 {
                    libc::unlink(p.as_ptr());
                }
                sys(r.into())
            }
            "chown-other" => match tmp_file("snap-probe-chown") {
                Result::Ok(p) => {
                    let o = sys(libc::chown(p.as_ptr(), 1, 1).into());
                    libc::unlink(p.as_ptr());
                    o
                }
                Err(o) => o,
            },
            "setuid0" => sys(libc::setuid(0).into()),
            _ => return None,
        }
    };
    Some(out)
}

fn probe(token: &str) -> Outcome {
    let (name, arg) = match token.split_once('=') {
        Some((n, a)) => (n, Some(a)),
        None => (token, None),
    };
    let with_env = |var: &str, f: &dyn Fn(&str) -> Outcome| match env(var) {
        Result::Ok(v) => f(&v),
        Err(o) => o,
    };
    match (name, arg) {
        ("read", Some(p)) => read_path(p),
        ("list", Some(p)) => list_path(p),
        ("write", Some(p)) => write_path(p),
        ("open", Some(p)) => open_flags(p, libc::O_RDONLY | libc::O_NONBLOCK),
        ("open-write", Some(p)) => open_flags(p, libc::O_WRONLY | libc::O_NONBLOCK),
        ("mkdir", Some(p)) => match std::fs::create_dir(p) {
            Result::Ok(()) => Ok(String::new()),
            Err(e) => io_outcome(e, ""),
        },
        ("chmod", Some(p)) => sys(unsafe { libc::chmod(cstr(p).as_ptr(), 0o666) }.into()),
        ("utime", Some(p)) => {
            sys(
                unsafe { libc::utimensat(libc::AT_FDCWD, cstr(p).as_ptr(), std::ptr::null(), 0) }
                    .into(),
            )
        }
        ("setxattr", Some(p)) => sys(unsafe {
            libc::setxattr(
                cstr(p).as_ptr(),
                c"user.snap-probe".as_ptr(),
                b"1".as_ptr().cast(),
                1,
                0,
            )
        }
        .into()),
        ("chown-root", Some(p)) => sys(unsafe { libc::chown(cstr(p).as_ptr(), 0, 0) }.into()),
        ("truncate", Some(p)) => sys(unsafe { libc::truncate(cstr(p).as_ptr(), 0) }.into()),
        ("unlink", Some(p)) => sys(unsafe { libc::unlink(cstr(p).as_ptr()) }.into()),
        ("rename", Some(p)) => {
            sys(
                unsafe { libc::rename(cstr(p).as_ptr(), cstr(&format!("{p}.moved")).as_ptr()) }
                    .into(),
            )
        }
        ("connect-unix", Some(p)) => connect_unix(p),
        ("sendto-abstract", Some(n)) => sendto_abstract(n),
        ("tgkill", Some(pid)) => match pid.parse::<libc::pid_t>() {
            Result::Ok(pid) => sys(unsafe { libc::syscall(libc::SYS_tgkill, pid, pid, 0) }),
            Err(_) => Error(format!("bad pid {pid:?}")),
        },
        ("sigqueue", Some(pid)) => match pid.parse::<libc::pid_t>() {
            Result::Ok(pid) => {
                let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
                info.si_signo = 0;
                info.si_code = libc::SI_QUEUE;
                sys(unsafe { libc::syscall(libc::SYS_rt_sigqueueinfo, pid, 0, &raw mut info) })
            }
            Err(_) => Error(format!("bad pid {pid:?}")),
        },
        ("readlink", Some(p)) => match std::fs::read_link(p) {
            Result::Ok(t) => Ok(t.display().to_string()),
            Err(e) => io_outcome(e, ""),
        },
        ("symlink-read", Some(p)) => {
            let link = format!("/tmp/snap-probe-link-{}", std::process::id());
            let _ = std::fs::remove_file(&link);
            if let Err(e) = std::os::unix::fs::symlink(p, &link) {
                return Error(format!("cannot make the symlink: {e}"));
            }
            let o = read_path(&link);
            let _ = std::fs::remove_file(&link);
            o
        }
        ("exec", Some(p)) => match run(&[p]) {
            Result::Ok((code, _)) => Ok(format!("exit {code}")),
            Err(o) => o,
        },
        ("read-snap", None) => with_env("SNAP", &|s| read_path(&format!("{s}/meta/snap.yaml"))),
        ("write-snap", None) => with_env("SNAP", &|s| write_path(&format!("{s}/snap-probe-file"))),
        ("write-snap-data", None) => with_env("SNAP_DATA", &|s| {
            write_path(&format!("{s}/snap-probe-file"))
        }),
        ("write-snap-common", None) => with_env("SNAP_COMMON", &|s| {
            write_path(&format!("{s}/snap-probe-file"))
        }),
        ("write-user-data", None) => with_env("SNAP_USER_DATA", &|s| {
            write_path(&format!("{s}/snap-probe-file"))
        }),
        ("write-tmp", Some(n)) => write_path(&format!("/tmp/{n}")),
        ("status", Some(f)) => status_field(f),
        ("ids", None) => ids(),
        ("suid-exec", None) => {
            with_env(
                "SNAP",
                &|s| match run(&[&format!("{s}/bin/suid-probe"), "ids"]) {
                    Result::Ok((0, out)) => match out.trim().strip_prefix("ids ok ") {
                        Some(ids) => Ok(ids.to_owned()),
                        None => Error(format!("unexpected output {out:?}")),
                    },
                    Result::Ok((code, out)) => Error(format!("exit {code}: {out:?}")),
                    Err(o) => o,
                },
            )
        }
        ("kill", Some("ppid")) => sys(unsafe { libc::kill(libc::getppid(), 0) }.into()),
        ("kill", Some(pid)) => match pid.parse::<libc::pid_t>() {
            Result::Ok(pid) => sys(unsafe { libc::kill(pid, 0) }.into()),
            Err(_) => Error(format!("bad pid {pid:?}")),
        },
        ("ptrace-seize", Some(pid)) | ("ptrace-attach", Some(pid)) => {
            let pid = match pid {
                "ppid" => unsafe { libc::getppid() },
                p => match p.parse::<libc::pid_t>() {
                    Result::Ok(pid) => pid,
                    Err(_) => return Error(format!("bad pid {pid:?}")),
                },
            };
            // SEIZE stops nothing even if it got through; ATTACH is detached again at once.
            let req = if name == "ptrace-seize" {
                libc::PTRACE_SEIZE
            } else {
                libc::PTRACE_ATTACH
            };
            in_child(move || unsafe {
                let null = std::ptr::null::<libc::c_void>();
                let r = libc::ptrace(req, pid, null, null);
                if r >= 0 && req == libc::PTRACE_ATTACH {
                    libc::waitpid(pid, std::ptr::null_mut(), libc::__WALL);
                    libc::ptrace(libc::PTRACE_DETACH, pid, null, null);
                }
                check(r)
            })
        }
        ("connect-abstract", Some(n)) => connect_abstract(n),
        (_, None) => match syscall_probe(name) {
            Some(o) => o,
            None => Error("unknown probe".into()),
        },
        _ => Error("unknown probe".into()),
    }
}

fn main() {
    for arg in std::env::args_os().skip(1) {
        let token = String::from_utf8_lossy(arg.as_bytes()).into_owned();
        let line = match probe(&token) {
            Ok(d) if d.is_empty() => format!("{token} ok"),
            Ok(d) => format!("{token} ok {d}"),
            Denied(e, d) if d.is_empty() => format!("{token} denied {}", errno_name(e)),
            Denied(e, d) => format!("{token} denied {} {d}", errno_name(e)),
            Error(d) => format!("{token} error {d}"),
        };
        // One line at a time, so that a probe that kills the process leaves the others' lines.
        println!("{line}");
    }
}
