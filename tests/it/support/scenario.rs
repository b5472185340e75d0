//! The scenario builder: one test's temp dir, emulator and config in a few lines (just's `Test`
//! and cargo's `project()` are the models).
//!
//! ```ignore
//! let s = Scenario::new("plan-unknown").config("
//!     version: 1
//!     organizations:
//!       - name: nope
//!         members: []
//! ");
//! assert_run!(s.run(["plan"]), @"…");
//! ```
//!
//! The config is unindented (the common leading whitespace of its lines removed) and written to
//! `orgsync.yaml` in the scenario's directory, where every run starts, so `plan` and `apply` find
//! it without `-c`. The emulator starts on first use, with the example tenant unless
//! [`tenant`](Scenario::tenant) says otherwise.

use std::cell::OnceCell;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use orgsync_emulator::{Emulator, Options, Tenant};

use super::{OrgSync, Run, TempDir, background, example_tenant};

pub struct Scenario {
    dir: TempDir,
    tenant: Option<Tenant>,
    options: Options,
    emu: OnceCell<Emulator>,
}

impl Scenario {
    /// A fresh scenario: its own temp dir (tagged `tag`), the example tenant, default options.
    pub fn new(tag: &str) -> Scenario {
        Scenario {
            dir: TempDir::new(tag),
            tenant: None,
            options: Options::default(),
            emu: OnceCell::new(),
        }
    }

    /// The tenant the emulator serves (default: the example tenant).
    pub fn tenant(mut self, tenant: Tenant) -> Scenario {
        assert!(
            self.emu.get().is_none(),
            "set the tenant before the emulator starts"
        );
        self.tenant = Some(tenant);
        self
    }

    /// The emulator's options (rate limits, faults, …).
    pub fn options(mut self, options: Options) -> Scenario {
        assert!(
            self.emu.get().is_none(),
            "set options before the emulator starts"
        );
        self.options = options;
        self
    }

    /// Writes `orgsync.yaml`, unindented.
    pub fn config(self, yaml: &str) -> Scenario {
        self.file("orgsync.yaml", yaml)
    }

    /// Writes the repository's example config as `orgsync.yaml` (a copy, outside any Git work
    /// tree, so a plan's provenance does not name this checkout's commit).
    pub fn example_config(self) -> Scenario {
        let path = super::example_config();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        self.dir.write("orgsync.yaml", &text);
        self
    }

    /// Writes the example config made to converge as `orgsync.yaml`: initech's guard lifted,
    /// undeclared invitations revoked, the declared non-member (the new hire) taken out, so
    /// that one apply brings the tenant to exactly the declared state.
    pub fn convergent_example_config(self) -> Scenario {
        let path = super::example_config();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let text = text
            .replace(
                "  - name: initech\n",
                "  - name: initech\n    max_removals: 100%\n",
            )
            .replace("defaults:\n", "defaults:\n  invitations: revoke\n")
            .lines()
            .filter(|l| !l.contains("auth0|64b0c0ffee0000000000abcd"))
            .collect::<Vec<_>>()
            .join("\n");
        self.dir.write("orgsync.yaml", &format!("{text}\n"));
        self
    }

    /// Writes `name` in the scenario's directory, unindented.
    pub fn file(self, name: &str, text: &str) -> Scenario {
        self.dir.write(name, &unindent(text));
        self
    }

    /// Writes `name` now (on a built scenario), byte for byte (a plan, an export); returns its
    /// path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        self.dir.write(name, text)
    }

    /// The scenario's directory, where every run starts.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `name` in the scenario's directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The emulator, started on first use.
    pub fn emu(&self) -> &Emulator {
        self.emu.get_or_init(|| {
            let tenant = self.tenant.clone().unwrap_or_else(example_tenant);
            background(tenant, self.options.clone())
        })
    }

    /// The command, not yet run: against the emulator as client `demo`, in the scenario's
    /// directory. Add environment, limits or waits before [`run`](OrgSync::run).
    pub fn cmd<I: IntoIterator<Item = A>, A: AsRef<OsStr>>(&self, args: I) -> OrgSync {
        OrgSync::new(self.emu()).args(args).cwd(self.path())
    }

    /// Runs `orgsync ARGS` against the emulator as client `demo`, in the scenario's directory.
    pub fn run<I: IntoIterator<Item = A>, A: AsRef<OsStr>>(&self, args: I) -> Run {
        self.cmd(args).run()
    }

    /// Runs `orgsync ARGS` with no domain and no credentials (no emulator), in the scenario's
    /// directory.
    pub fn run_bare<I: IntoIterator<Item = A>, A: AsRef<OsStr>>(&self, args: I) -> Run {
        OrgSync::bare().args(args).cwd(self.path()).run()
    }
}

/// `text` without its first line when that is empty, and without the leading whitespace common
/// to its non-blank lines: a config written indented in a test, as the file holds it.
pub fn unindent(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(line.get(indent..).unwrap_or("").trim_end_matches(' '));
        out.push('\n');
    }
    // The closing quote's own line (only whitespace) leaves no extra blank line.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// Asserts a [`Run`] whole (exit code, stdout and stderr, under
/// [`insta_settings`](super::insta_settings)) against an inline snapshot:
/// `assert_run!(run, @"…")`.
macro_rules! assert_run {
    ($run:expr, @$snap:literal $(,)?) => {{
        let run: &$crate::support::Run = &$run;
        $crate::support::insta_settings().bind(|| {
            insta::assert_snapshot!(run.snapshot(), @$snap);
        });
    }};
}
pub(crate) use assert_run;

/// [`assert_run!`] with stdout left out: `assert_stderr!(run, @"…")`.
macro_rules! assert_stderr {
    ($run:expr, @$snap:literal $(,)?) => {{
        let run: &$crate::support::Run = &$run;
        $crate::support::insta_settings().bind(|| {
            insta::assert_snapshot!(run.stderr_snapshot(), @$snap);
        });
    }};
}
pub(crate) use assert_stderr;

#[test]
fn unindent_removes_the_common_indentation() {
    let text = "
        version: 1
        organizations:
          - name: acme

            members: []
    ";
    assert_eq!(
        unindent(text),
        "version: 1\norganizations:\n  - name: acme\n\n    members: []\n"
    );
    assert_eq!(unindent("a: 1\n"), "a: 1\n");
}
