//! Bytes to [`RawGadget`], with every resource the YAML layer may use capped.

use serde_saphyr::options::{DuplicateKeyPolicy, MergeKeyPolicy};
use serde_saphyr::{Budget, Options};

use crate::error::GadgetError;
use crate::raw::RawGadget;

/// Largest gadget.yaml accepted. Real ones are a few KiB (the pc gadget is under 2 KiB); the
/// cap bounds parse time and memory whatever a hostile file holds.
pub const MAX_GADGET_YAML_BYTES: usize = 1024 * 1024;

/// Nesting deeper than this is refused. gadget.yaml itself is 6 levels deep
/// (`volumes.pc.structure[0].content[0].image`); the rest is room for `defaults` values.
pub const MAX_YAML_DEPTH: usize = 64;

/// Nodes (scalars, lists, maps), counting alias expansions, so a "billion laughs" file is cut
/// off long before it costs memory.
pub const MAX_YAML_NODES: usize = 100_000;

fn options() -> Options {
    let mut budget = Budget::default();
    budget.max_depth = MAX_YAML_DEPTH;
    budget.max_nodes = MAX_YAML_NODES;
    budget.max_events = 4 * MAX_YAML_NODES;
    budget.max_aliases = 10_000;
    budget.max_anchors = 10_000;
    budget.max_documents = 2;
    budget.max_total_scalar_bytes = MAX_GADGET_YAML_BYTES;
    budget.max_merge_keys = 1_000;
    budget.max_recorded_anchor_bytes = MAX_GADGET_YAML_BYTES;
    budget.max_recorded_anchor_events = 4 * MAX_YAML_NODES;

    let mut opts = Options::default();
    opts.budget = Some(budget);
    opts.alias_limits.max_total_replayed_events = MAX_YAML_NODES;
    opts.alias_limits.max_replay_stack_depth = 16;
    // A repeated key is refused (snapd's non-strict YAML reader keeps the last one silently;
    // an ambiguous volume layout is not worth guessing at).
    opts.duplicate_keys = DuplicateKeyPolicy::Error;
    opts.legacy_octal_numbers = true;
    opts.merge_keys = MergeKeyPolicy::Merge;
    opts.with_snippet = false;
    opts
}

/// Parses the document into the raw model; type errors name the key they happened at. An
/// empty document (or one holding only comments) is an empty gadget.
pub(crate) fn decode(bytes: &[u8]) -> Result<RawGadget, GadgetError> {
    if bytes.len() > MAX_GADGET_YAML_BYTES {
        return Err(GadgetError::TooLarge {
            size: bytes.len(),
            max: MAX_GADGET_YAML_BYTES,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        GadgetError::parse("", format!("not UTF-8 text (at byte {})", e.valid_up_to()))
    })?;
    let mut typed_path = None;
    let outcome = serde_saphyr::with_deserializer_from_str_with_options(text, options(), |de| {
        serde_path_to_error::deserialize::<_, Option<RawGadget>>(de).map_err(|e| {
            typed_path = Some(clean_path(&e.path().to_string()));
            e.into_inner()
        })
    });
    let raw = outcome.map_err(|e| {
        GadgetError::parse(typed_path.unwrap_or_default(), one_line(&e.to_string()))
    })?;
    Ok(raw.unwrap_or_default())
}

/// Drops the placeholders serde_path_to_error uses where it has no key to name.
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

/// The message on one line, without the YAML library's advice about its own options.
fn one_line(message: &str) -> String {
    message
        .replace(", set DuplicateKeyPolicy in Options if acceptable", "")
        .replace("; use Option<String>", "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> GadgetError {
        decode(s.as_bytes()).unwrap_err()
    }

    #[test]
    fn empty_documents_are_empty_gadgets() {
        for doc in ["", "# only a comment\n", "---\n", "~"] {
            let raw = decode(doc.as_bytes()).unwrap();
            assert!(raw.volumes.is_none(), "{doc:?}");
        }
    }

    #[test]
    fn numbers_stay_text() {
        let raw =
            decode(b"volumes:\n  pc:\n    structure:\n      - size: 0x10\n        offset: 440\n")
                .unwrap();
        let vols = raw.volumes.unwrap();
        let s = vols.0[0].1.as_ref().unwrap().structure.as_ref().unwrap()[0]
            .as_ref()
            .unwrap();
        assert_eq!(s.size.as_deref(), Some("0x10"));
        assert_eq!(s.offset.as_deref(), Some("440"));
    }

    #[test]
    fn not_yaml_or_wrong_shape() {
        assert!(matches!(
            err("this is not valid yaml"),
            GadgetError::Parse { .. }
        ));
        assert!(matches!(err("volumes: [1, 2"), GadgetError::Parse { .. }));
        let e = err("volumes:\n  pc:\n    structure: foo\n");
        assert!(
            matches!(&e, GadgetError::Parse { path, .. } if path == "volumes.pc.structure"),
            "{e}"
        );
    }

    #[test]
    fn caps() {
        let big = vec![b'#'; MAX_GADGET_YAML_BYTES + 1];
        assert!(matches!(decode(&big), Err(GadgetError::TooLarge { .. })));
        assert!(matches!(
            decode(&[0xff, 0xfe]),
            Err(GadgetError::Parse { .. })
        ));
        let deep = format!(
            "defaults:\n  system:\n    a: {}{}\n",
            "[".repeat(200),
            "]".repeat(200)
        );
        assert!(matches!(
            decode(deep.as_bytes()),
            Err(GadgetError::Parse { .. })
        ));
    }

    #[test]
    fn yaml_bomb_is_cut_off() {
        let mut doc =
            String::from("defaults:\n  system:\n    a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = format!("*a{}", i - 1);
            doc.push_str(&format!(
                "    a{i}: &a{i} [{}]\n",
                vec![prev; 10].join(", ")
            ));
        }
        assert!(matches!(
            decode(doc.as_bytes()),
            Err(GadgetError::Parse { .. })
        ));
    }

    #[test]
    fn duplicate_keys_are_refused() {
        assert!(decode(b"volumes:\n  pc: {}\n  pc: {}\n").is_err());
        assert!(decode(b"volumes:\n  pc:\n    schema: gpt\n    schema: mbr\n").is_err());
    }
}
