use anyhow::Context;
use clap::Args;
use snapd_api::{Client, kinds};

use crate::wait::wait_change;

/// The remove command removes the named snap instance from the system, with its data.
#[derive(Args)]
pub struct RemoveArgs {
    /// Do not wait for the operation to finish but just print the change id
    #[arg(long)]
    no_wait: bool,
    /// Remove the snap without saving a snapshot of its data
    #[arg(long)]
    purge: bool,
    /// Snaps to remove
    #[arg(value_name = "snap", required = true)]
    snaps: Vec<String>,
}

pub async fn run(client: &Client, args: RemoveArgs) -> anyhow::Result<()> {
    for name in &args.snaps {
        let mut body = serde_json::json!({"action": "remove"});
        if args.purge {
            body["purge"] = true.into();
        }
        let resp = match client.post_json(&format!("/v2/snaps/{name}"), &body).await {
            Ok(r) => r,
            Err(e) if e.kind() == Some(kinds::SNAP_NOT_INSTALLED) => {
                println!("snap {name:?} is not installed");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let id = resp
            .change
            .context("async response without change reference")?;
        if args.no_wait {
            println!("{id}");
            continue;
        }
        wait_change(client, &id).await?;
        println!("{name} removed");
    }
    Ok(())
}
