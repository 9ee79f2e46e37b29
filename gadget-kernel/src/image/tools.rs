//! The filesystem tools: `mkfs.vfat` and mtools for FAT, `mkfs.ext4 -d` and `debugfs` for
//! ext4. Each is run with everything that would vary fixed: volume ids and UUIDs from the
//! plan, times from the model's `source-date-epoch`, our own mke2fs.conf, sorted copy order.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::image::content::{FsTree, Node};
use crate::image::error::ImageError;
use crate::image::plan::FsPlan;
use crate::model::Filesystem;

/// The ext4 features and sizes the images get, whatever the host's /etc/mke2fs.conf says:
/// Debian 12's defaults, which Debian's grub (2.06) and kernels read (no `orphan_file`, no
/// `metadata_csum_seed`).
const MKE2FS_CONF: &str = "[defaults]
\tbase_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
\tdefault_mntopts = acl,user_xattr
\tenable_periodic_fsck = 0
\tblocksize = 4096
\tinode_size = 256
\tinode_ratio = 16384

[fs_types]
\text4 = {
\t\tfeatures = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
\t}
\tsmall = {
\t\tblocksize = 1024
\t\tinode_ratio = 4096
\t}
\tfloppy = {
\t\tblocksize = 1024
\t\tinode_ratio = 8192
\t\tinode_size = 128
\t}
";

/// Arguments per mtools invocation (well under the kernel's argument limits).
const ARGS_PER_CALL: usize = 200;

