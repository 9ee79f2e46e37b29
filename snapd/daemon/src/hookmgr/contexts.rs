//! The contexts of running hooks, by the id the hook receives as its `SNAP_COOKIE`. While a
//! hook runs, `snapctl` calls carrying that id act on its pending configuration and health,
//! which the `run-hook` task commits only if the hook succeeds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use snap_core::Revision;

use super::cookies::random_token;
use crate::configmgr::tx::Transaction;
use crate::healthmgr::Health;

/// What a running hook may act on.
#[derive(Debug)]
pub struct HookContext {
    pub snap: String,
    pub revision: Revision,
    /// The configuration as the hook sees and changes it.
    pub tx: Transaction,
    /// What `snapctl set-health` reported, recorded when the hook succeeds.
    pub health: Option<Health>,
}

/// What every hook context id starts with.
pub const HOOK_CONTEXT_PREFIX: &str = "hook:";

#[derive(Default)]
pub struct Contexts {
    running: Mutex<HashMap<String, Arc<Mutex<HookContext>>>>,
}

/// A context registered for as long as this lives.
pub struct Registration<'a> {
    owner: &'a Contexts,
    pub id: String,
    pub context: Arc<Mutex<HookContext>>,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.owner
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

impl Contexts {
    pub fn register(&self, ctx: HookContext) -> std::io::Result<Registration<'_>> {
        // A form no cookie has (cookies are bare hex), which the launcher requires of a hook's
        // context: a snap's cookie cannot be passed off as one.
        let id = format!("{HOOK_CONTEXT_PREFIX}{}", random_token()?);
        let context = Arc::new(Mutex::new(ctx));
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), context.clone());
        Ok(Registration {
            owner: self,
            id,
            context,
        })
    }

    pub fn find(&self, id: &str) -> Option<Arc<Mutex<HookContext>>> {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }
}
