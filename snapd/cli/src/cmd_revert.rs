//! `snap revert NAME [--revision=R]`: back to a retained revision and its data.

use clap::Args;
use snapd_api::Client;

use crate::wait::follow;

/// The revert command reverts the given snap to its state before the latest refresh: the
/// previous revision (or the one given) becomes current again, with the data it had.
#[derive(Args)]
pub struct RevertArgs {
    /// Revert to the given revision
    #[arg(long)]
    revision: Option<String>,
    /// Do not wait for the operation to finish but just print the change id
    #[arg(long)]
    no_wait: bool,
    #[arg(value_name = "snap")]
    snap: String,
}

pub async fn run(client: &Client, a: RevertArgs) -> anyhow::Result<()> {
    let mut body = serde_json::json!({"action": "revert"});
    if let Some(r) = &a.revision {
        body["revision"] = r.clone().into();
    }
    let resp = client
        .post_json(&format!("/v2/snaps/{}", a.snap), &body)
        .await?;
    if follow(client, resp, a.no_wait).await?.is_none() {
        return Ok(());
    }
    let snap = client.get(&format!("/v2/snaps/{}", a.snap)).await?;
    let field = |k: &str| snap.result[k].as_str().unwrap_or("").to_owned();
    println!(
        "{} reverted to {}",
        a.snap,
        if field("version").is_empty() {
            field("revision")
        } else {
            field("version")
        }
    );
    Ok(())
}
