//! Shared helpers for integration tests: tenants, emulators, and running the real binary.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use orgsync_emulator::fixtures::*;
use orgsync_emulator::{Emulator, Options, Tenant};

/// The path of the built `orgsync` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_orgsync"))
}

/// Runs `orgsync` with a clean environment (no AUTH0_* from the developer's shell).
pub fn orgsync(args: &[&str], envs: &[(&str, &str)], cwd: &Path) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args).current_dir(cwd);
    for var in ENV_REMOVED {
        cmd.env_remove(var);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("orgsync runs")
}

/// A fresh temporary directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "orgsync-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, contents).expect("write temp file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The repository's example tenant.
pub fn example_tenant() -> Tenant {
    Tenant::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tenant.yaml"))
        .expect("example tenant")
}

/// The repository's example config.
pub fn example_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/orgsync.yaml")
}

/// Runs `orgsync` against an emulator with client credentials of client `demo`.
pub fn orgsync_against(emu: &Emulator, args: &[&str], cwd: &Path) -> Output {
    let url = emu.url();
    orgsync(
        args,
        &[
            ("AUTH0_DOMAIN", url.as_str()),
            ("AUTH0_CLIENT_ID", "demo"),
            ("AUTH0_CLIENT_SECRET", "demo-secret"),
            ("ORGSYNC_TEST_NO_RETRY_DELAY", "1"),
        ],
        cwd,
    )
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `orgsync apply ARGS --auto-approve --audit-log DIR/audit.jsonl` against `emu`, run in `dir`.
pub fn apply_audited(emu: &Emulator, dir: &TempDir, args: &[&str]) -> Output {
    let audit = dir.path().join("audit.jsonl");
    let mut all = vec!["apply"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--auto-approve", "--audit-log", audit.to_str().unwrap()]);
    orgsync_against(emu, &all, dir.path())
}

/// The lines of an audit log, each parsed (a torn line fails the test); none when it is absent.
pub fn audit_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("torn audit line {l:?}: {e}")))
        .collect()
}

/// Requests that reached the Management API (the token endpoint excluded).
pub fn api_requests(emu: &Emulator) -> Vec<orgsync_emulator::RequestRecord> {
    emu.requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/v2/"))
        .collect()
}

/// Starts an emulator on its own runtime (tests that run the binary are synchronous).
pub fn background(tenant: Tenant, options: Options) -> Emulator {
    Emulator::start_background(tenant, options).expect("emulator starts")
}

/// What a finished run left.
#[derive(Debug)]
pub struct Run {
    pub status: std::process::ExitStatus,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    pub fn show(&self) -> String {
        format!(
            "exit {:?} after {:.1}s\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            self.took.as_secs_f64(),
            self.stdout,
            self.stderr
        )
    }

    pub fn assert_no_panic(&self) {
        assert!(
            !self.stderr.contains("panicked"),
            "a panic:\n{}",
            self.show()
        );
    }
}

/// A running `orgsync`, whose output is drained by threads so it never blocks on a full pipe.
pub struct Running {
    child: std::process::Child,
    out: std::thread::JoinHandle<Vec<u8>>,
    err: std::thread::JoinHandle<Vec<u8>>,
    started: Instant,
}

/// Variables a developer's shell may hold that would change a run: removed from every run.
pub const ENV_REMOVED: &[&str] = &[
    "AUTH0_DOMAIN",
    "AUTH0_CLIENT_ID",
    "AUTH0_CLIENT_SECRET",
    "AUTH0_API_TOKEN",
    "AUTH0_ACCESS_TOKEN",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "NO_COLOR",
    "ORGSYNC_TEST_NO_RETRY_DELAY",
];

pub fn spawn(args: &[&str], envs: &[(&str, &str)], cwd: &Path) -> Running {
    let mut cmd = std::process::Command::new(bin());
    cmd.args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for v in ENV_REMOVED {
        cmd.env_remove(v);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("orgsync starts");
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    Running {
        child,
        out,
        err,
        started: Instant::now(),
    }
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits at most `limit`; past it, kills the process and fails the test.
    pub fn wait(mut self, limit: Duration) -> Run {
        loop {
            match self.child.try_wait().expect("try_wait") {
                Some(status) => {
                    let took = self.started.elapsed();
                    return Run {
                        status,
                        code: status.code(),
                        stdout: String::from_utf8_lossy(&self.out.join().unwrap()).into_owned(),
                        stderr: String::from_utf8_lossy(&self.err.join().unwrap()).into_owned(),
                        took,
                    };
                }
                None if self.started.elapsed() > limit => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    let out = String::from_utf8_lossy(&self.out.join().unwrap()).into_owned();
                    let err = String::from_utf8_lossy(&self.err.join().unwrap()).into_owned();
                    panic!(
                        "orgsync did not end within {limit:?} and was killed\n--- stdout\n{out}\n--- stderr\n{}",
                        tail(&err, 4000)
                    );
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

fn tail(s: &str, n: usize) -> &str {
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// Runs orgsync to the end (at most `limit`).
pub fn run(args: &[&str], envs: &[(&str, &str)], cwd: &Path, limit: Duration) -> Run {
    spawn(args, envs, cwd).wait(limit)
}

impl Run {
    /// The run as a `std::process::Output`, for tests that take one.
    pub fn output(&self) -> Output {
        Output {
            status: self.status,
            stdout: self.stdout.clone().into_bytes(),
            stderr: self.stderr.clone().into_bytes(),
        }
    }
}
