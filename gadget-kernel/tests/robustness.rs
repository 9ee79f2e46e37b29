//! Whatever the input, parsing and laying out return a value or an error, never panic; and
//! what parses lays out without overlaps.

mod common;

use gadget_kernel::{NON_MBR_START_OFFSET, Role, layout, parse_gadget_yaml};
use proptest::prelude::*;

fn pick(options: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    proptest::sample::select(options)
}

/// Mostly one of `usual`, sometimes one of `odd` (values that are often refused).
fn mostly(
    usual: &'static [&'static str],
    odd: &'static [&'static str],
) -> impl Strategy<Value = &'static str> {
    prop_oneof![8 => pick(usual), 1 => pick(odd)]
}

/// One structure, as YAML lines indented under `structure:`, with values drawn from the
/// interesting ones (valid and not).
fn structure() -> impl Strategy<Value = String> {
    (
        (
            mostly(&["", "a", "b", "c", "d", "e"], &["mbr", "BIOS Boot", "a"]),
            mostly(
                &["bare", "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "83,0FC63DAF-8483-4772-8E79-3D69D8477DE4"],
                &["mbr", "83", "0C", "3DE21764-95BD-54BD-A5C3-4ABE786F38A8", "zz", ""],
            ),
            mostly(
                &[""],
                &["mbr", "system-seed", "system-boot", "system-data", "system-save", "system-boot-state", "bogus"],
            ),
            mostly(&["4096", "1M", "2M", "1G", "440"], &["447", "0", "1X", "9223372036854775807", ""]),
        ),
        (
            mostly(&["", "", "0", "1M", "2M", "3G", "200"], &["9223372036854775807", "-1"]),
            mostly(&["", "", "512", "1M"], &["16M"]),
            mostly(&["", "vfat", "ext4", "none"], &["btrfs"]),
            mostly(&["", "", "", "100"], &["mbr+92", "a+1", "mbr+436"]),
            mostly(
                &[
                    "",
                    "        content:\n          - image: x.img\n",
                    "        content:\n          - image: x.img\n            offset: 10\n            size: 20\n",
                ],
                &[
                    "        content:\n          - source: a\n            target: b\n",
                    "        content:\n          - image: x.img\n            offset: 10\n            size: 2000000000\n",
                ],
            ),
        ),
    )
        .prop_map(|((name, ty, role, size), (offset, min, fs, ow, content))| {
            let mut s = String::from("      -");
            let mut field = |k: &str, v: &str| {
                if !v.is_empty() {
                    s.push_str(&format!(" {k}: '{v}'\n       "));
                }
            };
            field("name", name);
            field("type", ty);
            field("role", role);
            field("size", size);
            field("offset", offset);
            field("min-size", min);
            field("filesystem", fs);
            field("offset-write", ow);
            if s == "      -" {
                s.push_str(" {}\n");
            } else {
                s.truncate(s.trim_end().len());
                s.push('\n');
            }
            s.push_str(content);
            s
        })
}

fn gadget() -> impl Strategy<Value = String> {
    (
        mostly(&["", "gpt"], &["mbr", "emmc", "bogus"]),
        mostly(&["grub", "u-boot", "piboot"], &["", "silo"]),
        proptest::collection::vec(structure(), 0..6),
    )
        .prop_map(|(schema, bootloader, structures)| {
            let mut y = String::from("volumes:\n  pc:\n");
            if !schema.is_empty() {
                y.push_str(&format!("    schema: {schema}\n"));
            }
            if !bootloader.is_empty() {
                y.push_str(&format!("    bootloader: {bootloader}\n"));
            }
            y.push_str("    structure:\n");
            for s in structures {
                y.push_str(&s);
            }
            y
        })
}

fn check_layout_invariants(yaml: &[u8]) {
    let Ok(g) = parse_gadget_yaml(yaml) else {
        return;
    };
    for v in g.volumes() {
        // Like snapd, raw content is checked against its structure only when laid out.
        let l = match layout(v) {
            Ok(l) => l,
            Err(e) if e.to_string().contains("content \"") => continue,
            Err(e) => panic!("parsed but does not lay out: {e}"),
        };
        if v.schema == Some(gadget_kernel::Schema::Emmc) {
            continue;
        }
        let mut previous_end = 0;
        for s in &l.structures {
            assert!(s.start >= previous_end, "overlap at {}", s.describe());
            assert!(s.min_size <= s.size);
            let src = v.structure_by_yaml_index(s.yaml_index).unwrap();
            if !src.offset_explicit && s.role != Some(Role::Mbr) {
                assert!(s.start >= NON_MBR_START_OFFSET, "{}", s.describe());
            }
            previous_end = s.end;
        }
        assert!(l.min_size <= l.size);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_gadget_yaml(&bytes);
    }

    #[test]
    fn yaml_like_text_never_panics(text in "[a-z:\\- \\n\\[\\]{}&*!|>'\"#0-9MG,+.~]{0,300}") {
        check_layout_invariants(text.as_bytes());
    }

    #[test]
    fn generated_gadgets_lay_out_without_overlaps(yaml in gadget()) {
        check_layout_invariants(yaml.as_bytes());
    }

    #[test]
    fn mutated_real_gadgets_never_panic(
        cuts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)
    ) {
        let mut bytes = common::corpus_file("pc-gadget_gadget.yaml");
        for (at, b) in cuts {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        check_layout_invariants(&bytes);
    }
}

#[test]
fn generated_gadgets_do_sometimes_parse() {
    // Guard against a generator that only ever produces errors.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = gadget();
    let parsed = (0..2000)
        .filter(|_| {
            let yaml = strategy.new_tree(&mut runner).unwrap().current();
            parse_gadget_yaml(yaml.as_bytes()).is_ok_and(|g| !g.volumes()[0].structures.is_empty())
        })
        .count();
    assert!(
        parsed > 50,
        "only {parsed} of 2000 generated gadgets parsed"
    );
}

#[test]
fn hostile_documents_are_refused() {
    let huge = vec![b' '; gadget_kernel::MAX_GADGET_YAML_BYTES + 1];
    assert!(matches!(
        parse_gadget_yaml(&huge),
        Err(gadget_kernel::GadgetError::TooLarge { .. })
    ));
    let deep = format!(
        "volumes:\n  pc:\n    x: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(parse_gadget_yaml(deep.as_bytes()).is_err());
    let mut bomb =
        String::from("defaults:\n  system:\n    a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..16 {
        bomb.push_str(&format!(
            "    a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 10].join(", ")
        ));
    }
    bomb.push_str("volumes:\n  pc:\n    bootloader: grub\n");
    let err = parse_gadget_yaml(bomb.as_bytes()).unwrap_err().to_string();
    assert!(err.starts_with("cannot parse gadget metadata"), "{err}");
    // Many volumes and structures stay cheap.
    let mut many = String::from("volumes:\n");
    for i in 0..3000 {
        many.push_str(&format!(
            "  v{i}:\n    structure:\n      - type: bare\n        size: 1\n"
        ));
    }
    assert!(parse_gadget_yaml(many.as_bytes()).is_err());
    // A byte-order mark is fine; a second document is refused.
    assert!(parse_gadget_yaml(b"\xef\xbb\xbfvolumes:\n  pc:\n    bootloader: grub\n").is_ok());
    // A long volume stays linear: 5000 structures with vfat labels.
    let mut long = String::from("volumes:\n  pc:\n    bootloader: grub\n    structure:\n");
    for i in 0..5000 {
        long.push_str(&format!(
            "      - name: s{i}\n        type: 0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        filesystem: vfat\n        filesystem-label: L{i}\n        size: 1M\n"
        ));
    }
    let started = std::time::Instant::now();
    let g = parse_gadget_yaml(long.as_bytes()).expect("parses");
    let l = layout(&g.volumes()[0]).expect("lays out");
    assert_eq!(
        l.structures.last().and_then(|s| s.partition_number),
        Some(5000)
    );
    assert!(
        started.elapsed().as_secs() < 20,
        "took {:?}",
        started.elapsed()
    );
    assert!(
        parse_gadget_yaml(b"volumes:\n  pc:\n    bootloader: grub\n---\nvolumes: {}\n").is_err()
    );
}
