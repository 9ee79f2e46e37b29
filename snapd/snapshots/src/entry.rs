//! The rules an archive entry must pass before restore creates anything for it. Pure: the
//! checker sees the entries in archive order and keeps what it needs (symlinks made so far,
//! regular files made so far, bytes declared so far) to judge the next one.
//!
//! An archive restores into a fresh directory beside the snap's data; every entry is a relative
//! path whose first component is one of the archive's top directories (`<rev>` or `common`),
//! made only of normal components, never under a symlink the archive made, never a device.
//! Symlinks and hard links must land inside the snap's data base (`var/snap/NAME` or
//! `~/snap/NAME`). Entries that break a rule stop the restore before anything is swapped in.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// What an entry's header asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File,
    Symlink,
    HardLink,
    Fifo,
    /// Anything else (device nodes, sparse files, unknown types), named for the error.
    Other(&'static str),
}

/// What to create, at a path relative to the extraction directory (top directory already
/// renamed to its restore name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Dir(PathBuf),
    File(PathBuf),
    Symlink {
        path: PathBuf,
        target: PathBuf,
    },
    /// `target` is relative to the extraction directory, like `path`.
    HardLink {
        path: PathBuf,
        target: PathBuf,
    },
    Fifo(PathBuf),
}

/// A top directory of an archive: its name in the archive and the name it restores to (the
/// snap's current revision may differ from the saved one).
#[derive(Clone, Debug)]
pub struct Top {
    pub archived: String,
    pub restored: String,
}

pub struct EntryChecker {
    tops: Vec<Top>,
    /// Paths (restore names) made as symlinks: nothing may be created beneath them.
    symlinks: HashSet<Vec<u8>>,
    /// Paths made as regular files: the only allowed hard-link targets.
    files: HashSet<Vec<u8>>,
    /// Every path an entry named, so a second entry for the same path is refused.
    seen: HashSet<Vec<u8>>,
    declared: u64,
    limit: u64,
}

impl EntryChecker {
    /// `limit` bounds the sum of declared file sizes (the unpacked size meta.json records).
    pub fn new(tops: Vec<Top>, limit: u64) -> Self {
        EntryChecker {
            tops,
            symlinks: HashSet::new(),
            files: HashSet::new(),
            seen: HashSet::new(),
            declared: 0,
            limit,
        }
    }

    /// Judges one entry. `link` is the symlink target or hard-link name; `size` the declared
    /// content size. On `Err` the caller must stop and discard everything extracted.
    pub fn check(
        &mut self,
        path: &[u8],
        kind: &EntryKind,
        link: Option<&[u8]>,
        size: u64,
    ) -> Result<Action, String> {
        let comps = self.components(path)?;
        let mapped = join(&comps);
        for depth in 1..comps.len() {
            if self.symlinks.contains(&join(&comps[..depth])) {
                return Err("path goes through a symlink".into());
            }
        }
        if comps.len() == 1 && *kind != EntryKind::Dir {
            return Err("a top-level entry must be a directory".into());
        }
        if !matches!(kind, EntryKind::File) && size != 0 {
            return Err(format!("a {} entry with a size", kind_name(kind)));
        }
        if !self.seen.insert(mapped.clone()) {
            return Err("duplicate entry".into());
        }
        let p = to_path(&mapped);
        Ok(match kind {
            EntryKind::Dir => Action::Dir(p),
            EntryKind::File => {
                self.declared = self.declared.saturating_add(size);
                if self.declared > self.limit {
                    return Err(format!(
                        "declared sizes exceed the recorded unpacked size ({} bytes)",
                        self.limit
                    ));
                }
                self.files.insert(mapped);
                Action::File(p)
            }
            EntryKind::Fifo => Action::Fifo(p),
            EntryKind::Symlink => {
                let target = link.ok_or("symlink without a target")?;
                check_symlink_target(comps.len() - 1, target)?;
                self.symlinks.insert(mapped);
                Action::Symlink {
                    path: p,
                    target: PathBuf::from(OsStr::from_bytes(target)),
                }
            }
            EntryKind::HardLink => {
                let target = link.ok_or("hard link without a target")?;
                let tcomps = self
                    .components(target)
                    .map_err(|e| format!("hard link target: {e}"))?;
                let tmapped = join(&tcomps);
                if !self.files.contains(&tmapped) {
                    return Err("hard link to something that is not a file of this archive".into());
                }
                self.files.insert(mapped);
                Action::HardLink {
                    path: p,
                    target: to_path(&tmapped),
                }
            }
            EntryKind::Other(what) => return Err(format!("{what} entries are not restored")),
        })
    }

