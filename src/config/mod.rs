//! Config: the desired-state file `orgsync.yaml`: loading, validation and its JSON Schema.
//!
//! Every mistake a user can make is reported as `FILE:LINE:COLUMN: message`, with a hint where
//! one helps, before any network call: a removal tool must not start from a misread intent.
//! The YAML is read with serde-saphyr into "raw" types that keep the position of every value
//! ([`serde_saphyr::Spanned`]); the same types generate the JSON Schema with schemars, so the
//! schema and the parser cannot drift apart. Reading a file ([`load`]) is kept apart from parsing
//! text ([`from_str`]), so tests need no files.
//!
//! A directory is read as every `*.yaml`/`*.yml` directly inside it, in sorted order; each file
//! starts with `version: 1`. Defaults of a directory live in its `_defaults.yaml` alone and apply
//! to every file, so what `defaults.protect` protects is protected everywhere. An entry named
//! like a config file that cannot be read as one fails the load: a config is never read in part.
//!
//! The file as written (serde types, the JSON Schema) is read apart from the model below,
//! single values are judged apart from whole files, and every problem is worded in one place;
//! this file holds the model and the loading of files and directories.

mod checks;
mod diagnostics;
mod indent;
mod parse;
mod quote;
mod raw;

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use checks::check_user_id;
pub use diagnostics::{ConfigError, Diagnostic, Location};
pub use raw::{schema, schema_json};

use parse::{Defaults, Scope, Seen, parse};

/// Largest config file orgsync reads.
pub const MAX_FILE_BYTES: u64 = crate::bounded::FILE_BYTES;

/// How the config names an organization; unique within a config, so it keys observations.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrgRef {
    Name(String),
    Id(String),
}

impl fmt::Display for OrgRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrgRef::Name(s) | OrgRef::Id(s) => f.write_str(s),
        }
    }
}

/// The removal guard when neither the organization nor `defaults` sets one: at most a quarter
/// of an organization's current members (peribolos's default). `max_removals: 100%` opts out.
pub const DEFAULT_MAX_REMOVALS: MaxRemovals = MaxRemovals::Percent(25.0);

/// Per organization: a count (`5`) or a share of current members (`25%`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxRemovals {
    Count(u64),
    /// 0.0 to 100.0.
    Percent(f64),
}

impl fmt::Display for MaxRemovals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxRemovals::Count(n) => write!(f, "{n}"),
            MaxRemovals::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// `rejoin`: what a removal that the member could undo on their own means for the organization.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Rejoin {
    /// Say so in the plan (a marked line under the member); remove anyway.
    #[default]
    Warn,
    /// Block the organization's removals, like a guard, with the reason.
    Block,
}

/// `invitations`: what to do with pending invitations for anyone not declared.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Invitations {
    /// Report them as drift; never touch them.
    #[default]
    Keep,
    /// `apply` revokes them (audited like removals).
    Revoke,
}

/// What counts as drift: what `plan --detailed-exitcode` exits 2 for, `summary.drift` and each
/// organization's `drift` say, and the action's `drift` output reports. Each level counts what
/// the one before it counts, and more.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Drift {
    /// What apply would change: removals (blocked ones included, as a guard holds them only
    /// until someone looks) and invitations it would revoke.
    Apply,
    /// Also declared members who are not members (and not invited): someone must add them.
    Members,
    /// Also undeclared invitations that are kept (`invitations: keep`): a way in nobody
    /// declared. The default: with invited members and declared invitations not counted, a
    /// correct file is quiet, so every alert is something to act on.
    #[default]
    All,
}

/// How the config names a member.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MemberRef {
    /// `"auth0|64b0c0ffee00000000000002"`
    UserId(String),
    /// `{email: ada@acme.example}`: resolved with `GET /users-by-email` before planning.
    Email(String),
}

impl fmt::Display for MemberRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemberRef::UserId(u) => write!(f, "user `{u}`"),
            MemberRef::Email(e) => write!(f, "email `{e}`"),
        }
    }
}

/// A declared member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredMember {
    pub member: MemberRef,
    pub location: Location,
}

