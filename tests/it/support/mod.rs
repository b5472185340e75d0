//! Shared helpers for integration tests: tenants, emulators, and running the real binary.

pub mod checks;
pub mod fake_auth0;
pub mod forge;
pub mod http;
pub mod scenario;
pub mod steps;

pub use checks::*;
pub(crate) use scenario::{Scenario, assert_run, assert_stderr, unindent};
pub use steps::*;

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub use orgsync_emulator::fixtures::*;
use orgsync_emulator::{Emulator, Options, Tenant};

/// The path of the built `orgsync` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_orgsync"))
}

/// How long a run may take by default before it is killed and the test fails.
pub const LIMIT: Duration = Duration::from_secs(60);

/// One run of the real binary, built up and then [`run`](OrgSync::run) (bounded: killed and
/// failed past its limit) or [`spawn`](OrgSync::spawn)ed. The environment is cleared: only
/// [`ENV_KEPT`] from the test's own environment and the variables given here reach it.
#[derive(Debug, Clone)]
pub struct OrgSync {
    args: Vec<OsString>,
    envs: Vec<(String, String)>,
    cwd: PathBuf,
    limit: Duration,
    no_retry_delay: bool,
}

impl OrgSync {
    /// Against `emu` with the client credentials of client `demo`; retry waits skipped.
    pub fn new(emu: &Emulator) -> OrgSync {
        OrgSync::at(&emu.url())
            .env("AUTH0_CLIENT_ID", "demo")
            .env("AUTH0_CLIENT_SECRET", "demo-secret")
    }

    /// `AUTH0_DOMAIN=url` and no credentials; retry waits skipped.
    pub fn at(url: &str) -> OrgSync {
        OrgSync::bare().env("AUTH0_DOMAIN", url).no_retry_delay()
    }

