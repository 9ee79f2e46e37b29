use anyhow::Context;
use clap::Args;
use snapd_api::{Client, Snap};

/// The info command shows detailed information about snaps.
#[derive(Args)]
pub struct InfoArgs {
    #[arg(value_name = "snap", required = true)]
    snaps: Vec<String>,
}

pub async fn run(client: &Client, args: InfoArgs) -> anyhow::Result<()> {
    for (i, name) in args.snaps.iter().enumerate() {
        if i > 0 {
            println!("---");
        }
        let local = match client.get(&format!("/v2/snaps/{name}")).await {
            Ok(resp) => {
                Some(serde_json::from_value::<Snap>(resp.result).context("cannot decode snap")?)
            }
            Err(e) if e.kind() == Some(snapd_api::kinds::SNAP_NOT_FOUND) => None,
            Err(e) => return Err(e.into()),
        };
        // As snap: the store's half is best effort (no store, or not in it: nothing shown).
        let remote = crate::cmd_find::remote_info(client, name).await;
        match (&local, &remote) {
            (Some(snap), _) => print!("{}", render(snap, remote.as_ref())),
            (None, Some(r)) => print!("{}", render_remote(r)),
            (None, None) => anyhow::bail!("no snap found for {name:?}"),
        }
    }
    Ok(())
}

/// A snap that is not installed: what the store says of it.
fn render_remote(r: &crate::cmd_find::StoreSnap) -> String {
    let mut out = String::new();
    out.push_str(&format!("{:<12}{}\n", "name:", r.name));
    out.push_str(&format!("{:<12}{}\n", "summary:", r.summary));
    out.push_str(&format!("{:<12}{}\n", "publisher:", r.publisher_shown()));
    out.push_str(&format!(
        "{:<12}{}\n",
        "license:",
        r.license.as_deref().unwrap_or("unset")
    ));
    out.push_str("description: |\n");
    for line in r.description.lines() {
        out.push_str(&format!("  {line}\n"));
    }
    out.push_str(&crate::cmd_find::render_channels(r));
    out
}

fn render(s: &Snap, remote: Option<&crate::cmd_find::StoreSnap>) -> String {
    // A snap from the store is its store's publisher's (the daemon does not keep it yet).
    let publisher = match remote {
        Some(r) if s.developer.is_empty() && s.tracking_channel.is_some() => r.publisher_shown(),
        _ if s.developer.is_empty() => "–".to_owned(),
        _ => s.developer.clone(),
    };
    let mut out = String::new();
    let mut field = |k: &str, v: &str| out.push_str(&format!("{k:<12}{v}\n"));
    field("name:", &s.name);
    field("summary:", &s.summary);
    field("publisher:", &publisher);
    field("license:", s.license.as_deref().unwrap_or("unset"));
    // The closure's borrow of `out` ends here.
    out.push_str("description: |\n");
    for line in s.description.lines() {
        out.push_str(&format!("  {line}\n"));
    }
    if !s.apps.is_empty() {
        out.push_str("commands:\n");
        for app in s.apps.iter().filter(|a| a.daemon.is_none()) {
            out.push_str(&format!("  - {}\n", command_name(&s.name, &app.name)));
        }
        let services: Vec<_> = s.apps.iter().filter(|a| a.daemon.is_some()).collect();
        if !services.is_empty() {
            out.push_str("services:\n");
            for app in services {
                out.push_str(&format!(
                    "  {}: {}\n",
                    command_name(&s.name, &app.name),
                    app.daemon.as_deref().unwrap_or("")
                ));
            }
        }
    }
    if let Some(h) = s.health.as_ref().filter(|h| h.status != "okay") {
        // As snapd: only a snap that is not okay shows its health.
        out.push_str("health:\n");
        out.push_str(&format!("  {:<10}{}\n", "status:", h.status));
        if !h.message.is_empty() {
            out.push_str(&format!("  {:<10}{}\n", "message:", h.message));
        }
        if !h.code.is_empty() {
            out.push_str(&format!("  {:<10}{}\n", "code:", h.code));
        }
        out.push_str(&format!("  {:<10}{}\n", "checked:", h.timestamp));
        if h.revision != s.revision {
            out.push_str(&format!("  {:<10}{}\n", "revision:", h.revision));
        }
    }
    out.push_str(&format!("{:<12}{}\n", "type:", s.snap_type));
    if let Some(base) = &s.base {
        out.push_str(&format!("{:<12}{}\n", "base:", base));
    }
    if let Some(t) = &s.tracking_channel {
        out.push_str(&format!("{:<12}{}\n", "tracking:", t));
    }
    if let Some(r) = remote {
        out.push_str(&crate::cmd_find::render_channels(r));
    }
    let size = s.installed_size.map(human_size).unwrap_or_default();
    out.push_str(&format!(
        "{:<12}{} ({}) {}\n",
        "installed:", s.version, s.revision, size
    ));
    out
}

/// `NAME` for the app named like its snap, `NAME.APP` otherwise: what users type.
fn command_name(snap: &str, app: &str) -> String {
    if snap == app {
        snap.to_owned()
    } else {
        format!("{snap}.{app}")
    }
}

fn human_size(n: u64) -> String {
    match n {
        n if n >= 1_000_000 => format!("{}MB", n / 1_000_000),
        n if n >= 1_000 => format!("{}kB", n / 1_000),
        n => format!("{n}B"),
    }
}
