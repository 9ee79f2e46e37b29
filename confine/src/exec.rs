//! The final `execve`. Everything it needs is converted beforehand ([`Prepared::new`]), so that
//! between loading the seccomp program and `execve` the launcher makes no other system call
//! (the app's filter decides what is allowed, not the launcher's needs).

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::env::Env;
use crate::error::Error;

/// The program to run: `argv[0]` when it contains a `/`, else the first executable regular file
/// of that name in `PATH` (from the app's environment), as `execvp` would.
pub fn resolve_program(argv0: &OsStr, env: &Env) -> Result<PathBuf, Error> {
    resolve_with(argv0, env, |p| {
        p.metadata().map(|m| m.is_file()).unwrap_or(false)
            && rustix::fs::access(p, rustix::fs::Access::EXEC_OK).is_ok()
    })
}

/// [`resolve_program`] with the executable test given (pure with a pure test).
pub fn resolve_with(
    argv0: &OsStr,
    env: &Env,
    is_exec: impl Fn(&Path) -> bool,
) -> Result<PathBuf, Error> {
    if argv0.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(argv0));
    }
    let path = env.get("PATH").unwrap_or_default();
    for dir in path.as_bytes().split(|&b| b == b':') {
        let dir = if dir.is_empty() {
            Path::new(".")
        } else {
            Path::new(OsStr::from_bytes(dir))
        };
        let candidate = dir.join(argv0);
        if is_exec(&candidate) {
            return Ok(candidate);
        }
    }
    Err(Error::Exec {
        program: argv0.to_string_lossy().into_owned(),
        source: std::io::Error::from_raw_os_error(libc::ENOENT),
    })
}

fn cstring(bytes: Vec<u8>) -> Result<CString, Error> {
    CString::new(bytes).map_err(|e| {
        Error::Env(format!(
            "{:?} contains NUL",
            String::from_utf8_lossy(&e.into_vec())
        ))
    })
}

/// An `execve` ready to go, down to the NULL-terminated pointer arrays (built here so that
/// [`Prepared::exec`] does not even allocate).
#[derive(Debug)]
pub struct Prepared {
    program: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    /// Pointers into the heap buffers of `argv` and `envp` (which never move), then NULL.
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
}

fn pointers(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

impl Prepared {
    pub fn new(program: &Path, argv: &[OsString], env: &Env) -> Result<Prepared, Error> {
        let program = cstring(program.as_os_str().as_bytes().to_vec())?;
        let argv: Vec<CString> = argv
            .iter()
            .map(|a| cstring(a.clone().into_vec()))
            .collect::<Result<_, _>>()?;
        let envp: Vec<CString> = env
            .vars()
            .iter()
            .map(|(n, v)| {
                let mut kv = n.clone().into_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                cstring(kv)
            })
            .collect::<Result<_, _>>()?;
        let (argv_ptrs, envp_ptrs) = (pointers(&argv), pointers(&envp));
        Ok(Prepared {
            program,
            argv,
            envp,
            argv_ptrs,
            envp_ptrs,
        })
    }

    pub fn program(&self) -> &CString {
        &self.program
    }

    pub fn args(&self) -> &[CString] {
        &self.argv
    }

    /// `NAME=value` entries.
    pub fn env(&self) -> &[CString] {
        &self.envp
    }

    /// Replaces the process; returns only on failure.
    pub fn exec(&self) -> Error {
        // SAFETY: `program` is NUL-terminated; `argv_ptrs` and `envp_ptrs` are NULL-terminated
        // arrays of pointers to the NUL-terminated strings of `argv` and `envp`, owned by `self`
        // and unchanged since the arrays were built, so alive and in place for the whole call.
        unsafe {
            libc::execve(
                self.program.as_ptr(),
                self.argv_ptrs.as_ptr(),
                self.envp_ptrs.as_ptr(),
            )
        };
        Error::Exec {
            program: self.program.to_string_lossy().into_owned(),
            source: std::io::Error::last_os_error(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_resolution() {
        let mut env = Env::default();
        env.set("PATH", "/snap/a/1/bin:/usr/bin");
        let exists = |p: &Path| p == Path::new("/usr/bin/app");
        assert_eq!(
            resolve_with(OsStr::new("/snap/a/1/bin/x"), &env, exists).unwrap(),
            Path::new("/snap/a/1/bin/x")
        );
        assert_eq!(
            resolve_with(OsStr::new("app"), &env, exists).unwrap(),
            Path::new("/usr/bin/app")
        );
        assert!(resolve_with(OsStr::new("nope"), &env, exists).is_err());
    }

    #[test]
    fn nul_bytes_are_refused() {
        let env = Env::default();
        assert!(Prepared::new(Path::new("/bin/x"), &["a\0b".into()], &env).is_err());
        let mut env = Env::default();
        env.set("A", "b");
        let p = Prepared::new(Path::new("/bin/x"), &["x".into()], &env).unwrap();
        assert_eq!(p.env(), &[CString::new("A=b").unwrap()]);
        assert_eq!(p.args(), &[CString::new("x").unwrap()]);
    }
}
