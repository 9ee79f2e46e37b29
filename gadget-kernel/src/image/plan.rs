//! What goes where in each image, decided before a byte is written: the partition table, the
//! raw images and their offsets, the files of every filesystem (gadget content, the seed,
//! bootloader environments), the identifiers, the `offset-write` values, the image size.
//! Pure: the snaps are seen through their listings, so every rule here is unit-tested.

use std::sync::Arc;

use crate::image::content::{
    EnvKind, FsTree, KernelAssets, Listing, Node, NodeKind, SnapRole, Sources, apply_content,
};
use crate::image::gpt::GptEntry;
use crate::image::guid::Guid;
use crate::image::mbr::MbrEntry;
use crate::image::model::ImageModel;
use crate::image::seed::{SeedSnap, seed_yaml};
use crate::layout::{StructureLayout, VolumeLayout};
use crate::model::{Bootloader, Content, Filesystem, GadgetYaml, Role, Schema, Volume};
use crate::structure_type::PartitionType;
use crate::{DiskGeometry, layout_with_image_sizes};

const MIB: u64 = 1024 * 1024;

/// Everything the plan is made from.
pub struct PlanInputs<'a> {
    pub gadget: &'a GadgetYaml,
    pub model: &'a ImageModel,
    pub gadget_files: &'a Listing,
    pub kernel_files: &'a Listing,
    pub kernel_assets: &'a KernelAssets,
    /// In install order.
    pub seed: &'a [SeedSnap],
    /// A digest of every input; identifiers are derived from it.
    pub identity: &'a [u8],
}

/// One image file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumePlan {
    pub name: String,
    pub sector_size: u64,
    pub image_size: u64,
    pub table: Table,
    pub structures: Vec<StructurePlan>,
    pub offset_writes: Vec<OffsetWrite>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Table {
    Gpt {
        disk_guid: Guid,
        entries: Vec<GptEntry>,
    },
    Mbr {
        disk_signature: u32,
        entries: Vec<MbrEntry>,
    },
}

