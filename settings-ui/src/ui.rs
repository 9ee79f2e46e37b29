//! Drawing the state: snaps on the left; the selected snap's details, plugs (with a box
//! that says whether each is connected) and slots on the right; the status line and the keys
//! at the bottom.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph};

use crate::app::{App, Pane, Status};
use crate::bus::Endpoint;

const KEYS: &str =
    "↑/↓ move  ←/→/Tab switch pane  Space toggle connection  h hold/unhold  r reload  q quit";

pub fn draw(f: &mut Frame, app: &App) {
    let [body, status, keys] = Layout::vertical([
        Constraint::Min(5),
        Constraint::Length(3),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(35), Constraint::Percentage(65)]).areas(body);
    draw_snaps(f, app, left);
    let [details, plugs, slots] = Layout::vertical([
        Constraint::Length(5),
        Constraint::Min(3),
        Constraint::Length(6),
    ])
    .areas(right);
    draw_details(f, app, details);
    draw_plugs(f, app, plugs);
    draw_slots(f, app, slots);
    f.render_widget(status_line(&app.status), status);
    f.render_widget(
        Paragraph::new(KEYS).style(Style::new().fg(Color::DarkGray)),
        keys,
    );
}

fn pane_block(title: &str, focused: bool) -> Block<'_> {
    let style = if focused {
        Style::new().fg(Color::Cyan)
    } else {
        Style::new()
    };
    Block::new()
        .borders(Borders::ALL)
        .title(title)
        .border_style(style)
}

fn draw_snaps(f: &mut Frame, app: &App, area: Rect) {
    let items: Vec<ListItem> = app
        .snaps
        .iter()
        .map(|s| {
            let held = if s.hold.is_empty() { "" } else { " (held)" };
            ListItem::new(format!("{} {}{held}", s.name, s.version))
        })
        .collect();
    let list = List::new(items)
        .block(pane_block("Snaps", app.pane == Pane::Snaps))
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .highlight_symbol("> ");
    let mut state = ListState::default().with_selected(Some(app.selected));
    f.render_stateful_widget(list, area, &mut state);
}

fn draw_details(f: &mut Frame, app: &App, area: Rect) {
    let text = match app.selected_snap() {
        None => vec![Line::from("no snaps installed")],
        Some(s) => {
            let title = if s.title.is_empty() {
                &s.name
            } else {
                &s.title
            };
            let publisher = if s.publisher.is_empty() {
                "-"
            } else {
                &s.publisher
            };
            let hold = if s.hold.is_empty() {
                "refreshes allowed".to_owned()
            } else {
                format!("refreshes held until {}", s.hold)
            };
            vec![
                Line::from(format!("{title} {} (rev {})", s.version, s.revision)),
                Line::from(format!(
                    "type {}  confinement {}  publisher {publisher}",
                    s.snap_type, s.confinement
                )),
                Line::from(hold),
            ]
        }
    };
    f.render_widget(
        Paragraph::new(text).block(Block::new().borders(Borders::ALL).title("Snap")),
        area,
    );
}

fn plug_line(p: &Endpoint) -> ListItem<'static> {
    let (mark, style) = if p.is_connected() {
        ("[x]", Style::new().fg(Color::Green))
    } else {
        ("[ ]", Style::new())
    };
    let to = p
        .connections
        .iter()
        .map(|(snap, slot)| format!("{snap}:{slot}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut spans = vec![
        Span::styled(format!("{mark} "), style),
        Span::raw(format!("{} ({})", p.name, p.interface)),
    ];
    if !to.is_empty() {
        spans.push(Span::raw(format!(" -> {to}")));
    }
    ListItem::new(Line::from(spans))
}

fn draw_plugs(f: &mut Frame, app: &App, area: Rect) {
    let items: Vec<ListItem> = app.plugs.iter().map(plug_line).collect();
    let title = if items.is_empty() {
        "Permissions (plugs): none"
    } else {
        "Permissions (plugs)"
    };
    let list = List::new(items)
        .block(pane_block(title, app.pane == Pane::Plugs))
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .highlight_symbol("> ");
    let selected = (app.pane == Pane::Plugs && !app.plugs.is_empty()).then_some(app.plug_selected);
    let mut state = ListState::default().with_selected(selected);
    f.render_stateful_widget(list, area, &mut state);
}

fn draw_slots(f: &mut Frame, app: &App, area: Rect) {
    let items: Vec<ListItem> = app
        .slots
        .iter()
        .map(|s| {
            let from = s
                .connections
                .iter()
                .map(|(snap, plug)| format!("{snap}:{plug}"))
                .collect::<Vec<_>>()
                .join(", ");
            let from = if from.is_empty() { "-".into() } else { from };
            ListItem::new(format!("{} ({}) <- {from}", s.name, s.interface))
        })
        .collect();
    f.render_widget(
        List::new(items).block(Block::new().borders(Borders::ALL).title("Offers (slots)")),
        area,
    );
}

fn status_line(s: &Status) -> Paragraph<'static> {
    let (text, style) = match s {
        Status::Idle => (String::new(), Style::new()),
        Status::Info(m) => (m.clone(), Style::new().fg(Color::Green)),
        Status::Error(m) => (format!("error: {m}"), Style::new().fg(Color::Red)),
        Status::Working {
            summary,
            status,
            done,
            total,
            ..
        } => (
            format!("{summary}: {status} ({done}/{total} tasks)"),
            Style::new().fg(Color::Yellow),
        ),
    };
    Paragraph::new(text)
        .style(style)
        .block(Block::new().borders(Borders::ALL).title("Status"))
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::bus::Snap;

    fn screen(app: &App) -> String {
        let mut t = Terminal::new(TestBackend::new(100, 24)).unwrap();
        t.draw(|f| draw(f, app)).unwrap();
        let buf = t.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn shows_snaps_plugs_and_their_state() {
        let mut app = App::default();
        app.set_snaps(vec![Snap {
            name: "cam".into(),
            title: "Camera App".into(),
            version: "1.2".into(),
            revision: "x1".into(),
            snap_type: "app".into(),
            confinement: "strict".into(),
            hold: "forever".into(),
            ..Snap::default()
        }]);
        let end = |name: &str, conns: Vec<(String, String)>| Endpoint {
            snap: "cam".into(),
            name: name.into(),
            interface: name.into(),
            attrs: Default::default(),
            connections: conns,
        };
        app.set_ends(
            "cam".into(),
            vec![
                end("camera", vec![]),
                end("network", vec![("snapd".into(), "network".into())]),
            ],
            vec![],
        );
        app.fail("permission denied: uid 1000 may not make changes".into());
        let s = screen(&app);
        assert!(s.contains("cam 1.2 (held)"), "{s}");
        assert!(s.contains("Camera App 1.2 (rev x1)"), "{s}");
        assert!(s.contains("refreshes held until forever"), "{s}");
        assert!(s.contains("[ ] camera (camera)"), "{s}");
        assert!(s.contains("[x] network (network) -> snapd:network"), "{s}");
        assert!(s.contains("error: permission denied"), "{s}");
    }
}
