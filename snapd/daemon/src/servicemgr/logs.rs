//! Service output: each service's stdout and stderr go into a FIFO under the root's `run`
//! directory, which the daemon reads line by line and writes, each line with its time and the
//! service's main pid, to `<root>/var/log/snapd/services/snap.NAME.APP.service/output.log`.
//! The file is rotated at a size limit and a fixed number of old files is kept, so a service's
//! output never takes more than `(keep + 1) × max_file_bytes`.
//!
//! The FIFO (rather than a pipe) is what lets a service outlive the daemon: the service holds
//! it open read-write, so its writes never fail while no daemon reads (they wait once the
//! kernel's buffer is full), and the next daemon opens the same FIFO and carries on.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The longest line kept as one record; longer output is cut into records of this size.
pub const MAX_LINE: usize = 8 * 1024;
pub const LOG_FILE: &str = "output.log";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogLimits {
    pub max_file_bytes: u64,
    /// Rotated files kept (`output.log.1` ...).
    pub keep: usize,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            max_file_bytes: 1 << 20,
            keep: 2,
        }
    }
}

impl LogLimits {
    /// The most a service's logs can take on disk (a file may pass its limit by one record).
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn bound(&self) -> u64 {
        (self.keep as u64 + 1) * (self.max_file_bytes + MAX_LINE as u64 + 64)
    }
}

/// One line of output as stored and as `/v2/logs` returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub timestamp: String,
    pub pid: Option<u32>,
    pub message: String,
}

impl Record {
    /// `TIMESTAMP PID MESSAGE` (`-` for no pid); the message has no newline.
    pub fn to_line(&self) -> String {
        let pid = self.pid.map_or("-".to_owned(), |p| p.to_string());
        format!("{} {pid} {}\n", self.timestamp, self.message)
    }

    pub fn parse(line: &str) -> Option<Record> {
        let mut it = line.splitn(3, ' ');
        let timestamp = it.next()?.to_owned();
        let pid = it.next()?;
        let message = it.next().unwrap_or("").trim_end_matches('\n').to_owned();
        Some(Record {
            timestamp,
            pid: pid.parse().ok(),
            message,
        })
    }
}

/// Appends records to a service's log directory, rotating by size.
pub struct LogWriter {
    dir: PathBuf,
    limits: LogLimits,
    file: Option<File>,
    size: u64,
}

fn rotated(dir: &Path, i: usize) -> PathBuf {
    if i == 0 {
        dir.join(LOG_FILE)
    } else {
        dir.join(format!("{LOG_FILE}.{i}"))
    }
}

impl LogWriter {
    pub fn new(dir: PathBuf, limits: LogLimits) -> LogWriter {
        LogWriter {
            dir,
            limits,
            file: None,
            size: 0,
        }
    }

    fn open(&mut self) -> io::Result<&mut File> {
        if self.file.is_none() {
            fs::create_dir_all(&self.dir)?;
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(rotated(&self.dir, 0))?;
            self.size = f.metadata()?.len();
            self.file = Some(f);
        }
        Ok(self.file.as_mut().expect("just opened"))
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        let _ = fs::remove_file(rotated(&self.dir, self.limits.keep));
        for i in (0..self.limits.keep).rev() {
            let from = rotated(&self.dir, i);
            if from.exists() {
                fs::rename(&from, rotated(&self.dir, i + 1))?;
            }
        }
        if self.limits.keep == 0 {
            let _ = fs::remove_file(rotated(&self.dir, 0));
        }
        self.size = 0;
        Ok(())
    }

    pub fn write(&mut self, rec: &Record) -> io::Result<()> {
        let line = rec.to_line();
        self.open()?;
        if self.size > 0 && self.size + line.len() as u64 > self.limits.max_file_bytes {
            self.rotate()?;
        }
        let f = self.open()?;
        f.write_all(line.as_bytes())?;
        self.size += line.len() as u64;
        Ok(())
    }
}

/// Splits a stream of bytes into lines of at most [`MAX_LINE`] bytes.
#[derive(Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
}

