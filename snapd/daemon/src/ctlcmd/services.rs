//! `snapctl services`, `start`, `stop` and `restart`: the calling snap's own services only.

use super::args::{ServiceControlArgs, ServicesArgs};
use super::{Caller, CtlError, Output};
use crate::daemon::Daemon;
use crate::servicemgr::Action;

/// The names, checked to be the caller's: `SNAP` or `SNAP.APP` of its own snap.
fn own(caller: &Caller, names: &[String]) -> Result<Vec<String>, CtlError> {
    let snap = caller.snap();
    if names.is_empty() {
        return Ok(vec![snap]);
    }
    for n in names {
        let of = n.split_once('.').map_or(n.as_str(), |(s, _)| s);
        if of != snap {
            return Err(CtlError::Refused(format!(
                "unknown service: {n:?} (snapctl only controls the services of snap {snap:?})"
            )));
        }
    }
    Ok(names.to_vec())
}

pub fn services(d: &Daemon, caller: &Caller, a: &ServicesArgs) -> Result<Output, CtlError> {
    let names = own(caller, &a.names)?;
    let statuses = d
        .services
        .statuses(&names)
        .map_err(|e| CtlError::Refused(e.to_string()))?;
    let mut rows = vec![["Service", "Startup", "Current", "Notes"].map(str::to_owned)];
    for s in statuses {
        rows.push([
            format!("{}.{}", s.snap, s.app),
            if s.enabled { "enabled" } else { "disabled" }.to_owned(),
            if s.active.as_str() == "active" {
                "active"
            } else {
                "inactive"
            }
            .to_owned(),
            if s.active.as_str() == "failed" {
                "failed"
            } else {
                "-"
            }
            .to_owned(),
        ]);
    }
    Ok(Output {
        stdout: table(&rows),
        stderr: String::new(),
    })
}

pub fn control(
    d: &Daemon,
    caller: &Caller,
    action: Action,
    a: &ServiceControlArgs,
) -> Result<Output, CtlError> {
    let names = own(caller, &a.names)?;
    d.services
        .control(action, &names, a.enable, a.disable)
        .map_err(|e| CtlError::Refused(e.to_string()))?;
    Ok(Output::default())
}

/// Columns padded as `snap` prints them (two spaces, the last column as is).
fn table(rows: &[[String; 4]]) -> String {
    let widths: Vec<usize> = (0..3)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0) + 2)
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, w) in widths.iter().enumerate() {
            line.push_str(&format!("{:<w$}", r[c], w = *w));
        }
        line.push_str(&r[3]);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
