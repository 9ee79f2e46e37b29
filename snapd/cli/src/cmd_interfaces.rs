//! `snap connections`, `snap interfaces`, `snap connect` and `snap disconnect`, with the
//! requests and the output of snap 2.57.

use anyhow::{Context, bail};
use clap::Args;
use snapd_api::{Client, Connections, LegacyInterfaces, kinds};

use crate::table::render;
use crate::wait::wait_change;

/// The connections command lists connections between plugs and slots in the system.
///
/// Unless <snap> is provided, the listing is for connected plugs and slots for all snaps in the
/// system. In this mode, pass --all to also list unconnected plugs and slots.
#[derive(Args)]
pub struct ConnectionsArgs {
    /// Show connected and unconnected plugs and slots
    #[arg(long)]
    all: bool,
    /// Constrain listing to a specific snap
    #[arg(value_name = "snap")]
    snap: Option<String>,
}

/// The interfaces command lists interfaces available in the system (deprecated: use 'snap
/// connections').
#[derive(Args)]
pub struct InterfacesArgs {
    /// Constrain listing to specific interfaces
    #[arg(short = 'i', value_name = "interface")]
    interface: Option<String>,
    /// Constrain listing to a specific snap or snap:name
    #[arg(value_name = "snap>:<slot or plug")]
    query: Option<String>,
}

/// The connect command connects a plug to a slot.
///
/// `snap connect <snap>:<plug> <snap>:<slot>` connects the plug to that slot;
/// `snap connect <snap>:<plug> <snap>` to the only slot of that snap that fits;
/// `snap connect <snap>:<plug>` to the slot of the system snap that fits.
#[derive(Args)]
pub struct ConnectArgs {
    /// Do not wait for the operation to finish but just print the change id
    #[arg(long)]
    no_wait: bool,
    #[arg(value_name = "snap>:<plug")]
    plug: String,
    #[arg(value_name = "snap>:<slot")]
    slot: Option<String>,
}

/// The disconnect command disconnects a plug from a slot.
///
/// `snap disconnect <snap>:<plug> <snap>:<slot>` disconnects that plug from that slot;
/// `snap disconnect <snap>:<slot or plug>` disconnects everything from that plug or slot. The
/// snap name may be omitted for the system snap.
///
/// When an automatic connection is manually disconnected, its disconnected state is retained
/// (it is not connected automatically again). The --forget flag resets this.
#[derive(Args)]
pub struct DisconnectArgs {
    /// Do not wait for the operation to finish but just print the change id
    #[arg(long)]
    no_wait: bool,
    /// Forget remembered state about the given connection.
    #[arg(long)]
    forget: bool,
    #[arg(value_name = "snap>:<plug")]
    offer: String,
    #[arg(value_name = "snap>:<slot")]
    use_: Option<String>,
}

/// snap's `SnapAndName`: `snap:name`, `snap` or `:name`.
fn snap_and_name(value: &str) -> anyhow::Result<(String, String)> {
    let parts: Vec<&str> = value.split(':').collect();
    let (snap, name) = match parts.as_slice() {
        [snap] => (snap.to_string(), String::new()),
        // "snap:" should be spelled "snap".
        [_, ""] => (String::new(), String::new()),
        [snap, name] => (snap.to_string(), name.to_string()),
        _ => (String::new(), String::new()),
    };
    if snap.is_empty() && name.is_empty() {
        bail!("invalid value: {value:?} (want snap:name or snap)");
    }
    Ok((snap, name))
}

/// snap's `SnapAndNameStrict`: `snap:name` or `:name`.
fn snap_and_name_strict(value: &str) -> anyhow::Result<(String, String)> {
    match value.split(':').collect::<Vec<_>>().as_slice() {
        [snap, name] if !name.is_empty() => Ok((snap.to_string(), name.to_string())),
        _ => bail!("invalid value: {value:?} (want snap:name or :name)"),
    }
}

/// How snap shows an end: the system snap's as `:name`.
fn endpoint(snap: &str, name: &str) -> String {
    if is_system_snap(snap) {
        format!(":{name}")
    } else {
        format!("{snap}:{name}")
    }
}

fn is_system_snap(snap: &str) -> bool {
    matches!(snap, "core" | "snapd" | "system")
}

