//! Change and task identifiers.
//!
//! snapd ids are decimal strings handed out by counters persisted in
//! `state.json`. Keeping them as integers internally gives numeric ordering
//! (task 10 runs after task 9) while the wire form stays a string.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! decimal_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = crate::StateError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                // Only canonical decimal strings: "007" would alias "7".
                if s.is_empty() || (s.len() > 1 && s.starts_with('0')) || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(crate::StateError::BadId { what: $what, id: s.to_owned() });
                }
                s.parse::<u64>()
                    .map($name)
                    .map_err(|_| crate::StateError::BadId { what: $what, id: s.to_owned() })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = std::borrow::Cow::<str>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

decimal_id!(
    /// Identifier of a change (`"7"` on the wire).
    ChangeId,
    "change"
);
decimal_id!(
    /// Identifier of a task (`"61"` on the wire).
    TaskId,
    "task"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_wire_form() {
        assert_eq!("42".parse::<TaskId>().unwrap(), TaskId(42));
        assert_eq!(serde_json::to_string(&ChangeId(7)).unwrap(), "\"7\"");
        assert_eq!(
            serde_json::from_str::<ChangeId>("\"7\"").unwrap(),
            ChangeId(7)
        );
        for bad in ["", "07", "-1", "x", "1.0", "99999999999999999999999"] {
            assert!(bad.parse::<ChangeId>().is_err(), "{bad}");
        }
        assert_eq!("0".parse::<TaskId>().unwrap(), TaskId(0));
    }
}
