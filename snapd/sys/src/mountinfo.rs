//! The mount table, as the kernel shows it in `/proc/self/mountinfo` (see `proc_pid_mountinfo(5)`).
//!
//! [`parse_mountinfo`] is a pure function; the query helpers read the live table of the calling
//! process's mount namespace. Paths in the table are resolved (no symlinks) and relative to the
//! process root, so the helpers canonicalize the paths they are given before comparing.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use crate::error::SysError;

/// Where the kernel publishes the mount table of the calling process.
pub const MOUNTINFO_PATH: &str = "/proc/self/mountinfo";

/// One line of `/proc/self/mountinfo`, with octal escapes (`\040` etc.) decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// Unique id of the mount (may be reused after unmount).
    pub mount_id: u32,
    /// Id of the parent mount (or of itself for the root of the namespace).
    pub parent_id: u32,
    /// `st_dev` major of files on this mount (7 for loop devices).
    pub major: u32,
    /// `st_dev` minor of files on this mount (N for `/dev/loopN`).
    pub minor: u32,
    /// The directory of the filesystem that forms the root of this mount (`/` unless a bind mount).
    pub root: PathBuf,
    /// Where the mount is, relative to the process root.
    pub mount_point: PathBuf,
    /// Per-mount options, e.g. `ro,nodev,relatime`.
    pub mount_options: String,
    /// Optional fields such as `shared:1`, `master:2`, `propagate_from:3`, `unbindable`.
    pub optional_fields: Vec<String>,
    /// Filesystem type, e.g. `squashfs` (or `fuse.squashfuse`).
    pub fs_type: String,
    /// Filesystem-specific source, e.g. `/dev/loop7` or `tmpfs`.
    pub source: OsString,
    /// Per-superblock options.
    pub super_options: String,
}

impl MountEntry {
    /// Whether the per-mount options contain `opt` (e.g. `"ro"`, `"nodev"`).
    pub fn has_mount_option(&self, opt: &str) -> bool {
        self.mount_options.split(',').any(|o| o == opt)
    }
}

/// Parses the text of a `mountinfo` file.
///
/// Empty lines are skipped. A malformed line is an error naming its 1-based number.
pub fn parse_mountinfo(text: &[u8]) -> Result<Vec<MountEntry>, SysError> {
    text.split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .map(|(i, line)| {
            parse_line(line).map_err(|reason| SysError::MountTableParse {
                line: i + 1,
                reason,
            })
        })
        .collect()
}

fn parse_line(line: &[u8]) -> Result<MountEntry, String> {
    // Fields are separated by single spaces; spaces inside fields are escaped as \040.
    let mut fields = line.split(|&b| b == b' ').filter(|f| !f.is_empty());
    let mut next = |what: &str| fields.next().ok_or_else(|| format!("missing {what}"));

    let mount_id = parse_u32(next("mount id")?, "mount id")?;
    let parent_id = parse_u32(next("parent id")?, "parent id")?;
    let dev = next("major:minor")?;
    let (major, minor) = match dev.iter().position(|&b| b == b':') {
        Some(colon) => (
            parse_u32(&dev[..colon], "major")?,
            parse_u32(&dev[colon + 1..], "minor")?,
        ),
        None => {
            return Err(format!(
                "bad major:minor {:?}",
                String::from_utf8_lossy(dev)
            ));
        }
    };
    let root = PathBuf::from(unescape(next("root")?));
    let mount_point = PathBuf::from(unescape(next("mount point")?));
    let mount_options = lossy(next("mount options")?);
    let mut optional_fields = Vec::new();
    loop {
        let f = next("the '-' separator")?;
        if f == b"-" {
            break;
        }
        optional_fields.push(lossy(f));
    }
    let fs_type = lossy(next("filesystem type")?);
    let source = unescape(next("mount source")?);
    // Very old kernels could omit the super options; be lenient there.
    let super_options = fields.next().map(lossy).unwrap_or_default();
    Ok(MountEntry {
        mount_id,
        parent_id,
        major,
        minor,
        root,
        mount_point,
        mount_options,
        optional_fields,
        fs_type,
        source,
        super_options,
    })
}

fn parse_u32(field: &[u8], what: &str) -> Result<u32, String> {
    std::str::from_utf8(field)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad {what} {:?}", String::from_utf8_lossy(field)))
}

fn lossy(field: &[u8]) -> String {
    String::from_utf8_lossy(&unescape(field).into_vec()).into_owned()
}

/// Decodes the kernel's `\ooo` octal escapes (it escapes space, tab, newline and backslash).
/// Anything that is not a backslash followed by three octal digits is kept as is.
fn unescape(field: &[u8]) -> OsString {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\'
            && let Some(&[a, b, c]) = field.get(i + 1..i + 4)
            && [a, b, c].iter().all(|d| (b'0'..=b'7').contains(d))
            && a <= b'3'
        {
            out.push((a - b'0') << 6 | (b - b'0') << 3 | (c - b'0'));
            i += 4;
        } else {
            out.push(field[i]);
            i += 1;
        }
    }
    OsString::from_vec(out)
}

/// Reads and parses the live mount table of this process.
pub fn read_mountinfo() -> Result<Vec<MountEntry>, SysError> {
    let text = std::fs::read(MOUNTINFO_PATH).map_err(|source| SysError::MountTable {
        path: MOUNTINFO_PATH.into(),
        source,
    })?;
    parse_mountinfo(&text)
}

