//! `snap refresh [SNAP...]` (from the store, all or nothing), its `--hold`/`--unhold` and
//! `--time` forms, and `snap switch`.

use anyhow::{Context, bail};
use clap::Args;
use snapd_api::{Client, Snap};

use crate::timefmt;
use crate::wait::follow;

/// The refresh command updates the named snaps (all snaps from the store when none are named)
/// to the latest revision of the channel they track; if one fails, none is refreshed.
#[derive(Args)]
pub struct RefreshArgs {
    /// Use this channel instead of the tracked one (and track it from now on)
    #[arg(long)]
    channel: Option<String>,
    #[arg(long, conflicts_with = "channel")]
    edge: bool,
    #[arg(long, conflicts_with = "channel")]
    beta: bool,
    #[arg(long, conflicts_with = "channel")]
    candidate: bool,
    #[arg(long, conflicts_with = "channel")]
    stable: bool,
    /// Hold automatic refreshes: for a duration (72h, 30m, 2h30m) or "forever"
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "forever", value_name = "duration")]
    hold: Option<String>,
    /// Remove a hold
    #[arg(long, conflicts_with = "hold")]
    unhold: bool,
    /// Show the automatic refresh schedule: last, next, held
    #[arg(long)]
    time: bool,
    /// Do not wait for the operation to finish but just print the change id
    #[arg(long)]
    no_wait: bool,
    #[arg(value_name = "snap")]
    snaps: Vec<String>,
}

/// The switch command changes the channel a snap tracks; the next refresh follows it.
#[derive(Args)]
pub struct SwitchArgs {
    #[arg(long)]
    channel: Option<String>,
    #[arg(long, conflicts_with = "channel")]
    edge: bool,
    #[arg(long, conflicts_with = "channel")]
    beta: bool,
    #[arg(long, conflicts_with = "channel")]
    candidate: bool,
    #[arg(long, conflicts_with = "channel")]
    stable: bool,
    #[arg(value_name = "snap")]
    snap: String,
}

fn risk_flag(edge: bool, beta: bool, candidate: bool, stable: bool) -> Option<String> {
    [
        (edge, "edge"),
        (beta, "beta"),
        (candidate, "candidate"),
        (stable, "stable"),
    ]
    .iter()
    .find(|(on, _)| *on)
    .map(|(_, r)| (*r).to_owned())
}

