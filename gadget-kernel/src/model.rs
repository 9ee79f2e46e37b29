//! The validated gadget.yaml model handed out by [`crate::parse_gadget_yaml`].

use std::collections::BTreeMap;
use std::fmt;

use crate::defaults::{self, Connection, DefaultValue};
use crate::kcmdline::{KernelArgument, KernelArgumentPattern};
use crate::structure_type::StructureType;

/// The whole `meta/gadget.yaml`, validated, with implicit values filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct GadgetYaml {
    pub(crate) volumes: Vec<Volume>,
    pub(crate) defaults: BTreeMap<String, BTreeMap<String, DefaultValue>>,
    pub(crate) connections: Vec<Connection>,
    pub(crate) kernel_cmdline: KernelCmdline,
    pub(crate) volume_assignments: Vec<VolumeAssignment>,
    pub(crate) warnings: Vec<String>,
}

impl GadgetYaml {
    /// The volumes, in the order the file lists them (one disk image each).
    pub fn volumes(&self) -> &[Volume] {
        &self.volumes
    }

    /// The volume called `name`.
    pub fn volume(&self, name: &str) -> Option<&Volume> {
        self.volumes.iter().find(|v| v.name == name)
    }

    /// Configuration defaults, by snap-id (or `system`).
    pub fn defaults(&self) -> &BTreeMap<String, BTreeMap<String, DefaultValue>> {
        &self.defaults
    }

    /// The `system` (or `core` snap) defaults flattened with dots, if the gadget has any.
    pub fn system_defaults(&self) -> Option<BTreeMap<String, DefaultValue>> {
        defaults::system_defaults(&self.defaults)
    }

    /// Interface connections to make when seeding.
    pub fn connections(&self) -> &[Connection] {
        &self.connections
    }

    /// `kernel-cmdline`.
    pub fn kernel_cmdline(&self) -> &KernelCmdline {
        &self.kernel_cmdline
    }

    /// `volume-assignments`.
    pub fn volume_assignments(&self) -> &[VolumeAssignment] {
        &self.volume_assignments
    }

    /// Things snapd only warns about (a structure over the GPT header area, ...).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Whether any structure of any volume has `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.volumes
            .iter()
            .any(|v| v.structures.iter().any(|s| s.role == Some(role)))
    }

    /// The bootloader declared by the one volume that declares it.
    pub fn bootloader(&self) -> Option<Bootloader> {
        self.volumes.iter().find_map(|v| v.bootloader)
    }

    /// The volume holding the `system-boot` structure.
    pub fn boot_volume(&self) -> Option<&Volume> {
        self.volumes.iter().find(|v| {
            v.structures
                .iter()
                .any(|s| s.role == Some(Role::SystemBoot))
        })
    }
}

/// `kernel-cmdline`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelCmdline {
    /// Arguments users may add through `system.kernel.cmdline-append`.
    pub allow: Vec<KernelArgumentPattern>,
    /// Arguments the gadget adds.
    pub append: Vec<KernelArgument>,
    /// Arguments removed from the bootloader's built-in command line.
    pub remove: Vec<KernelArgumentPattern>,
}

/// One `volume-assignments` variant: which disk each volume goes to on some device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeAssignment {
    pub name: String,
    /// Volume name and device path (`/dev/disk/by-path/...` or `/dev/disk/by-id/...`).
    pub assignments: Vec<(String, String)>,
}

/// The partitioning schema of a volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Schema {
    Gpt,
    Mbr,
    /// eMMC hardware partitions (`boot0`, `boot1`): no table, whole-device images.
    Emmc,
}

impl Schema {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gpt => "gpt",
            Self::Mbr => "mbr",
            Self::Emmc => "emmc",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [Self::Gpt, Self::Mbr, Self::Emmc]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// The bootloader a volume declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bootloader {
    Grub,
    UBoot,
    AndroidBoot,
    Lk,
    Piboot,
}

