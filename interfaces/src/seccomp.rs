//! The default seccomp policy of strict and devmode apps: snapd's default template (the
//! syscalls any snap may use, with the same argument rules), less what the launcher's
//! sandbox must deny, for the architecture the profile is computed for.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use crate::arch::Arch;
use crate::grants::Grants;
use crate::profile::{ArgCond, ArgRule, ErrnoRule, SandboxMode, SeccompPolicy};

/// Kernel ABI values the rules compare arguments with. They are the same on x86_64, aarch64
/// and riscv64 (the tests check them against libc).
pub mod consts {
    pub const AF_UNIX: u32 = 1;
    pub const AF_INET: u32 = 2;
    pub const AF_INET6: u32 = 10;
    pub const AF_NETLINK: u32 = 16;
    pub const SOCK_STREAM: u32 = 1;
    pub const SOCK_DGRAM: u32 = 2;
    pub const SOCK_RAW: u32 = 3;
    pub const SOCK_SEQPACKET: u32 = 5;
    /// The socket type without `SOCK_NONBLOCK`/`SOCK_CLOEXEC`.
    pub const SOCK_TYPE_MASK: u32 = 0xf;
    pub const NETLINK_ROUTE: u32 = 0;
    pub const NETLINK_SOCK_DIAG: u32 = 4;
    pub const NETLINK_KOBJECT_UEVENT: u32 = 15;
    pub const NETLINK_GENERIC: u32 = 16;
    pub const AF_PACKET: u32 = 17;
    pub const IPPROTO_ICMP: u32 = 1;
    pub const IPPROTO_ICMPV6: u32 = 58;

    /// quotactl() commands (`QCMD(cmd, type)` puts them above the 8 bits of the type).
    pub const Q_GETFMT: u32 = 0x80_0004;
    pub const Q_GETINFO: u32 = 0x80_0005;
    pub const Q_GETQUOTA: u32 = 0x80_0007;
    /// `XQM_CMD(3)`, `XQM_CMD(5)`: `('X' << 8) + n`.
    pub const Q_XGETQUOTA: u32 = 0x5803;
    pub const Q_XGETQSTAT: u32 = 0x5805;

    pub const TIOCSTI: u32 = 0x5412;
    pub const TIOCLINUX: u32 = 0x541c;

    pub const S_ISUID: u32 = 0o4000;
    pub const S_ISGID: u32 = 0o2000;
    pub const S_IFMT: u32 = 0o170000;
    pub const S_IFREG: u32 = 0o100000;
    pub const S_IFIFO: u32 = 0o010000;
    pub const S_IFSOCK: u32 = 0o140000;

    pub const O_CREAT: u32 = 0o100;
    /// `O_TMPFILE` without `O_DIRECTORY`: the bit that makes an open create a file.
    pub const O_TMPFILE_BIT: u32 = 0o20000000;
    /// `O_NOTIFICATION_PIPE` is `O_EXCL` for pipe2().
    pub const O_NOTIFICATION_PIPE: u32 = 0o200;

    pub const KCMP_FILE: u32 = 0;
    pub const PRIO_PROCESS: u32 = 0;

    pub const CLONE_NEWNS: u32 = 0x0002_0000;
    pub const CLONE_NEWCGROUP: u32 = 0x0200_0000;
    pub const CLONE_NEWUTS: u32 = 0x0400_0000;
    pub const CLONE_NEWIPC: u32 = 0x0800_0000;
    pub const CLONE_NEWUSER: u32 = 0x1000_0000;
    pub const CLONE_NEWPID: u32 = 0x2000_0000;
    pub const CLONE_NEWNET: u32 = 0x4000_0000;
    /// Every namespace flag clone() takes (`CLONE_NEWTIME` only exists for clone3/unshare).
    pub const CLONE_NAMESPACES: u32 = CLONE_NEWNS
        | CLONE_NEWCGROUP
        | CLONE_NEWUTS
        | CLONE_NEWIPC
        | CLONE_NEWUSER
        | CLONE_NEWPID
        | CLONE_NEWNET;

    pub const EPERM: u32 = 1;
    pub const ENOSYS: u32 = 38;
}

use consts::*;

