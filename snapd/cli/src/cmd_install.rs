use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use snapd_api::{Client, MultipartFile, Snap, kinds};

use crate::wait::wait_change;

/// The install command installs the named snaps on the system.
///
/// A snap file given by path (containing a slash or ending in .snap) is uploaded to the daemon
/// and installed from it; it is not signed by a store, so --dangerous is required. A name is
/// installed from the store the daemon is configured with, from --channel (stable by default).
#[derive(Args)]
pub struct InstallArgs {
    /// Install the given snap file even if there are no pre-acknowledged signatures for it,
    /// meaning it was not verified and could be dangerous
    #[arg(long)]
    dangerous: bool,
    /// Put snap in development mode and disable security confinement
    #[arg(long)]
    devmode: bool,
    /// Put snap in classic mode and disable security confinement
    #[arg(long)]
    classic: bool,
    /// Do not wait for the operation to finish but just print the change id
    #[arg(long)]
    no_wait: bool,
    /// Use this channel instead of stable
    #[arg(long, value_name = "channel")]
    channel: Option<String>,
    /// Install from the edge channel
    #[arg(long, conflicts_with_all = ["channel", "beta", "candidate", "stable"])]
    edge: bool,
    /// Install from the beta channel
    #[arg(long, conflicts_with_all = ["channel", "candidate", "stable"])]
    beta: bool,
    /// Install from the candidate channel
    #[arg(long, conflicts_with_all = ["channel", "stable"])]
    candidate: bool,
    /// Install from the stable channel
    #[arg(long, conflicts_with = "channel")]
    stable: bool,
    /// Snap files to install
    #[arg(value_name = "snap", required = true)]
    snaps: Vec<PathBuf>,
}

pub async fn run(client: &Client, args: InstallArgs) -> anyhow::Result<()> {
    for path in &args.snaps {
        if !is_local_file(path) {
            crate::cmd_find::install_from_store(
                client,
                &path.to_string_lossy(),
                &crate::cmd_find::StoreInstallOptions {
                    channel: channel_of(&args),
                    devmode: args.devmode,
                    classic: args.classic,
                    no_wait: args.no_wait,
                },
            )
            .await?;
            continue;
        }
        install_file(client, &args, path).await?;
    }
    Ok(())
}

/// `--channel`, or the risk given as its own flag (`--beta`).
fn channel_of(args: &InstallArgs) -> Option<String> {
    let risk = [
        (args.edge, "edge"),
        (args.beta, "beta"),
        (args.candidate, "candidate"),
        (args.stable, "stable"),
    ]
    .into_iter()
    .find(|(set, _)| *set)
    .map(|(_, r)| r.to_owned());
    args.channel.clone().or(risk)
}

fn is_local_file(p: &std::path::Path) -> bool {
    let s = p.to_string_lossy();
    s.contains('/') || s.ends_with(".snap")
}

async fn install_file(
    client: &Client,
    args: &InstallArgs,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let content = std::fs::read(path)
        .with_context(|| format!("cannot open {:?}", path.display().to_string()))?;
    let shown = path.display().to_string();
    let mut fields = vec![("action", "install"), ("snap-path", shown.as_str())];
    if args.dangerous {
        fields.push(("dangerous", "true"));
    }
    if args.devmode {
        fields.push(("devmode", "true"));
    }
    if args.classic {
        fields.push(("classic", "true"));
    }
    let file = MultipartFile {
        field: "snap".into(),
        filename: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        content,
    };
    let resp = match client
        .post_multipart("/v2/snaps", &fields, vec![file])
        .await
    {
        Ok(r) => r,
        Err(e) if e.kind() == Some(kinds::SNAP_ALREADY_INSTALLED) => {
            println!("snap {shown:?} is already installed, see 'snap help refresh'");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let id = resp
        .change
        .context("async response without change reference")?;
    if args.no_wait {
        println!("{id}");
        return Ok(());
    }
    let change = wait_change(client, &id).await?;
    let name = change
        .data
        .as_ref()
        .and_then(|d| d.get("snap-name"))
        .and_then(|v| v.as_str())
        .with_context(|| format!("cannot extract the snap-name from local file {shown:?}"))?
        .to_owned();
    let resp = client.get(&format!("/v2/snaps?snaps={name}")).await?;
    let snaps: Vec<Snap> = serde_json::from_value(resp.result).unwrap_or_default();
    let snap = snaps.first().context("no snaps installed")?;
    println!("{} {} installed", snap.name, snap.version);
    Ok(())
}
