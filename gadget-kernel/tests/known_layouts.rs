//! Layouts of real gadgets against the values in gadget-kernel-boot.md (§1.9, §2.4) and
//! snapd's own volume-size tests.

mod common;

use gadget_kernel::quantity::MIB;
use gadget_kernel::{
    PartitionType, Role, Schema, StructureLayout, VolumeLayout, layout, parse_gadget_yaml,
};

const BIOS_BOOT: &str = "21686148-6449-6E6F-744E-656564454649";
const ESP: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
const LINUX: &str = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

fn lay_out_corpus(name: &str) -> VolumeLayout {
    let gadget = parse_gadget_yaml(&common::corpus_file(name)).expect("parses");
    layout(common::only_volume(&gadget)).expect("lays out")
}

/// (name, start, size, partition number, partition type)
type Row<'a> = (&'a str, u64, u64, Option<u32>, Option<PartitionType>);

fn rows(l: &VolumeLayout) -> Vec<Row<'_>> {
    l.structures
        .iter()
        .map(|s: &StructureLayout| {
            (
                s.name.as_deref().unwrap_or(""),
                s.start,
                s.size,
                s.partition_number,
                s.partition_type.clone(),
            )
        })
        .collect()
}

fn gpt(g: &str) -> Option<PartitionType> {
    Some(PartitionType::Gpt(g.to_owned()))
}

#[test]
fn pc_uc20_gadget() {
    let l = lay_out_corpus("pc-gadget_gadget.yaml");
    assert_eq!(l.schema, Schema::Gpt);
    assert_eq!(
        rows(&l),
        vec![
            ("mbr", 0, 440, None, None),
            ("BIOS Boot", MIB, MIB, Some(1), gpt(BIOS_BOOT)),
            ("ubuntu-seed", 2 * MIB, 1200 * MIB, Some(2), gpt(ESP)),
            ("ubuntu-boot", 1202 * MIB, 750 * MIB, Some(3), gpt(LINUX)),
            ("ubuntu-save", 1952 * MIB, 16 * MIB, Some(4), gpt(LINUX)),
            ("ubuntu-data", 1968 * MIB, 1024 * MIB, Some(5), gpt(LINUX)),
        ]
    );
    // snapd's TestVolumeSizes: (1 + 1 + 1200 + 750 + 16 + 1024) MiB.
    assert_eq!(l.min_size, 2992 * MIB);
    assert_eq!(l.size, 2992 * MIB);
    assert!(l.structures.iter().all(|s| s.start_known));

    // offset-write: mbr+92 gets the BIOS Boot start in sectors: LE32(2048) at byte 92.
    let bios = &l.structures[1];
    assert_eq!(bios.offset_write, Some(92));
    assert_eq!(bios.start_lba(512), Some(2048));
    assert_eq!(bios.start_lba(4096), Some(256));

    let roles: Vec<_> = l.structures.iter().map(|s| s.role).collect();
    assert_eq!(
        roles,
        [
            Some(Role::Mbr),
            None,
            Some(Role::SystemSeed),
            Some(Role::SystemBoot),
            Some(Role::SystemSave),
            Some(Role::SystemData),
        ]
    );
    // Raw content: pc-boot.img at the start of the MBR, pc-core.img at the start of BIOS Boot.
    let mbr_img = &l.structures[0].raw_content[0];
    assert_eq!(
        (mbr_img.image.as_str(), mbr_img.start),
        ("pc-boot.img", Some(0))
    );
    let core_img = &bios.raw_content[0];
    assert_eq!(
        (core_img.image.as_str(), core_img.start),
        ("pc-core.img", Some(MIB))
    );
}

#[test]
fn raspberry_pi_piboot_gadget() {
    let l = lay_out_corpus("ubuntu-image_gadget_tree_piboot_meta_gadget.yaml");
    assert_eq!(l.schema, Schema::Mbr);
    let mbr = |c: u8| Some(PartitionType::Mbr(c));
    // §2.4: p1 ubuntu-seed vfat 1200 MiB type 0C at 1 MiB, p2 ubuntu-boot 750 MiB 0C,
    // p3 ubuntu-save ext4 83, p4 ubuntu-data ext4 83.
    assert_eq!(
        rows(&l),
        vec![
            ("ubuntu-seed", MIB, 1200 * MIB, Some(1), mbr(0x0c)),
            ("ubuntu-boot", 1201 * MIB, 750 * MIB, Some(2), mbr(0x0c)),
            ("ubuntu-save", 1951 * MIB, 16 * MIB, Some(3), mbr(0x83)),
            ("ubuntu-data", 1967 * MIB, 1500 * MIB, Some(4), mbr(0x83)),
        ]
    );
    assert_eq!(l.min_size, 3467 * MIB);
    l.check_fits(gadget_kernel::DiskGeometry {
        size: 4096 * MIB,
        sector_size: 512,
    })
    .expect("fits a 4 GiB card");
}

