//! `snapd`: the daemon. It owns the state, runs changes, and serves the REST API on
//! `<root>/run/snapd.socket`.
#![forbid(unsafe_code)]

mod api;
mod bootmgr;
mod configmgr;
mod ctlcmd;
mod daemon;
mod dbus;
mod firstboot;
mod gadget;
mod healthmgr;
mod hookmgr;
mod ifacemgr;
mod refreshmgr;
mod restart;
mod servicemgr;
mod snapmgr;
mod snapshotmgr;
mod startup;
mod storemgr;

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
    /// Serve the D-Bus API on the bus at this address (default: the system bus)
    #[arg(long, value_name = "address", env = "SNAPD_DBUS_ADDRESS")]
    dbus_address: Option<String>,
    /// Serve the D-Bus API on the system bus (the default), when one runs
    #[arg(long, conflicts_with_all = ["dbus_address", "no_dbus"])]
    dbus_system: bool,
    /// Do not serve the D-Bus API
    #[arg(long, conflicts_with = "dbus_address")]
    no_dbus: bool,
    /// Members of this group may make changes over D-Bus, as root may
    #[arg(long, value_name = "group", env = "SNAPD_DBUS_ADMIN_GROUP")]
    dbus_admin_group: Option<String>,
    /// The store to install from: the URL of a static store repository (spec/store.md)
    #[arg(long, value_name = "url", env = "SNAPD_STORE_URL")]
    store_url: Option<String>,
    /// The keys the store's index must be signed by: a file with one `ed25519:HEX` per line
    #[arg(long, value_name = "file")]
    store_key_file: Option<PathBuf>,
    /// Trusted store keys given directly, `ed25519:HEX`, comma-separated
    #[arg(long, value_name = "keys", env = "SNAPD_STORE_KEYS")]
    store_keys: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // A mistake in the store options stops the daemon before it serves anything.
    let store_config = store_config(&args)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SNAPD_LOG")
                .unwrap_or_else(|_| "info,backhand=warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal: logs kept in files stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
    let hook_contexts = Arc::new(hookmgr::contexts::Contexts::default());
    let env = Arc::new(Env {
        dirs: dirs.clone(),
        mounter: Arc::new(snap_sys::KernelMounter),
        snap_binary,
        hook_contexts: hook_contexts.clone(),
    });
    startup::restore_mounts(&store, &env)?;
    startup::remove_stale_uploads(&store, &dirs)?;
    // First boot: a seed and an unseeded state make the `seed` change (or find the one an
    // earlier start left unfinished). A seed that cannot be used leaves the device unseeded
    // and the daemon serving; the next start tries again.
    firstboot::start::at_start(&store, &dirs);
    snapshotmgr::startup(&dirs, &store)?;
    // A kernel refresh waiting for its reboot is confirmed or undone before anything runs.
    bootmgr::at_start(&store, &dirs)?;
    // Services run through the launcher beside this binary, each in its own cgroup.
    let services = Arc::new(servicemgr::ServiceManager::new(
        dirs.clone(),
        std::env::current_exe()
            .context("cannot find this binary's path")?
            .with_file_name("snap-confine"),
        store.clone(),
    )?);

    // Before the runner starts, so that no change goes unannounced.
    let events = dbus::events::observe(&store);
    let dbus_options = (!args.no_dbus).then(|| dbus::Options {
        address: args.dbus_address.clone(),
        admin_group: args.dbus_admin_group.clone(),
    });
    let mut runner = TaskRunner::new(store.clone());
    handlers::register(&mut runner, env.clone());
    firstboot::handlers::register(&mut runner, env.clone());
    servicemgr::handlers::register(&mut runner, services.clone());
    let storemgr = Arc::new(storemgr::StoreManager::new(dirs.clone(), store_config)?);
    storemgr::handlers::register(&mut runner, storemgr.clone(), dirs.clone());
    snapshotmgr::handlers::register(&mut runner, dirs.clone());
    bootmgr::handlers::register(&mut runner, dirs.clone());
    snapshotmgr::spawn_pruner(dirs.clone(), store.clone())
        .context("cannot start the snapshot pruner")?;
    let runner = Arc::new(runner);
    let runner_thread = {
        let runner = runner.clone();
        std::thread::Builder::new()
            .name("task-runner".into())
            .spawn(move || runner.run_forever())
            .context("cannot start the task runner")?
    };
    // Adopts the services that kept running while no daemon watched, starts those that
    // should run; in the background, so that a slow service does not hold up the API.
    {
        let services = services.clone();
        std::thread::Builder::new()
            .name("services-startup".into())
            .spawn(move || services.startup())
            .context("cannot start the services")?;
    }

    let refresh_status = Arc::new(std::sync::Mutex::new(refreshmgr::auto::Status::default()));
    let daemon = Arc::new(Daemon {
        dirs,
        store,
        hook_contexts,
        services: services.clone(),
        storemgr,
        refresh_status: refresh_status.clone(),
    });
    let auto_refresh = refreshmgr::auto::AutoRefresh::new(daemon.clone(), refresh_status);
    let auto_refresh_thread = auto_refresh
        .spawn()
        .context("cannot start the automatic refresh")?;
    let served = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(async {
            // Kept for as long as the daemon serves.
            let _bus = match dbus_options {
                Some(opts) => dbus::start(daemon.clone(), &events, opts).await,
                None => None,
            };
            serve(daemon.clone()).await
        });

    // Let the task in flight finish and its state reach the disk before exiting. Services
    // keep running: the next daemon adopts them.
    auto_refresh.stop();
    let _ = auto_refresh_thread.join();
    runner.stop();
    services.shutdown();
    match runner_thread.join() {
        Ok(r) => r.context("task runner failed")?,
        Err(_) => anyhow::bail!("task runner panicked"),
    }
    served
}