/// Syscalls of snapd's default template allowed whatever their arguments, followed by
/// `bind` (snapd adds it where AppArmor is missing, which is always the case here) and the
/// set*id family snapd allows to snaps without `system-usernames`. Names of other
/// architectures (32-bit, ARM private calls) are in the list and dropped per architecture.
///
/// Left out of the template on purpose: `chroot` (sandbox escape helper; snapd allows it
/// because AppArmor mediates it), `clone3` and `openat2` (see [`errno_rules`]), and everything
/// with argument rules (see [`default_rules`]).
#[rustfmt::skip]
const TEMPLATE_ALLOW: &[&str] = &[
    "access", "faccessat", "faccessat2",
    "alarm", "brk",
    "breakpoint", "cacheflush", "get_tls", "set_tls", "usr26", "usr32",
    "map_shadow_stack",
    "capget", "capset",
    "chdir", "fchdir",
    "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
    "clock_nanosleep", "clock_nanosleep_time64",
    "close", "close_range",
    "connect",
    "dup", "dup2", "dup3",
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
    "epoll_pwait2", "epoll_wait", "epoll_wait_old",
    "eventfd", "eventfd2",
    "execve", "execveat",
    "_exit", "exit", "exit_group",
    "fallocate",
    "fcntl", "fcntl64", "flock", "fork", "ftime",
    "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake",
    "get_mempolicy", "get_robust_list", "get_thread_area", "getcpu", "getcwd",
    "getdents", "getdents64",
    "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
    "getgroups", "getgroups32", "getitimer", "getpgid", "getpgrp", "getpid", "getppid",
    "pidfd_open",
    "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32",
    "getrlimit", "ugetrlimit", "getrusage", "getsid", "gettid", "gettimeofday",
    "getuid", "getuid32",
    "getxattr", "fgetxattr", "lgetxattr", "getxattrat",
    "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
    "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
    "io_setup", "io_submit", "ioprio_get",
    "ipc", "kill",
    "link", "linkat",
    "listxattr", "llistxattr", "flistxattr", "listxattrat",
    "lseek", "llseek", "_llseek", "lstat", "lstat64",
    "madvise", "fadvise64", "fadvise64_64", "arm_fadvise64_64",
    "mbind", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat",
    "mlock", "mlock2", "mlockall", "mmap", "mmap2",
    "modify_ldt", "mprotect", "mremap",
    "msgctl", "msgget", "msgrcv", "msgsnd",
    "msync", "munlock", "munlockall", "munmap",
    "nanosleep",
    "pause", "personality", "pipe", "poll", "ppoll", "ppoll_time64",
    "prctl", "arch_prctl",
    "read", "pread", "pread64", "preadv", "readv", "readahead", "readdir", "readlink",
    "readlinkat",
    "recv", "recvfrom", "recvmsg", "recvmmsg", "recvmmsg_time64",
    "remap_file_pages",
    "removexattr", "fremovexattr", "lremovexattr", "removexattrat",
    "rename", "renameat", "renameat2",
    "restart_syscall", "rmdir",
    "rseq", "rseq_slice_yield",
    "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
    "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
    "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
    "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setscheduler", "sched_yield",
    "seccomp",
    "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
    "select", "_newselect", "pselect", "pselect6", "pselect6_time64",
    "semctl", "semget", "semop", "semtimedop", "semtimedop_time64",
    "send", "sendto", "sendmsg", "sendmmsg",
    "sendfile", "sendfile64",
    "setpgid", "setpgrp",
    "set_thread_area", "setitimer",
    "setrlimit", "prlimit64",
    "set_mempolicy", "set_robust_list", "setsid", "set_tid_address",
    "setxattr", "fsetxattr", "lsetxattr", "setxattrat",
    "shmat", "shmctl", "shmdt", "shmget",
    "shutdown",
    "signal", "sigaction", "signalfd", "signalfd4", "sigaltstack", "sigpending",
    "sigprocmask", "sigreturn", "sigsuspend", "sigtimedwait", "sigwaitinfo",
    "getsockopt", "setsockopt", "getsockname", "getpeername",
    "socketpair",
    "splice",
    "stat", "stat64", "fstat", "fstat64", "fstatat64", "newfstatat", "oldfstat", "oldlstat",
    "oldstat", "statx",
    "statfs", "statfs64", "fstatfs", "fstatfs64", "statvfs", "fstatvfs", "ustat",
    "symlink", "symlinkat",
    "sync", "sync_file_range", "sync_file_range2", "arm_sync_file_range", "fdatasync",
    "fsync", "syncfs",
    "sysinfo", "syslog", "tee", "tgkill", "time",
    "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
    "timer_settime", "timer_settime64",
    "timerfd", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64",
    "times", "tkill",
    "truncate", "truncate64", "ftruncate", "ftruncate64",
    "umask",
    "uname", "olduname", "oldolduname",
    "unlink", "unlinkat",
    "utime", "utimensat", "utimensat_time64", "utimes", "futimesat",
    "vfork", "vmsplice",
    "wait4", "oldwait4", "waitpid", "waitid",
    "write", "writev", "pwrite", "pwrite64", "pwritev", "pwritev2",
    // snapd's workaround for systems without AppArmor (Go probes IPv6 support with bind).
    "bind",
    // Without capabilities these only move between the caller's own ids.
    "setgid", "setgid32", "setregid", "setregid32", "setresgid", "setresgid32",
    "setresuid", "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32",
];