impl DesiredMember {
    /// The user_id, when the config gives it directly.
    pub fn user_id(&self) -> Option<&str> {
        match &self.member {
            MemberRef::UserId(u) => Some(u),
            MemberRef::Email(_) => None,
        }
    }

    /// The email, when the config names the member by email.
    pub fn email(&self) -> Option<&str> {
        match &self.member {
            MemberRef::Email(e) => Some(e),
            MemberRef::UserId(_) => None,
        }
    }
}

/// One organization's desired state.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredOrg {
    pub org: OrgRef,
    /// In file order.
    pub members: Vec<DesiredMember>,
    pub allow_empty: bool,
    /// `defaults.protect` followed by the organization's own, without repeats: user_ids or
    /// emails, each with its place.
    pub protect: Vec<DesiredMember>,
    /// The organization's own, else the defaults', else [`DEFAULT_MAX_REMOVALS`]: always set
    /// by the parser.
    pub max_removals: Option<MaxRemovals>,
    /// The organization's own, else the defaults', else `warn`.
    pub rejoin: Rejoin,
    /// The organization's own, else the defaults', else `keep`.
    pub invitations: Invitations,
    /// The organization's own, else the defaults', else `all`.
    pub drift: Drift,
    /// Where the organization's entry starts.
    pub location: Location,
}

/// The whole desired state.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredState {
    /// File order; for a directory, files in sorted order.
    pub organizations: Vec<DesiredOrg>,
    /// Lowercase hex sha256 of the config bytes (for a directory: each file's name, a NUL, its
    /// bytes and a NUL, in sorted order).
    pub sha256: String,
    pub sources: Vec<PathBuf>,
    /// For a directory: entries it holds that were not read, with why.
    pub skipped: Vec<(PathBuf, String)>,
}

