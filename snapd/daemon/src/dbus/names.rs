//! The names the service is known by on the bus (documented in `spec/dbus/`).

/// The well-known bus name the daemon owns.
pub const BUS_NAME: &str = "dev.snappy.Snapd1";
/// The one object the daemon serves.
pub const OBJECT_PATH: &str = "/dev/snappy/Snapd1";
/// The interface of that object (also the prefix of its error names).
pub const INTERFACE: &str = "dev.snappy.Snapd1";
/// Prefix of the errors the service replies with, besides
/// `org.freedesktop.DBus.Error.AccessDenied`.
pub const ERROR_PREFIX: &str = "dev.snappy.Snapd1.Error";
