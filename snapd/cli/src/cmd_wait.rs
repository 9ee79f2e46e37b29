//! `snap wait SNAP KEY`: waits until a configuration option is true, as snap does. Boot
//! scripts run `snap wait system seed.loaded` right after starting the daemon, so a daemon
//! that is not listening yet or an option not set yet means "keep waiting"; any other error
//! ends the wait.

use std::time::Duration;

use clap::Args;
use serde_json::Value;
use snapd_api::{Client, ClientError};

/// snap's poll interval.
const POLL: Duration = Duration::from_millis(250);

/// The wait command waits until a configuration option becomes true.
#[derive(Args)]
pub struct WaitArgs {
    #[arg(value_name = "snap")]
    snap: String,
    #[arg(value_name = "key")]
    key: String,
}

pub async fn run(client: &Client, a: WaitArgs) -> anyhow::Result<()> {
    let path = format!("/v2/snaps/{}/conf?keys={}", a.snap, a.key);
    loop {
        match client.get(&path).await {
            Ok(resp) => {
                if resp.result.get(&a.key).is_some_and(is_true) {
                    return Ok(());
                }
            }
            Err(ClientError::Connect { .. }) => {}
            Err(e) if e.kind() == Some("option-not-found") => {}
            Err(e) => return Err(e.into()),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// snap's notion of a true value: anything but false, null, zero, "" and empty collections.
fn is_true(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn true_values() {
        for v in [
            json!(true),
            json!(1),
            json!("yes"),
            json!([0]),
            json!({"a": 1}),
        ] {
            assert!(is_true(&v), "{v}");
        }
        for v in [
            json!(false),
            json!(null),
            json!(0),
            json!(""),
            json!([]),
            json!({}),
        ] {
            assert!(!is_true(&v), "{v}");
        }
    }
}
