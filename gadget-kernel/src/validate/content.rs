//! Content paths: filesystem sources must stay inside the gadget (ubuntu-image's rule), and
//! `$kernel:<asset>/<path>` references must be well formed (snapd checks this when it
//! validates gadget content; the syntax part needs no files, so it is done at parse time).

use crate::spec::{SpecStructure, SpecVolume};

const KERNEL_REF_PREFIX: &str = "$kernel:";

/// Splits `$kernel:<asset>/<content>` into asset and content path. The asset name is
/// `[a-zA-Z0-9][a-zA-Z0-9-]*`; the content is a clean relative path (one trailing `/` allowed,
/// meaning "everything under the directory"), without `..`.
pub fn split_kernel_ref(reference: &str) -> Result<(&str, &str), String> {
    let Some(rest) = reference.strip_prefix(KERNEL_REF_PREFIX) else {
        return Err(format!("{reference:?} is not a kernel reference"));
    };
    let Some((asset, content)) = rest.split_once('/') else {
        return Err(format!(
            "invalid asset and content in kernel ref {reference:?}"
        ));
    };
    let non_dir = content.strip_suffix('/').unwrap_or(content);
    if asset.is_empty() || content.is_empty() {
        return Err(format!(
            "missing asset name or content in kernel ref {reference:?}"
        ));
    }
    if snap_core::clean_path(non_dir) != non_dir || content.contains("..") || non_dir == "/" {
        return Err(format!("invalid content in kernel ref {reference:?}"));
    }
    let mut bytes = asset.bytes();
    let valid_asset = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !valid_asset {
        return Err(format!("invalid asset name in kernel ref {reference:?}"));
    }
    Ok((asset, content))
}

/// Checks the filesystem content sources of one structure; the error is the reason, to be
/// prefixed with the structure.
pub(crate) fn validate_sources(s: &SpecStructure, vol: &SpecVolume) -> Result<(), String> {
    if vol.schema == "emmc" || !s.has_filesystem(vol.has_partial("filesystem")) {
        return Ok(());
    }
    for (i, c) in s.content.iter().enumerate() {
        let source = c.source.as_str();
        let reason = if source.starts_with(KERNEL_REF_PREFIX) {
            split_kernel_ref(source)
                .err()
                .map(|e| format!("cannot use kernel reference {source:?}: {e}"))
        } else if source.split('/').any(|part| part == "..") {
            Some(format!(
                r#"filesystem content source {source:?} contains "..", which is disallowed for security purposes"#
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(format!("invalid content #{i}: {reason}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_refs() {
        assert_eq!(
            split_kernel_ref("$kernel:dtbs/dtbs/broadcom/"),
            Ok(("dtbs", "dtbs/broadcom/"))
        );
        assert_eq!(split_kernel_ref("$kernel:ref/foo"), Ok(("ref", "foo")));
        for (bad, msg) in [
            ("$kernel:a", "invalid asset and content in kernel ref"),
            ("$kernel:a/", "missing asset name or content in kernel ref"),
            ("$kernel:/b", "missing asset name or content in kernel ref"),
            ("$kernel:a!invalid/b", "invalid asset name in kernel ref"),
            ("$kernel:a/b/..", "invalid content in kernel ref"),
            ("$kernel:a/b//", "invalid content in kernel ref"),
            ("$kernel:a/b/./", "invalid content in kernel ref"),
            ("$kernel:a/../b", "invalid content in kernel ref"),
        ] {
            assert_eq!(
                split_kernel_ref(bad).unwrap_err(),
                format!("{msg} {bad:?}"),
                "{bad}"
            );
        }
        assert!(split_kernel_ref("no-kernel-ref").is_err());
    }

    fn fs_structure(source: &str) -> SpecStructure {
        SpecStructure {
            filesystem: "vfat".into(),
            content: vec![crate::spec::SpecContent {
                source: source.into(),
                target: "/".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn sources_stay_inside_the_gadget() {
        let vol = SpecVolume {
            schema: "mbr".into(),
            ..Default::default()
        };
        for ok in [
            "boot-assets/",
            "a..b",
            "..foo/bar",
            "/",
            "$kernel:dtbs/dtbs/",
        ] {
            assert!(validate_sources(&fs_structure(ok), &vol).is_ok(), "{ok}");
        }
        for bad in [
            "../install/boot-assets/",
            "a/../../b",
            "..",
            "$kernel:dtbs/../x",
        ] {
            assert!(validate_sources(&fs_structure(bad), &vol).is_err(), "{bad}");
        }
    }
}
