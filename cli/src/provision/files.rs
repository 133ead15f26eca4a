//! The three files `provision` leaves behind, written so that a failure never leaves a
//! partial one: each is staged as a temporary file in the output directory (same file
//! system), synced, and only then renamed into place.

use anyhow::Context;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The agent's private key (PKCS#8 PEM, mode 0600).
pub const AGENT_KEY: &str = "agent.key";
/// The agent's certificate (PEM).
pub const AGENT_CERT: &str = "agent.crt";
/// The issuing CA's certificate (PEM).
pub const CA_CERT: &str = "ca.crt";

/// Every file `provision` writes, in the order checked and installed.
pub const OUTPUTS: [&str; 3] = [AGENT_KEY, AGENT_CERT, CA_CERT];

/// Mode of the private key file.
pub const KEY_MODE: u32 = 0o600;
/// Mode of the certificate files.
pub const CERT_MODE: u32 = 0o644;
/// Mode of the output directory when `provision` creates it.
pub const DIR_MODE: u32 = 0o700;

/// What to write: the PEM texts of the three outputs.
#[derive(Debug)]
pub struct Outputs<'a> {
    pub agent_key: &'a str,
    pub agent_cert: &'a str,
    pub ca_cert: &'a str,
}

/// Fails, naming the first one found, if any output already exists in `dir` (a dangling
/// symlink counts) unless `force`.
pub fn refuse_existing(dir: &Path, force: bool) -> anyhow::Result<()> {
    if force {
        return Ok(());
    }
    for name in OUTPUTS {
        let path = dir.join(name);
        if path.symlink_metadata().is_ok() {
            anyhow::bail!("refusing to overwrite {}: it already exists (pass --force to replace it)", path.display());
        }
    }
    Ok(())
}

/// Creates `dir` (mode 0700) if missing and checks a file can be created in it, so that a
/// local problem (not a directory, no permission, read-only) shows before the provision key
/// is spent.
pub fn prepare_dir(dir: &Path) -> anyhow::Result<()> {
    create_dir(dir)?;
    let (probe, _) = create_temp(dir, "probe", KEY_MODE)?;
    std::fs::remove_file(&probe).with_context(|| format!("removing {}", probe.display()))
}

/// Creates `dir` (mode 0700) if missing, stages all three files, then renames each into
/// place. Returns the installed paths in [`OUTPUTS`] order.
pub fn install(dir: &Path, outputs: &Outputs<'_>) -> anyhow::Result<[PathBuf; 3]> {
    create_dir(dir)?;
    let staged = [
        Staged::write(dir, AGENT_KEY, outputs.agent_key, KEY_MODE)?,
        Staged::write(dir, AGENT_CERT, outputs.agent_cert, CERT_MODE)?,
        Staged::write(dir, CA_CERT, outputs.ca_cert, CERT_MODE)?,
    ];
    let [key, cert, ca] = staged;
    let installed = [key.commit()?, cert.commit()?, ca.commit()?];
    File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("syncing {}", dir.display()))?;
    Ok(installed)
}

fn create_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir).with_context(|| format!("creating {}", dir.display()))
}

/// A fully written, synced temporary file next to its final path; removed if dropped
/// before [`Staged::commit`].
struct Staged {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Staged {
    /// Creates `dir/.<name>.<pid>.<n>.tmp` exclusively with `mode`, writes and syncs it.
    fn write(dir: &Path, name: &str, contents: &str, mode: u32) -> anyhow::Result<Self> {
        let target = dir.join(name);
        let (temp, mut file) = create_temp(dir, name, mode)?;
        let staged = Self { temp, target, committed: false };
        file.write_all(contents.as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("writing {}", staged.temp.display()))?;
        Ok(staged)
    }

    /// Renames the temporary file over the target.
    fn commit(mut self) -> anyhow::Result<PathBuf> {
        std::fs::rename(&self.temp, &self.target).with_context(|| format!("installing {}", self.target.display()))?;
        self.committed = true;
        Ok(std::mem::take(&mut self.target))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Opens a new, uniquely named file in `dir` with `mode` (never an existing one).
fn create_temp(dir: &Path, name: &str, mode: u32) -> anyhow::Result<(PathBuf, File)> {
    let pid = std::process::id();
    for attempt in 0..100u32 {
        let path = dir.join(format!(".{name}.{pid}.{attempt}.tmp"));
        match OpenOptions::new().write(true).create_new(true).mode(mode).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("creating a temporary file in {}", dir.display())),
        }
    }
    anyhow::bail!("could not create a temporary file for {name} in {}", dir.display())
}
