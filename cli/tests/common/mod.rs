//! A real `trustplane serve` for end-to-end tests, driven with curl; its stdout and stderr go
//! to files so a chatty server never blocks on a full pipe.
#![allow(dead_code)]

use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub data_dir: PathBuf,
    logs: tempfile::TempDir,
}

/// What a stopped server left behind.
pub struct Stopped {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Server {
    /// Starts `serve` on a free loopback port over `data_dir` and waits for `/health`.
    pub fn start(data_dir: &Path) -> Server {
        Self::start_with(data_dir, &[])
    }

    /// As [`Server::start`], with extra environment variables. A port taken between choosing
    /// it and `serve` binding it (other tests start servers too) is chosen again.
    pub fn start_with(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        for _ in 0..10 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            if let Some(server) = Self::try_start_on(port, data_dir, env) {
                return server;
            }
        }
        panic!("serve found no free loopback port in 10 tries");
    }

    /// As [`Server::start_with`], on a fixed loopback port (which must be free).
    pub fn start_on(port: u16, data_dir: &Path, env: &[(&str, &str)]) -> Server {
        Self::try_start_on(port, data_dir, env).unwrap_or_else(|| panic!("port {port} must be free for this test"))
    }

    /// `serve` on `port`, once it answers `/health`; `None` when the port is taken (then the
    /// server exits at once, and an answer on the port would be another test's).
    fn try_start_on(port: u16, data_dir: &Path, env: &[(&str, &str)]) -> Option<Server> {
        std::net::TcpListener::bind(("127.0.0.1", port)).ok()?;
        let base = format!("http://127.0.0.1:{port}");
        let logs = tempfile::tempdir().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_trustplane"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data_dir)
            .env_remove("TRUSTPLANE_BACKEND")
            .env("LOG_FORMAT", "text")
            .env("PUBLIC_BASE_URL", &base)
            .envs(env.iter().copied())
            .stdout(Stdio::from(std::fs::File::create(logs.path().join("stdout")).unwrap()))
            .stderr(Stdio::from(std::fs::File::create(logs.path().join("stderr")).unwrap()))
            .spawn()
            .expect("spawn trustplane serve");
        let mut server = Server { child: Some(child), base, data_dir: data_dir.to_path_buf(), logs };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if server.child.as_mut().unwrap().try_wait().unwrap().is_some() {
                server.child = None;
                let stderr = std::fs::read_to_string(server.logs.path().join("stderr")).unwrap_or_default();
                assert!(stderr.contains("binding"), "serve exited at start: {stderr}");
                return None;
            }
            if server.curl(&["/health"]).0 == 200 {
                std::thread::sleep(Duration::from_millis(50));
                if server.child.as_mut().unwrap().try_wait().unwrap().is_none() {
                    return Some(server);
                }
            }
            assert!(Instant::now() < deadline, "serve did not answer /health");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The first admin key `serve` wrote on its first start.
    pub fn admin_key(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("admin-api-key")).unwrap().trim().to_owned()
    }

