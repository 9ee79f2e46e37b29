//! Every file of the gadget.yaml corpus is handled as snapd (or ubuntu-image) handles it; the
//! expectations are in `corpus-expectations.txt`.

mod common;

use std::collections::BTreeSet;

use gadget_kernel::{Model, ParseOptions, layout, parse_gadget_yaml_with};

struct Expectation {
    line: usize,
    file: String,
    context: String,
    /// `None`: must parse; `Some(s)`: must fail with a message containing `s`.
    error: Option<String>,
}

fn expectations() -> Vec<Expectation> {
    let table = include_str!("corpus-expectations.txt");
    let mut out = Vec::new();
    for (i, line) in table.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.splitn(3, ' ');
        let (Some(file), Some(context), Some(outcome)) =
            (fields.next(), fields.next(), fields.next())
        else {
            panic!(
                "line {}: expected <file> <context> <outcome>: {line}",
                i + 1
            );
        };
        let error = match outcome {
            "ok" => None,
            other => Some(
                other
                    .strip_prefix("err ")
                    .unwrap_or_else(|| panic!("line {}: outcome must be ok or err <text>", i + 1))
                    .to_owned(),
            ),
        };
        out.push(Expectation {
            line: i + 1,
            file: file.to_owned(),
            context: context.to_owned(),
            error,
        });
    }
    out
}

fn options(context: &str) -> ParseOptions {
    match context {
        "image" => ParseOptions::image_build(),
        "uc16" => ParseOptions::for_model(Model::CORE16),
        "uc20" => ParseOptions::for_model(Model::CORE20),
        "classic" => ParseOptions::for_model(Model::CLASSIC),
        other => panic!("unknown context {other}"),
    }
}

#[test]
fn every_corpus_file_is_handled_as_expected() {
    let dir = common::corpus_dir();
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list the corpus {}: {e}", dir.display()))
        .map(|e| {
            e.expect("corpus entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let table = expectations();

    let mut failures = Vec::new();
    let mut seen = BTreeSet::new();
    for exp in &table {
        seen.insert(exp.file.clone());
        let bytes = common::corpus_file(&exp.file);
        let result = parse_gadget_yaml_with(&bytes, &options(&exp.context));
        match (&exp.error, result) {
            (None, Ok(gadget)) => {
                for vol in gadget.volumes() {
                    if let Err(e) = layout(vol) {
                        failures.push(format!(
                            "line {}: {} lays out with: {e}",
                            exp.line, exp.file
                        ));
                    }
                }
            }
            (None, Err(e)) => failures.push(format!(
                "line {}: {} ({}) should parse, got: {e}",
                exp.line, exp.file, exp.context
            )),
            (Some(want), Ok(_)) => failures.push(format!(
                "line {}: {} ({}) should fail with {want:?}, but parsed",
                exp.line, exp.file, exp.context
            )),
            (Some(want), Err(e)) => {
                if !e.to_string().contains(want.as_str()) {
                    failures.push(format!(
                        "line {}: {} ({}) should fail with {want:?}, got: {e}",
                        exp.line, exp.file, exp.context
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Every file has an image-context row, and the table and the directory agree.
    let with_image: BTreeSet<&str> = table
        .iter()
        .filter(|e| e.context == "image")
        .map(|e| e.file.as_str())
        .collect();
    for f in &on_disk {
        assert!(with_image.contains(f.as_str()), "{f} has no image row");
    }
    assert_eq!(
        seen, on_disk,
        "the table and the corpus directory list different files"
    );
    assert_eq!(seen.len(), on_disk.len());
}
