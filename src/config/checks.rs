//! Checks of single config values: a user_id, an email, an organization name or id, a
//! `max_removals`. What a valid identifier is belongs to [`crate::ids`], the grammar shared with
//! the client and the emulator; these checks ask it, and only when it says no work out which
//! rule was broken, to say so in the message with a hint.

use serde_saphyr::Spanned;

use super::MaxRemovals;
use super::diagnostics::{Diagnostic, File, loc, scalar};
use super::quote::shown;
use crate::ids;

/// `provider|id`: both non-empty, no whitespace or control characters, at most 512 bytes
/// ([`ids::is_user_id`]). On failure: the message and a hint.
pub fn check_user_id(s: &str) -> Result<(), (String, String)> {
    if ids::is_user_id(s) {
        return Ok(());
    }
    // Messages are built only for a malformed id: validate checks a million of them.
    let problem = if s.chars().any(char::is_control) {
        format!(
            "malformed user_id `{}`: control characters are not allowed",
            shown(s)
        )
    } else if s.chars().any(char::is_whitespace) {
        format!(
            "malformed user_id `{}`: whitespace is not allowed",
            shown(s)
        )
    } else if s.len() > 512 {
        format!(
            "malformed user_id: {} bytes, at most 512 are allowed",
            s.len()
        )
    } else {
        format!("malformed user_id `{}`: expected `provider|id`", shown(s))
    };
    // An email where a user_id belongs: the fix is the `{email: …}` form, not a user_id.
    let hint = if !s.contains('|') && check_email(s).is_ok() {
        format!(
            "to name a member by email, write `- {{email: {}}}` (orgsync looks the user up); a user_id looks like `provider|id`, e.g. `auth0|64b0c0ffee00000000000002`",
            shown(s)
        )
    } else {
        "a user_id looks like `provider|id`, e.g. `auth0|64b0c0ffee00000000000002`".to_string()
    };
    Err((problem, hint))
}

/// An email as `users-by-email` takes it: one `@`, something on both sides, no whitespace.
pub(super) fn check_email(e: &str) -> Result<(), String> {
    if e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "malformed email `{}`: whitespace is not allowed",
            shown(e)
        ));
    }
    match e.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
        {
            Ok(())
        }
        _ => Err(format!(
            "malformed email `{}`: expected `name@domain`",
            shown(e)
        )),
    }
}

/// An organization name ([`ids::is_org_name`]); a name that is only wrong by its case gets the
/// lowercase one as its hint.
pub(super) fn check_org_name(
    n: &Spanned<String>,
    file: &File,
    d: &mut Vec<Diagnostic>,
) -> Option<()> {
    let s = &n.value;
    if ids::is_org_name(s) {
        return Some(());
    }
    let lower = s.to_lowercase();
    // Every character of the lowercase form is one a name may have (its length aside).
    let allowed = |c: char| ids::is_org_name(c.encode_utf8(&mut [0; 4]));
    let hint = if lower != *s && lower.chars().all(allowed) {
        format!("Auth0 organization names are lowercase: `{lower}`")
    } else {
        "use 1 to 50 lowercase letters, digits, `_` or `-`".to_string()
    };
    d.push(Diagnostic::at(
        loc(file, &n.referenced),
        format!("malformed organization name `{}`", shown(s)),
        hint,
    ));
    None
}

/// An organization id ([`ids::is_org_id`]).
pub(super) fn check_org_id(
    i: &Spanned<String>,
    file: &File,
    d: &mut Vec<Diagnostic>,
) -> Option<()> {
    let s = &i.value;
    if ids::is_org_id(s) {
        return Some(());
    }
    d.push(Diagnostic::at(
        loc(file, &i.referenced),
        format!("malformed organization id `{}`", shown(s)),
        "an organization id is `org_` followed by letters and digits, e.g. `org_3hbVAMF8F3wVIcEJ`; use `name:` for names",
    ));
    None
}

