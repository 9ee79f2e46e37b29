//! Who is running the app: the real uid and gid from the kernel, the home directory from the
//! password database (`getpwuid_r`, so NSS sources count), never from `$HOME`.

use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::error::Error;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// The password database's home directory (`/root`, `/home/alice`).
    pub pw_dir: PathBuf,
}

impl Identity {
    /// The caller; refuses a setuid or setgid launch (see the crate documentation).
    pub fn of_caller() -> Result<Identity, Error> {
        let uid = rustix::process::getuid();
        let gid = rustix::process::getgid();
        if uid != rustix::process::geteuid() || gid != rustix::process::getegid() {
            return Err(Error::Setuid);
        }
        let uid = uid.as_raw();
        let pw_dir = home_of(uid)?;
        if !pw_dir.is_absolute() || pw_dir.to_str().is_none() {
            return Err(Error::Unsafe {
                path: pw_dir,
                reason: format!("the home directory of uid {uid} is not an absolute UTF-8 path"),
            });
        }
        Ok(Identity {
            uid,
            gid: gid.as_raw(),
            pw_dir,
        })
    }

    /// The home as a string (checked to be UTF-8 by [`Identity::of_caller`]).
    pub fn home_str(&self) -> &str {
        self.pw_dir.to_str().unwrap_or("/")
    }
}

/// The home directory of `uid` in the password database.
pub fn home_of(uid: u32) -> Result<PathBuf, Error> {
    let mut buf: Vec<libc::c_char> = vec![0; 1024];
    loop {
        let mut pwd = std::mem::MaybeUninit::<libc::passwd>::uninit();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call: `pwd` is writable storage for one
        // `passwd`, `buf` is writable for `buf.len()` bytes, `result` is a writable pointer.
        let rc = unsafe {
            libc::getpwuid_r(
                uid,
                pwd.as_mut_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < (1 << 20) {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 {
            return Err(Error::sys(
                format!("look up uid {uid} in the password database"),
                std::io::Error::from_raw_os_error(rc),
            ));
        }
        if result.is_null() {
            return Err(Error::NoUser(uid));
        }
        // SAFETY: getpwuid_r succeeded and returned an entry, so `pwd` is initialised and its
        // `pw_dir` points to a NUL-terminated string inside `buf`, which outlives this use.
        let dir = unsafe { CStr::from_ptr(pwd.assume_init_ref().pw_dir) };
        return Ok(PathBuf::from(OsStr::from_bytes(dir.to_bytes())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callers_home_comes_from_the_database() {
        let me = Identity::of_caller().unwrap();
        // The test machine's /etc/passwd has this user (root in CI).
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
        let line = passwd
            .lines()
            .find(|l| l.split(':').nth(2) == Some(&me.uid.to_string()))
            .unwrap();
        assert_eq!(me.pw_dir, PathBuf::from(line.split(':').nth(5).unwrap()));
        assert!(matches!(
            home_of(4_000_000_123),
            Err(Error::NoUser(4_000_000_123))
        ));
    }
}
