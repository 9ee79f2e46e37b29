//! Snap health as `snapctl set-health` reports it (snapd's `health` state key), shown in the
//! snap object, `snap info` and the notes of `snap list`.

use serde::{Deserialize, Serialize};
use snap_core::Revision;
use snap_state::{State, StateError, Timestamp};

pub const HEALTH_KEY: &str = "health";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Health {
    pub revision: Revision,
    pub timestamp: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
}

pub const STATUSES: &[&str] = &["okay", "waiting", "blocked", "error"];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HealthError {
    #[error("invalid status {0:?}, must be one of okay, waiting, blocked, error")]
    Status(String),
    #[error("when status is okay, message and code must be empty")]
    OkayWithMessage,
    #[error("status {0:?} requires a message")]
    NeedsMessage(String),
    #[error("message must be at least 7 characters long (got {0})")]
    MessageTooShort(usize),
    #[error("message must be at most 70 characters long (got {0})")]
    MessageTooLong(usize),
    #[error("code must have between 3 and 30 characters, got {0}")]
    CodeLength(usize),
    #[error(
        "invalid code {0:?} (code must start with lowercase ASCII letters, and contain only ASCII letters and numbers, optionally separated by single dashes)"
    )]
    Code(String),
}

/// Checks what `snapctl set-health` was given, with snapd's rules.
pub fn validate(status: &str, message: &str, code: &str) -> Result<(), HealthError> {
    if !STATUSES.contains(&status) {
        return Err(HealthError::Status(status.to_owned()));
    }
    if status == "okay" {
        if !message.is_empty() || !code.is_empty() {
            return Err(HealthError::OkayWithMessage);
        }
        return Ok(());
    }
    let len = message.chars().count();
    if len == 0 {
        return Err(HealthError::NeedsMessage(status.to_owned()));
    }
    if len < 7 {
        return Err(HealthError::MessageTooShort(len));
    }
    if len > 70 {
        return Err(HealthError::MessageTooLong(len));
    }
    if !code.is_empty() {
        if !(3..=30).contains(&code.len()) {
            return Err(HealthError::CodeLength(code.len()));
        }
        let b = code.as_bytes();
        let ok = b[0].is_ascii_lowercase()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            && !code.ends_with('-')
            && !code.contains("--");
        if !ok {
            return Err(HealthError::Code(code.to_owned()));
        }
    }
    Ok(())
}

impl Health {
    pub fn new(revision: Revision, status: &str, message: &str, code: &str) -> Health {
        Health {
            revision,
            timestamp: Timestamp::now().to_rfc3339(),
            status: status.to_owned(),
            message: message.to_owned(),
            code: code.to_owned(),
        }
    }
}

pub fn get(st: &State, snap: &str) -> Result<Option<Health>, StateError> {
    st.get_entry(HEALTH_KEY, snap)
}

pub fn set(st: &mut State, snap: &str, h: &Health) -> Result<(), StateError> {
    st.set_entry(HEALTH_KEY, snap, h)
}

pub fn forget(st: &mut State, snap: &str) -> Result<(), StateError> {
    st.remove_entry(HEALTH_KEY, snap).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_health_rules() {
        assert_eq!(validate("okay", "", ""), Ok(()));
        assert_eq!(
            validate("blocked", "waiting for the network", "no-net"),
            Ok(())
        );
        assert_eq!(
            validate("fine", "", ""),
            Err(HealthError::Status("fine".into()))
        );
        assert_eq!(
            validate("okay", "all good", ""),
            Err(HealthError::OkayWithMessage)
        );
        assert_eq!(
            validate("error", "", ""),
            Err(HealthError::NeedsMessage("error".into()))
        );
        assert_eq!(
            validate("error", "short", ""),
            Err(HealthError::MessageTooShort(5))
        );
        assert_eq!(
            validate("error", &"x".repeat(71), ""),
            Err(HealthError::MessageTooLong(71))
        );
        assert_eq!(
            validate("error", "broken down", "ab"),
            Err(HealthError::CodeLength(2))
        );
        assert_eq!(
            validate("error", "broken down", "Bad-code"),
            Err(HealthError::Code("Bad-code".into()))
        );
        assert_eq!(
            validate("error", "broken down", "a--b"),
            Err(HealthError::Code("a--b".into()))
        );
    }
}
