//! The one way out: every byte orgsync writes — stdout, stderr, the `-v` logs, the audit log,
//! the files it writes and the comment bodies it posts — passes through here, and every secret
//! of the run is replaced by `[redacted]` before it is written.
//!
//! Secrets are [`register`]ed once, where they are read: the Auth0 client secret or token from
//! the environment, each access token orgsync obtains, GITHUB_TOKEN and GITLAB_TOKEN. Each is
//! matched in every form text may carry it in: as given, JSON-escaped (once and twice, `/` as
//! `\/` too), percent-encoded (upper and lower case hex), form-encoded, and as the
//! `Bearer …`/`PRIVATE-TOKEN: …` header. Scrubbing happens where text leaves, not where it is
//! built, so an error text, a server's answer cut to an excerpt or a decode error is covered
//! whatever built it.
//!
//! What counts as a secret: a value of at least [`MIN_LEN`] characters. Shorter values are not
//! registered (and [`register`] says so on stderr): matching them would mangle ordinary text
//! (`demo`, `test`, a word of an error message), and a secret that short is guessable anyway.
//!
//! The streaming writers ([`Scrubbing`], behind [`stdout`] and [`stderr`]) hold back only a tail
//! that could be the start of a secret, so a secret split across two `write` calls is still
//! replaced; [`flush`] writes the rest (at exit, before a prompt).
//!
//! Nothing else in `src/` may touch the process's stdout or stderr: the `stdio_goes_through_the_sink`
//! test fails on `println!`, `eprintln!`, `std::io::stdout()` or `std::io::stderr()` elsewhere.

use std::borrow::Cow;
use std::io::Write;
use std::sync::{LazyLock, Mutex, RwLock};

/// A line on scrubbed stdout (`println!` through the sink); a failed write is ignored, as
/// `println!`'s would panic.
#[allow(unused_macros)]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!($crate::secrets::stdout(), $($arg)*);
    }};
}

/// A line on scrubbed stderr (`eprintln!` through the sink).
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!($crate::secrets::stderr(), $($arg)*);
    }};
}

#[allow(unused_imports)]
pub(crate) use {errln, outln};

/// The shortest value registered as a secret (see the module's doc).
pub const MIN_LEN: usize = 8;

/// What a secret is replaced by.
pub const REDACTED: &str = "[redacted]";

/// The secrets of the run, in every form, longest first.
#[derive(Debug, Default)]
pub struct Registry {
    forms: Vec<Vec<u8>>,
    /// Whether some form starts with this byte.
    first: Vec<bool>,
    longest: usize,
}

/// Whether a secret was registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    Yes,
    /// Shorter than [`MIN_LEN`] (or empty): not matched.
    TooShort,
}

fn percent(s: &str, lower: bool, plus_for_space: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else if b == b' ' && plus_for_space {
            out.push('+');
        } else if lower {
            out.push_str(&format!("%{b:02x}"));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn json_escaped(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(&quoted)
        .to_string()
}

/// Every form `secret` may be written in (duplicates included).
pub fn forms(secret: &str) -> Vec<String> {
    let json = json_escaped(secret);
    let mut forms = vec![
        secret.to_string(),
        json.clone(),
        json.replace('/', "\\/"),
        json_escaped(&json),
        percent(secret, false, false),
        percent(secret, true, false),
        percent(secret, false, true),
        percent(secret, true, true),
    ];
    let bases = forms.clone();
    for f in bases {
        forms.push(format!("Bearer {f}"));
        forms.push(format!("PRIVATE-TOKEN: {f}"));
    }
    forms
}

impl Registry {
    /// Adds `secret` in all its [`forms`], unless it is shorter than [`MIN_LEN`].
    pub fn add(&mut self, secret: &str) -> Registered {
        if secret.chars().count() < MIN_LEN {
            return Registered::TooShort;
        }
        for f in forms(secret) {
            let f = f.into_bytes();
            if !self.forms.contains(&f) {
                self.forms.push(f);
            }
        }
        // Longest first, so a form holding another (`Bearer X`, X) is replaced whole.
        self.forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        self.first = vec![false; 256];
        for f in &self.forms {
            self.first[f[0] as usize] = true;
        }
        self.longest = self.forms.first().map_or(0, Vec::len);
        Registered::Yes
    }

    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// `bytes` with every secret replaced, and how many bytes of it that is: when `partial`,
    /// a tail that could be the start of a secret is left out (the caller keeps it for the
    /// next write); otherwise everything.
    fn scan<'a>(&self, bytes: &'a [u8], partial: bool) -> (Cow<'a, [u8]>, usize) {
        if self.forms.is_empty() {
            return (Cow::Borrowed(bytes), bytes.len());
        }
        let mut out: Option<Vec<u8>> = None;
        let mut copied = 0;
        let mut i = 0;
        while i < bytes.len() {
            if !self.first[bytes[i] as usize] {
                i += 1;
                continue;
            }
            let rest = &bytes[i..];
            if partial
                && rest.len() < self.longest
                && self
                    .forms
                    .iter()
                    .any(|f| f.len() > rest.len() && f.starts_with(rest))
            {
                // Could be a secret whose end has not been written yet.
                let done = match out {
                    Some(mut o) => {
                        o.extend_from_slice(&bytes[copied..i]);
                        Cow::Owned(o)
                    }
                    None => Cow::Borrowed(&bytes[..i]),
                };
                return (done, i);
            }
            match self.forms.iter().find(|f| rest.starts_with(f)) {
                Some(f) => {
                    let o = out.get_or_insert_with(|| Vec::with_capacity(bytes.len()));
                    o.extend_from_slice(&bytes[copied..i]);
                    o.extend_from_slice(REDACTED.as_bytes());
                    i += f.len();
                    copied = i;
                }
                None => i += 1,
            }
        }
        let done = match out {
            Some(mut o) => {
                o.extend_from_slice(&bytes[copied..]);
                Cow::Owned(o)
            }
            None => Cow::Borrowed(bytes),
        };
        (done, bytes.len())
    }

    /// `bytes` with every secret replaced.
    pub fn scrub_bytes<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        self.scan(bytes, false).0
    }

    /// `text` with every secret replaced.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.scrub_bytes(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            // Only whole secrets (valid UTF-8 each) were replaced by ASCII.
            Cow::Owned(b) => Cow::Owned(String::from_utf8_lossy(&b).into_owned()),
        }
    }
}