    /// Nothing set: no domain, no credentials, real waits.
    pub fn bare() -> OrgSync {
        OrgSync {
            args: Vec::new(),
            envs: Vec::new(),
            cwd: std::env::temp_dir(),
            limit: LIMIT,
            no_retry_delay: false,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> OrgSync {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I: IntoIterator<Item = A>, A: AsRef<OsStr>>(mut self, args: I) -> OrgSync {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<str>) -> OrgSync {
        self.envs.retain(|(k, _)| k != key);
        self.envs
            .push((key.to_string(), value.as_ref().to_string()));
        self
    }

    pub fn envs(mut self, vars: &[(&str, &str)]) -> OrgSync {
        for (k, v) in vars {
            self = self.env(k, v);
        }
        self
    }

    pub fn cwd(mut self, dir: impl AsRef<Path>) -> OrgSync {
        self.cwd = dir.as_ref().to_path_buf();
        self
    }

    /// Kill the run and fail the test past this (default [`LIMIT`]).
    pub fn limit(mut self, limit: Duration) -> OrgSync {
        self.limit = limit;
        self
    }

    /// Pass the hidden `--no-retry-delay` to `plan`, `apply` and `export`: retry and pacing
    /// waits are skipped.
    pub fn no_retry_delay(mut self) -> OrgSync {
        self.no_retry_delay = true;
        self
    }

    /// Real retry and pacing waits (the "every wait ends" tests).
    pub fn real_waits(mut self) -> OrgSync {
        self.no_retry_delay = false;
        self
    }

    /// The arguments as run: `--no-retry-delay` right after the subcommand that takes it.
    fn command_args(&self) -> Vec<OsString> {
        let mut args = self.args.clone();
        if self.no_retry_delay
            && let Some(i) = args
                .iter()
                .position(|a| a == "plan" || a == "apply" || a == "export")
        {
            args.insert(i + 1, "--no-retry-delay".into());
        }
        args
    }

    /// Starts the run; its output is drained by threads so it never blocks on a full pipe.
    pub fn spawn(&self) -> Running {
        let mut cmd = Command::new(bin());
        cmd.args(self.command_args())
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.env_clear();
        for key in ENV_KEPT {
            if let Some(value) = std::env::var_os(key) {
                cmd.env(key, value);
            }
        }
        for (k, v) in &self.envs {
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

    /// Runs to the end, at most its limit.
    pub fn run(&self) -> Run {
        self.spawn().wait(self.limit)
    }
}

/// Insta settings for every snapshot of a run: what changes from run to run is filtered out.
/// Loopback URLs (an emulator's or a fake's port, `localhost` too), temporary directories, timestamps,
/// durations and content hashes.
pub fn insta_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"http://127\.0\.0\.1:\d+", "http://[EMULATOR]");
    s.add_filter(r"\b127\.0\.0\.\d+:\d+\b", "[LOOPBACK]");
    s.add_filter(r"http://localhost:\d+", "http://localhost:[PORT]");
    let tmp = std::env::temp_dir();
    let tmp = regex_escape(
        tmp.to_str()
            .expect("a UTF-8 temp dir")
            .trim_end_matches('/'),
    );
    s.add_filter(&format!(r"{tmp}/orgsync-test-[\w.-]+"), "[TEMP]");
    s.add_filter(r#""created_at": "[^"]+""#, r#""created_at": "[TIME]""#);
    s.add_filter(
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?",
        "[TIME]",
    );
    s.add_filter(r"\b\d+(\.\d+)?(ns|µs|us|ms|s)\b", "[DURATION]");
    s.add_filter(
        r#""config_sha256": "[0-9a-f]{64}""#,
        r#""config_sha256": "[SHA256]""#,
    );
    s.add_filter(
        r#""plan_sha256": "[0-9a-f]{64}""#,
        r#""plan_sha256": "[SHA256]""#,
    );
    s.set_prepend_module_to_snapshot(false);
    s
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// Snapshots a [`Run`] whole (exit code, stdout and stderr) under [`insta_settings`]:
/// `orgsync_snapshot!("name", &run)`.
macro_rules! orgsync_snapshot {
    ($name:expr, $run:expr $(,)?) => {{
        let run: &$crate::support::Run = $run;
        $crate::support::insta_settings().bind(|| {
            insta::assert_snapshot!($name, run.snapshot());
        });
    }};
}
pub(crate) use orgsync_snapshot;

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

/// `orgsync apply ARGS --auto-approve --audit-log DIR/audit.jsonl` against `emu`, run in `dir`.
pub fn apply_audited(emu: &Emulator, dir: &TempDir, args: &[&str]) -> Run {
    let audit = dir.path().join("audit.jsonl");
    OrgSync::new(emu)
        .arg("apply")
        .args(args)
        .args(["--auto-approve", "--audit-log"])
        .arg(&audit)
        .cwd(dir.path())
        .run()
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

    /// The run as a snapshot records it.
    pub fn snapshot(&self) -> String {
        format!(
            "success: {}\nexit_code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
            self.code == Some(0),
            self.code
                .map_or("none (killed by a signal)".to_string(), |c| c.to_string()),
            self.stdout,
            self.stderr
        )
    }

    /// The run as [`snapshot`](Run::snapshot) records it, stdout left out (a long plan before a
    /// message on stderr).
    pub fn stderr_snapshot(&self) -> String {
        let whole = self.snapshot();
        let (head, _) = whole
            .split_once("----- stdout -----")
            .unwrap_or((&whole, ""));
        format!("{head}----- stderr -----\n{}", self.stderr)
    }

    pub fn stdout(&self) -> &str {
        &self.stdout
    }

    pub fn stderr(&self) -> &str {
        &self.stderr
    }

    /// Asserts exit code 0; else fails showing the exit code, stdout and stderr.
    #[track_caller]
    pub fn success(&self) -> &Run {
        self.code(0)
    }

    /// Asserts exit code 1 (orgsync's "error").
    #[track_caller]
    pub fn failure(&self) -> &Run {
        self.code(1)
    }

    /// Asserts this exit code; else fails showing the exit code, stdout and stderr.
    #[track_caller]
    pub fn code(&self, code: i32) -> &Run {
        self.code_for(code, "")
    }

    /// [`code`](Run::code), the failure message starting with `what` (a case, a seed).
    #[track_caller]
    pub fn code_for(&self, code: i32, what: impl std::fmt::Display) -> &Run {
        if self.code != Some(code) {
            panic!("{what}: wanted exit {code}, got {}", self.show());
        }
        self
    }

    /// Asserts that stdout holds `text`; else fails showing the whole run.
    #[track_caller]
    pub fn stdout_has(&self, text: impl AsRef<str>) -> &Run {
        let text = text.as_ref();
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}:\n{}",
            self.show()
        );
        self
    }

    /// Asserts that stderr holds `text`; else fails showing the whole run.
    #[track_caller]
    pub fn stderr_has(&self, text: impl AsRef<str>) -> &Run {
        let text = text.as_ref();
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.show()
        );
        self
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

/// What a run keeps of the test's own environment: where programs and home are, where
/// temporary files go. Everything else is cleared (a developer's `AUTH0_*`, proxies, `GITHUB_*`,
/// colours) and set explicitly per run.
pub const ENV_KEPT: &[&str] = &["PATH", "HOME", "TMPDIR"];

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the run (SIGKILL) and says how it ended.
    pub fn kill(mut self) -> std::process::ExitStatus {
        let _ = self.child.kill();
        self.child.wait().expect("wait")
    }

    /// Waits at most `limit`; past it, kills the process and fails the test.
    pub fn wait(mut self, limit: Duration) -> Run {
        loop {
            match self.child.try_wait().expect("try_wait") {
                Some(status) => {
                    let took = self.started.elapsed();
                    return Run {
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

/// One raw HTTP/1.1 exchange with the emulator (no client in between): the whole answer, head
/// and body, as sent.
pub fn raw_exchange(emu: &Emulator, method: &str, path: &str, body: &str) -> String {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(emu.addr()).expect("connect to the emulator");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send the request");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
}
