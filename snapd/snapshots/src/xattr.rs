//! The `user.` extended attributes of saved entries. Only that namespace is kept: `security.`
//! (file capabilities, SELinux labels) and `trusted.` would let a crafted archive grant powers,
//! and `system.` (ACLs) follows from the owners and modes that are kept.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::io::Errno;

pub const PAX_PREFIX: &str = "SCHILY.xattr.";
const USER: &str = "user.";

/// Whether a name may be saved and restored.
pub fn allowed(name: &str) -> bool {
    name.len() > USER.len() && name.starts_with(USER)
}

/// The `user.` attributes of `path` (not followed), sorted by name; none where the file
/// system has no extended attributes.
pub fn read(path: &Path, buf: &mut Vec<u8>) -> io::Result<Vec<(String, Vec<u8>)>> {
    buf.resize(64 << 10, 0);
    let n = match rustix::fs::llistxattr(path, &mut buf[..]) {
        Ok(n) => n,
        Err(Errno::NOTSUP) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for name in buf[..n].split(|b| *b == 0) {
        let Ok(name) = std::str::from_utf8(name) else {
            return Err(io::Error::other("extended attribute name is not UTF-8"));
        };
        if !allowed(name) {
            continue;
        }
        let mut value = vec![0u8; 64 << 10];
        let len = rustix::fs::lgetxattr(path, OsStr::from_bytes(name.as_bytes()), &mut value[..])?;
        value.truncate(len);
        out.push((name.to_owned(), value));
    }
    out.sort();
    Ok(out)
}

/// Sets attributes on a path (not followed).
pub fn write(path: &Path, attrs: &[(String, Vec<u8>)]) -> io::Result<()> {
    for (name, value) in attrs {
        rustix::fs::lsetxattr(path, name.as_str(), value, rustix::fs::XattrFlags::empty())?;
    }
    Ok(())
}

/// Sets attributes on an open file.
pub fn write_fd(file: &std::fs::File, attrs: &[(String, Vec<u8>)]) -> io::Result<()> {
    for (name, value) in attrs {
        rustix::fs::fsetxattr(file, name.as_str(), value, rustix::fs::XattrFlags::empty())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_user_attributes_travel() {
        assert!(allowed("user.origin"));
        assert!(!allowed("user."));
        assert!(!allowed("security.capability"));
        assert!(!allowed("trusted.overlay.opaque"));
        assert!(!allowed("system.posix_acl_access"));
    }
}
