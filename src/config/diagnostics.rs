//! Config diagnostics: where a problem is ([`Location`], `FILE:LINE:COLUMN`), what it is
//! ([`Diagnostic`], with a hint where one helps), and every problem of a config together
//! ([`ConfigError`]). Also turns serde-saphyr's errors into orgsync's words ([`yaml_error`]), and
//! shows the values a message quotes ([`clip`], [`shown`], [`scalar`]) so a huge or hostile one
//! cannot flood the terminal.

use std::fmt;

/// A position in a config file, 1-based. Displays as `file:line:column`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Shared by every position in one file.
    pub file: std::sync::Arc<str>,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A file's name, shared by all its positions.
pub(super) type File = std::sync::Arc<str>;

/// The position serde-saphyr gives, in `file`.
pub(super) fn loc(file: &File, l: &serde_saphyr::Location) -> Location {
    Location {
        file: file.clone(),
        line: l.line() as usize,
        column: l.column() as usize,
    }
}

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub location: Option<Location>,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(l) => write!(f, "{l}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl Diagnostic {
    /// A problem at a place in a file, with a hint: what every check of a value reports.
    pub(super) fn at(
        location: Location,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            location: Some(location),
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

/// Every problem found in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.diagnostics.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    pub(super) fn one(
        location: Option<Location>,
        message: impl Into<String>,
        hint: Option<&str>,
    ) -> ConfigError {
        ConfigError {
            diagnostics: vec![Diagnostic {
                location,
                message: message.into(),
                hint: hint.map(str::to_string),
            }],
        }
    }
}

/// Turns a serde-saphyr error into a diagnostic with the file's name and a hint. A syntax error
/// that comes of a misindented line names that line and the indentation expected
/// ([`super::indent`]), with the parser's own words in the hint.
pub(super) fn yaml_error(e: &serde_saphyr::Error, file: &File, text: &str) -> ConfigError {
    let location = e
        .location()
        .filter(|l| *l != serde_saphyr::Location::UNKNOWN)
        .map(|l| loc(file, &l));
    let plain = e.without_snippet().render_with_options(
        serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off },
    );
    // The plain rendering ends with " at line L, column C": the location goes in front instead.
    let suffix = location
        .as_ref()
        .map(|l| format!(" at line {}, column {}", l.line, l.column));
    let message = match suffix.as_deref().and_then(|sfx| plain.strip_suffix(sfx)) {
        Some(m) => m.to_string(),
        None => plain.clone(),
    };
    let (message, hint) = explain(&message);
    if let Some(d) = indentation(&message, hint.as_deref(), location.as_ref(), file, text) {
        return ConfigError {
            diagnostics: vec![d],
        };
    }
    ConfigError {
        diagnostics: vec![Diagnostic {
            location,
            message: sanitize(&message),
            hint,
        }],
    }
}

/// For a YAML syntax error at line L, the misindented line L or L+1 (the parser can stop on
/// the line above it, at a comment it read as part of a value) with the indentation expected.
fn indentation(
    message: &str,
    hint: Option<&str>,
    at: Option<&Location>,
    file: &File,
    text: &str,
) -> Option<Diagnostic> {
    // Only a syntax error (those are the ones given the syntax hint, or that the parser words
    // as a comment or mapping it could not place), never a type or unknown-key error.
    let lower = message.to_lowercase();
    let syntax = hint.is_some_and(|h| h.starts_with("this is a YAML syntax error"))
        || lower.contains("comment intercepting")
        || lower.contains("mapping values are not allowed");
    let at = at?;
    if !syntax {
        return None;
    }
    let m = super::indent::misindented(text.strip_prefix('\u{feff}').unwrap_or(text))?;
    if m.line < at.line || m.line > at.line + 1 {
        return None;
    }
    Some(Diagnostic {
        location: Some(Location {
            file: file.clone(),
            line: m.line,
            column: m.found + 1,
        }),
        message: m.message(),
        hint: Some(format!(
            "YAML nests by indentation: the keys of one mapping start in the same column, and so do the `-` of one list's items; indent with spaces (the YAML parser said: {} at line {}, column {})",
            sanitize(message),
            at.line,
            at.column
        )),
    })
}