impl Bootloader {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grub => "grub",
            Self::UBoot => "u-boot",
            Self::AndroidBoot => "android-boot",
            Self::Lk => "lk",
            Self::Piboot => "piboot",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [
            Self::Grub,
            Self::UBoot,
            Self::AndroidBoot,
            Self::Lk,
            Self::Piboot,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// A property of a volume left for an installer to fill in (`partial:`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PartialProperty {
    Size,
    Filesystem,
    Schema,
    Structure,
}

impl PartialProperty {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Size => "size",
            Self::Filesystem => "filesystem",
            Self::Schema => "schema",
            Self::Structure => "structure",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [Self::Size, Self::Filesystem, Self::Schema, Self::Structure]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// The role of a structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The MBR boot code area at offset 0 (at most 446 bytes; not a partition).
    Mbr,
    SystemBoot,
    SystemBootImage,
    SystemBootSelect,
    /// A raw U-Boot environment partition.
    SystemBootState,
    SystemSeed,
    /// The seed of a classic system with modes.
    SystemSeedNull,
    SystemSeedImage,
    SystemSeedSelect,
    SystemData,
    SystemSave,
    /// `bootimg` (legacy name of `system-boot-image`).
    LegacyBootImage,
    /// `bootselect` (legacy name of `system-boot-select`).
    LegacyBootSelect,
}

impl Role {
    const ALL: [Role; 13] = [
        Role::Mbr,
        Role::SystemBoot,
        Role::SystemBootImage,
        Role::SystemBootSelect,
        Role::SystemBootState,
        Role::SystemSeed,
        Role::SystemSeedNull,
        Role::SystemSeedImage,
        Role::SystemSeedSelect,
        Role::SystemData,
        Role::SystemSave,
        Role::LegacyBootImage,
        Role::LegacyBootSelect,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mbr => "mbr",
            Self::SystemBoot => "system-boot",
            Self::SystemBootImage => "system-boot-image",
            Self::SystemBootSelect => "system-boot-select",
            Self::SystemBootState => "system-boot-state",
            Self::SystemSeed => "system-seed",
            Self::SystemSeedNull => "system-seed-null",
            Self::SystemSeedImage => "system-seed-image",
            Self::SystemSeedSelect => "system-seed-select",
            Self::SystemData => "system-data",
            Self::SystemSave => "system-save",
            Self::LegacyBootImage => "bootimg",
            Self::LegacyBootSelect => "bootselect",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The filesystem a structure is formatted with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Filesystem {
    /// `none`: explicitly raw.
    None,
    /// `vfat`: FAT32, the same as `vfat-32`.
    Vfat,
    Vfat16,
    Vfat32,
    Ext4,
}

impl Filesystem {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Vfat => "vfat",
            Self::Vfat16 => "vfat-16",
            Self::Vfat32 => "vfat-32",
            Self::Ext4 => "ext4",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [
            Self::None,
            Self::Vfat,
            Self::Vfat16,
            Self::Vfat32,
            Self::Ext4,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// The Linux filesystem type (`vfat-16`/`vfat-32` are both `vfat`); `None` for raw.
    pub fn linux_name(self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::Vfat | Self::Vfat16 | Self::Vfat32 => Some("vfat"),
            Self::Ext4 => Some("ext4"),
        }
    }
}

/// `offset-write: [<name>+]<offset>`: where the structure's start (in sectors, 32-bit little
/// endian) is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelativeOffset {
    /// The structure the offset is relative to (only the first structure, at offset 0, may be
    /// named); `None` for an absolute position.
    pub relative_to: Option<String>,
    pub offset: u64,
}

/// One `content` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// A file or directory copied into the structure's filesystem. `source` may be a
    /// `$kernel:<asset>/<path>` reference.
    Filesystem {
        source: String,
        target: String,
        unpack: bool,
    },
    /// An image written raw into a structure without a filesystem (or an eMMC hardware
    /// partition). Without `offset` it follows the previous image; without `size` its size is
    /// the image file's.
    Raw {
        image: String,
        offset: Option<u64>,
        size: Option<u64>,
        unpack: bool,
    },
}

/// `update`: when the structure's content is updated on a gadget refresh, and what survives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Update {
    pub edition: u32,
    pub preserve: Vec<String>,
}

