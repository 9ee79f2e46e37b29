use snapd_api::{Client, SystemInfo};

/// Prints the client's and the daemon's versions and what the daemon knows of the system, in
/// `snap version`'s layout. Without a daemon the daemon's half reads "unavailable".
pub async fn run(client: &Client) -> anyhow::Result<()> {
    let info: Option<SystemInfo> = match client.get("/v2/system-info").await {
        Ok(resp) => serde_json::from_value(resp.result).ok(),
        Err(_) => None,
    };
    let mut rows = vec![row("snap", env!("CARGO_PKG_VERSION"))];
    match &info {
        Some(i) => {
            rows.push(row("snapd", &i.version));
            rows.push(row("series", &i.series));
            if i.on_classic {
                // snap shows the distribution as its own row: "debian  12".
                rows.push(row(&i.os_release.id, &i.os_release.version_id));
            }
            rows.push(row("kernel", &i.kernel_version));
            if !i.architecture.is_empty() {
                rows.push(row("architecture", &i.architecture));
            }
        }
        None => {
            rows.push(row("snapd", "unavailable"));
            rows.push(row("series", "-"));
        }
    }
    print!("{}", crate::table::render(&rows));
    Ok(())
}

fn row(key: &str, value: &str) -> Vec<String> {
    vec![key.to_owned(), value.to_owned()]
}
