//! `snapctl set-health`: recorded when the hook that reports it succeeds, or at once from an
//! app.

use super::args::SetHealthArgs;
use super::{Caller, CtlError, Output};
use crate::daemon::Daemon;
use crate::healthmgr::{self, Health};
use crate::snapmgr::model::get_snap;

pub fn set_health(d: &Daemon, caller: &Caller, a: &SetHealthArgs) -> Result<Output, CtlError> {
    let message = a.message.as_deref().unwrap_or("");
    let code = a.code.as_deref().unwrap_or("");
    healthmgr::validate(&a.status, message, code).map_err(|e| CtlError::Refused(e.to_string()))?;
    match caller {
        Caller::Hook(h) => {
            let mut h = h.lock().unwrap_or_else(|e| e.into_inner());
            h.health = Some(Health::new(h.revision, &a.status, message, code));
        }
        Caller::App { snap } => {
            let mut st = d.store.lock();
            let Some(s) = get_snap(&st, snap)? else {
                return Err(CtlError::Refused(format!("snap {snap:?} is not installed")));
            };
            healthmgr::set(
                &mut st,
                snap,
                &Health::new(s.current, &a.status, message, code),
            )?;
            st.commit()?;
        }
    }
    Ok(Output::default())
}
