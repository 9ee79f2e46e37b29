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
        let resp = client.get(&format!("/v2/snaps/{name}")).await?;
        let snap: Snap = serde_json::from_value(resp.result).context("cannot decode snap")?;
        print!("{}", render(&snap));
    }
    Ok(())
}

fn render(s: &Snap) -> String {
    let mut out = String::new();
    let mut field = |k: &str, v: &str| out.push_str(&format!("{k:<12}{v}\n"));
    field("name:", &s.name);
    field("summary:", &s.summary);
    field(
        "publisher:",
        if s.developer.is_empty() {
            "–"
        } else {
            &s.developer
        },
    );
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
    out.push_str(&format!("{:<12}{}\n", "type:", s.snap_type));
    if let Some(base) = &s.base {
        out.push_str(&format!("{:<12}{}\n", "base:", base));
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
