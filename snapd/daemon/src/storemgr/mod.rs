//! The store manager: the device's side of the static store (`spec/store.md`). It holds the
//! configured store and keys, the last accepted index (kept across restarts with its ETag and
//! serial), the device's rollout seed, and answers "what does this device get for snap N on
//! channel C". Every call here blocks (HTTP, files): the API calls it from `spawn_blocking`,
//! the `download-snap` task from the task runner's thread.

pub mod cache;
pub mod config;
pub mod handlers;
pub mod view;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use snap_core::Revision;
use snap_core::dirs::Dirs;
use snap_store::{
    Channel, Check, DeviceSeed, Index, Progress, Resolved, RevisionEntry, StoreClient, StoreError,
};

use self::cache::CachedIndex;
use self::config::StoreConfig;

/// The `download-snap` task kind (snapd's): downloads and verifies a store revision's blob into
/// `<root>/var/lib/snapd/snaps/NAME_REV.snap`. Its undo removes the blob.
pub const DOWNLOAD_TASK: &str = "download-snap";

#[derive(Debug, thiserror::Error)]
pub enum StoreMgrError {
    #[error(
        "no store is configured: start snapd with --store-url and --store-key-file (or SNAPD_STORE_URL and SNAPD_STORE_KEYS)"
    )]
    NotConfigured,
    /// snapd's wording for a snap the store does not know.
    #[error("snap {0:?} not found")]
    SnapNotFound(String),
    #[error("snap {name:?} is not available on channel {channel:?}")]
    NoRevision { name: String, channel: String },
    #[error("{0}")]
    BadChannel(String),
    #[error("cannot reach the store: {0}")]
    Unreachable(String),
    /// The index did not verify (signature, serial, shape) or a blob did not match it.
    #[error("the store's answer was refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for StoreMgrError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownSnap { name } => StoreMgrError::SnapNotFound(name),
            StoreError::NoRevision { name, channel }
            | StoreError::ChannelNotOpen { name, channel } => {
                StoreMgrError::NoRevision { name, channel }
            }
            e @ StoreError::InvalidChannel { .. } => StoreMgrError::BadChannel(e.to_string()),
            e @ (StoreError::Http { .. }
            | StoreError::HttpStatus { .. }
            | StoreError::Download { .. }) => StoreMgrError::Unreachable(e.to_string()),
            e @ (StoreError::MalformedIndex { .. }
            | StoreError::Unsigned { .. }
            | StoreError::UntrustedKey { .. }
            | StoreError::BadSignature { .. }
            | StoreError::Rollback { .. }
            | StoreError::DigestMismatch { .. }) => StoreMgrError::Refused(e.to_string()),
            e => StoreMgrError::Internal(e.to_string()),
        }
    }
}

pub struct StoreManager {
    dirs: Dirs,
    client: Option<StoreClient>,
    /// The last accepted index; the lock also makes checks one at a time, so two requests never
    /// race to write the cache.
    cached: Mutex<Option<CachedIndex>>,
    seed: OnceLock<DeviceSeed>,
}

impl StoreManager {
    pub fn new(dirs: Dirs, config: Option<StoreConfig>) -> Result<StoreManager, StoreMgrError> {
        let client = config
            .as_ref()
            .map(|c| StoreClient::new(&c.url, c.keys.clone()))
            .transpose()
            .map_err(|e| StoreMgrError::Internal(e.to_string()))?;
        let cached = client
            .as_ref()
            .and_then(|c| cache::load(&cache::cache_file(&store_dir(&dirs)), &c.index_url()));
        Ok(StoreManager {
            dirs,
            client,
            cached: Mutex::new(cached),
            seed: OnceLock::new(),
        })
    }

    /// Whether a store was configured at start.
    pub fn is_configured(&self) -> bool {
        self.client.is_some()
    }

    fn client(&self) -> Result<&StoreClient, StoreMgrError> {
        self.client.as_ref().ok_or(StoreMgrError::NotConfigured)
    }

    /// The store's current index: one conditional GET; a 304 keeps the one already held.
    pub fn index(&self) -> Result<Index, StoreMgrError> {
        let client = self.client()?;
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        let (etag, serial) = match cached.as_ref() {
            Some(c) => (c.etag.clone(), Some(c.index.serial)),
            None => (None, None),
        };
        match client.check(etag.as_deref(), serial)? {
            Check::NotModified => {
                let c = cached
                    .as_ref()
                    .expect("a 304 answers a conditional request");
                Ok(c.index.clone())
            }
            Check::Updated { index, etag } => {
                let fresh = CachedIndex {
                    url: client.index_url(),
                    etag,
                    index,
                };
                // Failing to keep it only costs a whole fetch next time.
                if let Err(e) = cache::save(&cache::cache_file(&self.store_dir()), &fresh) {
                    tracing::warn!("cannot keep the store index: {e}");
                }
                let index = fresh.index.clone();
                *cached = Some(fresh);
                Ok(index)
            }
        }
    }

    /// What this device gets for `name` on `channel` (snapd's short forms accepted).
    pub fn resolve(&self, name: &str, channel: &str) -> Result<Resolved, StoreMgrError> {
        let ch = Channel::parse(channel)?;
        let index = self.index()?;
        Ok(index.resolve(name, &ch, self.seed()?)?)
    }

    // Not called yet: refresh (next) takes its target from here.
    #[allow(dead_code)]
    /// For refresh: the revision this device should have of `name` on `channel`, and its entry
    /// (for `download-snap`), or `None` when the store has nothing for it there.
    pub fn resolve_for_refresh(
        &self,
        name: &str,
        channel: &str,
    ) -> Result<Option<(Revision, RevisionEntry)>, StoreMgrError> {
        match self.resolve(name, channel) {
            Ok(r) => Ok(Some((store_revision(r.revision)?, r.entry))),
            Err(StoreMgrError::SnapNotFound(_) | StoreMgrError::NoRevision { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Downloads a revision's blob to `dest` (resuming `dest.partial`), verified against the
    /// index entry.
    pub fn download(
        &self,
        entry: &RevisionEntry,
        dest: &Path,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        match self.client.as_ref() {
            Some(c) => c.download(entry, dest, progress),
            None => Err(StoreError::Http {
                url: String::new(),
                reason: StoreMgrError::NotConfigured.to_string(),
            }),
        }
    }

    /// The device's rollout seed, made on first use and kept for the device's life.
    pub fn seed(&self) -> Result<&DeviceSeed, StoreMgrError> {
        if let Some(s) = self.seed.get() {
            return Ok(s);
        }
        let path = self.store_dir().join("device-seed");
        std::fs::create_dir_all(self.store_dir()).map_err(|e| {
            StoreMgrError::Internal(format!("cannot create the store directory: {e}"))
        })?;
        let seed = DeviceSeed::load_or_create(&path)
            .map_err(|e| StoreMgrError::Internal(e.to_string()))?;
        Ok(self.seed.get_or_init(|| seed))
    }

    pub fn store_dir(&self) -> PathBuf {
        store_dir(&self.dirs)
    }
}

/// `<root>/var/lib/snapd/store`: the index cache and the device seed.
fn store_dir(dirs: &Dirs) -> PathBuf {
    dirs.snapd_state_dir().join("store")
}

/// A store revision number as the daemon's revision (store revisions are positive).
pub fn store_revision(n: u64) -> Result<Revision, StoreMgrError> {
    match u32::try_from(n) {
        Ok(n) if n > 0 => Ok(Revision::store(n)),
        _ => Err(StoreMgrError::Refused(format!(
            "store revision {n} is out of range"
        ))),
    }
}
