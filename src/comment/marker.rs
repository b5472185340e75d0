//! The hidden marker each of orgsync's comments starts with,
//! `<!-- orgsync:plan config=… domain=… part=i/n -->`, and the plan cut into marked parts.

use std::path::{Component, Path};

use super::error::Error;
use super::split;
use crate::error::Failure;

/// What a comment's marker says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Marker {
    /// `plan` or `apply`.
    pub kind: String,
    pub config: String,
    pub domain: String,
    /// `part=i/n`.
    pub part: Option<(usize, usize)>,
}

impl Marker {
    /// The marker of a `kind` comment (`plan`, `apply`) for the config at `config` and the
    /// tenant `domain`, before it is cut into parts.
    pub(super) fn new(kind: &str, config: &Path, domain: &str) -> Marker {
        Marker {
            kind: kind.into(),
            config: config_name(config),
            domain: domain.to_string(),
            part: None,
        }
    }

    /// The marker line, names escaped so none can end the HTML comment early.
    pub(super) fn line(&self) -> String {
        let mut s = format!(
            "<!-- orgsync:{} config={} domain={}",
            self.kind,
            escape(&self.config),
            escape(&self.domain)
        );
        if let Some((i, n)) = self.part {
            s.push_str(&format!(" part={i}/{n}"));
        }
        s.push_str(" -->");
        s
    }

    /// The marker on the first line of `body`, if it has one.
    pub(super) fn parse(body: &str) -> Option<Marker> {
        let first = body.lines().next()?.trim();
        let inner = first.strip_prefix("<!-- orgsync:")?.strip_suffix("-->")?;
        let mut words = inner.split_whitespace();
        let kind = words.next()?.to_string();
        let mut m = Marker {
            kind,
            config: String::new(),
            domain: String::new(),
            part: None,
        };
        for w in words {
            match w.split_once('=')? {
                ("config", v) => m.config = v.to_string(),
                ("domain", v) => m.domain = v.to_string(),
                ("part", v) => {
                    let (i, n) = v.split_once('/')?;
                    m.part = Some((i.parse().ok()?, n.parse().ok()?));
                }
                _ => {}
            }
        }
        Some(m)
    }

    /// Whether `other` (parsed from a comment) marks the same kind, config and domain.
    pub(super) fn same_place(&self, other: &Marker) -> bool {
        self.kind == other.kind
            && escape(&self.config) == other.config
            && escape(&self.domain) == other.domain
    }
}

/// `s` percent-encoded outside letters, digits and `._~/:@+,-`: no space, `=`, `>` or `%` is
/// left, so a name can neither end the comment (`-->`) nor be read as another field.
fn escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"._~/:@+,-".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The config path as the marker names it: as given, with `.` components dropped and `/`
/// between components, so `./orgsync.yaml` and `orgsync.yaml` are the same config.
fn config_name(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| match c {
            Component::RootDir => String::new(),
            other => other.as_os_str().to_string_lossy().replace('\\', "/"),
        })
        .collect();
    let name = parts.join("/");
    if name.is_empty() { ".".into() } else { name }
}

/// What the marker and the part heading may take of a part.
fn overhead(marker: &Marker) -> usize {
    let widest = Marker {
        part: Some((99_999, 99_999)),
        ..marker.clone()
    };
    widest.line().len() + 1 + part_heading(99_999, 99_999).len()
}

fn part_heading(i: usize, n: usize) -> String {
    format!("**orgsync plan, part {i} of {n}**\n\n")
}

/// The plan as the bodies of its comments: one, or a numbered series.
pub(super) fn plan_bodies(marker: &Marker, md: &str, limit: usize) -> Result<Vec<String>, Failure> {
    let budget = limit.saturating_sub(overhead(marker));
    if budget < 400 {
        return Err(Failure::hinted(Error::NoRoom {
            limit,
            config_bytes: marker.config.len(),
        }));
    }
    // Scrubbed before it is cut into parts: a secret across a cut would be in neither whole.
    let parts = split::split(&crate::secrets::scrub(md), budget);
    let n = parts.len();
    Ok(parts
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let line = Marker {
                part: Some((i + 1, n)),
                ..marker.clone()
            }
            .line();
            if n == 1 {
                format!("{line}\n{text}")
            } else {
                format!("{line}\n{}{text}", part_heading(i + 1, n))
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(config: &str, domain: &str) -> Marker {
        Marker {
            kind: "plan".into(),
            config: config.into(),
            domain: domain.into(),
            part: None,
        }
    }

    #[test]
    fn markers_round_trip_and_cannot_end_the_comment_early() {
        let m = Marker {
            part: Some((2, 3)),
            ..marker("configs/a b-->c.yaml", "t.eu.auth0.com")
        };
        let line = m.line();
        assert_eq!(
            line,
            "<!-- orgsync:plan config=configs/a%20b--%3Ec.yaml domain=t.eu.auth0.com part=2/3 -->"
        );
        assert_eq!(line.matches("-->").count(), 1);
        let parsed = Marker::parse(&format!("{line}\nbody")).unwrap();
        assert_eq!(parsed.part, Some((2, 3)));
        assert!(m.same_place(&parsed));
        assert!(!marker("other.yaml", "t.eu.auth0.com").same_place(&parsed));
        assert!(!marker("configs/a b-->c.yaml", "u.eu.auth0.com").same_place(&parsed));
        assert_eq!(Marker::parse("<!-- orgsync-plan -->\n"), None);
        assert_eq!(Marker::parse("hello <!-- orgsync:plan -->"), None);
    }

    #[test]
    fn config_paths_are_named_the_same_however_written() {
        assert_eq!(config_name(Path::new("./orgsync.yaml")), "orgsync.yaml");
        assert_eq!(config_name(Path::new("orgsync.d/")), "orgsync.d");
        assert_eq!(config_name(Path::new("a/./b.yaml")), "a/b.yaml");
        assert_eq!(config_name(Path::new("/etc/o.yaml")), "/etc/o.yaml");
    }

    #[test]
    fn a_long_plan_becomes_a_numbered_series_within_the_limit() {
        let m = marker("orgsync.yaml", "t.auth0.com");
        let mut md = String::from("<!-- orgsync-plan -->\n### orgsync plan\n");
        md.push_str("\n<details><summary>acme</summary>\n\n```diff\n");
        for i in 0..500 {
            md.push_str(&format!("- auth0|{i:010} someone{i}@acme.example\n"));
        }
        md.push_str("```\n\n</details>\n");
        let bodies = plan_bodies(&m, &md, 2_000).unwrap();
        let n = bodies.len();
        assert!(n > 5, "{n}");
        for (i, b) in bodies.iter().enumerate() {
            assert!(b.len() <= 2_000, "{}", b.len());
            let parsed = Marker::parse(b).unwrap();
            assert_eq!(parsed.part, Some((i + 1, n)));
            assert!(b.contains(&format!("part {} of {n}", i + 1)), "{b}");
        }
        assert_eq!(plan_bodies(&m, "short\n", 65_536).unwrap().len(), 1);
        assert!(!plan_bodies(&m, "short\n", 65_536).unwrap()[0].contains("part 1 of"));
        assert!(plan_bodies(&marker(&"x".repeat(900), "t"), "x\n", 1_000).is_err());
    }
}
