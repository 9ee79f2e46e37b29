//! A repository on the publisher's disk: `index.json` (the signed index) and `blobs/`. Every
//! change takes the repository's lock, verifies the current index with the publishing key, writes
//! blobs before the index that names them, and replaces the index atomically, so a server
//! reading the tree at any moment serves a consistent store.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha384};

use crate::fsutil::{rename_durably, sync_parent, temp_beside};
use crate::index::{Index, RevisionEntry};
use crate::sign::SecretKey;
use crate::{Channel, StoreError, hex};

pub const INDEX_FILE: &str = "index.json";
pub const BLOBS_DIR: &str = "blobs";
/// Held while a command changes the repository (never served: the dot keeps it apart).
const LOCK_FILE: &str = ".snap-store.lock";

pub struct Repo {
    root: PathBuf,
}

/// What `publish` did.
#[derive(Debug, PartialEq, Eq)]
pub struct Published {
    pub name: String,
    pub version: String,
    pub revision: u64,
    /// False when the same blob was already a revision (then nothing was copied).
    pub new_revision: bool,
    pub channel: Channel,
    pub serial: u64,
}

impl Repo {
    /// Makes an empty repository; with a key it also writes a signed empty index, so devices
    /// pointed at it get a valid "nothing here" rather than a 404.
    pub fn init(root: &Path, key: Option<&SecretKey>) -> Result<Repo, StoreError> {
        if root.join(INDEX_FILE).exists() {
            return Err(StoreError::Repo {
                path: root.to_owned(),
                reason: "already a repository (index.json exists)".into(),
            });
        }
        std::fs::create_dir_all(root.join(BLOBS_DIR)).map_err(|e| {
            StoreError::io(format!("creating {}", root.join(BLOBS_DIR).display()), e)
        })?;
        let repo = Repo {
            root: root.to_owned(),
        };
        if let Some(key) = key {
            let _lock = repo.lock()?;
            repo.store(&mut Index::default(), key)?;
        }
        Ok(repo)
    }

