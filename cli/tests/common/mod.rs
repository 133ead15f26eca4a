//! A real `trustplane serve` for end-to-end tests, driven with curl; its stdout and stderr go
//! to files so a chatty server never blocks on a full pipe.
#![allow(dead_code)]

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

    /// As [`Server::start`], with extra environment variables.
    pub fn start_with(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Self::start_on(port, data_dir, env)
    }

    /// As [`Server::start_with`], on a fixed loopback port (which must be free).
    pub fn start_on(port: u16, data_dir: &Path, env: &[(&str, &str)]) -> Server {
        if let Err(e) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            panic!("port {port} must be free for this test: {e}");
        }
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
        let server = Server { child: Some(child), base, data_dir: data_dir.to_path_buf(), logs };
        let deadline = Instant::now() + Duration::from_secs(30);
        while server.curl(&["/health"]).0 != 200 {
            assert!(Instant::now() < deadline, "serve did not answer /health");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
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
