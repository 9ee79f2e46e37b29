use anyhow::Context;
use clap::Args;
use snapd_api::{Client, Warning};

use crate::timefmt::{human, now_rfc3339};

/// The warnings command lists the warnings that have been reported to the system.
///
/// Warnings expire automatically, and once expired they are forgotten.
#[derive(Args)]
pub struct WarningsArgs {
    /// Show all warnings
    #[arg(long)]
    all: bool,
    /// Show more information
    #[arg(long)]
    verbose: bool,
}

pub async fn run(client: &Client, args: WarningsArgs) -> anyhow::Result<()> {
    let path = if args.all {
        "/v2/warnings?select=all"
    } else {
        "/v2/warnings"
    };
    let resp = client.get(path).await?;
    let warnings: Vec<Warning> =
        serde_json::from_value(resp.result).context("cannot decode warnings")?;
    print!("{}", render(&warnings, args.verbose, &now_rfc3339()));
    Ok(())
}

/// snap's layout: a `key:  value` block per warning, `---` between them, the message as a YAML
/// block scalar indented by two spaces.
fn render(warnings: &[Warning], verbose: bool, now: &str) -> String {
    if warnings.is_empty() {
        return "No warnings.\n".to_owned();
    }
    let mut out = String::new();
    for (i, w) in warnings.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let mut fields = Vec::new();
        if verbose {
            fields.push(("first-occurrence:", human(&w.first_added, now)));
        }
        fields.push(("last-occurrence:", human(&w.last_added, now)));
        if verbose {
            fields.push((
                "acknowledged:",
                w.last_shown
                    .as_deref()
                    .map(|t| human(t, now))
                    .unwrap_or_else(|| "--".into()),
            ));
            fields.push(("repeats-after:", w.repeat_after.clone()));
            fields.push(("expires-after:", w.expire_after.clone()));
        }
        let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 2;
        for (k, v) in fields {
            out.push_str(&format!("{k:width$}{v}\n"));
        }
        out.push_str("warning: |\n");
        for line in w.message.lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_read_like_snaps() {
        assert_eq!(render(&[], false, "2026-03-01T10:00:00Z"), "No warnings.\n");
        let w = Warning {
            message: "snap \"x\" has bad plugs or slots: foo (unknown interface \"foo\")".into(),
            first_added: "2026-03-01T09:00:00Z".into(),
            last_added: "2026-03-01T09:05:00Z".into(),
            last_shown: None,
            expire_after: "672h0m0s".into(),
            repeat_after: "24h0m0s".into(),
        };
        assert_eq!(
            render(&[w.clone(), w], false, "2026-03-01T10:00:00Z"),
            "last-occurrence:  today at 09:05 UTC\nwarning: |\n  snap \"x\" has bad plugs or slots: foo (unknown interface \"foo\")\n---\nlast-occurrence:  today at 09:05 UTC\nwarning: |\n  snap \"x\" has bad plugs or slots: foo (unknown interface \"foo\")\n"
        );
    }
}