/// `max_removals`: a whole number, or a share from `0%` to `100%`.
pub(super) fn max_removals(
    v: &Spanned<serde_json::Value>,
    file: &File,
    d: &mut Vec<Diagnostic>,
) -> Option<MaxRemovals> {
    let at = loc(file, &v.referenced);
    let mut bad = |message: String| {
        d.push(Diagnostic::at(
            at.clone(),
            message,
            "a count like `5` or a share like `25%`",
        ));
        None
    };
    match &v.value {
        serde_json::Value::Number(n) => match n.as_u64() {
            Some(c) => Some(MaxRemovals::Count(c)),
            None if n.as_i64().is_some_and(|x| x < 0) || n.as_f64().is_some_and(|x| x < 0.0) => {
                bad(format!("`max_removals: {n}` is negative"))
            }
            None => bad(format!("`max_removals: {n}` is not a whole number")),
        },
        serde_json::Value::String(s) => {
            let Some(num) = s.trim().strip_suffix('%') else {
                return bad(format!("`max_removals: {s}` is not a number"));
            };
            match num.trim().parse::<f64>() {
                Ok(p) if p.is_finite() && (0.0..=100.0).contains(&p) => {
                    Some(MaxRemovals::Percent(p))
                }
                Ok(p) if p < 0.0 => bad(format!("`max_removals: {s}` is negative")),
                Ok(_) => bad(format!("`max_removals: {s}` is over 100%")),
                Err(_) => bad(format!("`max_removals: {s}` is not a number")),
            }
        }
        other => bad(format!("`max_removals: {}` is not a number", scalar(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::first;
    use super::super::{MaxRemovals, from_str};
    use super::*;

    #[test]
    fn user_ids_are_checked_the_same_with_or_without_a_message() {
        let long = format!("auth0|{}", "x".repeat(506));
        let longer = format!("auth0|{}", "x".repeat(507));
        let cases = [
            ("auth0|64b0c0ffee00000000000002", true),
            ("google-oauth2|1", true),
            ("a|b|c", true),
            (long.as_str(), true),
            (longer.as_str(), false),
            ("auth0|", false),
            ("|123", false),
            ("auth0123", false),
            ("auth0| 1", false),
            ("auth0|1\u{7}", false),
            ("auth0|1\u{a0}", false),
            ("", false),
        ];
        for (id, ok) in cases {
            match check_user_id(id) {
                Ok(()) => assert!(ok, "{id:?} accepted"),
                Err((message, hint)) => {
                    assert!(!ok, "{id:?} refused: {message}");
                    assert!(message.starts_with("malformed user_id"), "{message}");
                    assert!(hint.contains("provider|id"));
                }
            }
        }
    }

    #[test]
    fn malformed_names_and_ids() {
        let e = from_str(
            "version: 1\norganizations:\n  - name: Acme\n    members: []\n",
            "f.yaml",
        )
        .unwrap_err();
        assert_eq!(
            e.diagnostics[0].to_string(),
            "f.yaml:3:11: malformed organization name `Acme`"
        );
        assert_eq!(
            e.diagnostics[0].hint.as_deref(),
            Some("Auth0 organization names are lowercase: `acme`")
        );
        assert_eq!(
            first("version: 1\norganizations:\n  - id: acme\n    members: []\n"),
            "orgsync.yaml:3:9: malformed organization id `acme`"
        );
        assert!(
            first("version: 1\norganizations:\n  - name: a b\n    members: []\n")
                .contains("malformed organization name")
        );
    }

    #[test]
    fn malformed_user_ids() {
        let text = "version: 1\norganizations:\n  - name: acme\n    members:\n      - \"auth0 |abc\"\n      - nopipe\n      - \"|x\"\n";
        let e = from_str(text, "orgsync.yaml").unwrap_err();
        let lines: Vec<String> = e.diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "orgsync.yaml:5:9: malformed user_id `auth0 |abc`: whitespace is not allowed",
                "orgsync.yaml:6:9: malformed user_id `nopipe`: expected `provider|id`",
                "orgsync.yaml:7:9: malformed user_id `|x`: expected `provider|id`",
            ]
        );
        assert!(
            e.diagnostics[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("`auth0|64b0c0ffee00000000000002`")
        );
        assert_eq!(
            first("version: 1\ndefaults:\n  protect: [\"a b|c\"]\norganizations: []\n"),
            "orgsync.yaml:3:13: defaults.protect: malformed user_id `a b|c`: whitespace is not allowed"
        );
        assert!(
            first("version: 1\norganizations:\n  - name: acme\n    members: [\"a|\\u0007\"]\n")
                .contains("control characters")
        );
    }

    #[test]
    fn max_removals_values() {
        let ok = |v: &str| {
            from_str(&format!("version: 1\ndefaults:\n  max_removals: {v}\norganizations:\n  - name: a\n    members: []\n"), "f")
                .map(|s| s.organizations[0].max_removals)
        };
        assert_eq!(ok("5"), Ok(Some(MaxRemovals::Count(5))));
        assert_eq!(ok("0"), Ok(Some(MaxRemovals::Count(0))));
        assert_eq!(ok("25%"), Ok(Some(MaxRemovals::Percent(25.0))));
        assert_eq!(ok("\"12.5%\""), Ok(Some(MaxRemovals::Percent(12.5))));
        assert_eq!(ok("100%"), Ok(Some(MaxRemovals::Percent(100.0))));
        for (bad, msg) in [
            ("-1", "f:3:17: `max_removals: -1` is negative"),
            ("101%", "f:3:17: `max_removals: 101%` is over 100%"),
            ("abc", "f:3:17: `max_removals: abc` is not a number"),
            ("abc%", "f:3:17: `max_removals: abc%` is not a number"),
            ("1.5", "f:3:17: `max_removals: 1.5` is not a whole number"),
            ("-5%", "f:3:17: `max_removals: -5%` is negative"),
        ] {
            let e = ok(bad).unwrap_err();
            assert_eq!(e.diagnostics[0].to_string(), msg, "{bad}");
            assert_eq!(
                e.diagnostics[0].hint.as_deref(),
                Some("a count like `5` or a share like `25%`")
            );
        }
    }
}
