//! Bytes to [`RawGadget`], with every resource the YAML layer may use capped.

use snap_core::bounded_yaml::{YamlFailure, YamlLimits, decode_bounded};

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

const LIMITS: YamlLimits = YamlLimits {
    max_bytes: MAX_GADGET_YAML_BYTES,
    max_depth: MAX_YAML_DEPTH,
    max_nodes: MAX_YAML_NODES,
};

/// Parses the document into the raw model; type errors name the key they happened at. An
/// empty document (or one holding only comments) is an empty gadget.
pub(crate) fn decode(bytes: &[u8]) -> Result<RawGadget, GadgetError> {
    let (raw, _) = decode_bounded::<Option<RawGadget>>(bytes, &LIMITS).map_err(|f| match f {
        YamlFailure::TooLarge { size, max } => GadgetError::TooLarge { size, max },
        YamlFailure::Parse { path, message } => GadgetError::parse(path, one_line(&message)),
    })?;
    Ok(raw.unwrap_or_default())
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
