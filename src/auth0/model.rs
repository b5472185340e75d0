//! What the API's answers decode into ([`Organization`], [`User`]) and the id checks: an
//! organization id from an answer, or one about to go into a path, must be an Auth0
//! organization id ([`crate::ids::is_org_id`]), a name one of [`crate::ids::is_org_name`].

use serde::Deserialize;

use super::error::{CallSite, Error};

/// An organization as the API describes it. An `id` that is not an Auth0 organization id
/// ([`crate::ids::is_org_id`]) does not decode: it would go into request paths.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Organization {
    #[serde(deserialize_with = "org_id")]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

fn org_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let id = String::deserialize(d)?;
    if crate::ids::is_org_id(&id) {
        Ok(id)
    } else {
        Err(serde::de::Error::custom(not_an_org_id(&id)))
    }
}

/// Why `id` is refused, with the id escaped and cut.
fn not_an_org_id(id: &str) -> String {
    format!(
        "organization id {} is not an Auth0 organization id (`org_` and 1 to 46 letters or digits)",
        escaped(id)
    )
}

/// A value from outside for a message: escaped (quotes, control characters) and cut to 60
/// characters.
fn escaped(s: &str) -> String {
    // Scrubbed before it is cut: a secret across the cut would leave its start behind.
    let s = crate::secrets::scrub(s);
    let cut: String = s.chars().take(60).collect();
    let mut e = format!("{cut:?}");
    if cut.len() < s.len() {
        e.push('…');
    }
    e
}

/// A user as `users-by-email` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    pub user_id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// Fails unless `id` is an Auth0 organization id, before it goes into a path.
pub(super) fn check_org_id(id: &str, site: &CallSite) -> Result<(), Error> {
    if crate::ids::is_org_id(id) {
        Ok(())
    } else {
        Err(Error::InvalidId {
            site: site.clone(),
            detail: not_an_org_id(id),
        })
    }
}

/// Fails unless `name` is an Auth0 organization name, before it goes into a path.
pub(super) fn check_org_name(name: &str, site: &CallSite) -> Result<(), Error> {
    if crate::ids::is_org_name(name) {
        Ok(())
    } else {
        Err(Error::InvalidId {
            site: site.clone(),
            detail: format!(
                "organization name {} is not an Auth0 organization name (1 to 50 lowercase letters, digits, `_` or `-`)",
                escaped(name)
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organizations_with_a_malformed_id_do_not_decode() {
        let e = serde_json::from_str::<Organization>(r#"{"id":"..","name":"acme"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains(r#"organization id "..""#), "{e}");
        let e = serde_json::from_str::<Organization>("{\"id\":\"org_\\u001b[31m\",\"name\":\"a\"}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("\\u{1b}"), "escaped: {e}");
        assert!(
            serde_json::from_str::<Organization>(r#"{"id":"org_abc123","name":"acme"}"#).is_ok()
        );
    }

    #[test]
    fn a_secret_across_the_cut_is_scrubbed_before_it_is_cut() {
        let secret = "cut-across-secret-4f9a";
        crate::secrets::register("a test secret", secret);
        // The cut at 60 characters falls inside the secret.
        let id = format!("{}{secret}", "z".repeat(52));
        let shown = escaped(&id);
        assert!(!shown.contains("cut-a"), "{shown}");
        assert!(shown.contains("zzz[redact"), "{shown}");
    }
}
