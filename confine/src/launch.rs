//! The launch, step by step:
//!
//! 1. parse the command line; the root is `SNAPPY_GLOBAL_ROOT` or `/`;
//! 2. load the profile and the seccomp program (fail closed);
//! 3. the caller's identity (real ids, home from the password database) and working directory;
//! 4. classic apps: create the user directories, set the environment, exec — nothing else (with
//!    a root other than `/`, the profile's `/snap` and `/var/snap` paths are moved under it:
//!    [`crate::env::classic_path`]);
//! 5. on the host, as the caller: bind sources under the root, user directories, the private
//!    tmp and `/dev/shm`, `/run/user/UID/snap.NAME`;
//! 6. new namespaces, `/` made a recursive slave; the mount plan; `pivot_root`; the working
//!    directory: the caller's if the same path exists in the sandbox, else `/` (the read-only
//!    base's root, standing in for snapd's empty "void" directory: an app that did not start
//!    where its caller was should not find itself in any data directory);
//! 7. the environment and argument vector; no_new_privs; landlock (strict only); capabilities;
//!    the program resolved and `execve` prepared; seccomp; `execve`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use snap_core::dirs::Dirs;
use snap_interfaces::profile::SandboxMode;

use crate::args::{self, Invocation, Parsed};
use crate::env::{Env, build_argv, build_env};
use crate::error::Error;
use crate::exec::{Prepared, resolve_program};
use crate::identity::Identity;
use crate::{env, host, mounts, plan, profile, sandbox, service};

/// `--debug` notes on stderr.
#[derive(Clone, Copy, Debug)]
pub struct Log {
    pub enabled: bool,
}

impl Log {
    pub fn note(&self, msg: impl AsRef<str>) {
        if self.enabled {
            eprintln!("snap-confine: {}", msg.as_ref());
        }
    }
}

/// The whole program: returns the exit status when the app could not be executed.
pub fn main_with_args(args: Vec<OsString>) -> i32 {
    let inv = match args::parse(args) {
        Ok(Parsed::Run(inv)) => inv,
        Ok(Parsed::Help) => {
            println!("{}", args::USAGE);
            return 0;
        }
        Err(msg) => {
            eprintln!("error: {msg}\n{}", args::USAGE);
            return 1;
        }
    };
    let err = run(&inv);
    eprintln!("error: cannot run {}: {err}", inv.target());
    1
}

/// `SNAP_COOKIE`, and `SNAP_CONTEXT` as older snapctl builds read it.
fn set_cookie(env: &mut Env, cookie: Option<&str>) {
    if let Some(c) = cookie {
        env.set("SNAP_COOKIE", c);
        env.set("SNAP_CONTEXT", c);
    }
}

/// Runs the launch; returns only if it failed.
pub fn run(inv: &Invocation) -> Error {
    match launch(inv) {
        Ok(prepared) => prepared.exec(),
        Err(e) => e,
    }
}

