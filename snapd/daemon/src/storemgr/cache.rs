//! The last index the device accepted, with its ETag and serial, kept across restarts in
//! `<root>/var/lib/snapd/store/index-cache.json`: the next check is conditional (a 304 costs a
//! few hundred bytes) and a replayed older index is refused even after a restart.
//!
//! The file is written by the daemon only (root, mode 0600) after the index was verified, so it
//! is read back without its signatures; a file that does not decode is taken as absent (the next
//! check fetches the index whole), never as a reason to stop.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use snap_store::Index;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct CachedIndex {
    /// The URL the index came from: pointing the device at another store starts afresh.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    pub index: Index,
}

pub fn cache_file(store_dir: &Path) -> PathBuf {
    store_dir.join("index-cache.json")
}

pub fn load(path: &Path, url: &str) -> Option<CachedIndex> {
    let bytes = std::fs::read(path).ok()?;
    match serde_json::from_slice::<CachedIndex>(&bytes) {
        Ok(c) if c.url == url => Some(c),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!("ignoring the store cache {}: {e}", path.display());
            None
        }
    }
}

pub fn save(path: &Path, cached: &CachedIndex) -> Result<(), String> {
    let bytes = serde_json::to_vec(cached).map_err(|e| e.to_string())?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    snap_sys::atomic_write(path, &bytes, 0o600).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_round_trips_and_belongs_to_one_url() {
        let dir = tempfile::tempdir().unwrap();
        let path = cache_file(dir.path());
        assert_eq!(load(&path, "http://a/"), None);
        let index = Index {
            serial: 9,
            ..Index::default()
        };
        let c = CachedIndex {
            url: "http://a/".into(),
            etag: Some("\"abc\"".into()),
            index,
        };
        save(&path, &c).unwrap();
        assert_eq!(load(&path, "http://a/"), Some(c));
        assert_eq!(load(&path, "http://b/"), None);
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(load(&path, "http://a/"), None);
    }
}