    /// Splits a path into normal components, the first one renamed to its restore name.
    /// A trailing slash (directories) is allowed; nothing else that is not a plain name is.
    fn components(&self, path: &[u8]) -> Result<Vec<Vec<u8>>, String> {
        if path.is_empty() {
            return Err("empty path".into());
        }
        if path[0] == b'/' {
            return Err("absolute path".into());
        }
        let trimmed = path.strip_suffix(b"/").unwrap_or(path);
        let mut comps: Vec<Vec<u8>> = Vec::new();
        for c in trimmed.split(|b| *b == b'/') {
            match c {
                b"" => return Err("empty path component".into()),
                b"." => return Err("\".\" component".into()),
                b".." => return Err("\"..\" component".into()),
                c => comps.push(c.to_vec()),
            }
        }
        let top = self
            .tops
            .iter()
            .find(|t| t.archived.as_bytes() == comps[0].as_slice())
            .ok_or("not under one of the archive's data directories")?;
        comps[0] = top.restored.as_bytes().to_vec();
        Ok(comps)
    }
}

/// A symlink's target must stay inside the data base it is restored under: relative, a run of
/// `..` no longer than the link's depth below the base, then plain names. `..` after a name is
/// refused because that name may itself be a symlink, which would make lexical reasoning wrong.
pub fn check_symlink_target(parent_depth: usize, target: &[u8]) -> Result<(), String> {
    if target.is_empty() {
        return Err("empty symlink target".into());
    }
    if target[0] == b'/' {
        return Err("symlink to an absolute path".into());
    }
    let trimmed = target.strip_suffix(b"/").unwrap_or(target);
    let mut ups = 0usize;
    let mut names = 0usize;
    for c in trimmed.split(|b| *b == b'/') {
        match c {
            b".." if names == 0 => ups += 1,
            b".." => return Err("symlink target with \"..\" after a name".into()),
            b"" | b"." => return Err("symlink target with an empty or \".\" component".into()),
            _ => names += 1,
        }
    }
    if ups > parent_depth {
        return Err("symlink pointing outside the snap's data".into());
    }
    Ok(())
}

/// Owner and mode to give an entry. System data keeps what the archive says. A user's data
/// always belongs to that user, and set-id bits are dropped there, so that a crafted archive
/// cannot plant a set-uid file owned by root in a home directory.
pub fn owner_and_mode(
    header_uid: u32,
    header_gid: u32,
    header_mode: u32,
    user: Option<(u32, u32)>,
) -> (u32, u32, u32) {
    match user {
        None => (header_uid, header_gid, header_mode & 0o7777),
        Some((uid, gid)) => (uid, gid, header_mode & 0o1777),
    }
}

fn kind_name(kind: &EntryKind) -> &'static str {
    match kind {
        EntryKind::Dir => "directory",
        EntryKind::File => "file",
        EntryKind::Symlink => "symlink",
        EntryKind::HardLink => "hard link",
        EntryKind::Fifo => "fifo",
        EntryKind::Other(what) => what,
    }
}

fn join(comps: &[Vec<u8>]) -> Vec<u8> {
    comps.join(&b'/')
}