/// Everything up to and including seccomp; the caller then only has to `execve`.
fn launch(inv: &Invocation) -> Result<Prepared, Error> {
    let log = Log { enabled: inv.debug };
    // First: every process this launch starts must be born in the service's cgroup.
    if let Some(cgroup) = &inv.cgroup {
        service::join_cgroup(cgroup, &inv.snap)?;
        log.note(format!("cgroup: joined {}", cgroup.display()));
    }
    let mut note = |m: String| log.note(m);

    let root = Dirs::from_env().root().to_owned();
    let root =
        std::fs::canonicalize(&root).map_err(|e| Error::path("resolve the root", &root, e))?;
    let dirs = Dirs::new(root);
    let loaded = profile::load(&dirs.profiles_dir(), &inv.snap, &inv.app)?;
    let p = &loaded.profile;
    log.note(format!(
        "profile {} ({:?}, revision {}, base {:?})",
        loaded.profile_path.display(),
        p.confinement,
        p.revision,
        p.base
    ));
    let keep = sandbox::parse_capabilities(&p.capabilities).map_err(|reason| Error::Profile {
        path: loaded.profile_path.clone(),
        reason,
    })?;

    let id = Identity::of_caller()?;
    let cwd = std::env::current_dir().ok();
    // Read on the host: the cookie directory is hidden in the sandbox.
    let cookie = host::snap_cookie(&dirs, &inv.snap, inv.app.starts_with("hook."));
    // An app (not a service, which the daemon tracks by its cgroup): seen as running.
    if inv.cgroup.is_none() {
        match host::record_running_app(&dirs, &inv.snap) {
            Ok(f) => log.note(format!("running: recorded as {}", f.display())),
            Err(e) => log.note(format!("running: not recorded ({e})")),
        }
    }
    let home_host = dirs.user_home(&id.pw_dir);
    log.note(format!(
        "root {}, uid {} gid {}, home {} (on the host: {})",
        dirs.root().display(),
        id.uid,
        id.gid,
        id.pw_dir.display(),
        home_host.display()
    ));

    if p.confinement == SandboxMode::Classic {
        host::create_user_dirs(&p.user_dirs, &home_host, id.uid, &mut note)?;
        let home = home_host.to_string_lossy().into_owned();
        let root = dirs.root();
        let environment: Vec<(String, String)> = p
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), env::classic_value(v, root)))
            .collect();
        let command: Vec<String> = p
            .command
            .iter()
            .map(|w| env::classic_path(w, root))
            .collect();
        let mut env =
            build_env(std::env::vars_os(), &environment, &home, id.uid).map_err(Error::Env)?;
        set_cookie(&mut env, cookie.as_deref());
        log.note("classic: no namespace, no landlock, no seccomp, capabilities unchanged");
        if root != Path::new("/") {
            log.note(format!(
                "classic: the profile's /snap and /var/snap paths taken under {}",
                root.display()
            ));
        }
        if let Some(sock) = &inv.notify_socket {
            service::check_notify_socket(sock)?;
            env.set("NOTIFY_SOCKET", sock);
        }
        let command = match inv.command {
            None => command,
            Some(_) => service::command_for(p, inv.command, &inv.target())?
                .iter()
                .map(|w| env::classic_path(w, root))
                .collect(),
        };
        return prepare(inv, &env, &command, log);
    }

    // On the host, as the caller.
    let private_tmp = host::private_tmp_path(&dirs, &inv.snap, id.uid);
    let shm_dir = Path::new(host::SHM_DIR);
    let private_shm = host::private_shm_path(shm_dir, &inv.snap, id.uid);
    let runtime_dir = host::runtime_dir(&inv.snap, id.uid);
    // `snapctl` lives beside the launcher.
    let libexec_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_owned));
    let mount_plan = plan::plan(
        &dirs,
        &plan::Input {
            base: &p.base,
            private_tmp: &private_tmp,
            private_shm: &private_shm,
            rules: &p.landlock.paths,
            mounts: &p.mounts,
            runtime_dir: &runtime_dir,
            home: id.home_str(),
            uid: id.uid,
            libexec_dir: libexec_dir.as_deref(),
        },
    );
    let mut mount_plan = mount_plan;
    if let Some(sock) = &inv.notify_socket {
        service::check_notify_socket(sock)?;
        service::add_notify_socket(&mut mount_plan, sock);
    }
    host::create_bind_sources(&mount_plan, &mut note)?;
    host::create_user_dirs(&p.user_dirs, &home_host, id.uid, &mut note)?;
    drop(host::prepare_private_tmp(&dirs, &inv.snap, id.uid)?);
    drop(host::prepare_private_shm(shm_dir, &inv.snap, id.uid)?);
    host::prepare_runtime_dir(&inv.snap, id.uid, &mut note);

    // The sandbox.
    let ns = mounts::enter_namespaces(&id)?;
    log.note(match ns {
        mounts::Namespaces::Mount => "namespaces: mount (caller is root)".to_owned(),
        mounts::Namespaces::UserAndMount => format!(
            "namespaces: user (uid {0} and gid {1} mapped to themselves) and mount",
            id.uid, id.gid
        ),
    });
    // Opened again from inside the new namespace: a mount of the old one cannot be bound.
    let private_tmp = host::prepare_private_tmp(&dirs, &inv.snap, id.uid)?;
    let private_shm = host::prepare_private_shm(shm_dir, &inv.snap, id.uid)?;
    let mut builder = mounts::Builder::new(&mount_plan, &mut note)?;
    builder.run(&mount_plan, &private_tmp, private_shm.as_ref())?;
    builder.pivot()?;
    drop((private_tmp, private_shm));

    let home = id.home_str();
    let mut env =
        build_env(std::env::vars_os(), &p.environment, home, id.uid).map_err(Error::Env)?;
    set_cookie(&mut env, cookie.as_deref());
    if inv.notify_socket.is_some() {
        env.set("NOTIFY_SOCKET", service::NOTIFY_TARGET);
    }
    match cwd.filter(|d| std::env::set_current_dir(d).is_ok()) {
        Some(d) => log.note(format!("cwd: {}", d.display())),
        None => log.note("cwd: / (the caller's directory is not in the sandbox)"),
    }

    sandbox::set_no_new_privs()?;
    log.note("no_new_privs: set");
    if p.confinement == SandboxMode::Strict {
        let report = sandbox::apply_landlock(&p.landlock, home, id.uid)?;
        log.note(format!("landlock: {}", report.describe()));
        let tcp = |ports: &[u16]| {
            if ports.is_empty() {
                "none".to_owned()
            } else {
                ports
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            }
        };
        log.note(format!(
            "landlock: tcp bind {}, tcp connect {}, scopes:{}{}",
            tcp(&p.landlock.tcp_bind),
            p.landlock.tcp_connect.as_deref().map_or("any".into(), tcp),
            if p.landlock.scope_abstract_unix {
                " abstract-unix-socket"
            } else {
                ""
            },
            if p.landlock.scope_signal {
                " signal"
            } else {
                ""
            },
        ));
    } else {
        log.note("landlock: not applied (devmode)");
    }
    let caps = sandbox::drop_capabilities(&keep)?;
    log.note(format!(
        "capabilities: kept {}{}",
        if caps.kept.is_empty() {
            "none".to_owned()
        } else {
            caps.kept
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        },
        if caps.unavailable.is_empty() {
            String::new()
        } else {
            format!(
                " (not held by the caller: {})",
                caps.unavailable
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
    ));
    let command = service::command_for(p, inv.command, &inv.target())?;
    let prepared = prepare(inv, &env, command, log)?;
    log.note(format!(
        "seccomp: {} instructions from {}, default action {:?} ({:?})",
        loaded.program.len(),
        loaded.program_path.display(),
        p.seccomp.default_action,
        p.confinement
    ));
    sandbox::apply_seccomp(&loaded.program)?;
    Ok(prepared)
}

fn prepare(inv: &Invocation, env: &Env, command: &[String], log: Log) -> Result<Prepared, Error> {
    let argv = build_argv(command, env, &inv.args).map_err(Error::Env)?;
    let program: PathBuf = resolve_program(&argv[0], env)?;
    log.note(format!("exec: {} {:?}", program.display(), &argv[1..]));
    Prepared::new(&program, &argv, env)
}
