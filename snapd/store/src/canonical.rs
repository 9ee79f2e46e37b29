//! The canonical form signatures are made over: RFC 8785 (JSON Canonicalization Scheme) —
//! object keys sorted by UTF-16 code units, no insignificant whitespace, strings with the
//! minimal escapes, numbers in ECMAScript form.
//!
//! JCS writes every number as an IEEE double, so an integer above 2^53 or a fraction would not
//! survive a round trip exactly. The index holds only integers (serials, revisions, sizes,
//! percentages), so anything else is refused here instead of being signed ambiguously.

use serde::Serialize;
use serde_json::Value;

use crate::StoreError;

/// The largest integer every JSON implementation reads exactly (2^53 - 1).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The canonical bytes of a JSON value, refusing numbers that are not exact small integers.
pub fn canonical_bytes(what: &str, value: &Value) -> Result<Vec<u8>, StoreError> {
    check_numbers(value).map_err(|reason| StoreError::Canonical {
        what: what.to_owned(),
        reason,
    })?;
    serde_json_canonicalizer::to_vec(value).map_err(|e| StoreError::Canonical {
        what: what.to_owned(),
        reason: e.to_string(),
    })
}

/// The canonical bytes of any serializable value (through its JSON value).
pub fn canonical_bytes_of<T: Serialize>(what: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    let v = serde_json::to_value(value).map_err(|e| StoreError::Canonical {
        what: what.to_owned(),
        reason: e.to_string(),
    })?;
    canonical_bytes(what, &v)
}

fn check_numbers(v: &Value) -> Result<(), String> {
    match v {
        Value::Number(n) => match n.as_u64() {
            Some(u) if u <= MAX_SAFE_INTEGER => Ok(()),
            _ => Err(format!("number {n} is not an integer from 0 to 2^53-1")),
        },
        Value::Array(a) => a.iter().try_for_each(check_numbers),
        Value::Object(o) => o.values().try_for_each(check_numbers),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn keys_sorted_no_whitespace() {
        let v: Value =
            serde_json::from_str(r#"{ "b": [1, {"z": "x", "a": true}], "a": null }"#).unwrap();
        assert_eq!(
            canonical_bytes("t", &v).unwrap(),
            br#"{"a":null,"b":[1,{"a":true,"z":"x"}]}"#
        );
    }

    #[test]
    fn strings_use_minimal_escapes() {
        let v = json!({"s": "é\u{1}\"\\/"});
        assert_eq!(
            String::from_utf8(canonical_bytes("t", &v).unwrap()).unwrap(),
            "{\"s\":\"é\\u0001\\\"\\\\/\"}"
        );
    }

    #[test]
    fn inexact_numbers_are_refused() {
        for v in [json!({"n": 1.5}), json!([-1]), json!({"n": 1u64 << 53})] {
            let err = canonical_bytes("index", &v).unwrap_err().to_string();
            assert!(err.contains("index") && err.contains("2^53"), "{err}");
        }
        assert!(canonical_bytes("t", &json!(MAX_SAFE_INTEGER)).is_ok());
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (0..=MAX_SAFE_INTEGER).prop_map(|n| json!(n)),
            "[a-zé\"\\\\ \\n]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[a-zA-Z_é]{0,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn canonical_form_is_a_fixed_point_and_parses_back(v in value()) {
            let bytes = canonical_bytes("t", &v).unwrap();
            let parsed: Value = serde_json::from_slice(&bytes).unwrap();
            prop_assert_eq!(&parsed, &v);
            // Any re-spelling (pretty-printed here) canonicalizes to the same bytes.
            let pretty: Value = serde_json::from_str(&serde_json::to_string_pretty(&v).unwrap()).unwrap();
            prop_assert_eq!(canonical_bytes("t", &pretty).unwrap(), bytes);
        }
    }
}