pub async fn refresh(client: &Client, a: RefreshArgs) -> anyhow::Result<()> {
    if a.time {
        return time(client).await;
    }
    if let Some(d) = &a.hold {
        return hold(client, &a.snaps, d).await;
    }
    if a.unhold {
        return unhold(client, &a.snaps).await;
    }
    let channel = a
        .channel
        .clone()
        .or_else(|| risk_flag(a.edge, a.beta, a.candidate, a.stable));
    let resp = match a.snaps.as_slice() {
        [one] => {
            let mut body = serde_json::json!({"action": "refresh"});
            if let Some(c) = &channel {
                body["channel"] = c.clone().into();
            }
            match client.post_json(&format!("/v2/snaps/{one}"), &body).await {
                Ok(r) => r,
                // As snap: nothing to do is not an error.
                Err(e) if e.kind() == Some("snap-no-update-available") => {
                    println!("snap {one:?} has no updates available");
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            }
        }
        many => {
            if channel.is_some() {
                bail!("a single snap name is needed to specify the channel");
            }
            let body = serde_json::json!({"action": "refresh", "snaps": many});
            client.post_json("/v2/snaps", &body).await?
        }
    };
    let Some(change) = follow(client, resp, a.no_wait).await? else {
        return Ok(());
    };
    let names: Vec<String> = change
        .data
        .as_ref()
        .and_then(|d| d.get("snap-names"))
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    if names.is_empty() {
        println!("All snaps up to date.");
        return Ok(());
    }
    let resp = client
        .get(&format!("/v2/snaps?snaps={}", names.join(",")))
        .await?;
    let snaps: Vec<Snap> = serde_json::from_value(resp.result).unwrap_or_default();
    for s in snaps {
        let tracking = s.tracking_channel.as_deref().unwrap_or("");
        match tracking.strip_prefix("latest/").unwrap_or(tracking) {
            "" | "stable" => println!("{} {} refreshed", s.name, s.version),
            ch => println!("{} ({ch}) {} refreshed", s.name, s.version),
        }
    }
    Ok(())
}

/// The end of a hold for `--hold=DURATION`: `forever`, or now plus a duration in Go's syntax
/// (`72h`, `1h30m`, `1.5h`, `90s`), at least a second, cut to the second as snap sends it.
pub fn hold_until(duration: &str) -> anyhow::Result<String> {
    if duration == "forever" {
        return Ok("forever".to_owned());
    }
    let d = snap_core::parse_duration(duration).map_err(|e| {
        anyhow::anyhow!(
            "hold value must be a number of hours, minutes or seconds, or \"forever\": {e}"
        )
    })?;
    if d.nanos() < 1_000_000_000 {
        bail!("cannot hold refreshes for less than a second: {duration}");
    }
    Ok(timefmt::rfc3339_in(d.nanos() / 1_000_000_000))
}

async fn hold(client: &Client, snaps: &[String], duration: &str) -> anyhow::Result<()> {
    let until = hold_until(duration)?;
    if snaps.is_empty() {
        // All snaps: the system's refresh.hold.
        set_system_hold(client, serde_json::Value::String(until.clone())).await?;
        println!("Auto-refresh of all snaps held until {until}");
        return Ok(());
    }
    for s in snaps {
        let body = serde_json::json!({"action": "hold", "time": until, "hold-level": "general"});
        client.post_json(&format!("/v2/snaps/{s}"), &body).await?;
        println!("General refreshes of {s:?} held until {until}");
    }
    Ok(())
}

/// `refresh.hold` of the system's configuration (`null` removes it), waiting for the change.
async fn set_system_hold(client: &Client, value: serde_json::Value) -> anyhow::Result<()> {
    let body = serde_json::json!({ "refresh.hold": value });
    let resp = client
        .request(
            "PUT",
            "/v2/snaps/system/conf",
            Some("application/json"),
            serde_json::to_vec(&body)?.into(),
        )
        .await?;
    follow(client, resp, false).await?;
    Ok(())
}

async fn unhold(client: &Client, snaps: &[String]) -> anyhow::Result<()> {
    if snaps.is_empty() {
        set_system_hold(client, serde_json::Value::Null).await?;
        println!("Removed auto-refresh hold on all snaps");
        return Ok(());
    }
    for s in snaps {
        let body = serde_json::json!({"action": "unhold"});
        client.post_json(&format!("/v2/snaps/{s}"), &body).await?;
        println!("Removed general refresh hold of {s:?}");
    }
    Ok(())
}

/// `snap refresh --time`: the `refresh` object of `/v2/system-info`, as snap prints it.
async fn time(client: &Client) -> anyhow::Result<()> {
    let resp = client.get("/v2/system-info").await?;
    let r = &resp.result["refresh"];
    let field = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
    println!("timer: {}", field("timer"));
    let last = field("last");
    println!(
        "last: {}",
        if last.is_empty() { "n/a".into() } else { last }
    );
    let hold = field("hold");
    if !hold.is_empty() {
        println!("hold: {hold}");
    }
    let next = field("next");
    println!(
        "next: {}",
        if next.is_empty() { "n/a".into() } else { next }
    );
    Ok(())
}

pub async fn switch(client: &Client, a: SwitchArgs) -> anyhow::Result<()> {
    let channel = a
        .channel
        .clone()
        .or_else(|| risk_flag(a.edge, a.beta, a.candidate, a.stable))
        .context("missing --channel=<channel-name> parameter")?;
    let body = serde_json::json!({"action": "switch", "channel": channel});
    let resp = client
        .post_json(&format!("/v2/snaps/{}", a.snap), &body)
        .await?;
    follow(client, resp, false).await?;
    println!("{} switched to the {channel} channel", a.snap);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_durations_are_gos() {
        assert_eq!(hold_until("forever").unwrap(), "forever");
        for ok in ["72h", "30m", "1h30m", "1.5h", "45s"] {
            assert!(hold_until(ok).unwrap().ends_with('Z'), "{ok}");
        }
        for bad in ["", "3", "h", "3d", "-1h", "0h", "1h30", "500ms"] {
            assert!(hold_until(bad).is_err(), "{bad}");
        }
    }
}