impl DesiredState {
    /// The same config with only the organizations it names among `names` (an entry by name)
    /// or `ids` (an entry by id): what a saved plan or an audited run holds.
    pub fn only(
        &self,
        names: &std::collections::HashSet<&str>,
        ids: &std::collections::HashSet<&str>,
    ) -> DesiredState {
        DesiredState {
            organizations: self
                .organizations
                .iter()
                .filter(|o| match &o.org {
                    OrgRef::Name(n) => names.contains(n.as_str()),
                    OrgRef::Id(i) => ids.contains(i.as_str()),
                })
                .cloned()
                .collect(),
            sha256: self.sha256.clone(),
            sources: self.sources.clone(),
            skipped: self.skipped.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Loading

/// Reads a config file, or every `*.yaml`/`*.yml` of a directory.
pub fn load(path: &Path) -> Result<DesiredState, ConfigError> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| {
        ConfigError::one(
            None,
            cannot_read(&shown, &e),
            Some("pass the config with `-c FILE` (default `orgsync.yaml`), or a directory of YAML files"),
        )
    })?;
    if meta.is_dir() {
        load_dir(path, &shown)
    } else {
        load_file(path, &shown)
    }
}

fn load_file(path: &Path, shown: &str) -> Result<DesiredState, ConfigError> {
    let bytes = read_limited(path)?;
    let text = decode(&bytes, shown)?;
    let mut state = from_str(text, shown)?;
    state.sha256 = sha256_hex(&bytes);
    state.sources = vec![path.to_path_buf()];
    Ok(state)
}

/// Every config file of the directory, as one desired state: all files' problems are reported
/// together, and an organization may be declared in one file only. The directory-wide
/// `_defaults.yaml` (or `.yml`), if any, is read first and its defaults apply to every file;
/// `defaults` in any other file is an error.
fn load_dir(path: &Path, shown: &str) -> Result<DesiredState, ConfigError> {
    let (files, skipped) = list_directory(path, shown)?;
    let mut hasher = Sha256::new();
    let mut texts = Vec::with_capacity(files.len());
    for f in &files {
        let bytes = read_limited(f)?;
        hasher.update(file_name(f).as_bytes());
        hasher.update([0]);
        hasher.update(&bytes);
        hasher.update([0]);
        texts.push((f, f.display().to_string(), bytes));
    }
    let mut diagnostics = Vec::new();
    let is_defaults = |f: &Path| {
        f.file_stem()
            .is_some_and(|s| s.to_string_lossy() == parse::DEFAULTS_FILE_STEM)
    };
    let mut defaults = Defaults::default();
    let mut defaults_file: Option<&str> = None;
    for (f, name, bytes) in &texts {
        if !is_defaults(f) {
            continue;
        }
        if let Some(first) = defaults_file {
            diagnostics.push(Diagnostic::at(
                Location {
                    file: name.as_str().into(),
                    line: 1,
                    column: 1,
                },
                format!("a second directory-wide defaults file (the first is {first})"),
                "keep one `_defaults.yaml` in the directory",
            ));
            continue;
        }
        defaults_file = Some(name);
        match decode(bytes, name).and_then(|t| parse::parse_defaults_file(t, name)) {
            Ok(d) => defaults = d,
            Err(e) => diagnostics.extend(e.diagnostics),
        }
    }
    let mut organizations = Vec::new();
    let mut seen = Seen::default();
    for (f, name, bytes) in &texts {
        if is_defaults(f) {
            continue;
        }
        match decode(bytes, name)
            .and_then(|t| parse(t, name, &mut seen, Scope::InDirectory(&defaults)))
        {
            Ok(orgs) => organizations.extend(orgs),
            Err(e) => diagnostics.extend(e.diagnostics),
        }
    }
    if !diagnostics.is_empty() {
        return Err(ConfigError { diagnostics });
    }
    Ok(DesiredState {
        organizations,
        sha256: hex(&hasher.finalize()),
        sources: files,
        skipped,
    })
}

/// The directory's config files, and the entries it does not read with why, both sorted.
type Listing = (Vec<PathBuf>, Vec<(PathBuf, String)>);

fn list_directory(path: &Path, shown: &str) -> Result<Listing, ConfigError> {
    let cannot_list = |e: std::io::Error| {
        ConfigError::one(
            None,
            format!("{shown}: cannot list the directory: {e}"),
            None,
        )
    };
    // An entry that cannot be read fails the load: a config is never read in part.
    let entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(cannot_list)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(cannot_list)?;
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut unreadable = Vec::new();
    for p in entries {
        match directory_entry(&p) {
            Entry::Config => files.push(p),
            Entry::Skipped(why) => skipped.push((p, why)),
            Entry::Unreadable(why) => unreadable.push(format!("{}: {why}", p.display())),
        }
    }
    if !unreadable.is_empty() {
        unreadable.sort();
        return Err(ConfigError {
            diagnostics: unreadable
                .into_iter()
                .map(|message| Diagnostic {
                    location: None,
                    message,
                    hint: Some(
                        "every config file of a directory is read, or none is: fix or remove the entry, then run again".into(),
                    ),
                })
                .collect(),
        });
    }
    skipped.sort();
    files.sort();
    if files.is_empty() {
        return Err(ConfigError::one(
            None,
            format!("{shown}: the directory has no *.yaml or *.yml files"),
            None,
        ));
    }
    Ok((files, skipped))
}

/// What a directory entry is to the config.
enum Entry {
    /// One of the config's files: a visible `*.yaml`/`*.yml` regular file (or a link to one).
    Config,
    /// Not part of the config, with why (warned about, then left alone).
    Skipped(String),
    /// Named like a config file (or like the defaults file, in any case) but not readable as
    /// one: a dangling link, a directory, a device. Reading the rest would read the config in
    /// part (the defaults file's `protect` list dropped, say), so it fails the load.
    Unreadable(String),
}

/// What the directory entry at `p` is to the config.
fn directory_entry(p: &Path) -> Entry {
    let name = file_name(p);
    let ext = p.extension().map(|x| x.to_string_lossy().into_owned());
    let yaml_ext = |e: &str| e == "yaml" || e == "yml";
    if name.starts_with('.') {
        return Entry::Skipped("hidden files are not read".into());
    }
    let lower_ext = ext.as_deref().map(str::to_ascii_lowercase);
    let config_like = lower_ext.as_deref().is_some_and(yaml_ext);
    let defaults_like = p.file_stem().is_some_and(|s| {
        s.to_string_lossy()
            .eq_ignore_ascii_case(parse::DEFAULTS_FILE_STEM)
    });
    // `metadata` follows links: a dangling one is an error here, not "not a file".
    let kind = std::fs::metadata(p);
    if config_like || defaults_like {
        match &kind {
            Err(e) => {
                return Entry::Unreadable(format!(
                    "cannot read this config entry ({}): {e}",
                    if std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()) {
                        "a link whose target cannot be read"
                    } else {
                        "it cannot be inspected"
                    }
                ));
            }
            Ok(m) if !m.is_file() => {
                return Entry::Unreadable(
                    "named like a config file but not a regular file; only files directly in the directory are read".into(),
                );
            }
            Ok(_) => {}
        }
        if defaults_like && !ext.as_deref().is_some_and(yaml_ext) {
            return Entry::Unreadable(format!(
                "named like the directory-wide defaults file but not read as one; rename it to `{}.yaml`",
                parse::DEFAULTS_FILE_STEM
            ));
        }
    }
    if !kind.is_ok_and(|m| m.is_file()) {
        return Entry::Skipped("only files directly in the directory are read".into());
    }
    match ext.as_deref() {
        Some(e) if yaml_ext(e) => Entry::Config,
        Some(e) if yaml_ext(&e.to_ascii_lowercase()) => Entry::Skipped(format!(
            "only `.yaml` and `.yml` in lower case are read; rename it to end in `.{}`",
            e.to_ascii_lowercase()
        )),
        _ => Entry::Skipped("not a `.yaml` or `.yml` file".into()),
    }
}

