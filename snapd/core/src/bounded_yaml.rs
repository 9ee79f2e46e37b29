//! Parsing YAML that comes from outside (snap.yaml, gadget.yaml) with every resource the YAML
//! layer may use capped, so a hostile file costs bounded time and memory, and with type errors
//! naming the key they happened at.

use serde::de::DeserializeOwned;
use serde_saphyr::options::{DuplicateKeyPolicy, MergeKeyPolicy};
use serde_saphyr::{Budget, Options};

/// The caps for one kind of document.
#[derive(Clone, Copy, Debug)]
pub struct YamlLimits {
    /// Largest document accepted, and largest total of its scalars.
    pub max_bytes: usize,
    /// Nesting deeper than this is refused.
    pub max_depth: usize,
    /// Nodes (scalars, lists, maps), counting alias expansions, so a "billion laughs" file is
    /// cut off long before it costs memory.
    pub max_nodes: usize,
}

/// Why a document was refused: too large, not text, or not what was expected (`path` names
/// the key, empty at the top).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum YamlFailure {
    TooLarge { size: usize, max: usize },
    Parse { path: String, message: String },
}

fn options(limits: &YamlLimits) -> Options {
    let mut budget = Budget::default();
    budget.max_depth = limits.max_depth;
    budget.max_nodes = limits.max_nodes;
    budget.max_events = 4 * limits.max_nodes;
    budget.max_aliases = 10_000;
    budget.max_anchors = 10_000;
    budget.max_documents = 2;
    budget.max_total_scalar_bytes = limits.max_bytes;
    budget.max_merge_keys = 1_000;
    budget.max_recorded_anchor_bytes = limits.max_bytes;
    budget.max_recorded_anchor_events = 4 * limits.max_nodes;

    let mut opts = Options::default();
    opts.budget = Some(budget);
    opts.alias_limits.max_total_replayed_events = limits.max_nodes;
    opts.alias_limits.max_replay_stack_depth = 16;
    // snapd's YAML library refuses duplicate keys, reads 0644 as octal and expands `<<`.
    opts.duplicate_keys = DuplicateKeyPolicy::Error;
    opts.legacy_octal_numbers = true;
    opts.merge_keys = MergeKeyPolicy::Merge;
    // Plain one-line messages: the caller adds the key path.
    opts.with_snippet = false;
    opts
}

/// Parses `bytes` as a `T` within `limits`; returns the text too, for callers that look at
/// how something was spelled.
pub fn decode_bounded<'a, T: DeserializeOwned>(
    bytes: &'a [u8],
    limits: &YamlLimits,
) -> Result<(T, &'a str), YamlFailure> {
    if bytes.len() > limits.max_bytes {
        return Err(YamlFailure::TooLarge {
            size: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| YamlFailure::Parse {
        path: String::new(),
        message: format!("not UTF-8 text (at byte {})", e.valid_up_to()),
    })?;
    let mut typed_path = None;
    let outcome =
        serde_saphyr::with_deserializer_from_str_with_options(text, options(limits), |de| {
            serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
                typed_path = Some(clean_path(&e.path().to_string()));
                e.into_inner()
            })
        });
    match outcome {
        Ok(v) => Ok((v, text)),
        Err(e) => Err(YamlFailure::Parse {
            path: typed_path.unwrap_or_default(),
            message: e.to_string(),
        }),
    }
}

/// serde_path_to_error's path without its placeholders for unnamed levels.
fn clean_path(path: &str) -> String {
    let mut p = path;
    while let Some(rest) = p.strip_suffix(".?") {
        p = rest;
    }
    match p {
        "." | "?" => String::new(),
        other => other.to_owned(),
    }
}
