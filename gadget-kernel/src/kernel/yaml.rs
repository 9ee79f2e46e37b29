//! `meta/kernel.yaml`: the assets a kernel snap offers to the gadget.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::KernelError;

/// One asset: files of the kernel snap the gadget's content may reference as
/// `$kernel:<name>/<path>`; `update: true` means every kernel refresh must redeploy them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct KernelAsset {
    #[serde(default)]
    pub update: bool,
    #[serde(default)]
    pub content: Vec<String>,
}

/// The parsed `meta/kernel.yaml`. Keys we do not know are ignored, as snapd does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct KernelYaml {
    #[serde(default)]
    pub assets: BTreeMap<String, KernelAsset>,
    /// Where modules built on the device go (newer kernels); kept, not interpreted.
    #[serde(default, rename = "dynamic-modules")]
    pub dynamic_modules: Option<String>,
}

impl KernelYaml {
    /// Parses and checks asset names (snapd accepts only letters and digits) and the form of
    /// content paths (relative, without `..`). Whether those paths exist is checked against
    /// the snap's files by [`super::KernelSnap::from_listing`].
    pub fn parse(bytes: &[u8]) -> Result<KernelYaml, KernelError> {
        let parsed: KernelYaml = if bytes.iter().all(u8::is_ascii_whitespace) {
            KernelYaml::default()
        } else {
            serde_saphyr::from_slice(bytes).map_err(|e| KernelError::Yaml(e.to_string()))?
        };
        for (name, asset) in &parsed.assets {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(KernelError::AssetName(name.clone()));
            }
            for path in &asset.content {
                let bad = |reason| KernelError::AssetContent {
                    asset: name.clone(),
                    path: path.clone(),
                    reason,
                };
                if path.is_empty() {
                    return Err(bad("is empty"));
                }
                if path.starts_with('/') {
                    return Err(bad("must be relative to the snap"));
                }
                if path.split('/').any(|c| c == "..") {
                    return Err(bad("must not contain \"..\""));
                }
            }
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_assets_and_ignores_unknown_keys() {
        let y = KernelYaml::parse(
            b"assets:\n  dtbs:\n    update: true\n    content:\n      - dtbs/\ndynamic-modules: $SNAP_DATA\nfuture: 1\n",
        )
        .unwrap();
        assert_eq!(
            y.assets["dtbs"],
            KernelAsset {
                update: true,
                content: vec!["dtbs/".into()]
            }
        );
        assert_eq!(y.dynamic_modules.as_deref(), Some("$SNAP_DATA"));
        assert_eq!(KernelYaml::parse(b"\n").unwrap(), KernelYaml::default());
    }

    #[test]
    fn bad_names_and_paths_say_why() {
        assert_eq!(
            KernelYaml::parse(b"assets:\n  dt-bs:\n    content: [dtbs]\n").unwrap_err(),
            KernelError::AssetName("dt-bs".into())
        );
        let e = KernelYaml::parse(b"assets:\n  dtbs:\n    content: [../etc]\n").unwrap_err();
        assert!(e.to_string().contains("must not contain"), "{e}");
        let e = KernelYaml::parse(b"assets:\n  dtbs:\n    content: [/dtbs]\n").unwrap_err();
        assert!(e.to_string().contains("relative"), "{e}");
        let e = KernelYaml::parse(b"assets: [1, 2]\n").unwrap_err();
        assert!(matches!(e, KernelError::Yaml(_)), "{e}");
    }
}
