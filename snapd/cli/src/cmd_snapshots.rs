//! `snap save`, `saved`, `check-snapshot`, `restore`, `forget`, `export-snapshot`,
//! `import-snapshot` over `/v2/snapshots`, with snap's output.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};
use snapd_api::Client;

use crate::table;
use crate::wait::wait_change;

const SNAPSHOT_MEDIA_TYPE: &str = "application/x.snapd.snapshot";

/// Save a snapshot of the current data of the given snaps (all app snaps when none are given).
#[derive(Args)]
pub struct SaveArgs {
    /// Snapshot data of only specific users (comma-separated)
    #[arg(long, value_delimiter = ',')]
    users: Vec<String>,
    /// Do not wait for the operation to finish but just print the change id
    #[arg(long)]
    no_wait: bool,
    #[arg(value_name = "snap")]
    snaps: Vec<String>,
}

/// List the snapshots.
#[derive(Args)]
pub struct SavedArgs {
    /// Show only a specific snapshot
    #[arg(long)]
    id: Option<u64>,
    #[arg(value_name = "snap")]
    snaps: Vec<String>,
}

/// Check a snapshot's checksums.
#[derive(Args)]
pub struct CheckArgs {
    /// Check data of only specific users (comma-separated)
    #[arg(long, value_delimiter = ',')]
    users: Vec<String>,
    #[arg(long)]
    no_wait: bool,
    #[arg(value_name = "snap-id")]
    id: u64,
    #[arg(value_name = "snap")]
    snaps: Vec<String>,
}

/// Restore a snapshot's data of the given snaps (all of the set when none are given).
#[derive(Args)]
pub struct RestoreArgs {
    /// Restore data of only specific users (comma-separated)
    #[arg(long, value_delimiter = ',')]
    users: Vec<String>,
    #[arg(long)]
    no_wait: bool,
    #[arg(value_name = "snap-id")]
    id: u64,
    #[arg(value_name = "snap")]
    snaps: Vec<String>,
}

/// Delete a snapshot (or only the given snaps' data in it).
#[derive(Args)]
pub struct ForgetArgs {
    #[arg(long)]
    no_wait: bool,
    #[arg(value_name = "snap-id")]
    id: u64,
    #[arg(value_name = "snap")]
    snaps: Vec<String>,
}

/// Export a snapshot set into a file.
#[derive(Args)]
pub struct ExportArgs {
    #[arg(value_name = "snap-id")]
    id: u64,
    #[arg(value_name = "filename")]
    file: PathBuf,
}

/// Import a snapshot set from a file made by export-snapshot.
#[derive(Args)]
pub struct ImportArgs {
    #[arg(value_name = "filename")]
    file: PathBuf,
}

pub async fn save(client: &Client, a: SaveArgs) -> anyhow::Result<()> {
    let resp = client
        .post_json(
            "/v2/snapshots",
            &json!({"action": "save", "snaps": a.snaps, "users": a.users}),
        )
        .await?;
    let id = resp
        .change
        .context("async response without change reference")?;
    if a.no_wait {
        println!("{id}");
        return Ok(());
    }
    let set = resp.result["set-id"]
        .as_u64()
        .context("the answer has no set id")?;
    wait_change(client, &id).await?;
    let sets = client
        .get(&format!("/v2/snapshots?set={set}"))
        .await?
        .result;
    print!("{}", render_sets(&sets, &crate::timefmt::now_rfc3339()));
    Ok(())
}

pub async fn saved(client: &Client, a: SavedArgs) -> anyhow::Result<()> {
    let mut q = Vec::new();
    if let Some(id) = a.id {
        q.push(format!("set={id}"));
    }
    if !a.snaps.is_empty() {
        q.push(format!("snaps={}", a.snaps.join(",")));
    }
    let path = if q.is_empty() {
        "/v2/snapshots".to_owned()
    } else {
        format!("/v2/snapshots?{}", q.join("&"))
    };
    let sets = client.get(&path).await?.result;
    if sets.as_array().is_none_or(Vec::is_empty) {
        match a.id {
            Some(id) => bail!("no snapshot with the given ID {id} found"),
            None => println!("No snapshots found."),
        }
        return Ok(());
    }
    print!("{}", render_sets(&sets, &crate::timefmt::now_rfc3339()));
    Ok(())
}

