//! The command line `snapctl` sends, parsed here (the client only forwards its arguments).

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "snapctl", about = "Talk to the snap daemon from inside a snap")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print configuration options
    Get(GetArgs),
    /// Change configuration options
    Set(SetArgs),
    /// Remove configuration options
    Unset(UnsetArgs),
    /// Report the health status of the snap
    SetHealth(SetHealthArgs),
    /// Exit 0 if the plug or slot is connected, 1 otherwise
    IsConnected(IsConnectedArgs),
    /// List the snap's services
    Services(ServicesArgs),
    /// Start the snap's services
    Start(ServiceControlArgs),
    /// Stop the snap's services
    Stop(ServiceControlArgs),
    /// Restart the snap's services
    Restart(ServiceControlArgs),
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Get(_) => "get",
            Command::Set(_) => "set",
            Command::Unset(_) => "unset",
            Command::SetHealth(_) => "set-health",
            Command::IsConnected(_) => "is-connected",
            Command::Services(_) => "services",
            Command::Start(_) => "start",
            Command::Stop(_) => "stop",
            Command::Restart(_) => "restart",
        }
    }

    /// What a caller other than root may run.
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            Command::Get(_) | Command::IsConnected(_) | Command::Services(_)
        )
    }
}

#[derive(Args, Debug)]
pub struct GetArgs {
    /// Always print a JSON document, even for one key
    #[arg(short = 'd')]
    pub document: bool,
    /// Keys to print
    #[arg(required = true, value_name = "KEY")]
    pub keys: Vec<String>,
}

#[derive(Args, Debug)]
pub struct SetArgs {
    /// key=value pairs; a value that is valid JSON is taken as JSON, else as a string;
    /// `key!` unsets
    #[arg(required = true, value_name = "KEY=VALUE")]
    pub pairs: Vec<String>,
    /// Take every value as a string
    #[arg(short = 's', conflicts_with = "typed")]
    pub string: bool,
    /// Take every value as JSON
    #[arg(short = 't')]
    pub typed: bool,
}

#[derive(Args, Debug)]
pub struct UnsetArgs {
    #[arg(required = true, value_name = "KEY")]
    pub keys: Vec<String>,
}

#[derive(Args, Debug)]
pub struct SetHealthArgs {
    /// okay, waiting, blocked or error
    pub status: String,
    /// What is wrong (required unless okay)
    pub message: Option<String>,
    /// A machine-readable code for the status
    #[arg(long)]
    pub code: Option<String>,
}

#[derive(Args, Debug)]
pub struct IsConnectedArgs {
    /// A plug or slot of the calling snap
    pub name: String,
}

#[derive(Args, Debug)]
pub struct ServicesArgs {
    /// The snap's services (`SNAP.APP`), all of them when none are given
    #[arg(value_name = "SERVICE")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ServiceControlArgs {
    /// Also start them at boot (start) or not (stop)
    #[arg(long)]
    pub enable: bool,
    #[arg(long, conflicts_with = "enable")]
    pub disable: bool,
    /// The snap's services: `SNAP` for all, or `SNAP.APP`
    #[arg(value_name = "SERVICE", required = true)]
    pub names: Vec<String>,
}
