//! Raw document to the working form: the values snapd parses while reading the YAML (sizes,
//! offsets, `offset-write`, editions, kernel arguments, connection ends) are parsed here, and a
//! bad one is reported with the volume and structure it belongs to.

use std::collections::BTreeMap;

use crate::defaults::{Connection, ConnectionEnd, DefaultValue, parse_connection_end};
use crate::edition::parse_edition;
use crate::error::GadgetError;
use crate::kcmdline::{parse_argument_entry, parse_pattern_entry};
use crate::model::{KernelCmdline, RelativeOffset, Update};
use crate::quantity::{MIB, parse_offset, parse_size};
use crate::raw::{
    RawConnection, RawContent, RawGadget, RawKernelCmdline, RawStructure, RawVolume,
    RawVolumeAssignment,
};
use crate::spec::{SpecContent, SpecStructure, SpecVolume};

/// A volume stanza, or `None` for one left empty (`pc:` with nothing under it).
pub(crate) type MaybeVolume = (String, Option<SpecVolume>);

/// Everything in the file, in working form.
pub(crate) struct Converted {
    pub volumes: Vec<MaybeVolume>,
    pub defaults: BTreeMap<String, BTreeMap<String, DefaultValue>>,
    pub connections: Vec<(Option<ConnectionEnd>, Option<ConnectionEnd>)>,
    pub kernel_cmdline: KernelCmdline,
    pub assignments: Vec<RawAssignment>,
}

/// A `volume-assignments` entry before validation.
pub(crate) struct RawAssignment {
    pub name: String,
    pub assignments: Vec<(String, Option<String>)>,
}

pub(crate) fn convert(raw: RawGadget) -> Result<Converted, GadgetError> {
    let kernel_cmdline = convert_cmdline(raw.kernel_cmdline.unwrap_or_default())?;
    let connections = raw
        .connections
        .unwrap_or_default()
        .into_iter()
        .map(|c| convert_connection(c.unwrap_or_default()))
        .collect::<Result<_, _>>()?;
    let defaults = raw
        .defaults
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect();
    let volumes = raw
        .volumes
        .map(|m| m.0)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, vol)| match vol {
            None => Ok((name, None)),
            Some(v) => convert_volume(&name, v).map(|v| (name, Some(v))),
        })
        .collect::<Result<_, _>>()?;
    let assignments = raw
        .volume_assignments
        .unwrap_or_default()
        .into_iter()
        .map(|a| convert_assignment(a.unwrap_or_default()))
        .collect();
    Ok(Converted {
        volumes,
        defaults,
        connections,
        kernel_cmdline,
        assignments,
    })
}

/// A list of strings where a null item is an empty string.
fn strings(list: Option<Vec<Option<String>>>) -> Vec<String> {
    list.unwrap_or_default()
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect()
}

fn convert_cmdline(raw: RawKernelCmdline) -> Result<KernelCmdline, GadgetError> {
    let patterns = |list: Option<Vec<Option<String>>>, key: &str| {
        strings(list)
            .iter()
            .map(|e| parse_pattern_entry(e))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| GadgetError::parse(format!("kernel-cmdline.{key}"), e))
    };
    let allow = patterns(raw.allow, "allow")?;
    let remove = patterns(raw.remove, "remove")?;
    let append = strings(raw.append)
        .iter()
        .map(|e| parse_argument_entry(e))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| GadgetError::parse("kernel-cmdline.append", e))?;
    Ok(KernelCmdline {
        allow,
        append,
        remove,
    })
}

type ConnectionEnds = (Option<ConnectionEnd>, Option<ConnectionEnd>);

fn convert_connection(raw: RawConnection) -> Result<ConnectionEnds, GadgetError> {
    let end = |text: Option<String>, what: &str| -> Result<Option<ConnectionEnd>, GadgetError> {
        text.map(|t| parse_connection_end(&t, what))
            .transpose()
            .map_err(|e| GadgetError::parse("connections", e))
    };
    Ok((end(raw.plug, "plug")?, end(raw.slot, "slot")?))
}

/// Completes connections: the plug is required, the slot defaults to `system:<plug name>`.
pub(crate) fn finish_connections(
    ends: Vec<ConnectionEnds>,
) -> Result<Vec<Connection>, GadgetError> {
    ends.into_iter()
        .map(|(plug, slot)| {
            let plug = plug.ok_or_else(|| {
                GadgetError::Gadget("gadget connection plug cannot be empty".to_owned())
            })?;
            let slot = slot.unwrap_or_else(|| ConnectionEnd {
                snap_id: "system".to_owned(),
                name: plug.name.clone(),
            });
            Ok(Connection { plug, slot })
        })
        .collect()
}

fn convert_assignment(raw: RawVolumeAssignment) -> RawAssignment {
    RawAssignment {
        name: raw.assignment_name.unwrap_or_default(),
        assignments: raw
            .assignment
            .map(|m| m.0)
            .unwrap_or_default()
            .into_iter()
            .map(|(vol, dev)| (vol, dev.and_then(|d| d.device)))
            .collect(),
    }
}