/// Posts an action on a set and waits for it; returns whether it ran (not `--no-wait`).
async fn on_set(
    client: &Client,
    action: &str,
    id: u64,
    snaps: &[String],
    users: &[String],
    no_wait: bool,
) -> anyhow::Result<bool> {
    let mut body = json!({"action": action, "set": id, "snaps": snaps});
    if !users.is_empty() {
        body["users"] = json!(users);
    }
    let resp = client.post_json("/v2/snapshots", &body).await?;
    let chg = resp
        .change
        .context("async response without change reference")?;
    if no_wait {
        println!("{chg}");
        return Ok(false);
    }
    wait_change(client, &chg).await?;
    Ok(true)
}

fn of_snaps(snaps: &[String]) -> String {
    if snaps.is_empty() {
        String::new()
    } else {
        format!(" of snaps {}", snaps.join(", "))
    }
}

pub async fn check(client: &Client, a: CheckArgs) -> anyhow::Result<()> {
    if on_set(client, "check", a.id, &a.snaps, &a.users, a.no_wait).await? {
        println!(
            "Snapshot #{}{} verified successfully.",
            a.id,
            of_snaps(&a.snaps)
        );
    }
    Ok(())
}

pub async fn restore(client: &Client, a: RestoreArgs) -> anyhow::Result<()> {
    if on_set(client, "restore", a.id, &a.snaps, &a.users, a.no_wait).await? {
        println!("Restored snapshot #{}{}.", a.id, of_snaps(&a.snaps));
    }
    Ok(())
}

pub async fn forget(client: &Client, a: ForgetArgs) -> anyhow::Result<()> {
    if on_set(client, "forget", a.id, &a.snaps, &[], a.no_wait).await? {
        println!("Snapshot #{}{} forgotten.", a.id, of_snaps(&a.snaps));
    }
    Ok(())
}

pub async fn export(client: &Client, a: ExportArgs) -> anyhow::Result<()> {
    // Written beside the target and renamed into place, so a failed export leaves no file.
    let dir = a
        .file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile_in(dir)?;
    let mut werr: Option<std::io::Error> = None;
    client
        .get_stream(&format!("/v2/snapshots/{}/export", a.id), |chunk| {
            if werr.is_none()
                && let Err(e) = tmp.1.write_all(chunk)
            {
                werr = Some(e);
            }
        })
        .await?;
    if let Some(e) = werr {
        let _ = std::fs::remove_file(&tmp.0);
        return Err(e).with_context(|| format!("cannot write {}", a.file.display()));
    }
    tmp.1.sync_all()?;
    std::fs::rename(&tmp.0, &a.file)
        .with_context(|| format!("cannot write {}", a.file.display()))?;
    println!(
        "Exported snapshot #{} into {:?}",
        a.id,
        a.file.display().to_string()
    );
    Ok(())
}

/// A new file in `dir` (no tempfile crate in the CLI: the name is unique to this process).
fn tempfile_in(dir: &std::path::Path) -> anyhow::Result<(PathBuf, std::fs::File)> {
    let path = dir.join(format!(".snap-export-{}.tmp", std::process::id()));
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    Ok((path, f))
}

pub async fn import(client: &Client, a: ImportArgs) -> anyhow::Result<()> {
    let data =
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let resp = client
        .request(
            "POST",
            "/v2/snapshots",
            Some(SNAPSHOT_MEDIA_TYPE),
            data.into(),
        )
        .await?;
    let set = resp.result["set-id"]
        .as_u64()
        .context("the answer has no set id")?;
    println!("Imported snapshot as #{set}");
    let sets = client
        .get(&format!("/v2/snapshots?set={set}"))
        .await?
        .result;
    print!("{}", render_sets(&sets, &crate::timefmt::now_rfc3339()));
    Ok(())
}