/// Syscalls the sandbox must never allow by default, whatever the template says: they undo
/// the sandbox (namespaces, mounts, root changes), reach into other processes or the kernel,
/// or have a history of being abused from sandboxes. Interfaces may grant some later.
#[rustfmt::skip]
pub const DENIED: &[&str] = &[
    "mount", "umount", "umount2", "unshare", "setns", "pivot_root", "chroot",
    "ptrace", "process_vm_readv", "process_vm_writev",
    "bpf", "perf_event_open", "userfaultfd",
    "kexec_load", "kexec_file_load", "reboot",
    "init_module", "finit_module", "delete_module", "create_module",
    "keyctl", "add_key", "request_key",
    "swapon", "swapoff",
    "open_by_handle_at", "name_to_handle_at",
    "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "fanotify_init", "fanotify_mark",
    "acct", "quotactl", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "iopl", "ioperm", "vhangup", "uselib", "lookup_dcookie",
    "sethostname", "setdomainname",
    "listen", "accept", "accept4",
    "clone3", "openat2",
];

/// The no-setuid/setgid-bits condition on a mode argument.
fn no_setid(arg: u8) -> ArgCond {
    ArgCond::u32(arg, &masked_octal(S_ISUID | S_ISGID), 0)
}

/// `masked-eq` spelled in octal, as modes and open flags are.
fn masked_octal(mask: u32) -> String {
    format!("masked-eq:{mask:#o}")
}

fn masked_hex(mask: u32) -> String {
    format!("masked-eq:{mask:#x}")
}

fn rule(syscall: &str, conds: Vec<ArgCond>) -> ArgRule {
    ArgRule::all(syscall, conds).expect("rules have conditions")
}