/// The last part of a path, lossily as text; empty if it has none.
fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn cannot_read(shown: &str, e: &std::io::Error) -> String {
    format!("{shown}: cannot read the config: {e}")
}

/// Parses config text; `file` is only the name used in messages.
pub fn from_str(text: &str, file: &str) -> Result<DesiredState, ConfigError> {
    let organizations = parse(text, file, &mut Seen::default(), Scope::File)?;
    Ok(DesiredState {
        organizations,
        sha256: sha256_hex(text.as_bytes()),
        sources: Vec::new(),
        skipped: Vec::new(),
    })
}

/// The file's bytes, refused past [`MAX_FILE_BYTES`] (counted as they are read).
fn read_limited(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let shown = path.display().to_string();
    let too_big = || {
        ConfigError::one(
            None,
            format!("{shown}: the file is larger than 64 MiB"),
            Some(
                "split the config into several files in a directory and pass the directory with `-c`",
            ),
        )
    };
    crate::bounded::read_file(path, MAX_FILE_BYTES).map_err(|e| match e {
        crate::bounded::ReadError::TooLarge { .. } => too_big(),
        crate::bounded::ReadError::Io { source, .. } => {
            ConfigError::one(None, cannot_read(&shown, &source), None)
        }
    })
}

/// The bytes as text; the first invalid byte is reported at its line and column.
fn decode<'a>(bytes: &'a [u8], file: &str) -> Result<&'a str, ConfigError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        let before = &bytes[..offset];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let column = offset
            - before
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |p| p + 1)
            + 1;
        ConfigError::one(
            Some(Location {
                file: file.into(),
                line,
                column,
            }),
            "the file is not valid UTF-8",
            Some("save the file as UTF-8"),
        )
    })
}

/// Lowercase hex sha256 of `bytes`: the config's digest, and the plan's (`crate::plan`).
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every problem found in `text`, as shown to the user (none if it is accepted).
    pub(super) fn errors(text: &str) -> Vec<String> {
        match from_str(text, "orgsync.yaml") {
            Ok(_) => vec![],
            Err(e) => e.diagnostics.iter().map(ToString::to_string).collect(),
        }
    }

    /// The first problem found in `text`; panics if it is accepted.
    pub(super) fn first(text: &str) -> String {
        errors(text)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("accepted:\n{text}"))
    }

    const EXAMPLE: &str = r#"# yaml-language-server: $schema=schemas/orgsync.schema.json
