//! The checked working form to the typed public model. Every value was validated, so a value
//! that does not convert is reported as an internal error rather than assumed away.

use crate::error::GadgetError;
use crate::model::{
    Bootloader, Content, Filesystem, GadgetYaml, PartialProperty, Role, Schema, Volume,
    VolumeStructure,
};
use crate::spec::{SpecContent, SpecStructure, SpecVolume};
use crate::structure_type::{StructureType, TypeSyntax, classify};
use crate::validate::Checked;

pub(crate) fn finalize(checked: Checked) -> Result<GadgetYaml, GadgetError> {
    let volumes = checked
        .volumes
        .into_iter()
        .map(finalize_volume)
        .collect::<Result<_, _>>()?;
    Ok(GadgetYaml {
        volumes,
        defaults: checked.defaults,
        connections: checked.connections,
        kernel_cmdline: checked.kernel_cmdline,
        volume_assignments: checked.assignments,
        warnings: checked.warnings,
    })
}

fn internal(volume: &str, what: &str, value: &str) -> GadgetError {
    GadgetError::volume(
        volume,
        format!("internal error: unexpected {what} {value:?}"),
    )
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn finalize_volume(v: SpecVolume) -> Result<Volume, GadgetError> {
    let schema = if v.schema.is_empty() {
        None
    } else {
        Some(Schema::parse(&v.schema).ok_or_else(|| internal(&v.name, "schema", &v.schema))?)
    };
    let bootloader = if v.bootloader.is_empty() {
        None
    } else {
        Some(
            Bootloader::parse(&v.bootloader)
                .ok_or_else(|| internal(&v.name, "bootloader", &v.bootloader))?,
        )
    };
    let partial = v
        .partial
        .iter()
        .map(|p| PartialProperty::parse(p).ok_or_else(|| internal(&v.name, "partial", p)))
        .collect::<Result<Vec<_>, _>>()?;
    let partial_fs = partial.contains(&PartialProperty::Filesystem);
    let emmc = schema == Some(Schema::Emmc);
    let structures = v
        .structures
        .into_iter()
        .map(|s| finalize_structure(&v.name, s, partial_fs, emmc))
        .collect::<Result<_, _>>()?;
    Ok(Volume {
        name: v.name,
        schema,
        bootloader,
        id: non_empty(v.id),
        partial,
        structures,
    })
}

fn finalize_structure(
    volume: &str,
    s: SpecStructure,
    partial_fs: bool,
    emmc: bool,
) -> Result<VolumeStructure, GadgetError> {
    let has_filesystem = !emmc && s.has_filesystem(partial_fs);
    let structure_type = if s.type_.is_empty() {
        StructureType::Unset
    } else {
        match classify(&s.type_).map_err(|_| internal(volume, "type", &s.type_))? {
            TypeSyntax::Bare => StructureType::Bare,
            TypeSyntax::LegacyMbr => StructureType::LegacyMbr,
            TypeSyntax::Mbr(code) => StructureType::Mbr(code),
            TypeSyntax::Gpt(guid) => StructureType::Gpt(guid),
            TypeSyntax::Hybrid(mbr, gpt) => StructureType::Hybrid { mbr, gpt },
        }
    };
    let role = if s.role.is_empty() {
        None
    } else {
        Some(Role::parse(&s.role).ok_or_else(|| internal(volume, "role", &s.role))?)
    };
    let filesystem = if s.filesystem.is_empty() {
        None
    } else {
        Some(
            Filesystem::parse(&s.filesystem)
                .ok_or_else(|| internal(volume, "filesystem", &s.filesystem))?,
        )
    };
    let content = s
        .content
        .into_iter()
        .map(|c| finalize_content(c, has_filesystem))
        .collect();
    Ok(VolumeStructure {
        yaml_index: s.yaml_index,
        name: non_empty(s.name),
        label: non_empty(s.label),
        offset: s.offset,
        offset_explicit: s.offset_explicit,
        offset_write: s.offset_write,
        min_size: s.min_size,
        size: s.size,
        structure_type,
        type_spec: s.type_,
        role,
        id: non_empty(s.id),
        filesystem,
        content,
        update: s.update,
        has_filesystem,
    })
}

fn finalize_content(c: SpecContent, filesystem: bool) -> Content {
    if filesystem {
        Content::Filesystem {
            source: c.source,
            target: c.target,
            unpack: c.unpack,
        }
    } else {
        Content::Raw {
            image: c.image,
            offset: c.offset,
            size: (c.size != 0).then_some(c.size),
            unpack: c.unpack,
        }
    }
}
