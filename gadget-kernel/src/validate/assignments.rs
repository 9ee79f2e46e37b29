//! `volume-assignments`: each variant maps defined volumes to `/dev/disk/by-path` or
//! `/dev/disk/by-id` devices, and no two variants are identical.

use std::collections::HashMap;

use crate::convert::RawAssignment;
use crate::model::VolumeAssignment;

pub(crate) fn validate_assignments(
    raw: Vec<RawAssignment>,
    volume_names: &[&str],
) -> Result<Vec<VolumeAssignment>, String> {
    let mut out: Vec<VolumeAssignment> = Vec::new();
    // The sorted (volume, device) pairs of each variant so far, and its name.
    let mut seen: HashMap<Vec<(String, String)>, String> = HashMap::new();
    for a in raw {
        let variant = |e: String| format!("volume-assignment variant {:?}: {e}", a.name);
        if a.assignments.is_empty() {
            return Err(variant("no assignments specified".to_owned()));
        }
        let mut pairs = Vec::new();
        for (volume, device) in &a.assignments {
            if !volume_names.contains(&volume.as_str()) {
                return Err(variant(format!(
                    "volume {volume:?} is mentioned in assignment but has not been defined"
                )));
            }
            let device = device.clone().unwrap_or_default();
            if !(device.starts_with("/dev/disk/by-path") || device.starts_with("/dev/disk/by-id")) {
                return Err(variant(format!(
                    "{volume:?}: unsupported device path {device:?}, for now only paths under /dev/disk/{{by-path,by-id}} are valid"
                )));
            }
            pairs.push((volume.clone(), device));
        }
        pairs.sort();
        if let Some(same) = seen.get(&pairs) {
            return Err(variant(format!("identical to {same:?}")));
        }
        seen.insert(pairs, a.name.clone());
        out.push(VolumeAssignment {
            name: a.name.clone(),
            assignments: a
                .assignments
                .into_iter()
                .map(|(v, d)| (v, d.unwrap_or_default()))
                .collect(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ra(name: &str, pairs: &[(&str, &str)]) -> RawAssignment {
        RawAssignment {
            name: name.into(),
            assignments: pairs
                .iter()
                .map(|(v, d)| ((*v).to_owned(), Some((*d).to_owned())))
                .collect(),
        }
    }

    #[test]
    fn assignments() {
        let vols = ["lun-0", "lun-1"];
        let ok = validate_assignments(
            vec![
                ra("foo-device", &[("lun-0", "/dev/disk/by-path/pci-42:0")]),
                ra("bar-device", &[("lun-0", "/dev/disk/by-id/x")]),
            ],
            &vols,
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(
            validate_assignments(vec![ra("baz-device", &[])], &vols).unwrap_err(),
            r#"volume-assignment variant "baz-device": no assignments specified"#
        );
        assert_eq!(
            validate_assignments(
                vec![ra("baz-device", &[("lun-2", "/dev/disk/by-id/x")])],
                &vols
            )
            .unwrap_err(),
            r#"volume-assignment variant "baz-device": volume "lun-2" is mentioned in assignment but has not been defined"#
        );
        assert_eq!(
            validate_assignments(vec![ra("baz-device", &[("lun-1", "/dev/by-sda")])], &vols)
                .unwrap_err(),
            r#"volume-assignment variant "baz-device": "lun-1": unsupported device path "/dev/by-sda", for now only paths under /dev/disk/{by-path,by-id} are valid"#
        );
        assert_eq!(
            validate_assignments(
                vec![
                    ra("foo-device", &[("lun-0", "/dev/disk/by-id/x")]),
                    ra("bar-device", &[("lun-0", "/dev/disk/by-id/x")]),
                ],
                &vols
            )
            .unwrap_err(),
            r#"volume-assignment variant "bar-device": identical to "foo-device""#
        );
    }
}
