//! The REST API as it travels on the wire: snapd's response envelope, error kinds, the snap,
//! app, change and task objects, and a client over the unix socket.
//!
//! Field names, status texts and error kinds are snapd's, because existing clients (Debian's
//! `snap`, snapd-glib) read them.
#![forbid(unsafe_code)]

mod client;
mod envelope;
pub mod kinds;
mod services;
mod types;

pub use client::{Client, ClientError, MultipartFile};
pub use envelope::{ErrorResult, Maintenance, Response, ResponseType, status_text};
pub use services::*;
pub use types::*;

/// A JSON document as snap and snapctl print configuration: indented with tabs (Go's
/// `json.MarshalIndent(v, "", "\t")`).
pub fn pretty_json_tabs(v: &serde_json::Value) -> String {
    use serde::Serialize;
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    v.serialize(&mut ser).expect("a JSON value serializes");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// `key=value` and `key!` as `snap set` and `snapctl set` take them, in order: a value that is
/// JSON is taken as JSON, else as a string (`string`: always a string; `typed`: JSON or an
/// error); `key!` unsets (`null`).
pub fn parse_conf_pairs(
    pairs: &[String],
    string: bool,
    typed: bool,
) -> Result<Vec<(String, serde_json::Value)>, String> {
    use serde_json::Value;
    let mut out = Vec::with_capacity(pairs.len());
    for pair in pairs {
        if let Some(key) = pair.strip_suffix('!')
            && !pair.contains('=')
        {
            out.push((key.to_owned(), Value::Null));
            continue;
        }
        let Some((key, raw)) = pair.split_once('=') else {
            return Err(format!("invalid parameter: {pair:?} (want key=value)"));
        };
        let value = if string {
            Value::String(raw.to_owned())
        } else {
            match serde_json::from_str::<Value>(raw) {
                Ok(v) => v,
                Err(_) if !typed => Value::String(raw.to_owned()),
                Err(e) => return Err(format!("failed to parse JSON value {raw:?}: {e}")),
            }
        };
        out.push((key.to_owned(), value));
    }
    Ok(out)
}
