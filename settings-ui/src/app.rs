//! The UI's state and what each key does, without a terminal or a bus: a key gives an
//! [`Action`] for the main loop to carry out over D-Bus, whose answers come back through the
//! `set_*` and `on_*` methods.

use crate::bus::{Change, Endpoint, Signal, Snap};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Snaps,
    Plugs,
}

/// What the main loop must do after a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Quit,
    /// Read the snaps (and the selected one's plugs and slots) again.
    Reload,
    /// Read the plugs and slots of this snap.
    LoadEnds(String),
    Connect {
        snap: String,
        plug: String,
    },
    Disconnect {
        snap: String,
        plug: String,
    },
    Hold(String),
    Unhold(String),
}

/// The line at the bottom: what is going on, or what went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Idle,
    Info(String),
    Error(String),
    /// A change we started, until it is ready.
    Working {
        id: String,
        summary: String,
        status: String,
        done: u32,
        total: u32,
    },
}

pub struct App {
    pub snaps: Vec<Snap>,
    pub selected: usize,
    pub plugs: Vec<Endpoint>,
    pub slots: Vec<Endpoint>,
    /// The snap `plugs` and `slots` belong to.
    pub ends_of: Option<String>,
    pub plug_selected: usize,
    pub pane: Pane,
    pub status: Status,
}

impl Default for App {
    fn default() -> Self {
        App {
            snaps: Vec::new(),
            selected: 0,
            plugs: Vec::new(),
            slots: Vec::new(),
            ends_of: None,
            plug_selected: 0,
            pane: Pane::Snaps,
            status: Status::Idle,
        }
    }
}

/// The keys the UI knows, as the terminal layer maps them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Up,
    Down,
    Left,
    Right,
    Tab,
    Toggle,
    Hold,
    Reload,
    Quit,
}

impl App {
    pub fn selected_snap(&self) -> Option<&Snap> {
        self.snaps.get(self.selected)
    }

    pub fn selected_plug(&self) -> Option<&Endpoint> {
        self.plugs.get(self.plug_selected)
    }

    /// A busy UI starts no second change: one at a time keeps the status line honest.
    fn busy(&self) -> bool {
        matches!(self.status, Status::Working { .. })
    }

    pub fn on_key(&mut self, key: Key) -> Action {
        match key {
            Key::Quit => Action::Quit,
            Key::Reload => Action::Reload,
            Key::Tab => {
                self.pane = match self.pane {
                    Pane::Snaps => Pane::Plugs,
                    Pane::Plugs => Pane::Snaps,
                };
                Action::None
            }
            Key::Right => {
                self.pane = Pane::Plugs;
                Action::None
            }
            Key::Left => {
                self.pane = Pane::Snaps;
                Action::None
            }
            Key::Up | Key::Down => self.move_selection(key == Key::Up),
            Key::Toggle => self.toggle(),
            Key::Hold => match self.selected_snap() {
                _ if self.busy() => Action::None,
                Some(s) if s.hold.is_empty() => Action::Hold(s.name.clone()),
                Some(s) => Action::Unhold(s.name.clone()),
                None => Action::None,
            },
        }
    }

    fn move_selection(&mut self, up: bool) -> Action {
        let step = |i: usize, len: usize| match (up, len) {
            (_, 0) => 0,
            (true, _) => i.saturating_sub(1),
            (false, _) => (i + 1).min(len - 1),
        };
        match self.pane {
            Pane::Snaps => {
                let before = self.selected;
                self.selected = step(self.selected, self.snaps.len());
                match self.selected_snap() {
                    Some(s) if self.selected != before => Action::LoadEnds(s.name.clone()),
                    _ => Action::None,
                }
            }
            Pane::Plugs => {
                self.plug_selected = step(self.plug_selected, self.plugs.len());
                Action::None
            }
        }
    }

