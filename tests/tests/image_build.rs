//! `snap-image` end to end: images built from a pc-like (GPT) and a Raspberry Pi-like (MBR)
//! gadget made here, checked with the system's own tools (sfdisk, fsck.fat, e2fsck, mtools,
//! debugfs) without mounting anything; bad inputs fail clearly and leave nothing behind.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use snap_tests::*;

const PC_GADGET: &str = r#"volumes:
  pc:
    bootloader: grub
    structure:
      - name: mbr
        type: mbr
        size: 440
        content:
          - image: pc-boot.img
      - name: BIOS Boot
        type: DA,21686148-6449-6E6F-744E-656564454649
        size: 1M
        offset: 1M
        offset-write: mbr+92
        content:
          - image: pc-core.img
      - name: ubuntu-seed
        role: system-seed
        filesystem: vfat
        type: EF,C12A7328-F81F-11D2-BA4B-00A0C93EC93B
        size: 40M
        content:
          - source: grubx64.efi
            target: EFI/boot/grubx64.efi
          - source: shim.efi.signed
            target: EFI/boot/bootx64.efi
      - name: ubuntu-boot
        role: system-boot
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 12M
        content:
          - source: grubx64.efi
            target: EFI/boot/grubx64.efi
          - source: assets/
            target: /extra/
      - name: ubuntu-save
        role: system-save
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 4M
      - name: ubuntu-data
        role: system-data
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 16M
"#;

const PI_GADGET: &str = r#"volumes:
  pi:
    schema: mbr
    bootloader: u-boot
    structure:
      - name: system-boot
        type: 0C
        filesystem: vfat
        filesystem-label: system-boot
        size: 40M
        content:
          - source: $kernel:dtbs/dtbs/broadcom/
            target: /
          - source: boot-assets/
            target: /
      - name: writable
        role: system-data
        type: 83
        filesystem: ext4
        filesystem-label: writable
        size: 24M
"#;

/// 440 bytes of boot code and a 3000-byte core image with recognisable contents.
fn pattern(len: usize, seed: u8) -> String {
    (0..len)
        .map(|i| char::from(b'a' + ((i as u8).wrapping_mul(7).wrapping_add(seed)) % 26))
        .collect()
}

struct Inputs {
    dir: tempfile::TempDir,
    model: PathBuf,
    snaps: Vec<PathBuf>,
}

fn gadget_snap(out: &Path, name: &str, gadget_yaml: &str, extra: &[(&str, &str, u32)]) -> PathBuf {
    let yaml = format!("name: {name}\nversion: '1'\ntype: gadget\nsummary: test gadget\n");
    let mut files: Vec<(&str, &str, u32)> = vec![("meta/gadget.yaml", gadget_yaml, 0o644)];
    files.extend_from_slice(extra);
    make_snap(out, &yaml, &files)
}

/// A kernel with a `dtbs` asset; `update: true` only where the gadget uses it (snapd refuses
/// an update asset no gadget content installs).
fn kernel_snap(out: &Path, name: &str, update: bool) -> PathBuf {
    let yaml = format!("name: {name}\nversion: '1'\ntype: kernel\nsummary: test kernel\n");
    let kernel_yaml =
        format!("assets:\n  dtbs:\n    update: {update}\n    content:\n      - dtbs/\n");
    make_snap(
        out,
        &yaml,
        &[
            ("kernel.img", "not really a kernel\n", 0o644),
            ("initrd.img", "not really an initrd\n", 0o644),
            ("meta/kernel.yaml", &kernel_yaml, 0o644),
            ("dtbs/broadcom/bcm2711-rpi-4-b.dtb", "dtb bytes\n", 0o644),
        ],
    )
}

fn snapd_snap(out: &Path) -> PathBuf {
    make_snap(
        out,
        "name: snapd\nversion: '1'\ntype: snapd\nsummary: snapd\n",
        &[("usr/lib/snapd/snapd", "#!/bin/sh\n", 0o755)],
    )
}

/// The snaps and a model for `gadget_yaml`; `grade` selects a UC20-style seed.
fn inputs(
    gadget_yaml: &str,
    gadget_files: &[(&str, &str, u32)],
    grade: bool,
    kernel: &str,
) -> Inputs {
    let update = gadget_yaml.contains("$kernel:dtbs/");
    inputs_with_kernel(gadget_yaml, gadget_files, grade, kernel, update)
}

