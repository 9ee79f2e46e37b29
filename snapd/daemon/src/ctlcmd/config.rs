//! `snapctl get`, `set` and `unset`: in a hook, on the hook's pending transaction; from an
//! app, on the snap's document directly (no configure hook runs, as in snapd).

use serde_json::{Map, Value};

use super::args::{GetArgs, SetArgs, UnsetArgs};
use super::{Caller, CtlError, Output};
use crate::configmgr::doc;
use crate::configmgr::tx::Transaction;
use crate::daemon::Daemon;

pub fn get(d: &Daemon, caller: &Caller, a: &GetArgs) -> Result<Output, CtlError> {
    let view = match caller {
        Caller::Hook(h) => h.lock().unwrap_or_else(|e| e.into_inner()).tx.view(),
        Caller::App { snap } => {
            let st = d.store.lock();
            crate::configmgr::tx::document(&st, snap)?
        }
    };
    let mut found = Map::new();
    for k in &a.keys {
        if let Some(v) = doc::get(&view, k).map_err(refused)? {
            found.insert(k.clone(), v.clone());
        }
    }
    let stdout = match (a.document, a.keys.as_slice()) {
        (false, [one]) => match found.get(one) {
            None => String::new(),
            Some(Value::String(s)) => format!("{s}\n"),
            Some(v) => format!("{}\n", snapd_api::pretty_json_tabs(v)),
        },
        _ => format!("{}\n", snapd_api::pretty_json_tabs(&Value::Object(found))),
    };
    Ok(Output {
        stdout,
        stderr: String::new(),
    })
}

pub fn set(d: &Daemon, caller: &Caller, a: &SetArgs) -> Result<Output, CtlError> {
    let changes =
        snapd_api::parse_conf_pairs(&a.pairs, a.string, a.typed).map_err(CtlError::Refused)?;
    apply(d, caller, changes)
}

pub fn unset(d: &Daemon, caller: &Caller, a: &UnsetArgs) -> Result<Output, CtlError> {
    apply(
        d,
        caller,
        a.keys.iter().map(|k| (k.clone(), Value::Null)).collect(),
    )
}

fn apply(d: &Daemon, caller: &Caller, changes: Vec<(String, Value)>) -> Result<Output, CtlError> {
    for (k, _) in &changes {
        doc::parse_key(k).map_err(refused)?;
    }
    match caller {
        Caller::Hook(h) => {
            let mut h = h.lock().unwrap_or_else(|e| e.into_inner());
            for (k, v) in changes {
                h.tx.set(&k, v).map_err(refused)?;
            }
        }
        Caller::App { snap } => {
            let mut st = d.store.lock();
            let mut tx = Transaction::begin(&st, snap)?;
            for (k, v) in changes {
                tx.set(&k, v).map_err(refused)?;
            }
            tx.commit(&mut st)?;
            st.commit()?;
        }
    }
    Ok(Output::default())
}

fn refused(e: impl std::fmt::Display) -> CtlError {
    CtlError::Refused(e.to_string())
}
