use std::fs::File;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha384};

use crate::SquashfsError;

/// The identity of one revision's blob: its SHA-384 and its size in bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapDigest {
    /// Lower-case hex of the SHA-384 of the whole file.
    pub sha384: String,
    pub size: u64,
}

/// Hashes a file by streaming it (snaps may be hundreds of MB; never hold them in memory).
pub fn digest_file(path: &Path) -> Result<SnapDigest, SquashfsError> {
    let mut file = File::open(path).map_err(|source| SquashfsError::Open {
        path: path.to_owned(),
        source,
    })?;
    let mut hasher = Sha384::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|source| SquashfsError::Io {
            context: format!("reading {}", path.display()),
            source,
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok(SnapDigest {
        sha384: to_hex(&hasher.finalize()),
        size,
    })
}

fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_known_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        let d = digest_file(&p).unwrap();
        // FIPS 180-2 test vector for SHA-384("abc").
        assert_eq!(
            d.sha384,
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
             8086072ba1e7cc2358baeca134c825a7"
        );
        assert_eq!(d.size, 3);
    }

    #[test]
    fn digest_of_missing_file_is_a_clear_error() {
        let err = digest_file(Path::new("/nonexistent/x.snap")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x.snap"), "{err}");
    }
}
