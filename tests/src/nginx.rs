//! A real nginx on loopback for the store tests: each test starts its own (never the system's
//! service), serving a directory, with an access log of what each request cost.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// nginx as a child process with its own configuration, logs and pid file in a temporary
/// directory, serving `root` on a free loopback port. Killed (by its own PID) when dropped.
pub struct Nginx {
    pub child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Nginx {
    pub fn serve(root: &Path) -> Nginx {
        Nginx::serve_with(root, "")
    }

    /// With extra directives in the `server` block.
    pub fn serve_with(root: &Path, extra: &str) -> Nginx {
        for _ in 0..5 {
            // The port is free now; another process could take it before nginx binds, in which
            // case nginx exits and we try another.
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path().display();
            let conf = format!(
                r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    log_format bytes '$status $request_length $bytes_sent "$request" "$http_range"';
    access_log {d}/access.log bytes;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    default_type application/octet-stream;
    types {{ application/json json; }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        {extra}
    }}
}}
"#,
                root = root.display()
            );
            std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
            let child = Command::new("nginx")
                .arg("-c")
                .arg(dir.path().join("nginx.conf"))
                .arg("-p")
                .arg(dir.path())
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("nginx (scripts/setup.sh installs nginx-light)");
            let mut n = Nginx { child, port, dir };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return n;
                }
                if n.child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let log = std::fs::read_to_string(n.dir.path().join("error.log")).unwrap_or_default();
            eprintln!("nginx did not start on port {port}: {log}");
        }
        panic!("nginx did not start");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The access log's lines (status, request bytes, response bytes, request line, Range),
    /// waiting for at least `n`: nginx logs a request just after answering it.
    pub fn log(&self, n: usize) -> Vec<LogLine> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let text =
                std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default();
            let lines: Vec<LogLine> = text.lines().map(LogLine::parse).collect();
            if lines.len() >= n || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct LogLine {
    pub status: u16,
    pub request_bytes: u64,
    pub response_bytes: u64,
    pub request: String,
    pub range: String,
}

impl LogLine {
    pub fn parse(l: &str) -> LogLine {
        let mut it = l.splitn(4, ' ');
        let status = it.next().unwrap().parse().unwrap();
        let request_bytes = it.next().unwrap().parse().unwrap();
        let response_bytes = it.next().unwrap().parse().unwrap();
        let rest = it.next().unwrap();
        let quoted: Vec<&str> = rest.split('"').collect();
        LogLine {
            status,
            request_bytes,
            response_bytes,
            request: quoted[1].to_owned(),
            range: quoted[3].to_owned(),
        }
    }
}