/// Resolves `path` like the kernel shows it in the mount table. A path that does not exist
/// (e.g. a deleted temporary directory) is made absolute but otherwise kept as given.
pub(crate) fn resolve(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| std::path::absolute(path).unwrap_or(path.into()))
}

/// The topmost mount whose mount point is `path` (after resolving it), if any.
///
/// When several mounts are stacked on one directory, the last one in the table is the visible one.
pub fn mount_at(path: &Path) -> Result<Option<MountEntry>, SysError> {
    let path = resolve(path);
    Ok(read_mountinfo()?
        .into_iter()
        .rev()
        .find(|m| m.mount_point == path))
}

/// Whether `path` is a mount point in this process's mount namespace.
pub fn is_mount_point(path: &Path) -> Result<bool, SysError> {
    Ok(mount_at(path)?.is_some())
}

/// Every mount at `prefix` or below it (path-component-wise), in mount-table order.
///
/// Tests use it to check that no mount leaked; `remove_dir_all_if_exists` uses it to refuse
/// recursing into mounted filesystems.
pub fn mounts_under(prefix: &Path) -> Result<Vec<MountEntry>, SysError> {
    let prefix = resolve(prefix);
    Ok(read_mountinfo()?
        .into_iter()
        .filter(|m| m.mount_point.starts_with(&prefix))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
100 22 7:3 / /snap/hello/x1 ro,nodev,relatime shared:50 master:2 - squashfs /dev/loop3 ro,errors=continue,threads=single
101 22 0:55 / /tmp/with\\040space/and\\011tab rw,relatime - tmpfs my\\134source rw,size=1024k
102 22 0:56 / /tmp/no-opt rw - tmpfs tmpfs rw
";

    fn sample() -> Vec<MountEntry> {
        parse_mountinfo(SAMPLE.as_bytes()).unwrap()
    }

    #[test]
    fn parses_all_fields() {
        let m = sample();
        assert_eq!(m.len(), 6);
        assert_eq!(
            m[2],
            MountEntry {
                mount_id: 36,
                parent_id: 35,
                major: 98,
                minor: 0,
                root: "/mnt1".into(),
                mount_point: "/mnt/parent".into(),
                mount_options: "rw,noatime".into(),
                optional_fields: vec!["master:1".into()],
                fs_type: "ext3".into(),
                source: "/dev/root".into(),
                super_options: "rw,errors=continue".into(),
            }
        );
    }

    #[test]
    fn squashfs_loop_entry() {
        let m = &sample()[3];
        assert_eq!((m.major, m.minor), (7, 3));
        assert_eq!(m.fs_type, "squashfs");
        assert_eq!(m.source, "/dev/loop3");
        assert_eq!(m.mount_point, Path::new("/snap/hello/x1"));
        assert_eq!(m.optional_fields, ["shared:50", "master:2"]);
        assert!(m.has_mount_option("ro"));
        assert!(m.has_mount_option("nodev"));
        assert!(!m.has_mount_option("rw"));
        assert!(!m.has_mount_option("nod"));
    }

    #[test]
    fn decodes_octal_escapes() {
        let m = &sample()[4];
        assert_eq!(m.mount_point, Path::new("/tmp/with space/and\ttab"));
        assert_eq!(m.source, "my\\source");
    }

    #[test]
    fn no_optional_fields() {
        let m = &sample()[5];
        assert!(m.optional_fields.is_empty());
        assert_eq!(m.fs_type, "tmpfs");
        assert_eq!(m.super_options, "rw");
    }

    #[test]
    fn unescape_edge_cases() {
        assert_eq!(unescape(b"a\\012b"), "a\nb");
        assert_eq!(unescape(b"\\134\\040"), "\\ ");
        // Not an escape: too short, not octal, or out of byte range.
        assert_eq!(unescape(b"x\\04"), "x\\04");
        assert_eq!(unescape(b"\\089"), "\\089");
        assert_eq!(unescape(b"\\477"), "\\477");
        assert_eq!(unescape(b"trailing\\"), "trailing\\");
        // Non-UTF-8 bytes survive in paths.
        assert_eq!(unescape(b"\\377").into_vec(), vec![0xff]);
    }

    #[test]
    fn skips_blank_lines_and_tolerates_crlf_free_trailing_newline() {
        let text = "\n22 1 0:1 / / rw - ext4 /dev/vda1 rw\n\n";
        assert_eq!(parse_mountinfo(text.as_bytes()).unwrap().len(), 1);
        assert!(parse_mountinfo(b"").unwrap().is_empty());
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let cases: &[(&str, &str)] = &[
            (
                "22 1 0:1 / / rw ext4 /dev/vda1 rw",
                "missing the '-' separator",
            ),
            ("22 1 01 / / rw - ext4 /dev/vda1 rw", "bad major:minor"),
            ("x 1 0:1 / / rw - ext4 /dev/vda1 rw", "bad mount id"),
            ("22 1 0:1 / / rw -", "missing filesystem type"),
            ("22 1 0:1 / / rw - ext4", "missing mount source"),
            ("22 1 0:1", "missing root"),
        ];
        for (line, want) in cases {
            let text = format!("22 1 0:1 / / rw - ext4 /dev/vda1 rw\n{line}\n");
            let err = parse_mountinfo(text.as_bytes()).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.contains("line 2") && msg.contains(want),
                "{line:?} gave {msg:?}"
            );
        }
    }

    #[test]
    fn live_table_has_root() {
        // Reading /proc needs no privilege; every namespace has a mount at "/".
        assert!(is_mount_point(Path::new("/")).unwrap());
        assert!(mounts_under(Path::new("/")).unwrap().len() >= 2);
    }
}
