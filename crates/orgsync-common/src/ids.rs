//! Auth0's identifier grammar, in one place: what an organization id, an organization name,
//! a user_id and an invitation id look like, and which user_ids name their connection. The config checks what it reads against it, the client checks every
//! id before it becomes part of a request path, and the emulator checks its tenant file.

/// `org_` followed by 1..46 ASCII letters and digits (Auth0 ids are 50 characters at most).
pub fn is_org_id(s: &str) -> bool {
    s.len() <= 50
        && s.strip_prefix("org_")
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Lowercase letters, digits, `_` and `-`, 1..50 characters.
pub fn is_org_name(s: &str) -> bool {
    (1..=50).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// `provider|id`: both parts non-empty, no whitespace or control characters, at most 512 bytes.
pub fn is_user_id(s: &str) -> bool {
    match s.split_once('|') {
        Some((provider, rest)) => {
            !provider.is_empty()
                && !rest.is_empty()
                && s.len() <= 512
                && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

/// `uinv_` and 1 to 64 letters or digits (an invitation id goes into a DELETE's path).
pub fn is_invitation_id(s: &str) -> bool {
    s.strip_prefix("uinv_").is_some_and(|rest| {
        !rest.is_empty() && rest.len() <= 64 && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// Enterprise strategies, whose user_ids read `strategy|connection|id`.
pub const ENTERPRISE_STRATEGIES: &[&str] = &[
    "samlp",
    "oidc",
    "waad",
    "adfs",
    "ad",
    "okta",
    "pingfederate",
    "google-apps",
    "office365",
];

/// The connection a user_id names, where it names one (`samlp|corp|abc` → `corp`). A database
/// (`auth0|…`) or social (`google-oauth2|…`) user_id does not say which connection.
pub fn connection_in_user_id(user_id: &str) -> Option<&str> {
    let mut parts = user_id.splitn(3, '|');
    let strategy = parts.next()?;
    let connection = parts.next()?;
    parts.next()?;
    (ENTERPRISE_STRATEGIES.contains(&strategy) && !connection.is_empty()).then_some(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        assert!(is_org_id("org_3hbVAMF8F3wVIcEJ"));
        for bad in [
            "org_",
            "..",
            "org_a/b",
            "org_a.b",
            "acme",
            &format!("org_{}", "a".repeat(47)),
        ] {
            assert!(!is_org_id(bad), "{bad}");
        }
        assert!(is_org_name("acme-2_x"));
        for bad in ["", "Acme", "a b", "..", &"a".repeat(51)] {
            assert!(!is_org_name(bad), "{bad}");
        }
        assert!(is_user_id("samlp|corp|ops@example.com"));
        for bad in ["auth0", "|x", "x|", "a|b c", "a|b\u{1b}"] {
            assert!(!is_user_id(bad), "{bad}");
        }
    }
}