/// The template's argument-filtered syscalls, and the rules this sandbox adds (`clone`
/// without namespaces, `socket` for unix sockets only).
pub fn default_rules() -> Vec<ArgRule> {
    let mut rules = Vec::new();
    let root = 0u32;
    let unchanged = u32::MAX; // (uid_t)-1
    // snapd's template: chown only to root (the daemons' user) or leaving ids unchanged.
    for (syscall, owner) in [
        ("chown", 1),
        ("chown32", 1),
        ("fchown", 1),
        ("fchown32", 1),
        ("lchown", 1),
        ("lchown32", 1),
        ("fchownat", 2),
    ] {
        for (uid, gid) in [(root, root), (root, unchanged), (unchanged, root)] {
            rules.push(rule(
                syscall,
                vec![
                    ArgCond::u32(owner, "eq", uid),
                    ArgCond::u32(owner + 1, "eq", gid),
                ],
            ));
        }
    }
    // No setuid/setgid bits, not by chmod, nor when creating files.
    for (syscall, mode) in [
        ("chmod", 1),
        ("fchmod", 1),
        ("fchmodat", 2),
        ("fchmodat2", 2),
        ("creat", 1),
    ] {
        rules.push(rule(syscall, vec![no_setid(mode)]));
    }
    for (syscall, flags) in [("open", 1), ("openat", 2)] {
        // Either the call creates nothing, or the mode it creates with has no set*id bit.
        rules.push(rule(
            syscall,
            vec![ArgCond::u32(
                flags,
                &masked_octal(O_CREAT | O_TMPFILE_BIT),
                0,
            )],
        ));
        rules.push(rule(syscall, vec![no_setid(flags + 1)]));
    }
    // Regular files, fifos and sockets only (type 0 means a regular file), no set*id bits.
    for (syscall, mode) in [("mknod", 1), ("mknodat", 2)] {
        for ty in [0, S_IFREG, S_IFIFO, S_IFSOCK] {
            rules.push(rule(
                syscall,
                vec![ArgCond::u32(
                    mode,
                    &masked_octal(S_IFMT | S_ISUID | S_ISGID),
                    ty,
                )],
            ));
        }
    }
    // Faking terminal input.
    rules.push(rule(
        "ioctl",
        vec![
            ArgCond::u32(1, "ne", TIOCSTI),
            ArgCond::u32(1, "ne", TIOCLINUX),
        ],
    ));
    // Flags not yet defined must be 0.
    rules.push(rule("cachestat", vec![ArgCond::u32(3, "eq", 0)]));
    rules.push(rule("mseal", vec![ArgCond::u64(2, "eq", 0)]));
    rules.push(rule("copy_file_range", vec![ArgCond::u32(5, "eq", 0)]));
    rules.push(rule(
        "pipe2",
        vec![ArgCond::u32(1, &masked_octal(O_NOTIFICATION_PIPE), 0)],
    ));
    rules.push(rule("kcmp", vec![ArgCond::u32(2, "eq", KCMP_FILE)]));
    // Only lowering one's own priority.
    rules.push(rule("nice", vec![ArgCond::u32(0, "le", 19)]));
    rules.push(rule(
        "setpriority",
        vec![
            ArgCond::u32(0, "eq", PRIO_PROCESS),
            ArgCond::u32(1, "eq", 0),
            ArgCond::u32(2, "le", 19),
        ],
    ));
    // Only for the calling thread.
    rules.push(rule("sched_setaffinity", vec![ArgCond::u32(0, "eq", 0)]));
    rules.push(rule("sched_setparam", vec![ArgCond::u32(0, "eq", 0)]));
    // Threads and processes, no new namespaces (the kernel reads the low 32 bits).
    rules.push(rule(
        "clone",
        vec![ArgCond::u32(0, &masked_hex(CLONE_NAMESPACES), 0)],
    ));
    // Unix sockets; other families come with the network interfaces.
    rules.push(rule("socket", vec![ArgCond::u32(0, "eq", AF_UNIX)]));
    rules
}

/// Syscalls that fail with a chosen errno instead of EPERM.
///
/// * `clone3` takes its flags behind a pointer, which seccomp cannot read, so allowing it
///   would allow new namespaces. It fails with ENOSYS, on which glibc (posix_spawn,
///   pthread_create) and Rust's std fall back to `clone`, whose flags the filter checks;
///   EPERM would be taken as a real failure.
/// * `openat2` takes its mode behind a pointer too (a way around the set*id rules), and
///   callers fall back to `openat` on ENOSYS. Strict only: devmode denies nothing.
pub fn errno_rules(mode: SandboxMode) -> Vec<ErrnoRule> {
    let fail = |syscall: &str| ErrnoRule {
        syscall: syscall.to_owned(),
        errno: ENOSYS,
    };
    match mode {
        SandboxMode::Strict => vec![fail("clone3"), fail("openat2")],
        SandboxMode::Devmode => vec![fail("clone3")],
        SandboxMode::Classic => Vec::new(),
    }
}

/// Whether seccompiler knows `name` on `arch`.
pub fn is_known_syscall(name: &str, arch: Arch) -> bool {
    let json = serde_json::json!({
        "probe": {
            "mismatch_action": "allow",
            "match_action": "log",
            "filter": [{ "syscall": name }],
        }
    });
    seccompiler::compile_from_json(json.to_string().as_bytes(), arch.target()).is_ok()
}

