use anyhow::{Context, bail};
use clap::Args;
use snapd_api::{Change, Client};

use crate::table::render;
use crate::timefmt::{human, now_rfc3339};

/// The changes command displays a summary of system changes performed recently.
#[derive(Args)]
pub struct ChangesArgs {
    /// Only changes affecting this snap
    #[arg(value_name = "snap")]
    snap: Option<String>,
}

/// The tasks command displays a summary of tasks associated with an individual change.
#[derive(Args)]
pub struct TasksArgs {
    /// The change's id
    #[arg(value_name = "change-id")]
    id: String,
}

/// The abort command attempts to abort a change that still has pending tasks.
#[derive(Args)]
pub struct AbortArgs {
    #[arg(value_name = "change-id")]
    id: String,
}

pub async fn changes(client: &Client, args: ChangesArgs) -> anyhow::Result<()> {
    let path = match &args.snap {
        Some(s) => format!("/v2/changes?for={s}&select=all"),
        None => "/v2/changes?select=all".to_owned(),
    };
    let resp = client.get(&path).await?;
    let mut list: Vec<Change> =
        serde_json::from_value(resp.result).context("cannot decode changes")?;
    if list.is_empty() {
        println!("no changes found");
        return Ok(());
    }
    // snap orders by spawn time, not by id.
    list.sort_by(|a, b| a.spawn_time.cmp(&b.spawn_time));
    let now = now_rfc3339();
    let mut rows = vec![
        ["ID", "Status", "Spawn", "Ready", "Summary"]
            .map(String::from)
            .to_vec(),
    ];
    for c in &list {
        rows.push(vec![
            c.id.clone(),
            c.status.clone(),
            human(&c.spawn_time, &now),
            human(c.ready_time.as_deref().unwrap_or(""), &now),
            c.summary.clone(),
        ]);
    }
    println!("{}", render(&rows));
    Ok(())
}

/// `snap watch ID`: follows the change until it is ready (or waits for a reboot); its error
/// is the command's.
pub async fn watch(client: &Client, args: TasksArgs) -> anyhow::Result<()> {
    crate::wait::wait_change(client, &args.id).await.map(|_| ())
}

pub async fn tasks(client: &Client, args: TasksArgs) -> anyhow::Result<()> {
    let change = get_change(client, &args.id).await?;
    let now = now_rfc3339();
    let mut rows = vec![
        ["Status", "Spawn", "Ready", "Summary"]
            .map(String::from)
            .to_vec(),
    ];
    for t in &change.tasks {
        rows.push(vec![
            t.status.clone(),
            human(&t.spawn_time, &now),
            human(t.ready_time.as_deref().unwrap_or(""), &now),
            t.summary.clone(),
        ]);
    }
    print!("{}", render(&rows));
    // Like snap, follow the table with the log lines of tasks that have them.
    for t in change.tasks.iter().filter(|t| !t.log.is_empty()) {
        println!("\n......................................................................");
        println!("{}\n", t.summary);
        for line in &t.log {
            println!("{line}");
        }
    }
    Ok(())
}

pub async fn abort(client: &Client, args: AbortArgs) -> anyhow::Result<()> {
    let resp = client
        .post_json(
            &format!("/v2/changes/{}", args.id),
            &serde_json::json!({"action": "abort"}),
        )
        .await?;
    let change: Change = serde_json::from_value(resp.result).context("cannot decode change")?;
    if change.id != args.id {
        bail!(
            "the daemon answered for change {} instead of {}",
            change.id,
            args.id
        );
    }
    Ok(())
}

async fn get_change(client: &Client, id: &str) -> anyhow::Result<Change> {
    let resp = client.get(&format!("/v2/changes/{id}")).await?;
    serde_json::from_value(resp.result).context("cannot decode change")
}
