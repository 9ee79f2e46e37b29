//! End-to-end smoke test of the built `snap-confine` (needs root; skipped otherwise).
//!
//! A test root gets a base snap made here (busybox, from Debian's `busybox-static`) and an app
//! snap whose `bin/hello` evaluates the shell snippet given as its first argument, both packed
//! with `mksquashfs` and loop-mounted under `<root>/snap`, plus hand-written profiles and a
//! seccomp program compiled here with seccompiler. The app is then launched as root and as
//! `nobody` and probed from inside. The mounts are undone even when an assertion fails.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};

const BIN: &str = env!("CARGO_BIN_EXE_snap-confine");
const NOBODY: u32 = 65534;

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// `/bin/busybox`, installed from Debian's busybox-static if missing.
fn busybox() -> PathBuf {
    let bb = PathBuf::from("/bin/busybox");
    if !bb.exists() {
        let _ = Command::new("apt-get").args(["update", "-qq"]).status();
        let st = Command::new("apt-get")
            .args(["install", "-y", "-qq", "busybox-static"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .expect("run apt-get");
        assert!(st.success() && bb.exists(), "cannot install busybox-static");
    }
    bb
}

fn write(path: &Path, text: &str, mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn mksquashfs(dir: &Path, image: &Path) {
    let out = Command::new("mksquashfs")
        .arg(dir)
        .arg(image)
        .args([
            "-noappend",
            "-comp",
            "xz",
            "-no-xattrs",
            "-all-root",
            "-quiet",
        ])
        .output()
        .expect("run mksquashfs (package squashfs-tools)");
    assert!(
        out.status.success(),
        "mksquashfs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The base snap's tree: the mount points the sandbox needs and busybox with its applets.
fn base_tree(dir: &Path) {
    write(
        &dir.join("meta/snap.yaml"),
        "name: testbase\nversion: '1'\ntype: base\n",
        0o644,
    );
    for d in [
        "dev",
        "proc",
        "sys",
        "etc",
        "run",
        "media",
        "mnt",
        "snap",
        "var/snap",
        "var/lib/snapd",
        "home",
        "root",
        "tmp",
        "usr/bin",
        "usr/lib",
        "usr/share",
        "bin",
        "sbin",
        "lib",
        "lib64",
    ] {
        fs::create_dir_all(dir.join(d)).unwrap();
    }
    fs::set_permissions(dir.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    fs::copy(busybox(), dir.join("bin/busybox")).unwrap();
    let list = Command::new("/bin/busybox").arg("--list").output().unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let link = dir.join("bin").join(applet);
        if applet != "busybox" && !link.exists() {
            symlink("busybox", link).unwrap();
        }
    }
    write(&dir.join("usr/share/testbase-marker"), "testbase\n", 0o644);
}

const APP_YAML: &str = "name: hello\nversion: '1'\nbase: testbase\napps:\n  hello:\n    command: bin/hello\n  real:\n    command: bin/hello\n";

/// The app snap: `bin/hello PROBE [ARGS...]` evaluates PROBE with ARGS as `$@`.
fn app_tree(dir: &Path) {
    write(&dir.join("meta/snap.yaml"), APP_YAML, 0o644);
    write(
        &dir.join("bin/hello"),
        "#!/bin/sh\necho hello-from-snap\nprobe=\"$1\"\nshift\neval \"$probe\"\n",
        0o755,
    );
}

/// A permissive program: everything is allowed except a few syscalls no app gets, which fail
/// with EPERM (enough to see that the launcher loaded it).
fn program() -> Vec<u8> {
    let denied = [
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_pivot_root,
        libc::SYS_ptrace,
        libc::SYS_keyctl,
        libc::SYS_add_key,
    ];
    let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> =
        denied.iter().map(|&s| (s, vec![])).collect();
    let arch = TargetArch::try_from(std::env::consts::ARCH).unwrap();
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .unwrap();
    let prog: BpfProgram = filter.try_into().unwrap();
    let mut bytes = Vec::new();
    for i in prog {
        bytes.extend_from_slice(&i.code.to_ne_bytes());
        bytes.extend_from_slice(&[i.jt, i.jf]);
        bytes.extend_from_slice(&i.k.to_ne_bytes());
    }
    bytes
}

fn profile(app: &str, confinement: &str, command: serde_json::Value) -> serde_json::Value {
    let path = |p: &str, a: &str| serde_json::json!({"path": p, "access": a});
    serde_json::json!({
        "format": 1,
        "snap": "hello",
        "app": app,
        "revision": "x1",
        "version": "1",
        "base": "testbase",
        "confinement": confinement,
        "command": command,
        "environment": [
            ["SNAP", "/snap/hello/x1"],
            ["SNAP_NAME", "hello"],
            ["SNAP_REVISION", "x1"],
            ["SNAP_DATA", "/var/snap/hello/x1"],
            ["SNAP_COMMON", "/var/snap/hello/common"],
            ["SNAP_USER_DATA", "$HOME/snap/hello/x1"],
            ["SNAP_REAL_HOME", "$HOME"],
            ["HOME", "$HOME/snap/hello/x1"],
            ["SNAP_UID", "$UID"],
            ["XDG_RUNTIME_DIR", "/run/user/$UID/snap.hello"],
            ["PATH", "/snap/hello/x1/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        ],
        "user-dirs": ["$HOME/snap/hello/x1", "$HOME/snap/hello/common"],
        "landlock": {
            "paths": [
                path("/bin", "read-exec"),
                path("/usr", "read-exec"),
                path("/lib", "read-exec"),
                path("/lib64", "read-exec"),
                path("/etc", "read"),
                path("/proc", "read"),
                path("/snap/hello/x1", "read-exec"),
                path("/var/snap/hello", "read-write"),
                path("$HOME/snap/hello", "read-write"),
                path("/tmp", "read-write"),
                path("/run/user/$UID/snap.hello", "read-write"),
                path("/dev/null", "device"),
                path("/dev/zero", "device"),
                path("/dev/urandom", "device"),
                path("/dev/pts", "device"),
                path("/does-not-exist", "read")
            ],
            "tcp-bind": [],
            "scope-abstract-unix": true,
            "scope-signal": true
        },
        "seccomp": {"default-action": "errno", "allow": []},
        "capabilities": []
    })
}

fn write_profile(root: &Path, app: &str, value: &serde_json::Value, program: Option<&[u8]>) {
    let dir = root.join("var/lib/snapd/profiles");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join(format!("snap.hello.{app}.json")),
        serde_json::to_vec_pretty(value).unwrap(),
    )
    .unwrap();
    if let Some(p) = program {
        fs::write(dir.join(format!("snap.hello.{app}.bpf")), p).unwrap();
    }
}

/// Unmounts the snaps when dropped (declared after the root's TempDir, so dropped before it).
struct Mounted(Vec<PathBuf>);

impl Drop for Mounted {
    fn drop(&mut self) {
        for m in self.0.iter().rev() {
            if let Err(e) = snap_sys::unmount(m) {
                eprintln!("cleanup: cannot unmount {}: {e}", m.display());
            }
        }
    }
}

fn mount_snap(root: &Path, work: &Path, name: &str, tree: fn(&Path), mounted: &mut Mounted) {
    let dir = work.join(name);
    tree(&dir);
    let image = work.join(format!("{name}.snap"));
    mksquashfs(&dir, &image);
    let mp = root.join("snap").join(name).join("x1");
    fs::create_dir_all(&mp).unwrap();
    snap_sys::mount_squashfs(&image, &mp).unwrap();
    mounted.0.push(mp);
    symlink("x1", root.join("snap").join(name).join("current")).unwrap();
}

struct Launch<'a> {
    root: &'a Path,
}

impl Launch<'_> {
    fn cmd(&self, as_nobody: bool, args: &[&str]) -> Command {
        let mut c = if as_nobody {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN]);
            c
        } else {
            Command::new(BIN)
        };
        c.args(args)
            .env("SNAPPY_GLOBAL_ROOT", self.root)
            .env("TERM", "xterm-smoke")
            .env("LD_LIBRARY_PATH", "/evil")
            .env("SECRET_VAR", "leak")
            .env("HOME", "/evil-home")
            .current_dir("/");
        c
    }

    fn run(&self, as_nobody: bool, args: &[&str]) -> Output {
        self.cmd(as_nobody, args).output().unwrap()
    }

    /// Runs the probe in hello.hello and returns its stdout; the launch must succeed.
    fn probe(&self, as_nobody: bool, probe: &str) -> String {
        let out = self.run(as_nobody, &["hello.hello", probe]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "probe {probe:?} (nobody: {as_nobody}) failed: {:?}\nstdout: {stdout}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.starts_with("hello-from-snap\n"), "{stdout}");
        stdout["hello-from-snap\n".len()..].to_owned()
    }
}

fn status_field(status: &str, name: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {status}"))
        .trim()
        .to_owned()
}

fn setup(root: &Path, work: &Path, mounted: &mut Mounted) {
    fs::set_permissions(root, fs::Permissions::from_mode(0o755)).unwrap();
    mount_snap(root, work, "testbase", base_tree, mounted);
    mount_snap(root, work, "hello", app_tree, mounted);
    for d in [
        "var/snap/hello/x1",
        "var/snap/hello/common",
        "var/lib/snapd/sandbox",
    ] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::create_dir_all(root.join("tmp")).unwrap();
    fs::set_permissions(root.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    fs::create_dir_all(root.join("root")).unwrap();
    fs::set_permissions(root.join("root"), fs::Permissions::from_mode(0o700)).unwrap();
    write(&root.join("root/secret"), "top secret\n", 0o644);
    let prog = program();
    let cmd = serde_json::json!(["$SNAP/bin/hello"]);
    write_profile(
        root,
        "hello",
        &profile("hello", "strict", cmd.clone()),
        Some(&prog),
    );
    write_profile(
        root,
        "dev",
        &profile("dev", "devmode", cmd.clone()),
        Some(&prog),
    );
    write_profile(
        root,
        "hook.configure",
        &profile("hook.configure", "strict", cmd),
        Some(&prog),
    );
    let missing = serde_json::json!(["/snap/hello/x1/bin/not-there"]);
    write_profile(
        root,
        "broken",
        &profile("broken", "strict", missing),
        Some(&prog),
    );
    write_profile(
        root,
        "classic",
        &profile("classic", "classic", serde_json::json!(["/bin/sh", "-c"])),
        None,
    );
}

#[test]
fn smoke_as_root_and_as_nobody() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let root_dir = tempfile::Builder::new()
        .prefix("confine-smoke-")
        .tempdir()
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut mounted = Mounted(Vec::new());
    let root = fs::canonicalize(root_dir.path()).unwrap();
    setup(&root, work.path(), &mut mounted);
    let l = Launch { root: &root };

    // --- as root ---
    // The base is `/`: its marker is there, the host's /usr is not.
    let out = l.probe(false, "cat /usr/share/testbase-marker; test -e /usr/bin/apt && echo HOST-USR; cat /meta/snap.yaml 2>&1 | head -1; echo end");
    assert!(out.starts_with("testbase\n"), "{out}");
    assert!(!out.contains("HOST-USR"), "{out}");
    assert!(out.ends_with("end\n"), "{out}");

    // The environment: the profile's, $HOME and $UID substituted, TERM kept, the rest dropped.
    let out = l.probe(
        false,
        "echo \"SNAP=$SNAP HOME=$HOME UID=$SNAP_UID XDG=$XDG_RUNTIME_DIR TERM=$TERM LDLP=${LD_LIBRARY_PATH-unset} SECRET=${SECRET_VAR-unset} ROOT=${SNAPPY_GLOBAL_ROOT-unset}\"",
    );
    assert_eq!(
        out,
        "SNAP=/snap/hello/x1 HOME=/root/snap/hello/x1 UID=0 XDG=/run/user/0/snap.hello TERM=xterm-smoke LDLP=unset SECRET=unset ROOT=unset\n"
    );
    assert!(
        root.join("root/snap/hello/x1").is_dir(),
        "user dirs are created under the root"
    );
    assert!(root.join("root/snap/hello/common").is_dir());

    // Arguments are passed as given, not expanded.
    let out = l.run(
        false,
        &[
            "hello.hello",
            "printf '[%s]' \"$@\"; echo",
            "a",
            "b c",
            "$SNAP",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello-from-snap\n[a][b c][$SNAP]\n"
    );

    // Writable data, read-only $SNAP, private /tmp, the user's snap dir.
    let out = l.probe(
        false,
        "echo data > $SNAP_DATA/written && echo DATA-OK; \
         (echo x > $SNAP/x) 2>/dev/null && echo SNAP-WRITABLE || echo SNAP-RO; \
         echo t > /tmp/probe && echo TMP-OK; \
         echo h > $HOME/file && echo HOME-OK",
    );
    assert_eq!(out, "DATA-OK\nSNAP-RO\nTMP-OK\nHOME-OK\n");
    assert_eq!(
        fs::read_to_string(root.join("var/snap/hello/x1/written")).unwrap(),
        "data\n"
    );
    assert_eq!(
        fs::read_to_string(root.join("tmp/snap-private-tmp/snap.hello/tmp/probe")).unwrap(),
        "t\n"
    );
    assert_eq!(
        fs::read_to_string(root.join("root/snap/hello/x1/file")).unwrap(),
        "h\n"
    );
    let mode = |p: &str| fs::metadata(root.join(p)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode("tmp/snap-private-tmp"), 0o700);
    assert_eq!(mode("tmp/snap-private-tmp/snap.hello/tmp"), 0o1777);

    // /etc/shadow is the host's file masked by an empty one; /root/secret is denied.
    let host_shadow = fs::read_to_string("/etc/shadow").unwrap_or_default();
    assert!(host_shadow.contains("root:"), "the host has a shadow file");
    let out = l.probe(
        false,
        "cat /etc/shadow 2>/dev/null; echo shadow-end; \
         (echo x >> /etc/shadow) 2>/dev/null && echo SHADOW-WRITABLE; \
         cat /root/secret 2>/dev/null && echo SECRET-READ || echo SECRET-DENIED; \
         ls /root >/dev/null 2>&1 && echo ROOT-LISTED || echo ROOT-DENIED",
    );
    assert_eq!(out, "shadow-end\nSECRET-DENIED\nROOT-DENIED\n");
    assert!(fs::read_to_string("/etc/shadow").unwrap() == host_shadow);

    // The process state: no_new_privs, a seccomp filter, no capabilities at all.
    let status = l.probe(false, "cat /proc/self/status");
    assert_eq!(status_field(&status, "NoNewPrivs"), "1");
    assert_eq!(status_field(&status, "Seccomp"), "2");
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(status_field(&status, set), "0000000000000000", "{set}");
    }
    // The filter denies what it lists, and a new devpts is there.
    let out = l.probe(false, "unshare -m true 2>/dev/null && echo UNSHARE-OK || echo UNSHARE-DENIED; test -c /dev/ptmx && echo PTMX");
    assert_eq!(out, "UNSHARE-DENIED\nPTMX\n");

    // The app's exit status is the launch's.
    let out = l.run(false, &["hello.hello", "exit 3"]);
    assert_eq!(out.status.code(), Some(3));

    // --debug says what was enforced.
    let out = l.run(false, &["--debug", "hello.hello", "true"]);
    assert!(out.status.success());
    let debug = String::from_utf8_lossy(&out.stderr);
    eprintln!("--- --debug output as root ---\n{debug}");
    for expect in [
        "namespaces: mount (caller is root)",
        "mount: base ",
        "mount: /dev on /dev (recursive)",
        "devpts",
        "mask: /etc/shadow",
        "on /tmp",
        "pivot_root: done",
        "no_new_privs: set",
        "FullyEnforced",
        " path rules",
        "skipped (missing): ",
        " /does-not-exist",
        "capabilities: kept none",
        "seccomp: ",
        "exec: /snap/hello/x1/bin/hello",
    ] {
        assert!(debug.contains(expect), "--debug lacks {expect:?}:\n{debug}");
    }

    // Devmode: the same namespace and seccomp, no landlock.
    // Without landlock the recursive bind of <root>/var/lib/snapd shows whether the sandbox's
    // own copy nested in it was detached.
    let out = l.run(
        false,
        &["hello.dev", "cat /root/secret; grep Seccomp: /proc/self/status; ls -A /var/lib/snapd/sandbox; echo end"],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello-from-snap\ntop secret\nSeccomp:\t2\nend\n"
    );

    // A hook.
    let out = l.run(false, &["--hook=configure", "hello"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello-from-snap\n");
    assert!(out.status.success());

    // A command that cannot be executed: a clear error, exit status 1.
    let out = l.run(false, &["hello.broken"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr,
        "error: cannot run hello.broken: cannot execute /snap/hello/x1/bin/not-there: No such file or directory (os error 2)\n"
    );

    // Nothing the launches mounted is left on the host.
    let sandbox = root.join("var/lib/snapd/sandbox");
    assert!(!snap_sys::is_mount_point(&sandbox).unwrap());
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains(sandbox.to_str().unwrap()),
        "{mountinfo}"
    );

    // Classic: the host's root, the environment only.
    let out = l.run(
        false,
        &[
            "hello.classic",
            "echo classic HOME=$SNAP_REAL_HOME SECRET=${SECRET_VAR-unset}; grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout,
        format!(
            "classic HOME={}/root SECRET=unset\nNoNewPrivs:\t0\nSeccomp:\t0\n",
            root.display()
        )
    );

    // The profile snap-interfaces computes for an app of this snap, and its compiled program.
    let yaml = snap_core::parse_snap_yaml(APP_YAML.as_bytes()).unwrap();
    let real = snap_interfaces::app_profile(&yaml, "x1", "real").unwrap();
    let real_prog = snap_interfaces::compile_seccomp(&real.seccomp).unwrap();
    write_profile(
        &root,
        "real",
        &serde_json::to_value(&real).unwrap(),
        Some(&real_prog),
    );
    let out = l.run(
        false,
        &[
            "hello.real",
            "echo \"HOME=$HOME\"; echo x > $SNAP_DATA/real && echo DATA-OK; \
             echo x > $SNAP_USER_DATA/real && echo USER-DATA-OK; echo x > /tmp/real && echo TMP-OK; \
             cat /root/secret 2>/dev/null || echo SECRET-DENIED; \
             grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello-from-snap\nHOME=/root/snap/hello/x1\nDATA-OK\nUSER-DATA-OK\nTMP-OK\nSECRET-DENIED\nNoNewPrivs:\t1\nSeccomp:\t2\n",
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // --- as nobody ---
    let out = l.probe(
        true,
        "id -u; echo \"SNAP=$SNAP HOME=$HOME UID=$SNAP_UID\"; \
         cat /usr/share/testbase-marker; \
         (echo x > $SNAP/x) 2>/dev/null && echo SNAP-WRITABLE || echo SNAP-RO; \
         cat /root/secret 2>/dev/null && echo SECRET-READ || echo SECRET-DENIED; \
         cat /etc/shadow 2>/dev/null && echo SHADOW-READ || echo SHADOW-DENIED; \
         echo t > /tmp/probe && echo TMP-OK; \
         grep -E '^(NoNewPrivs|Seccomp|CapEff|CapBnd):' /proc/self/status",
    );
    assert_eq!(
        out,
        "65534\nSNAP=/snap/hello/x1 HOME=/nonexistent/snap/hello/x1 UID=65534\ntestbase\n\
         SNAP-RO\nSECRET-DENIED\nSHADOW-DENIED\nTMP-OK\n\
         CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n"
    );
    assert_eq!(
        fs::read_to_string(root.join(format!(
            "tmp/snap-private-tmp-{NOBODY}/snap.hello/tmp/probe"
        )))
        .unwrap(),
        "t\n"
    );
    let out = l.run(true, &["--debug", "hello.hello", "true"]);
    let debug = String::from_utf8_lossy(&out.stderr);
    eprintln!("--- --debug output as nobody ---\n{debug}");
    assert!(out.status.success(), "{debug}");
    assert!(debug.contains("namespaces: user (uid 65534"), "{debug}");
    assert!(debug.contains("FullyEnforced"), "{debug}");

    drop(mounted);
    for m in ["snap/testbase/x1", "snap/hello/x1"] {
        assert!(
            !snap_sys::is_mount_point(&root.join(m)).unwrap_or(false),
            "{m} still mounted"
        );
    }
}

#[test]
fn refuses_to_run_without_a_sound_profile() {
    let root_dir = tempfile::tempdir().unwrap();
    let root = root_dir.path();
    let prog = program();
    let cmd = serde_json::json!(["/bin/sh", "-c", "echo RAN"]);
    // Wrong format.
    let mut v = profile("badformat", "strict", cmd.clone());
    v["format"] = 99.into();
    write_profile(root, "badformat", &v, Some(&prog));
    // Unknown field.
    let mut v = profile("unknown", "strict", cmd.clone());
    v["surprise"] = true.into();
    write_profile(root, "unknown", &v, Some(&prog));
    // No program, and a truncated program.
    write_profile(
        root,
        "noprog",
        &profile("noprog", "strict", cmd.clone()),
        None,
    );
    write_profile(
        root,
        "badprog",
        &profile("badprog", "strict", cmd.clone()),
        Some(&prog[..prog.len() - 3]),
    );
    // The profile of another app under this app's name.
    write_profile(
        root,
        "impostor",
        &profile("other", "strict", cmd.clone()),
        Some(&prog),
    );
    // Garbage.
    fs::write(
        root.join("var/lib/snapd/profiles/snap.hello.garbage.json"),
        "{not json",
    )
    .unwrap();

    for (app, expect) in [
        ("missing", "cannot read"),
        ("badformat", "format 99"),
        ("unknown", "cannot parse profile"),
        ("garbage", "cannot parse profile"),
        ("noprog", "snap.hello.noprog.bpf"),
        ("badprog", "whole number"),
        ("impostor", "not of hello.impostor"),
    ] {
        let out = Command::new(BIN)
            .arg(format!("hello.{app}"))
            .env("SNAPPY_GLOBAL_ROOT", root)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{app}: {stderr}");
        assert!(out.stdout.is_empty(), "{app} ran something");
        assert!(
            stderr.starts_with(&format!("error: cannot run hello.{app}: "))
                && stderr.contains(expect),
            "{app}: {stderr}"
        );
    }
    let out = Command::new(BIN)
        .args(["--command=stop", "hello.app"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // Parsed, then refused like any launch without a sound profile.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot run hello.app: "),
        "{stderr}"
    );
}