version: 1
defaults:
  protect:
    - "auth0|64b0c0ffee00000000000001"
  max_removals: 25%
organizations:
  - name: acme
    members:
      - "auth0|64b0c0ffee00000000000002"
      - "google-oauth2|103547991597142817347"
  - id: org_3hbVAMF8F3wVIcEJ
    members: []
    allow_empty: true
    protect: ["samlp|corp|ops@example.com"]
    max_removals: 3
"#;

    #[test]
    fn the_product_md_example() {
        let s = from_str(EXAMPLE, "orgsync.yaml").unwrap();
        assert_eq!(s.organizations.len(), 2);
        let acme = &s.organizations[0];
        assert_eq!(acme.org, OrgRef::Name("acme".into()));
        assert_eq!(acme.location.line, 8);
        assert_eq!(
            acme.members[1].user_id().unwrap_or_default(),
            "google-oauth2|103547991597142817347"
        );
        assert_eq!(
            (
                acme.members[1].location.line,
                acme.members[1].location.column
            ),
            (11, 9)
        );
        assert_eq!(protect_ids(acme), ["auth0|64b0c0ffee00000000000001"]);
        assert_eq!(acme.max_removals, Some(MaxRemovals::Percent(25.0)));
        assert!(!acme.allow_empty);
        let by_id = &s.organizations[1];
        assert_eq!(by_id.org, OrgRef::Id("org_3hbVAMF8F3wVIcEJ".into()));
        assert!(by_id.members.is_empty());
        assert!(by_id.allow_empty);
        assert_eq!(
            protect_ids(by_id),
            [
                "auth0|64b0c0ffee00000000000001",
                "samlp|corp|ops@example.com"
            ]
        );
        assert_eq!(by_id.max_removals, Some(MaxRemovals::Count(3)));
        assert_eq!(s.sha256, sha256_hex(EXAMPLE.as_bytes()));
    }

    #[test]
    fn empty_file_bom_and_crlf() {
        assert_eq!(first(""), "orgsync.yaml:1:1: the file is empty");
        assert_eq!(first("  \n\n"), "orgsync.yaml:1:1: the file is empty");
        let crlf =
            "\u{feff}version: 1\r\norganizations:\r\n  - name: acme\r\n    members: [\"a|1\"]\r\n";
        let s = from_str(crlf, "f").unwrap();
        assert_eq!(s.organizations[0].members[0].user_id(), Some("a|1"));
    }

    #[test]
    fn a_directory_merges_files_and_refuses_cross_file_duplicates() {
        let dir = std::env::temp_dir().join(format!("orgsync-config-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("b.yml"),
            "version: 1\norganizations:\n  - name: beta\n    members: [\"a|2\"]\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("a.yaml"),
            "version: 1\norganizations:\n  - name: alpha\n    max_removals: 1\n    members: [\"a|1\"]\n",
        )
        .unwrap();
        std::fs::write(dir.join("notes.txt"), "not yaml").unwrap();
        // Hidden files (editor leftovers, a stray copy) and upper-case extensions are not
        // merged, and are named as skipped.
        let stray = "version: 1\norganizations:\n  - name: alpha\n    members: []\n";
        std::fs::write(dir.join(".hidden.yaml"), stray).unwrap();
        std::fs::write(dir.join("20-UPPER.YAML"), stray).unwrap();
        let s = load(&dir).unwrap();
        let names: Vec<String> = s.organizations.iter().map(|o| o.org.to_string()).collect();
        assert_eq!(names, ["alpha", "beta"]);
        let skipped: Vec<String> = s
            .skipped
            .iter()
            .map(|(p, why)| format!("{}: {why}", p.file_name().unwrap().to_string_lossy()))
            .collect();
        assert_eq!(
            skipped,
            [
                ".hidden.yaml: hidden files are not read",
                "20-UPPER.YAML: only `.yaml` and `.yml` in lower case are read; rename it to end in `.yaml`",
                "notes.txt: not a `.yaml` or `.yml` file",
            ]
        );
        assert_eq!(s.organizations[0].max_removals, Some(MaxRemovals::Count(1)));
        assert_eq!(
            s.organizations[1].max_removals,
            Some(DEFAULT_MAX_REMOVALS),
            "the default guard"
        );
        assert_eq!(s.sources.len(), 2);
        std::fs::write(
            dir.join("c.yaml"),
            "version: 1\norganizations:\n  - name: alpha\n    members: []\n",
        )
        .unwrap();
        let e = load(&dir).unwrap_err();
        let msg = e.diagnostics[0].to_string();
        assert!(
            msg.contains("c.yaml:3:11: organization name `alpha` is listed twice (first at "),
            "{msg}"
        );
        assert!(msg.contains("a.yaml:3:11"), "{msg}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn without_max_removals_the_guard_is_25_percent_and_100_percent_opts_out() {
        let s = from_str(
            "version: 1\norganizations:\n  - name: a\n    members: []\n  - name: b\n    max_removals: 100%\n    members: []\n",
            "f",
        )
        .unwrap();
        assert_eq!(
            s.organizations[0].max_removals,
            Some(MaxRemovals::Percent(25.0))
        );
        assert_eq!(
            s.organizations[1].max_removals,
            Some(MaxRemovals::Percent(100.0))
        );
        let s = from_str(
            "version: 1\ndefaults:\n  max_removals: 0\norganizations:\n  - name: a\n    members: []\n",
            "f",
        )
        .unwrap();
        assert_eq!(s.organizations[0].max_removals, Some(MaxRemovals::Count(0)));
    }

    /// The user_ids an organization protects (all given as user_ids in these tests).
    fn protect_ids(o: &DesiredOrg) -> Vec<&str> {
        o.protect
            .iter()
            .filter_map(DesiredMember::user_id)
            .collect()
    }

    /// A fresh directory holding `files`.
    fn dir_with(tag: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("orgsync-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        dir
    }

    /// A config entry that cannot be read fails the load: the directory is never read without
    /// it (a dangling `_defaults.yaml` link once dropped the `protect` list with a warning).
    #[cfg(unix)]
    #[test]
    fn an_unreadable_config_entry_fails_the_load() {
        const ORG: &str = "version: 1\norganizations:\n  - name: a\n    members: []\n";
        for (entry, expect) in [
            ("_defaults.yaml", "a link whose target cannot be read"),
            ("b.yaml", "a link whose target cannot be read"),
            ("_defaults.yml", "a link whose target cannot be read"),
        ] {
            let dir = dir_with("unreadable-entry", &[("a.yaml", ORG)]);
            std::os::unix::fs::symlink(dir.join("gone.yaml"), dir.join(entry)).unwrap();
            let e = load_errors(&dir);
            assert_eq!(e.len(), 1, "{entry}: {e:?}");
            assert!(e[0].contains(entry) && e[0].contains(expect), "{e:?}");
            let _ = std::fs::remove_dir_all(&dir);
        }
        // A directory named like a config file, and a defaults file in the wrong case.
        let dir = dir_with(
            "unreadable-kinds",
            &[("a.yaml", ORG), ("_DEFAULTS.YAML", "")],
        );
        std::fs::create_dir(dir.join("more.yaml")).unwrap();
        let e = load_errors(&dir);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].contains("_DEFAULTS.YAML: named like the directory-wide defaults file"),
            "{e:?}"
        );
        assert!(
            e[1].contains("more.yaml: named like a config file but not a regular file"),
            "{e:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
        // A link to a readable file is read like the file.
        let dir = dir_with("linked-entry", &[("a.yaml", ORG)]);
        std::fs::write(
            dir.join("real.txt"),
            "version: 1\ndefaults:\n  protect: [\"auth0|x\"]\n",
        )
        .unwrap();
        std::os::unix::fs::symlink(dir.join("real.txt"), dir.join("_defaults.yaml")).unwrap();
        assert!(load(&dir).is_ok(), "{:?}", load_errors(&dir));
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn load_errors(dir: &Path) -> Vec<String> {
        match load(dir) {
            Ok(_) => vec![],
            Err(e) => e.diagnostics.iter().map(ToString::to_string).collect(),
        }
    }

    const ORG_A: &str = "version: 1\norganizations:\n  - name: alpha\n    members: [\"a|1\"]\n";
    const ORG_B: &str = "version: 1\norganizations:\n  - name: beta\n    members: [\"a|2\"]\n";

    #[test]
    fn a_directory_wide_defaults_file_applies_to_every_file() {
        let dir = dir_with(
            "dir-defaults",
            &[
                (
                    "_defaults.yaml",
                    "version: 1\ndefaults:\n  protect: [\"auth0|breakglass\"]\n  max_removals: 2\n",
                ),
                ("a.yaml", ORG_A),
                ("b.yml", ORG_B),
            ],
        );
        let s = load(&dir).unwrap();
        assert_eq!(s.organizations.len(), 2);
        for o in &s.organizations {
            assert_eq!(protect_ids(o), ["auth0|breakglass"], "{}", o.org);
            assert_eq!(o.max_removals, Some(MaxRemovals::Count(2)), "{}", o.org);
        }
        assert_eq!(s.sources.len(), 3);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn defaults_in_an_ordinary_file_of_a_directory_are_an_error() {
        let dir = dir_with(
            "dir-file-defaults",
            &[
                (
                    "a.yaml",
                    "version: 1\ndefaults:\n  protect: [\"auth0|breakglass\"]\norganizations:\n  - name: alpha\n    members: []\n",
                ),
                ("b.yml", ORG_B),
            ],
        );
        let e = load(&dir).unwrap_err();
        let d = &e.diagnostics[0];
        assert!(
            d.to_string().ends_with(
                "a.yaml:3:3: `defaults` in one file of a directory config would apply to that file only"
            ),
            "{d}"
        );
        assert!(d.hint.as_deref().unwrap().contains("_defaults.yaml"));
        // A single file keeps its defaults.
        assert!(load(&dir.join("a.yaml")).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn two_defaults_files_or_one_with_organizations_are_errors() {
        let defaults = "version: 1\ndefaults:\n  max_removals: 1\n";
        let dir = dir_with(
            "dir-two-defaults",
            &[
                ("_defaults.yaml", defaults),
                ("_defaults.yml", defaults),
                ("a.yaml", ORG_A),
            ],
        );
        let e = load_errors(&dir);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains(
                "_defaults.yml:1:1: a second directory-wide defaults file (the first is "
            ) && e[0].ends_with("_defaults.yaml)"),
            "{e:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
        let dir = dir_with(
            "dir-defaults-orgs",
            &[
                (
                    "_defaults.yaml",
                    "version: 1\ndefaults:\n  max_removals: 1\norganizations:\n  - name: x\n    members: []\n",
                ),
                ("a.yaml", ORG_A),
            ],
        );
        let e = load_errors(&dir);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("_defaults.yaml:5:3: `_defaults` holds the directory-wide `defaults` and may not list `organizations`"),
            "{e:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
        let dir = dir_with(
            "dir-defaults-none",
            &[("_defaults.yaml", "version: 1\n"), ("a.yaml", ORG_A)],
        );
        let e = load_errors(&dir);
        assert!(
            e[0].contains("_defaults.yaml:1:1: `defaults` is missing"),
            "{e:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn ten_thousand_organizations_parse() {
        let mut y = String::from("version: 1\norganizations:\n");
        for o in 0..10_000 {
            y.push_str(&format!("  - name: org-{o}\n    members:\n"));
            for m in 0..100 {
                y.push_str(&format!("      - \"auth0|{o:05}{m:03}\"\n"));
            }
        }
        let s = from_str(&y, "big.yaml").unwrap();
        assert_eq!(s.organizations.len(), 10_000);
        assert_eq!(s.organizations[9_999].members.len(), 100);
    }
}