pub async fn connections(client: &Client, args: ConnectionsArgs) -> anyhow::Result<()> {
    let mut all = args.all;
    let wanted = args.snap.clone().unwrap_or_default();
    let path = if !wanted.is_empty() {
        if all {
            bail!("cannot use --all with snap name");
        }
        all = true;
        format!("/v2/connections?select=all&snap={wanted}")
    } else if all {
        "/v2/connections?select=all".to_owned()
    } else {
        "/v2/connections".to_owned()
    };
    let resp = client.get(&path).await?;
    let conns: Connections =
        serde_json::from_value(resp.result).context("cannot decode connections")?;
    // As snap: nothing at all unless there is a plug or a slot to speak of.
    if conns.plugs.is_empty() && conns.slots.is_empty() {
        return Ok(());
    }
    // (interface, interface shown, plug, slot, notes), sorted as snap sorts them.
    let mut rows: Vec<(String, String, String, String, String)> = Vec::new();
    for c in &conns.established {
        let mut notes = Vec::new();
        if c.manual {
            notes.push("manual");
        }
        if c.gadget {
            notes.push("gadget");
        }
        let determinant = if c.interface == "content" {
            let label = |m: &std::collections::BTreeMap<String, serde_json::Value>| {
                m.get("content")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_owned()
            };
            let l = Some(label(&c.plug_attrs))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| label(&c.slot_attrs));
            if l.is_empty() {
                String::new()
            } else {
                format!("[{l}]")
            }
        } else {
            String::new()
        };
        rows.push((
            c.interface.clone(),
            format!("{}{determinant}", c.interface),
            endpoint(&c.plug.snap, &c.plug.plug),
            endpoint(&c.slot.snap, &c.slot.slot),
            if notes.is_empty() {
                "-".to_owned()
            } else {
                notes.join(",")
            },
        ));
    }
    for p in conns
        .plugs
        .iter()
        .filter(|p| p.connections.is_empty() && all)
    {
        rows.push((
            p.interface.clone(),
            p.interface.clone(),
            endpoint(&p.snap, &p.plug),
            "-".into(),
            "-".into(),
        ));
    }
    for s in &conns.slots {
        // Unconnected system slots are many and say nothing.
        if !is_system_snap(&wanted) && is_system_snap(&s.snap) {
            continue;
        }
        if s.connections.is_empty() && all {
            rows.push((
                s.interface.clone(),
                s.interface.clone(),
                "-".into(),
                endpoint(&s.snap, &s.slot),
                "-".into(),
            ));
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    rows.sort_by(|a, b| (&a.0, &a.2, &a.3).cmp(&(&b.0, &b.2, &b.3)));
    let mut table = vec![
        ["Interface", "Plug", "Slot", "Notes"]
            .map(String::from)
            .to_vec(),
    ];
    table.extend(
        rows.into_iter()
            .map(|(_, iface, plug, slot, notes)| vec![iface, plug, slot, notes]),
    );
    print!("{}", render(&table));
    Ok(())
}

pub async fn interfaces(client: &Client, args: InterfacesArgs) -> anyhow::Result<()> {
    let (wanted_snap, wanted_name) = match &args.query {
        Some(q) => snap_and_name(q)?,
        None => (String::new(), String::new()),
    };
    let resp = client.get("/v2/interfaces").await?;
    let ifaces: LegacyInterfaces =
        serde_json::from_value(resp.result).context("cannot decode interfaces")?;
    if ifaces.plugs.is_empty() && ifaces.slots.is_empty() {
        bail!("no interfaces found");
    }
    let mut table = vec![vec!["Slot".to_owned(), "Plug".to_owned()]];
    for slot in &ifaces.slots {
        if !wanted_snap.is_empty() {
            let ok = wanted_snap == slot.snap
                || (is_system_snap(&wanted_snap) && is_system_snap(&slot.snap))
                || slot.connections.iter().any(|c| c.snap == wanted_snap);
            if !ok {
                continue;
            }
        }
        if !wanted_name.is_empty() && wanted_name != slot.slot {
            continue;
        }
        if args
            .interface
            .as_ref()
            .is_some_and(|i| *i != slot.interface)
        {
            continue;
        }
        let plugs: Vec<String> = slot
            .connections
            .iter()
            .map(|c| {
                if c.plug != slot.slot {
                    format!("{}:{}", c.snap, c.plug)
                } else {
                    c.snap.clone()
                }
            })
            .collect();
        table.push(vec![
            endpoint(&slot.snap, &slot.slot),
            if plugs.is_empty() {
                "-".into()
            } else {
                plugs.join(",")
            },
        ]);
    }
    // Connected plugs were shown with their slots; the unconnected ones follow.
    for plug in &ifaces.plugs {
        if !wanted_snap.is_empty() && wanted_snap != plug.snap {
            continue;
        }
        if !wanted_name.is_empty() && wanted_name != plug.plug {
            continue;
        }
        if args
            .interface
            .as_ref()
            .is_some_and(|i| *i != plug.interface)
        {
            continue;
        }
        if plug.connections.is_empty() {
            table.push(vec!["-".into(), format!("{}:{}", plug.snap, plug.plug)]);
        }
    }
    print!("{}", render(&table));
    eprintln!("\n'snap interfaces' is deprecated; use 'snap connections'.");
    Ok(())
}

async fn interface_action(
    client: &Client,
    action: &str,
    plug: (String, String),
    slot: (String, String),
    forget: bool,
) -> Result<String, snapd_api::ClientError> {
    let body = serde_json::to_value(snapd_api::InterfaceAction {
        action: action.to_owned(),
        forget,
        plugs: vec![snapd_api::PlugRef {
            snap: plug.0,
            plug: plug.1,
        }],
        slots: vec![snapd_api::SlotRef {
            snap: slot.0,
            slot: slot.1,
        }],
    })
    .expect("an action serializes");
    let resp = client.post_json("/v2/interfaces", &body).await?;
    resp.change.ok_or_else(|| {
        snapd_api::ClientError::Decode("async response without change reference".into())
    })
}

pub async fn connect(client: &Client, args: ConnectArgs) -> anyhow::Result<()> {
    let (mut plug_snap, mut plug_name) = snap_and_name(&args.plug)?;
    // `snap connect <plug> <snap>[:<slot>]`: a bare word is the plug's name.
    if !plug_snap.is_empty() && plug_name.is_empty() {
        plug_name = std::mem::take(&mut plug_snap);
    }
    let slot = match &args.slot {
        Some(s) => snap_and_name(s)?,
        None => (String::new(), String::new()),
    };
    let id = interface_action(client, "connect", (plug_snap, plug_name), slot, false).await?;
    if args.no_wait {
        println!("{id}");
        return Ok(());
    }
    wait_change(client, &id).await?;
    Ok(())
}

pub async fn disconnect(client: &Client, args: DisconnectArgs) -> anyhow::Result<()> {
    let mut offer = snap_and_name_strict(&args.offer)?;
    let mut use_ = match &args.use_ {
        Some(s) => snap_and_name_strict(s)?,
        None => (String::new(), String::new()),
    };
    // `snap disconnect <snap>:<plug or slot>`: the one end goes in the slot pair.
    if use_.0.is_empty() && use_.1.is_empty() {
        std::mem::swap(&mut offer, &mut use_);
    }
    let id = match interface_action(client, "disconnect", offer, use_, args.forget).await {
        Ok(id) => id,
        Err(e) if e.kind() == Some(kinds::INTERFACES_UNCHANGED) => {
            println!("No connections to disconnect");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    if args.no_wait {
        println!("{id}");
        return Ok(());
    }
    wait_change(client, &id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plug_and_slot_specs_parse_like_snap() {
        assert_eq!(snap_and_name("a:b").unwrap(), ("a".into(), "b".into()));
        assert_eq!(snap_and_name("a").unwrap(), ("a".into(), "".into()));
        assert_eq!(snap_and_name(":b").unwrap(), ("".into(), "b".into()));
        assert!(snap_and_name("a:").is_err());
        assert!(snap_and_name("a:b:c").is_err());
        assert_eq!(snap_and_name_strict(":b").unwrap(), ("".into(), "b".into()));
        assert!(snap_and_name_strict("a").is_err());
        assert!(snap_and_name_strict("a:").is_err());
    }

    #[test]
    fn system_ends_are_shown_without_snap() {
        assert_eq!(endpoint("snapd", "network"), ":network");
        assert_eq!(endpoint("core", "x"), ":x");
        assert_eq!(endpoint("hello", "camera"), "hello:camera");
    }
}
