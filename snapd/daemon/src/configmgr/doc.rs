//! The configuration document: dotted keys into nested JSON objects. Pure.

use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfError {
    #[error("invalid option name: {0:?}")]
    InvalidKey(String),
    #[error("snap {snap:?} has no {key:?} configuration option")]
    NotFound { snap: String, key: String },
}

/// Splits a dotted key, checking each part as snapd does: lower-case letters, digits and
/// single dashes, starting with a letter or digit, containing a letter, not ending in a dash.
pub fn parse_key(key: &str) -> Result<Vec<&str>, ConfError> {
    let parts: Vec<&str> = key.split('.').collect();
    let valid = |p: &&str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && p.bytes().any(|b| b.is_ascii_lowercase())
            && !p.starts_with('-')
            && !p.ends_with('-')
            && !p.contains("--")
    };
    if parts.iter().all(valid) {
        Ok(parts)
    } else {
        Err(ConfError::InvalidKey(key.to_owned()))
    }
}

/// The value at `key`, if any.
pub fn get<'a>(doc: &'a Value, key: &str) -> Result<Option<&'a Value>, ConfError> {
    let mut at = doc;
    for part in parse_key(key)? {
        match at.get(part) {
            Some(v) => at = v,
            None => return Ok(None),
        }
    }
    Ok(Some(at))
}

/// Sets `key` to `value`, making the objects on the way; `null` removes the key (and objects
/// left empty by that), as snapd's unset. Setting below a key that holds a non-object value
/// replaces that value, as snapd does.
pub fn set(doc: &mut Value, key: &str, value: Value) -> Result<(), ConfError> {
    let parts = parse_key(key)?;
    if !doc.is_object() {
        *doc = Value::Object(Map::new());
    }
    if value.is_null() {
        unset_parts(doc, &parts);
        return Ok(());
    }
    let mut at = doc;
    for part in &parts[..parts.len() - 1] {
        let map = at.as_object_mut().expect("made an object above");
        let next = map
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        at = next;
    }
    at.as_object_mut()
        .expect("made an object above")
        .insert(parts[parts.len() - 1].to_owned(), value);
    Ok(())
}

fn unset_parts(at: &mut Value, parts: &[&str]) -> bool {
    let Some(map) = at.as_object_mut() else {
        return false;
    };
    match parts {
        [] => false,
        [last] => map.remove(*last).is_some(),
        [first, rest @ ..] => match map.get_mut(*first) {
            Some(child) => {
                let removed = unset_parts(child, rest);
                if removed && child.as_object().is_some_and(Map::is_empty) {
                    map.remove(*first);
                }
                removed
            }
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_follow_snapds_rules() {
        for ok in ["a", "port", "http.port", "a-b.c1", "1a", "x.y.z"] {
            assert!(parse_key(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", ".", "a.", ".a", "A", "a_b", "-a", "a-", "a--b", "12", "a..b", "a b",
        ] {
            assert_eq!(
                parse_key(bad),
                Err(ConfError::InvalidKey(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn nested_set_get_and_unset() {
        let mut doc = json!({});
        set(&mut doc, "http.port", json!(8080)).unwrap();
        set(&mut doc, "http.host", json!("x")).unwrap();
        set(&mut doc, "name", json!("n")).unwrap();
        assert_eq!(get(&doc, "http.port").unwrap(), Some(&json!(8080)));
        assert_eq!(
            get(&doc, "http").unwrap(),
            Some(&json!({"port": 8080, "host": "x"}))
        );
        assert_eq!(get(&doc, "nope").unwrap(), None);
        assert_eq!(get(&doc, "name.sub").unwrap(), None);
        set(&mut doc, "http.port", Value::Null).unwrap();
        assert_eq!(doc, json!({"http": {"host": "x"}, "name": "n"}));
        // The last key of an object goes with the object.
        set(&mut doc, "http.host", Value::Null).unwrap();
        assert_eq!(doc, json!({"name": "n"}));
        // Unsetting what is not there changes nothing.
        set(&mut doc, "a.b.c", Value::Null).unwrap();
        assert_eq!(doc, json!({"name": "n"}));
        // A scalar is replaced by the object a deeper key needs.
        set(&mut doc, "name.first", json!("f")).unwrap();
        assert_eq!(doc, json!({"name": {"first": "f"}}));
    }
}
