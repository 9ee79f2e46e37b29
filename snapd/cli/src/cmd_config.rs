//! `snap get`, `snap set` and `snap unset`: a snap's configuration over
//! `/v2/snaps/{name}/conf`. Setting runs the snap's configure hook, which may refuse.

use clap::Args;
use serde_json::{Map, Value};
use snapd_api::Client;

use crate::table;
use crate::wait::follow;

/// The get command prints configuration options for the snap (`system` for the system's own).
#[derive(Args)]
pub struct GetArgs {
    /// Always print a JSON document
    #[arg(short = 'd')]
    document: bool,
    /// Always print a table of keys and values
    #[arg(short = 'l', conflicts_with = "document")]
    list: bool,
    #[arg(value_name = "snap")]
    snap: String,
    #[arg(value_name = "key")]
    keys: Vec<String>,
}

/// The set command changes configuration options; the snap's configure hook checks them.
#[derive(Args)]
pub struct SetArgs {
    /// Take every value as a string
    #[arg(short = 's', conflicts_with = "typed")]
    string: bool,
    /// Take every value as JSON
    #[arg(short = 't')]
    typed: bool,
    /// Do not wait for the operation to finish but just print the change id
    #[arg(long)]
    no_wait: bool,
    #[arg(value_name = "snap")]
    snap: String,
    /// key=value pairs (a value that is JSON is taken as JSON); key! unsets
    #[arg(value_name = "key=value", required = true)]
    pairs: Vec<String>,
}

/// The unset command removes configuration options.
#[derive(Args)]
pub struct UnsetArgs {
    /// Do not wait for the operation to finish but just print the change id
    #[arg(long)]
    no_wait: bool,
    #[arg(value_name = "snap")]
    snap: String,
    #[arg(value_name = "key", required = true)]
    keys: Vec<String>,
}

pub async fn get(client: &Client, a: GetArgs) -> anyhow::Result<()> {
    let query = if a.keys.is_empty() {
        String::new()
    } else {
        format!("?keys={}", a.keys.join(","))
    };
    let resp = client
        .get(&format!("/v2/snaps/{}/conf{query}", a.snap))
        .await?;
    let result = resp.result;
    print!("{}", render_get(&result, &a.keys, a.document, a.list));
    Ok(())
}

/// What `snap get` prints, as snapd does: one scalar key alone prints its value; a document
/// is a table of keys (nested objects shown as `{...}`) unless `-d` asks for JSON.
pub fn render_get(result: &Value, keys: &[String], document: bool, list: bool) -> String {
    if document {
        return format!("{}\n", snapd_api::pretty_json_tabs(result));
    }
    let empty = Map::new();
    let obj = result.as_object().unwrap_or(&empty);
    // `snap get NAME KEY` for one key: its value, or its children as a table.
    let (rows_of, prefix) = match keys {
        [one] => match obj.get(one) {
            Some(Value::Object(m)) => (m, format!("{one}.")),
            Some(Value::String(s)) if !list => return format!("{s}\n"),
            Some(v) if !list => return format!("{}\n", snapd_api::pretty_json_tabs(v)),
            _ => (obj, String::new()),
        },
        _ => (obj, String::new()),
    };
    if rows_of.is_empty() {
        return String::new();
    }
    let mut rows = vec![vec!["Key".to_owned(), "Value".to_owned()]];
    let mut keys: Vec<&String> = rows_of.keys().collect();
    keys.sort();
    for k in keys {
        let v = &rows_of[k];
        let shown = match v {
            Value::Object(m) if !m.is_empty() => "{...}".to_owned(),
            Value::Array(a) if !a.is_empty() => "[...]".to_owned(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        rows.push(vec![format!("{prefix}{k}"), shown]);
    }
    table::render(&rows)
}

/// Parses `key=value` and `key!` as snapd does (see `snapd_api::parse_conf_pairs`).
pub fn parse_pairs(
    pairs: &[String],
    string: bool,
    typed: bool,
) -> anyhow::Result<Map<String, Value>> {
    let parsed = snapd_api::parse_conf_pairs(pairs, string, typed)
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    Ok(parsed.into_iter().collect())
}

pub async fn set(client: &Client, a: SetArgs) -> anyhow::Result<()> {
    let patch = parse_pairs(&a.pairs, a.string, a.typed)?;
    put(client, &a.snap, patch, a.no_wait).await
}

pub async fn unset(client: &Client, a: UnsetArgs) -> anyhow::Result<()> {
    let patch = a.keys.iter().map(|k| (k.clone(), Value::Null)).collect();
    put(client, &a.snap, patch, a.no_wait).await
}

async fn put(
    client: &Client,
    snap: &str,
    patch: Map<String, Value>,
    no_wait: bool,
) -> anyhow::Result<()> {
    let body = serde_json::to_vec(&Value::Object(patch))?;
    let resp = client
        .request(
            "PUT",
            &format!("/v2/snaps/{snap}/conf"),
            Some("application/json"),
            body.into(),
        )
        .await?;
    follow(client, resp, no_wait).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pairs_parse_as_json_or_strings() {
        let p = parse_pairs(
            &[
                "a=1".into(),
                "b=x y".into(),
                "c={\"d\":true}".into(),
                "e!".into(),
                "f=".into(),
            ],
            false,
            false,
        )
        .unwrap();
        assert_eq!(
            Value::Object(p),
            json!({"a": 1, "b": "x y", "c": {"d": true}, "e": null, "f": ""})
        );
        let p = parse_pairs(&["a=1".into()], true, false).unwrap();
        assert_eq!(Value::Object(p), json!({"a": "1"}));
        assert!(parse_pairs(&["a=nope".into()], false, true).is_err());
        assert!(parse_pairs(&["novalue".into()], false, false).is_err());
    }

    #[test]
    fn get_prints_values_tables_and_documents() {
        let doc = json!({"port": 8080, "name": "web", "tls": {"on": true, "cert": "c"}});
        assert_eq!(
            render_get(&json!({"name": "web"}), &["name".into()], false, false),
            "web\n"
        );
        assert_eq!(
            render_get(&json!({"port": 8080}), &["port".into()], false, false),
            "8080\n"
        );
        assert_eq!(
            render_get(&doc, &[], false, false),
            "Key   Value\nname  web\nport  8080\ntls   {...}\n"
        );
        assert_eq!(
            render_get(&json!({"tls": doc["tls"]}), &["tls".into()], false, false),
            "Key       Value\ntls.cert  c\ntls.on    true\n"
        );
        assert_eq!(
            render_get(&json!({"port": 1}), &["port".into()], true, false),
            "{\n\t\"port\": 1\n}\n"
        );
        assert_eq!(render_get(&json!({}), &[], false, false), "");
    }
}
