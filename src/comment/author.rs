//! Who wrote a comment, and who orgsync is: a comment as listed ([`Note`]), its author and the
//! token's user ([`Author`], the same by id when both have one, else by login), and the warning
//! for a comment that carries orgsync's marker but was written by someone else.

use crate::text::clean;

/// A comment as listed.
#[derive(Debug, Clone)]
pub(super) struct Note {
    pub id: u64,
    pub body: String,
    /// Who wrote it, as the forge says; None when it does not say.
    pub author: Option<Author>,
}

/// A comment's author, or the token's user: the forge's numeric user id when known, and the
/// login (GitHub) or username (GitLab).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Author {
    pub id: Option<u64>,
    pub login: String,
}

impl Author {
    /// `{"id": 1, KEY: "name"}` (GitHub's `user`, GitLab's `author`).
    pub(super) fn from_json(v: Option<&serde_json::Value>, key: &str) -> Option<Author> {
        let v = v?;
        Some(Author {
            id: v.get("id").and_then(serde_json::Value::as_u64),
            login: v.get(key)?.as_str()?.to_string(),
        })
    }

    /// Whether `other` is this user: by id when both have one (ids never change), else by
    /// login, ignoring case as both forges do.
    pub(super) fn is(&self, other: Option<&Author>) -> bool {
        let Some(other) = other else { return false };
        match (self.id, other.id) {
            (Some(a), Some(b)) => a == b,
            _ => !self.login.is_empty() && self.login.eq_ignore_ascii_case(&other.login),
        }
    }
}

/// A warning for a comment that carries the plan's marker but was written by someone else.
pub(super) fn foreign_warning(note: &Note, me: &Author) -> String {
    let who = note.author.as_ref().map_or_else(
        || "an unnamed author".to_string(),
        |a| format!("`{}`", clean(&a.login)),
    );
    format!(
        "warning: comment {} by {who} carries orgsync's marker for this plan, but orgsync did not write it (it posts as `{}`): it is left alone, neither edited nor deleted; orgsync's own comment holds the plan",
        note.id,
        clean(&me.login)
    )
}