#[test]
fn pc_uc18_gadget() {
    // snapd's TestVolumeSizes: the UC18 pc gadget is (1 + 1 + 50) MiB.
    let l = lay_out_corpus("snapd_tests_lib_snaps_test-snapd-remodel-pc-18_meta_gadget.yaml");
    assert_eq!(
        rows(&l),
        vec![
            ("mbr", 0, 440, None, None),
            ("BIOS Boot", MIB, MIB, Some(1), gpt(BIOS_BOOT)),
            ("EFI System", 2 * MIB, 50 * MIB, Some(2), gpt(ESP)),
        ]
    );
    assert_eq!(l.size, 52 * MIB);
}

#[test]
fn pc_with_a_size_range() {
    // ubuntu-save is 16M..32M: ubuntu-data's start is not known from the gadget; it is laid
    // out after the full 32M.
    let l =
        lay_out_corpus("snapd_tests_lib_snaps_test-snapd-remodel-pc-min-size-22_meta_gadget.yaml");
    let data = l.structures.last().expect("data");
    assert_eq!(data.name.as_deref(), Some("ubuntu-data"));
    assert!(!data.start_known);
    assert_eq!(data.start, (1952 + 32) * MIB);
    assert_eq!(data.partition_number, Some(5));
    assert_eq!(l.min_size, (1 + 1 + 1200 + 750 + 16 + 1024) * MIB);
    assert_eq!(l.size, (1 + 1 + 1200 + 750 + 32 + 1024) * MIB);
}

#[test]
fn after_a_size_range_a_structure_still_starts_at_1mib() {
    // "a" ends at 512..4096 bytes, so the next start is not known from the gadget; it is laid
    // out after the full size, but never before 1 MiB (a proptest case).
    let g = parse_gadget_yaml(
        b"volumes:\n  pc:\n    bootloader: grub\n    structure:\n      - name: a\n        \
          type: bare\n        size: 4096\n        min-size: 512\n        offset: 0\n      \
          - name: b\n        type: bare\n        size: 1M\n",
    )
    .expect("parses");
    let l = layout(common::only_volume(&g)).expect("lays out");
    let b = &l.structures[1];
    assert!(!b.start_known);
    assert_eq!(b.start, MIB);
}

#[test]
fn uboot_state_partition_at_explicit_offsets() {
    let l = lay_out_corpus("ubuntu-image_gadget-ubootpart.yaml");
    let starts: Vec<_> = l
        .structures
        .iter()
        .map(|s| (s.start, s.partition_number))
        .collect();
    assert_eq!(
        starts,
        [
            (10_485_760, Some(1)),
            (74_448_896, Some(2)),
            (913_309_696, Some(3)),
            (1_227_882_496, Some(4)),
            (1_244_659_712, Some(5)),
        ]
    );
    assert_eq!(l.structures[0].role, Some(Role::SystemBootState));
}

#[test]
fn the_mbr_is_not_a_partition_and_others_start_at_1mib() {
    // BIOS Boot after the MBR is pushed to 1 MiB; the 4 KiB "empty" partition follows it.
    let l = lay_out_corpus("ubuntu-image_gadget-empty-part.yaml");
    assert_eq!(
        rows(&l)
            .into_iter()
            .map(|(n, s, _, p, _)| (n, s, p))
            .collect::<Vec<_>>(),
        vec![
            ("mbr", 0, None),
            ("BIOS Boot", MIB, Some(1)),
            ("empty", 2 * MIB, Some(2)),
            ("EFI System", 2 * MIB + 4096, Some(3)),
        ]
    );
}

#[test]
fn emmc_volumes_have_hardware_partitions() {
    let gadget = parse_gadget_yaml(&common::corpus_file("ubuntu-image_gadget-emmc.yaml")).unwrap();
    let emmc = gadget.volume("my-emmc").expect("emmc volume");
    assert_eq!(emmc.schema, Some(Schema::Emmc));
    let l = layout(emmc).unwrap();
    assert_eq!(l.structures.len(), 1);
    let boot0 = &l.structures[0];
    assert_eq!(
        (boot0.start, boot0.size, boot0.partition_number),
        (0, 0, None)
    );
    assert_eq!(boot0.raw_content[0].image, "pc-boot.img");
    // The volumes come back in file order.
    let names: Vec<_> = gadget.volumes().iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["pc", "my-emmc"]);
}
