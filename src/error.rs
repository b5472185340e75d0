//! Errors at the top, printed once: `error: …`, one `caused by: …` line per source, and a
//! `hint: …` where there is an obvious fix (uv's STYLE.md); and the exit codes, named.

use std::process::ExitCode;

/// How a command ended; each is one exit code (Terraform's convention, and 130 as shells report
/// SIGINT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done; with `--detailed-exitcode`, nothing to do.
    Success,
    /// 1: an error, a refusal, or a run that did not do all it planned.
    Error,
    /// 2: with `--detailed-exitcode`, the plan has removals or missing members (drift).
    Changes,
    /// 130: `apply` was interrupted by SIGINT or SIGTERM.
    Interrupted,
}

impl Exit {
    pub const fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Error => 1,
            Exit::Changes => 2,
            Exit::Interrupted => 130,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// An error for the top level to print: the chain of causes and an optional hint.
#[derive(Debug)]
pub struct Failure {
    pub error: Box<dyn std::error::Error + Send + Sync>,
    pub hint: Option<String>,
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            error: Box::new(e),
            hint: None,
        }
    }
}

/// An error that knows the obvious next step for the person who reads it.
pub trait Hinted: std::error::Error + Send + Sync + 'static {
    fn next_step(&self) -> Option<String>;
}

impl Failure {
    /// A failure that keeps its error's own hint (the generic `From` has none to keep).
    pub fn hinted<E: Hinted>(e: E) -> Failure {
        let hint = e.next_step();
        Failure {
            error: Box::new(e),
            hint,
        }
    }

    /// A failure with a message and a hint.
    pub fn new(error: impl Into<String>, hint: Option<&str>) -> Failure {
        Failure {
            error: error.into().into(),
            hint: hint.map(str::to_string),
        }
    }

    /// Whether the failure is only stdout being closed early (`orgsync plan | head`): the
    /// reader has what it wanted, so orgsync ends quietly with success.
    pub fn is_broken_pipe(&self) -> bool {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(self.error.as_ref());
        while let Some(e) = source {
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return true;
            }
            source = e.source();
        }
        false
    }

    /// Prints the failure on stderr.
    pub fn print(&self) {
        use std::io::Write;
        let mut err = crate::secrets::stderr();
        // Multi-line errors (several config problems) carry their own `error:`/`hint:` lines.
        let _ = writeln!(err, "error: {}", self.error);
        let mut source = self.error.source();
        while let Some(s) = source {
            let _ = writeln!(err, "  caused by: {s}");
            source = s.source();
        }
        if let Some(h) = &self.hint {
            let _ = writeln!(err, "hint: {h}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_stdout_is_recognised_through_the_chain() {
        let f = Failure::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(f.is_broken_pipe());
        assert!(!Failure::new("no", None).is_broken_pipe());
        assert_eq!(Exit::Interrupted.code(), 130);
    }
}