/// Every name of the default policy (allowed, argument-filtered, failed with an errno), and
/// whether `arch` has it. Computed once per architecture.
fn default_names(arch: Arch) -> &'static BTreeMap<String, bool> {
    static CACHE: [OnceLock<BTreeMap<String, bool>>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let slot = match arch {
        Arch::X86_64 => &CACHE[0],
        Arch::Aarch64 => &CACHE[1],
        Arch::Riscv64 => &CACHE[2],
    };
    slot.get_or_init(|| {
        let mut names: BTreeSet<String> = TEMPLATE_ALLOW.iter().map(|n| n.to_string()).collect();
        names.extend(default_rules().into_iter().map(|r| r.syscall));
        names.extend(
            errno_rules(SandboxMode::Strict)
                .into_iter()
                .map(|r| r.syscall),
        );
        names
            .into_iter()
            .map(|n| {
                let known = is_known_syscall(&n, arch);
                (n, known)
            })
            .collect()
    })
}

/// [`is_known_syscall`], answered from the cache for the default policy's names.
pub(crate) fn is_known(name: &str, arch: Arch) -> bool {
    match default_names(arch).get(name) {
        Some(known) => *known,
        None => is_known_syscall(name, arch),
    }
}

/// The names of the default policy that `arch` does not have, left out of its profiles.
pub fn unknown_default_syscalls(arch: Arch) -> Vec<String> {
    default_names(arch)
        .iter()
        .filter(|(_, known)| !**known)
        .map(|(n, _)| n.clone())
        .collect()
}

/// No filter (classic): its program is empty.
pub(crate) fn unfiltered() -> SeccompPolicy {
    SeccompPolicy {
        default_action: "allow".into(),
        ..SeccompPolicy::default()
    }
}

