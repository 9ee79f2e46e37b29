//! `snapctl`: run from inside a snap (its apps and hooks) to read and change its configuration,
//! report its health and ask about its connections. It forwards its arguments with the context
//! id the launcher gave it (`SNAP_COOKIE`) to the daemon's socket for snaps, which does the
//! parsing and the deciding; this side only prints what comes back.
#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use snap_core::dirs::Dirs;
use snapd_api::{Client, ClientError};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        eprintln!("usage: snapctl COMMAND [ARGS...] (snapctl --help lists the commands)");
        return ExitCode::from(1);
    }
    let context = std::env::var("SNAP_COOKIE")
        .or_else(|_| std::env::var("SNAP_CONTEXT"))
        .unwrap_or_default();
    // Inside a sandbox the root is `/`; a test root reaches its own socket the same way.
    let client = Client::new(Dirs::from_env().snap_socket());
    let body = serde_json::json!({"context-id": context, "args": args});
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a single-threaded runtime can always be built");
    match runtime.block_on(client.post_json("/v2/snapctl", &body)) {
        Ok(resp) => {
            print_output(&resp.result);
            ExitCode::SUCCESS
        }
        Err(ClientError::Server {
            kind: Some(kind),
            value: Some(value),
            ..
        }) if kind == "unsuccessful" => {
            print_output(&value);
            let code = value
                .get("exit-code")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(1);
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn print_output(result: &serde_json::Value) {
    let field = |name: &str| result.get(name).and_then(|v| v.as_str()).unwrap_or("");
    let _ = std::io::stdout().write_all(field("stdout").as_bytes());
    let _ = std::io::stderr().write_all(field("stderr").as_bytes());
}
