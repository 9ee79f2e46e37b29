//! The command line: `snap-confine [--debug] SNAP.APP [ARGS...]` or
//! `snap-confine [--debug] --hook=HOOK SNAP`.
//!
//! Options come before the target; everything after the target is the app's own arguments,
//! passed through untouched (they may even look like options). `--command=stop|reload|post-stop`
//! is snapd's way of running a service's stop, reload and post-stop commands (the profile's
//! `service-commands`).
//!
//! The daemon starts services with two more options: `--cgroup=DIR`, the service's cgroup v2
//! directory, which the launcher joins before anything else so that every process of the
//! service, whatever it forks, is in it; and `--notify-socket=PATH`, the service's sd_notify
//! datagram socket, bound into the sandbox's `/run` and named by `NOTIFY_SOCKET`.

use std::ffi::OsString;
use std::path::PathBuf;

use snap_core::naming::{validate_app_name, validate_hook_name, validate_instance_name};

pub const USAGE: &str = "usage: snap-confine [--debug] [--cgroup=DIR] [--notify-socket=PATH] [--command=stop|reload|post-stop] SNAP.APP [ARGS...]\n       snap-confine [--debug] --hook=HOOK SNAP";

/// A service's extra command, run instead of its main command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceCommand {
    Stop,
    Reload,
    PostStop,
}

impl ServiceCommand {
    /// The key in the profile's `service-commands`, as `--command=` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceCommand::Stop => "stop",
            ServiceCommand::Reload => "reload",
            ServiceCommand::PostStop => "post-stop",
        }
    }
}

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    pub debug: bool,
    /// The snap's instance name.
    pub snap: String,
    /// The app's name, or `hook.NAME` for a hook (as in the profile's file name).
    pub app: String,
    /// The user's arguments, appended to the profile's command.
    pub args: Vec<OsString>,
    /// `--command=`: run this command of the service instead of its main one.
    pub command: Option<ServiceCommand>,
    /// `--cgroup=`: the cgroup v2 directory to join first.
    pub cgroup: Option<PathBuf>,
    /// `--notify-socket=`: the sd_notify socket to bind into the sandbox.
    pub notify_socket: Option<PathBuf>,
}

impl Invocation {
    /// `SNAP.APP` or `SNAP.hook.HOOK`: how errors name what could not run.
    pub fn target(&self) -> String {
        format!("{}.{}", self.snap, self.app)
    }
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    Run(Invocation),
    Help,
}

/// Parses the arguments after `argv[0]`. Errors are usage errors, already worded for the user.
pub fn parse(args: Vec<OsString>) -> Result<Parsed, String> {
    let mut debug = false;
    let mut hook: Option<String> = None;
    let mut command: Option<ServiceCommand> = None;
    let mut cgroup: Option<PathBuf> = None;
    let mut notify_socket: Option<PathBuf> = None;
    let mut iter = args.into_iter();
    let target = loop {
        let Some(arg) = iter.next() else {
            return Err("missing SNAP.APP".into());
        };
        let Some(s) = arg.to_str() else {
            return Err(format!("invalid argument {arg:?}"));
        };
        if s == "--" {
            match iter.next() {
                Some(t) => break t,
                None => return Err("missing SNAP.APP".into()),
            }
        }
        if !s.starts_with('-') {
            break arg;
        }
        let (name, value) = match s.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (s, None),
        };
        match (name, value) {
            ("--debug", None) => debug = true,
            ("-h" | "--help", None) => return Ok(Parsed::Help),
            ("--hook", v) => {
                let v = match v {
                    Some(v) => v,
                    None => match iter.next().and_then(|v| v.into_string().ok()) {
                        Some(v) => v,
                        None => return Err("--hook needs a hook name".into()),
                    },
                };
                if hook.is_some() {
                    return Err("--hook given twice".into());
                }
                validate_hook_name(&v).map_err(|e| e.to_string())?;
                hook = Some(v);
            }
            ("--command", Some(c)) => {
                if command.is_some() {
                    return Err("--command given twice".into());
                }
                command = Some(match c.as_str() {
                    "stop" => ServiceCommand::Stop,
                    "reload" => ServiceCommand::Reload,
                    "post-stop" => ServiceCommand::PostStop,
                    _ => return Err(format!("unknown command {c:?} for --command")),
                });
            }
            ("--command", None) => return Err("--command needs a value".into()),
            ("--cgroup", Some(v)) if cgroup.is_none() => cgroup = Some(absolute("--cgroup", &v)?),
            ("--notify-socket", Some(v)) if notify_socket.is_none() => {
                notify_socket = Some(absolute("--notify-socket", &v)?)
            }
            ("--cgroup" | "--notify-socket", _) => {
                return Err(format!("{name} needs one value, given once as {name}=PATH"));
            }
            _ => return Err(format!("unknown option {s}")),
        }
    };
    let Some(target) = target.to_str().map(str::to_owned) else {
        return Err(format!("invalid target {target:?}"));
    };
    let rest: Vec<OsString> = iter.collect();
    let (snap, app) = match hook {
        Some(h) => {
            if target.contains('.') {
                return Err(format!("--hook takes a snap name, not {target:?}"));
            }
            if !rest.is_empty() {
                return Err("hooks take no arguments".into());
            }
            if command.is_some() || notify_socket.is_some() {
                return Err("--command and --notify-socket are for services, not hooks".into());
            }
            (target, format!("hook.{h}"))
        }
        None => {
            let Some((snap, app)) = target.split_once('.') else {
                return Err(format!("{target:?} is not of the form SNAP.APP"));
            };
            validate_app_name(app).map_err(|e| e.to_string())?;
            (snap.to_owned(), app.to_owned())
        }
    };
    validate_instance_name(&snap).map_err(|e| e.to_string())?;
    Ok(Parsed::Run(Invocation {
        debug,
        snap,
        app,
        args: rest,
        command,
        cgroup,
        notify_socket,
    }))
}

