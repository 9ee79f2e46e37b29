//! Revisions: store revisions are positive (`42`), revisions of snaps installed from a local
//! file are counted separately and written with an `x` (`x1`), as snapd does. snapd stores
//! local revisions as negative numbers; so do we, so that one integer orders and compares them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revision(i64);

impl Revision {
    pub fn store(n: u32) -> Revision {
        Revision(i64::from(n))
    }

    /// The local revision `xN`.
    pub fn local(n: u32) -> Revision {
        Revision(-i64::from(n))
    }

    pub fn is_local(self) -> bool {
        self.0 < 0
    }

    /// The N of `xN` or of a store revision.
    pub fn number(self) -> u32 {
        self.0.unsigned_abs() as u32
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_local() {
            write!(f, "x{}", self.number())
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// A string that is not `N` or `xN` with N ≥ 1.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid snap revision: {0:?}")]
pub struct InvalidRevision(pub String);

impl FromStr for Revision {
    type Err = InvalidRevision;

    fn from_str(s: &str) -> Result<Revision, InvalidRevision> {
        let bad = || InvalidRevision(s.to_owned());
        let (digits, local) = match s.strip_prefix('x') {
            Some(rest) => (rest, true),
            None => (s, false),
        };
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return Err(bad());
        }
        let n: u32 = digits.parse().map_err(|_| bad())?;
        Ok(if local {
            Revision::local(n)
        } else {
            Revision::store(n)
        })
    }
}

impl Serialize for Revision {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Revision {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Revision, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_orders() {
        for s in ["1", "42", "x1", "x17"] {
            assert_eq!(s.parse::<Revision>().unwrap().to_string(), s);
        }
        assert!(Revision::local(2) < Revision::local(1));
        assert!(Revision::local(1) < Revision::store(1));
        for bad in ["", "x", "0", "x0", "-1", "01", "1a", "x-1", "99999999999"] {
            assert!(bad.parse::<Revision>().is_err(), "{bad}");
        }
    }
}
