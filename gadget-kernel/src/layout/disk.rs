//! Checks of a laid-out volume against a concrete disk or image: sector alignment, the space
//! the partition tables take, the disk size. snapd makes the first when it installs to a disk,
//! ubuntu-image the others when it writes the table; they need the sector size, which the
//! gadget does not know.

use super::VolumeLayout;
use crate::error::GadgetError;
use crate::model::{Role, Schema};

/// The disk (or image file) a volume is written to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskGeometry {
    /// Total size in bytes.
    pub size: u64,
    /// Logical sector size in bytes (512 or 4096 in practice).
    pub sector_size: u64,
}

/// Bytes of GPT partition entries (128 entries of 128 bytes).
const GPT_ENTRIES_BYTES: u64 = 128 * 128;

/// Most partitions an MBR holds (primary partitions only).
const MBR_MAX_PARTITIONS: usize = 4;

/// Most partitions a GPT with the standard 128 entries holds.
const GPT_MAX_PARTITIONS: usize = 128;

impl VolumeLayout {
    fn err(&self, reason: String) -> GadgetError {
        GadgetError::layout(&self.name, reason)
    }

    /// Sizes (`size` and `min-size`) of every structure except the MBR must be multiples of
    /// the sector size (snapd's install-time rule), and so must partition starts (a partition
    /// table counts in sectors).
    pub fn check_sector_size(&self, sector_size: u64) -> Result<(), GadgetError> {
        if sector_size == 0 {
            return Err(self.err("sector size cannot be 0".to_owned()));
        }
        if self.schema == Schema::Emmc {
            return Ok(());
        }
        for s in &self.structures {
            if s.role == Some(Role::Mbr) {
                continue;
            }
            if !s.size.is_multiple_of(sector_size) || !s.min_size.is_multiple_of(sector_size) {
                return Err(self.err(format!(
                    "structure {} size is not a multiple of disk sector size {sector_size}",
                    s.describe()
                )));
            }
            if s.partition_number.is_some() && !s.start.is_multiple_of(sector_size) {
                return Err(self.err(format!(
                    "structure {} start {} is not a multiple of disk sector size {sector_size}",
                    s.describe(),
                    s.start
                )));
            }
        }
        Ok(())
    }

    /// Checks that the volume fits on `disk` with its partition table: every structure at its
    /// full size ends before the disk (before the backup GPT on GPT disks), partitions start
    /// after the primary table, the partition count fits the table, and MBR entries fit their
    /// 32-bit sector fields. Sector alignment is checked too ([`Self::check_sector_size`]).
    pub fn check_fits(&self, disk: DiskGeometry) -> Result<(), GadgetError> {
        self.check_sector_size(disk.sector_size)?;
        if self.schema == Schema::Emmc {
            return Ok(());
        }
        let sector = disk.sector_size;
        let (first_usable, usable_end, max_parts) = match self.schema {
            Schema::Gpt => {
                let entries = GPT_ENTRIES_BYTES.div_ceil(sector);
                // Protective MBR + header + entries before; entries + header at the end.
                let primary = (2 + entries) * sector;
                let backup = (1 + entries) * sector;
                (
                    primary,
                    disk.size.saturating_sub(backup),
                    GPT_MAX_PARTITIONS,
                )
            }
            Schema::Mbr | Schema::Emmc => (sector, disk.size, MBR_MAX_PARTITIONS),
        };
        if self.min_size > usable_end {
            return Err(self.err(format!(
                "the disk ({} bytes, usable up to {usable_end}) is too small for the volume's minimum size {}",
                disk.size, self.min_size
            )));
        }
        let parts = self.partitions().count();
        if parts > max_parts {
            return Err(self.err(format!(
                "{parts} partitions do not fit in a {} partition table (at most {max_parts})",
                self.schema.as_str()
            )));
        }
        for s in &self.structures {
            if s.end > usable_end {
                return Err(self.err(format!(
                    "structure {} ends at {}, past the usable end of the disk {usable_end}",
                    s.describe(),
                    s.end
                )));
            }
            if s.partition_number.is_none() {
                continue;
            }
            if s.start < first_usable {
                return Err(self.err(format!(
                    "structure {} starts at {}, inside the partition table area (first usable byte {first_usable})",
                    s.describe(),
                    s.start
                )));
            }
            if self.schema == Schema::Mbr
                && (u32::try_from(s.start / sector).is_err()
                    || u32::try_from(s.size.div_ceil(sector)).is_err())
            {
                return Err(self.err(format!(
                    "structure {} does not fit the 32-bit sector fields of an MBR entry",
                    s.describe()
                )));
            }
        }
        Ok(())
    }
}