    pub fn open(root: &Path) -> Result<Repo, StoreError> {
        if !root.join(BLOBS_DIR).is_dir() {
            return Err(StoreError::Repo {
                path: root.to_owned(),
                reason: "not a repository (no blobs/ directory; run `snap-store init` first)"
                    .into(),
            });
        }
        Ok(Repo {
            root: root.to_owned(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The current index, its signature checked against `key` (a publisher never re-signs what
    /// it did not sign itself). A repository with no index yet has an empty one.
    pub fn load(&self, key: &SecretKey) -> Result<Index, StoreError> {
        let path = self.root.join(INDEX_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => Index::verify(&bytes, &[key.public()], &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index::default()),
            Err(e) => Err(StoreError::io(format!("reading {}", path.display()), e)),
        }
    }

    /// The current index without checking who signed it (for listing only).
    pub fn load_unverified(&self) -> Result<Index, StoreError> {
        let path = self.root.join(INDEX_FILE);
        let name = path.display().to_string();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Index::default()),
            Err(e) => return Err(StoreError::io(format!("reading {name}"), e)),
        };
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| StoreError::MalformedIndex {
                source_name: name.clone(),
                reason: e.to_string(),
            })?;
        let index: Index = serde_json::from_value(v["signed"].clone()).map_err(|e| {
            StoreError::MalformedIndex {
                source_name: name.clone(),
                reason: e.to_string(),
            }
        })?;
        index
            .validate()
            .map_err(|reason| StoreError::MalformedIndex {
                source_name: name,
                reason,
            })?;
        Ok(index)
    }

    /// Adds `snap_file` as the next revision of its snap (or finds the revision that has the same
    /// bytes) and releases it to `channel`.
    pub fn publish(
        &self,
        snap_file: &Path,
        channel: &Channel,
        rollout: Option<u8>,
        publisher: Option<&str>,
        key: &SecretKey,
    ) -> Result<Published, StoreError> {
        if let Some(p) = rollout.filter(|p| *p > 100) {
            return Err(StoreError::InvalidRollout {
                value: u64::from(p),
            });
        }
        let bad = |reason: String| StoreError::BadSnap {
            path: snap_file.to_owned(),
            reason,
        };
        let yaml = snap_squashfs::SnapFile::open(snap_file)
            .and_then(|f| f.snap_yaml())
            .map_err(|e| bad(e.to_string()))?;
        let version = yaml
            .version
            .clone()
            .ok_or_else(|| bad("snap.yaml has no version".into()))?;
        let name = yaml.name.clone();

        let _lock = self.lock()?;
        let mut index = self.load(key)?;
        // Copy first, hashing what is copied: the digest is of the stored bytes even if the
        // source changes under us.
        let revision = index.next_revision(&name);
        let blob_rel = format!("{BLOBS_DIR}/{name}_{revision}.snap");
        let blob = self.root.join(&blob_rel);
        let tmp = temp_beside(&blob);
        let (sha384, size) = copy_hashing(snap_file, &tmp)?;
        let entry = RevisionEntry {
            version: version.clone(),
            epoch: yaml.epoch.to_string(),
            sha384: sha384.clone(),
            size,
            blob: blob_rel,
        };
        let summary = yaml.summary.clone().unwrap_or_default();
        let (revision, new_revision) = index.add_revision(
            &name,
            publisher.unwrap_or_default(),
            &summary,
            |_| entry,
            &sha384,
        );
        if new_revision {
            rename_durably(&tmp, &blob)?;
        } else {
            let _ = std::fs::remove_file(&tmp);
        }
        // An explicit --publisher replaces the recorded one; otherwise it is kept.
        if let (Some(p), Some(snap)) = (publisher, index.snaps.get_mut(&name)) {
            snap.publisher = p.to_owned();
        }
        index.release(&name, revision, channel, rollout)?;
        self.store(&mut index, key)?;
        Ok(Published {
            name,
            version,
            revision,
            new_revision,
            channel: channel.clone(),
            serial: index.serial,
        })
    }

    pub fn release(
        &self,
        name: &str,
        revision: u64,
        channel: &Channel,
        rollout: Option<u8>,
        key: &SecretKey,
    ) -> Result<u64, StoreError> {
        let _lock = self.lock()?;
        let mut index = self.load(key)?;
        index.release(name, revision, channel, rollout)?;
        self.store(&mut index, key)?;
        Ok(index.serial)
    }

    pub fn close(&self, name: &str, channel: &Channel, key: &SecretKey) -> Result<u64, StoreError> {
        let _lock = self.lock()?;
        let mut index = self.load(key)?;
        index.close(name, channel)?;
        self.store(&mut index, key)?;
        Ok(index.serial)
    }

    fn lock(&self) -> Result<File, StoreError> {
        let path = self.root.join(LOCK_FILE);
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| StoreError::io(format!("opening {}", path.display()), e))?;
        f.lock()
            .map_err(|e| StoreError::io(format!("locking {}", path.display()), e))?;
        Ok(f)
    }

    /// Bumps the serial, signs and replaces `index.json`.
    ///
    /// Servers such as nginx derive the ETag from the file's mtime in whole seconds and its size,
    /// so two publications within one second could give a new index the old ETag, and devices
    /// would be told 304 for it. The new file's mtime is therefore always made later, by at least
    /// a second, than the one it replaces.
    fn store(&self, index: &mut Index, key: &SecretKey) -> Result<(), StoreError> {
        index.serial += 1;
        let bytes = index.sign(key)?;
        let path = self.root.join(INDEX_FILE);
        let tmp = temp_beside(&path);
        let old_mtime = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        let result = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&tmp)?;
            f.write_all(&bytes)?;
            if let Some(old) = old_mtime {
                let now = SystemTime::now();
                let floor = whole_seconds(old) + Duration::from_secs(1);
                if whole_seconds(now) < floor {
                    f.set_modified(floor)?;
                }
            }
            f.sync_all()
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(StoreError::io(format!("writing {}", tmp.display()), e));
        }
        rename_durably(&tmp, &path)
    }
}

fn whole_seconds(t: SystemTime) -> SystemTime {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// Copies `from` to a new file `to` (mode 0644, fsynced) and returns the SHA-384 and size of
/// what was written.
fn copy_hashing(from: &Path, to: &Path) -> Result<(String, u64), StoreError> {
    let result = (|| {
        let mut src = File::open(from)?;
        let _ = std::fs::remove_file(to);
        let mut dst = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(to)?;
        let mut h = Sha384::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut size = 0u64;
        loop {
            let n = src.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            dst.write_all(&buf[..n])?;
            size += n as u64;
        }
        dst.sync_all()?;
        Ok((hex::encode(&h.finalize()), size))
    })();
    let out = result.map_err(|e| {
        let _ = std::fs::remove_file(to);
        StoreError::io(format!("copying {} to {}", from.display(), to.display()), e)
    })?;
    sync_parent(to)?;
    Ok(out)
}
