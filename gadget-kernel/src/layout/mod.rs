//! Where every structure of a volume goes: start, size, partition number, partition type, and
//! where its raw images go inside it.
//!
//! Offsets are the ones validation computed (explicit, or right after the preceding structure
//! and never before 1 MiB except the MBR). A structure after one whose size is a range has no
//! offset of its own; like snapd when it builds a disk from the gadget, it is placed right
//! after the preceding structure at that structure's full `size` (and, unless it is the MBR,
//! not before 1 MiB).

mod content;
mod disk;

pub use content::RawContentLayout;

/// The size of a raw content image shipped in the gadget, by its path in the gadget (`None`
/// when unknown).
pub type ImageSizes<'a> = &'a dyn Fn(&str) -> Option<u64>;
pub use disk::DiskGeometry;

use crate::error::GadgetError;
use crate::model::{Filesystem, PartialProperty, Role, Schema, Volume};
use crate::structure_type::PartitionType;

/// The laid-out volume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeLayout {
    pub name: String,
    pub schema: Schema,
    /// Sorted by start.
    pub structures: Vec<StructureLayout>,
    /// The smallest disk that holds the volume with every structure at its `min-size`.
    pub min_size: u64,
    /// The volume's extent with every structure at its `size`.
    pub size: u64,
}

/// One laid-out structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructureLayout {
    pub yaml_index: usize,
    pub name: Option<String>,
    pub role: Option<Role>,
    pub label: Option<String>,
    pub filesystem: Option<Filesystem>,
    /// Byte offset from the start of the volume (0 for every eMMC hardware partition).
    pub start: u64,
    /// `size` (0 for eMMC hardware partitions, whose size is the device's).
    pub size: u64,
    pub min_size: u64,
    /// `start + size`.
    pub end: u64,
    /// Whether `start` follows from the gadget alone (false after a range-sized structure:
    /// the installer may place it anywhere the sizes allow).
    pub start_known: bool,
    /// The partition number (1-based) in the partition table, counting partitions in start
    /// order; `None` for the MBR, `bare` structures and eMMC hardware partitions.
    pub partition_number: Option<u32>,
    /// The partition-table type for the volume's schema (the matching half of a hybrid type).
    pub partition_type: Option<PartitionType>,
    /// Absolute byte position where `offset-write` puts this structure's start (in sectors,
    /// 32-bit little endian).
    pub offset_write: Option<u64>,
    /// Raw content images (structures without a filesystem).
    pub raw_content: Vec<RawContentLayout>,
}

impl StructureLayout {
    /// `#<index> ("<name>")`.
    pub fn describe(&self) -> String {
        crate::model::describe_structure(self.yaml_index, self.name.as_deref())
    }

    /// The value `offset-write` stores: the start in sectors, if it fits in 32 bits and the
    /// start is sector aligned.
    pub fn start_lba(&self, sector_size: u64) -> Option<u32> {
        if sector_size == 0 || !self.start.is_multiple_of(sector_size) {
            return None;
        }
        u32::try_from(self.start / sector_size).ok()
    }
}

/// Lays out `volume`, with raw content placed as far as declared sizes allow (see
/// [`layout_with_image_sizes`] to place every image).
pub fn layout(volume: &Volume) -> Result<VolumeLayout, GadgetError> {
    layout_impl(volume, None)
}

/// Lays out `volume`, sizing each raw content image with `image_size` (the size of the file
/// the gadget ships, by its path in the gadget): like snapd, an image larger than its declared
/// `size`, an image that does not fit in its structure, or images overlapping each other are
/// errors, and so is an image whose size is unknown.
pub fn layout_with_image_sizes(
    volume: &Volume,
    image_size: ImageSizes<'_>,
) -> Result<VolumeLayout, GadgetError> {
    layout_impl(volume, Some(image_size))
}

fn layout_impl(
    volume: &Volume,
    image_size: Option<ImageSizes<'_>>,
) -> Result<VolumeLayout, GadgetError> {
    let err = |reason: String| GadgetError::layout(&volume.name, reason);
    let Some(schema) = volume.schema else {
        return Err(err(
            "the schema is left to the installer (partial: [schema])".to_owned(),
        ));
    };
    if volume.has_partial(PartialProperty::Size)
        && let Some(s) = volume.structures.iter().find(|s| s.size == 0)
    {
        return Err(err(format!(
            "the size of structure {} is left to the installer (partial: [size])",
            s.describe()
        )));
    }
    let emmc = schema == Schema::Emmc;
    let mut structures = Vec::with_capacity(volume.structures.len());
    let mut next_start = 0u64;
    let mut partition = 0u32;
    for s in &volume.structures {
        let start = if emmc {
            0
        } else if let Some(offset) = s.offset {
            offset
        } else if s.role != Some(Role::Mbr) {
            // After a structure whose size is a range: still never before 1 MiB, the rule
            // validation applies to every other structure without an offset.
            next_start.max(crate::implicit::NON_MBR_START_OFFSET)
        } else {
            next_start
        };
        let end = start.checked_add(s.size).ok_or_else(|| {
            err(format!(
                "structure {} ends past the largest offset",
                s.describe()
            ))
        })?;
        next_start = end;
        let partition_number = if !emmc && s.is_partition() {
            partition += 1;
            Some(partition)
        } else {
            None
        };
        let offset_write = s.offset_write.as_ref().map(|ow| {
            // Only the first structure, at offset 0, may be named: the position is absolute.
            ow.offset
        });
        let raw_content = if s.has_filesystem() {
            Vec::new()
        } else {
            content::lay_out(s, start, emmc, image_size)
                .map_err(|e| err(format!("structure {}: {e}", s.describe())))?
        };
        structures.push(StructureLayout {
            yaml_index: s.yaml_index,
            name: s.name.clone(),
            role: s.role,
            label: s.label.clone(),
            filesystem: s.filesystem,
            start,
            size: s.size,
            min_size: s.min_size,
            end,
            start_known: emmc || s.offset.is_some(),
            partition_number,
            partition_type: if s.is_partition() {
                s.structure_type.partition_type(schema)
            } else {
                None
            },
            offset_write,
            raw_content,
        });
    }
    Ok(VolumeLayout {
        name: volume.name.clone(),
        schema,
        structures,
        min_size: volume.min_size(),
        size: volume.size(),
    })
}

impl VolumeLayout {
    /// The structure that was at `yaml_index` in the file.
    pub fn structure_by_yaml_index(&self, yaml_index: usize) -> Option<&StructureLayout> {
        self.structures.iter().find(|s| s.yaml_index == yaml_index)
    }

    /// The structures that are partitions, in partition-number order.
    pub fn partitions(&self) -> impl Iterator<Item = &StructureLayout> {
        self.structures
            .iter()
            .filter(|s| s.partition_number.is_some())
    }
}