/// The run's secrets.
static REGISTRY: RwLock<Registry> = RwLock::new(Registry {
    forms: Vec::new(),
    first: Vec::new(),
    longest: 0,
});

fn registry() -> std::sync::RwLockReadGuard<'static, Registry> {
    REGISTRY.read().unwrap_or_else(|e| e.into_inner())
}

/// Registers `secret` (named `what`, e.g. `GITHUB_TOKEN`, for the warning) for the rest of the
/// run. A value shorter than [`MIN_LEN`] is not registered, and a warning says so.
pub fn register(what: &str, secret: &str) -> Registered {
    let added = REGISTRY
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .add(secret.trim());
    if added == Registered::TooShort && !secret.trim().is_empty() {
        errln!(
            "warning: {what} is shorter than {MIN_LEN} characters, so orgsync cannot tell it from ordinary text and does not scrub it from its output; use a real secret"
        );
    }
    added
}

/// Registers `secret` without a warning when it is too short (the sandbox's own client secret,
/// which guards nothing outside the process).
pub fn register_quietly(secret: &str) -> Registered {
    REGISTRY
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .add(secret.trim())
}

/// The environment variables that hold secrets orgsync may read.
pub const SECRET_VARS: [&str; 5] = [
    "AUTH0_CLIENT_SECRET",
    "AUTH0_API_TOKEN",
    "AUTH0_ACCESS_TOKEN",
    "GITHUB_TOKEN",
    "GITLAB_TOKEN",
];

/// Registers, at start, every secret the environment holds for orgsync (quietly: the place
/// that uses one warns when it is too short), so that none is written even before the code
/// that reads it runs (a plan printed before the forge's token is read, say).
pub fn register_environment() {
    for var in SECRET_VARS {
        if let Some(v) = std::env::var_os(var) {
            register_quietly(&v.to_string_lossy());
        }
    }
}

/// `text` with every registered secret replaced.
pub fn scrub(text: &str) -> Cow<'_, str> {
    // Fast path without the lock's cost is not needed: the read lock is uncontended.
    let r = registry();
    match r.scrub(text) {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        Cow::Owned(s) => Cow::Owned(s),
    }
}

/// `bytes` with every registered secret replaced (audit lines, files).
pub fn scrub_bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    let r = registry();
    match r.scrub_bytes(bytes) {
        Cow::Borrowed(_) => Cow::Borrowed(bytes),
        Cow::Owned(b) => Cow::Owned(b),
    }
}

/// A writer that replaces every secret of `registry` before `inner` sees a byte, holding back
/// a tail that could be the start of a secret until the next write or [`Write::flush`].
pub struct Scrubbing<W: Write> {
    inner: W,
    pending: Vec<u8>,
    registry: &'static RwLock<Registry>,
}

