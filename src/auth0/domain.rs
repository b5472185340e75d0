//! Where the tenant is: [`Domain`] parses `--domain` / `AUTH0_DOMAIN` (a bare host for HTTPS, or
//! a loopback `http://` URL for the emulator), refuses what does not belong (a path, a query,
//! credentials, plain HTTP to a remote host) without echoing credentials, and knows whether
//! the host is loopback (no proxy for it).

use std::net::IpAddr;

/// Where the tenant is: `https://{host}` for a bare host, or a loopback `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    base: reqwest::Url,
}

/// A `--domain` / `AUTH0_DOMAIN` value orgsync refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Auth0 domain `{value}`: {reason}")]
pub struct DomainError {
    pub value: String,
    pub reason: String,
}

/// The domain as given, with any `user:password@` replaced by `[redacted]@`, for messages.
fn without_userinfo(value: &str) -> (String, bool) {
    let (scheme, rest) = match value.find("://") {
        Some(i) => value.split_at(i + 3),
        None => ("", value),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rfind('@') {
        Some(at) => (
            format!("{scheme}[redacted]@{}{tail}", &authority[at + 1..]),
            true,
        ),
        None => (value.to_string(), false),
    }
}

const CREDENTIALS_IN_DOMAIN: &str = "credentials (`user:password@`) do not belong in the domain; use AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET";

impl Domain {
    /// Parses a bare host (`travel0.us.auth0.com`, HTTPS) or a URL. Plain `http://` is accepted
    /// only for loopback hosts (the emulator); a path, query or credentials in the URL are refused.
    /// The error never repeats credentials given in the URL.
    pub fn parse(value: &str) -> Result<Domain, DomainError> {
        let (shown, has_userinfo) = without_userinfo(value.trim());
        let err = |reason: &str| DomainError {
            value: shown.clone(),
            reason: reason.to_string(),
        };
        let v = value.trim();
        if v.is_empty() {
            return Err(err("it is empty"));
        }
        if has_userinfo {
            return Err(err(CREDENTIALS_IN_DOMAIN));
        }
        let with_scheme = if v.contains("://") {
            v.to_string()
        } else {
            format!("https://{v}")
        };
        let url = reqwest::Url::parse(&with_scheme).map_err(|e| err(&e.to_string()))?;
        let host = url.host_str().ok_or_else(|| err("it has no host"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(err(CREDENTIALS_IN_DOMAIN));
        }
        if url.path() != "/" && !url.path().is_empty()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(err(
                "give the host only, without a path (orgsync adds /api/v2/)",
            ));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(host) => {}
            "http" => {
                return Err(err(
                    "plain http is only accepted for loopback addresses (the emulator); use https or a bare host",
                ));
            }
            other => return Err(err(&format!("unsupported scheme `{other}`"))),
        }
        Ok(Domain { base: url })
    }

    /// How plans name the tenant: the host (with a port if not the default) for HTTPS, the
    /// whole URL for a loopback emulator.
    pub fn name(&self) -> String {
        let host = self.base.host_str().unwrap_or_default();
        match (self.base.scheme(), self.base.port()) {
            ("https", None) => host.to_string(),
            ("https", Some(p)) => format!("{host}:{p}"),
            _ => self.base.as_str().trim_end_matches('/').to_string(),
        }
    }

    /// `https://host` (no trailing slash).
    pub fn origin(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_string()
    }

    /// The Management API audience: `https://host/api/v2/`.
    pub fn audience(&self) -> String {
        format!("{}/api/v2/", self.origin())
    }

    pub(super) fn is_https(&self) -> bool {
        self.base.scheme() == "https"
    }

    pub(super) fn is_loopback(&self) -> bool {
        self.base.host_str().is_some_and(is_loopback)
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        let d = Domain::parse("travel0.us.auth0.com").unwrap();
        assert_eq!(d.origin(), "https://travel0.us.auth0.com");
        assert_eq!(d.audience(), "https://travel0.us.auth0.com/api/v2/");
        assert_eq!(d.name(), "travel0.us.auth0.com");
        assert_eq!(
            Domain::parse("https://travel0.us.auth0.com/")
                .unwrap()
                .name(),
            "travel0.us.auth0.com"
        );
        let local = Domain::parse("http://127.0.0.1:4000").unwrap();
        assert_eq!(local.origin(), "http://127.0.0.1:4000");
        assert_eq!(local.name(), "http://127.0.0.1:4000");
        assert!(Domain::parse("http://localhost:4000").is_ok());
        assert!(Domain::parse("http://[::1]:4000").is_ok());
        for bad in [
            "",
            "http://travel0.us.auth0.com",
            "http://10.0.0.1",
            "ftp://x",
            "https://x/api/v2",
            "https://u:p@x",
            "https://x?y=1",
        ] {
            assert!(Domain::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_domain_with_credentials_is_refused_without_echoing_them() {
        for bad in [
            "https://user:hunter2@travel0.us.auth0.com",
            "user:hunter2@travel0.us.auth0.com",
            "https://user:hunter2@travel0.us.auth0.com:99999999",
            "http://user:hunter2@127.0.0.1:4000",
            "https://hunter2@host/path",
        ] {
            let e = Domain::parse(bad).unwrap_err();
            let text = format!("{e} {e:?}");
            assert!(!text.contains("hunter2"), "{text}");
            assert!(text.contains("[redacted]@"), "{text}");
            assert!(text.contains("credentials"), "{text}");
        }
    }

    #[test]
    fn loopback_domains_are_known() {
        assert!(
            Domain::parse("http://127.0.0.1:4000")
                .unwrap()
                .is_loopback()
        );
        assert!(
            Domain::parse("http://localhost:4000")
                .unwrap()
                .is_loopback()
        );
        assert!(!Domain::parse("travel0.us.auth0.com").unwrap().is_loopback());
    }
}
