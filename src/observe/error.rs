//! What can go wrong reading the tenant, each failure worded with its place in the config.

use std::fmt;

use crate::auth0::{self};
use crate::config::Location;
use crate::tasks::TaskFailure;
use crate::text::plural;

/// Why one read failed: the API's answer, or a task that ended without one.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Api(#[from] auth0::Error),
    #[error(transparent)]
    Task(#[from] TaskFailure),
}

impl ReadError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ReadError::Api(e) => e.hint(),
            ReadError::Task(_) => {
                Some("this is a bug in orgsync; please report it with the output of `-vv`".into())
            }
        }
    }
}

/// An organization that could not be read, with where the config names it.
#[derive(Debug)]
pub struct OrgFailure {
    pub org: String,
    pub location: Location,
    pub error: ReadError,
    /// A name from the organization list close to the one the config gives, when it was not
    /// found: the likely typo's fix.
    pub suggestion: Option<String>,
}

/// A member named by email that could not be resolved to exactly one user.
#[derive(Debug)]
pub struct EmailFailure {
    pub email: String,
    pub location: Location,
    pub problem: EmailProblem,
}

/// Why an email did not resolve.
#[derive(Debug)]
pub enum EmailProblem {
    /// No user has it.
    NotFound,
    /// Several users have it (the same email on several connections): never a guess.
    Ambiguous(Vec<String>),
    /// The lookup failed.
    Api(ReadError),
}

/// Two config entries that resolve to one organization.
#[derive(Debug)]
pub struct SameOrganization {
    pub first: (String, Location),
    pub second: (String, Location),
    pub id: String,
}

/// Why the tenant could not be observed. Lists every failure, not just the first.
#[derive(Debug)]
pub enum ObserveError {
    /// No access token could be had (the credentials were refused, the token endpoint could
    /// not be reached): nothing was read.
    Token(auth0::Error),
    /// The organization list, read to resolve several organizations at once, could not be.
    List(auth0::Error),
    /// Some organizations could not be resolved or read.
    Failed(Vec<OrgFailure>),
    /// Two config entries (one by name, one by id) are the same organization.
    SameOrganization(Box<SameOrganization>),
    /// Members named by email that do not resolve to exactly one user.
    Emails(Vec<EmailFailure>),
    /// One organization lists the same user twice, once by user_id and once by email.
    SameUser {
        user_id: String,
        first: Location,
        second: Location,
    },
    /// A config entry has no observation (an organization or email that was never read).
    /// Observation is total, so this is a bug; it stops the run instead of planning around it.
    Incomplete(String),
    /// Users read for re-entry and invitation checks (`GET /users/{id}`) that could not be.
    Users(Vec<(String, ReadError)>),
}

impl fmt::Display for ObserveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObserveError::Token(error) => write!(f, "{error}; nothing was planned"),
            ObserveError::List(error) => write!(
                f,
                "the organization list could not be read; nothing was planned\n  {error}"
            ),
            ObserveError::Failed(failures) => {
                write!(
                    f,
                    "{} could not be read; nothing was planned",
                    plural(failures.len(), "organization", "organizations")
                )?;
                for fail in failures {
                    write!(
                        f,
                        "\n  {}: organization `{}`: {}",
                        fail.location,
                        fail.org,
                        auth0::one_line(&fail.error)
                    )?;
                }
                Ok(())
            }
            ObserveError::Emails(failures) => {
                write!(
                    f,
                    "{} named by email could not be resolved; nothing was planned",
                    plural(failures.len(), "member", "members")
                )?;
                for e in failures {
                    match &e.problem {
                        EmailProblem::NotFound => {
                            write!(f, "\n  {}: no user has the email `{}`", e.location, e.email)?
                        }
                        EmailProblem::Ambiguous(ids) => write!(
                            f,
                            "\n  {}: the email `{}` belongs to {} users ({}); orgsync does not guess",
                            e.location,
                            e.email,
                            ids.len(),
                            ids.iter()
                                .map(|i| format!("`{i}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )?,
                        EmailProblem::Api(err) => write!(
                            f,
                            "\n  {}: looking up `{}` failed: {}",
                            e.location,
                            e.email,
                            auth0::one_line(err)
                        )?,
                    }
                }
                Ok(())
            }
            ObserveError::SameUser {
                user_id,
                first,
                second,
            } => write!(
                f,
                "{second}: this member is `{user_id}`, already listed at {first}; list each member once"
            ),
            ObserveError::Incomplete(what) => {
                write!(f, "{what} was not read; nothing was planned")
            }
            ObserveError::Users(failures) => {
                write!(
                    f,
                    "{} could not be read for the re-entry and invitation checks; nothing was planned",
                    plural(failures.len(), "user", "users")
                )?;
                for (user, e) in failures {
                    write!(
                        f,
                        "\n  user `{}`: {}",
                        user.escape_debug(),
                        auth0::one_line(e)
                    )?;
                }
                Ok(())
            }
            ObserveError::SameOrganization(same) => {
                let SameOrganization { first, second, id } = &**same;
                write!(
                    f,
                    "{}: organization `{}` is the same organization (`{id}`) as `{}` at {}; declare it once",
                    second.1, second.0, first.0, first.1
                )
            }
        }
    }
}

impl std::error::Error for ObserveError {
    /// The causes of a single error the message is about (the top-level printer prints one
    /// `caused by:` line each); the per-organization lines carry their own on the line.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ObserveError::Token(e) | ObserveError::List(e) => e.source(),
            _ => None,
        }
    }
}

impl crate::error::Hinted for ObserveError {
    fn next_step(&self) -> Option<String> {
        self.hint()
    }
}

impl ObserveError {
    /// The hint of the first failure that has one.
    pub fn hint(&self) -> Option<String> {
        match self {
            ObserveError::Token(e) | ObserveError::List(e) => e.hint(),
            ObserveError::Failed(f) => f
                .iter()
                .find_map(|x| {
                    let s = x.suggestion.as_ref()?;
                    Some(format!(
                        "the tenant has no organization `{}`: did you mean `{s}`?",
                        x.org
                    ))
                })
                .or_else(|| f.iter().find_map(|x| x.error.hint())),
            ObserveError::Emails(f) => {
                let api = f.iter().find_map(|e| match &e.problem {
                    EmailProblem::Api(err) => err.hint(),
                    _ => None,
                });
                api.or_else(|| {
                    Some("name the member by user_id instead (`orgsync export` lists them)".into())
                })
            }
            ObserveError::SameOrganization(_) | ObserveError::SameUser { .. } => None,
            ObserveError::Users(f) => f.iter().find_map(|(_, e)| e.hint()),
            ObserveError::Incomplete(_) => {
                Some("this is a bug in orgsync; please report it with the output of `-vv`".into())
            }
        }
    }
}
