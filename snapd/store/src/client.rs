//! The device's side: one conditional GET of the index, and resumable, verified downloads.
//!
//! Blocking (ureq): the daemon calls it from `spawn_blocking`, and nothing else here needs an
//! async runtime.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::ops::ControlFlow;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::fsutil::{rename_durably, sync_parent};
use crate::index::{Index, RevisionEntry};
use crate::repo::INDEX_FILE;
use crate::{PublicKey, StoreError};

/// The largest index a device accepts; a hostile server cannot make it allocate more.
pub const MAX_INDEX_BYTES: u64 = 32 << 20;

/// The outcome of a refresh check.
#[derive(Debug)]
pub enum Check {
    /// The server answered 304: the index the device has is current.
    NotModified,
    /// A new (verified) index, and the ETag to send next time.
    Updated { index: Index, etag: Option<String> },
}

/// How far a download has come, for progress reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

#[derive(Clone)]
pub struct StoreClient {
    base: String,
    trusted: Vec<PublicKey>,
    agent: ureq::Agent,
}

impl StoreClient {
    /// `base_url` is the repository's root (`http://host/store/`); `trusted` the keys whose
    /// signature the device accepts.
    pub fn new(base_url: &str, trusted: Vec<PublicKey>) -> Result<StoreClient, StoreError> {
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(StoreError::Http {
                url: base_url.to_owned(),
                reason: "the store URL must start with http:// or https://".into(),
            });
        }
        if trusted.is_empty() {
            return Err(StoreError::Http {
                url: base_url.to_owned(),
                reason: "no trusted key is configured: every index would be refused".into(),
            });
        }
        let mut base = base_url.to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        let config = ureq::Agent::config_builder()
            // Statuses are ours to interpret (304, 206, 416).
            .http_status_as_error(false)
            .user_agent("snapd-rs")
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .build();
        Ok(StoreClient {
            base,
            trusted,
            agent: ureq::Agent::new_with_config(config),
        })
    }

    pub fn index_url(&self) -> String {
        format!("{}{INDEX_FILE}", self.base)
    }

    pub fn blob_url(&self, rev: &RevisionEntry) -> String {
        // The index's validation has made `blob` a plain name under `blobs/`.
        format!("{}{}", self.base, rev.blob)
    }

    /// Fetches the index unless it is unchanged: with `etag` (from the last `Updated`) the
    /// request is conditional and an unchanged index costs one 304. A new index is verified and
    /// must not be older than `min_serial` (the serial of the last index the device accepted).
    pub fn check(&self, etag: Option<&str>, min_serial: Option<u64>) -> Result<Check, StoreError> {
        let url = self.index_url();
        let mut req = self.agent.get(&url);
        if let Some(e) = etag {
            req = req.header("If-None-Match", e);
        }
        let mut resp = req.call().map_err(|e| http_err(&url, e))?;
        match resp.status().as_u16() {
            304 if etag.is_some() => Ok(Check::NotModified),
            200 => {
                let etag = resp
                    .headers()
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let body = resp
                    .body_mut()
                    .with_config()
                    .limit(MAX_INDEX_BYTES)
                    .read_to_vec()
                    .map_err(|e| http_err(&url, e))?;
                let index = Index::verify(&body, &self.trusted, &url)?;
                if let Some(seen) = min_serial.filter(|s| index.serial < *s) {
                    return Err(StoreError::Rollback {
                        source_name: url,
                        got: index.serial,
                        seen,
                    });
                }
                Ok(Check::Updated { index, etag })
            }
            status => Err(StoreError::HttpStatus { url, status }),
        }
    }

    /// Downloads a revision's blob to `dest`, resuming `dest.partial` if an earlier download was
    /// interrupted (`Range: bytes=N-`), and moves it into place only once its size and SHA-384
    /// match the signed index. A resumed file that does not verify is fetched once more whole
    /// (its first part may be what was stale or corrupt); a whole file that does not verify is an
    /// error, and nothing is left behind. `progress` may stop the download (`Break`): the partial
    /// file is kept for the next attempt.
    pub fn download(
        &self,
        rev: &RevisionEntry,
        dest: &Path,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let url = self.blob_url(rev);
        let partial = partial_path(dest);
        loop {
            let had = self.fetch_into_partial(&url, rev, &partial, progress)?;
            let got = snap_squashfs::digest_file(&partial).map_err(|e| StoreError::Download {
                url: url.clone(),
                reason: e.to_string(),
            })?;
            if got.size == rev.size && got.sha384 == rev.sha384 {
                return rename_durably(&partial, dest);
            }
            remove(&partial)?;
            if had == 0 {
                return Err(StoreError::DigestMismatch {
                    url,
                    expected_size: rev.size,
                    expected_sha384: rev.sha384.clone(),
                    got_size: got.size,
                    got_sha384: got.sha384,
                });
            }
        }
    }

    /// Brings `partial` to the blob's full size (or stops with an error); returns how many bytes
    /// it already had (0: a whole download).
    fn fetch_into_partial(
        &self,
        url: &str,
        rev: &RevisionEntry,
        partial: &Path,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<u64, StoreError> {
        let dl_err = |reason: String| StoreError::Download {
            url: url.to_owned(),
            reason,
        };
        let mut have = match std::fs::metadata(partial) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(StoreError::io(format!("reading {}", partial.display()), e)),
        };
        if have > rev.size {
            remove(partial)?;
            have = 0;
        }
        if have == rev.size {
            return Ok(have);
        }
        let mut req = self.agent.get(url);
        if have > 0 {
            req = req.header("Range", format!("bytes={have}-"));
        }
        let mut resp = req.call().map_err(|e| http_err(url, e))?;
        let resumed_from = match resp.status().as_u16() {
            206 if have > 0 => {
                let start = resp
                    .headers()
                    .get("content-range")
                    .and_then(|v| v.to_str().ok())
                    .and_then(content_range_start);
                if start != Some(have) {
                    return Err(dl_err(format!(
                        "asked for bytes from {have}, the server sent {start:?}"
                    )));
                }
                have
            }
            // A server that ignores Range sends everything: start over.
            200 => 0,
            // The file on the server is shorter than what we have: it is not ours to continue.
            416 if have > 0 => {
                remove(partial)?;
                return self.fetch_into_partial(url, rev, partial, progress);
            }
            status => {
                return Err(StoreError::HttpStatus {
                    url: url.to_owned(),
                    status,
                });
            }
        };
        let mut file = open_partial(partial, resumed_from)?;
        let mut done = resumed_from;
        let remaining = rev.size - done;
        // One byte more than expected is enough to know the server sends too much.
        let mut body = resp.body_mut().as_reader().take(remaining + 1);
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // What arrived stays in the partial file for the next attempt.
                    let _ = file.sync_data();
                    return Err(dl_err(format!("after {done} of {} bytes: {e}", rev.size)));
                }
            };
            if done + n as u64 > rev.size {
                drop(file);
                remove(partial)?;
                return Err(dl_err(format!(
                    "the server sent more than the {} bytes the index lists",
                    rev.size
                )));
            }
            file.write_all(&buf[..n])
                .map_err(|e| StoreError::io(format!("writing {}", partial.display()), e))?;
            done += n as u64;
            if progress(Progress {
                done,
                total: rev.size,
            })
            .is_break()
            {
                let _ = file.sync_data();
                return Err(StoreError::Cancelled {
                    url: url.to_owned(),
                    done,
                });
            }
        }
        file.sync_all()
            .map_err(|e| StoreError::io(format!("syncing {}", partial.display()), e))?;
        sync_parent(partial)?;
        if done < rev.size {
            return Err(dl_err(format!(
                "the connection ended after {done} of {} bytes",
                rev.size
            )));
        }
        Ok(resumed_from)
    }
}

