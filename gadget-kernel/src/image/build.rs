//! Building the images: read the model and the snaps, plan, then write every volume into a
//! temporary file in the output directory and rename them all at the end, so a failure leaves
//! nothing behind.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use snap_core::SnapType;
use snap_squashfs::{EntryKind, SnapFile};

use crate::image::content::{KernelAssets, Listing, NodeKind, SnapRole, unused_update_assets};
use crate::image::error::ImageError;
use crate::image::gpt::write_gpt;
use crate::image::mbr::{MBR_TABLE_OFFSET, mbr_table};
use crate::image::model::{ImageModel, parse_image_model};
use crate::image::plan::{Body, PlanInputs, Table, VolumePlan, plan_volumes};
use crate::image::seed::{SeedSnap, install_order};
use crate::image::stage::{Snaps, stage_tree};
use crate::image::tools::make_filesystem;
use crate::{MAX_GADGET_YAML_BYTES, Model, ParseOptions, parse_gadget_yaml_with};

/// What a build reports while it works (the binary draws it; tests ignore it).
pub trait Progress {
    /// A new step starts.
    fn step(&mut self, message: &str);
    /// Bytes copied so far in the current step, out of `total`.
    fn bytes(&mut self, _done: u64, _total: u64) {}
}

/// A [`Progress`] that shows nothing.
pub struct Quiet;

impl Progress for Quiet {
    fn step(&mut self, _message: &str) {}
}

/// Copies are done in chunks of this size.
const CHUNK: usize = 1024 * 1024;

