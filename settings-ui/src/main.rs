//! `snap-settings`: a terminal UI to see and change what snaps may do, over the daemon's
//! D-Bus API only (`spec/dbus/`): the snaps, each one's plugs and whether they are
//! connected, a key to connect or disconnect, and the progress and errors of the change.
//! It stays current from the daemon's signals.
#![forbid(unsafe_code)]

mod app;
mod bus;
mod ui;

use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};

use crate::app::{Action, App, Key};
use crate::bus::Snapd1;

/// Manage snap permissions from a terminal.
#[derive(Parser)]
#[command(name = "snap-settings", version)]
struct Args {
    /// The bus the daemon serves on (default: the system bus)
    #[arg(long, value_name = "address", env = "SNAPD_DBUS_ADDRESS")]
    address: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let conn = bus::connect(args.address.as_deref()).with_context(|| match &args.address {
        Some(a) => format!("cannot connect to the bus at {a}"),
        None => "cannot connect to the system bus".to_owned(),
    })?;
    let proxy = Snapd1::new(&conn).context("cannot reach the snap daemon on the bus")?;
    let (tx, rx) = mpsc::channel();
    bus::watch_signals(&conn, tx).context("cannot subscribe to the daemon's signals")?;
    let mut app = App::default();
    // Fail before taking over the terminal if the daemon is not there.
    let first = proxy
        .list_snaps()
        .map_err(|e| anyhow::anyhow!(bus::error_text(&e)))
        .context("cannot list snaps")?;
    let mut terminal = ratatui::init();
    let result = run(&mut terminal, &proxy, &mut app, first, &rx);
    ratatui::restore();
    result
}

fn run(
    terminal: &mut ratatui::DefaultTerminal,
    proxy: &Snapd1<'_>,
    app: &mut App,
    first: Vec<bus::Snap>,
    signals: &mpsc::Receiver<bus::Signal>,
) -> anyhow::Result<()> {
    let mut pending = app.set_snaps(first);
    loop {
        // Carry out what the last key or signal asked for; it may ask for more.
        while pending != Action::None {
            if pending == Action::Quit {
                return Ok(());
            }
            pending = perform(proxy, app, pending);
        }
        terminal.draw(|f| ui::draw(f, app))?;
        if event::poll(Duration::from_millis(100))?
            && let Event::Key(k) = event::read()?
            && k.kind == KeyEventKind::Press
            && let Some(key) = map_key(k.code)
        {
            pending = app.on_key(key);
        }
        while let Ok(sig) = signals.try_recv() {
            let next = app.on_signal(&sig);
            // A reload covers loading the plugs again.
            if pending == Action::None || next == Action::Reload {
                pending = next;
            }
        }
    }
}

fn map_key(code: KeyCode) -> Option<Key> {
    Some(match code {
        KeyCode::Up | KeyCode::Char('k') => Key::Up,
        KeyCode::Down | KeyCode::Char('j') => Key::Down,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::Tab => Key::Tab,
        KeyCode::Char(' ') | KeyCode::Enter => Key::Toggle,
        KeyCode::Char('h') => Key::Hold,
        KeyCode::Char('r') => Key::Reload,
        KeyCode::Char('q') | KeyCode::Esc => Key::Quit,
        _ => return None,
    })
}

/// Does one action over D-Bus and feeds the answer to the app; returns what it asks next.
fn perform(proxy: &Snapd1<'_>, app: &mut App, action: Action) -> Action {
    let started = |app: &mut App, r: zbus::Result<String>, summary: String| {
        match r {
            Ok(id) => {
                app.started(id.clone(), summary);
                // The change may have finished before we subscribed to its id.
                if let Ok(c) = proxy.get_change(&id) {
                    app.set_change(&c);
                }
            }
            Err(e) => app.fail(bus::error_text(&e)),
        }
        Action::None
    };
    match action {
        Action::None | Action::Quit => Action::None,
        Action::Reload => match proxy.list_snaps() {
            Ok(snaps) => app.set_snaps(snaps),
            Err(e) => {
                app.fail(bus::error_text(&e));
                Action::None
            }
        },
        Action::LoadEnds(snap) => {
            match proxy.get_plugs_and_slots(&snap) {
                Ok((plugs, slots)) => app.set_ends(snap, plugs, slots),
                Err(e) => app.fail(bus::error_text(&e)),
            }
            Action::None
        }
        Action::Connect { snap, plug } => {
            let r = proxy.connect(&snap, &plug, "", "");
            started(app, r, format!("Connect {snap}:{plug}"))
        }
        Action::Disconnect { snap, plug } => {
            let r = proxy.disconnect(&snap, &plug, "", "");
            started(app, r, format!("Disconnect {snap}:{plug}"))
        }
        Action::Hold(snap) => {
            match proxy.hold(&snap, "forever", "general") {
                Ok(_) => app.info(format!("refreshes of {snap} held")),
                Err(e) => app.fail(bus::error_text(&e)),
            }
            Action::None
        }
        Action::Unhold(snap) => {
            match proxy.unhold(&snap) {
                Ok(()) => app.info(format!("refreshes of {snap} allowed again")),
                Err(e) => app.fail(bus::error_text(&e)),
            }
            Action::None
        }
    }
}
