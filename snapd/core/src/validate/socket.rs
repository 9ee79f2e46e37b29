//! `apps.<app>.sockets.<name>`: what socket activation may listen on.

use crate::model::{App, DaemonScope, Socket};
use crate::naming;
use crate::paths::clean;

const FIELD: &str = "listen-stream";

/// Hosts a network socket may bind: loopback or all-IPv6 only.
const SOCKET_HOSTS: &[&str] = &["127.0.0.1", "[::1]", "[::]"];

fn check_path(app: &App, path: &str) -> Result<(), String> {
    let cleaned = clean(path);
    if cleaned != path {
        return Err(format!(
            "invalid {FIELD:?}: {path:?} should be written as {cleaned:?}"
        ));
    }
    let prefixes: &[&str] = match app.daemon_scope {
        Some(DaemonScope::System) => &["$SNAP_DATA/", "$SNAP_COMMON/", "$XDG_RUNTIME_DIR/"],
        Some(DaemonScope::User) => &[
            "$SNAP_USER_DATA/",
            "$SNAP_USER_COMMON/",
            "$XDG_RUNTIME_DIR/",
        ],
        None => {
            return Err(format!(
                "invalid {FIELD:?}: cannot validate sockets for daemon-scope \"\""
            ));
        }
    };
    if prefixes.iter().any(|p| path.starts_with(p)) {
        return Ok(());
    }
    Err(match app.daemon_scope {
        Some(DaemonScope::User) => format!(
            "invalid {FIELD:?}: user daemon sockets must have a prefix of $SNAP_USER_DATA, \
             $SNAP_USER_COMMON, or $XDG_RUNTIME_DIR"
        ),
        _ => format!(
            "invalid {FIELD:?}: system daemon sockets must have a prefix of $SNAP_DATA, \
             $SNAP_COMMON or $XDG_RUNTIME_DIR"
        ),
    })
}

fn check_port(port: &str) -> Result<(), String> {
    match port.parse::<u16>() {
        Ok(p) if p >= 1 && port.bytes().all(|c| c.is_ascii_digit()) => Ok(()),
        _ => Err(format!("invalid {FIELD:?} port number {port:?}")),
    }
}

fn check_net(addr: &str) -> Result<(), String> {
    match addr.rsplit_once(':') {
        None => check_port(addr),
        Some((host, port)) => {
            if !SOCKET_HOSTS.contains(&host) {
                return Err(format!(
                    "invalid {FIELD:?} address {host:?}, must be one of: {}",
                    SOCKET_HOSTS.join(", ")
                ));
            }
            check_port(port)
        }
    }
}

/// Checks name, mode and listen address of one socket; `Err` is the reason.
pub(super) fn validate_socket(snap_name: &str, app: &App, sock: &Socket) -> Result<(), String> {
    naming::validate_socket_name(&sock.name).map_err(|e| e.to_string())?;
    if let Some(mode) = sock.socket_mode.filter(|m| *m > 0o777) {
        return Err(format!("cannot use mode: {mode:04o}"));
    }
    let addr = sock.listen_stream.as_str();
    match addr.as_bytes().first() {
        None => Err(format!("{FIELD:?} is not defined")),
        Some(b'/' | b'$') => check_path(app, addr),
        Some(b'@') => {
            // Abstract sockets are namespaced by the snap's own name.
            let prefix = format!("@snap.{snap_name}.");
            if addr.starts_with(&prefix) {
                Ok(())
            } else {
                Err(format!(
                    "path for {FIELD:?} must be prefixed with {prefix:?}"
                ))
            }
        }
        Some(_) => check_net(addr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DaemonType;

    fn app(scope: Option<DaemonScope>) -> App {
        let mut a = App::new("svc");
        a.daemon = scope.map(|_| DaemonType::Simple);
        a.daemon_scope = scope;
        a
    }

    fn check(scope: Option<DaemonScope>, listen: &str) -> Result<(), String> {
        let sock = Socket {
            name: "sock".into(),
            listen_stream: listen.into(),
            socket_mode: None,
        };
        validate_socket("snap", &app(scope), &sock)
    }

    #[test]
    fn system_paths() {
        let sys = Some(DaemonScope::System);
        assert_eq!(check(sys, "$SNAP_DATA/sock"), Ok(()));
        assert_eq!(check(sys, "$SNAP_COMMON/a/sock"), Ok(()));
        assert_eq!(check(sys, "$XDG_RUNTIME_DIR/sock"), Ok(()));
        assert!(
            check(sys, "/run/sock")
                .unwrap_err()
                .contains("system daemon sockets")
        );
        assert!(check(sys, "$SNAP_USER_DATA/sock").is_err());
        assert!(
            check(sys, "$SNAP_DATA//sock")
                .unwrap_err()
                .contains("should be written as")
        );
    }

    #[test]
    fn user_paths() {
        let user = Some(DaemonScope::User);
        assert_eq!(check(user, "$SNAP_USER_COMMON/sock"), Ok(()));
        assert!(
            check(user, "$SNAP_DATA/sock")
                .unwrap_err()
                .contains("user daemon sockets")
        );
        assert!(
            check(None, "$SNAP_DATA/sock")
                .unwrap_err()
                .contains("daemon-scope \"\"")
        );
    }

    #[test]
    fn abstract_and_network() {
        let sys = Some(DaemonScope::System);
        assert_eq!(check(sys, "@snap.snap.x"), Ok(()));
        assert!(check(sys, "@other").unwrap_err().contains("@snap.snap."));
        assert_eq!(check(sys, "8080"), Ok(()));
        assert_eq!(check(sys, "127.0.0.1:8080"), Ok(()));
        assert_eq!(check(sys, "[::1]:65535"), Ok(()));
        assert_eq!(check(sys, "[::]:1"), Ok(()));
        assert!(check(sys, "0").unwrap_err().contains("port number"));
        assert!(check(sys, "65536").is_err());
        assert!(check(sys, "+80").is_err());
        assert!(
            check(sys, "0.0.0.0:80")
                .unwrap_err()
                .contains("must be one of")
        );
        assert!(check(sys, "").unwrap_err().contains("is not defined"));
    }

    #[test]
    fn names_and_modes() {
        let mut sock = Socket {
            name: "Bad".into(),
            listen_stream: "8080".into(),
            socket_mode: None,
        };
        let a = app(Some(DaemonScope::System));
        assert!(
            validate_socket("s", &a, &sock)
                .unwrap_err()
                .contains("invalid socket name")
        );
        sock.name = "ok".into();
        sock.socket_mode = Some(0o1777);
        assert_eq!(
            validate_socket("s", &a, &sock).unwrap_err(),
            "cannot use mode: 1777"
        );
        sock.socket_mode = Some(0o660);
        assert_eq!(validate_socket("s", &a, &sock), Ok(()));
    }
}
