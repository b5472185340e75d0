//! Auth0's identifier grammar, in one place: what an organization id, an organization name
//! and a user_id look like. The config checks what it reads against it, the client checks every
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
