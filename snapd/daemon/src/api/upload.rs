//! Receiving a sideload: the multipart form's fields, and its file parts streamed to disk under
//! `/var/lib/snapd/uploads`, never held in memory. A spooled file is deleted when its
//! [`SpooledFile`] is dropped, unless a change has taken it over.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use axum::extract::Multipart;
use tokio::io::AsyncWriteExt;

use super::reply::{Reply, bad_request, internal};

/// The largest snap accepted in one upload.
pub const MAX_UPLOAD_BYTES: u64 = 8 << 30;
/// Text fields are short (`action`, `snap-path`, flags).
const MAX_FIELD_BYTES: usize = 4096;

pub struct Form {
    pub fields: HashMap<String, String>,
    pub files: Vec<SpooledFile>,
}

impl Form {
    pub fn flag(&self, name: &str) -> bool {
        self.fields.get(name).is_some_and(|v| v == "true")
    }
}

pub struct SpooledFile {
    pub path: PathBuf,
    pub filename: String,
    keep: bool,
}

impl SpooledFile {
    /// Hands the file to a change: it is no longer deleted on drop.
    pub fn keep(mut self) -> PathBuf {
        self.keep = true;
        self.path.clone()
    }
}

impl Drop for SpooledFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

pub async fn receive(upload_dir: &Path, mut multipart: Multipart) -> Result<Form, Reply> {
    let mut form = Form {
        fields: HashMap::new(),
        files: Vec::new(),
    };
    tokio::fs::create_dir_all(upload_dir)
        .await
        .map_err(|e| internal(format!("cannot create {}: {e}", upload_dir.display())))?;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| bad_request(format!("cannot read the upload: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(filename) = field.file_name().map(str::to_owned) {
            if name != "snap" {
                return Err(bad_request(format!("unexpected file field {name:?}")));
            }
            let path = upload_dir.join(format!("{}.snap", unique_name()));
            let spooled = SpooledFile {
                path: path.clone(),
                filename,
                keep: false,
            };
            let mut file = tokio::fs::File::create(&path)
                .await
                .map_err(|e| internal(format!("cannot create {}: {e}", path.display())))?;
            let mut written: u64 = 0;
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|e| bad_request(format!("cannot read the upload: {e}")))?
            {
                written += chunk.len() as u64;
                if written > MAX_UPLOAD_BYTES {
                    return Err(bad_request(format!(
                        "the snap is larger than {MAX_UPLOAD_BYTES} bytes"
                    )));
                }
                file.write_all(&chunk)
                    .await
                    .map_err(|e| internal(format!("cannot write {}: {e}", path.display())))?;
            }
            // The blob this becomes must survive a power cut once the change says so.
            file.sync_all()
                .await
                .map_err(|e| internal(format!("cannot write {}: {e}", path.display())))?;
            form.files.push(spooled);
        } else {
            let mut value = Vec::new();
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|e| bad_request(format!("cannot read the upload: {e}")))?
            {
                value.extend_from_slice(&chunk);
                if value.len() > MAX_FIELD_BYTES {
                    return Err(bad_request(format!("form field {name:?} is too long")));
                }
            }
            let text = String::from_utf8(value)
                .map_err(|_| bad_request(format!("form field {name:?} is not text")))?;
            form.fields.insert(name, text);
        }
    }
    Ok(form)
}

/// A name no other upload has: the time in nanoseconds, the pid and a counter.
fn unique_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{nanos}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
