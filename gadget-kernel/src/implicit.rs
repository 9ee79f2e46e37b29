//! Values gadget.yaml leaves implicit: the schema, `min-size`, roles and labels implied by the
//! model, the offsets of structures that do not give one, and the order by offset.

use std::collections::HashSet;

use crate::options::Ruleset;
use crate::quantity::MIB;
use crate::spec::{SpecStructure, SpecVolume};

/// Where a structure without an offset starts at the earliest, unless it is the MBR.
pub const NON_MBR_START_OFFSET: u64 = MIB;

/// Filesystem labels seen so far in a volume; vfat labels are compared without case.
#[derive(Default)]
struct Labels {
    /// Labels of other filesystems, as written and lower-cased.
    exact: HashSet<String>,
    exact_folded: HashSet<String>,
    /// vfat labels, lower-cased.
    vfat_folded: HashSet<String>,
}

impl Labels {
    /// Records `label`; false when it clashes with one already recorded.
    fn insert(&mut self, label: &str, linux_fs: &str) -> bool {
        let folded = label.to_lowercase();
        if self.vfat_folded.contains(&folded) {
            return false;
        }
        if linux_fs == "vfat" {
            if self.exact_folded.contains(&folded) {
                return false;
            }
            self.vfat_folded.insert(folded);
        } else {
            if !self.exact.insert(label.to_owned()) {
                return false;
            }
            self.exact_folded.insert(folded);
        }
        true
    }
}

/// Fills in implicit values of one volume; the error is the reason, to be prefixed with the
/// volume. Structures are left in file order; see [`order_by_offset`].
pub(crate) fn set_implicit(vol: &mut SpecVolume, ruleset: Ruleset) -> Result<(), String> {
    if vol.has_partial("schema") {
        if !vol.schema.is_empty() {
            return Err(format!(
                "partial schema is set but schema is still specified as {:?}",
                vol.schema
            ));
        }
    } else if vol.schema.is_empty() {
        vol.schema = "gpt".to_owned();
    }

    let mut labels = Labels::default();
    for s in &vol.structures {
        if !s.label.is_empty() && !labels.insert(&s.label, s.linux_filesystem()) {
            return Err(format!("filesystem label {:?} is not unique", s.label));
        }
    }

    let partial_size = vol.has_partial("size");
    let is_emmc = vol.schema == "emmc";
    let mut previous_end = Some(0u64);
    for s in &mut vol.structures {
        if s.min_size == 0 {
            s.min_size = s.size;
        }
        set_implicit_role_and_label(s, ruleset, &mut labels)?;
        if s.role == "system-boot-state" && s.offset.is_none() {
            return Err(format!(
                "invalid structure {}: invalid role {:?}: system-boot-state role requires explicit offset",
                s.describe(),
                s.role
            ));
        }
        if is_emmc {
            // Hardware partitions have no offsets; each starts at 0 of its own device. (snapd
            // overwrites an explicit offset here; keeping it lets validation refuse it.)
            s.offset.get_or_insert(0);
        } else {
            previous_end = set_offset(s, previous_end, partial_size);
        }
    }
    Ok(())
}

fn set_implicit_role_and_label(
    s: &mut SpecStructure,
    ruleset: Ruleset,
    labels: &mut Labels,
) -> Result<(), String> {
    if s.role.is_empty() && s.type_ == "mbr" {
        s.role = "mbr".to_owned();
        return Ok(());
    }
    if ruleset == Ruleset::Uc16 && s.role.is_empty() && s.label == "system-boot" {
        // Legacy: UC16/18 gadgets (like pc) only gave the label.
        s.role = "system-boot".to_owned();
        return Ok(());
    }
    if !s.label.is_empty() {
        return Ok(());
    }
    let implicit = match (ruleset, s.role.as_str()) {
        (Ruleset::Uc16, "system-data") => "writable",
        (Ruleset::Uc20, "system-data") => "ubuntu-data",
        (Ruleset::Uc20, "system-seed" | "system-seed-null") => "ubuntu-seed",
        (Ruleset::Uc20, "system-boot") => "ubuntu-boot",
        (Ruleset::Uc20, "system-save") => "ubuntu-save",
        _ => return Ok(()),
    };
    if !labels.insert(implicit, s.linux_filesystem()) {
        return Err(format!(
            "filesystem label {implicit:?} is implied by {} role but was already set elsewhere",
            s.role
        ));
    }
    s.label = implicit.to_owned();
    Ok(())
}

/// Gives `s` an offset if it has none and the previous structure's end is known (never
/// before 1 MiB unless it is the MBR); returns where the next structure would start, if that
/// is known (it is not after a structure whose size is a range).
fn set_offset(s: &mut SpecStructure, previous_end: Option<u64>, partial_size: bool) -> Option<u64> {
    if s.offset.is_none()
        && let Some(end) = previous_end
    {
        let start = if s.role != "mbr" && end < NON_MBR_START_OFFSET {
            NON_MBR_START_OFFSET
        } else {
            end
        };
        s.offset = Some(start);
    }
    match s.offset {
        // An end past u64::MAX is unknown; the overlap check reports such a structure.
        Some(o) if s.is_fixed_size(partial_size) => o.checked_add(s.size),
        _ => None,
    }
}

