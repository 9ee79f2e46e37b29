//! Users whose `~/snap/NAME` a snapshot covers.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use snap_core::dirs::Dirs;

use crate::error::{Result, io};
use crate::meta::valid_user_name;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// The home directory, already placed under the root (`Dirs::user_home`).
    pub home: PathBuf,
}

/// snapd's "all users": `/root` and every `/home/NAME` that has a `snap` directory, with the
/// owner of the home as the user's ids. Sorted by name.
pub fn discover_users(dirs: &Dirs) -> Result<Vec<User>> {
    let mut users = Vec::new();
    let mut consider = |name: String, home: PathBuf| {
        if !valid_user_name(&name) {
            return;
        }
        if let (Ok(h), Ok(s)) = (
            std::fs::metadata(&home),
            std::fs::symlink_metadata(home.join("snap")),
        ) && s.is_dir()
        {
            users.push(User {
                name,
                uid: h.uid(),
                gid: h.gid(),
                home,
            });
        }
    };
    consider("root".into(), dirs.user_home("/root".as_ref()));
    let homes = dirs.user_home("/home".as_ref());
    match std::fs::read_dir(&homes) {
        Ok(rd) => {
            for e in rd {
                let e = e.map_err(io("read", &homes))?;
                if let Some(name) = e.file_name().to_str() {
                    consider(name.to_owned(), e.path());
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("read", &homes)(e)),
    }
    users.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(users)
}