impl<W: Write> Scrubbing<W> {
    /// Scrubbing `inner` with the run's secrets.
    pub fn new(inner: W) -> Scrubbing<W> {
        Scrubbing::with_registry(inner, &REGISTRY)
    }

    pub fn with_registry(inner: W, registry: &'static RwLock<Registry>) -> Scrubbing<W> {
        Scrubbing {
            inner,
            pending: Vec::new(),
            registry,
        }
    }

    /// The writer inside (its pending tail not yet written).
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    fn drain(&mut self, partial: bool) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let r = self.registry.read().unwrap_or_else(|e| e.into_inner());
        let (out, used) = r.scan(&self.pending, partial);
        let written = self.inner.write_all(&out);
        drop(out);
        match written {
            Ok(()) => {
                self.pending.drain(..used);
                Ok(())
            }
            Err(e) => {
                // Dropped, not written twice when the caller writes again.
                self.pending.clear();
                Err(e)
            }
        }
    }
}

impl<W: Write> Write for Scrubbing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        self.drain(true)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.drain(false)?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for Scrubbing<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

static OUT: LazyLock<Mutex<Scrubbing<std::io::Stdout>>> =
    LazyLock::new(|| Mutex::new(Scrubbing::new(std::io::stdout())));
static ERR: LazyLock<Mutex<Scrubbing<std::io::Stderr>>> =
    LazyLock::new(|| Mutex::new(Scrubbing::new(std::io::stderr())));

/// The process's stdout, scrubbed. Each handle shares one pending tail.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdout;

/// The process's stderr, scrubbed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stderr;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        OUT.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        OUT.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        ERR.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        ERR.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

/// Scrubbed stdout.
pub fn stdout() -> Stdout {
    Stdout
}

/// Scrubbed stderr.
pub fn stderr() -> Stderr {
    Stderr
}

/// Writes what stdout and stderr hold back; done at exit.
pub fn flush() {
    let _ = Stdout.flush();
    let _ = Stderr.flush();
}

/// Panic messages go out through scrubbed stderr too (a message may quote a server's text):
/// the default hook's lines, written by the sink.
pub fn scrub_panics() {
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("<unnamed>");
        errln!("\nthread '{name}' {info}");
        let trace = std::backtrace::Backtrace::capture();
        if trace.status() == std::backtrace::BacktraceStatus::Captured {
            errln!("stack backtrace:\n{trace}");
        } else {
            errln!("note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace");
        }
        flush();
    }));
}

/// Whether stdout is a terminal (for colour).
pub fn stdout_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
}

