//! `snap`: the command-line client. It talks to the daemon only through the REST API; `pack`
//! and the client half of `version` need no daemon.
#![forbid(unsafe_code)]

mod cmd_changes;
mod cmd_config;
mod cmd_find;
mod cmd_info;
mod cmd_install;
mod cmd_interfaces;
mod cmd_list;
mod cmd_pack;
mod cmd_refresh;
mod cmd_remove;
mod cmd_revert;
mod cmd_run;
mod cmd_services;
mod cmd_snapshots;
mod cmd_version;
mod cmd_wait;
mod cmd_warnings;
mod table;
mod timefmt;
mod wait;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use snap_core::dirs::Dirs;
use snapd_api::Client;

/// Install, configure, refresh and remove snap packages.
///
/// Snaps are read-only, confined application packages that update themselves and roll back
/// when an update goes wrong.
#[derive(Parser)]
#[command(name = "snap", disable_version_flag = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install snaps on the system
    Install(cmd_install::InstallArgs),
    /// Remove snaps from the system
    Remove(cmd_remove::RemoveArgs),
    /// Revert the given snap to the previous state
    Revert(cmd_revert::RevertArgs),
    /// Refresh snaps from the store, or hold and unhold their automatic refreshes
    Refresh(cmd_refresh::RefreshArgs),
    /// Switch the channel a snap tracks
    Switch(cmd_refresh::SwitchArgs),
    /// List installed snaps
    List(cmd_list::ListArgs),
    /// Show detailed information about snaps
    Info(cmd_info::InfoArgs),
    /// Find packages to install
    Find(cmd_find::FindArgs),
    /// List system changes
    Changes(cmd_changes::ChangesArgs),
    /// List a change's tasks
    Tasks(cmd_changes::TasksArgs),
    /// List a change's tasks (the same as 'snap tasks')
    Change(cmd_changes::TasksArgs),
    /// Abort a pending change
    Abort(cmd_changes::AbortArgs),
    /// List interface connections
    Connections(cmd_interfaces::ConnectionsArgs),
    /// List interfaces' slots and plugs (deprecated: use 'snap connections')
    Interfaces(cmd_interfaces::InterfacesArgs),
    /// Connect a plug to a slot
    Connect(cmd_interfaces::ConnectArgs),
    /// Disconnect a plug from a slot
    Disconnect(cmd_interfaces::DisconnectArgs),
    /// List warnings
    Warnings(cmd_warnings::WarningsArgs),
    /// Print configuration options
    Get(cmd_config::GetArgs),
    /// Change configuration options
    Set(cmd_config::SetArgs),
    /// Remove configuration options
    Unset(cmd_config::UnsetArgs),
    /// Query the status of services
    Services(cmd_services::ServicesArgs),
    /// Start services
    Start(cmd_services::StartArgs),
    /// Stop services
    Stop(cmd_services::StopArgs),
    /// Restart services
    Restart(cmd_services::RestartArgs),
    /// Retrieve logs for services
    Logs(cmd_services::LogsArgs),
    /// Run the given snap command
    Run(cmd_run::RunArgs),
    /// Pack the given directory as a snap
    Pack(cmd_pack::PackArgs),
    /// Save a snapshot of the current data of snaps
    Save(cmd_snapshots::SaveArgs),
    /// List the snapshots
    Saved(cmd_snapshots::SavedArgs),
    /// Check a snapshot
    CheckSnapshot(cmd_snapshots::CheckArgs),
    /// Restore a snapshot
    Restore(cmd_snapshots::RestoreArgs),
    /// Delete a snapshot
    Forget(cmd_snapshots::ForgetArgs),
    /// Export a snapshot set into a file
    ExportSnapshot(cmd_snapshots::ExportArgs),
    /// Import a snapshot set from a file
    ImportSnapshot(cmd_snapshots::ImportArgs),
    /// Watch a change in progress: wait for it, and fail if it fails
    Watch(cmd_changes::TasksArgs),
    /// Wait for configuration: until the option is true
    Wait(cmd_wait::WaitArgs),
    /// Show version details
    Version,
}

