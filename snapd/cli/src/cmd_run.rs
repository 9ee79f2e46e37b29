//! `snap run`: hand the app to the launcher. Nothing here decides what the app may do; the
//! launcher applies the profile the daemon compiled when the snap was installed.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::Args;

/// The run command executes the given snap command with the right confinement and environment.
#[derive(Args)]
pub struct RunArgs {
    /// Show what confinement is enforced
    #[arg(long)]
    debug: bool,
    /// Run the named hook of the snap instead of an app
    #[arg(long, value_name = "hook")]
    hook: Option<String>,
    /// The app to run: SNAP.APP, or SNAP for the app named like its snap
    #[arg(value_name = "snap.app")]
    target: String,
    /// Arguments for the app
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

/// The launcher: `snap-confine` beside this binary.
fn launcher() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the snap binary's path")?;
    Ok(exe.with_file_name("snap-confine"))
}

/// Replaces this process with the launcher; what comes back is why that failed.
pub fn run(args: RunArgs) -> anyhow::Error {
    let launcher = match launcher() {
        Ok(l) => l,
        Err(e) => return e,
    };
    let mut cmd = std::process::Command::new(&launcher);
    if args.debug {
        cmd.arg("--debug");
    }
    if let Some(hook) = &args.hook {
        cmd.arg(format!("--hook={hook}"));
    }
    cmd.arg(app_target(&args.target)).args(&args.args);
    // exec only returns on failure.
    let err = cmd.exec();
    anyhow!(
        "cannot run {}: cannot execute {}: {err}",
        args.target,
        launcher.display()
    )
}

/// The common forms of `snap run` (`[--debug] [--hook=H] TARGET [--] ARGS...`, and every
/// `/snap/bin` wrapper) parsed without building the whole command line parser: launching an
/// app is the hot path, and clap's setup of every subcommand costs more than the parse itself.
/// Anything else (`--help`, an unknown option) returns `None` and goes through clap.
pub fn fast_parse(args: &[OsString]) -> Option<RunArgs> {
    let mut it = args.iter();
    let mut debug = false;
    let mut hook = None;
    let target = loop {
        let arg = it.next()?.to_str()?;
        match arg {
            "--debug" => debug = true,
            _ if arg.starts_with("--hook=") => hook = Some(arg["--hook=".len()..].to_owned()),
            _ if arg.starts_with('-') => return None,
            _ => break arg.to_owned(),
        }
    };
    let mut rest: Vec<OsString> = it.cloned().collect();
    if rest.first().is_some_and(|a| a == "--") {
        rest.remove(0);
    }
    Some(RunArgs {
        debug,
        hook,
        target,
        args: rest,
    })
}

/// When invoked through a `/snap/bin` wrapper (a symlink named `SNAP` or `SNAP.APP` pointing
/// at this binary), the name says which app to run.
pub fn wrapper_target(argv0: &std::ffi::OsStr) -> Option<String> {
    let name = std::path::Path::new(argv0).file_name()?.to_str()?;
    (name != "snap").then(|| name.to_owned())
}

/// `SNAP` alone names the app called like its snap, as users type it (`hello` for
/// `hello.hello`); the launcher takes the full `SNAP.APP`.
fn app_target(target: &str) -> String {
    if target.contains('.') {
        target.to_owned()
    } else {
        format!("{target}.{target}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_mean_the_app_named_like_the_snap() {
        assert_eq!(app_target("hello"), "hello.hello");
        assert_eq!(app_target("hello.world"), "hello.world");
        assert_eq!(
            wrapper_target("/snap/bin/hello.world".as_ref()).as_deref(),
            Some("hello.world")
        );
        assert_eq!(wrapper_target("/usr/bin/snap".as_ref()), None);
    }

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn fast_path_takes_the_common_forms_and_leaves_the_rest_to_clap() {
        let a = fast_parse(&os(&["--debug", "hello.world", "--", "-x", "y"])).unwrap();
        assert!(a.debug);
        assert_eq!(a.target, "hello.world");
        assert_eq!(a.args, os(&["-x", "y"]));
        let a = fast_parse(&os(&["--hook=install", "hello"])).unwrap();
        assert_eq!(a.hook.as_deref(), Some("install"));
        // The app's own options are its own.
        assert_eq!(
            fast_parse(&os(&["hello", "--help"])).unwrap().args,
            os(&["--help"])
        );
        assert!(fast_parse(&os(&["--help"])).is_none());
        assert!(fast_parse(&os(&["--unknown", "hello"])).is_none());
        assert!(fast_parse(&os(&[])).is_none());
    }
}
