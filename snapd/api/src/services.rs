//! `/v2/apps` and `/v2/logs`: the service-control request, the log record, and a streaming
//! `GET` for `/v2/logs`' `application/json-seq` body (RFC 7464: each record is `0x1E`, JSON,
//! `\n`).

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::UnixStream;

use crate::{Client, ClientError, Response};

/// `POST /v2/apps`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AppsAction {
    /// `start`, `stop` or `restart`.
    pub action: String,
    /// `SNAP` (all its services) or `SNAP.APP`.
    pub names: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enable: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable: bool,
    /// With `restart`: run the reload command where the service has one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reload: bool,
}

/// One line of a service's output as `/v2/logs` sends it (snapd's fields; `pid` is a string).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LogRecord {
    pub timestamp: String,
    pub message: String,
    /// The syslog identifier: `SNAP.APP`.
    pub sid: String,
    pub pid: String,
}

/// The record separator of `application/json-seq`.
pub const RS: u8 = 0x1e;

/// Splits a json-seq byte stream into records; keeps an incomplete tail for the next chunk.
#[derive(Default)]
pub struct JsonSeqDecoder {
    buf: Vec<u8>,
}

impl JsonSeqDecoder {
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<LogRecord> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(end) = self.buf.iter().position(|b| *b == b'\n') {
            let rec: Vec<u8> = self.buf.drain(..=end).collect();
            let body = rec.strip_prefix(&[RS]).unwrap_or(&rec);
            if let Ok(r) = serde_json::from_slice::<LogRecord>(body) {
                out.push(r);
            }
        }
        out
    }
}

impl Client {
    /// A `GET` whose successful body is streamed to `on_chunk` as it arrives (`/v2/logs`);
    /// an error status is decoded as the usual error envelope.
    pub async fn get_stream(
        &self,
        path_and_query: &str,
        mut on_chunk: impl FnMut(&[u8]),
    ) -> Result<(), ClientError> {
        let stream =
            UnixStream::connect(self.socket())
                .await
                .map_err(|source| ClientError::Connect {
                    socket: self.socket().to_owned(),
                    source,
                })?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let driver = tokio::spawn(conn);
        let req = Request::builder()
            .method("GET")
            .uri(path_and_query)
            .header("Host", "localhost")
            .body(Empty::<Bytes>::new())
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        if status >= 400 {
            let bytes = body
                .collect()
                .await
                .map_err(|e| ClientError::Http(e.to_string()))?
                .to_bytes();
            driver.abort();
            let parsed: Response =
                serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))?;
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
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| ClientError::Http(e.to_string()))?;
            if let Some(data) = frame.data_ref() {
                on_chunk(data);
            }
        }
        driver.abort();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_seq_records_split_across_chunks() {
        let r = LogRecord {
            timestamp: "2026-01-01T00:00:00.000000Z".into(),
            message: "hello".into(),
            sid: "a.b".into(),
            pid: "12".into(),
        };
        let mut wire = vec![RS];
        wire.extend(serde_json::to_vec(&r).unwrap());
        wire.push(b'\n');
        let mut twice = wire.clone();
        twice.extend(&wire);
        let mut d = JsonSeqDecoder::default();
        assert!(d.feed(&twice[..10]).is_empty());
        assert_eq!(d.feed(&twice[10..]), vec![r.clone(), r]);
        let a: AppsAction =
            serde_json::from_str(r#"{"action":"start","names":["x"],"enable":true}"#).unwrap();
        assert!(a.enable && !a.disable);
        assert_eq!(
            serde_json::to_string(&AppsAction {
                action: "stop".into(),
                names: vec!["x".into()],
                ..Default::default()
            })
            .unwrap(),
            r#"{"action":"stop","names":["x"]}"#
        );
    }
}
