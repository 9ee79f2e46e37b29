//! Layout: partition numbering, raw content placement, and the disk checks.

mod common;

use common::{parse, pc_with};
use gadget_kernel::quantity::MIB;
use gadget_kernel::{DiskGeometry, layout, layout_with_image_sizes};

fn volume(yaml: &str) -> gadget_kernel::Volume {
    common::only_volume(&parse(yaml).unwrap()).clone()
}

#[test]
fn partition_numbers_skip_mbr_and_bare_structures() {
    let v = volume(&pc_with(
        "      - name: mbr\n        type: mbr\n        size: 440\n      - name: raw\n        type: bare\n        size: 1M\n      - name: p1\n        type: 0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        size: 1M\n      - name: raw2\n        type: bare\n        size: 1M\n      - name: p2\n        type: 0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        size: 1M\n",
    ));
    let l = layout(&v).unwrap();
    let nums: Vec<_> = l.structures.iter().map(|s| s.partition_number).collect();
    assert_eq!(nums, [None, None, Some(1), None, Some(2)]);
    assert_eq!(l.partitions().count(), 2);
    let starts: Vec<_> = l.structures.iter().map(|s| s.start / MIB).collect();
    assert_eq!(starts, [0, 1, 2, 3, 4]);
    assert_eq!(l.size, 5 * MIB);
}

const RAW: &str = "      - name: firmware\n        type: bare\n        size: 1M\n        offset: 1M\n        content:\n";

#[test]
fn raw_content_follows_declared_sizes() {
    let v = volume(&pc_with(&format!(
        "{RAW}          - image: a.img\n            size: 1000\n          - image: b.img\n          - image: c.img\n            offset: 4096\n"
    )));
    let l = layout(&v).unwrap();
    let c = &l.structures[0].raw_content;
    assert_eq!(
        (c[0].offset, c[0].start, c[0].size),
        (Some(0), Some(MIB), Some(1000))
    );
    // b follows a; its size is only known from the file.
    assert_eq!((c[1].offset, c[1].size), (Some(1000), None));
    assert_eq!((c[2].offset, c[2].start), (Some(4096), Some(MIB + 4096)));

    let sizes = |name: &str| match name {
        "a.img" => Some(800),
        "b.img" => Some(2000),
        "c.img" => Some(10),
        _ => None,
    };
    let l = layout_with_image_sizes(&v, &sizes).unwrap();
    let c = &l.structures[0].raw_content;
    assert_eq!(c[1].size, Some(2000));
    assert_eq!(c[2].size, Some(10));
}

#[test]
fn raw_content_errors() {
    let err = |content: &str, sizes: &dyn Fn(&str) -> Option<u64>| {
        let v = volume(&pc_with(&format!("{RAW}{content}")));
        layout_with_image_sizes(&v, sizes).unwrap_err().to_string()
    };
    let all = |_: &str| Some(1000);
    assert_eq!(
        err("          - image: a.img\n            size: 10\n", &all),
        r#"cannot lay out volume "pc": structure #0 ("firmware"): content "a.img" size 1000 is larger than declared 10"#
    );
    assert!(
        err(
            "          - image: a.img\n            offset: 1048000\n",
            &all
        )
        .ends_with(r#"content "a.img" does not fit in the structure"#)
    );
    assert!(
        err(
            "          - image: a.img\n          - image: b.img\n            offset: 500\n",
            &all
        )
        .ends_with(r#"content "b.img" overlaps with preceding image "a.img""#)
    );
    assert!(
        err("          - image: a.img\n", &|_| None)
            .ends_with(r#"content "a.img": image size unknown"#)
    );
    // Declared sizes are checked without the files too.
    let v = volume(&pc_with(&format!(
        "{RAW}          - image: a.img\n            size: 2M\n"
    )));
    assert!(
        layout(&v)
            .unwrap_err()
            .to_string()
            .ends_with("does not fit in the structure")
    );
}

#[test]
fn partial_volumes_cannot_be_laid_out() {
    let g = parse("volumes:\n  img:\n    partial: [schema]\n    bootloader: grub\n").unwrap();
    assert_eq!(
        layout(&g.volumes()[0]).unwrap_err().to_string(),
        r#"cannot lay out volume "img": the schema is left to the installer (partial: [schema])"#
    );
}

#[test]
fn sector_alignment() {
    let l = layout(&volume(&pc_with(
        "      - name: mbr\n        type: mbr\n        size: 440\n      - name: odd\n        type: bare\n        size: 1000\n",
    )))
    .unwrap();
    // The MBR is exempt; the other size must be whole sectors.
    assert_eq!(
        l.check_sector_size(512).unwrap_err().to_string(),
        r#"cannot lay out volume "pc": structure #1 ("odd") size is not a multiple of disk sector size 512"#
    );
    let pc =
        parse(&String::from_utf8(common::corpus_file("pc-gadget_gadget.yaml")).unwrap()).unwrap();
    let l = layout(&pc.volumes()[0]).unwrap();
    l.check_sector_size(512).unwrap();
    l.check_sector_size(4096).unwrap();
    // 4096-byte sectors: BIOS Boot (1 MiB) and everything else is whole sectors too.
    assert!(l.check_sector_size(0).is_err());
}

#[test]
fn disk_fit() {
    let pc =
        parse(&String::from_utf8(common::corpus_file("pc-gadget_gadget.yaml")).unwrap()).unwrap();
    let l = layout(&pc.volumes()[0]).unwrap();
    let disk = |size: u64, sector_size: u64| DiskGeometry { size, sector_size };
    l.check_fits(disk(4096 * MIB, 512)).unwrap();
    l.check_fits(disk(4096 * MIB, 4096)).unwrap();
    // The volume ends at 2992 MiB; the backup GPT needs 33 sectors after it.
    assert!(l.check_fits(disk(2992 * MIB, 512)).is_err());
    l.check_fits(disk(2992 * MIB + 33 * 512, 512)).unwrap();
    assert!(l.check_fits(disk(2992 * MIB + 32 * 512, 512)).is_err());

    // A partition inside the primary GPT.
    let early = layout(&volume(&pc_with(
        "      - name: early\n        type: 0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        size: 1M\n        offset: 8192\n",
    )))
    .unwrap();
    assert!(
        early
            .check_fits(disk(64 * MIB, 512))
            .unwrap_err()
            .to_string()
            .contains("inside the partition table area (first usable byte 17408)")
    );

    // MBR: at most four partitions.
    let five: String = (0..5)
        .map(|i| format!("      - name: p{i}\n        type: 83\n        size: 1M\n"))
        .collect();
    let mbr = layout(&volume(&format!(
        "volumes:\n  pc:\n    bootloader: u-boot\n    schema: mbr\n    structure:\n{five}"
    )))
    .unwrap();
    assert!(
        mbr.check_fits(disk(64 * MIB, 512))
            .unwrap_err()
            .to_string()
            .contains("5 partitions do not fit in a mbr partition table (at most 4)")
    );
}

#[test]
fn offset_write_positions() {
    let v = volume(&pc_with(
        "      - name: mbr\n        type: mbr\n        size: 440\n      - name: core\n        type: bare\n        size: 1M\n        offset: 1M\n        offset-write: 100\n",
    ));
    let l = layout(&v).unwrap();
    assert_eq!(l.structures[1].offset_write, Some(100));
    assert_eq!(l.structures[1].start_lba(512), Some(2048));
    assert_eq!(l.structures[1].start_lba(0), None);
}
