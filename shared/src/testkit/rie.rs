//! A Lambda bootstrap built by `cargo lambda build`, as deployment builds it, under the
//! Lambda Runtime Interface Emulator, the program `sam local invoke` runs inside its container
//! (here natively; the harness sets both paths).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable naming the `aws-lambda-rie` binary.
pub const RIE_VAR: &str = "AWS_LAMBDA_RIE";

/// The environment variable naming the directory `cargo lambda build --lambda-dir` filled for
/// the host: `<dir>/<function>/bootstrap`.
pub const BOOTSTRAPS_VAR: &str = "TRUSTPLANE_LAMBDA_DIR";

/// The `bootstrap` of `function` (its binary's name) that `cargo lambda build` produced;
/// panics (never skips) when the harness did not build it.
pub fn bootstrap(function: &str) -> PathBuf {
    let dir = std::env::var_os(BOOTSTRAPS_VAR).unwrap_or_else(|| panic!("{BOOTSTRAPS_VAR} is not set: run the tests through infra/test.sh"));
    let path = PathBuf::from(dir).join(function).join("bootstrap");
    assert!(path.is_file(), "no bootstrap at {}: infra/test.sh builds them with `cargo lambda build --lambda-dir`", path.display());
    path
}

/// A running emulator; killed on drop.
pub struct Rie {
    child: Child,
    url: String,
    output: tempfile::NamedTempFile,
}

impl Rie {
    /// Starts the [`bootstrap`] of `function` under the emulator with `env`; panics (never
    /// skips) without the RIE. Ports another test takes between choosing them and the emulator
    /// binding them are chosen again (the emulator then exits, and an answer on the port would
    /// be another's).
    pub fn start(function: &str, env: &[(String, String)]) -> Rie {
        let rie = std::env::var(RIE_VAR).unwrap_or_else(|_| panic!("{RIE_VAR} is not set: run the tests through infra/test.sh"));
        let bootstrap = bootstrap(function);
        for _ in 0..10 {
            if let Some(started) = Self::try_start(&rie, &bootstrap, env) {
                return started;
            }
        }
        panic!("aws-lambda-rie found no free loopback ports in 10 tries");
    }

    fn try_start(rie: &str, bootstrap: &Path, env: &[(String, String)]) -> Option<Rie> {
        let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (port, runtime_port) = (free(), free());
        let output = tempfile::NamedTempFile::new().expect("a file for the emulator's output");
        let child = Command::new(rie)
            .args(["--runtime-interface-emulator-address", &format!("127.0.0.1:{port}")])
            .args(["--runtime-api-address", &format!("127.0.0.1:{runtime_port}")])
            .arg(bootstrap)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_FUNCTION_NAME", "function")
            .env("LOG_FORMAT", "json")
            .stdout(Stdio::from(output.reopen().expect("the emulator's output file")))
            .stderr(Stdio::null())
            .spawn()
            .expect("start aws-lambda-rie");
        let mut started = Rie { child, url: format!("http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"), output };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if started.child.try_wait().ok().flatten().is_some() {
                return None;
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                std::thread::sleep(Duration::from_millis(50));
                return started.child.try_wait().ok().flatten().is_none().then_some(started);
            }
            assert!(Instant::now() < deadline, "aws-lambda-rie did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the function (and the emulator) printed on stdout so far: the function's
    /// CloudWatch log stream, EMF documents included.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.output.path()).unwrap_or_default()
    }

    /// The EMF documents the function printed so far.
    pub fn metrics(&self) -> Vec<serde_json::Value> {
        crate::metrics::documents_in(&self.output())
    }

    /// Invokes the function with `event` (JSON text) and returns its JSON result.
    pub fn invoke(&self, event: &str) -> serde_json::Value {
        use std::io::Write;
        let mut curl = Command::new("curl")
            .args(["-s", "--max-time", "60", "-X", "POST", "--data-binary", "@-", &self.url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("curl");
        curl.stdin.take().unwrap().write_all(event.as_bytes()).unwrap();
        let out = curl.wait_with_output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("RIE answered: {}", String::from_utf8_lossy(&out.stdout)))
    }
}

impl Drop for Rie {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