/// The store and its trusted keys from the options (see `storemgr::config`).
fn store_config(args: &Args) -> anyhow::Result<Option<storemgr::config::StoreConfig>> {
    let mut keys = Vec::new();
    if let Some(file) = &args.store_key_file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the store key file {}", file.display()))?;
        keys.extend(storemgr::config::parse_keys(
            &text,
            &file.display().to_string(),
        )?);
    }
    if let Some(list) = &args.store_keys {
        keys.extend(storemgr::config::parse_keys(list, "SNAPD_STORE_KEYS")?);
    }
    Ok(storemgr::config::from_parts(
        args.store_url.as_deref(),
        keys,
    )?)
}

async fn serve(daemon: Arc<Daemon>) -> anyhow::Result<()> {
    // Handlers first: once the socket exists a client may stop the daemon at once, and a
    // SIGTERM before the handler would kill it without its clean shutdown.
    let stop = shutdown_signal()?;
    let snap_listener = bind_snap_socket(&daemon)?;
    let socket = daemon.dirs.snapd_socket();
    // The state lock is ours, so a socket file left here is stale.
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)
        .with_context(|| format!("cannot listen on {}", socket.display()))?;
    // Everyone may connect; the API decides per request from the caller's credentials.
    std::fs::set_permissions(&socket, std::os::unix::fs::PermissionsExt::from_mode(0o666))?;
    tracing::info!("serving the API on {}", socket.display());
    let (stop_snap_socket, stopping) = tokio::sync::watch::channel(false);
    let snap_socket = tokio::spawn(serve_snap_socket(daemon.clone(), snap_listener, stopping));
    let app = api::router(daemon).into_make_service_with_connect_info::<api::Peer>();
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await?;
    let _ = stop_snap_socket.send(true);
    snap_socket.await??;
    let _ = std::fs::remove_file(&socket);
    tracing::info!("stopped");
    Ok(())
}

/// The socket for snaps (`snapctl`): everyone may connect; calls are told apart by the
/// context id they carry.
async fn serve_snap_socket(
    daemon: Arc<Daemon>,
    listener: UnixListener,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let socket = daemon.dirs.snap_socket();
    let app = api::snap_router(daemon).into_make_service_with_connect_info::<api::Peer>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stopping.wait_for(|stop| *stop).await;
        })
        .await?;
    let _ = std::fs::remove_file(&socket);
    Ok(())
}

/// The socket for snaps, ready (mode included) before the main socket appears: a client that
/// sees the daemon's socket finds this one complete too.
fn bind_snap_socket(daemon: &Daemon) -> anyhow::Result<UnixListener> {
    let socket = daemon.dirs.snap_socket();
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)
        .with_context(|| format!("cannot listen on {}", socket.display()))?;
    std::fs::set_permissions(&socket, std::os::unix::fs::PermissionsExt::from_mode(0o666))?;
    Ok(listener)
}

/// A future that completes on SIGTERM or SIGINT; the handlers are in place when it returns.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
