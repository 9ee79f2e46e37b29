//! The working form the rules run on: quantities parsed, everything else still the text of
//! the file, as in snapd's own structures. Empty text means "not given".

use crate::model::{RelativeOffset, Update};

#[derive(Clone, Debug, Default)]
pub(crate) struct SpecVolume {
    pub name: String,
    pub partial: Vec<String>,
    pub schema: String,
    pub bootloader: String,
    pub id: String,
    pub structures: Vec<SpecStructure>,
}

impl SpecVolume {
    pub fn has_partial(&self, p: &str) -> bool {
        self.partial.iter().any(|x| x == p)
    }

    /// snapd's `Volume.MinSize` over the (sorted) structures, saturating.
    pub fn min_size(&self) -> u64 {
        self.structures
            .iter()
            .fold(0, |end: u64, s| match s.offset {
                Some(o) => o.saturating_add(s.min_size),
                None => end.saturating_add(s.min_size),
            })
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct SpecStructure {
    pub yaml_index: usize,
    pub name: String,
    pub label: String,
    pub offset: Option<u64>,
    pub offset_explicit: bool,
    pub offset_write: Option<RelativeOffset>,
    pub min_size: u64,
    pub size: u64,
    pub type_: String,
    pub role: String,
    pub id: String,
    pub filesystem: String,
    pub content: Vec<SpecContent>,
    pub update: Update,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct SpecContent {
    pub source: String,
    pub target: String,
    pub image: String,
    pub offset: Option<u64>,
    pub size: u64,
    pub unpack: bool,
}

impl SpecStructure {
    /// `#<yaml index> ("<name>")`.
    pub fn describe(&self) -> String {
        crate::model::describe_structure(self.yaml_index, Some(&self.name))
    }

    /// Whether the structure is (or, with a partial filesystem, will be) a filesystem.
    pub fn has_filesystem(&self, vol_partial_fs: bool) -> bool {
        if !self.filesystem.is_empty() && self.filesystem != "none" {
            true
        } else if self.type_ == "bare" || self.type_ == "mbr" {
            false
        } else {
            vol_partial_fs
        }
    }

    /// `role: mbr`, or `type: mbr` without a role (usable before implicit values are set).
    pub fn is_mbr(&self) -> bool {
        self.role == "mbr" || (self.role.is_empty() && self.type_ == "mbr")
    }

    /// The size is partial (left to the installer) when the volume says so and none is given.
    pub fn has_partial_size(&self, vol_partial_size: bool) -> bool {
        vol_partial_size && self.size == 0
    }

    /// A fixed size: no range and not left to the installer.
    pub fn is_fixed_size(&self, vol_partial_size: bool) -> bool {
        !self.has_partial_size(vol_partial_size) && self.size == self.min_size
    }

    /// The Linux filesystem name (`vfat-16`/`vfat-32` are `vfat`).
    pub fn linux_filesystem(&self) -> &str {
        match self.filesystem.as_str() {
            "vfat-16" | "vfat-32" => "vfat",
            other => other,
        }
    }

    /// Whether the label is `label`, ignoring case on vfat.
    pub fn has_label(&self, label: &str) -> bool {
        if self.linux_filesystem() == "vfat" {
            self.label.to_lowercase() == label.to_lowercase()
        } else {
            self.label == label
        }
    }
}