/// Sorts structures by offset. A structure without an offset stays right after the one
/// before it in the file, so runs that start with a known offset move as a block; the sort is
/// stable.
pub(crate) fn order_by_offset(structures: Vec<SpecStructure>) -> Vec<SpecStructure> {
    let mut blocks: Vec<Vec<SpecStructure>> = Vec::new();
    for s in structures {
        match blocks.last_mut() {
            Some(block) if s.offset.is_none() => block.push(s),
            _ => blocks.push(vec![s]),
        }
    }
    blocks.sort_by_key(|b| b.first().and_then(|s| s.offset).unwrap_or(0));
    blocks.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(name: &str, offset: Option<u64>) -> SpecStructure {
        SpecStructure {
            name: name.into(),
            offset,
            ..Default::default()
        }
    }

    fn names(v: &[SpecStructure]) -> Vec<&str> {
        v.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn ordering_keeps_runs_together() {
        let sorted = order_by_offset(vec![
            st("300", Some(300)),
            st("nil1", None),
            st("1", Some(1)),
            st("100", Some(100)),
            st("nil2", None),
            st("nil3", None),
        ]);
        assert_eq!(names(&sorted), ["1", "100", "nil2", "nil3", "300", "nil1"]);
        let sorted = order_by_offset(vec![
            st("100", Some(100)),
            st("0", Some(0)),
            st("nil", None),
            st("50", Some(50)),
        ]);
        assert_eq!(names(&sorted), ["0", "nil", "50", "100"]);
        assert!(order_by_offset(vec![]).is_empty());
    }

    fn sized(name: &str, size: u64, min: u64, role: &str) -> SpecStructure {
        SpecStructure {
            name: name.into(),
            size,
            min_size: min,
            role: role.into(),
            ..Default::default()
        }
    }

    #[test]
    fn implicit_offsets() {
        let mut vol = SpecVolume {
            name: "v".into(),
            structures: vec![
                sized("mbr", 440, 0, "mbr"),
                sized("a", MIB, 0, ""),
                sized("b", 2 * MIB, MIB, ""),
                sized("c", MIB, 0, ""),
            ],
            ..Default::default()
        };
        set_implicit(&mut vol, Ruleset::Unknown).unwrap();
        let offs: Vec<_> = vol.structures.iter().map(|s| s.offset).collect();
        // The MBR starts at 0, the next is pushed to 1 MiB, the one after the range is unknown.
        assert_eq!(offs, [Some(0), Some(MIB), Some(2 * MIB), None]);
        assert_eq!(vol.schema, "gpt");
        assert_eq!(vol.structures[1].min_size, MIB);
    }

    #[test]
    fn labels_clash_without_case_on_vfat() {
        let mut l = Labels::default();
        assert!(l.insert("foo", "ext4"));
        assert!(!l.insert("FOO", "vfat"));
        let mut l = Labels::default();
        assert!(l.insert("FOO", "vfat"));
        assert!(!l.insert("foo", "ext4"));
        let mut l = Labels::default();
        assert!(l.insert("foo", "ext4"));
        assert!(l.insert("FOO", "ext4"));
    }

    #[test]
    fn implicit_labels_by_ruleset() {
        let label = |ruleset, role: &str| {
            let mut s = sized("x", MIB, 0, role);
            set_implicit_role_and_label(&mut s, ruleset, &mut Labels::default()).unwrap();
            s.label
        };
        assert_eq!(label(Ruleset::Uc16, "system-data"), "writable");
        assert_eq!(label(Ruleset::Uc20, "system-data"), "ubuntu-data");
        assert_eq!(label(Ruleset::Uc20, "system-seed-null"), "ubuntu-seed");
        assert_eq!(label(Ruleset::Uc20, "system-boot"), "ubuntu-boot");
        assert_eq!(label(Ruleset::Uc20, "system-save"), "ubuntu-save");
        assert_eq!(label(Ruleset::Unknown, "system-data"), "");
        assert_eq!(label(Ruleset::Uc16, "system-boot"), "");
    }

    #[test]
    fn legacy_system_boot_label_implies_role_on_uc16_only() {
        for (ruleset, role) in [
            (Ruleset::Uc16, "system-boot"),
            (Ruleset::Unknown, ""),
            (Ruleset::Uc20, ""),
        ] {
            let mut s = sized("x", MIB, 0, "");
            s.label = "system-boot".into();
            set_implicit_role_and_label(&mut s, ruleset, &mut Labels::default()).unwrap();
            assert_eq!(s.role, role);
        }
    }
}
