//! Per-snap cookies: a random secret per installed snap, in a root-only file the launcher
//! reads into the app's `SNAP_COOKIE` (the directory is hidden inside every sandbox). `snapctl`
//! sends it back, and the daemon knows the calling snap from it and from nothing the caller
//! says about itself. The state keeps snapd's `snap-cookies` map (cookie → snap).

use std::io::Read;
use std::path::Path;

use snap_core::dirs::Dirs;
use snap_state::{State, StateError};

pub const COOKIES_KEY: &str = "snap-cookies";

#[derive(Debug, thiserror::Error)]
pub enum CookieError {
    #[error("cannot write the cookie of snap {snap:?}: {source}")]
    Write {
        snap: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    State(#[from] StateError),
}

/// A fresh random secret, hex encoded (256 bits).
pub fn random_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The snap's cookie, making one (state entry and file) if it has none; idempotent, so a
/// re-run after a crash finds what the first run made.
pub fn ensure(st: &mut State, dirs: &Dirs, snap: &str) -> Result<String, CookieError> {
    let write_err = |source| CookieError::Write {
        snap: snap.to_owned(),
        source,
    };
    let cookie = match cookie_of(st, snap)? {
        Some(c) => c,
        None => {
            let c = random_token().map_err(write_err)?;
            st.set_entry(COOKIES_KEY, &c, snap)?;
            c
        }
    };
    let file = dirs.snap_cookie(snap);
    if std::fs::read_to_string(&file).ok().as_deref() != Some(cookie.as_str()) {
        write_root_only(&dirs.cookie_dir(), &file, &cookie).map_err(write_err)?;
    }
    Ok(cookie)
}

fn write_root_only(dir: &Path, file: &Path, cookie: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    snap_sys::atomic_write(file, cookie.as_bytes(), 0o600).map_err(std::io::Error::other)?;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
}

pub fn cookie_of(st: &State, snap: &str) -> Result<Option<String>, StateError> {
    for c in st.entry_names(COOKIES_KEY)? {
        if st.get_entry::<String>(COOKIES_KEY, &c)?.as_deref() == Some(snap) {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// The snap a cookie belongs to.
pub fn snap_of(st: &State, cookie: &str) -> Result<Option<String>, StateError> {
    if cookie.is_empty() {
        return Ok(None);
    }
    st.get_entry::<String>(COOKIES_KEY, cookie)
}

/// Forgets the snap's cookie (state and file), when its last revision goes.
pub fn forget(st: &mut State, dirs: &Dirs, snap: &str) -> Result<(), CookieError> {
    if let Some(c) = cookie_of(st, snap)? {
        st.remove_entry(COOKIES_KEY, &c)?;
    }
    match std::fs::remove_file(dirs.snap_cookie(snap)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(CookieError::Write {
                snap: snap.to_owned(),
                source,
            });
        }
    }
    // The directory goes with the last cookie: a removed snap leaves nothing behind.
    let _ = std::fs::remove_dir(dirs.cookie_dir());
    Ok(())
}
