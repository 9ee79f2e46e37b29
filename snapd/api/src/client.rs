use std::path::{Path, PathBuf};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;

use crate::{Response, ResponseType};

/// Why a request did not produce an answer from the daemon.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot communicate with server: {socket}: {source}")]
    Connect {
        socket: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot communicate with server: {0}")]
    Http(String),
    #[error("cannot decode server response: {0}")]
    Decode(String),
    /// The daemon answered with an error response.
    #[error("{message}")]
    Server {
        status_code: u16,
        message: String,
        kind: Option<String>,
        value: Option<serde_json::Value>,
    },
}

impl ClientError {
    pub fn kind(&self) -> Option<&str> {
        match self {
            ClientError::Server { kind, .. } => kind.as_deref(),
            _ => None,
        }
    }
}

/// A file part of a multipart upload.
pub struct MultipartFile {
    pub field: String,
    pub filename: String,
    pub content: Vec<u8>,
}

/// Talks HTTP/1.1 to the daemon over its unix socket; one connection per request keeps it
/// simple and the socket is local, so connecting costs microseconds.
#[derive(Clone, Debug)]
pub struct Client {
    socket: PathBuf,
    /// The `maintenance` of the last answer that had one (snapd's clients warn with it).
    maintenance: std::sync::Arc<std::sync::Mutex<Option<crate::Maintenance>>>,
}

impl Client {
    pub fn new(socket: impl Into<PathBuf>) -> Client {
        Client {
            socket: socket.into(),
            maintenance: Default::default(),
        }
    }

    /// What the daemon last said about maintenance (e.g. a system restart is coming).
    pub fn maintenance(&self) -> Option<crate::Maintenance> {
        self.maintenance.lock().ok().and_then(|m| m.clone())
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    pub async fn get(&self, path_and_query: &str) -> Result<Response, ClientError> {
        self.request("GET", path_and_query, None, Bytes::new())
            .await
    }

    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<Response, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::Decode(e.to_string()))?;
        self.request("POST", path, Some("application/json"), bytes.into())
            .await
    }

    /// `multipart/form-data` with the given text fields, then the files.
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: Vec<MultipartFile>,
    ) -> Result<Response, ClientError> {
        let boundary = format!("snap-cli-boundary-{}", std::process::id());
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
            );
        }
        for f in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                    f.field, f.filename
                )
                .as_bytes(),
            );
            body.extend_from_slice(&f.content);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let ct = format!("multipart/form-data; boundary={boundary}");
        self.request("POST", path, Some(&ct), body.into()).await
    }

    /// Sends one request and decodes the envelope; an error envelope becomes
    /// [`ClientError::Server`].
    pub async fn request(
        &self,
        method: &str,
        path_and_query: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<Response, ClientError> {
        let stream =
            UnixStream::connect(&self.socket)
                .await
                .map_err(|source| ClientError::Connect {
                    socket: self.socket.clone(),
                    source,
                })?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let driver = tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header("Host", "localhost")
            .header("User-Agent", concat!("snap/", env!("CARGO_PKG_VERSION")));
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?
            .to_bytes();
        driver.abort();
        let parsed: Response = serde_json::from_slice(&bytes).map_err(|e| {
            ClientError::Decode(format!(
                "{e}: {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            ))
        })?;
        if let Some(m) = &parsed.maintenance
            && let Ok(mut last) = self.maintenance.lock()
        {
            *last = Some(m.clone());
        }
        if parsed.kind == ResponseType::Error {
            let er = parsed.error_result();
            return Err(ClientError::Server {
                status_code: status,
                message: er
                    .as_ref()
                    .map(|e| e.message.clone())
                    .unwrap_or_else(|| crate::status_text(status).to_owned()),
                kind: er.as_ref().and_then(|e| e.kind.clone()),
                value: er.and_then(|e| e.value),
            });
        }
        Ok(parsed)
    }
}
