//! Reading a pull request's comments (or a merge request's notes) over pages, the same way for
//! both forges: as a set keyed by comment id, with caps counted as the pages arrive, so that a
//! forge that answers with too much, forever, or with a list that moves cannot make orgsync act
//! on a comment twice or run without end.
//!
//! - At most [`PAGE_CAP`] pages of [`PER_PAGE`] comments ([`RECORD_CAP`] comments); a page
//!   holding more than was asked for is refused. Each answer is at most
//!   [`crate::bounded::ANSWER_BYTES`], and every call ends by the phase's deadline.
//! - An id seen twice (on two pages, or twice on one), or a count that does not add up
//!   (GitLab's `x-total`), means the list moved while it was read: it is read again from the
//!   start, [`READ_ATTEMPTS`] times in all, then the read fails and nothing is acted on.
//! - The next page is GitLab's `x-next-page` (it must be the page after the one read), else
//!   `Link: rel="next"`, which must be on the API's own origin and the list's own path (or,
//!   for GitHub, the same list named by repository id, `/repositories/{id}/issues/{n}/comments`,
//!   as github.com writes its links); a link elsewhere is refused, named by its origin alone.
//! - A page that is not a JSON list of comments is refused, saying what was expected and never
//!   quoting the body (a hostile forge can echo the token back).

use std::collections::HashSet;

use reqwest::header::HeaderMap;
use reqwest::{Method, Url};

use super::Note;
use super::error::Error;
use super::http::{self, CallError, Http};
use crate::error::Failure;

/// The most pages read of one list.
pub(super) const PAGE_CAP: usize = 100;
/// Comments asked for per page (the most both forges give).
pub(super) const PER_PAGE: usize = 100;
/// The most comments read of one list.
pub(super) const RECORD_CAP: usize = PAGE_CAP * PER_PAGE;
/// How many times a list that moved while it was read is read whole.
pub(super) const READ_ATTEMPTS: usize = 2;

/// One forge's list: where it starts and how its entries read.
pub(super) struct Listing<'a> {
    pub(super) http: &'a Http,
    /// "GitHub", "GitLab".
    pub(super) forge: &'static str,
    /// "comments", "notes".
    pub(super) what: &'static str,
    /// The first page's path and query (relative to the API's base), with `per_page`.
    pub(super) first: String,
    /// GitHub: the list's path after the repository (`/issues/{n}/comments`), so that a next
    /// link naming the repository by id (`/repositories/{id}…`) is the same list.
    pub(super) by_repository_id: Option<String>,
    /// An entry as a [`Note`]; None for one that is not a person's comment (GitLab's system
    /// notes) or holds no text. Every entry is keyed by its id all the same.
    pub(super) parse: fn(&serde_json::Value) -> Option<Note>,
}

/// Why one reading failed.
enum Stop {
    /// A call failed.
    Call(CallError),
    /// The list moved while it was read: reading it again may succeed.
    Moved(String),
    /// The answers are not to be used.
    Refused(String),
}