fn inputs_with_kernel(
    gadget_yaml: &str,
    gadget_files: &[(&str, &str, u32)],
    grade: bool,
    kernel: &str,
    kernel_update_asset: bool,
) -> Inputs {
    let dir = tempfile::tempdir().unwrap();
    let snaps_dir = dir.path().join("snaps");
    let gadget = gadget_snap(&snaps_dir, "test-gadget", gadget_yaml, gadget_files);
    let kernel = kernel_snap(&snaps_dir, kernel, kernel_update_asset);
    let base = base_snap(&snaps_dir, "core22");
    let snapd = snapd_snap(&snaps_dir);
    let app = app_snap(&snaps_dir, "hello", "1.0", "core22");
    let rel = |p: &Path| p.strip_prefix(dir.path()).unwrap().display().to_string();
    let model = format!(
        "name: test-device\narchitecture: amd64\n{}snaps:\n  gadget: {}\n  kernel: {}\n  base: {}\n  snapd: {}\n  apps:\n    - {}\n",
        if grade {
            "grade: dangerous\nsystem-label: \"20240101\"\n"
        } else {
            ""
        },
        rel(&gadget),
        rel(&kernel),
        rel(&base),
        rel(&snapd),
        rel(&app),
    );
    let model_path = dir.path().join("model.yaml");
    fs::write(&model_path, model).unwrap();
    Inputs {
        model: model_path,
        snaps: vec![gadget, kernel, base, snapd, app],
        dir,
    }
}

fn pc_files() -> Vec<(&'static str, String, u32)> {
    vec![
        ("pc-boot.img", pattern(440, 1), 0o644),
        ("pc-core.img", pattern(3000, 2), 0o644),
        ("grubx64.efi", "grub efi binary\n".into(), 0o644),
        ("shim.efi.signed", "shim binary\n".into(), 0o644),
        ("assets/one.txt", "one\n".into(), 0o644),
        ("assets/sub/two.txt", "two\n".into(), 0o600),
        ("grub.conf", String::new(), 0o644),
    ]
}

