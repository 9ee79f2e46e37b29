use anyhow::bail;
use clap::Args;
use snapd_api::{Client, Snap};

/// The list command displays a summary of snaps installed in the current system.
///
/// A green check mark (given color and unicode support) after a publisher name indicates that
/// the publisher has been verified.
#[derive(Args)]
pub struct ListArgs {
    /// Show all revisions
    #[arg(long)]
    all: bool,
    /// Snaps to list
    #[arg(value_name = "snap")]
    snaps: Vec<String>,
}

pub async fn run(client: &Client, args: ListArgs) -> anyhow::Result<()> {
    let mut query = Vec::new();
    if args.all {
        query.push("select=all".to_owned());
    }
    if !args.snaps.is_empty() {
        query.push(format!("snaps={}", args.snaps.join(",")));
    }
    let path = if query.is_empty() {
        "/v2/snaps".to_owned()
    } else {
        format!("/v2/snaps?{}", query.join("&"))
    };
    let resp = client.get(&path).await?;
    let mut snaps: Vec<Snap> = serde_json::from_value(resp.result).unwrap_or_default();
    if snaps.is_empty() {
        if args.snaps.is_empty() {
            eprintln!("No snaps are installed yet. Try 'snap install hello-world'.");
            return Ok(());
        }
        bail!("no matching snaps installed");
    }
    snaps.sort_by(|a, b| a.name.cmp(&b.name));
    let mut rows = vec![
        ["Name", "Version", "Rev", "Tracking", "Publisher", "Notes"]
            .map(String::from)
            .to_vec(),
    ];
    for s in &snaps {
        rows.push(vec![
            s.name.clone(),
            s.version.clone(),
            if s.revision.is_empty() {
                "unset".into()
            } else {
                s.revision.clone()
            },
            s.tracking_channel
                .clone()
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "-".into()),
            if s.developer.is_empty() {
                "-".into()
            } else {
                s.developer.clone()
            },
            notes(s),
        ]);
    }
    print!("{}", crate::table::render(&rows));
    Ok(())
}

/// The Notes column, as snap derives it from the snap's type and flags.
pub fn notes(s: &Snap) -> String {
    let mut n: Vec<&str> = Vec::new();
    if s.status != "active" {
        n.push("disabled");
    }
    match s.snap_type.as_str() {
        "base" | "gadget" | "kernel" | "snapd" => n.push(s.snap_type.as_str()),
        "os" => n.push("core"),
        _ => {}
    }
    if s.confinement == "classic" {
        n.push("classic");
    }
    if s.devmode {
        n.push("devmode");
    }
    if s.jailmode {
        n.push("jailmode");
    }
    // A snap that reported itself unwell says so here too.
    if let Some(h) = s.health.as_ref().filter(|h| h.status != "okay") {
        n.push(h.status.as_str());
    }
    if n.is_empty() {
        "-".into()
    } else {
        n.join(",")
    }
}