impl Listing<'_> {
    /// Every comment, each once; `fail` turns a failed call into the error to print.
    pub(super) async fn read(
        &self,
        fail: impl Fn(CallError) -> Failure,
    ) -> Result<Vec<Note>, Failure> {
        let mut attempt = 1;
        loop {
            match self.read_once().await {
                Ok(notes) => return Ok(notes),
                Err(Stop::Call(e)) => return Err(fail(e)),
                Err(Stop::Moved(why)) if attempt < READ_ATTEMPTS => {
                    tracing::info!("the list of {} moved ({why}); reading it again", self.what);
                    attempt += 1;
                }
                Err(Stop::Moved(why)) => {
                    return Err(Failure::hinted(Error::ListMoved {
                        forge: self.forge,
                        what: self.what,
                        attempts: READ_ATTEMPTS,
                        why,
                    }));
                }
                Err(Stop::Refused(why)) => {
                    return Err(Failure::hinted(Error::ListRefused {
                        forge: self.forge,
                        what: self.what,
                        why,
                    }));
                }
            }
        }
    }

    async fn read_once(&self) -> Result<Vec<Note>, Stop> {
        let first_url = self.http.url(&self.first);
        let list_path = Url::parse(&first_url)
            .map(|u| u.path().to_string())
            .unwrap_or_default();
        let mut url = first_url;
        let mut ids = HashSet::new();
        let mut notes = Vec::new();
        let mut total: Option<u64> = None;
        for page in 1..=PAGE_CAP {
            let answer = self
                .http
                .call(Method::GET, &url, None)
                .await
                .map_err(Stop::Call)?;
            let entries: Vec<serde_json::Value> =
                serde_json::from_str(&answer.body).map_err(|e| {
                    Stop::Refused(format!(
                        "page {page} is {}",
                        http::shape_error(&e, &format!("a list of {}", self.what))
                    ))
                })?;
            if entries.len() > PER_PAGE {
                return Err(Stop::Refused(format!(
                    "page {page} holds {} {}, more than the {PER_PAGE} asked for",
                    entries.len(),
                    self.what
                )));
            }
            match (total, header_number(&answer.headers, "x-total")) {
                (_, None) => {}
                (None, Some(t)) => total = Some(t),
                (Some(a), Some(b)) if a == b => {}
                (Some(a), Some(b)) => {
                    return Err(Stop::Moved(format!(
                        "page 1 counted {a} {}, page {page} {b}",
                        self.what
                    )));
                }
            }
            for entry in &entries {
                let Some(id) = entry.get("id").and_then(serde_json::Value::as_u64) else {
                    return Err(Stop::Refused(format!(
                        "an entry of page {page} has no numeric id"
                    )));
                };
                if !ids.insert(id) {
                    return Err(Stop::Moved(format!(
                        "{} {id} was listed twice",
                        self.what.trim_end_matches('s')
                    )));
                }
                if let Some(note) = (self.parse)(entry) {
                    notes.push(note);
                }
            }
            if ids.len() > RECORD_CAP {
                return Err(Stop::Refused(format!(
                    "it holds more than {RECORD_CAP} {}, more than orgsync reads",
                    self.what
                )));
            }
            match self.next_page(page, &list_path, &answer.headers)? {
                Some(next) => url = next,
                None => {
                    return match total {
                        Some(t) if t != ids.len() as u64 => Err(Stop::Moved(format!(
                            "it counted {t} {} but {} different ones were read",
                            self.what,
                            ids.len()
                        ))),
                        _ => Ok(notes),
                    };
                }
            }
        }
        Err(Stop::Refused(format!(
            "it goes on past {PAGE_CAP} pages of {PER_PAGE} (more than {RECORD_CAP} {}), more than orgsync reads",
            self.what
        )))
    }

    /// The URL of the page after `page`, None when it was the last.
    fn next_page(
        &self,
        page: usize,
        list_path: &str,
        headers: &HeaderMap,
    ) -> Result<Option<String>, Stop> {
        let next_number = headers
            .get("x-next-page")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty());
        if let Some(n) = next_number {
            return match n.parse::<usize>() {
                Ok(n) if n == page + 1 => {
                    Ok(Some(self.http.url(&format!("{}&page={n}", self.first))))
                }
                _ => Err(Stop::Refused(format!(
                    "page {page} names a next page (`x-next-page`) that is not page {}",
                    page + 1
                ))),
            };
        }
        let Some(next) = http::next_link(headers) else {
            return Ok(None);
        };
        if !self.http.same_origin(&next) {
            return Err(Stop::Refused(format!(
                "the next page is on another host ({}); orgsync does not send the token there",
                http::origin_of(&next)
            )));
        }
        let path = Url::parse(&next)
            .map(|u| u.path().to_string())
            .unwrap_or_default();
        if path != list_path && !self.same_list_by_id(&path) {
            return Err(Stop::Refused(
                "the next page is not of this list (another path on the API); orgsync does not follow it".to_string(),
            ));
        }
        Ok(Some(next))
    }
}

impl Listing<'_> {
    /// Whether `path` is `{base}/repositories/{digits}{tail}` for this list's tail.
    fn same_list_by_id(&self, path: &str) -> bool {
        let Some(tail) = &self.by_repository_id else {
            return false;
        };
        let base = self.http.base.path().trim_end_matches('/');
        path.strip_prefix(base)
            .and_then(|p| p.strip_prefix("/repositories/"))
            .and_then(|p| p.strip_suffix(tail.as_str()))
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
    }
}

/// A header holding a whole number, None when absent or not one.
fn header_number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}
