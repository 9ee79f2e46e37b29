//! `snapd`: the daemon. It owns the state, runs changes, and serves the REST API on
//! `<root>/run/snapd.socket`.
#![forbid(unsafe_code)]

mod api;
mod daemon;
mod ifacemgr;
mod snapmgr;
mod startup;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use snap_core::dirs::Dirs;
use snap_state::{StateStore, TaskRunner};
use tokio::net::UnixListener;

use crate::daemon::Daemon;
use crate::snapmgr::handlers::{self, Env};

/// The snap daemon: installs, runs and removes snaps.
#[derive(Parser)]
#[command(name = "snapd", version)]
struct Args {
    /// Root directory every path derives from (default: $SNAPPY_GLOBAL_ROOT, else /)
    #[arg(long, value_name = "dir")]
    root: Option<PathBuf>,
    /// The `snap` binary command wrappers in <root>/snap/bin point at
    /// (default: `snap` next to this binary)
    #[arg(long, value_name = "path")]
    snap_binary: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SNAPD_LOG")
                .unwrap_or_else(|_| "info,backhand=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let dirs = match args.root {
        Some(r) => Dirs::new(r),
        None => Dirs::from_env(),
    };
    let snap_binary = match args.snap_binary {
        Some(p) => p,
        None => std::env::current_exe()
            .context("cannot find this binary's path")?
            .with_file_name("snap"),
    };
    startup::make_skeleton(&dirs)?;
    // Opening takes state.lock: a second daemon on the same root stops here.
    let store = Arc::new(
        StateStore::open(dirs.state_file())
            .with_context(|| format!("cannot open {}", dirs.state_file().display()))?,
    );
    let env = Arc::new(Env {
        dirs: dirs.clone(),
        mounter: Arc::new(snap_sys::KernelMounter),
        snap_binary,
    });
    startup::restore_mounts(&store, &env)?;
    startup::remove_stale_uploads(&store, &dirs)?;

    let mut runner = TaskRunner::new(store.clone());
    handlers::register(&mut runner, env.clone());
    let runner = Arc::new(runner);
    let runner_thread = {
        let runner = runner.clone();
        std::thread::Builder::new()
            .name("task-runner".into())
            .spawn(move || runner.run_forever())
            .context("cannot start the task runner")?
    };

    let daemon = Arc::new(Daemon { dirs, store });
    let served = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(serve(daemon.clone()));

    // Let the task in flight finish and its state reach the disk before exiting.
    runner.stop();
    match runner_thread.join() {
        Ok(r) => r.context("task runner failed")?,
        Err(_) => anyhow::bail!("task runner panicked"),
    }
    served
}

async fn serve(daemon: Arc<Daemon>) -> anyhow::Result<()> {
    let socket = daemon.dirs.snapd_socket();
    // The state lock is ours, so a socket file left here is stale.
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)
        .with_context(|| format!("cannot listen on {}", socket.display()))?;
    // Everyone may connect; the API decides per request from the caller's credentials.
    std::fs::set_permissions(&socket, std::os::unix::fs::PermissionsExt::from_mode(0o666))?;
    tracing::info!("serving the API on {}", socket.display());
    let app = api::router(daemon).into_make_service_with_connect_info::<api::Peer>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    let _ = std::fs::remove_file(&socket);
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