/// The seccomp policy of an app in `mode` on `arch`, with `grants` added.
pub(crate) fn policy(mode: SandboxMode, arch: Arch, grants: &Grants) -> SeccompPolicy {
    let default_action = match mode {
        SandboxMode::Strict => "errno",
        SandboxMode::Devmode => "log",
        SandboxMode::Classic => return unfiltered(),
    };
    let is_known = |name: &str| is_known(name, arch);

    let mut allow: BTreeSet<String> = TEMPLATE_ALLOW
        .iter()
        .filter(|n| is_known(n))
        .map(|n| n.to_string())
        .collect();
    allow.extend(grants.syscalls.iter().filter(|n| is_known(n)).cloned());

    let mut allow_if = Vec::new();
    for r in default_rules()
        .into_iter()
        .chain(grants.syscall_rules.iter().cloned())
    {
        if is_known(&r.syscall) && !allow.contains(&r.syscall) && !allow_if.contains(&r) {
            allow_if.push(r);
        }
    }
    let errno = errno_rules(mode)
        .into_iter()
        .filter(|r| is_known(&r.syscall))
        .collect();
    SeccompPolicy {
        default_action: default_action.into(),
        allow: allow.into_iter().collect(),
        allow_if,
        errno,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_names(p: &SeccompPolicy) -> Vec<&str> {
        p.allow
            .iter()
            .map(String::as_str)
            .chain(p.allow_if.iter().map(|r| r.syscall.as_str()))
            .chain(p.errno.iter().map(|r| r.syscall.as_str()))
            .collect()
    }

    #[test]
    fn denied_syscalls_are_never_allowed() {
        for arch in [Arch::X86_64, Arch::Aarch64, Arch::Riscv64] {
            for mode in [SandboxMode::Strict, SandboxMode::Devmode] {
                let p = policy(mode, arch, &Grants::none());
                for name in DENIED {
                    assert!(!p.allow.iter().any(|a| a == name), "{name} allowed");
                    assert!(
                        !p.allow_if.iter().any(|r| r.syscall == *name),
                        "{name} allowed with arguments"
                    );
                }
            }
        }
        assert!(!TEMPLATE_ALLOW.iter().any(|n| DENIED.contains(n)));
        assert!(
            !default_rules()
                .iter()
                .any(|r| DENIED.contains(&r.syscall.as_str()))
        );
    }

    #[test]
    fn clone3_and_openat2_fail_with_enosys() {
        let p = policy(SandboxMode::Strict, Arch::X86_64, &Grants::none());
        let failing: Vec<(&str, u32)> = p
            .errno
            .iter()
            .map(|r| (r.syscall.as_str(), r.errno))
            .collect();
        assert_eq!(failing, [("clone3", ENOSYS), ("openat2", ENOSYS)]);
        let p = policy(SandboxMode::Devmode, Arch::X86_64, &Grants::none());
        assert_eq!(p.errno.len(), 1);
        assert_eq!(p.default_action, "log");
    }

    #[test]
    fn every_name_is_known_to_seccompiler_for_x86_64() {
        let mut grants = Grants::network();
        grants.merge(Grants::network_bind(&[80]));
        let p = policy(SandboxMode::Strict, Arch::X86_64, &grants);
        for name in all_names(&p) {
            assert!(is_known_syscall(name, Arch::X86_64), "{name}");
        }
        // The essentials are all there.
        for name in [
            "read",
            "write",
            "openat",
            "close",
            "mmap",
            "execve",
            "exit_group",
            "futex",
            "clone",
            "rt_sigaction",
            "newfstatat",
            "getdents64",
            "socket",
            "connect",
        ] {
            assert!(all_names(&p).contains(&name), "{name} missing");
        }
    }

    /// The template's names x86_64 does not have (32-bit calls, ARM private calls, calls
    /// newer than seccompiler's tables), left out of x86_64 profiles.
    #[test]
    fn names_dropped_on_x86_64() {
        let dropped = unknown_default_syscalls(Arch::X86_64);
        println!(
            "dropped on x86_64 ({}): {}",
            dropped.len(),
            dropped.join(" ")
        );
        let want = "_exit _llseek _newselect arm_fadvise64_64 arm_sync_file_range breakpoint \
            cacheflush chown32 clock_getres_time64 clock_gettime64 clock_nanosleep_time64 \
            fadvise64_64 fchown32 fcntl64 fstat64 fstatat64 fstatfs64 fstatvfs ftime ftruncate64 \
            futex_time64 get_tls getegid32 geteuid32 getgid32 getgroups32 getresgid32 \
            getresuid32 getuid32 getxattrat io_pgetevents_time64 ipc lchown32 listxattrat \
            llseek lstat64 mmap2 nice oldfstat oldlstat oldolduname oldstat olduname oldwait4 \
            ppoll_time64 pread pselect pselect6_time64 pwrite readdir recv recvmmsg_time64 \
            removexattrat rseq_slice_yield rt_sigtimedwait_time64 sched_rr_get_interval_time64 \
            semtimedop_time64 send sendfile64 set_tls setgid32 setpgrp setregid32 setresgid32 \
            setresuid32 setreuid32 setuid32 setxattrat sigaction signal sigpending sigprocmask \
            sigreturn sigsuspend sigtimedwait sigwaitinfo stat64 statfs64 statvfs \
            sync_file_range2 timer_gettime64 timer_settime64 timerfd timerfd_gettime64 \
            timerfd_settime64 truncate64 ugetrlimit usr26 usr32 utimensat_time64 waitpid";
        assert_eq!(dropped.join(" "), want);
    }

    #[test]
    fn grants_widen_and_unknown_names_are_dropped() {
        let grants = Grants {
            syscalls: vec!["listen".into(), "ioctl".into(), "not_a_syscall".into()],
            ..Grants::none()
        };
        let p = policy(SandboxMode::Strict, Arch::X86_64, &grants);
        assert!(p.allow.contains(&"listen".to_string()));
        assert!(!p.allow.contains(&"not_a_syscall".to_string()));
        // Allowed outright, so its argument rule goes.
        assert!(p.allow.contains(&"ioctl".to_string()));
        assert!(!p.allow_if.iter().any(|r| r.syscall == "ioctl"));
        let p = policy(SandboxMode::Strict, Arch::X86_64, &Grants::network());
        let sockets = p.allow_if.iter().filter(|r| r.syscall == "socket").count();
        assert_eq!(sockets, 1 + 6 + 1);
    }

    #[test]
    fn classic_is_unfiltered() {
        let p = policy(SandboxMode::Classic, Arch::X86_64, &Grants::network());
        assert_eq!(p, unfiltered());
        assert!(p.allow.is_empty() && p.allow_if.is_empty() && p.errno.is_empty());
    }

    #[test]
    // libc's types differ between targets (PRIO_PROCESS is u32 on glibc).
    #[allow(clippy::unnecessary_cast)]
    fn constants_match_libc() {
        use consts::*;
        assert_eq!(AF_UNIX, libc::AF_UNIX as u32);
        assert_eq!(AF_INET, libc::AF_INET as u32);
        assert_eq!(AF_INET6, libc::AF_INET6 as u32);
        assert_eq!(AF_NETLINK, libc::AF_NETLINK as u32);
        assert_eq!(SOCK_STREAM, libc::SOCK_STREAM as u32);
        assert_eq!(SOCK_DGRAM, libc::SOCK_DGRAM as u32);
        assert_eq!(SOCK_RAW, libc::SOCK_RAW as u32);
        assert_eq!(SOCK_SEQPACKET, libc::SOCK_SEQPACKET as u32);
        assert_eq!(NETLINK_ROUTE, libc::NETLINK_ROUTE as u32);
        assert_eq!(NETLINK_SOCK_DIAG, libc::NETLINK_SOCK_DIAG as u32);
        assert_eq!(NETLINK_KOBJECT_UEVENT, libc::NETLINK_KOBJECT_UEVENT as u32);
        assert_eq!(NETLINK_GENERIC, libc::NETLINK_GENERIC as u32);
        assert_eq!(AF_PACKET, libc::AF_PACKET as u32);
        assert_eq!(IPPROTO_ICMP, libc::IPPROTO_ICMP as u32);
        assert_eq!(IPPROTO_ICMPV6, libc::IPPROTO_ICMPV6 as u32);
        assert_eq!(Q_GETFMT, libc::Q_GETFMT as u32);
        assert_eq!(Q_GETINFO, libc::Q_GETINFO as u32);
        assert_eq!(Q_GETQUOTA, libc::Q_GETQUOTA as u32);
        assert_eq!(Q_XGETQUOTA, (u32::from(b'X') << 8) + 3);
        assert_eq!(Q_XGETQSTAT, (u32::from(b'X') << 8) + 5);
        assert_eq!(TIOCSTI, libc::TIOCSTI as u32);
        assert_eq!(S_ISUID, libc::S_ISUID);
        assert_eq!(S_ISGID, libc::S_ISGID);
        assert_eq!(S_IFMT, libc::S_IFMT);
        assert_eq!(S_IFREG, libc::S_IFREG);
        assert_eq!(S_IFIFO, libc::S_IFIFO);
        assert_eq!(S_IFSOCK, libc::S_IFSOCK);
        assert_eq!(O_CREAT, libc::O_CREAT as u32);
        assert_eq!(O_TMPFILE_BIT, (libc::O_TMPFILE & !libc::O_DIRECTORY) as u32);
        assert_eq!(O_NOTIFICATION_PIPE, libc::O_EXCL as u32);
        assert_eq!(PRIO_PROCESS, libc::PRIO_PROCESS as u32);
        assert_eq!(CLONE_NEWNS, libc::CLONE_NEWNS as u32);
        assert_eq!(CLONE_NEWCGROUP, libc::CLONE_NEWCGROUP as u32);
        assert_eq!(CLONE_NEWUTS, libc::CLONE_NEWUTS as u32);
        assert_eq!(CLONE_NEWIPC, libc::CLONE_NEWIPC as u32);
        assert_eq!(CLONE_NEWUSER, libc::CLONE_NEWUSER as u32);
        assert_eq!(CLONE_NEWPID, libc::CLONE_NEWPID as u32);
        assert_eq!(CLONE_NEWNET, libc::CLONE_NEWNET as u32);
        assert_eq!(EPERM, libc::EPERM as u32);
        assert_eq!(ENOSYS, libc::ENOSYS as u32);
    }
}