fn as_refs<'a>(v: &'a [(&'static str, String, u32)]) -> Vec<(&'static str, &'a str, u32)> {
    v.iter().map(|(p, c, m)| (*p, c.as_str(), *m)).collect()
}

fn pc_inputs() -> Inputs {
    let files = pc_files();
    inputs(PC_GADGET, &as_refs(&files), true, "pc-kernel")
}

fn pi_inputs() -> Inputs {
    let files = [
        ("boot-assets/config.txt", "kernel=uboot.bin\n", 0o644),
        ("boot-assets/uboot.bin", "u-boot\n", 0o644),
        ("uboot.conf", "", 0o644),
    ];
    inputs(PI_GADGET, &files, false, "pi-kernel")
}

fn snap_image(model: &Path, out: &Path) -> Output {
    output_within(
        Command::new(bin("snap-image"))
            .arg(model)
            .arg("-o")
            .arg(out),
        Duration::from_secs(120),
    )
}

fn run(cmd: &mut Command) -> String {
    ok(&output_within(cmd, Duration::from_secs(60)))
}

fn sfdisk_json(img: &Path) -> serde_json::Value {
    let text = run(Command::new("sfdisk").arg("--json").arg(img));
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["partitiontable"].clone()
}

/// (start, size) in bytes of partition `n` (1-based) per sfdisk.
fn partition(table: &serde_json::Value, n: usize) -> (u64, u64) {
    let p = &table["partitions"][n - 1];
    (
        p["start"].as_u64().unwrap() * 512,
        p["size"].as_u64().unwrap() * 512,
    )
}

/// Copies bytes [start, start+size) of `img` into a new file.
fn extract(img: &Path, start: u64, size: u64, into: &Path) -> PathBuf {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = fs::File::open(img).unwrap();
    f.seek(SeekFrom::Start(start)).unwrap();
    let mut buf = vec![0u8; size as usize];
    f.read_exact(&mut buf).unwrap();
    let path = into.join(format!("part-{start}.img"));
    fs::write(&path, buf).unwrap();
    path
}

fn fat_read(img: &Path, offset: u64, path: &str, scratch: &Path) -> Vec<u8> {
    let dest = scratch.join("fat-read");
    let _ = fs::remove_file(&dest);
    run(Command::new("mcopy")
        .env("MTOOLS_SKIP_CHECK", "1")
        .arg("-i")
        .arg(format!("{}@@{offset}", img.display()))
        .arg(format!("::{path}"))
        .arg(&dest));
    fs::read(&dest).unwrap()
}

fn ext4_read(part: &Path, path: &str) -> String {
    let out = output_within(
        Command::new("debugfs")
            .arg("-R")
            .arg(format!("cat {path}"))
            .arg(part),
        Duration::from_secs(30),
    );
    String::from_utf8_lossy(&ok(&out).into_bytes()).into_owned()
}

fn fsck_fat(part: &Path) {
    run(Command::new("fsck.fat").arg("-n").arg(part));
}

fn e2fsck(part: &Path) {
    run(Command::new("e2fsck").arg("-fn").arg(part));
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn pc_image_is_reproducible_and_checks_out() {
    let inp = pc_inputs();
    let out1 = inp.dir.path().join("out1");
    let started = Instant::now();
    let o = ok(&snap_image(&inp.model, &out1));
    eprintln!("pc image built in {:.2}s", started.elapsed().as_secs_f64());
    let img = out1.join("pc.img");
    assert_eq!(o.trim(), img.display().to_string());
    assert_eq!(
        dir_entries(&out1),
        ["pc.img"],
        "only the image is left in the output directory"
    );

    // Same inputs, another directory, later: the same bytes.
    std::thread::sleep(Duration::from_millis(1100));
    let out2 = inp.dir.path().join("out2");
    ok(&snap_image(&inp.model, &out2));
    assert!(
        fs::read(&img).unwrap() == fs::read(out2.join("pc.img")).unwrap(),
        "two builds differ"
    );

    // The partition table, as sfdisk reads it.
    let t = sfdisk_json(&img);
    assert_eq!(t["label"], "gpt");
    let parts = t["partitions"].as_array().unwrap();
    let want = [
        (
            "BIOS Boot",
            "21686148-6449-6E6F-744E-656564454649",
            1 << 20,
            1 << 20,
        ),
        (
            "ubuntu-seed",
            "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
            2 << 20,
            40 << 20,
        ),
        (
            "ubuntu-boot",
            "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
            42 << 20,
            12 << 20,
        ),
        (
            "ubuntu-save",
            "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
            54 << 20,
            4 << 20,
        ),
        (
            "ubuntu-data",
            "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
            58 << 20,
            16 << 20,
        ),
    ];
    assert_eq!(parts.len(), want.len(), "{t}");
    for (i, (name, ty, start, size)) in want.iter().enumerate() {
        assert_eq!(parts[i]["name"], *name, "{t}");
        assert_eq!(parts[i]["type"], *ty, "{t}");
        assert_eq!(
            partition(&t, i + 1),
            (*start as u64, *size as u64),
            "{name}"
        );
    }
    let uuids: Vec<&str> = parts.iter().map(|p| p["uuid"].as_str().unwrap()).collect();
    let mut distinct = uuids.clone();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        uuids.len(),
        "partition GUIDs must differ: {uuids:?}"
    );

    // Raw structures and the offset-write.
    let bytes = fs::read(&img).unwrap();
    let boot_code = pattern(440, 1);
    // The mbr structure, except bytes 92..96, where offset-write put the LBA of BIOS Boot
    // (grub's boot.img finds core.img through it): 1 MiB / 512.
    assert!(
        bytes[..92] == boot_code.as_bytes()[..92] && bytes[96..440] == boot_code.as_bytes()[96..],
        "mbr structure"
    );
    let at92 = u32::from_le_bytes(bytes[92..96].try_into().unwrap());
    assert_eq!(at92, 2048);
    assert!(
        bytes[1 << 20..(1 << 20) + 3000] == *pattern(3000, 2).as_bytes(),
        "BIOS Boot content"
    );
    drop(bytes);

    // The seed partition: FAT, gadget content, seed, grub environment.
    let scratch = inp.dir.path().join("scratch");
    fs::create_dir_all(&scratch).unwrap();
    let (seed_start, seed_size) = partition(&t, 2);
    fsck_fat(&extract(&img, seed_start, seed_size, &scratch));
    let label = run(Command::new("mlabel")
        .env("MTOOLS_SKIP_CHECK", "1")
        .arg("-s")
        .arg("-i")
        .arg(format!("{}@@{seed_start}", img.display()))
        .arg("::"));
    assert!(
        label.contains("UBUNTU-SEED") || label.contains("ubuntu-seed"),
        "{label}"
    );
    assert_eq!(
        fat_read(&img, seed_start, "/EFI/boot/bootx64.efi", &scratch),
        b"shim binary\n"
    );
    assert_eq!(
        fat_read(&img, seed_start, "/EFI/boot/grubx64.efi", &scratch),
        b"grub efi binary\n"
    );
    let seed_yaml = String::from_utf8(fat_read(&img, seed_start, "/seed.yaml", &scratch)).unwrap();
    let order: Vec<&str> = seed_yaml
        .lines()
        .filter_map(|l| l.strip_prefix("  - name: "))
        .collect();
    assert_eq!(
        order,
        ["snapd", "core22", "pc-kernel", "test-gadget", "hello"],
        "{seed_yaml}"
    );
    for (snap, name) in
        inp.snaps
            .iter()
            .zip(["test-gadget", "pc-kernel", "core22", "snapd", "hello"])
    {
        let copied = fat_read(
            &img,
            seed_start,
            &format!("/snaps/{name}_x1.snap"),
            &scratch,
        );
        assert!(
            copied == fs::read(snap).unwrap(),
            "{name} differs from its .snap in the seed"
        );
    }
    let grubenv = fat_read(&img, seed_start, "/EFI/ubuntu/grubenv", &scratch);
    assert_eq!(grubenv.len(), 1024);
    let text = String::from_utf8(grubenv).unwrap();
    assert!(text.starts_with("# GRUB Environment Block\nsnapd_recovery_mode=install\nsnapd_recovery_system=20240101\n#"), "{text}");

    // ext4 structures: clean, with their content, owned by root, at the fixed time.
    let (boot_start, boot_size) = partition(&t, 3);
    let boot = extract(&img, boot_start, boot_size, &scratch);
    e2fsck(&boot);
    assert_eq!(
        ext4_read(&boot, "/EFI/boot/grubx64.efi"),
        "grub efi binary\n"
    );
    assert_eq!(ext4_read(&boot, "/extra/sub/two.txt"), "two\n");
    let stat = run(Command::new("debugfs")
        .arg("-R")
        .arg("stat /extra/sub/two.txt")
        .arg(&boot));
    assert!(stat.contains("Mode:  0600"), "{stat}");
    assert!(stat.contains("User:     0   Group:     0"), "{stat}");
    assert!(
        stat.contains("mtime: 0x5e0be100"),
        "2020-01-01 expected: {stat}"
    );
    let sb = run(Command::new("dumpe2fs").arg("-h").arg(&boot));
    assert!(sb.contains("Filesystem volume name:   ubuntu-boot"), "{sb}");
    for n in [4, 5] {
        let (s, z) = partition(&t, n);
        e2fsck(&extract(&img, s, z, &scratch));
    }
}

#[test]
fn pi_mbr_image_has_its_table_seed_and_uboot_env() {
    let inp = pi_inputs();
    let out = inp.dir.path().join("out");
    ok(&snap_image(&inp.model, &out));
    let img = out.join("pi.img");
    let t = sfdisk_json(&img);
    assert_eq!(t["label"], "dos", "{t}");
    let parts = t["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 2, "{t}");
    assert_eq!(parts[0]["type"], "c");
    assert_eq!(
        parts[0]["bootable"], true,
        "system-boot is the active partition: {t}"
    );
    assert_eq!(parts[1]["type"], "83");
    assert!(parts[1].get("bootable").is_none(), "{t}");
    assert_eq!(partition(&t, 1), (1 << 20, 40 << 20));
    assert_eq!(partition(&t, 2), (41 << 20, 24 << 20));
    let id = t["id"].as_str().unwrap().to_owned();
    assert_ne!(
        id, "0x00000000",
        "the disk signature is derived from the inputs"
    );

    let scratch = inp.dir.path().join("scratch");
    fs::create_dir_all(&scratch).unwrap();
    let (bs, bz) = partition(&t, 1);
    fsck_fat(&extract(&img, bs, bz, &scratch));
    // $kernel: content comes from the kernel snap, the rest from the gadget.
    assert_eq!(
        fat_read(&img, bs, "/bcm2711-rpi-4-b.dtb", &scratch),
        b"dtb bytes\n"
    );
    assert_eq!(
        fat_read(&img, bs, "/config.txt", &scratch),
        b"kernel=uboot.bin\n"
    );
    let env = fat_read(&img, bs, "/uboot.env", &scratch);
    assert_eq!(env.len(), 131072);
    let body = String::from_utf8_lossy(&env[5..200]).into_owned();
    assert!(
        body.starts_with("snap_core=core22_x1.snap\0snap_kernel=pi-kernel_x1.snap\0\0"),
        "{body:?}"
    );

    // A UC16/18-style seed lives in writable.
    let (ws, wz) = partition(&t, 2);
    let writable = extract(&img, ws, wz, &scratch);
    e2fsck(&writable);
    let seed_yaml = ext4_read(&writable, "/system-data/var/lib/snapd/seed/seed.yaml");
    assert!(
        seed_yaml
            .starts_with("snaps:\n  - name: snapd\n    type: snapd\n    file: snapd_x1.snap\n"),
        "{seed_yaml}"
    );
    let ls = run(Command::new("debugfs")
        .arg("-R")
        .arg("ls -p /system-data/var/lib/snapd/seed/snaps")
        .arg(&writable));
    for f in [
        "core22_x1.snap",
        "pi-kernel_x1.snap",
        "test-gadget_x1.snap",
        "snapd_x1.snap",
        "hello_x1.snap",
    ] {
        assert!(ls.contains(&format!("/{f}/")), "{f} missing: {ls}");
    }

    // Building again gives the same bytes.
    let out2 = inp.dir.path().join("out2");
    ok(&snap_image(&inp.model, &out2));
    assert!(
        fs::read(&img).unwrap() == fs::read(out2.join("pi.img")).unwrap(),
        "two builds differ"
    );
}

/// A failed build says why and leaves the output directory as it was.
fn assert_fails_cleanly(inp: &Inputs, want: &str) {
    let out = inp.dir.path().join("out");
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("unrelated"), "keep me").unwrap();
    let err = fails(&snap_image(&inp.model, &out));
    assert!(err.contains(want), "expected {want:?} in: {err}");
    assert_eq!(
        dir_entries(&out),
        ["unrelated"],
        "a failed build left files behind"
    );
}

#[test]
fn overlapping_structures_are_refused() {
    let gadget = PC_GADGET.replace(
        "        size: 4M\n",
        "        size: 4M\n        offset: 50M\n",
    );
    let files = pc_files();
    let inp = inputs(&gadget, &as_refs(&files), true, "pc-kernel");
    assert_fails_cleanly(&inp, "overlaps with the preceding structure");
}

#[test]
fn content_missing_from_the_gadget_is_refused() {
    let files: Vec<_> = pc_files()
        .into_iter()
        .filter(|(p, _, _)| *p != "shim.efi.signed")
        .collect();
    let inp = inputs(PC_GADGET, &as_refs(&files), true, "pc-kernel");
    assert_fails_cleanly(
        &inp,
        "content source \"shim.efi.signed\" is not in the gadget snap",
    );

    let files: Vec<_> = pc_files()
        .into_iter()
        .filter(|(p, _, _)| *p != "pc-core.img")
        .collect();
    let inp = inputs(PC_GADGET, &as_refs(&files), true, "pc-kernel");
    assert_fails_cleanly(
        &inp,
        "content image \"pc-core.img\" is not in the gadget snap",
    );

    // A kernel asset the kernel needs installed (update: true) that the gadget never uses.
    let files = pc_files();
    let inp = inputs_with_kernel(PC_GADGET, &as_refs(&files), true, "pc-kernel", true);
    assert_fails_cleanly(
        &inp,
        "update: true, but the gadget's content does not use them",
    );
}

#[test]
fn structures_too_small_for_their_content_are_refused() {
    // A raw image larger than its structure.
    let mut files = pc_files();
    files.retain(|(p, _, _)| *p != "pc-core.img");
    files.push(("pc-core.img", pattern(2 << 20, 3), 0o644));
    let inp = inputs(PC_GADGET, &as_refs(&files), true, "pc-kernel");
    assert_fails_cleanly(&inp, "does not fit in the structure");

    // Files that pass the size estimate but not ext4's own overhead: mkfs.ext4 fails midway
    // through the build, after the table and other structures were written.
    let mut files = pc_files();
    files.push(("assets/big.bin", pattern(11 << 20, 5), 0o644));
    let inp = inputs(PC_GADGET, &as_refs(&files), true, "pc-kernel");
    assert_fails_cleanly(&inp, "too small for its content");

    // Files larger than a filesystem structure.
    let mut files = pc_files();
    files.push(("assets/big.bin", pattern(13 << 20, 4), 0o644));
    let inp = inputs(PC_GADGET, &as_refs(&files), true, "pc-kernel");
    assert_fails_cleanly(&inp, "too small for its content");
}

#[test]
fn an_existing_image_is_never_overwritten() {
    let inp = pc_inputs();
    let out = inp.dir.path().join("out");
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("pc.img"), "precious").unwrap();
    let err = fails(&snap_image(&inp.model, &out));
    assert!(err.contains("pc.img already exists"), "{err}");
    assert_eq!(fs::read_to_string(out.join("pc.img")).unwrap(), "precious");
    assert_eq!(dir_entries(&out), ["pc.img"]);
}