fn run(mut cmd: Command, context: &str) -> Result<String, ImageError> {
    let tool = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ImageError::Tool {
            context: context.to_owned(),
            tool: tool.clone(),
            stderr: format!("cannot run it: {e} (install dosfstools, mtools and e2fsprogs)"),
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let text = format!("{} {}", stderr.trim(), stdout.trim());
        return Err(ImageError::Tool {
            context: context.to_owned(),
            tool,
            stderr: explain(text.trim()),
        });
    }
    Ok(format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// Says in plain words what the tools mean when a filesystem is full.
fn explain(stderr: &str) -> String {
    let full = [
        "Could not allocate block",
        "Disk full",
        "No space left",
        "Could not allocate inode",
    ];
    if full.iter().any(|f| stderr.contains(f)) {
        format!("the structure is too small for its content ({stderr})")
    } else {
        stderr.to_owned()
    }
}

/// Makes the filesystem of `plan` in the file `part` (already `size` bytes) and copies the
/// staged tree `staging` into it.
pub fn make_filesystem(
    plan: &FsPlan,
    part: &Path,
    staging: &Path,
    sector_size: u64,
    epoch: u64,
    workdir: &Path,
    context: &str,
) -> Result<(), ImageError> {
    match plan.filesystem {
        Filesystem::Ext4 => make_ext4(plan, part, staging, epoch, workdir, context),
        Filesystem::Vfat | Filesystem::Vfat32 | Filesystem::Vfat16 => {
            make_vfat(plan, part, staging, sector_size, epoch, context)
        }
        Filesystem::None => Ok(()),
    }
}

fn make_ext4(
    plan: &FsPlan,
    part: &Path,
    staging: &Path,
    epoch: u64,
    workdir: &Path,
    context: &str,
) -> Result<(), ImageError> {
    let conf = workdir.join("mke2fs.conf");
    if !conf.exists() {
        std::fs::write(&conf, MKE2FS_CONF)
            .map_err(ImageError::io(format!("writing {}", conf.display())))?;
    }
    let uuid = plan.id.to_string();
    let mut cmd = Command::new("mkfs.ext4");
    cmd.env("MKE2FS_CONFIG", &conf)
        .env("E2FSPROGS_FAKE_TIME", epoch.to_string())
        .args(["-q", "-F", "-U", &uuid, "-E"])
        .arg(format!("hash_seed={uuid},root_owner=0:0"));
    if let Some(label) = &plan.label {
        cmd.args(["-L", label]);
    }
    cmd.arg("-d").arg(staging).arg(part);
    run(cmd, context)?;
    // `-d` copies the staging files' times and owners; ctime cannot be set on the host, so
    // every inode gets the fixed time and root's ownership afterwards.
    let mut script = String::new();
    let paths = std::iter::once("/".to_owned())
        .chain(std::iter::once("/lost+found".to_owned()))
        .chain(plan.tree.nodes().keys().map(|p| format!("/{p}")));
    for p in paths {
        if p.contains(['"', '\n']) {
            return Err(ImageError::Plan(format!(
                "{context}: path {p:?} cannot be stored by debugfs"
            )));
        }
        for field in ["atime", "mtime", "ctime"] {
            script.push_str(&format!("sif \"{p}\" {field} @{epoch}\n"));
        }
        for field in ["uid", "gid"] {
            script.push_str(&format!("sif \"{p}\" {field} 0\n"));
        }
    }
    let script_path = workdir.join("debugfs.cmds");
    std::fs::write(&script_path, script)
        .map_err(ImageError::io(format!("writing {}", script_path.display())))?;
    let mut cmd = Command::new("debugfs");
    cmd.env("E2FSPROGS_FAKE_TIME", epoch.to_string())
        .arg("-w")
        .arg("-f")
        .arg(&script_path)
        .arg(part);
    let out = run(cmd, context)?;
    // debugfs reports command errors on its output but still exits 0.
    if let Some(line) = out
        .lines()
        .find(|l| l.starts_with("sif: ") || l.contains("read/only"))
    {
        return Err(ImageError::Tool {
            context: context.to_owned(),
            tool: "debugfs".into(),
            stderr: line.to_owned(),
        });
    }
    Ok(())
}

fn make_vfat(
    plan: &FsPlan,
    part: &Path,
    staging: &Path,
    sector_size: u64,
    epoch: u64,
    context: &str,
) -> Result<(), ImageError> {
    let fat = match plan.filesystem {
        Filesystem::Vfat16 => "16",
        _ => "32",
    };
    let mut cmd = Command::new("mkfs.vfat");
    cmd.env("SOURCE_DATE_EPOCH", epoch.to_string())
        .arg("--invariant")
        .args(["-S", &sector_size.to_string(), "-F", fat])
        .args(["-i", &format!("{:08x}", plan.id.first_u32())]);
    if fat == "32" {
        // One sector per cluster, as ubuntu-image makes them.
        cmd.args(["-s", "1"]);
    }
    if let Some(label) = &plan.label {
        cmd.args(["-n", label]);
    }
    cmd.arg(part);
    run(cmd, context)?;
    fill_vfat(&plan.tree, part, staging, epoch, context)
}

fn mtools(tool: &str, part: &Path, epoch: u64) -> Command {
    let mut cmd = Command::new(tool);
    cmd.env("MTOOLS_SKIP_CHECK", "1")
        .env("SOURCE_DATE_EPOCH", epoch.to_string())
        .arg("-i")
        .arg(part);
    cmd
}

/// Copies the tree with one `mmd` for the directories (parents first) and one `mcopy` per
/// directory for its files, each list sorted: mcopy's own recursion would follow the host
/// directory order, which differs between machines.
fn fill_vfat(
    tree: &FsTree,
    part: &Path,
    staging: &Path,
    epoch: u64,
    context: &str,
) -> Result<(), ImageError> {
    let dirs: Vec<String> = tree
        .nodes()
        .iter()
        .filter(|(_, n)| matches!(n, Node::Dir { .. }))
        .map(|(p, _)| format!("::/{p}"))
        .collect();
    for chunk in dirs.chunks(ARGS_PER_CALL) {
        let mut cmd = mtools("mmd", part, epoch);
        cmd.args(chunk);
        run(cmd, context)?;
    }
    let mut files: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (p, n) in tree.nodes() {
        if matches!(n, Node::Dir { .. }) {
            continue;
        }
        let parent = p.rsplit_once('/').map_or("", |(d, _)| d);
        files.entry(parent).or_default().push(p);
    }
    for (parent, list) in files {
        for chunk in list.chunks(ARGS_PER_CALL) {
            let mut cmd = mtools("mcopy", part, epoch);
            // Without -m mtools stamps SOURCE_DATE_EPOCH, not the staging files' times.
            cmd.args(["-p", "-Q"]);
            cmd.args(chunk.iter().map(|p| staging.join(p)));
            cmd.arg(format!("::/{parent}/"));
            run(cmd, context)?;
        }
    }
    Ok(())
}
