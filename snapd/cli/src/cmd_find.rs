//! The store from the command line: `snap find`, the store half of `snap info` (the channel
//! map) and `snap install NAME` from the store.

use std::collections::BTreeMap;

use anyhow::Context;
use clap::Args;
use serde::Deserialize;
use snapd_api::{Client, Snap, kinds};

use crate::wait::wait_change;

/// The find command queries the store for available packages.
#[derive(Args)]
pub struct FindArgs {
    /// Search for snaps whose name or summary contains this (all snaps when omitted)
    #[arg(value_name = "query")]
    query: Option<String>,
}

/// A snap as `/v2/find` shows it: the snap object plus the store's channel map.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct StoreSnap {
    pub name: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub developer: String,
    #[serde(default)]
    pub publisher: Option<Publisher>,
    #[serde(default)]
    pub confinement: String,
    #[serde(default)]
    pub license: Option<String>,
    #[serde(default)]
    pub channels: BTreeMap<String, ChannelInfo>,
    #[serde(default)]
    pub tracks: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Publisher {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub validation: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ChannelInfo {
    #[serde(default)]
    pub revision: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub confinement: Option<String>,
}

impl StoreSnap {
    /// The publisher as snap shows it: its name, with ✓ when the store verified it.
    pub fn publisher_shown(&self) -> String {
        match &self.publisher {
            Some(p) if !p.username.is_empty() => {
                let mark = if p.validation == "verified" {
                    "✓"
                } else {
                    ""
                };
                format!("{}{mark}", p.username)
            }
            _ if !self.developer.is_empty() => self.developer.clone(),
            _ => "–".to_owned(),
        }
    }
}

pub async fn find(client: &Client, args: FindArgs) -> anyhow::Result<()> {
    let query = args.query.unwrap_or_default();
    let resp = client
        .get(&format!("/v2/find?q={}", encode_query(&query)))
        .await?;
    let snaps: Vec<StoreSnap> =
        serde_json::from_value(resp.result).context("cannot decode the store's answer")?;
    if snaps.is_empty() {
        // As snap: said on stderr, and not an error.
        eprintln!("No matching snaps for {query:?}");
        return Ok(());
    }
    print!("{}", render_find(&snaps));
    Ok(())
}

pub fn render_find(snaps: &[StoreSnap]) -> String {
    let mut rows = vec![
        ["Name", "Version", "Publisher", "Notes", "Summary"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for s in snaps {
        rows.push(vec![
            s.name.clone(),
            s.version.clone(),
            s.publisher_shown(),
            notes(&s.confinement),
            s.summary.clone(),
        ]);
    }
    crate::table::render(&rows)
}

fn notes(confinement: &str) -> String {
    match confinement {
        "classic" | "devmode" => confinement.to_owned(),
        _ => "-".to_owned(),
    }
}

/// The store's view of `name`, or `None` when the store does not have it or cannot be asked
/// (as snap, `snap info` then shows what is installed).
pub async fn remote_info(client: &Client, name: &str) -> Option<StoreSnap> {
    let resp = client
        .get(&format!("/v2/find?name={}", encode_query(name)))
        .await
        .ok()?;
    let mut snaps: Vec<StoreSnap> = serde_json::from_value(resp.result).ok()?;
    (!snaps.is_empty()).then(|| snaps.remove(0))
}

/// The `channels:` section of `snap info`: for each track every risk, open ones with their
/// version, revision and size, closed ones `↑` when they follow a more stable open one and `–`
/// otherwise; branches after their risk.
pub fn render_channels(s: &StoreSnap) -> String {
    const RISKS: [&str; 4] = ["stable", "candidate", "beta", "edge"];
    let mut rows: Vec<(String, Option<&ChannelInfo>, &str)> = Vec::new();
    let mut tracks = s.tracks.clone();
    if tracks.is_empty() {
        tracks.push("latest".into());
    }
    for track in &tracks {
        let mut open_below = false;
        for risk in RISKS {
            let full = format!("{track}/{risk}");
            match s.channels.get(&full) {
                Some(c) => {
                    open_below = true;
                    rows.push((full.clone(), Some(c), ""));
                }
                None => rows.push((full.clone(), None, if open_below { "↑" } else { "–" })),
            }
            let prefix = format!("{full}/");
            for (name, c) in s.channels.range(prefix.clone()..) {
                if !name.starts_with(&prefix) {
                    break;
                }
                rows.push((name.clone(), Some(c), ""));
            }
        }
    }
    let name_w = rows
        .iter()
        .map(|r| r.0.chars().count() + 1)
        .max()
        .unwrap_or(0);
    let open = rows.iter().filter_map(|r| r.1);
    let ver_w = open
        .clone()
        .map(|c| c.version.chars().count())
        .max()
        .unwrap_or(0);
    let rev_w = open
        .clone()
        .map(|c| c.revision.len() + 2)
        .max()
        .unwrap_or(0);
    let size_w = open.map(|c| human_size(c.size).len()).max().unwrap_or(0);
    let mut out = String::from("channels:\n");
    for (name, info, mark) in rows {
        let label = format!("{name}:");
        let line = match info {
            Some(c) => format!(
                "  {label:<name_w$} {:<ver_w$} {:<rev_w$} {:<size_w$} {}",
                c.version,
                format!("({})", c.revision),
                human_size(c.size),
                notes(c.confinement.as_deref().unwrap_or(""))
            ),
            None => format!("  {label:<name_w$} {mark}"),
        };
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// snap's sizes: decimal units, whole numbers.
pub fn human_size(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{}GB", n / 1_000_000_000),
        n if n >= 1_000_000 => format!("{}MB", n / 1_000_000),
        n if n >= 1_000 => format!("{}kB", n / 1_000),
        n => format!("{n}B"),
    }
}

/// What `snap install NAME` asked for.
pub struct StoreInstallOptions {
    pub channel: Option<String>,
    pub devmode: bool,
    pub classic: bool,
    pub no_wait: bool,
}

/// `snap install NAME [--channel=C]`: the daemon resolves, downloads and installs.
pub async fn install_from_store(
    client: &Client,
    name: &str,
    opts: &StoreInstallOptions,
) -> anyhow::Result<()> {
    let mut body = serde_json::json!({"action": "install"});
    if let Some(c) = &opts.channel {
        body["channel"] = c.clone().into();
    }
    if opts.devmode {
        body["devmode"] = true.into();
    }
    if opts.classic {
        body["classic"] = true.into();
    }
    let resp = match client.post_json(&format!("/v2/snaps/{name}"), &body).await {
        Ok(r) => r,
        Err(e) if e.kind() == Some(kinds::SNAP_ALREADY_INSTALLED) => {
            // As snap: not an error.
            println!("snap {name:?} is already installed, see 'snap help refresh'");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let id = resp
        .change
        .context("async response without change reference")?;
    if opts.no_wait {
        println!("{id}");
        return Ok(());
    }
    wait_change(client, &id).await?;
    let resp = client.get(&format!("/v2/snaps?snaps={name}")).await?;
    let snaps: Vec<Snap> = serde_json::from_value(resp.result).unwrap_or_default();
    let snap = snaps.first().context("the snap is not installed")?;
    // As snap: the channel is named unless it is stable.
    let tracking = snap.tracking_channel.as_deref().unwrap_or("");
    match tracking.strip_prefix("latest/").unwrap_or(tracking) {
        "" | "stable" => println!("{} {} installed", snap.name, snap.version),
        ch => println!("{} ({ch}) {} installed", snap.name, snap.version),
    }
    Ok(())
}

/// Percent-encodes a query value (the find query is free text).
fn encode_query(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap_with(channels: &[(&str, &str, &str, u64)], tracks: &[&str]) -> StoreSnap {
        StoreSnap {
            name: "hello".into(),
            tracks: tracks.iter().map(|t| (*t).to_owned()).collect(),
            channels: channels
                .iter()
                .map(|(n, v, r, s)| {
                    (
                        (*n).to_owned(),
                        ChannelInfo {
                            revision: (*r).into(),
                            version: (*v).into(),
                            size: *s,
                            ..ChannelInfo::default()
                        },
                    )
                })
                .collect(),
            ..StoreSnap::default()
        }
    }

    #[test]
    fn closed_channels_show_what_they_follow() {
        let s = snap_with(
            &[
                ("latest/stable", "1.0", "1", 4096),
                ("latest/beta", "2.0", "2", 12000),
                ("latest/beta/fix", "2.1", "3", 12000),
            ],
            &["latest"],
        );
        assert_eq!(
            render_channels(&s),
            "channels:\n\
             \x20 latest/stable:    1.0 (1) 4kB  -\n\
             \x20 latest/candidate: ↑\n\
             \x20 latest/beta:      2.0 (2) 12kB -\n\
             \x20 latest/beta/fix:  2.1 (3) 12kB -\n\
             \x20 latest/edge:      ↑\n"
        );
        let edge_only = snap_with(&[("2.0/edge", "3", "9", 10)], &["2.0"]);
        assert!(render_channels(&edge_only).contains("  2.0/stable:    –\n"));
    }

    #[test]
    fn find_lists_name_version_publisher_notes_summary() {
        let s = StoreSnap {
            name: "hello".into(),
            version: "1.0".into(),
            summary: "Says hello".into(),
            publisher: Some(Publisher {
                username: "acme".into(),
                validation: "unproven".into(),
            }),
            ..StoreSnap::default()
        };
        assert_eq!(
            render_find(&[s]),
            "Name   Version  Publisher  Notes  Summary\nhello  1.0      acme       -      Says hello\n"
        );
    }

    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(encode_query("a b&c"), "a%20b%26c");
    }
}