/// Whether stderr is a terminal (for colour and the progress bar).
pub fn stderr_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaked(secrets: &[&str]) -> &'static RwLock<Registry> {
        let mut r = Registry::default();
        for s in secrets {
            r.add(s);
        }
        Box::leak(Box::new(RwLock::new(r)))
    }

    #[test]
    fn every_form_is_matched() {
        let secret = "s3cr\"et/+ value";
        let r = leaked(&[secret]);
        let r = r.read().unwrap();
        let forms = [
            secret.to_string(),
            "s3cr\\\"et/+ value".to_string(),
            "s3cr\\\"et\\/+ value".to_string(),
            "s3cr\\\\\\\"et/+ value".to_string(),
            "s3cr%22et%2F%2B%20value".to_string(),
            "s3cr%22et%2f%2b%20value".to_string(),
            "s3cr%22et%2F%2B+value".to_string(),
            format!("Bearer {secret}"),
            format!("PRIVATE-TOKEN: {secret}"),
        ];
        for f in forms {
            let text = format!("before {f} after");
            assert_eq!(r.scrub(&text), "before [redacted] after", "{f}");
        }
        assert_eq!(
            r.scrub("Authorization: Bearer s3cr\"et/+ value\n"),
            "Authorization: [redacted]\n"
        );
    }

    #[test]
    fn short_and_common_strings_are_left_alone() {
        let mut r = Registry::default();
        assert_eq!(r.add("hunter2"), Registered::TooShort);
        assert_eq!(r.add(""), Registered::TooShort);
        assert_eq!(r.add("a-long-enough-token"), Registered::Yes);
        let text = "hunter2 demo test Bearer x a-long-enough-tok";
        assert_eq!(r.scrub(text), text);
        assert!(matches!(r.scrub(text), Cow::Borrowed(_)), "nothing copied");
        // A prefix of a secret at the very end of a whole text is written as it is.
        assert_eq!(r.scrub("ends with a-long"), "ends with a-long");
    }

    #[test]
    fn a_secret_split_across_writes_is_caught() {
        let secret = "tok.en-1234567890";
        let reg = leaked(&[secret, "other-secret-value"]);
        let text = format!("one {secret} two Bearer {secret}\nthree {secret}");
        // Every split point, and one byte at a time.
        for cut in 0..text.len() {
            let mut w = Scrubbing::with_registry(Vec::new(), reg);
            w.write_all(&text.as_bytes()[..cut]).unwrap();
            w.write_all(&text.as_bytes()[cut..]).unwrap();
            w.flush().unwrap();
            let out = String::from_utf8(w.get_ref().clone()).unwrap();
            assert_eq!(
                out, "one [redacted] two [redacted]\nthree [redacted]",
                "cut at {cut}"
            );
        }
        let mut w = Scrubbing::with_registry(Vec::new(), reg);
        for b in text.bytes() {
            w.write_all(&[b]).unwrap();
        }
        w.flush().unwrap();
        assert!(!String::from_utf8_lossy(w.get_ref()).contains(secret));
    }

    #[test]
    fn only_a_possible_secret_is_held_back() {
        let reg = leaked(&["tok.en-1234567890"]);
        let mut w = Scrubbing::with_registry(Vec::new(), reg);
        w.write_all(b"a plain line\nand a prompt [y/N] ").unwrap();
        assert_eq!(w.get_ref().as_slice(), b"a plain line\nand a prompt [y/N] ");
        w.write_all(b"then tok.en-12").unwrap();
        assert_eq!(
            w.get_ref().as_slice(),
            b"a plain line\nand a prompt [y/N] then "
        );
        w.write_all(b"3 is not it").unwrap();
        w.flush().unwrap();
        assert!(w.get_ref().ends_with(b"then tok.en-123 is not it"));
    }

    #[test]
    fn without_secrets_bytes_pass_unchanged() {
        let reg = leaked(&[]);
        let mut w = Scrubbing::with_registry(Vec::new(), reg);
        let bytes = [0xff, 0xfe, b'a', b'\n', 0xc3];
        w.write_all(&bytes).unwrap();
        assert_eq!(w.get_ref().as_slice(), &bytes);
    }

    /// No code in `src/` writes to the process's stdout or stderr except through this module.
    /// One exception: the progress bar (`src/progress.rs`) draws on stderr itself, and what it
    /// draws is counters only (its template and its message take numbers, never a text from
    /// outside), so it has no secret to print.
    #[test]
    fn stdio_goes_through_the_sink() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let banned = [
            concat!("print", "ln!"),
            concat!("eprint", "ln!"),
            concat!("print", "!("),
            concat!("eprint", "!("),
            concat!("db", "g!("),
            // As a call, a function value (`with_writer(std::io::stderr)`) or an import.
            concat!("io::std", "out"),
            concat!("io::std", "err"),
            concat!("io::{", "std"),
            concat!("DrawTarget::std", "out"),
        ];
        let mut stack = vec![root.clone()];
        let mut checked = 0;
        let mut found = Vec::new();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") || path.ends_with("src/secrets.rs") {
                    continue;
                }
                if path.ends_with("src/progress.rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    // Its only message: a count.
                    for (i, _) in text.match_indices("set_message(") {
                        let arg = &text[i..i + 60.min(text.len() - i)];
                        assert!(
                            arg.starts_with("set_message(\"0 members read\")")
                                || arg.starts_with("set_message(format!(\"{total} members read\")"),
                            "the progress bar shows counts only: {arg}"
                        );
                    }
                }
                checked += 1;
                let text = std::fs::read_to_string(&path).unwrap();
                for (n, line) in text.lines().enumerate() {
                    // `main.rs` and doc comments may say the names.
                    if line.trim_start().starts_with("//") {
                        continue;
                    }
                    for b in banned {
                        if line.contains(b) {
                            found.push(format!("{}:{}: {b}", path.display(), n + 1));
                        }
                    }
                    // `stdout()`/`stderr()` called bare (imported) rather than this module's.
                    for call in [concat!("std", "out()"), concat!("std", "err()")] {
                        for (i, _) in line.match_indices(call) {
                            let before = &line[..i];
                            if !before.ends_with("secrets::")
                                && !before.ends_with("DrawTarget::")
                                && !before.ends_with("use_")
                            {
                                found.push(format!("{}:{}: {call}", path.display(), n + 1));
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 20, "the walk found the sources ({checked})");
        assert!(
            found.is_empty(),
            "write through crate::secrets (outln!/errln!, secrets::stdout()/stderr()) instead:\n{}",
            found.join("\n")
        );
    }
}