/// `Set  Snap  Age  Version  Rev  Size  Notes`, one row per snapshot, in the server's order.
fn render_sets(sets: &Value, now: &str) -> String {
    let mut rows = vec![
        ["Set", "Snap", "Age", "Version", "Rev", "Size", "Notes"]
            .map(String::from)
            .to_vec(),
    ];
    for set in sets.as_array().into_iter().flatten() {
        for s in set["snapshots"].as_array().into_iter().flatten() {
            let text = |k: &str| s[k].as_str().unwrap_or("").to_owned();
            let notes = if let Some(b) = s["broken"].as_str() {
                format!("broken: {b}")
            } else if s["auto"].as_bool() == Some(true) {
                "auto".to_owned()
            } else {
                "-".to_owned()
            };
            rows.push(vec![
                set["id"].as_u64().unwrap_or(0).to_string(),
                text("snap"),
                age(&text("time"), now),
                or_dash(text("version")),
                or_dash(text("revision")),
                size(s["size"].as_u64().unwrap_or(0)),
                notes,
            ]);
        }
    }
    table::render(&rows)
}

fn or_dash(s: String) -> String {
    if s.is_empty() { "-".into() } else { s }
}

/// Bytes as snap shows them: `173B`, `1.2kB`, `52MB` (decimal units).
fn size(n: u64) -> String {
    const UNITS: [&str; 5] = ["k", "M", "G", "T", "P"];
    if n < 1000 {
        return format!("{n}B");
    }
    let mut v = n as f64;
    let mut unit = "";
    for u in UNITS {
        v /= 1000.0;
        unit = u;
        if v < 1000.0 {
            break;
        }
    }
    if v < 10.0 {
        format!("{v:.1}{unit}B")
    } else {
        format!("{v:.0}{unit}B")
    }
}

/// How long ago `time` was (both RFC 3339): `12.3s`, `5m`, `3h`, `2d`; `-` when unreadable.
fn age(time: &str, now: &str) -> String {
    let (Ok(t), Ok(n)) = (
        time.parse::<jiff::Timestamp>(),
        now.parse::<jiff::Timestamp>(),
    ) else {
        return "-".into();
    };
    let secs = (n.as_millisecond() - t.as_millisecond()).max(0) as f64 / 1000.0;
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else if secs < 3600.0 {
        format!("{:.0}m", secs / 60.0)
    } else if secs < 86400.0 {
        format!("{:.0}h", secs / 3600.0)
    } else {
        format!("{:.0}d", secs / 86400.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ages_read_like_snaps() {
        assert_eq!(size(173), "173B");
        assert_eq!(size(1234), "1.2kB");
        assert_eq!(size(52_100_000), "52MB");
        assert_eq!(age("2026-01-01T00:00:00Z", "2026-01-01T00:00:05Z"), "5.0s");
        assert_eq!(age("2026-01-01T00:00:00Z", "2026-01-01T02:00:00Z"), "2h");
        assert_eq!(age("garbage", "2026-01-01T02:00:00Z"), "-");
    }

    #[test]
    fn the_table_has_snaps_columns() {
        let sets = json!([{"id": 3, "snapshots": [
            {"set": 3, "snap": "hello", "time": "2026-01-01T00:00:00Z", "version": "1.0",
             "revision": "x1", "size": 1234, "auto": true},
            {"set": 3, "snap": "zz", "broken": "bad checksum"}
        ]}]);
        let out = render_sets(&sets, "2026-01-01T00:00:02Z");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "Set  Snap   Age   Version  Rev  Size   Notes");
        assert_eq!(lines[1], "3    hello  2.0s  1.0      x1   1.2kB  auto");
        assert_eq!(
            lines[2],
            "3    zz     -     -        -    0B     broken: bad checksum"
        );
    }
}