/// Rewrites the parser's words into orgsync's, with a hint where one helps.
fn explain(message: &str) -> (String, Option<String>) {
    let lower = message.to_lowercase();
    let schema_hint = || {
        Some("`orgsync schema` prints the config's format (a JSON Schema, also at schemas/orgsync.schema.json in orgsync's repository)".to_string())
    };
    if let Some(key) = message.strip_prefix("duplicate mapping key: ") {
        let key = key.split(',').next().unwrap_or(key).trim();
        return (
            format!("duplicate key `{key}`"),
            Some("each key may appear once per mapping".into()),
        );
    }
    if lower.starts_with("multiple yaml documents") {
        return (
            "only one YAML document is allowed in a file (this `---` starts a second one)".into(),
            Some("put more organizations in the same document, or in another file of a config directory".into()),
        );
    }
    if lower.contains("unknown field") {
        return (message.to_string(), schema_hint());
    }
    if lower.starts_with("invalid boolean") {
        return ("expected `true` or `false`".into(), schema_hint());
    }
    if lower.starts_with("expected sequence start") {
        return (
            "expected a list (`[…]` or `- item` lines)".into(),
            schema_hint(),
        );
    }
    if lower.starts_with("expected string scalar") {
        return ("expected a string".into(), schema_hint());
    }
    if lower.starts_with("expected mapping start") {
        return (
            "expected a mapping (`key: value` lines)".into(),
            schema_hint(),
        );
    }
    let limits_hint = || {
        Some("orgsync refuses YAML that expands aliases or nests beyond reasonable limits; write the members out".to_string())
    };
    if let Some(rest) = message.strip_prefix("budget breached: ") {
        let what = if rest.starts_with("Aliases") {
            "too many YAML aliases (`*name`): more than 1,000".to_string()
        } else if rest.starts_with("Depth") {
            "the YAML nests too deeply".to_string()
        } else {
            format!("the YAML is too large for orgsync's parser limits ({rest})")
        };
        return (what, limits_hint());
    }
    if lower.contains("budget") || lower.contains("alias") || lower.contains("limit") {
        return (message.to_string(), limits_hint());
    }
    if lower.contains("invalid type") {
        return (message.to_string(), schema_hint());
    }
    if lower.starts_with("while ")
        || lower.starts_with("unclosed")
        || lower.contains("did not find")
        || lower.contains("found a tab")
    {
        return (
            message.to_string(),
            Some("this is a YAML syntax error: indent with spaces (not tabs), close every bracket and quote".into()),
        );
    }
    (message.to_string(), None)
}

/// A value shown in a message, cut to 80 characters so a huge one cannot flood the terminal.
pub(super) fn clip(s: &str) -> String {
    // Scrubbed before it is cut: a secret across the cut would leave its start behind.
    let s = &*crate::secrets::scrub(s);
    if s.chars().count() <= 80 {
        return s.to_string();
    }
    let head: String = s.chars().take(60).collect();
    format!("{head}… ({} characters)", s.chars().count())
}

/// A string the user wrote, as a message quotes it: escaped (no control characters reach the
/// terminal) and [`clip`]ped.
pub(super) fn shown(s: &str) -> String {
    clip(&s.escape_debug().to_string())
}

/// A scalar as it was written: a string without its quotes, anything else as JSON.
pub(super) fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// First letter lower-case, as every orgsync message.
fn sanitize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::from_str;
    use super::super::tests::first;

    #[test]
    fn yaml_syntax_error() {
        assert_eq!(
            first("version: 1\norganizations: [\n"),
            first("version: 1\norganizations: [\n")
        );
        let e = first("version: 1\norganizations:\n  - name: acme\n    members: [\"a|1\"\n");
        assert!(e.starts_with("orgsync.yaml:"), "{e}");
    }

    #[test]
    fn unknown_key() {
        let e = first("version: 1\norganizations:\n  - name: acme\n    member: []\n");
        assert!(e.starts_with("orgsync.yaml:4:5: "), "{e}");
        assert!(e.contains("member"), "{e}");
    }

    #[test]
    fn duplicate_key() {
        let e = first("version: 1\nversion: 1\norganizations: []\n");
        assert!(e.starts_with("orgsync.yaml:2:1: "), "{e}");
        assert!(e.to_lowercase().contains("duplicate"), "{e}");
    }

    #[test]
    fn wrong_types() {
        let e = first("version: 1\norganizations:\n  - name: acme\n    members: \"a|1\"\n");
        assert!(e.starts_with("orgsync.yaml:4:"), "{e}");
        let e = first(
            "version: 1\norganizations:\n  - name: acme\n    members: []\n    allow_empty: maybe\n",
        );
        assert!(e.starts_with("orgsync.yaml:5:"), "{e}");
    }

    /// "Billion laughs": 10 strings, each level ten aliases of the one before.
    fn bomb(levels: usize, prefix: &str, indent: &str) -> String {
        let mut y = format!("{indent}l0: &l0 [{}]\n", ["\"a|1\""; 10].join(", "));
        for i in 1..levels {
            y.push_str(&format!(
                "{indent}l{i}: &l{i} [{}]\n",
                vec![format!("*l{}", i - 1); 10].join(", ")
            ));
        }
        format!("{prefix}{y}")
    }

    #[test]
    fn an_alias_bomb_is_refused() {
        // At the top level: refused at its first unknown key, before anything expands.
        let e = from_str(&bomb(12, "", ""), "bomb.yaml").unwrap_err();
        assert!(
            e.diagnostics[0]
                .to_string()
                .starts_with("bomb.yaml:1:1: unknown field `l0`"),
            "{e}"
        );
        // Inside a member list, where it is parsed: the alias budget stops it.
        let mut inside = String::from(
            "version: 1\norganizations:\n  - name: x\n    members: [&m \"a|1\"]\n  - name: y\n    members: [",
        );
        inside.push_str(&vec!["*m"; 5_000].join(", "));
        inside.push_str("]\n");
        let e = from_str(&inside, "bomb.yaml").unwrap_err();
        assert_eq!(e.diagnostics.len(), 1);
        assert!(
            e.diagnostics[0]
                .hint
                .as_deref()
                .unwrap_or_default()
                .contains("aliases"),
            "{e:?}"
        );
        // Nested aliases under a known key are refused too (by type or by budget), quickly.
        let nested = bomb(
            12,
            "version: 1\norganizations:\n  - name: x\n    members:\n",
            "      ",
        );
        assert!(from_str(&nested, "bomb.yaml").is_err());
    }
}