fn to_path(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checker() -> EntryChecker {
        EntryChecker::new(
            vec![
                Top {
                    archived: "5".into(),
                    restored: "7".into(),
                },
                Top {
                    archived: "common".into(),
                    restored: "common".into(),
                },
            ],
            1000,
        )
    }

    fn ok(c: &mut EntryChecker, p: &str, k: EntryKind, link: Option<&str>, size: u64) -> Action {
        c.check(p.as_bytes(), &k, link.map(str::as_bytes), size)
            .unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    fn refused(
        c: &mut EntryChecker,
        p: &str,
        k: EntryKind,
        link: Option<&str>,
        size: u64,
    ) -> String {
        c.check(p.as_bytes(), &k, link.map(str::as_bytes), size)
            .expect_err(p)
    }

    #[test]
    fn plain_entries_are_renamed_to_the_restore_revision() {
        let mut c = checker();
        assert_eq!(
            ok(&mut c, "5/", EntryKind::Dir, None, 0),
            Action::Dir("7".into())
        );
        assert_eq!(
            ok(&mut c, "5/a/b", EntryKind::File, None, 10),
            Action::File("7/a/b".into())
        );
        assert_eq!(
            ok(&mut c, "common/f", EntryKind::Fifo, None, 0),
            Action::Fifo("common/f".into())
        );
        assert_eq!(
            ok(&mut c, "common/h", EntryKind::HardLink, Some("5/a/b"), 0),
            Action::HardLink {
                path: "common/h".into(),
                target: "7/a/b".into()
            }
        );
        assert_eq!(
            ok(&mut c, "5/l", EntryKind::Symlink, Some("../common/h"), 0),
            Action::Symlink {
                path: "7/l".into(),
                target: "../common/h".into()
            }
        );
    }

    #[test]
    fn escaping_paths_are_refused() {
        let mut c = checker();
        assert!(refused(&mut c, "../x", EntryKind::File, None, 1).contains(".."));
        assert!(refused(&mut c, "/etc/x", EntryKind::File, None, 1).contains("absolute"));
        assert!(refused(&mut c, "5/a/../../x", EntryKind::File, None, 1).contains(".."));
        assert!(refused(&mut c, "5/./x", EntryKind::File, None, 1).contains("\".\""));
        assert!(refused(&mut c, "5//x", EntryKind::File, None, 1).contains("empty"));
        assert!(refused(&mut c, "6/x", EntryKind::File, None, 1).contains("data directories"));
        assert!(refused(&mut c, "", EntryKind::File, None, 1).contains("empty"));
        assert!(refused(&mut c, "5", EntryKind::File, None, 1).contains("top-level"));
        assert!(
            refused(&mut c, "common", EntryKind::Symlink, Some("/etc"), 0).contains("top-level")
        );
    }

    #[test]
    fn nothing_is_created_through_a_symlink() {
        let mut c = checker();
        ok(&mut c, "5/etc", EntryKind::Symlink, Some("../common"), 0);
        assert!(
            refused(&mut c, "5/etc/passwd", EntryKind::File, None, 1).contains("through a symlink")
        );
        assert!(
            refused(&mut c, "5/etc/d/x", EntryKind::Dir, None, 0).contains("through a symlink")
        );
        // The same name again (to replace the symlink by a directory) is a duplicate.
        assert!(refused(&mut c, "5/etc", EntryKind::Dir, None, 0).contains("duplicate"));
    }

    #[test]
    fn symlink_targets_stay_inside_the_base() {
        let mut c = checker();
        assert!(refused(&mut c, "5/a", EntryKind::Symlink, Some("/etc"), 0).contains("absolute"));
        assert!(refused(&mut c, "5/b", EntryKind::Symlink, Some("../../x"), 0).contains("outside"));
        assert!(
            refused(&mut c, "5/d/c", EntryKind::Symlink, Some("../../../x"), 0).contains("outside")
        );
        assert!(
            refused(&mut c, "5/e", EntryKind::Symlink, Some("x/../../.."), 0)
                .contains("after a name")
        );
        assert!(refused(&mut c, "5/f", EntryKind::Symlink, Some(""), 0).contains("empty"));
        ok(
            &mut c,
            "5/d/g",
            EntryKind::Symlink,
            Some("../../common/x"),
            0,
        );
        ok(&mut c, "5/h", EntryKind::Symlink, Some("sub/file"), 0);
        ok(&mut c, "5/i", EntryKind::Symlink, Some(".."), 0);
    }

    #[test]
    fn hard_links_only_to_files_of_the_archive() {
        let mut c = checker();
        ok(&mut c, "5/d", EntryKind::Dir, None, 0);
        ok(&mut c, "5/s", EntryKind::Symlink, Some("d"), 0);
        assert!(
            refused(&mut c, "5/h1", EntryKind::HardLink, Some("/etc/shadow"), 0)
                .contains("absolute")
        );
        assert!(
            refused(
                &mut c,
                "5/h2",
                EntryKind::HardLink,
                Some("../etc/shadow"),
                0
            )
            .contains("..")
        );
        assert!(
            refused(&mut c, "5/h3", EntryKind::HardLink, Some("5/d"), 0).contains("not a file")
        );
        assert!(
            refused(&mut c, "5/h4", EntryKind::HardLink, Some("5/s"), 0).contains("not a file")
        );
        assert!(
            refused(&mut c, "5/h5", EntryKind::HardLink, Some("5/later"), 0).contains("not a file")
        );
    }

    #[test]
    fn devices_and_oversized_entries_are_refused() {
        let mut c = checker();
        assert!(
            refused(
                &mut c,
                "5/null",
                EntryKind::Other("character device"),
                None,
                0
            )
            .contains("device")
        );
        ok(&mut c, "5/a", EntryKind::File, None, 600);
        assert!(refused(&mut c, "5/b", EntryKind::File, None, 401).contains("exceed"));
        assert!(refused(&mut c, "5/c", EntryKind::File, None, u64::MAX).contains("exceed"));
        assert!(refused(&mut c, "5/d", EntryKind::Dir, None, 5).contains("with a size"));
    }

    #[test]
    fn user_data_belongs_to_the_user_without_set_id_bits() {
        assert_eq!(owner_and_mode(0, 0, 0o104755, None), (0, 0, 0o4755));
        assert_eq!(
            owner_and_mode(0, 0, 0o6755, Some((1000, 1000))),
            (1000, 1000, 0o755)
        );
        assert_eq!(
            owner_and_mode(5, 5, 0o1777, Some((1000, 100))),
            (1000, 100, 0o1777)
        );
    }
}
