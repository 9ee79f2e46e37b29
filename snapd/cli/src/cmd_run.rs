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
    anyhow!("cannot run {}: cannot execute {}: {err}", args.target, launcher.display())
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
    if target.contains('.') { target.to_owned() } else { format!("{target}.{target}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_mean_the_app_named_like_the_snap() {
        assert_eq!(app_target("hello"), "hello.hello");
        assert_eq!(app_target("hello.world"), "hello.world");
        assert_eq!(wrapper_target("/snap/bin/hello.world".as_ref()).as_deref(), Some("hello.world"));
        assert_eq!(wrapper_target("/usr/bin/snap".as_ref()), None);
    }
}