fn main() -> ExitCode {
    // `/snap/bin/NAME.APP` is a symlink to this binary: run that app.
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(target) = argv.first().and_then(|a| cmd_run::wrapper_target(a)) {
        argv.splice(
            0..1,
            ["snap".into(), "run".into(), target.into(), "--".into()],
        );
    }
    // Running an app needs no daemon and no async runtime: go straight to the launcher.
    if argv.get(1).is_some_and(|a| a == "run")
        && let Some(args) = cmd_run::fast_parse(&argv[2..])
    {
        let e = cmd_run::run(args);
        eprintln!("error: {}", message_of(&e));
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse_from(argv);
    if let Command::Run(args) = cli.command {
        let e = cmd_run::run(args);
        eprintln!("error: {}", message_of(&e));
        return ExitCode::FAILURE;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a single-threaded runtime can always be built");
    let client = Client::new(Dirs::from_env().snapd_socket());
    let result = runtime.block_on(async {
        match cli.command {
            Command::Install(a) => cmd_install::run(&client, a).await,
            Command::Remove(a) => cmd_remove::run(&client, a).await,
            Command::Revert(a) => cmd_revert::run(&client, a).await,
            Command::Refresh(a) => cmd_refresh::refresh(&client, a).await,
            Command::Switch(a) => cmd_refresh::switch(&client, a).await,
            Command::List(a) => cmd_list::run(&client, a).await,
            Command::Info(a) => cmd_info::run(&client, a).await,
            Command::Find(a) => cmd_find::find(&client, a).await,
            Command::Changes(a) => cmd_changes::changes(&client, a).await,
            Command::Tasks(a) | Command::Change(a) => cmd_changes::tasks(&client, a).await,
            Command::Abort(a) => cmd_changes::abort(&client, a).await,
            Command::Connections(a) => cmd_interfaces::connections(&client, a).await,
            Command::Interfaces(a) => cmd_interfaces::interfaces(&client, a).await,
            Command::Connect(a) => cmd_interfaces::connect(&client, a).await,
            Command::Disconnect(a) => cmd_interfaces::disconnect(&client, a).await,
            Command::Warnings(a) => cmd_warnings::run(&client, a).await,
            Command::Get(a) => cmd_config::get(&client, a).await,
            Command::Set(a) => cmd_config::set(&client, a).await,
            Command::Unset(a) => cmd_config::unset(&client, a).await,
            Command::Services(a) => cmd_services::services(&client, a).await,
            Command::Start(a) => cmd_services::start(&client, a).await,
            Command::Stop(a) => cmd_services::stop(&client, a).await,
            Command::Restart(a) => cmd_services::restart(&client, a).await,
            Command::Logs(a) => cmd_services::logs(&client, a).await,
            Command::Pack(a) => cmd_pack::run(a),
            Command::Save(a) => cmd_snapshots::save(&client, a).await,
            Command::Saved(a) => cmd_snapshots::saved(&client, a).await,
            Command::CheckSnapshot(a) => cmd_snapshots::check(&client, a).await,
            Command::Restore(a) => cmd_snapshots::restore(&client, a).await,
            Command::Forget(a) => cmd_snapshots::forget(&client, a).await,
            Command::ExportSnapshot(a) => cmd_snapshots::export(&client, a).await,
            Command::ImportSnapshot(a) => cmd_snapshots::import(&client, a).await,
            Command::Run(_) => unreachable!("handled above"),
            Command::Watch(a) => cmd_changes::watch(&client, a).await,
            Command::Wait(a) => cmd_wait::run(&client, a).await,
            Command::Version => cmd_version::run(&client).await,
        }
    });
    if let Some(m) = client.maintenance() {
        eprintln!("WARNING: {}", maintenance_warning(&m));
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // snap prints "error: <message>" on stderr and exits 1.
            eprintln!("error: {}", message_of(&e));
            ExitCode::FAILURE
        }
    }
}

/// What snap says when the daemon announces maintenance.
fn maintenance_warning(m: &snapd_api::Maintenance) -> String {
    match m.kind.as_str() {
        "system-restart" => "snapd is about to reboot the system".to_owned(),
        "daemon-restart" => "snapd is about to restart".to_owned(),
        _ => m.message.clone(),
    }
}

/// The error and its causes on one line, each cause once: library errors often say their
/// cause in their own message already.
fn message_of(e: &anyhow::Error) -> String {
    let mut out = String::new();
    // As snap: a change refused for lack of privilege says how to get it.
    let needs_root = e.chain().any(|c| {
        c.downcast_ref::<snapd_api::ClientError>()
            .and_then(|ce| ce.kind())
            == Some(snapd_api::kinds::LOGIN_REQUIRED)
    });
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    if needs_root {
        out.push_str(" (try with sudo)");
    }
    out
}
