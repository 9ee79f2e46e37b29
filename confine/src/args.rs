//! The command line: `snap-confine [--debug] SNAP.APP [ARGS...]` or
//! `snap-confine [--debug] --hook=HOOK SNAP`.
//!
//! Options come before the target; everything after the target is the app's own arguments,
//! passed through untouched (they may even look like options). `--command=stop|reload|post-stop`
//! is snapd's way of running a service's stop, reload and post-stop commands: recognised, and
//! refused until the profile format carries those commands.

use std::ffi::OsString;

use snap_core::naming::{validate_app_name, validate_hook_name, validate_instance_name};

pub const USAGE: &str = "usage: snap-confine [--debug] SNAP.APP [ARGS...]\n       snap-confine [--debug] --hook=HOOK SNAP";

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
                return Err(match c.as_str() {
                    "stop" | "reload" | "post-stop" => {
                        format!("--command={c} is not supported yet")
                    }
                    _ => format!("unknown command {c:?} for --command"),
                });
            }
            ("--command", None) => return Err("--command needs a value".into()),
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
    }))
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
            &["--command=stop", "hello.app"],
            &["--command=reload", "hello.app"],
            &["--command=post-stop", "hello.app"],
            &["--command=shell", "hello.app"],
            &["--debug=1", "hello.app"],
        ] {
            assert!(p(bad).is_err(), "{bad:?} accepted");
        }
        let e = p(&["--command=stop", "hello.app"]).unwrap_err();
        assert!(e.contains("not supported yet"), "{e}");
    }

    #[test]
    fn help() {
        assert_eq!(p(&["--help"]), Ok(Parsed::Help));
    }
}
