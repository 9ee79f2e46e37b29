//! SHA-384 of archive members, computed while writing (save) or by reading a file (check,
//! restore). SHA-384 rather than snapd's SHA3-384: on this machine's CPUs sha2 hashes about
//! 550 MB/s against 300 MB/s for sha3, and the hash is on the critical path of save and restore.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha384};

use crate::error::{Result, io};

pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

pub fn sha384_hex(data: &[u8]) -> String {
    to_hex(&Sha384::digest(data))
}

/// SHA-384 (hex) and length of a file, read in large blocks.
pub fn sha384_file(path: &Path) -> Result<(String, u64)> {
    let f = File::open(path).map_err(io("open", path))?;
    sha384_open(f, path)
}

/// SHA-384 (hex) and length of an open file (`path` only names it in errors).
pub fn sha384_open(mut f: File, path: &Path) -> Result<(String, u64)> {
    let mut h = Sha384::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io("read", path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        len += n as u64;
    }
    Ok((to_hex(&h.finalize()), len))
}

/// A writer that hashes and counts everything passing through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha384,
    len: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha384::new(),
            len: 0,
        }
    }

    /// The inner writer, the hex digest and the byte count.
    pub fn finish(self) -> (W, String, u64) {
        (self.inner, to_hex(&self.hasher.finalize()), self.len)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_writer_matches_one_shot_digest() {
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"hello ").unwrap();
        w.write_all(b"world").unwrap();
        let (inner, hex, len) = w.finish();
        assert_eq!(inner, b"hello world");
        assert_eq!(len, 11);
        assert_eq!(hex, sha384_hex(b"hello world"));
        // FIPS 180-4 test vector for "abc".
        assert!(sha384_hex(b"abc").starts_with("cb00753f45a35e8bb5a03d699ac65007"));
    }
}
