//! The GPT (protective MBR, primary and backup headers and entry arrays), written with gptman
//! so that the disk GUID and every partition GUID are the ones the plan chose.

use std::io::{Read, Seek, Write};

use gptman::{GPT, GPTPartitionEntry};

use super::guid::Guid;

/// One GPT entry, in partition-number order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GptEntry {
    pub type_guid: Guid,
    pub partition_guid: Guid,
    pub first_lba: u64,
    pub last_lba: u64,
    /// The partition name (at most 36 UTF-16 code units).
    pub name: String,
}

/// Writes the protective MBR entry (bytes 446..512 only: the boot code at 0..440 is kept),
/// both GPT headers and both entry arrays onto `disk`, whose current length is the disk size.
pub fn write_gpt<D: Read + Write + Seek>(
    disk: &mut D,
    sector_size: u64,
    disk_guid: Guid,
    entries: &[GptEntry],
) -> Result<(), String> {
    let mut gpt = GPT::new_from(disk, sector_size, disk_guid.to_gpt_bytes())
        .map_err(|e| format!("cannot start a GPT: {e}"))?;
    let slots = gpt.header.number_of_partition_entries as usize;
    if entries.len() > slots {
        return Err(format!(
            "{} partitions do not fit in a GPT of {slots} entries",
            entries.len()
        ));
    }
    for ((_, slot), e) in gpt.iter_mut().zip(entries) {
        if e.name.encode_utf16().count() > 36 {
            return Err(format!(
                "partition name {:?} is longer than 36 characters",
                e.name
            ));
        }
        *slot = GPTPartitionEntry {
            partition_type_guid: e.type_guid.to_gpt_bytes(),
            unique_partition_guid: e.partition_guid.to_gpt_bytes(),
            starting_lba: e.first_lba,
            ending_lba: e.last_lba,
            attribute_bits: 0,
            partition_name: e.name.as_str().into(),
        };
    }
    gpt.write_into(disk)
        .map_err(|e| format!("cannot write the GPT: {e}"))?;
    GPT::write_protective_mbr_into(disk, sector_size)
        .map_err(|e| format!("cannot write the protective MBR: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn table_reads_back_with_our_guids_and_keeps_boot_code() {
        let mut disk = Cursor::new(vec![0u8; 8 * 1024 * 1024]);
        disk.get_mut()[..440].fill(0xab);
        let disk_guid = Guid::derive(b"t", "disk");
        let esp = Guid::parse("C12A7328-F81F-11D2-BA4B-00A0C93EC93B").unwrap();
        let part = Guid::derive(b"t", "partition 1");
        let entries = [GptEntry {
            type_guid: esp,
            partition_guid: part,
            first_lba: 2048,
            last_lba: 4095,
            name: "ubuntu-seed".into(),
        }];
        write_gpt(&mut disk, 512, disk_guid, &entries).unwrap();
        assert!(
            disk.get_ref()[..440].iter().all(|b| *b == 0xab),
            "boot code clobbered"
        );
        assert_eq!(disk.get_ref()[450], 0xee);
        assert_eq!(&disk.get_ref()[510..512], &[0x55, 0xaa]);
        let back = GPT::read_from(&mut disk, 512).unwrap();
        assert_eq!(back.header.disk_guid, disk_guid.to_gpt_bytes());
        let p = &back[1];
        assert_eq!(p.partition_type_guid, esp.to_gpt_bytes());
        assert_eq!(p.unique_partition_guid, part.to_gpt_bytes());
        assert_eq!((p.starting_lba, p.ending_lba), (2048, 4095));
        assert_eq!(p.partition_name.as_str(), "ubuntu-seed");
        assert!(back[2].is_unused());
        // The backup header sits in the last sector.
        assert_eq!(&disk.get_ref()[8 * 1024 * 1024 - 512..][..8], b"EFI PART");
    }

    #[test]
    fn same_entries_give_same_bytes() {
        let build = || {
            let mut disk = Cursor::new(vec![0u8; 4 * 1024 * 1024]);
            let e = GptEntry {
                type_guid: Guid::derive(b"x", "t"),
                partition_guid: Guid::derive(b"x", "p"),
                first_lba: 2048,
                last_lba: 2049,
                name: "a".into(),
            };
            write_gpt(&mut disk, 512, Guid::derive(b"x", "d"), &[e]).unwrap();
            disk.into_inner()
        };
        assert_eq!(build(), build());
    }

    #[test]
    fn overlong_names_are_refused() {
        let mut disk = Cursor::new(vec![0u8; 4 * 1024 * 1024]);
        let e = GptEntry {
            type_guid: Guid::derive(b"x", "t"),
            partition_guid: Guid::derive(b"x", "p"),
            first_lba: 2048,
            last_lba: 2049,
            name: "n".repeat(37),
        };
        assert!(write_gpt(&mut disk, 512, Guid::derive(b"x", "d"), &[e]).is_err());
    }
}