    /// Space on a plug: disconnect it if connected, else connect it to its default slot.
    fn toggle(&mut self) -> Action {
        if self.busy() {
            self.status = Status::Error("wait for the change in progress to finish".into());
            return Action::None;
        }
        if self.pane != Pane::Plugs {
            self.pane = Pane::Plugs;
            return Action::None;
        }
        match self.selected_plug() {
            Some(p) if p.is_connected() => Action::Disconnect {
                snap: p.snap.clone(),
                plug: p.name.clone(),
            },
            Some(p) => Action::Connect {
                snap: p.snap.clone(),
                plug: p.name.clone(),
            },
            None => Action::None,
        }
    }

    /// New snap list; the selection follows the snap it was on.
    pub fn set_snaps(&mut self, snaps: Vec<Snap>) -> Action {
        let keep = self.selected_snap().map(|s| s.name.clone());
        self.snaps = snaps;
        self.selected = keep
            .and_then(|n| self.snaps.iter().position(|s| s.name == n))
            .unwrap_or(0)
            .min(self.snaps.len().saturating_sub(1));
        match self.selected_snap() {
            Some(s) => Action::LoadEnds(s.name.clone()),
            None => {
                self.plugs.clear();
                self.slots.clear();
                self.ends_of = None;
                Action::None
            }
        }
    }

    pub fn set_ends(&mut self, snap: String, plugs: Vec<Endpoint>, slots: Vec<Endpoint>) {
        if self.ends_of.as_deref() != Some(snap.as_str()) {
            self.plug_selected = 0;
        }
        self.plugs = plugs;
        self.slots = slots;
        self.plug_selected = self.plug_selected.min(self.plugs.len().saturating_sub(1));
        self.ends_of = Some(snap);
    }

    /// A change was started by us.
    pub fn started(&mut self, id: String, summary: String) {
        self.status = Status::Working {
            id,
            summary,
            status: "Do".into(),
            done: 0,
            total: 0,
        };
    }

    pub fn set_change(&mut self, c: &Change) {
        if let Status::Working { id, summary, .. } = &self.status
            && *id == c.id
        {
            self.status = if c.ready {
                ready_status(summary, &c.status, &c.error)
            } else {
                Status::Working {
                    id: c.id.clone(),
                    summary: summary.clone(),
                    status: c.status.clone(),
                    done: c.done,
                    total: c.total,
                }
            };
        }
    }

    pub fn fail(&mut self, message: String) {
        self.status = Status::Error(message);
    }

    pub fn info(&mut self, message: String) {
        self.status = Status::Info(message);
    }

    /// What a signal asks for.
    pub fn on_signal(&mut self, s: &Signal) -> Action {
        match s {
            Signal::SnapsChanged => Action::Reload,
            Signal::ConnectionsChanged => match &self.ends_of {
                Some(n) => Action::LoadEnds(n.clone()),
                None => Action::None,
            },
            Signal::ChangeChanged {
                id,
                status,
                done,
                total,
            } => {
                if let Status::Working {
                    id: mine, summary, ..
                } = &self.status
                    && mine == id
                {
                    self.status = Status::Working {
                        id: id.clone(),
                        summary: summary.clone(),
                        status: status.clone(),
                        done: *done,
                        total: *total,
                    };
                }
                Action::None
            }
            Signal::ChangeReady { id, status, error } => {
                if let Status::Working {
                    id: mine, summary, ..
                } = &self.status
                    && mine == id
                {
                    self.status = ready_status(summary, status, error);
                }
                Action::None
            }
        }
    }
}

