//! The forge clients' typed errors: what failed, with the call it came from kept whole (method,
//! path, status, the forge's message, whether orgsync stopped it), and the next step.

use super::http::CallError;
use crate::error::Hinted;

/// A failure of the commenting phase.
#[derive(Debug, thiserror::Error)]
pub(super) enum Error {
    /// A call to the forge failed: no answer, or an error answer.
    #[error("could not comment on {place}: {doing}: {forge}: {call}")]
    Call {
        /// "pull request #7 of `acme/access`".
        place: String,
        /// "posting a comment".
        doing: String,
        /// "GitHub", "GitLab".
        forge: &'static str,
        call: CallError,
        hint: String,
    },
    /// The list of comments changed each time it was read.
    #[error(
        "{forge}'s list of {what} changed while it was read, {attempts} times ({why}); nothing was acted on"
    )]
    ListMoved {
        forge: &'static str,
        what: &'static str,
        attempts: usize,
        why: String,
    },
    /// The list's answers are not to be used (a link elsewhere, too many pages).
    #[error("could not read {forge}'s list of {what}: {why}; nothing was acted on")]
    ListRefused {
        forge: &'static str,
        what: &'static str,
        why: String,
    },
    /// The phase ran out of its `--timeout`.
    #[error("commenting did not finish: {0}")]
    OutOfTime(String),
}

impl Hinted for Error {
    fn next_step(&self) -> Option<String> {
        match self {
            Error::Call { hint, .. } => Some(hint.clone()),
            Error::ListMoved { .. } => Some(
                "run again; if it persists, the forge is not answering as its API documents".into(),
            ),
            Error::ListRefused { .. } => None,
            Error::OutOfTime(_) => {
                Some("give more time with `--timeout SECONDS`, or check the forge's status".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Failure;

    #[test]
    fn a_failed_call_keeps_the_call_and_reads_as_before() {
        let call = CallError {
            method: reqwest::Method::POST,
            path: "/repos/acme/access/issues/7/comments".into(),
            status: Some(reqwest::StatusCode::FORBIDDEN),
            message: "Resource not accessible by integration".into(),
            rate_limited: false,
            stopped: None,
        };
        let f = Failure::hinted(Error::Call {
            place: "pull request #7 of `acme/access`".into(),
            doing: "posting a comment".into(),
            forge: "GitHub",
            call,
            hint: "give the workflow `permissions: pull-requests: write`".into(),
        });
        assert_eq!(
            f.error.to_string(),
            "could not comment on pull request #7 of `acme/access`: posting a comment: GitHub: POST /repos/acme/access/issues/7/comments answered 403: Resource not accessible by integration"
        );
        assert_eq!(
            f.hint.as_deref(),
            Some("give the workflow `permissions: pull-requests: write`")
        );
        let typed = f.error.downcast_ref::<Error>();
        assert!(
            matches!(typed, Some(Error::Call { call, .. }) if call.status.map(|s| s.as_u16()) == Some(403))
        );
    }
}