fn convert_volume(name: &str, raw: RawVolume) -> Result<SpecVolume, GadgetError> {
    let structures = raw
        .structure
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let s = s.unwrap_or_default();
            let what = crate::model::describe_structure(i, s.name.as_deref());
            convert_structure(i, s)
                .map_err(|e| GadgetError::volume(name, format!("invalid structure {what}: {e}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(SpecVolume {
        name: name.to_owned(),
        partial: strings(raw.partial),
        schema: raw.schema.unwrap_or_default(),
        bootloader: raw.bootloader.unwrap_or_default(),
        id: raw.id.unwrap_or_default(),
        structures,
    })
}

fn convert_structure(index: usize, raw: RawStructure) -> Result<SpecStructure, String> {
    let offset = raw.offset.as_deref().map(parse_offset).transpose()?;
    let offset_write = raw
        .offset_write
        .as_deref()
        .map(parse_relative_offset)
        .transpose()?;
    let min_size = raw.min_size.as_deref().map(parse_size).transpose()?;
    let size = raw.size.as_deref().map(parse_size).transpose()?;
    let content = raw
        .content
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            convert_content(c.unwrap_or_default()).map_err(|e| format!("invalid content #{i}: {e}"))
        })
        .collect::<Result<_, _>>()?;
    let update = raw.update.unwrap_or_default();
    let edition = update.edition.as_deref().map(parse_edition).transpose()?;
    Ok(SpecStructure {
        yaml_index: index,
        name: raw.name.unwrap_or_default(),
        label: raw.filesystem_label.unwrap_or_default(),
        offset_explicit: offset.is_some(),
        offset,
        offset_write,
        min_size: min_size.unwrap_or(0),
        size: size.unwrap_or(0),
        type_: raw.type_.unwrap_or_default(),
        role: raw.role.unwrap_or_default(),
        id: raw.id.unwrap_or_default(),
        filesystem: raw.filesystem.unwrap_or_default(),
        content,
        update: Update {
            edition: edition.unwrap_or(0),
            preserve: strings(update.preserve),
        },
    })
}

fn convert_content(raw: RawContent) -> Result<SpecContent, String> {
    Ok(SpecContent {
        source: raw.source.unwrap_or_default(),
        target: raw.target.unwrap_or_default(),
        image: raw.image.unwrap_or_default(),
        offset: raw.offset.as_deref().map(parse_offset).transpose()?,
        size: raw
            .size
            .as_deref()
            .map(parse_size)
            .transpose()?
            .unwrap_or(0),
        unpack: raw.unpack.unwrap_or(false),
    })
}

/// Parses `offset-write`: `[<structure name>+]<offset>`, the offset at most 4 GiB.
pub(crate) fn parse_relative_offset(text: &str) -> Result<RelativeOffset, String> {
    let inner = || -> Result<RelativeOffset, String> {
        let (relative_to, spec) = match text.split_once('+') {
            Some(("", _)) => return Err("missing volume name".to_owned()),
            Some((name, spec)) => (Some(name.to_owned()), spec),
            None => (None, text),
        };
        if spec.is_empty() {
            return Err("missing offset".to_owned());
        }
        let offset = parse_offset(spec)?;
        if offset > 4096 * MIB {
            return Err("offset above 4G limit".to_owned());
        }
        Ok(RelativeOffset {
            relative_to,
            offset,
        })
    };
    inner().map_err(|e| format!("cannot parse relative offset {text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_offsets() {
        let ok = |s: &str| parse_relative_offset(s).unwrap();
        assert_eq!(ok("1234").offset, 1234);
        assert_eq!(ok("1234").relative_to, None);
        assert_eq!(ok("4096M").offset, 4096 * MIB);
        assert_eq!(ok("mbr+0").relative_to.as_deref(), Some("mbr"));
        assert_eq!(ok("foo+1G").offset, 1024 * MIB);
        let err = |s: &str| parse_relative_offset(s).unwrap_err();
        assert_eq!(
            err("foo+4097M"),
            r#"cannot parse relative offset "foo+4097M": offset above 4G limit"#
        );
        assert_eq!(
            err("foo+"),
            r#"cannot parse relative offset "foo+": missing offset"#
        );
        assert_eq!(
            err("foo+++12"),
            r#"cannot parse relative offset "foo+++12": cannot parse offset "++12": no numerical prefix"#
        );
        assert_eq!(
            err("+12"),
            r#"cannot parse relative offset "+12": missing volume name"#
        );
        assert_eq!(
            err("-123"),
            r#"cannot parse relative offset "-123": cannot parse offset "-123": offset cannot be negative"#
        );
        assert_eq!(
            err("123a"),
            r#"cannot parse relative offset "123a": cannot parse offset "123a": invalid suffix "a""#
        );
    }
}
