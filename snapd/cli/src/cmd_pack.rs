use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use snap_squashfs::{Compression, PackOptions, pack_snap};

/// The pack command packs the given snap directory as a snap and writes the result to the
/// target directory, or to the current directory if none is given.
///
/// The snap directory must contain meta/snap.yaml. Before packing, the snap.yaml is validated,
/// every command the apps name must exist and be executable, and no symlink may point outside
/// the snap. The same directory always packs into byte-identical output.
#[derive(Args)]
pub struct PackArgs {
    /// Directory holding the snap's content and meta/snap.yaml
    #[arg(value_name = "snap-dir", default_value = ".")]
    snap_dir: PathBuf,
    /// Directory to write the .snap to
    #[arg(value_name = "target-dir")]
    target_dir: Option<PathBuf>,
    /// Output to this filename instead of NAME_VERSION_ARCH.snap
    #[arg(long, value_name = "filename")]
    filename: Option<PathBuf>,
    /// Compression to use: xz (default, smallest), lz4 (fastest to start) or zstd
    #[arg(long, value_name = "compression", value_parser = parse_compression, default_value = "xz")]
    compression: Compression,
    /// Only check the snap directory, do not pack it
    #[arg(long)]
    check_skeleton: bool,
}

fn parse_compression(s: &str) -> Result<Compression, String> {
    Compression::parse(s)
        .ok_or_else(|| format!("cannot use compression {s:?}: use xz, lz4 or zstd"))
}

pub fn run(args: PackArgs) -> anyhow::Result<()> {
    if args.check_skeleton {
        let yaml = std::fs::read(args.snap_dir.join("meta/snap.yaml"))
            .with_context(|| format!("cannot read {}/meta/snap.yaml", args.snap_dir.display()))?;
        let snap = snap_core::parse_snap_yaml(&yaml)?;
        snap_squashfs::check_tree(&args.snap_dir, &snap)?;
        return Ok(());
    }
    let target = args
        .target_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    let opts = PackOptions {
        compression: args.compression,
        filename: args.filename.clone(),
    };
    let packed = pack_snap(&args.snap_dir, &target, &opts)?;
    // snap prints the target directory joined with the file name, cleaned: packing into the
    // current directory shows the bare file name.
    let shown = packed
        .path
        .strip_prefix(".")
        .unwrap_or(&packed.path)
        .display()
        .to_string();
    println!("built: {shown}");
    Ok(())
}
