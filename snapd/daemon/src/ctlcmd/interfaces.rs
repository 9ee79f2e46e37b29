//! `snapctl is-connected PLUG|SLOT`: exit 0 when connected, 1 when not.

use super::args::IsConnectedArgs;
use super::{Caller, CtlError, Output};
use crate::daemon::Daemon;
use crate::ifacemgr::conns::all_conns;
use crate::ifacemgr::repo::Repo;

pub fn is_connected(d: &Daemon, caller: &Caller, a: &IsConnectedArgs) -> Result<Output, CtlError> {
    let snap = caller.snap();
    let st = d.store.lock();
    let repo = Repo::load_snaps(&st, [snap.as_str()])?;
    if repo.plug(&snap, &a.name).is_none() && repo.slot(&snap, &a.name).is_none() {
        return Err(CtlError::Refused(format!(
            "snap {snap:?} has no plug or slot named {:?}",
            a.name
        )));
    }
    let connected = all_conns(&st)?.iter().any(|(c, s)| {
        s.is_connected()
            && ((c.plug.snap == snap && c.plug.plug == a.name)
                || (c.slot.snap == snap && c.slot.slot == a.name))
    });
    if connected {
        Ok(Output::default())
    } else {
        Err(CtlError::Unsuccessful {
            stdout: String::new(),
            stderr: String::new(),
            code: 1,
        })
    }
}
