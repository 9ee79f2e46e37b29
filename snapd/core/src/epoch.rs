//! Epochs: which generations of its own data a snap can read and write.
//!
//! `epoch: N` reads and writes N; `epoch: N*` also reads N-1 (a migrating snap); the long form
//! lists both sets. A refresh is offered only when the new snap can read what the old wrote.

use crate::raw::{EpochList, RawEpoch};
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Epoch {
    pub read: Vec<u32>,
    pub write: Vec<u32>,
}

impl Default for Epoch {
    fn default() -> Self {
        Epoch {
            read: vec![0],
            write: vec![0],
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EpochError {
    #[error("0* is an invalid epoch")]
    ZeroStar,
    #[error("epoch numbers must be less than 2³², but got {0:?}")]
    Huge(String),
    #[error("epoch numbers must be base 10 with no zero padding, but got {0:?}")]
    BadNumber(String),
    #[error("epoch list cannot be explicitly empty")]
    EmptyList,
    #[error("epoch list must be a strictly increasing sequence")]
    NotIncreasing,
    #[error("epoch list must not have more than 10 entries")]
    TooLong,
    #[error("epoch read and write lists must have a non-empty intersection")]
    NoIntersection,
}

fn parse_number(s: &str) -> Result<u32, EpochError> {
    let padded = s.len() > 1 && s.starts_with('0');
    if padded || s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        // A leading '+' is also refused: snapd's parser takes digits only.
        return Err(EpochError::BadNumber(s.to_owned()));
    }
    s.parse::<u32>().map_err(|_| EpochError::Huge(s.to_owned()))
}

impl Epoch {
    /// Parses the short form (`N` or `N*`; empty means 0).
    pub fn parse_short(s: &str) -> Result<Epoch, EpochError> {
        if s.is_empty() || s == "0" {
            return Ok(Epoch::default());
        }
        let (digits, star) = match s.strip_suffix('*') {
            Some(d) => (d, true),
            None => (s, false),
        };
        let n = parse_number(digits)?;
        if star {
            if n == 0 {
                return Err(EpochError::ZeroStar);
            }
            return Ok(Epoch {
                read: vec![n - 1, n],
                write: vec![n],
            });
        }
        Ok(Epoch {
            read: vec![n],
            write: vec![n],
        })
    }

    /// The long form: `read` defaults to `write`, `write` to the last of `read`.
    pub(crate) fn from_lists(read: &EpochList, write: &EpochList) -> Result<Epoch, EpochError> {
        let parse_list = |l: &EpochList| -> Result<Option<Vec<u32>>, EpochError> {
            match l {
                EpochList::Unset => Ok(None),
                EpochList::Items(items) if items.is_empty() => Err(EpochError::EmptyList),
                EpochList::Items(items) => items
                    .iter()
                    .map(|s| parse_number(s))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some),
            }
        };
        let read = parse_list(read)?;
        let write = parse_list(write)?;
        let (read, write) = match (read, write) {
            (None, None) => (vec![0], vec![0]),
            (None, Some(w)) => (w.clone(), w),
            (Some(r), None) => {
                let last = r[r.len() - 1];
                (r, vec![last])
            }
            (Some(r), Some(w)) => (r, w),
        };
        let e = Epoch { read, write };
        e.validate()?;
        Ok(e)
    }

    pub(crate) fn from_raw(raw: Option<&RawEpoch>) -> Result<Epoch, EpochError> {
        match raw {
            None => Ok(Epoch::default()),
            Some(RawEpoch::Short { text, .. }) => Epoch::parse_short(text),
            Some(RawEpoch::Structured { read, write }) => Epoch::from_lists(read, write),
        }
    }

    /// Epoch 0, however written.
    pub fn is_zero(&self) -> bool {
        let zero = |l: &[u32]| l.is_empty() || l == [0];
        zero(&self.read) && zero(&self.write)
    }

    pub fn validate(&self) -> Result<(), EpochError> {
        if self.read.is_empty() || self.write.is_empty() {
            return Err(EpochError::EmptyList);
        }
        if self.is_zero() {
            return Ok(());
        }
        if self.read.len() > 10 || self.write.len() > 10 {
            return Err(EpochError::TooLong);
        }
        let increasing = |l: &[u32]| l.windows(2).all(|w| w[0] < w[1]);
        if !increasing(&self.read) || !increasing(&self.write) {
            return Err(EpochError::NotIncreasing);
        }
        if self.read.iter().any(|r| self.write.contains(r)) {
            Ok(())
        } else {
            Err(EpochError::NoIntersection)
        }
    }

    /// Whether a snap with this epoch can read data written by one with `other`.
    pub fn can_read(&self, other: &Epoch) -> bool {
        let or_zero = |l: &[u32]| if l.is_empty() { vec![0] } else { l.to_vec() };
        let reads = or_zero(&self.read);
        or_zero(&other.write).iter().any(|w| reads.contains(w))
    }
}

impl fmt::Display for Epoch {
    /// The shortest of snapd's spellings: `0`, `N`, `N*`, or the JSON long form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        match (self.read.as_slice(), self.write.as_slice()) {
            ([r], [w]) if r == w => write!(f, "{r}"),
            ([a, b], [w]) if a + 1 == *b && b == w => write!(f, "{b}*"),
            (r, w) => {
                let list = |l: &[u32]| l.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
                write!(f, "{{\"read\":[{}],\"write\":[{}]}}", list(r), list(w))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(v: &[&str]) -> EpochList {
        EpochList::Items(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn short_forms() {
        assert_eq!(Epoch::parse_short("").unwrap(), Epoch::default());
        assert_eq!(Epoch::parse_short("0").unwrap(), Epoch::default());
        let e = Epoch::parse_short("3").unwrap();
        assert_eq!((e.read, e.write), (vec![3], vec![3]));
        let e = Epoch::parse_short("3*").unwrap();
        assert_eq!((e.read, e.write), (vec![2, 3], vec![3]));
        assert_eq!(Epoch::parse_short("0*"), Err(EpochError::ZeroStar));
        assert!(matches!(
            Epoch::parse_short("01"),
            Err(EpochError::BadNumber(_))
        ));
        assert!(matches!(
            Epoch::parse_short("-1"),
            Err(EpochError::BadNumber(_))
        ));
        assert!(matches!(
            Epoch::parse_short("x"),
            Err(EpochError::BadNumber(_))
        ));
        assert!(matches!(
            Epoch::parse_short("4294967296"),
            Err(EpochError::Huge(_))
        ));
        assert!(matches!(
            Epoch::parse_short("1**"),
            Err(EpochError::BadNumber(_))
        ));
    }

    #[test]
    fn long_forms_fill_defaults() {
        let e = Epoch::from_lists(&items(&["1", "2"]), &EpochList::Unset).unwrap();
        assert_eq!((e.read, e.write), (vec![1, 2], vec![2]));
        let e = Epoch::from_lists(&EpochList::Unset, &items(&["4"])).unwrap();
        assert_eq!((e.read, e.write), (vec![4], vec![4]));
        let e = Epoch::from_lists(&EpochList::Unset, &EpochList::Unset).unwrap();
        assert!(e.is_zero());
    }

    #[test]
    fn long_form_rules() {
        let err = |r: &[&str], w: &[&str]| Epoch::from_lists(&items(r), &items(w)).unwrap_err();
        assert_eq!(err(&[], &["1"]), EpochError::EmptyList);
        assert_eq!(err(&["2", "1"], &["1"]), EpochError::NotIncreasing);
        assert_eq!(err(&["1", "1"], &["1"]), EpochError::NotIncreasing);
        assert_eq!(err(&["1"], &["2"]), EpochError::NoIntersection);
        let eleven: Vec<String> = (1..=11).map(|i| i.to_string()).collect();
        let eleven: Vec<&str> = eleven.iter().map(String::as_str).collect();
        assert_eq!(err(&eleven, &["1"]), EpochError::TooLong);
        assert!(matches!(err(&["007"], &["7"]), EpochError::BadNumber(_)));
    }

    #[test]
    fn display_and_can_read() {
        assert_eq!(Epoch::default().to_string(), "0");
        assert_eq!(Epoch::parse_short("5").unwrap().to_string(), "5");
        assert_eq!(Epoch::parse_short("5*").unwrap().to_string(), "5*");
        let e = Epoch::from_lists(&items(&["1", "3"]), &items(&["3"])).unwrap();
        assert_eq!(e.to_string(), "{\"read\":[1,3],\"write\":[3]}");
        let migrating = Epoch::parse_short("1*").unwrap();
        assert!(migrating.can_read(&Epoch::default()));
        assert!(!Epoch::parse_short("1").unwrap().can_read(&Epoch::default()));
    }
}