impl LineSplitter {
    /// Feeds `bytes`; returns the complete lines (without their newline).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        for &b in bytes {
            if b == b'\n' {
                out.push(String::from_utf8_lossy(&self.buf).into_owned());
                self.buf.clear();
            } else {
                self.buf.push(b);
                if self.buf.len() >= MAX_LINE {
                    out.push(String::from_utf8_lossy(&self.buf).into_owned());
                    self.buf.clear();
                }
            }
        }
        out
    }
}

/// The records of a service, oldest first, from the rotated files and the current one.
pub fn read_all(dir: &Path, keep: usize) -> Vec<Record> {
    let mut out = Vec::new();
    for i in (0..=keep).rev() {
        if let Ok(f) = File::open(rotated(dir, i)) {
            out.extend(
                BufReader::new(f)
                    .lines()
                    .map_while(Result::ok)
                    .filter_map(|l| Record::parse(&l)),
            );
        }
    }
    out
}

/// Reads the FIFO at `fifo` until `stop` is set, writing each line to `writer` with the pid
/// `pid()` gives. The FIFO is opened read-write so that it never reports end of file.
pub fn spawn_pump(
    fifo: PathBuf,
    mut writer: LogWriter,
    pid: Arc<dyn Fn() -> Option<u32> + Send + Sync>,
    stop: Arc<AtomicBool>,
    name: String,
) -> io::Result<std::thread::JoinHandle<()>> {
    let mut f = OpenOptions::new().read(true).write(true).open(&fifo)?;
    std::thread::Builder::new()
        .name(format!("log {name}"))
        .spawn(move || {
            let mut split = LineSplitter::default();
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match f.read(&mut buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        tracing::error!("cannot read the output of {name}: {e}");
                        return;
                    }
                };
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                for line in split.feed(&buf[..n]) {
                    let rec = Record {
                        timestamp: snap_state::Timestamp::now().to_rfc3339(),
                        pid: pid(),
                        message: line,
                    };
                    if let Err(e) = writer.write(&rec) {
                        tracing::error!("cannot write the log of {name}: {e}");
                    }
                }
            }
        })
}

/// Wakes a pump blocked in `read` so that it sees its stop flag.
pub fn wake_pump(fifo: &Path) {
    // Non-blocking: the pump holds the FIFO open for reading, so this never waits.
    use std::os::unix::fs::OpenOptionsExt;
    if let Ok(mut f) = OpenOptions::new()
        .write(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(fifo)
    {
        let _ = f.write_all(b"\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: usize) -> Record {
        Record {
            timestamp: format!("2026-01-01T00:00:{:02}.000000Z", i % 60),
            pid: Some(42),
            message: format!("line {i} {}", "x".repeat(50)),
        }
    }

    #[test]
    fn records_round_trip() {
        let r = rec(1);
        assert_eq!(Record::parse(r.to_line().trim_end()), Some(r));
        let none = Record {
            timestamp: "t".into(),
            pid: None,
            message: "a b  c".into(),
        };
        assert_eq!(Record::parse(&none.to_line()), Some(none));
    }

    #[test]
    fn rotation_bounds_the_total_and_keeps_the_newest() {
        let d = tempfile::tempdir().unwrap();
        let limits = LogLimits {
            max_file_bytes: 1000,
            keep: 2,
        };
        let mut w = LogWriter::new(d.path().join("svc"), limits);
        for i in 0..1000 {
            w.write(&rec(i)).unwrap();
        }
        let total: u64 = fs::read_dir(d.path().join("svc"))
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert!(total <= 3000 && total <= limits.bound(), "{total}");
        let names: Vec<String> = fs::read_dir(d.path().join("svc"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        let all = read_all(&d.path().join("svc"), 2);
        assert_eq!(all.last().unwrap().message, rec(999).message);
        // Oldest first, without gaps.
        let first: usize = all[0].message.split(' ').nth(1).unwrap().parse().unwrap();
        for (k, r) in all.iter().enumerate() {
            assert_eq!(r.message, rec(first + k).message);
        }
    }

    #[test]
    fn long_lines_are_cut() {
        let mut s = LineSplitter::default();
        let long = vec![b'a'; MAX_LINE * 2 + 10];
        let lines = s.feed(&long);
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.len() == MAX_LINE));
        assert_eq!(s.feed(b"\nnext\n"), vec!["a".repeat(10), "next".to_owned()]);
    }
}
