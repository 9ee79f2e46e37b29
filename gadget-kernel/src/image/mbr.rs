//! The classic MBR partition table: bytes 440..512 of the first sector (disk signature, four
//! primary entries, boot signature). Written by hand: it is 72 bytes of fixed layout, and
//! leaving bytes 0..440 alone keeps the gadget's boot code there.

/// One primary partition entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MbrEntry {
    /// The active flag (snapd and ubuntu-image set it on the `system-boot` structure only).
    pub bootable: bool,
    pub partition_type: u8,
    pub start_lba: u32,
    pub sectors: u32,
}

/// Where the table bytes go in sector 0.
pub const MBR_TABLE_OFFSET: u64 = 440;

/// CHS addresses are unused by every system we target; this is the customary "beyond CHS"
/// value, so entries do not depend on a made-up disk geometry.
const CHS_UNUSED: [u8; 3] = [0xfe, 0xff, 0xff];

/// Bytes 440..512 of the MBR for `entries` (at most four, in partition-number order).
pub fn mbr_table(disk_signature: u32, entries: &[MbrEntry]) -> Result<[u8; 72], String> {
    if entries.len() > 4 {
        return Err(format!(
            "{} partitions do not fit in an MBR (at most 4 primary partitions)",
            entries.len()
        ));
    }
    let mut out = [0u8; 72];
    out[0..4].copy_from_slice(&disk_signature.to_le_bytes());
    // out[4..6]: "copy protected" marker, zero.
    for (i, e) in entries.iter().enumerate() {
        let at = 6 + 16 * i;
        let entry = &mut out[at..at + 16];
        entry[0] = if e.bootable { 0x80 } else { 0 };
        entry[1..4].copy_from_slice(&CHS_UNUSED);
        entry[4] = e.partition_type;
        entry[5..8].copy_from_slice(&CHS_UNUSED);
        entry[8..12].copy_from_slice(&e.start_lba.to_le_bytes());
        entry[12..16].copy_from_slice(&e.sectors.to_le_bytes());
    }
    out[70] = 0x55;
    out[71] = 0xaa;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_laid_out_little_endian() {
        let t = mbr_table(
            0x1234_5678,
            &[
                MbrEntry {
                    bootable: true,
                    partition_type: 0x0c,
                    start_lba: 2048,
                    sectors: 131072,
                },
                MbrEntry {
                    bootable: false,
                    partition_type: 0x83,
                    start_lba: 133120,
                    sectors: 4096,
                },
            ],
        )
        .unwrap();
        assert_eq!(&t[0..4], &[0x78, 0x56, 0x34, 0x12]);
        assert_eq!(t[6], 0x80);
        assert_eq!(t[6 + 4], 0x0c);
        assert_eq!(&t[6 + 8..6 + 12], &2048u32.to_le_bytes());
        assert_eq!(&t[6 + 12..6 + 16], &131072u32.to_le_bytes());
        assert_eq!(t[22], 0);
        assert_eq!(t[22 + 4], 0x83);
        assert_eq!(&t[22 + 8..22 + 12], &133120u32.to_le_bytes());
        // Unused entries stay zero; the boot signature closes the sector.
        assert!(t[38..70].iter().all(|b| *b == 0));
        assert_eq!(&t[70..72], &[0x55, 0xaa]);
    }

    #[test]
    fn more_than_four_partitions_are_refused() {
        let e = MbrEntry {
            bootable: false,
            partition_type: 0x83,
            start_lba: 1,
            sectors: 1,
        };
        assert!(mbr_table(0, &[e; 5]).unwrap_err().contains("at most 4"));
    }
}