/// A path option's value: absolute, without `.` or `..` components (the daemon passes clean
/// paths; anything else is refused rather than resolved).
fn absolute(option: &str, value: &str) -> Result<PathBuf, String> {
    let clean = value.strip_prefix('/').is_some_and(|rest| {
        rest.split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
    });
    if !clean {
        return Err(format!(
            "{option} needs a clean absolute path, not {value:?}"
        ));
    }
    Ok(PathBuf::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Parsed, String> {
        parse(args.iter().map(OsString::from).collect())
    }

    fn run(args: &[&str]) -> Invocation {
        match p(args) {
            Ok(Parsed::Run(i)) => i,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn app_with_arguments() {
        let i = run(&["hello.world", "-x", "--debug", "a b"]);
        assert_eq!(i.snap, "hello");
        assert_eq!(i.app, "world");
        assert!(!i.debug);
        assert_eq!(i.args, vec!["-x", "--debug", "a b"]);
        assert_eq!(i.target(), "hello.world");
    }

    #[test]
    fn debug_and_instance_names() {
        let i = run(&["--debug", "hello_foo.hello-app"]);
        assert!(i.debug);
        assert_eq!(i.snap, "hello_foo");
        assert_eq!(i.app, "hello-app");
        assert!(i.args.is_empty());
        let i = run(&["--", "hello.x", "--"]);
        assert_eq!(i.args, vec!["--"]);
    }

    #[test]
    fn hooks() {
        let i = run(&["--hook=configure", "hello"]);
        assert_eq!(i.app, "hook.configure");
        assert_eq!(i.target(), "hello.hook.configure");
        let i = run(&["--debug", "--hook", "install", "hello"]);
        assert_eq!(i.app, "hook.install");
        assert!(p(&["--hook=configure", "hello.app"]).is_err());
        assert!(p(&["--hook=configure", "hello", "arg"]).is_err());
        assert!(p(&["--hook=Bad_Hook", "hello"]).is_err());
        assert!(p(&["--hook=a", "--hook=b", "hello"]).is_err());
    }

    #[test]
    fn refusals() {
        for bad in [
            &[][..],
            &["--debug"],
            &["hello"],
            &["hello."],
            &["../x.app"],
            &["hello.a/b"],
            &["Hello.app"],
            &["hello.app.x"],
            &["--frobnicate", "hello.app"],
            &["--command=shell", "hello.app"],
            &["--command", "stop", "hello.app"],
            &["--command=stop", "--command=reload", "hello.app"],
            &["--command=stop", "--hook=install", "hello"],
            &["--cgroup=relative/x", "hello.app"],
            &["--cgroup=/sys/fs/cgroup/../x", "hello.app"],
            &["--cgroup", "/sys/fs/cgroup/x", "hello.app"],
            &["--cgroup=/a", "--cgroup=/b", "hello.app"],
            &["--notify-socket=/run/./x", "hello.app"],
            &["--debug=1", "hello.app"],
        ] {
            assert!(p(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn service_options() {
        let i = run(&[
            "--cgroup=/sys/fs/cgroup/snapd-1/snap.hello.app.service",
            "--notify-socket=/r/run/n.sock",
            "--command=post-stop",
            "hello.app",
        ]);
        assert_eq!(i.command, Some(ServiceCommand::PostStop));
        assert_eq!(
            i.cgroup.as_deref(),
            Some(std::path::Path::new(
                "/sys/fs/cgroup/snapd-1/snap.hello.app.service"
            ))
        );
        assert_eq!(
            i.notify_socket.as_deref(),
            Some(std::path::Path::new("/r/run/n.sock"))
        );
        assert_eq!(
            run(&["--command=stop", "ab.c"]).command,
            Some(ServiceCommand::Stop)
        );
        assert_eq!(
            run(&["--command=reload", "ab.c"]).command,
            Some(ServiceCommand::Reload)
        );
        let h = run(&["--cgroup=/c/x", "--hook=install", "hello"]);
        assert_eq!(h.cgroup.as_deref(), Some(std::path::Path::new("/c/x")));
        assert_eq!(run(&["ab.c"]).command, None);
    }

    #[test]
    fn help() {
        assert_eq!(p(&["--help"]), Ok(Parsed::Help));
    }
}
