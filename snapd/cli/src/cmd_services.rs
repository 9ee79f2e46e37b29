//! `snap services`, `snap start|stop|restart`, `snap logs`: over `/v2/apps` and `/v2/logs`.

use anyhow::Context;
use clap::Args;
use snapd_api::{AppsAction, Client, JsonSeqDecoder, LogRecord};

use crate::table;
use crate::wait::follow;

/// The services command lists the services of installed snaps, whether they start at boot
/// and whether they are running.
#[derive(Args)]
pub struct ServicesArgs {
    /// Snaps (or snap.app services) to list; all by default
    #[arg(value_name = "snap")]
    names: Vec<String>,
}

fn query_names(names: &[String]) -> String {
    // Names are snap and app names: no characters that need escaping in a query.
    names.join(",")
}

pub async fn services(client: &Client, args: ServicesArgs) -> anyhow::Result<()> {
    let mut path = "/v2/apps?select=service".to_owned();
    if !args.names.is_empty() {
        path.push_str(&format!("&names={}", query_names(&args.names)));
    }
    let resp = client.get(&path).await?;
    let apps: Vec<serde_json::Value> =
        serde_json::from_value(resp.result).context("cannot decode the services")?;
    if apps.is_empty() {
        println!("There are no services provided by installed snaps.");
        return Ok(());
    }
    let mut rows = vec![vec![
        "Service".to_owned(),
        "Startup".to_owned(),
        "Current".to_owned(),
        "Notes".to_owned(),
    ]];
    for a in apps {
        let text = |k: &str| a.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        let flag = |k: &str| a.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
        let notes = match text("status").as_str() {
            // Not a snapd column value: the failed state (crash loop, start limit) as a note.
            "failed" => "failed".to_owned(),
            _ => "-".to_owned(),
        };
        rows.push(vec![
            format!("{}.{}", text("snap"), text("name")),
            if flag("enabled") {
                "enabled"
            } else {
                "disabled"
            }
            .to_owned(),
            if flag("active") { "active" } else { "inactive" }.to_owned(),
            notes,
        ]);
    }
    print!("{}", table::render(&rows));
    Ok(())
}

/// Start, stop or restart services.
#[derive(Args)]
pub struct StartArgs {
    /// As well as starting the services, arrange for them to start on boot
    #[arg(long)]
    enable: bool,
    /// Do not wait for the operation to finish but just print the change id
    #[arg(long)]
    no_wait: bool,
    /// Services (snap or snap.app)
    #[arg(value_name = "service", required = true)]
    names: Vec<String>,
}

#[derive(Args)]
pub struct StopArgs {
    /// As well as stopping the services, arrange for them not to start on boot
    #[arg(long)]
    disable: bool,
    /// Do not wait for the operation to finish but just print the change id
    #[arg(long)]
    no_wait: bool,
    /// Services (snap or snap.app)
    #[arg(value_name = "service", required = true)]
    names: Vec<String>,
}

#[derive(Args)]
pub struct RestartArgs {
    /// If the service has a reload command, use it instead of restarting
    #[arg(long)]
    reload: bool,
    /// Do not wait for the operation to finish but just print the change id
    #[arg(long)]
    no_wait: bool,
    /// Services (snap or snap.app)
    #[arg(value_name = "service", required = true)]
    names: Vec<String>,
}

async fn act(client: &Client, action: AppsAction, no_wait: bool) -> anyhow::Result<()> {
    let what = action.action.clone();
    let resp = client
        .post_json("/v2/apps", &serde_json::to_value(&action)?)
        .await?;
    if follow(client, resp, no_wait).await?.is_none() {
        return Ok(());
    }
    let past = match what.as_str() {
        "start" => "Started",
        "stop" => "Stopped",
        _ => "Restarted",
    };
    println!("{past}.");
    Ok(())
}

pub async fn start(client: &Client, a: StartArgs) -> anyhow::Result<()> {
    let action = AppsAction {
        action: "start".into(),
        names: a.names,
        enable: a.enable,
        ..Default::default()
    };
    act(client, action, a.no_wait).await
}

pub async fn stop(client: &Client, a: StopArgs) -> anyhow::Result<()> {
    let action = AppsAction {
        action: "stop".into(),
        names: a.names,
        disable: a.disable,
        ..Default::default()
    };
    act(client, action, a.no_wait).await
}

pub async fn restart(client: &Client, a: RestartArgs) -> anyhow::Result<()> {
    let action = AppsAction {
        action: "restart".into(),
        names: a.names,
        reload: a.reload,
        ..Default::default()
    };
    act(client, action, a.no_wait).await
}

/// Show the logs of services.
#[derive(Args)]
pub struct LogsArgs {
    /// Show only the given number of lines, or 'all'
    #[arg(short = 'n', default_value = "10", value_name = "lines")]
    n: String,
    /// Wait for new lines and print them as they come in
    #[arg(short = 'f')]
    follow: bool,
    /// Services (snap or snap.app)
    #[arg(value_name = "service", required = true)]
    names: Vec<String>,
}

fn print_record(r: &LogRecord) {
    // snap's format: TIMESTAMP SID[PID]: MESSAGE
    if r.pid.is_empty() {
        println!("{} {}: {}", r.timestamp, r.sid, r.message);
    } else {
        println!("{} {}[{}]: {}", r.timestamp, r.sid, r.pid, r.message);
    }
}

pub async fn logs(client: &Client, a: LogsArgs) -> anyhow::Result<()> {
    let n: i64 = if a.n == "all" {
        -1
    } else {
        a.n.parse()
            .ok()
            .filter(|n: &i64| *n >= 0)
            .with_context(|| format!("invalid argument for flag '-n': expected a non-negative integer argument, or 'all', but got {:?}", a.n))?
    };
    let path = format!(
        "/v2/logs?names={}&n={n}{}",
        query_names(&a.names),
        if a.follow { "&follow=true" } else { "" }
    );
    let mut dec = JsonSeqDecoder::default();
    client
        .get_stream(&path, |chunk| {
            for r in dec.feed(chunk) {
                print_record(&r);
            }
        })
        .await?;
    Ok(())
}