fn snap_err(path: &Path, reason: impl Into<String>) -> ImageError {
    ImageError::Snap {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn listing(snap: &SnapFile) -> Listing {
    snap.entries()
        .into_iter()
        .filter(|e| !e.path.as_os_str().is_empty())
        .filter_map(|e| {
            let kind = match e.kind {
                EntryKind::File { size } => NodeKind::File { size, mode: e.mode },
                EntryKind::Dir => NodeKind::Dir { mode: e.mode },
                EntryKind::Symlink { target } => NodeKind::Symlink {
                    target: target.to_string_lossy().into_owned(),
                },
                // Device nodes and the like have no place in a boot partition.
                _ => return None,
            };
            Some((e.path.to_string_lossy().into_owned(), kind))
        })
        .collect()
}

#[derive(Deserialize)]
struct KernelYaml {
    #[serde(default)]
    assets: BTreeMap<String, KernelAsset>,
}

#[derive(Deserialize)]
struct KernelAsset {
    #[serde(default)]
    update: bool,
    #[serde(default)]
    content: Vec<String>,
}

/// The kernel's assets, and the names of those marked `update: true`.
fn kernel_assets(
    kernel: &SnapFile,
    files: &Listing,
) -> Result<(KernelAssets, Vec<String>), ImageError> {
    if !files.contains_key("meta/kernel.yaml") {
        return Ok((KernelAssets::new(), Vec::new()));
    }
    let bytes = kernel
        .read("meta/kernel.yaml", 1 << 20)
        .map_err(|e| snap_err(kernel.path(), e.to_string()))?;
    let parsed: KernelYaml = serde_saphyr::from_slice(&bytes)
        .map_err(|e| snap_err(kernel.path(), format!("meta/kernel.yaml: {e}")))?;
    let updated = parsed
        .assets
        .iter()
        .filter(|(_, a)| a.update)
        .map(|(k, _)| k.clone())
        .collect();
    let assets = parsed
        .assets
        .into_iter()
        .map(|(k, v)| (k, v.content))
        .collect();
    Ok((assets, updated))
}

/// One snap of the model, opened and checked.
struct ModelSnap {
    path: PathBuf,
    file: SnapFile,
    name: String,
    snap_type: SnapType,
    size: u64,
}

fn open_snap(
    path: &Path,
    model: &ImageModel,
    allowed: &[SnapType],
    what: &str,
) -> Result<ModelSnap, ImageError> {
    let file = SnapFile::open(path).map_err(|e| snap_err(path, e.to_string()))?;
    let yaml = file
        .snap_yaml()
        .map_err(|e| snap_err(path, e.to_string()))?;
    if !allowed.contains(&yaml.snap_type) {
        return Err(snap_err(
            path,
            format!(
                "the {what} must be a snap of type {}, not {}",
                allowed[0], yaml.snap_type
            ),
        ));
    }
    let arch_ok = yaml
        .architectures
        .iter()
        .any(|a| a == "all" || *a == model.architecture);
    if !arch_ok {
        return Err(snap_err(
            path,
            format!(
                "{} is built for {}, not {}",
                yaml.name,
                yaml.architectures.join(", "),
                model.architecture
            ),
        ));
    }
    let size = fs::metadata(path)
        .map_err(ImageError::io(format!("reading {}", path.display())))?
        .len();
    Ok(ModelSnap {
        path: path.to_owned(),
        file,
        name: yaml.name,
        snap_type: yaml.snap_type,
        size,
    })
}

/// Builds one `VOLUME.img` per gadget volume from the model file into `out_dir` (created if
/// missing). Returns the images written.
pub fn build_images(
    model_path: &Path,
    out_dir: &Path,
    progress: &mut dyn Progress,
) -> Result<Vec<PathBuf>, ImageError> {
    let model_err = |reason: String| ImageError::Model {
        path: model_path.to_owned(),
        reason,
    };
    let model_bytes = fs::read(model_path).map_err(|e| model_err(e.to_string()))?;
    let base_dir = model_path.parent().unwrap_or(Path::new("."));
    let model = parse_image_model(&model_bytes, base_dir).map_err(model_err)?;

    progress.step("reading the snaps");
    let gadget = open_snap(&model.gadget, &model, &[SnapType::Gadget], "gadget")?;
    let kernel = open_snap(&model.kernel, &model, &[SnapType::Kernel], "kernel")?;
    let base = open_snap(&model.base, &model, &[SnapType::Base, SnapType::Os], "base")?;
    let snapd = model
        .snapd
        .as_deref()
        .map(|p| open_snap(p, &model, &[SnapType::Snapd], "snapd snap"))
        .transpose()?;
    let apps = model
        .apps
        .iter()
        .map(|p| open_snap(p, &model, &[SnapType::App, SnapType::Base], "app"))
        .collect::<Result<Vec<_>, _>>()?;

    let gadget_yaml = gadget
        .file
        .read("meta/gadget.yaml", MAX_GADGET_YAML_BYTES as u64)
        .map_err(|e| snap_err(&gadget.path, e.to_string()))?;
    let options = ParseOptions::for_model(Model {
        classic: false,
        has_modes: model.grade.is_some(),
    });
    let gadget_info =
        parse_gadget_yaml_with(&gadget_yaml, &options).map_err(|source| ImageError::Gadget {
            path: gadget.path.clone(),
            source,
        })?;
    if gadget_info.volumes().is_empty() {
        return Err(ImageError::Gadget {
            path: gadget.path.clone(),
            source: crate::GadgetError::NoVolumes,
        });
    }
    let gadget_files = listing(&gadget.file);
    let kernel_files = listing(&kernel.file);
    let (assets, update_assets) = kernel_assets(&kernel.file, &kernel_files)?;
    let unused = unused_update_assets(&gadget_info, &update_assets);
    if !unused.is_empty() {
        return Err(ImageError::Plan(format!(
            "the kernel marks assets {unused:?} update: true, but the gadget's content does not use them ($kernel:<asset>/...)"
        )));
    }

    progress.step("hashing the inputs");
    let mut identity = Sha256::new();
    identity.update(&model_bytes);
    let all: Vec<&ModelSnap> = [&gadget, &kernel, &base]
        .into_iter()
        .chain(snapd.as_ref())
        .chain(apps.iter())
        .collect();
    for s in &all {
        let d =
            snap_squashfs::digest_file(&s.path).map_err(|e| snap_err(&s.path, e.to_string()))?;
        identity.update(d.sha384.as_bytes());
    }
    let identity = identity.finalize();

    let seed = install_order(
        all.iter()
            .map(|s| SeedSnap {
                name: s.name.clone(),
                snap_type: s.snap_type,
                path: s.path.clone(),
                size: s.size,
            })
            .collect(),
        &base.name,
    )
    .map_err(ImageError::Plan)?;
    let plans = plan_volumes(&PlanInputs {
        gadget: &gadget_info,
        model: &model,
        gadget_files: &gadget_files,
        kernel_files: &kernel_files,
        kernel_assets: &assets,
        seed: &seed,
        identity: &identity,
    })
    .map_err(ImageError::Plan)?;

    fs::create_dir_all(out_dir)
        .map_err(ImageError::io(format!("creating {}", out_dir.display())))?;
    let finals: Vec<PathBuf> = plans
        .iter()
        .map(|p| out_dir.join(format!("{}.img", p.name)))
        .collect();
    for f in &finals {
        if f.symlink_metadata().is_ok() {
            return Err(ImageError::OutputExists { path: f.clone() });
        }
    }
    // Dropped (and so removed with whatever it holds) on every error path below.
    let work = tempfile::Builder::new()
        .prefix(".snap-image-")
        .tempdir_in(out_dir)
        .map_err(ImageError::io(format!(
            "creating a work directory in {}",
            out_dir.display()
        )))?;
    let snaps = Snaps {
        gadget: gadget.file,
        kernel: kernel.file,
    };
    let mut built = Vec::new();
    for plan in &plans {
        let tmp = work.path().join(format!("{}.img", plan.name));
        write_volume(plan, &tmp, &snaps, &model, work.path(), progress)?;
        built.push(tmp);
    }
    for (tmp, dest) in built.iter().zip(&finals) {
        if dest.symlink_metadata().is_ok() {
            return Err(ImageError::OutputExists { path: dest.clone() });
        }
        fs::rename(tmp, dest).map_err(ImageError::io(format!(
            "renaming {} to {}",
            tmp.display(),
            dest.display()
        )))?;
    }
    File::open(out_dir)
        .and_then(|d| d.sync_all())
        .map_err(ImageError::io(format!("syncing {}", out_dir.display())))?;
    Ok(finals)
}

fn write_volume(
    plan: &VolumePlan,
    path: &Path,
    snaps: &Snaps,
    model: &ImageModel,
    work: &Path,
    progress: &mut dyn Progress,
) -> Result<(), ImageError> {
    let io = |what: &str| ImageError::io(format!("{what} {}", path.display()));
    progress.step(&format!("volume {}: partition table", plan.name));
    let mut img = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io("creating"))?;
    img.set_len(plan.image_size).map_err(io("sizing"))?;
    match &plan.table {
        Table::Gpt { disk_guid, entries } => {
            write_gpt(&mut img, plan.sector_size, *disk_guid, entries)
                .map_err(|e| ImageError::Plan(format!("volume {:?}: {e}", plan.name)))?;
        }
        Table::Mbr {
            disk_signature,
            entries,
        } => {
            let bytes = mbr_table(*disk_signature, entries)
                .map_err(|e| ImageError::Plan(format!("volume {:?}: {e}", plan.name)))?;
            img.write_all_at(&bytes, MBR_TABLE_OFFSET)
                .map_err(io("writing the MBR of"))?;
        }
    }
    for s in &plan.structures {
        let context = format!("volume {:?}: structure {}", plan.name, s.describe);
        match &s.body {
            Body::Raw(images) => {
                progress.step(&format!(
                    "volume {}: structure {}: raw content",
                    plan.name, s.describe
                ));
                for r in images {
                    let bytes = snaps.read(SnapRole::Gadget, &r.image, r.size)?;
                    img.write_all_at(&bytes, r.at)
                        .map_err(io("writing raw content to"))?;
                }
            }
            Body::Filesystem(fs_plan) => {
                progress.step(&format!(
                    "volume {}: structure {}: {}",
                    plan.name,
                    s.describe,
                    fs_plan.filesystem.as_str()
                ));
                let slot = work.join(format!("part-{}", s.start));
                let staging = slot.join("tree");
                fs::create_dir_all(&staging)
                    .map_err(ImageError::io(format!("creating {}", staging.display())))?;
                let follow = fs_plan.filesystem != crate::model::Filesystem::Ext4;
                stage_tree(&fs_plan.tree, snaps, &staging, follow, s.size, &context)?;
                let part = slot.join("fs.img");
                File::create(&part)
                    .and_then(|f| f.set_len(s.size))
                    .map_err(ImageError::io(format!("creating {}", part.display())))?;
                make_filesystem(
                    fs_plan,
                    &part,
                    &staging,
                    plan.sector_size,
                    model.source_date_epoch,
                    &slot,
                    &context,
                )?;
                progress.step(&format!(
                    "volume {}: structure {}: copying into the image",
                    plan.name, s.describe
                ));
                copy_sparse(&part, &img, s.start, s.size, progress)?;
                fs::remove_dir_all(&slot)
                    .map_err(ImageError::io(format!("removing {}", slot.display())))?;
            }
        }
    }
    for w in &plan.offset_writes {
        img.write_all_at(&w.value.to_le_bytes(), w.at)
            .map_err(io("writing offset-write into"))?;
    }
    img.sync_all().map_err(io("syncing"))?;
    Ok(())
}

/// Copies `part` into `img` at `offset`, only the file's data extents (mkfs leaves the rest as
/// holes), so the image stays sparse and free space costs no reading.
fn copy_sparse(
    part: &Path,
    img: &File,
    offset: u64,
    size: u64,
    progress: &mut dyn Progress,
) -> Result<(), ImageError> {
    use rustix::fs::{SeekFrom as Whence, seek};
    let read_err = ImageError::io(format!("reading {}", part.display()));
    let src = File::open(part).map_err(ImageError::io(format!("opening {}", part.display())))?;
    let len = src.metadata().map_err(read_err)?.len();
    let mut buf = vec![0u8; CHUNK];
    let mut pos = 0u64;
    while pos < len {
        let data = match seek(&src, Whence::Data(pos)) {
            Ok(d) => d,
            // ENXIO: no data after `pos`.
            Err(rustix::io::Errno::NXIO) => break,
            Err(e) => {
                return Err(ImageError::io(format!("reading {}", part.display()))(
                    e.into(),
                ));
            }
        };
        let hole = seek(&src, Whence::Hole(data))
            .map_err(|e| ImageError::io(format!("reading {}", part.display()))(e.into()))?;
        let mut at = data;
        while at < hole {
            let n = usize::try_from((hole - at).min(CHUNK as u64)).unwrap_or(CHUNK);
            src.read_exact_at(&mut buf[..n], at)
                .map_err(ImageError::io(format!("reading {}", part.display())))?;
            img.write_all_at(&buf[..n], offset + at)
                .map_err(ImageError::io(
                    "writing a filesystem into the image".to_owned(),
                ))?;
            at += n as u64;
            progress.bytes(at, size);
        }
        pos = hole;
    }
    progress.bytes(size, size);
    Ok(())
}