    /// `curl` with `args` (the first is the path); returns status and body.
    pub fn curl(&self, args: &[&str]) -> (u16, String) {
        let url = format!("{}{}", self.base, args[0]);
        let out = Command::new("curl").args(["-s", "-w", "\n%{http_code}", &url]).args(&args[1..]).output().expect("curl");
        let text = String::from_utf8(out.stdout).unwrap();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.parse().unwrap_or(0), body.to_owned())
    }

    /// POSTs JSON with `key` as `X-API-Key`; returns status and parsed body.
    pub fn post_json(&self, path: &str, key: Option<&str>, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let header = key.map(|k| format!("x-api-key: {k}"));
        let mut args = vec![path, "-H", "content-type: application/json", "-d"];
        let text = body.to_string();
        args.push(&text);
        if let Some(h) = header.as_deref() {
            args.extend(["-H", h]);
        }
        let (code, reply) = self.curl(&args);
        (code, serde_json::from_str(&reply).unwrap_or(serde_json::Value::Null))
    }

    /// Sends `method` to `path` with `key` as `X-API-Key` and `body` as JSON, if any; returns
    /// the status and the parsed body (`Null` when it is not JSON).
    pub fn send_json(&self, key: &str, method: &str, path: &str, body: Option<serde_json::Value>) -> (u16, serde_json::Value) {
        let header = format!("x-api-key: {key}");
        let text = body.map(|b| b.to_string());
        let mut args = vec![path, "-X", method, "-H", &header, "-H", "content-type: application/json"];
        if let Some(text) = text.as_deref() {
            args.extend(["-d", text]);
        }
        let (status, reply) = self.curl(&args);
        (status, serde_json::from_str(&reply).unwrap_or(serde_json::Value::Null))
    }

    /// The server's `host:port`.
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// A raw TCP connection to the server; reads give up after `read_timeout`.
    pub fn connect(&self, read_timeout: Duration) -> TcpStream {
        let stream = TcpStream::connect(self.addr()).expect("connect to serve");
        stream.set_read_timeout(Some(read_timeout)).unwrap();
        stream
    }

    /// Sends SIGTERM and returns at once (see [`Server::wait`]).
    pub fn terminate(&self) {
        let child = self.child.as_ref().expect("server running");
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    }

    /// Waits for the server to exit; the exit status and everything it printed.
    pub fn wait(mut self) -> Stopped {
        let status = self.child.take().unwrap().wait().unwrap();
        let read = |name: &str| std::fs::read_to_string(self.logs.path().join(name)).unwrap_or_default();
        Stopped { status, stdout: read("stdout"), stderr: read("stderr") }
    }

    /// SIGTERM, then the exit status and everything the server printed.
    pub fn stop(mut self) -> Stopped {
        let mut child = self.child.take().unwrap();
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        let status = child.wait().unwrap();
        let read = |name: &str| std::fs::read_to_string(self.logs.path().join(name)).unwrap_or_default();
        Stopped { status, stdout: read("stdout"), stderr: read("stderr") }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One HTTP/1.1 response as read off a raw socket.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl RawResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).filter_map(|l| l.split_once(':')).find(|(n, _)| n.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim())
    }

    /// The body as JSON (panics with the response if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {self:?}"))
    }
}

/// Reads the next response (interim `1xx` ones included) from `stream`: the head, then a
/// `Content-Length` body, or everything up to EOF without one. An error if the server closed
/// or went quiet (the stream's read timeout) before a complete head arrived.
pub fn read_response(stream: &mut TcpStream) -> std::io::Result<RawResponse> {
    let mut bytes = Vec::new();
    let head_end = loop {
        if let Some(i) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        read_more(stream, &mut bytes)?;
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut response = RawResponse { status, head, body: String::new() };
    let length = match response.header("content-length") {
        Some(n) => Some(n.parse::<usize>().unwrap()),
        None if status < 200 || status == 204 || status == 304 => Some(0),
        None => None,
    };
    while length.is_none_or(|n| bytes.len() < head_end + n) {
        match read_more(stream, &mut bytes) {
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && length.is_none() => break,
            other => other?,
        }
    }
    response.body = String::from_utf8_lossy(&bytes[head_end..]).into_owned();
    Ok(response)
}

fn read_more(stream: &mut TcpStream, into: &mut Vec<u8>) -> std::io::Result<()> {
    let mut chunk = [0u8; 8192];
    match stream.read(&mut chunk)? {
        0 => Err(std::io::ErrorKind::UnexpectedEof.into()),
        n => {
            into.extend_from_slice(&chunk[..n]);
            Ok(())
        }
    }
}

/// As [`read_response`], for pipelined responses: starts from the bytes `ahead` holds (read
/// earlier but not yet consumed), and leaves there whatever arrived past this response.
pub fn read_pipelined_response(stream: &mut TcpStream, ahead: &mut Vec<u8>) -> std::io::Result<RawResponse> {
    let head_end = loop {
        if let Some(i) = ahead.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        read_more(stream, ahead)?;
    };
    let head = String::from_utf8_lossy(&ahead[..head_end]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut response = RawResponse { status, head, body: String::new() };
    let length = match response.header("content-length") {
        Some(n) => n.parse::<usize>().unwrap(),
        None if status < 200 || status == 204 || status == 304 => 0,
        None => panic!("a pipelined response needs a Content-Length: {}", response.head),
    };
    while ahead.len() < head_end + length {
        read_more(stream, ahead)?;
    }
    response.body = String::from_utf8_lossy(&ahead[head_end..head_end + length]).into_owned();
    ahead.drain(..head_end + length);
    Ok(response)
}