/// One structure of a volume: a partition, the MBR, or a raw region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeStructure {
    /// Position in the file's `structure` list (structures are kept sorted by offset).
    pub yaml_index: usize,
    pub name: Option<String>,
    /// `filesystem-label`, including implicit labels derived from the role and model.
    pub label: Option<String>,
    /// The start offset: explicit, or computed from the preceding structure. `None` when it
    /// follows a structure whose size is a range (`min-size` < `size`): then it is only known
    /// at install time.
    pub offset: Option<u64>,
    /// Whether `offset` was written in the file.
    pub offset_explicit: bool,
    pub offset_write: Option<RelativeOffset>,
    /// `min-size`, defaulting to `size`.
    pub min_size: u64,
    /// `size` (0 only on eMMC volumes and for sizes left to the installer by `partial: [size]`).
    pub size: u64,
    pub structure_type: StructureType,
    /// The `type` as written.
    pub type_spec: String,
    /// The role, including implicit ones (`type: mbr` gives `mbr`; on UC16/18 a
    /// `system-boot` label gives `system-boot`).
    pub role: Option<Role>,
    /// The GPT partition UUID.
    pub id: Option<String>,
    pub filesystem: Option<Filesystem>,
    pub content: Vec<Content>,
    pub update: Update,
    pub(crate) has_filesystem: bool,
}

impl VolumeStructure {
    /// Whether the structure holds a filesystem (or, on a `partial: [filesystem]` volume,
    /// will hold one chosen by the installer).
    pub fn has_filesystem(&self) -> bool {
        self.has_filesystem
    }

    /// Whether the structure is a partition-table entry (not `bare`, not the MBR).
    pub fn is_partition(&self) -> bool {
        !matches!(
            self.structure_type,
            StructureType::Bare | StructureType::LegacyMbr
        ) && self.role != Some(Role::Mbr)
    }

    /// Whether the size is a range (`min-size` < `size`).
    pub fn has_size_range(&self) -> bool {
        self.min_size != self.size
    }

    /// `#<index> ("<name>")`, as used in messages.
    pub fn describe(&self) -> String {
        describe_structure(self.yaml_index, self.name.as_deref())
    }
}

/// `#<index> ("<name>")` or `#<index>` for an unnamed structure.
pub(crate) fn describe_structure(index: usize, name: Option<&str>) -> String {
    match name {
        Some(n) if !n.is_empty() => format!("#{index} ({n:?})"),
        _ => format!("#{index}"),
    }
}

/// One volume: the layout of one disk image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volume {
    pub name: String,
    /// `None` only when the schema is left to the installer (`partial: [schema]`).
    pub schema: Option<Schema>,
    pub bootloader: Option<Bootloader>,
    /// The disk id as written (2 hex digits for MBR, a GUID for GPT; not checked, as in snapd).
    pub id: Option<String>,
    pub partial: Vec<PartialProperty>,
    /// The structures sorted by offset (runs of structures without a known offset stay right
    /// after the structure they follow).
    pub structures: Vec<VolumeStructure>,
}

impl Volume {
    /// Whether `property` is left to the installer.
    pub fn has_partial(&self, property: PartialProperty) -> bool {
        self.partial.contains(&property)
    }

    /// The structure at `yaml_index` in the file.
    pub fn structure_by_yaml_index(&self, yaml_index: usize) -> Option<&VolumeStructure> {
        self.structures.iter().find(|s| s.yaml_index == yaml_index)
    }

    /// The smallest volume that holds every structure at its `min-size` (snapd's
    /// `Volume.MinSize`), saturating at `u64::MAX`.
    pub fn min_size(&self) -> u64 {
        self.end_with(|s| s.min_size)
    }

    /// The volume size with every structure at its `size` (snapd's `Volume.Size`).
    pub fn size(&self) -> u64 {
        self.end_with(|s| s.size)
    }

    fn end_with(&self, sizer: impl Fn(&VolumeStructure) -> u64) -> u64 {
        // Structures are sorted; one without an offset follows the previous one directly.
        self.structures
            .iter()
            .fold(0, |end: u64, s| match s.offset {
                Some(o) => o.saturating_add(sizer(s)),
                None => end.saturating_add(sizer(s)),
            })
    }
}
