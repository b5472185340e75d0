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
    /// A variable `--comment` needs is not set.
    #[error("`--comment {forge}` needs {var}{about}")]
    Missing {
        /// "github", "gitlab".
        forge: &'static str,
        var: &'static str,
        /// What the value is, after the name: " (`owner/repo`)", or "".
        about: &'static str,
        hint: &'static str,
    },
    /// A variable's value is not of the form it must have.
    #[error("{var} `{value}` is not {expected}")]
    Malformed {
        var: &'static str,
        /// The value, made safe to print.
        value: String,
        expected: &'static str,
    },
    /// The API's address is refused, or the HTTP client could not be set up.
    #[error("{0}")]
    Setup(String),
    /// GITHUB_EVENT_PATH could not be read; the failed read's own cause is kept.
    #[error("could not read GITHUB_EVENT_PATH `{path}`: {read}")]
    EventUnread {
        path: String,
        /// What the read says went wrong.
        read: String,
        #[source]
        cause: Option<std::io::Error>,
    },
    /// GITHUB_EVENT_PATH or a forge's answer is not the JSON expected (its text is not
    /// repeated: it may echo a header or a token).
    #[error("{what} is {shape}")]
    Shape {
        /// "GITHUB_EVENT_PATH `…`", "GitHub's answer listing the commit's pull requests".
        what: String,
        /// [`super::http::shape_error`].
        shape: String,
    },
    /// No pull (merge) request to comment on.
    #[error("no {request} to comment on: {why}")]
    NoRequest {
        request: &'static str,
        why: &'static str,
        hint: String,
    },
    /// The forge lists no request for the commit an apply runs on.
    #[error("no {request} found for commit {sha}")]
    NoRequestForCommit {
        request: &'static str,
        sha: String,
        hint: String,
    },
    /// `GET /user` answered, but names no user.
    #[error(
        "{forge}'s answer to `GET /user` names no user ({fields}): orgsync cannot tell its own {noun}s from others'; nothing was posted"
    )]
    NoUser {
        forge: &'static str,
        fields: String,
        noun: &'static str,
    },
    /// The forge created a comment but did not say its id.
    #[error("the API created the comment but its answer has no comment id")]
    NoId,
    /// The comment limit leaves no room for the plan beside the marker.
    #[error(
        "a comment of {limit} bytes has no room for the plan beside its marker (the config path is {config_bytes} bytes long)"
    )]
    NoRoom { limit: usize, config_bytes: usize },
    /// A comment orgsync created carries another author than the one it looks for.
    #[error(
        "the comment orgsync just posted ({id}) was written as `{written_as}`, not as `{me}`, the author orgsync takes for its token: later runs would not recognise it"
    )]
    NotOurs {
        id: u64,
        /// Both names made safe to print.
        written_as: String,
        me: String,
    },
    /// The step summary could not be written (the cause is in the message already).
    #[error("could not append the plan to GITHUB_STEP_SUMMARY `{path}`: {error}")]
    Summary { path: String, error: std::io::Error },
}

impl Hinted for Error {
    fn next_step(&self) -> Option<String> {
        match self {
            Error::Call { hint, .. } => Some(hint.clone()),
            Error::ListMoved { .. } => Some(
                "run again; if it persists, the forge is not answering as its API documents".into(),
            ),
            Error::OutOfTime(_) => {
                Some("give more time with `--timeout SECONDS`, or check the forge's status".into())
            }
            Error::Missing { hint, .. } => Some(hint.to_string()),
            Error::NoRequest { hint, .. } | Error::NoRequestForCommit { hint, .. } => {
                Some(hint.clone())
            }
            Error::NoRoom { .. } => Some("use a shorter config path".into()),
            Error::NotOurs { .. } => Some(
                "use the workflow's own GITHUB_TOKEN, or a token that may read `GET /user`".into(),
            ),
            Error::ListRefused { .. }
            | Error::Malformed { .. }
            | Error::Setup(_)
            | Error::EventUnread { .. }
            | Error::Shape { .. }
            | Error::NoUser { .. }
            | Error::NoId
            | Error::Summary { .. } => None,
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

    #[test]
    fn an_unreadable_event_file_keeps_the_read_failure_as_its_cause() {
        let f = Failure::hinted(Error::EventUnread {
            path: "/x/event.json".into(),
            read: "cannot read `/x/event.json`".into(),
            cause: Some(std::io::Error::from(std::io::ErrorKind::NotFound)),
        });
        assert_eq!(
            f.error.to_string(),
            "could not read GITHUB_EVENT_PATH `/x/event.json`: cannot read `/x/event.json`"
        );
        let cause = f.error.source().map(ToString::to_string);
        assert_eq!(
            cause,
            Some(std::io::Error::from(std::io::ErrorKind::NotFound).to_string())
        );
        assert_eq!(f.hint, None);
    }

    #[test]
    fn the_request_failures_read_as_before_with_their_hints() {
        let none = Failure::hinted(Error::NoRequest {
            request: "merge request",
            why: "CI_MERGE_REQUEST_IID is not set",
            hint: "pass the IID with `--pr N`".into(),
        });
        assert_eq!(
            none.error.to_string(),
            "no merge request to comment on: CI_MERGE_REQUEST_IID is not set"
        );
        assert_eq!(none.hint.as_deref(), Some("pass the IID with `--pr N`"));
        let bad = Failure::hinted(Error::Malformed {
            var: "GITHUB_REPOSITORY",
            value: "acme".into(),
            expected: "`owner/repo`",
        });
        assert_eq!(
            bad.error.to_string(),
            "GITHUB_REPOSITORY `acme` is not `owner/repo`"
        );
        assert!(bad.error.source().is_none() && bad.hint.is_none());
        let room = Failure::hinted(Error::NoRoom {
            limit: 1000,
            config_bytes: 900,
        });
        assert_eq!(room.hint.as_deref(), Some("use a shorter config path"));
    }
}
