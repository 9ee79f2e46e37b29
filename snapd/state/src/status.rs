//! Task and change statuses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Status of a task or change.
///
/// The names (`as_str`) are the strings the REST API returns; the integer
/// values are what snapd stores in `state.json`, so a real snapd state file
/// can be read and ours can be read by snapd tooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Should not run for now, e.g. because another task in its lane failed.
    Hold,
    /// Ready to start once its wait-tasks are Done.
    Do,
    /// Running, or a run was attempted (re-run after a restart).
    Doing,
    /// Accomplished successfully.
    Done,
    /// Was running when its change was aborted; becomes Undo (or Hold) when
    /// the handler returns.
    Abort,
    /// Must be undone once its halt-tasks are ready.
    Undo,
    /// Being undone, or an undo was attempted.
    Undoing,
    /// Was done and has been undone.
    Undone,
    /// Failed while doing or undoing.
    Error,
    /// Done for now but waiting for an external event (e.g. a reboot).
    Wait,
}

impl Status {
    /// All statuses, in snapd's integer order.
    pub const ALL: [Status; 10] = [
        Status::Hold,
        Status::Do,
        Status::Doing,
        Status::Done,
        Status::Abort,
        Status::Undo,
        Status::Undoing,
        Status::Undone,
        Status::Error,
        Status::Wait,
    ];

    /// Whether no further work is pending: Done, Undone, Hold or Error.
    pub fn is_ready(self) -> bool {
        matches!(
            self,
            Status::Done | Status::Undone | Status::Hold | Status::Error
        )
    }

    /// The API name (`"Do"`, `"Doing"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Hold => "Hold",
            Status::Do => "Do",
            Status::Doing => "Doing",
            Status::Done => "Done",
            Status::Abort => "Abort",
            Status::Undo => "Undo",
            Status::Undoing => "Undoing",
            Status::Undone => "Undone",
            Status::Error => "Error",
            Status::Wait => "Wait",
        }
    }

    /// snapd's persisted integer (Default=0 is never produced).
    pub fn to_int(self) -> u8 {
        match self {
            Status::Hold => 1,
            Status::Do => 2,
            Status::Doing => 3,
            Status::Done => 4,
            Status::Abort => 5,
            Status::Undo => 6,
            Status::Undoing => 7,
            Status::Undone => 8,
            Status::Error => 9,
            Status::Wait => 10,
        }
    }

    /// Inverse of [`Status::to_int`]; 0 ("default") maps to `None`.
    pub fn from_int(v: u64) -> Option<Option<Status>> {
        Some(match v {
            0 => None,
            1 => Some(Status::Hold),
            2 => Some(Status::Do),
            3 => Some(Status::Doing),
            4 => Some(Status::Done),
            5 => Some(Status::Abort),
            6 => Some(Status::Undo),
            7 => Some(Status::Undoing),
            8 => Some(Status::Undone),
            9 => Some(Status::Error),
            10 => Some(Status::Wait),
            _ => return None,
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = crate::StateError;

    /// Case-insensitive, so crash specs like `link-snap:done` work.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| crate::StateError::UnknownStatus(s.to_owned()))
    }
}

/// Statuses are persisted as snapd's integers.
pub(crate) mod int_serde {
    use super::*;

    pub fn serialize<S: Serializer>(st: &Option<Status>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(st.map_or(0, Status::to_int))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Status>, D::Error> {
        let v = u64::deserialize(d)?;
        Status::from_int(v)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown status code {v}")))
    }
}

impl Serialize for Status {
    /// Outside `state.json` (e.g. API views) the name is the useful form.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// snapd's priority order for deriving a change status from its tasks:
/// the first status present among the change's tasks wins.
pub(crate) const CHANGE_STATUS_ORDER: [Status; 10] = [
    Status::Abort,
    Status::Undoing,
    Status::Undo,
    Status::Doing,
    Status::Do,
    Status::Wait,
    Status::Error,
    Status::Undone,
    Status::Done,
    Status::Hold,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ints_and_readiness() {
        for st in Status::ALL {
            assert_eq!(st.as_str().parse::<Status>().unwrap(), st);
            assert_eq!(st.as_str().to_lowercase().parse::<Status>().unwrap(), st);
            assert_eq!(Status::from_int(u64::from(st.to_int())), Some(Some(st)));
        }
        assert_eq!(Status::from_int(0), Some(None));
        assert_eq!(Status::from_int(11), None);
        let ready: Vec<_> = Status::ALL.into_iter().filter(|s| s.is_ready()).collect();
        assert_eq!(
            ready,
            [Status::Hold, Status::Done, Status::Undone, Status::Error]
        );
        assert!("Bogus".parse::<Status>().is_err());
    }
}
