//! Loads a compiled strict program into a real process and checks the kernel enforces it.
//!
//! A seccomp filter cannot be removed, so the test re-executes its own binary with an
//! environment variable that selects the child half; the child installs the filter as the
//! launcher will (no_new_privs, then `seccomp(SECCOMP_SET_MODE_FILTER)` with the program read
//! back from its bytes) and makes the checks.

use std::io;
use std::process::Command;

const CHILD: &str = "SNAP_INTERFACES_SECCOMP_CHILD";
const TEST_NAME: &str = "compiled_program_is_enforced";

#[test]
fn compiled_program_is_enforced() {
    if std::env::var_os(CHILD).is_some() {
        child();
        return;
    }
    if snap_interfaces::Arch::host().is_err() {
        eprintln!("no seccomp program for this architecture; skipped");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "child failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// The errno of the last failed call.
fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// `ret` is -1 with `want` as errno.
fn assert_fails(what: &str, ret: libc::c_long, want: i32) {
    let e = errno();
    assert!(
        ret == -1 && e == want,
        "{what}: returned {ret}, errno {e}, wanted errno {want}"
    );
}

fn child() {
    let yaml = b"name: probe\nversion: '1'\napps:\n  probe:\n    command: bin/probe\n";
    let snap = snap_core::parse_snap_yaml(yaml).unwrap();
    let profile = snap_interfaces::app_profile(&snap, "1", "probe").unwrap();
    let bytes = snap_interfaces::compile_seccomp(&profile.seccomp).unwrap();
    let program = snap_interfaces::program_from_bytes(&bytes).unwrap();

    let dir = std::env::temp_dir().join(format!("snap-interfaces-seccomp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| std::ffi::CString::new(dir.join(name).to_str().unwrap()).unwrap();
    let (suid, plain) = (path("suid"), path("plain"));

    // SAFETY: prctl with integer arguments only changes this thread's flags.
    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    assert_eq!(rc, 0, "no_new_privs: {}", io::Error::last_os_error());
    let fprog = libc::sock_fprog {
        len: u16::try_from(program.len()).unwrap(),
        // seccompiler's sock_filter is #[repr(C)] with libc's fields; the kernel only reads.
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `fprog` points at `program`, alive for the call; the kernel copies it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &fprog as *const libc::sock_fprog,
        )
    };
    assert_eq!(rc, 0, "seccomp: {}", io::Error::last_os_error());

    // Allowed calls work.
    // SAFETY: getpid has no arguments.
    let pid = unsafe { libc::syscall(libc::SYS_getpid) };
    assert_eq!(pid, i64::from(std::process::id()));

    // Denied calls fail with EPERM.
    // SAFETY: unshare with a flag argument; the filter answers before the kernel acts.
    let rc = unsafe { libc::syscall(libc::SYS_unshare, libc::CLONE_NEWNS) };
    assert_fails("unshare(CLONE_NEWNS)", rc, libc::EPERM);
    // SAFETY: as above.
    let rc = unsafe { libc::syscall(libc::SYS_unshare, libc::CLONE_NEWUSER) };
    assert_fails("unshare(CLONE_NEWUSER)", rc, libc::EPERM);
    // SAFETY: mount with null pointers; denied before the kernel reads them.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_char>(),
            0,
            std::ptr::null::<libc::c_void>(),
        )
    };
    assert_fails("mount", rc, libc::EPERM);
    // SAFETY: socket takes integers; a returned fd is closed below.
    let rc = unsafe { libc::syscall(libc::SYS_socket, libc::AF_INET, libc::SOCK_STREAM, 0) };
    assert_fails("socket(AF_INET)", rc, libc::EPERM);
    // SAFETY: as above.
    let fd = unsafe { libc::syscall(libc::SYS_socket, libc::AF_UNIX, libc::SOCK_STREAM, 0) };
    assert!(fd >= 0, "socket(AF_UNIX): {}", io::Error::last_os_error());
    // SAFETY: closing the socket just created.
    unsafe { libc::close(fd as libc::c_int) };
    let c: libc::c_char = b'x' as libc::c_char;
    // SAFETY: TIOCSTI reads one char from a valid pointer; denied before that anyway.
    let rc = unsafe { libc::syscall(libc::SYS_ioctl, 0, libc::TIOCSTI, &c as *const libc::c_char) };
    assert_fails("ioctl(TIOCSTI)", rc, libc::EPERM);
    // SAFETY: clone3 with a null argument; answered by the filter before the kernel reads it.
    let rc = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<libc::c_void>(), 0) };
    assert_fails("clone3", rc, libc::ENOSYS);

    // No set-id bits on created files; plain ones are fine.
    // SAFETY: a valid NUL-terminated path; the fd is closed below.
    let rc = unsafe { libc::open(suid.as_ptr(), libc::O_CREAT | libc::O_WRONLY, 0o4755) };
    assert_fails("open(O_CREAT, 04755)", libc::c_long::from(rc), libc::EPERM);
    // SAFETY: as above.
    let fd = unsafe { libc::open(plain.as_ptr(), libc::O_CREAT | libc::O_WRONLY, 0o644) };
    assert!(
        fd >= 0,
        "open(O_CREAT, 0644): {}",
        io::Error::last_os_error()
    );
    // SAFETY: closing the file just created.
    unsafe { libc::close(fd) };
    // SAFETY: a valid path and a mode.
    let rc = unsafe { libc::chmod(plain.as_ptr(), 0o4755) };
    assert_fails("chmod(04755)", libc::c_long::from(rc), libc::EPERM);
    // SAFETY: as above.
    let rc = unsafe { libc::chmod(plain.as_ptr(), 0o755) };
    assert_eq!(rc, 0, "chmod(0755): {}", io::Error::last_os_error());
    std::fs::remove_dir_all(&dir).unwrap();

    // Threads and processes still start: glibc and std fall back from clone3 to clone.
    assert_eq!(std::thread::spawn(|| 42).join().unwrap(), 42);
    if std::path::Path::new("/bin/true").exists() {
        let status = Command::new("/bin/true").status().unwrap();
        assert!(status.success(), "/bin/true under the filter: {status}");
    }
    println!("CHILD-OK");
}
