//! `snapctl`: the commands a snap runs against the daemon from inside its sandbox, over the
//! socket for snaps. The caller is known by the context id it sends (a running hook's, or
//! its snap's cookie), never by anything else it says; callers other than root may only read.

mod args;
mod config;
mod health;
mod interfaces;
mod services;

use std::sync::{Arc, Mutex};

use clap::Parser;

use crate::daemon::Daemon;
use crate::hookmgr::contexts::HookContext;
use crate::hookmgr::cookies;

pub use args::Command;

/// What a command printed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// The command ran and failed with this exit code (`snapctl is-connected` answering no).
    #[error("{}", if .stderr.is_empty() { format!("exit status {}", .code) } else { .stderr.clone() })]
    Unsuccessful {
        stdout: String,
        stderr: String,
        code: i32,
    },
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Internal(String),
}

impl From<snap_state::StateError> for CtlError {
    fn from(e: snap_state::StateError) -> Self {
        CtlError::Internal(e.to_string())
    }
}

/// Who is calling.
pub enum Caller {
    /// A hook, while it runs: what it sets waits for the hook's success.
    Hook(Arc<Mutex<HookContext>>),
    /// An app of this snap.
    App { snap: String },
}

impl Caller {
    pub fn snap(&self) -> String {
        match self {
            Caller::Hook(h) => h.lock().unwrap_or_else(|e| e.into_inner()).snap.clone(),
            Caller::App { snap } => snap.clone(),
        }
    }
}

/// Resolves the context id a call carries.
pub fn caller(d: &Daemon, context_id: &str) -> Result<Caller, CtlError> {
    if context_id.is_empty() {
        return Err(CtlError::Forbidden(
            "cannot use snapctl outside of a snap: no context (SNAP_COOKIE is not set)".into(),
        ));
    }
    if let Some(h) = d.hook_contexts.find(context_id) {
        return Ok(Caller::Hook(h));
    }
    let st = d.store.lock();
    match cookies::snap_of(&st, context_id)? {
        Some(snap) => Ok(Caller::App { snap }),
        None => Err(CtlError::Forbidden(
            "cannot use snapctl: unknown context".into(),
        )),
    }
}

/// Runs `args` (without the program name) for the caller with context `context_id`, whose
/// uid the socket reported.
pub fn run(
    d: &Daemon,
    context_id: &str,
    uid: Option<u32>,
    args: &[String],
) -> Result<Output, CtlError> {
    let caller = caller(d, context_id)?;
    let argv = std::iter::once("snapctl".to_owned()).chain(args.iter().cloned());
    let cmd = match args::Cli::try_parse_from(argv) {
        Ok(cli) => cli.command,
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            return Ok(Output {
                stdout: e.render().to_string(),
                stderr: String::new(),
            });
        }
        Err(e) => return Err(CtlError::Refused(e.render().to_string().trim().to_owned())),
    };
    if !cmd.is_read_only() && uid != Some(0) {
        return Err(CtlError::Forbidden(format!(
            "cannot use {:?} with uid {}, try with sudo",
            cmd.name(),
            uid.map_or("unknown".to_owned(), |u| u.to_string())
        )));
    }
    match cmd {
        Command::Get(a) => config::get(d, &caller, &a),
        Command::Set(a) => config::set(d, &caller, &a),
        Command::Unset(a) => config::unset(d, &caller, &a),
        Command::SetHealth(a) => health::set_health(d, &caller, &a),
        Command::IsConnected(a) => interfaces::is_connected(d, &caller, &a),
        Command::Services(a) => services::services(d, &caller, &a),
        Command::Start(a) => services::control(d, &caller, crate::servicemgr::Action::Start, &a),
        Command::Stop(a) => services::control(d, &caller, crate::servicemgr::Action::Stop, &a),
        Command::Restart(a) => {
            services::control(d, &caller, crate::servicemgr::Action::Restart, &a)
        }
    }
}
