//! The installed gadget's `gadget.yaml`, as the daemon consults it: configuration defaults for
//! snaps (by snap-id, or `system`) and interface connections. Read from the gadget's blob, so no
//! mount is needed.

use std::collections::BTreeMap;

use gadget_kernel::{GadgetYaml, ParseOptions};
use serde_json::Value;
use snap_core::dirs::Dirs;
use snap_squashfs::SnapFile;
use snap_state::{State, StateError};

use crate::snapmgr::model::all_snaps;

#[derive(Debug, thiserror::Error)]
pub enum GadgetError {
    #[error("cannot read the gadget.yaml of {name:?}: {reason}")]
    Read { name: String, reason: String },
    #[error("invalid gadget.yaml of {name:?}: {reason}")]
    Invalid { name: String, reason: String },
    #[error(transparent)]
    State(#[from] StateError),
}

/// The installed gadget's gadget.yaml; `None` when no gadget is installed (as on classic).
pub fn installed_gadget(st: &State, dirs: &Dirs) -> Result<Option<GadgetYaml>, GadgetError> {
    let Some((name, rev)) = all_snaps(st)?
        .into_iter()
        .find(|(_, s)| s.snap_type == "gadget")
        .map(|(n, s)| (n, s.current))
    else {
        return Ok(None);
    };
    let bytes = SnapFile::open(&dirs.blob(&name, rev))
        .and_then(|f| {
            f.read(
                "meta/gadget.yaml",
                gadget_kernel::MAX_GADGET_YAML_BYTES as u64,
            )
        })
        .map_err(|e| GadgetError::Read {
            name: name.clone(),
            reason: e.to_string(),
        })?;
    // No model assertion on a device yet: the gadget's own consistency is checked, as snapd
    // does without a model.
    let opts = ParseOptions {
        model: None,
        encrypted_data: false,
        require_volumes: false,
    };
    gadget_kernel::parse_gadget_yaml_with(&bytes, &opts)
        .map(Some)
        .map_err(|e| GadgetError::Invalid {
            name,
            reason: e.to_string(),
        })
}

/// The gadget's defaults for the snap with `snap_id`, top-level key by key, as configuration
/// values (nested maps stay documents, as snapd applies them).
pub fn defaults_for(gadget: &GadgetYaml, snap_id: &str) -> BTreeMap<String, Value> {
    gadget
        .defaults()
        .get(snap_id)
        .map(|stanza| {
            stanza
                .iter()
                .map(|(k, v)| (k.clone(), crate::firstboot::gadget::to_json(v)))
                .collect()
        })
        .unwrap_or_default()
}

/// The snap-ids of the installed snaps that have one (id → name).
pub fn known_snap_ids(st: &State) -> Result<BTreeMap<String, String>, StateError> {
    Ok(all_snaps(st)?
        .into_iter()
        .filter_map(|(n, s)| s.snap_id.map(|id| (id, n)))
        .collect())
}
