//! Bytes to [`RawSnap`], with every resource the YAML layer may use capped.

use crate::bounded_yaml::{YamlFailure, YamlLimits, decode_bounded};
use crate::error::SnapYamlError;
use crate::raw::{RawEpoch, RawSnap};

/// Largest snap.yaml accepted. Real ones are a few KiB; the largest in snapd's own test tree is
/// under 4 KiB. The cap bounds parse time and memory for whatever a hostile file holds.
pub const MAX_SNAP_YAML_BYTES: usize = 1024 * 1024;

/// Nesting deeper than this is refused: snap.yaml's own structure is at most ~6 levels, the
/// rest is room for interface attributes.
pub const MAX_YAML_DEPTH: usize = 48;

/// Nodes (scalars, lists, maps), counting alias expansions, so a "billion laughs" file is cut
/// off long before it costs memory.
pub const MAX_YAML_NODES: usize = 100_000;

const LIMITS: YamlLimits = YamlLimits {
    max_bytes: MAX_SNAP_YAML_BYTES,
    max_depth: MAX_YAML_DEPTH,
    max_nodes: MAX_YAML_NODES,
};

/// Parses the document into the raw model; type errors name the field they happened at.
pub(crate) fn decode(bytes: &[u8]) -> Result<RawSnap, SnapYamlError> {
    let (mut raw, text) = decode_bounded::<RawSnap>(bytes, &LIMITS).map_err(|f| match f {
        YamlFailure::TooLarge { size, max } => SnapYamlError::TooLarge { size, max },
        YamlFailure::Parse { path, message } => SnapYamlError::parse(path, message),
    })?;
    restore_epoch_spelling(&mut raw, text);
    Ok(raw)
}

/// snapd reads a short epoch as text, so `epoch: 01` is refused for its zero padding; the YAML
/// layer has already turned such a plain scalar into a number, so take its spelling back from
/// the source.
fn restore_epoch_spelling(raw: &mut RawSnap, text: &str) {
    let Some(epoch) = raw.epoch.as_mut() else {
        return;
    };
    let RawEpoch::Short {
        text: spelled,
        typed: true,
    } = &mut epoch.value
    else {
        return;
    };
    let span = epoch.referenced.span();
    let (Some(start), Some(len)) = (span.byte_offset(), span.byte_len()) else {
        return;
    };
    let source = usize::try_from(start)
        .ok()
        .zip(usize::try_from(len).ok())
        .and_then(|(s, l)| text.get(s..s.checked_add(l)?));
    if let Some(source) = source
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.starts_with('*'))
    {
        *spelled = source.to_owned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> SnapYamlError {
        decode(s.as_bytes()).unwrap_err()
    }

    #[test]
    fn scalars_stay_verbatim_in_string_fields() {
        let raw = decode(b"name: x\nversion: 1.10\nsummary: yes\n").unwrap();
        assert_eq!(raw.version.as_deref(), Some("1.10"));
        assert_eq!(raw.summary.as_deref(), Some("yes"));
    }

    #[test]
    fn epoch_numbers_keep_their_spelling() {
        let short = |doc: &str| match decode(doc.as_bytes()).unwrap().epoch.unwrap().value {
            RawEpoch::Short { text, .. } => text,
            other => panic!("{other:?}"),
        };
        assert_eq!(short("epoch: 01\n"), "01");
        assert_eq!(short("epoch: 1e3 # comment\n"), "1e3");
        assert_eq!(short("epoch: 7\n"), "7");
        assert_eq!(short("epoch: '2*'\n"), "2*");
        assert_eq!(short("x: &e 010\nepoch: *e\n"), "8");
    }

    #[test]
    fn octal_socket_modes() {
        let raw =
            decode(b"apps:\n  a:\n    sockets:\n      s:\n        socket-mode: 0660\n").unwrap();
        let apps = raw.apps.unwrap();
        let app = apps.0[0].1.as_ref().unwrap();
        let sock = app.sockets.as_ref().unwrap().0[0].1.as_ref().unwrap();
        assert_eq!(sock.socket_mode, Some(0o660));
    }

    #[test]
    fn type_errors_name_the_field() {
        let e = err("name: x\napps:\n  foo:\n    command: [a]\n");
        assert_eq!(e.path(), "apps.foo.command");
        assert!(
            e.to_string()
                .starts_with("cannot parse snap.yaml: apps.foo.command: ")
        );
        let e = err("apps:\n  foo:\n    command-chain: [a, {b: c}]\n");
        assert_eq!(e.path(), "apps.foo.command-chain[1]");
    }

    #[test]
    fn duplicate_keys_are_refused() {
        assert!(err("name: a\nname: b\n").reason().contains("duplicate"));
        assert!(
            err("apps:\n  a: {}\n  a: {}\n")
                .reason()
                .contains("duplicate")
        );
    }

    #[test]
    fn not_yaml_or_not_a_mapping() {
        assert!(matches!(err("hello"), SnapYamlError::Parse { .. }));
        assert!(matches!(err("[1, 2"), SnapYamlError::Parse { .. }));
        assert!(matches!(
            decode(&[0xff, 0xfe, 0x00]).unwrap_err(),
            SnapYamlError::Parse { .. }
        ));
    }

    #[test]
    fn empty_document_is_all_defaults() {
        let raw = decode(b"").unwrap();
        assert!(raw.name.is_none());
        let raw = decode(b"# only a comment\n").unwrap();
        assert!(raw.apps.is_none());
    }

    #[test]
    fn size_cap() {
        let big = vec![b' '; MAX_SNAP_YAML_BYTES + 1];
        assert!(matches!(
            decode(&big).unwrap_err(),
            SnapYamlError::TooLarge { .. }
        ));
    }

    #[test]
    fn billion_laughs_is_cut_off() {
        let mut doc = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
        for (prev, cur) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            let refs = vec![format!("*{prev}"); 10].join(",");
            doc.push_str(&format!("{cur}: &{cur} [{refs}]\n"));
        }
        doc.push_str("plugs: {p: *i}\n");
        let start = std::time::Instant::now();
        assert!(matches!(err(&doc), SnapYamlError::Parse { .. }));
        assert!(start.elapsed().as_secs() < 5);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let doc = format!("plugs: {{p: {}{}}}\n", "[".repeat(500), "]".repeat(500));
        assert!(matches!(err(&doc), SnapYamlError::Parse { .. }));
        let mut block = String::from("plugs:\n  p:\n");
        for i in 0..200 {
            block.push_str(&format!("{}k:\n", " ".repeat(4 + 2 * i)));
        }
        assert!(matches!(err(&block), SnapYamlError::Parse { .. }));
    }
}