/// Where a download of `dest` is kept until it verifies.
pub fn partial_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}

/// `bytes START-END/TOTAL` → START.
fn content_range_start(v: &str) -> Option<u64> {
    let range = v.strip_prefix("bytes ")?;
    let (start, _) = range.split_once('-')?;
    start.parse().ok()
}

fn open_partial(path: &Path, keep: u64) -> Result<File, StoreError> {
    let ctx = || format!("opening {}", path.display());
    let f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(keep == 0)
        .mode(0o644)
        .open(path)
        .map_err(|e| StoreError::io(ctx(), e))?;
    if keep > 0 {
        // Exactly the verified-length prefix is kept, whatever was appended after it.
        f.set_len(keep).map_err(|e| StoreError::io(ctx(), e))?;
    }
    let mut f = f;
    f.seek(std::io::SeekFrom::Start(keep))
        .map_err(|e| StoreError::io(ctx(), e))?;
    Ok(f)
}

fn remove(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io(format!("removing {}", path.display()), e)),
    }
}

fn http_err(url: &str, e: ureq::Error) -> StoreError {
    StoreError::Http {
        url: url.to_owned(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_is_parsed() {
        assert_eq!(content_range_start("bytes 100-199/200"), Some(100));
        assert_eq!(content_range_start("bytes */200"), None);
        assert_eq!(content_range_start("items 1-2/3"), None);
    }

    #[test]
    fn partial_sits_beside_the_destination() {
        assert_eq!(
            partial_path(Path::new("/a/b_1.snap")),
            Path::new("/a/b_1.snap.partial")
        );
    }

    #[test]
    fn a_client_needs_a_url_and_a_key() {
        let k = crate::SecretKey::generate().unwrap().public();
        assert!(StoreClient::new("ftp://x/", vec![k.clone()]).is_err());
        assert!(StoreClient::new("http://x/", vec![]).is_err());
        let c = StoreClient::new("http://x/store", vec![k]).unwrap();
        assert_eq!(c.index_url(), "http://x/store/index.json");
    }
}
