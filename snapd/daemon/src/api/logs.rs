//! `GET /v2/logs?names=...&n=N&follow=BOOL`: services' output as `application/json-seq`
//! records (`0x1E`, `{"timestamp","message","sid","pid"}`, `\n`), as snapd sends them from
//! the journal. The last `n` lines (10 by default, all when negative) of the named services
//! merged by time; with `follow`, new lines as they are written until the client goes.
#![allow(clippy::result_large_err)] // See reply.rs: a Reply is a whole envelope either way.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response as HttpResponse};
use bytes::Bytes;
use http_body_util::Channel;
use snapd_api::{LogRecord, RS};

use super::apps::control_error;
use super::reply::{Reply, bad_request, internal};
use crate::daemon::Daemon;
use crate::servicemgr::logs::{LOG_FILE, Record, read_all};

fn encode(sid: &str, r: &Record) -> Vec<u8> {
    let rec = LogRecord {
        timestamp: r.timestamp.clone(),
        message: r.message.clone(),
        sid: sid.to_owned(),
        pid: r.pid.map(|p| p.to_string()).unwrap_or_default(),
    };
    let mut out = vec![RS];
    out.extend(serde_json::to_vec(&rec).expect("records serialize"));
    out.push(b'\n');
    out
}

fn sort_key(r: &Record) -> i128 {
    snap_state::Timestamp::parse_rfc3339(&r.timestamp)
        .map(|t| {
            let d = t
                .to_system_time()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            d.as_nanos() as i128
        })
        .unwrap_or(0)
}

pub async fn get(
    State(d): State<Arc<Daemon>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<HttpResponse, Reply> {
    let n: i64 = match q.get("n").map(String::as_str) {
        None | Some("") => 10,
        Some(s) => s
            .parse()
            .map_err(|_| bad_request(format!("invalid value for n: {s:?}")))?,
    };
    let follow = match q.get("follow").map(String::as_str) {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(bad_request(format!("invalid value for follow: {other:?}"))),
    };
    let names: Vec<String> = q
        .get("names")
        .map(|s| {
            s.split(',')
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mgr = d.services.clone();
    let (sources, records) = tokio::task::spawn_blocking(move || {
        let statuses = mgr.statuses(&names)?;
        let keep = mgr.log_limits().keep;
        let mut sources = Vec::new();
        let mut all: Vec<(String, Record)> = Vec::new();
        for s in statuses {
            let sid = format!("{}.{}", s.snap, s.app);
            let dir = mgr.log_dir(&s.snap, &s.app);
            all.extend(read_all(&dir, keep).into_iter().map(|r| (sid.clone(), r)));
            sources.push((sid, dir));
        }
        Ok::<_, crate::servicemgr::ControlError>((sources, all))
    })
    .await
    .map_err(|e| internal(e.to_string()))?
    .map_err(control_error)?;
    let mut records = records;
    records.sort_by_key(|(_, r)| sort_key(r));
    if n >= 0 && records.len() > n as usize {
        records.drain(..records.len() - n as usize);
    }
    let mut first = Vec::new();
    for (sid, r) in &records {
        first.extend(encode(sid, r));
    }
    let headers = [(CONTENT_TYPE, "application/json-seq")];
    if !follow {
        return Ok((headers, Body::from(first)).into_response());
    }
    let (mut tx, body) = Channel::<Bytes, Infallible>::new(16);
    tokio::spawn(async move {
        if tx.send_data(Bytes::from(first)).await.is_err() {
            return;
        }
        let mut tails: Vec<Tail> = sources
            .into_iter()
            .map(|(sid, dir)| Tail::at_end(sid, dir))
            .collect();
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut out = Vec::new();
            for t in &mut tails {
                for r in t.read_new() {
                    out.extend(encode(&t.sid, &r));
                }
            }
            if !out.is_empty() && tx.send_data(Bytes::from(out)).await.is_err() {
                return;
            }
            // A client that went away is noticed at the next send; probe with nothing.
            if tx.send_data(Bytes::new()).await.is_err() {
                return;
            }
        }
    });
    Ok((headers, Body::new(body)).into_response())
}

/// Follows one service's current log file across rotations.
struct Tail {
    sid: String,
    dir: PathBuf,
    inode: u64,
    offset: u64,
}

impl Tail {
    fn at_end(sid: String, dir: PathBuf) -> Tail {
        let md = std::fs::metadata(dir.join(LOG_FILE)).ok();
        Tail {
            sid,
            inode: md.as_ref().map_or(0, |m| m.ino()),
            offset: md.map_or(0, |m| m.len()),
            dir,
        }
    }

    fn read_from(path: &std::path::Path, offset: u64) -> (Vec<Record>, u64) {
        let Ok(mut f) = File::open(path) else {
            return (Vec::new(), offset);
        };
        if f.seek(SeekFrom::Start(offset)).is_err() {
            return (Vec::new(), offset);
        }
        let mut r = BufReader::new(f);
        let mut out = Vec::new();
        let mut pos = offset;
        let mut line = String::new();
        loop {
            line.clear();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(k) if line.ends_with('\n') => {
                    pos += k as u64;
                    if let Some(rec) = Record::parse(line.trim_end_matches('\n')) {
                        out.push(rec);
                    }
                }
                // A line still being written: read it whole next time.
                Ok(_) => break,
            }
        }
        (out, pos)
    }

    fn read_new(&mut self) -> Vec<Record> {
        let current = self.dir.join(LOG_FILE);
        let ino = std::fs::metadata(&current).map(|m| m.ino()).unwrap_or(0);
        let mut out = Vec::new();
        if ino != self.inode {
            // Rotated: the rest of the old file is now output.log.1.
            let old = self.dir.join(format!("{LOG_FILE}.1"));
            if std::fs::metadata(&old).is_ok_and(|m| m.ino() == self.inode) {
                out.extend(Self::read_from(&old, self.offset).0);
            }
            self.inode = ino;
            self.offset = 0;
        }
        let (recs, pos) = Self::read_from(&current, self.offset);
        self.offset = pos;
        out.extend(recs);
        out
    }
}