/// `LE32(value)` written at byte `at` of the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetWrite {
    pub at: u64,
    pub value: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructurePlan {
    /// `#<index> ("<name>")`, for messages.
    pub describe: String,
    pub start: u64,
    pub size: u64,
    pub body: Body,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Images from the gadget written at absolute offsets of the image.
    Raw(Vec<RawImage>),
    Filesystem(FsPlan),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawImage {
    pub image: String,
    pub at: u64,
    pub size: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsPlan {
    pub filesystem: Filesystem,
    pub label: Option<String>,
    /// The ext4 UUID and hash seed; its first 4 bytes are the FAT volume id.
    pub id: Guid,
    pub tree: FsTree,
}

/// The smallest FAT32 filesystem mkfs.vfat makes with one sector per cluster: 65525
/// clusters, 32 reserved sectors and two FATs of 4 bytes per cluster.
pub fn fat32_min_bytes(sector_size: u64) -> u64 {
    let clusters = 65_525u64;
    let fat_sectors = (clusters + 2) * 4;
    (clusters + 32 + 2 * fat_sectors.div_ceil(sector_size) + 1) * sector_size
}

fn clean(p: &str) -> String {
    p.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// Where the seed and the bootloader environment go.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Placement {
    volume: String,
    yaml_index: usize,
    dir: String,
}

fn find_role(gadget: &GadgetYaml, role: Role) -> Option<(&Volume, usize)> {
    gadget.volumes().iter().find_map(|v| {
        v.structures
            .iter()
            .find(|s| s.role == Some(role) && s.has_filesystem())
            .map(|s| (v, s.yaml_index))
    })
}

fn seed_placement(inputs: &PlanInputs<'_>) -> Result<Placement, String> {
    let (role, dir) = if inputs.model.grade.is_some() {
        (Role::SystemSeed, "")
    } else {
        (Role::SystemData, "system-data/var/lib/snapd/seed")
    };
    let (v, idx) = find_role(inputs.gadget, role).ok_or_else(|| {
        format!("the gadget has no {role} structure with a filesystem to hold the seed")
    })?;
    Ok(Placement {
        volume: v.name.clone(),
        yaml_index: idx,
        dir: dir.to_owned(),
    })
}

/// The bootloader environment to write: where, which file, which variables.
struct EnvPlan {
    at: Placement,
    path: String,
    kind: EnvKind,
    vars: Vec<(String, String)>,
}

fn env_plan(inputs: &PlanInputs<'_>, seed_at: &Placement) -> Option<EnvPlan> {
    let model = inputs.model;
    let file_of = |t: snap_core::SnapType| {
        inputs
            .seed
            .iter()
            .find(|s| s.snap_type == t)
            .map(|s| s.file_name())
            .unwrap_or_default()
    };
    let boot_vars = || {
        vec![
            ("snap_core".to_owned(), file_of(snap_core::SnapType::Base)),
            (
                "snap_kernel".to_owned(),
                file_of(snap_core::SnapType::Kernel),
            ),
            ("snap_mode".to_owned(), String::new()),
            ("snap_try_core".to_owned(), String::new()),
            ("snap_try_kernel".to_owned(), String::new()),
        ]
    };
    let recovery_vars = || {
        vec![
            ("snapd_recovery_mode".to_owned(), "install".to_owned()),
            (
                "snapd_recovery_system".to_owned(),
                model.system_label.clone(),
            ),
        ]
    };
    let boot_at = || {
        find_role(inputs.gadget, Role::SystemBoot).map(|(v, idx)| Placement {
            volume: v.name.clone(),
            yaml_index: idx,
            dir: String::new(),
        })
    };
    let seed_root = Placement {
        dir: String::new(),
        ..seed_at.clone()
    };
    match (inputs.gadget.bootloader()?, model.grade.is_some()) {
        (Bootloader::Grub, true) => Some(EnvPlan {
            at: seed_root,
            path: "EFI/ubuntu/grubenv".into(),
            kind: EnvKind::Grub,
            vars: recovery_vars(),
        }),
        (Bootloader::Grub, false) => Some(EnvPlan {
            at: boot_at()?,
            path: "EFI/ubuntu/grubenv".into(),
            kind: EnvKind::Grub,
            vars: boot_vars(),
        }),
        (Bootloader::UBoot, true) => Some(EnvPlan {
            at: seed_root,
            path: "uboot/ubuntu/boot.sel".into(),
            kind: EnvKind::Uboot {
                size: 4096,
                redundant: true,
            },
            vars: recovery_vars(),
        }),
        (Bootloader::UBoot, false) => Some(EnvPlan {
            at: boot_at()?,
            path: "uboot.env".into(),
            kind: EnvKind::Uboot {
                size: 131_072,
                redundant: true,
            },
            vars: boot_vars(),
        }),
        // piboot, lk and android-boot environments are written by the device, not the image.
        _ => None,
    }
}

/// The seeded kernel's boot files, extracted to `system-boot` as snapd does
/// (`spec/boot.md`): `<dir>/<kernel file>/kernel.img`, ...
struct ExtractPlan {
    at: Placement,
    /// (path in the kernel snap, path on the filesystem, size, mode)
    files: Vec<(String, String, u64, u16)>,
}

fn extract_plan(inputs: &PlanInputs<'_>) -> Result<Option<ExtractPlan>, String> {
    let Some(bootloader) = inputs.gadget.bootloader() else {
        return Ok(None);
    };
    let Some(dir) = crate::boot::kernel_assets_dir(bootloader, inputs.model.grade.is_some()) else {
        return Ok(None);
    };
    let Some((v, idx)) = find_role(inputs.gadget, Role::SystemBoot) else {
        return Ok(None);
    };
    let Some(kernel) = inputs
        .seed
        .iter()
        .find(|s| s.snap_type == snap_core::SnapType::Kernel)
    else {
        return Ok(None);
    };
    // A kernel without a boot image has nothing to extract (it is refused when the
    // device installs it); one whose boot image is broken is refused here.
    let info = match crate::kernel::KernelSnap::from_listing(inputs.kernel_files, None) {
        Ok(info) => info,
        Err(crate::kernel::KernelError::NoKernel) => return Ok(None),
        Err(e) => return Err(format!("kernel snap: {e}")),
    };
    let kernel_file = kernel.file_name();
    let files = info
        .boot_files(bootloader)
        .into_iter()
        .map(|f| {
            let (size, mode) = crate::kernel::resolved_file(inputs.kernel_files, &f)
                .expect("boot files are checked files");
            let to = crate::boot::kernel_asset_path(dir, &kernel_file, &f);
            (f, to, size, mode)
        })
        .collect();
    Ok(Some(ExtractPlan {
        at: Placement {
            volume: v.name.clone(),
            yaml_index: idx,
            dir: String::new(),
        },
        files,
    }))
}

/// Plans every volume of the gadget, in the gadget's order.
pub fn plan_volumes(inputs: &PlanInputs<'_>) -> Result<Vec<VolumePlan>, String> {
    let seed_at = seed_placement(inputs)?;
    let env = env_plan(inputs, &seed_at);
    let extract = extract_plan(inputs)?;
    inputs
        .gadget
        .volumes()
        .iter()
        .map(|v| plan_volume(inputs, v, &seed_at, env.as_ref(), extract.as_ref()))
        .collect()
}

fn plan_volume(
    inputs: &PlanInputs<'_>,
    volume: &Volume,
    seed_at: &Placement,
    env: Option<&EnvPlan>,
    extract: Option<&ExtractPlan>,
) -> Result<VolumePlan, String> {
    let vol_err = |reason: String| format!("volume {:?}: {reason}", volume.name);
    let ss = inputs.model.sector_size;
    if volume.schema == Some(Schema::Emmc) {
        return Err(vol_err(
            "eMMC volumes (schema: emmc) are not supported by snap-image".into(),
        ));
    }
    // Raw images must be in the gadget before their sizes can place them.
    for s in &volume.structures {
        if s.has_filesystem() {
            continue;
        }
        for c in &s.content {
            if let Content::Raw { image, .. } = c
                && !matches!(
                    inputs.gadget_files.get(&clean(image)),
                    Some(NodeKind::File { .. })
                )
            {
                return Err(vol_err(format!(
                    "structure {}: content image {image:?} is not in the gadget snap",
                    s.describe()
                )));
            }
        }
    }
    let sizes = |image: &str| match inputs.gadget_files.get(&clean(image)) {
        Some(NodeKind::File { size, .. }) => Some(*size),
        _ => None,
    };
    let layout = layout_with_image_sizes(volume, &sizes).map_err(|e| e.to_string())?;
    let image_size = image_size(&layout, inputs.model.image_size, ss);
    layout
        .check_fits(DiskGeometry {
            size: image_size,
            sector_size: ss,
        })
        .map_err(|e| e.to_string())?;

    let identity = inputs.identity;
    let purpose = |what: String| format!("volume {} {what}", volume.name);
    let mut structures = Vec::new();
    let mut offset_writes = Vec::new();
    let mut gpt_entries = Vec::new();
    let mut mbr_entries = Vec::new();
    for (s, ys) in layout.structures.iter().map(|l| {
        let ys = volume
            .structures
            .iter()
            .find(|y| y.yaml_index == l.yaml_index)
            .expect("layout of this volume");
        (l, ys)
    }) {
        if let Some(at) = s.offset_write {
            let value = s.start_lba(ss).ok_or_else(|| {
                vol_err(format!(
                    "structure {}: its start does not fit offset-write's 32-bit sector count",
                    s.describe()
                ))
            })?;
            offset_writes.push(OffsetWrite { at, value });
        }
        if let Some(ptype) = &s.partition_type {
            let guid = match &ys.id {
                Some(id) => Guid::parse(id).ok_or_else(|| {
                    vol_err(format!(
                        "structure {}: id {id:?} is not a GUID",
                        s.describe()
                    ))
                })?,
                None => Guid::derive(identity, &purpose(format!("partition {}", s.yaml_index))),
            };
            let (first, count) = (s.start / ss, s.size / ss);
            match ptype {
                PartitionType::Gpt(t) => gpt_entries.push(GptEntry {
                    type_guid: Guid::parse(t)
                        .ok_or_else(|| vol_err(format!("bad type GUID {t:?}")))?,
                    partition_guid: guid,
                    first_lba: first,
                    last_lba: first + count - 1,
                    name: match (&s.name, s.role) {
                        (Some(n), _) => n.clone(),
                        (None, Some(Role::SystemData)) => "writable".into(),
                        (None, _) => String::new(),
                    },
                }),
                PartitionType::Mbr(code) => mbr_entries.push(MbrEntry {
                    bootable: s.role == Some(Role::SystemBoot),
                    partition_type: *code,
                    start_lba: u32::try_from(first)
                        .map_err(|_| vol_err("start past 2 TiB".into()))?,
                    sectors: u32::try_from(count).map_err(|_| vol_err("size past 2 TiB".into()))?,
                }),
            }
        }
        let body = if ys.has_filesystem() {
            let fs = ys.filesystem.unwrap_or(Filesystem::None);
            if fs == Filesystem::None {
                continue;
            }
            Body::Filesystem(plan_fs(inputs, volume, s, fs, seed_at, env, extract)?)
        } else {
            Body::Raw(
                s.raw_content
                    .iter()
                    .map(|r| RawImage {
                        image: clean(&r.image),
                        at: r.start.expect("sized by layout_with_image_sizes"),
                        size: r.size.expect("sized by layout_with_image_sizes"),
                    })
                    .collect(),
            )
        };
        structures.push(StructurePlan {
            describe: s.describe(),
            start: s.start,
            size: s.size,
            body,
        });
    }
    let table = match layout.schema {
        Schema::Gpt => Table::Gpt {
            disk_guid: match volume.id.as_deref().and_then(Guid::parse) {
                Some(g) => g,
                None => Guid::derive(identity, &purpose("disk".into())),
            },
            entries: gpt_entries,
        },
        _ => Table::Mbr {
            disk_signature: Guid::derive(identity, &purpose("disk".into())).first_u32(),
            entries: mbr_entries,
        },
    };
    Ok(VolumePlan {
        name: volume.name.clone(),
        sector_size: ss,
        image_size,
        table,
        structures,
        offset_writes,
    })
}

/// What mkfs and mtools would refuse or ask about: labels too long, and on FAT paths that
/// differ only in case (mcopy would stop to ask what to do with the second).
fn check_names(fs: Filesystem, label: Option<&str>, tree: &FsTree) -> Result<(), String> {
    let fat = fs != Filesystem::Ext4;
    if let Some(label) = label {
        let (max, name) = if fat { (11, "FAT") } else { (16, "ext4") };
        if label.len() > max {
            return Err(format!(
                "filesystem label {label:?} is longer than the {max} bytes {name} allows"
            ));
        }
    }
    if fat {
        let mut seen = std::collections::BTreeMap::new();
        for path in tree.nodes().keys() {
            if let Some(other) = seen.insert(path.to_ascii_lowercase(), path) {
                return Err(format!(
                    "{other:?} and {path:?} differ only in case, which FAT cannot tell apart"
                ));
            }
        }
    }
    Ok(())
}

/// The image size: every structure, the backup GPT, rounded up to a MiB, at least the
/// model's `image-size`.
fn image_size(layout: &VolumeLayout, wanted: Option<u64>, ss: u64) -> u64 {
    let end = layout.structures.iter().map(|s| s.end).max().unwrap_or(0);
    let backup = match layout.schema {
        Schema::Gpt => (1 + (128 * 128u64).div_ceil(ss)) * ss,
        _ => 0,
    };
    let need = (end + backup).div_ceil(MIB) * MIB;
    need.max(wanted.map_or(0, |w| w.div_ceil(ss) * ss))
}

fn plan_fs(
    inputs: &PlanInputs<'_>,
    volume: &Volume,
    s: &StructureLayout,
    fs: Filesystem,
    seed_at: &Placement,
    env: Option<&EnvPlan>,
    extract: Option<&ExtractPlan>,
) -> Result<FsPlan, String> {
    let err = |reason: String| {
        format!(
            "volume {:?}: structure {}: {reason}",
            volume.name,
            s.describe()
        )
    };
    let here = |p: &Placement| p.volume == volume.name && p.yaml_index == s.yaml_index;
    let ys = volume
        .structures
        .iter()
        .find(|y| y.yaml_index == s.yaml_index)
        .expect("same volume");
    let mut tree = FsTree::default();
    let sources = Sources {
        gadget: inputs.gadget_files,
        kernel: inputs.kernel_files,
        kernel_assets: inputs.kernel_assets,
    };
    apply_content(&mut tree, &ys.content, &sources).map_err(err)?;
    if here(seed_at) {
        let dir = |p: &str| {
            if seed_at.dir.is_empty() {
                p.to_owned()
            } else {
                format!("{}/{p}", seed_at.dir)
            }
        };
        tree.insert(
            &dir("seed.yaml"),
            Node::Bytes {
                data: Arc::new(seed_yaml(inputs.seed).into_bytes()),
                mode: 0o644,
            },
        )
        .map_err(err)?;
        tree.insert(&dir("snaps"), Node::Dir { mode: 0o755 })
            .map_err(err)?;
        for snap in inputs.seed {
            tree.insert(
                &dir(&format!("snaps/{}", snap.file_name())),
                Node::HostFile {
                    path: snap.path.clone(),
                    size: snap.size,
                },
            )
            .map_err(err)?;
        }
    }
    if let Some(x) = extract.filter(|x| here(&x.at)) {
        for (from, to, size, mode) in &x.files {
            tree.insert(
                to,
                Node::SnapFile {
                    snap: SnapRole::Kernel,
                    path: from.clone(),
                    size: *size,
                    mode: *mode,
                },
            )
            .map_err(err)?;
        }
    }
    if let Some(env) = env.filter(|e| here(&e.at)) {
        let base = match tree.get(&env.path) {
            Some(Node::SnapFile { snap, path, .. }) => Some((*snap, path.clone())),
            _ => None,
        };
        tree.insert(
            &env.path,
            Node::Env {
                kind: env.kind.clone(),
                base,
                vars: env.vars.clone(),
            },
        )
        .map_err(err)?;
    }
    check_names(fs, s.label.as_deref(), &tree).map_err(err)?;
    let ss = inputs.model.sector_size;
    let block = 4096u64;
    let needed: u64 = tree
        .nodes()
        .values()
        .map(|n| n.size().div_ceil(block) * block)
        .sum();
    if needed > s.size {
        return Err(err(format!(
            "the structure ({} bytes) is too small for its content ({needed} bytes)",
            s.size
        )));
    }
    if matches!(fs, Filesystem::Vfat | Filesystem::Vfat32) && s.size < fat32_min_bytes(ss) {
        return Err(err(format!(
            "{} bytes is too small for FAT32 (at least {} bytes with {ss}-byte sectors); use a larger size or vfat-16",
            s.size,
            fat32_min_bytes(ss)
        )));
    }
    Ok(FsPlan {
        filesystem: fs,
        label: s.label.clone(),
        id: Guid::derive(
            inputs.identity,
            &format!("volume {} filesystem {}", volume.name, s.yaml_index),
        ),
        tree,
    })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use snap_core::SnapType;

    use super::*;
    use crate::image::model::parse_image_model;
    use crate::{Model, ParseOptions, parse_gadget_yaml_with};

    const PC: &str = "volumes:
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
            target: EFI/boot/
      - name: ubuntu-boot
        role: system-boot
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        id: 11111111-2222-4333-8444-555555555555
        size: 8M
      - role: system-data
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 16M
";

    const PI: &str = "volumes:
  pi:
    schema: mbr
    bootloader: u-boot
    structure:
      - name: system-boot
        type: 0C
        filesystem: vfat
        filesystem-label: system-boot
        size: 40M
      - name: writable
        role: system-data
        type: 83
        filesystem: ext4
        size: 24M
";

    fn listing() -> Listing {
        let mut l = Listing::new();
        l.insert(
            "pc-boot.img".into(),
            NodeKind::File {
                size: 440,
                mode: 0o644,
            },
        );
        l.insert(
            "pc-core.img".into(),
            NodeKind::File {
                size: 3000,
                mode: 0o644,
            },
        );
        l.insert(
            "grubx64.efi".into(),
            NodeKind::File {
                size: 100,
                mode: 0o644,
            },
        );
        l
    }

    fn seed() -> Vec<SeedSnap> {
        [
            ("snapd", SnapType::Snapd),
            ("core22", SnapType::Base),
            ("pc-kernel", SnapType::Kernel),
            ("pc", SnapType::Gadget),
        ]
        .into_iter()
        .map(|(n, t)| SeedSnap {
            name: n.into(),
            snap_type: t,
            path: PathBuf::from(format!("/in/{n}.snap")),
            size: 1000,
        })
        .collect()
    }

    fn plan(gadget: &str, model: &str, files: &Listing) -> Result<Vec<VolumePlan>, String> {
        plan_with_kernel(gadget, model, files, &Listing::new())
    }

    fn plan_with_kernel(
        gadget: &str,
        model: &str,
        files: &Listing,
        kernel: &Listing,
    ) -> Result<Vec<VolumePlan>, String> {
        let model = parse_image_model(model.as_bytes(), Path::new("/in")).unwrap();
        let g = parse_gadget_yaml_with(
            gadget.as_bytes(),
            &ParseOptions::for_model(Model {
                classic: false,
                has_modes: model.grade.is_some(),
            }),
        )
        .unwrap();
        let assets = KernelAssets::new();
        let seed = seed();
        plan_volumes(&PlanInputs {
            gadget: &g,
            model: &model,
            gadget_files: files,
            kernel_files: kernel,
            kernel_assets: &assets,
            seed: &seed,
            identity: b"test inputs",
        })
    }

    const UC20: &str =
        "name: t\narchitecture: amd64\ngrade: dangerous\nsnaps: {gadget: g, kernel: k, base: b}\n";
    const UC18: &str = "name: t\narchitecture: amd64\nsnaps: {gadget: g, kernel: k, base: b}\n";

    fn fs_of(p: &VolumePlan, describe: &str) -> FsPlan {
        match &p
            .structures
            .iter()
            .find(|s| s.describe.contains(describe))
            .unwrap()
            .body
        {
            Body::Filesystem(f) => f.clone(),
            Body::Raw(_) => panic!("{describe} is raw"),
        }
    }

    #[test]
    fn pc_plan_places_everything() {
        let p = plan(PC, UC20, &listing()).unwrap();
        assert_eq!(p.len(), 1);
        let v = &p[0];
        // 66 MiB of structures plus the backup GPT, rounded up to a MiB.
        assert_eq!(v.image_size, 67 << 20);
        assert_eq!(
            v.offset_writes,
            [OffsetWrite {
                at: 92,
                value: 2048
            }]
        );
        let Table::Gpt { entries, disk_guid } = &v.table else {
            panic!("gpt expected")
        };
        assert_eq!(*disk_guid, Guid::derive(b"test inputs", "volume pc disk"));
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            ["BIOS Boot", "ubuntu-seed", "ubuntu-boot", "writable"]
        );
        assert_eq!(
            (entries[1].first_lba, entries[1].last_lba),
            (4096, 4096 + 40 * 2048 - 1)
        );
        // An explicit id is the partition GUID; the others are derived and distinct.
        assert_eq!(
            entries[2].partition_guid.to_string(),
            "11111111-2222-4333-8444-555555555555"
        );
        assert_ne!(entries[0].partition_guid, entries[1].partition_guid);
        let raw: Vec<_> = v
            .structures
            .iter()
            .filter_map(|s| match &s.body {
                Body::Raw(r) => Some(r.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(
            raw,
            [
                RawImage {
                    image: "pc-boot.img".into(),
                    at: 0,
                    size: 440
                },
                RawImage {
                    image: "pc-core.img".into(),
                    at: 1 << 20,
                    size: 3000
                },
            ]
        );
        let seed_fs = fs_of(v, "ubuntu-seed");
        assert_eq!(seed_fs.label.as_deref(), Some("ubuntu-seed"));
        assert!(matches!(
            seed_fs.tree.get("EFI/boot/grubx64.efi"),
            Some(Node::SnapFile { .. })
        ));
        assert!(
            matches!(seed_fs.tree.get("snaps/pc-kernel_x1.snap"), Some(Node::HostFile { path, .. }) if path == Path::new("/in/pc-kernel.snap"))
        );
        let Some(Node::Bytes { data, .. }) = seed_fs.tree.get("seed.yaml") else {
            panic!("no seed.yaml")
        };
        assert!(String::from_utf8_lossy(data).starts_with("snaps:\n  - name: snapd\n"));
        assert!(
            matches!(seed_fs.tree.get("EFI/ubuntu/grubenv"), Some(Node::Env { kind: EnvKind::Grub, base: None, vars })
            if vars[0] == ("snapd_recovery_mode".to_owned(), "install".to_owned()))
        );
        // Nothing of the seed lands elsewhere.
        assert!(fs_of(v, "ubuntu-boot").tree.nodes().is_empty());
    }

    #[test]
    fn same_inputs_give_the_same_plan() {
        assert_eq!(plan(PC, UC20, &listing()), plan(PC, UC20, &listing()));
    }

    #[test]
    fn labels_and_names_the_filesystems_cannot_hold_are_refused() {
        let long = PC.replace(
            "        size: 8M\n",
            "        size: 8M\n        filesystem-label: a-very-long-label\n",
        );
        let e = plan(&long, UC20, &listing()).unwrap_err();
        assert!(e.contains("longer than the 16 bytes ext4 allows"), "{e}");
        let clash = PC.replace(
            "          - source: grubx64.efi\n            target: EFI/boot/\n",
            "          - source: grubx64.efi\n            target: EFI/boot/\n          - source: grubx64.efi\n            target: efi/BOOT/GRUBX64.EFI\n",
        );
        let e = plan(&clash, UC20, &listing()).unwrap_err();
        assert!(e.contains("differ only in case"), "{e}");
    }

    fn kernel_listing(with_initrd: bool) -> Listing {
        let file = |size| NodeKind::File { size, mode: 0o644 };
        let mut l = Listing::new();
        l.insert("boot".into(), NodeKind::Dir { mode: 0o755 });
        l.insert("boot/vmlinuz".into(), file(5000));
        l.insert(
            "kernel.img".into(),
            NodeKind::Symlink {
                target: "boot/vmlinuz".into(),
            },
        );
        if with_initrd {
            l.insert("initrd.img".into(), file(700));
        }
        l.insert("dtbs".into(), NodeKind::Dir { mode: 0o755 });
        l.insert("dtbs/board.dtb".into(), file(30));
        l
    }

    #[test]
    fn the_seeded_kernel_is_extracted_to_system_boot() {
        let kernel_file =
            |plan: &VolumePlan, fs: &str, path: &str| match fs_of(plan, fs).tree.get(path) {
                Some(Node::SnapFile {
                    snap: SnapRole::Kernel,
                    path,
                    size,
                    ..
                }) => Some((path.clone(), *size)),
                other => panic!("{path}: {other:?}"),
            };
        // U-Boot, UC16/18: per-kernel directory at the root, device trees included.
        let p = plan_with_kernel(PI, UC18, &Listing::new(), &kernel_listing(true)).unwrap();
        assert_eq!(
            kernel_file(&p[0], "system-boot", "pc-kernel_x1.snap/kernel.img"),
            Some(("kernel.img".into(), 5000))
        );
        assert_eq!(
            kernel_file(&p[0], "system-boot", "pc-kernel_x1.snap/initrd.img"),
            Some(("initrd.img".into(), 700))
        );
        assert_eq!(
            kernel_file(&p[0], "system-boot", "pc-kernel_x1.snap/dtbs/board.dtb"),
            Some(("dtbs/board.dtb".into(), 30))
        );
        assert!(
            fs_of(&p[0], "writable")
                .tree
                .nodes()
                .keys()
                .all(|k| !k.contains("kernel.img"))
        );
        // grub: under its prefix on ubuntu-boot, no device trees.
        let p = plan_with_kernel(PC, UC20, &listing(), &kernel_listing(true)).unwrap();
        let boot = fs_of(&p[0], "ubuntu-boot");
        let paths: Vec<&str> = boot.tree.nodes().keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            [
                "EFI",
                "EFI/ubuntu",
                "EFI/ubuntu/pc-kernel_x1.snap",
                "EFI/ubuntu/pc-kernel_x1.snap/initrd.img",
                "EFI/ubuntu/pc-kernel_x1.snap/kernel.img"
            ]
        );
        // A kernel.img without its initrd cannot boot: refused before anything is written.
        let e = plan_with_kernel(PC, UC20, &listing(), &kernel_listing(false)).unwrap_err();
        assert!(
            e.contains("kernel snap: the kernel snap has kernel.img but no initrd.img"),
            "{e}"
        );
    }

    #[test]
    fn mbr_plan_marks_system_boot_active_and_seeds_writable() {
        let p = plan(PI, UC18, &Listing::new()).unwrap();
        let Table::Mbr {
            entries,
            disk_signature,
        } = &p[0].table
        else {
            panic!("mbr expected")
        };
        assert_ne!(*disk_signature, 0);
        assert_eq!(entries.len(), 2);
        assert!(entries[0].bootable && !entries[1].bootable);
        assert_eq!(
            (
                entries[0].partition_type,
                entries[0].start_lba,
                entries[0].sectors
            ),
            (0x0c, 2048, 40 * 2048)
        );
        assert_eq!(p[0].image_size, 65 << 20);
        let writable = fs_of(&p[0], "writable");
        assert!(
            writable
                .tree
                .get("system-data/var/lib/snapd/seed/seed.yaml")
                .is_some()
        );
        assert!(
            writable
                .tree
                .get("system-data/var/lib/snapd/seed/snaps/core22_x1.snap")
                .is_some()
        );
        let boot = fs_of(&p[0], "system-boot");
        assert!(
            matches!(boot.tree.get("uboot.env"), Some(Node::Env { kind: EnvKind::Uboot { size: 131_072, redundant: true }, vars, .. })
            if vars.contains(&("snap_kernel".to_owned(), "pc-kernel_x1.snap".to_owned())))
        );
    }

    #[test]
    fn missing_or_oversized_content_is_refused() {
        let mut files = listing();
        files.remove("pc-core.img");
        let e = plan(PC, UC20, &files).unwrap_err();
        assert!(
            e.contains("content image \"pc-core.img\" is not in the gadget snap"),
            "{e}"
        );

        let mut files = listing();
        files.insert(
            "pc-core.img".into(),
            NodeKind::File {
                size: 2 << 20,
                mode: 0o644,
            },
        );
        let e = plan(PC, UC20, &files).unwrap_err();
        assert!(e.contains("does not fit in the structure"), "{e}");

        let mut files = listing();
        files.insert(
            "grubx64.efi".into(),
            NodeKind::File {
                size: 41 << 20,
                mode: 0o644,
            },
        );
        let e = plan(PC, UC20, &files).unwrap_err();
        assert!(
            e.contains("ubuntu-seed") && e.contains("too small for its content"),
            "{e}"
        );
    }

    #[test]
    fn fat32_needs_its_minimum_size() {
        assert_eq!(fat32_min_bytes(512), 66_582 * 512);
        let small = PC.replace("size: 40M", "size: 32M");
        let e = plan(&small, UC20, &listing()).unwrap_err();
        assert!(e.contains("too small for FAT32"), "{e}");
    }

    #[test]
    fn the_seed_needs_a_home() {
        // A UC16/18-style model puts the seed in system-data; a gadget without one cannot
        // take it.
        let no_data = "volumes:\n  pc:\n    bootloader: grub\n    structure:\n      - name: esp\n        type: EF,C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n        filesystem: vfat\n        size: 40M\n";
        let e = plan(no_data, UC18, &listing()).unwrap_err();
        assert!(e.contains("no system-data structure"), "{e}");
    }

    #[test]
    fn sectors_of_4096_bytes_count_in_4096() {
        // FAT32 with 4 KiB clusters needs about 257 MiB.
        let big_seed = PC.replace("size: 40M", "size: 300M");
        let p = plan(&big_seed, &format!("{UC20}sector-size: 4096\n"), &listing()).unwrap();
        let Table::Gpt { entries, .. } = &p[0].table else {
            panic!("gpt expected")
        };
        assert_eq!((entries[0].first_lba, entries[0].last_lba), (256, 511));
        assert_eq!(entries[1].first_lba, 512);
        assert_eq!(p[0].offset_writes, [OffsetWrite { at: 92, value: 256 }]);
        assert!(
            plan(PC, &format!("{UC20}sector-size: 4096\n"), &listing())
                .unwrap_err()
                .contains("too small for FAT32")
        );
    }

    #[test]
    fn image_size_grows_to_the_model_size() {
        let p = plan(PC, &format!("{UC20}image-size: 1G\n"), &listing()).unwrap();
        assert_eq!(p[0].image_size, 1 << 30);
    }
}
