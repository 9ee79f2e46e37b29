//! The errors the D-Bus front end replies with. The operations' refusals keep the classes the
//! REST API gives them (bad request, nothing to do, conflict, not found), each under its own
//! name so that clients can tell them apart; a caller who may not change anything gets the
//! standard `org.freedesktop.DBus.Error.AccessDenied`.

use zbus::DBusError;
use zbus::message::{Header, Message};
use zbus::names::ErrorName;

use super::names::ERROR_PREFIX;
use crate::ifacemgr::ops::IfaceOpError;
use crate::snapmgr::holds::HoldError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    AccessDenied(String),
    BadRequest(String),
    /// There was nothing to do (disconnecting what is not connected).
    Unchanged(String),
    /// Another change is in progress on a snap this one touches.
    Conflict(String),
    NotFound(String),
    NotImplemented(String),
    Failed(String),
}

impl Error {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Error::AccessDenied(m) => ("AccessDenied", m),
            Error::BadRequest(m) => ("BadRequest", m),
            Error::Unchanged(m) => ("Unchanged", m),
            Error::Conflict(m) => ("Conflict", m),
            Error::NotFound(m) => ("NotFound", m),
            Error::NotImplemented(m) => ("NotImplemented", m),
            Error::Failed(m) => ("Failed", m),
        }
    }

    /// The full error name on the bus.
    pub fn bus_name(&self) -> String {
        match self {
            Error::AccessDenied(_) => "org.freedesktop.DBus.Error.AccessDenied".to_owned(),
            other => format!("{ERROR_PREFIX}.{}", other.parts().0),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.parts().1)
    }
}

impl std::error::Error for Error {}

impl DBusError for Error {
    fn create_reply(&self, call: &Header<'_>) -> zbus::Result<Message> {
        Message::error(call, self.bus_name())?.build(&(self.parts().1,))
    }

    fn name(&self) -> ErrorName<'_> {
        ErrorName::try_from(self.bus_name())
            .expect("error names are valid")
            .into_owned()
    }

    fn description(&self) -> Option<&str> {
        Some(self.parts().1)
    }
}

impl From<zbus::Error> for Error {
    fn from(e: zbus::Error) -> Self {
        Error::Failed(e.to_string())
    }
}

impl From<zbus::fdo::Error> for Error {
    fn from(e: zbus::fdo::Error) -> Self {
        match e {
            zbus::fdo::Error::AccessDenied(m) => Error::AccessDenied(m),
            zbus::fdo::Error::InvalidArgs(m) => Error::BadRequest(m),
            other => Error::Failed(other.to_string()),
        }
    }
}

impl From<IfaceOpError> for Error {
    fn from(e: IfaceOpError) -> Self {
        let m = e.to_string();
        match e {
            IfaceOpError::BadRequest(_) => Error::BadRequest(m),
            IfaceOpError::Unchanged(_) => Error::Unchanged(m),
            IfaceOpError::NotImplemented(_) => Error::NotImplemented(m),
            IfaceOpError::Conflict(_) => Error::Conflict(m),
            IfaceOpError::Internal(_) => Error::Failed(m),
        }
    }
}

impl From<HoldError> for Error {
    fn from(e: HoldError) -> Self {
        let m = e.to_string();
        match e {
            HoldError::NotInstalled(_) => Error::NotFound(m),
            HoldError::Internal(_) => Error::Failed(m),
            _ => Error::BadRequest(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_spec() {
        assert_eq!(
            Error::AccessDenied("no".into()).bus_name(),
            "org.freedesktop.DBus.Error.AccessDenied"
        );
        assert_eq!(
            Error::Conflict("busy".into()).bus_name(),
            "dev.snappy.Snapd1.Error.Conflict"
        );
        let e: Error = IfaceOpError::Unchanged("nothing to do".into()).into();
        assert_eq!(e, Error::Unchanged("nothing to do".into()));
        assert_eq!(e.name().as_str(), "dev.snappy.Snapd1.Error.Unchanged");
    }
}
