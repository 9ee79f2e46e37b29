//! `sd-notify MESSAGE...`: sends the messages (e.g. `READY=1`) as one datagram to
//! `$NOTIFY_SOCKET`, as systemd-notify does. Used by the service tests inside the sandbox.
#![forbid(unsafe_code)]

fn main() {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        eprintln!("sd-notify: NOTIFY_SOCKET is not set");
        std::process::exit(2);
    };
    let msg: Vec<String> = std::env::args().skip(1).collect();
    let sock = std::os::unix::net::UnixDatagram::unbound().unwrap_or_else(|e| {
        eprintln!("sd-notify: socket: {e}");
        std::process::exit(1)
    });
    if let Err(e) = sock.send_to(msg.join("\n").as_bytes(), &path) {
        eprintln!("sd-notify: send to {}: {e}", path.to_string_lossy());
        std::process::exit(1);
    }
}