fn ready_status(summary: &str, status: &str, error: &str) -> Status {
    match status {
        "Done" => Status::Info(format!("{summary}: done")),
        _ if !error.is_empty() => Status::Error(format!("{summary}: {error}")),
        other => Status::Error(format!("{summary}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(name: &str) -> Snap {
        Snap {
            name: name.into(),
            ..Snap::default()
        }
    }

    fn plug(name: &str, connected: bool) -> Endpoint {
        Endpoint {
            snap: "cam".into(),
            name: name.into(),
            interface: name.into(),
            attrs: Default::default(),
            connections: if connected {
                vec![("snapd".into(), name.into())]
            } else {
                vec![]
            },
        }
    }

    fn app() -> App {
        let mut a = App::default();
        assert_eq!(
            a.set_snaps(vec![snap("base"), snap("cam")]),
            Action::LoadEnds("base".into())
        );
        a
    }

    #[test]
    fn moving_through_snaps_loads_their_plugs() {
        let mut a = app();
        assert_eq!(a.on_key(Key::Up), Action::None);
        assert_eq!(a.on_key(Key::Down), Action::LoadEnds("cam".into()));
        assert_eq!(a.on_key(Key::Down), Action::None);
        // A new list keeps the selection on the same snap.
        assert_eq!(
            a.set_snaps(vec![snap("aaa"), snap("base"), snap("cam")]),
            Action::LoadEnds("cam".into())
        );
        assert_eq!(a.selected, 2);
        assert_eq!(a.set_snaps(vec![]), Action::None);
        assert!(a.plugs.is_empty());
    }

    #[test]
    fn toggling_connects_or_disconnects_the_selected_plug() {
        let mut a = app();
        a.set_ends(
            "cam".into(),
            vec![plug("camera", false), plug("network", true)],
            vec![],
        );
        // The first press moves to the plugs.
        assert_eq!(a.on_key(Key::Toggle), Action::None);
        assert_eq!(a.pane, Pane::Plugs);
        assert_eq!(
            a.on_key(Key::Toggle),
            Action::Connect {
                snap: "cam".into(),
                plug: "camera".into()
            }
        );
        a.on_key(Key::Down);
        assert_eq!(
            a.on_key(Key::Toggle),
            Action::Disconnect {
                snap: "cam".into(),
                plug: "network".into()
            }
        );
    }

    #[test]
    fn a_change_is_followed_until_ready() {
        let mut a = app();
        a.pane = Pane::Plugs;
        a.set_ends("cam".into(), vec![plug("camera", false)], vec![]);
        a.started("7".into(), "Connect cam:camera".into());
        // One change at a time.
        assert_eq!(a.on_key(Key::Toggle), Action::None);
        assert!(matches!(a.status, Status::Error(_)));
        a.started("7".into(), "Connect cam:camera".into());
        let moved = Signal::ChangeChanged {
            id: "7".into(),
            status: "Doing".into(),
            done: 0,
            total: 1,
        };
        assert_eq!(a.on_signal(&moved), Action::None);
        assert!(matches!(&a.status, Status::Working { status, .. } if status == "Doing"));
        // Another client's change does not touch our line.
        a.on_signal(&Signal::ChangeReady {
            id: "8".into(),
            status: "Done".into(),
            error: String::new(),
        });
        assert!(matches!(a.status, Status::Working { .. }));
        a.on_signal(&Signal::ChangeReady {
            id: "7".into(),
            status: "Error".into(),
            error: "cannot connect".into(),
        });
        assert_eq!(
            a.status,
            Status::Error("Connect cam:camera: cannot connect".into())
        );
    }

    #[test]
    fn signals_ask_for_what_changed() {
        let mut a = app();
        assert_eq!(a.on_signal(&Signal::SnapsChanged), Action::Reload);
        assert_eq!(a.on_signal(&Signal::ConnectionsChanged), Action::None);
        a.set_ends("base".into(), vec![], vec![]);
        assert_eq!(
            a.on_signal(&Signal::ConnectionsChanged),
            Action::LoadEnds("base".into())
        );
    }

    #[test]
    fn hold_toggles() {
        let mut a = app();
        assert_eq!(a.on_key(Key::Hold), Action::Hold("base".into()));
        let mut held = snap("base");
        held.hold = "forever".into();
        a.set_snaps(vec![held]);
        assert_eq!(a.on_key(Key::Hold), Action::Unhold("base".into()));
    }
}
