//! The seed: the snaps a device installs on first boot, and `seed.yaml` listing them in the
//! order they must be installed (snapd-type, bases with the boot base first, kernel, gadget,
//! apps). The snaps are unasserted, so they are named `<name>_x1.snap` as snapd names local
//! revisions.

use std::path::PathBuf;

use snap_core::SnapType;

/// One snap of the seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedSnap {
    pub name: String,
    pub snap_type: SnapType,
    /// The `.snap` on the host.
    pub path: PathBuf,
    pub size: u64,
}

impl SeedSnap {
    /// The file name in the seed's `snaps/` directory.
    pub fn file_name(&self) -> String {
        format!("{}_x1.snap", self.name)
    }
}

fn rank(s: &SeedSnap, boot_base: &str) -> u8 {
    match s.snap_type {
        SnapType::Snapd => 0,
        SnapType::Os => 1,
        SnapType::Base if s.name == boot_base => 1,
        SnapType::Base => 2,
        SnapType::Kernel => 3,
        SnapType::Gadget => 4,
        SnapType::App => 5,
    }
}

/// The snaps in install order; snaps of the same rank keep the model's order. Two snaps of
/// one name are an error.
pub fn install_order(snaps: Vec<SeedSnap>, boot_base: &str) -> Result<Vec<SeedSnap>, String> {
    for (i, a) in snaps.iter().enumerate() {
        if snaps[..i].iter().any(|b| b.name == a.name) {
            return Err(format!("snap {:?} is listed twice", a.name));
        }
    }
    let mut ordered = snaps;
    ordered.sort_by_key(|s| rank(s, boot_base));
    Ok(ordered)
}

/// `seed.yaml` for the ordered snaps, in snapd's UC16 seed format (which snapd reads without
/// a store: `unasserted` files in `snaps/`).
pub fn seed_yaml(ordered: &[SeedSnap]) -> String {
    let mut out = String::from("snaps:\n");
    for s in ordered {
        out.push_str(&format!(
            "  - name: {}\n    type: {}\n    file: {}\n    unasserted: true\n",
            s.name,
            s.snap_type.as_str(),
            s.file_name()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(name: &str, t: SnapType) -> SeedSnap {
        SeedSnap {
            name: name.into(),
            snap_type: t,
            path: PathBuf::from(format!("/{name}.snap")),
            size: 1,
        }
    }

    #[test]
    fn order_is_snapd_bases_kernel_gadget_apps() {
        let got = install_order(
            vec![
                snap("pc", SnapType::Gadget),
                snap("hello", SnapType::App),
                snap("core24", SnapType::Base),
                snap("pc-kernel", SnapType::Kernel),
                snap("core22", SnapType::Base),
                snap("world", SnapType::App),
                snap("snapd", SnapType::Snapd),
            ],
            "core22",
        )
        .unwrap();
        let names: Vec<_> = got.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "snapd",
                "core22",
                "core24",
                "pc-kernel",
                "pc",
                "hello",
                "world"
            ]
        );
    }

    #[test]
    fn duplicates_are_refused() {
        let e = install_order(
            vec![snap("a", SnapType::App), snap("a", SnapType::App)],
            "b",
        )
        .unwrap_err();
        assert!(e.contains("listed twice"));
    }

    #[test]
    fn seed_yaml_lists_files_in_order() {
        let y = seed_yaml(&[snap("core22", SnapType::Base), snap("pc", SnapType::Gadget)]);
        assert_eq!(
            y,
            "snaps:\n  - name: core22\n    type: base\n    file: core22_x1.snap\n    unasserted: true\n  - name: pc\n    type: gadget\n    file: pc_x1.snap\n    unasserted: true\n"
        );
    }
}
