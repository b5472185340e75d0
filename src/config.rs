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
//! is complete on its own (`version: 1`) and its `defaults` apply to its own organizations only.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;
use sha2::{Digest, Sha256};

/// Largest config file orgsync reads.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

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
    /// `defaults.protect` followed by the organization's own, without repeats.
    pub protect: Vec<String>,
    /// The organization's own, else the defaults', else none.
    pub max_removals: Option<MaxRemovals>,
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
    fn one(
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

// ---------------------------------------------------------------------------------------
// The file format, as serde and schemars see it.

/// orgsync.yaml: the desired members of Auth0 organizations.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "orgsync.yaml")]
struct RawFile {
    /// Format version of this file. Must be 1.
    #[schemars(with = "Version")]
    version: Option<Spanned<serde_json::Value>>,
    /// Settings that apply to every organization in this file.
    #[serde(default)]
    defaults: Option<RawDefaults>,
    /// The organizations orgsync manages. Organizations not listed are never read or touched.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Vec<RawOrg>")]
    organizations: Option<Spanned<Option<Vec<Spanned<RawOrg>>>>>,
}

/// Format version 1.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct Version(#[schemars(range(min = 1, max = 1))] u32);

/// Settings for every organization of the file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    /// user_ids never removed from any organization.
    #[serde(default)]
    #[schemars(with = "Option<Vec<UserId>>")]
    protect: Option<Vec<Spanned<String>>>,
    /// Most removals per organization: a count (`5`) or a share of its current members (`25%`).
    /// An organization over it is blocked: none of its members are removed.
    #[serde(default)]
    #[schemars(with = "Option<MaxRemovalsSchema>")]
    max_removals: Option<Spanned<serde_json::Value>>,
}

/// One organization: exactly one of `name` or `id`, and its members.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["name"]}, {"required": ["id"]}]))]
struct RawOrg {
    /// Organization name: lowercase letters, digits, `_` and `-`, 1 to 50 characters.
    #[serde(default)]
    #[schemars(with = "Option<OrgName>")]
    name: Option<Spanned<String>>,
    /// Organization id: `org_` followed by letters and digits.
    #[serde(default)]
    #[schemars(with = "Option<OrgId>")]
    id: Option<Spanned<String>>,
    /// The user_ids that should be members. Authoritative: current members that are neither
    /// listed nor protected are planned for removal. `[]` for none.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Vec<MemberSchema>")]
    members: Option<Spanned<Option<Vec<Spanned<RawMember>>>>>,
    /// Required (true) to remove every member of the organization.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    allow_empty: Option<Spanned<bool>>,
    /// user_ids never removed from this organization, in addition to `defaults.protect`.
    #[serde(default)]
    #[schemars(with = "Option<Vec<UserId>>")]
    protect: Option<Vec<Spanned<String>>>,
    /// Overrides `defaults.max_removals` for this organization.
    #[serde(default)]
    #[schemars(with = "Option<MaxRemovalsSchema>")]
    max_removals: Option<Spanned<serde_json::Value>>,
}

/// A key that is present, even with a null value (`members: null`), is `Some`; only a missing
/// key is `None` (through `#[serde(default)]`), so the two get different messages.
fn present<'de, D, T>(d: D) -> Result<Option<Spanned<Option<T>>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Spanned::<Option<T>>::deserialize(d).map(Some)
}

/// A member entry: a user_id string, or `{email: …}`.
#[derive(Debug)]
enum RawMember {
    UserId(String),
    Email(String),
}

impl<'de> Deserialize<'de> for RawMember {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{self, MapAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawMember;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a user_id like \"auth0|…\" or `{email: …}`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawMember, E> {
                Ok(RawMember::UserId(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<RawMember, E> {
                Ok(RawMember::UserId(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawMember, A::Error> {
                let mut email = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "email" if email.is_none() => email = Some(map.next_value::<String>()?),
                        "email" => return Err(de::Error::duplicate_field("email")),
                        other => return Err(de::Error::unknown_field(other, &["email"])),
                    }
                }
                email
                    .map(RawMember::Email)
                    .ok_or_else(|| de::Error::missing_field("email"))
            }
        }
        d.deserialize_any(V)
    }
}

/// A member: a user_id, or a user found by email.
#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum MemberSchema {
    UserId(UserId),
    Email(EmailMember),
}

/// A member named by email, resolved with `GET /users-by-email` (scope `read:users`); exactly one
/// user must have it.
#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
struct EmailMember {
    #[schemars(email)]
    email: String,
}

/// An Auth0 user_id: `provider|id`, e.g. `auth0|64b0c0ffee00000000000002`.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct UserId(#[schemars(regex(pattern = r"^[^|\s]+\|\S+$"), length(max = 512))] String);

/// Lowercase letters, digits, `_` and `-`, 1 to 50 characters.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct OrgName(#[schemars(regex(pattern = r"^[a-z0-9_-]{1,50}$"))] String);

/// `org_` followed by letters and digits, at most 50 characters.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct OrgId(#[schemars(regex(pattern = r"^org_[A-Za-z0-9]{1,46}$"))] String);

/// A count (`5`) or a share of current members (`25%`).
#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum MaxRemovalsSchema {
    /// At most this many removals.
    Count(#[schemars(range(min = 0))] u64),
    /// At most this share of current members, `0%` to `100%`.
    Share(#[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?%$"))] String),
}

/// The JSON Schema of orgsync.yaml, generated from the types above. Two keys that serde reads
/// as optional only to give a better message when they are missing (`organizations`,
/// `members`) are marked required, and the `null` defaults serde implies are left out.
pub fn schema() -> schemars::Schema {
    let mut schema = schemars::schema_for!(RawFile);
    fn strip_null_defaults(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                if map.get("default") == Some(&serde_json::Value::Null) {
                    map.remove("default");
                }
                map.values_mut().for_each(strip_null_defaults);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip_null_defaults),
            _ => {}
        }
    }
    if let Some(root) = schema.as_object_mut() {
        root.insert(
            "required".into(),
            serde_json::json!(["version", "organizations"]),
        );
        if let Some(org) = root
            .get_mut("$defs")
            .and_then(|d| d.get_mut("RawOrg"))
            .and_then(|o| o.as_object_mut())
        {
            org.insert("required".into(), serde_json::json!(["members"]));
        }
        for v in root.values_mut() {
            strip_null_defaults(v);
        }
    }
    schema
}

/// [`schema`] as pretty JSON with a trailing newline, as `orgsync schema` prints it.
pub fn schema_json() -> String {
    let mut s = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    s.push('\n');
    s
}

// ---------------------------------------------------------------------------------------
// Loading

/// Reads a config file, or every `*.yaml`/`*.yml` of a directory.
pub fn load(path: &Path) -> Result<DesiredState, ConfigError> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| {
        ConfigError::one(
            None,
            format!("{shown}: cannot read the config: {e}"),
            Some("pass the config with `-c FILE` (default `orgsync.yaml`), or a directory of YAML files"),
        )
    })?;
    if !meta.is_dir() {
        let bytes = read_limited(path)?;
        let text = decode(&bytes, &shown)?;
        let mut state = from_str(text, &shown)?;
        state.sha256 = sha256_hex(&bytes);
        state.sources = vec![path.to_path_buf()];
        return Ok(state);
    }
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
    for p in entries {
        match directory_entry(&p) {
            Ok(()) => files.push(p),
            Err(why) => skipped.push((p, why)),
        }
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
    let mut hasher = Sha256::new();
    let mut organizations = Vec::new();
    let mut diagnostics = Vec::new();
    let mut seen = Seen::default();
    for f in &files {
        let name = f.display().to_string();
        let bytes = read_limited(f)?;
        hasher.update(
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
                .as_bytes(),
        );
        hasher.update([0]);
        hasher.update(&bytes);
        hasher.update([0]);
        match decode(&bytes, &name).and_then(|t| parse(t, &name, &mut seen)) {
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

/// Whether a directory entry is one of the config's files: a visible `*.yaml`/`*.yml` file.
/// Otherwise, why it is not read.
fn directory_entry(p: &Path) -> Result<(), String> {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = p.extension().map(|x| x.to_string_lossy().into_owned());
    let yaml_ext = |e: &str| e == "yaml" || e == "yml";
    if name.starts_with('.') {
        return Err("hidden files are not read".into());
    }
    if !p.is_file() {
        return Err("only files directly in the directory are read".into());
    }
    match ext.as_deref() {
        Some(e) if yaml_ext(e) => Ok(()),
        Some(e) if yaml_ext(&e.to_ascii_lowercase()) => Err(format!(
            "only `.yaml` and `.yml` in lower case are read; rename it to end in `.{}`",
            e.to_ascii_lowercase()
        )),
        _ => Err("not a `.yaml` or `.yml` file".into()),
    }
}

/// Parses config text; `file` is only the name used in messages.
pub fn from_str(text: &str, file: &str) -> Result<DesiredState, ConfigError> {
    let organizations = parse(text, file, &mut Seen::default())?;
    Ok(DesiredState {
        organizations,
        sha256: sha256_hex(text.as_bytes()),
        sources: Vec::new(),
        skipped: Vec::new(),
    })
}

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
    let file = std::fs::File::open(path).map_err(|e| {
        ConfigError::one(None, format!("{shown}: cannot read the config: {e}"), None)
    })?;
    if file.metadata().is_ok_and(|m| m.len() > MAX_FILE_BYTES) {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            ConfigError::one(None, format!("{shown}: cannot read the config: {e}"), None)
        })?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big());
    }
    Ok(bytes)
}

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

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Organizations seen so far (across the files of a directory), by name and by id.
#[derive(Default)]
struct Seen {
    names: HashMap<String, Location>,
    ids: HashMap<String, Location>,
}

/// Parser options: budgets large enough for 1,000,000 members in a 64 MiB file, small enough
/// that an alias bomb is refused at once.
fn options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    // `allow_empty: yes` (or "yes") must not quietly mean true: only true/false are booleans.
    options.strict_booleans = true;
    if let Some(b) = options.budget.as_mut() {
        b.max_nodes = 5_000_000;
        b.max_events = 20_000_000;
        b.max_aliases = 1_000;
        b.max_anchors = 1_000;
        b.max_total_scalar_bytes = MAX_FILE_BYTES as usize;
        b.max_depth = 32;
    }
    options
}

fn loc(file: &File, l: &serde_saphyr::Location) -> Location {
    Location {
        file: file.clone(),
        line: l.line() as usize,
        column: l.column() as usize,
    }
}

/// A file's name, shared by all its positions.
type File = std::sync::Arc<str>;

fn parse(text: &str, file: &str, seen: &mut Seen) -> Result<Vec<DesiredOrg>, ConfigError> {
    let file: &File = &File::from(file);
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let top = || {
        Some(Location {
            file: file.clone(),
            line: 1,
            column: 1,
        })
    };
    if text.trim().is_empty() {
        return Err(ConfigError::one(
            top(),
            "the file is empty",
            Some("a config starts with `version: 1` and lists `organizations:`"),
        ));
    }
    let raw: RawFile =
        serde_saphyr::from_str_with_options(text, options()).map_err(|e| yaml_error(&e, file))?;
    let mut d = Vec::new();
    let diag = |d: &mut Vec<Diagnostic>, at: Location, message: String, hint: Option<String>| {
        d.push(Diagnostic {
            location: Some(at),
            message,
            hint,
        });
    };

    match &raw.version {
        None => diag(
            &mut d,
            top().unwrap_or_else(|| loc(file, &serde_saphyr::Location::UNKNOWN)),
            "`version` is missing".into(),
            Some("start the file with `version: 1`".into()),
        ),
        Some(v) if v.value.as_u64() == Some(1) => {}
        Some(v) => diag(
            &mut d,
            loc(file, &v.referenced),
            format!("unsupported `version: {}`", scalar(&v.value)),
            Some("orgsync understands `version: 1`".into()),
        ),
    }

    let defaults = raw.defaults.as_ref();
    let default_protect = check_user_ids(
        defaults.and_then(|x| x.protect.as_deref()).unwrap_or(&[]),
        file,
        "defaults.protect",
        &mut d,
    );
    let default_max = defaults
        .and_then(|x| x.max_removals.as_ref())
        .and_then(|v| max_removals(v, file, &mut d));

    let orgs = match &raw.organizations {
        None => {
            diag(&mut d, top().unwrap_or_else(|| loc(file, &serde_saphyr::Location::UNKNOWN)), "`organizations` is missing".into(), Some("list the organizations to manage under `organizations:` (`organizations: []` for none)".into()));
            &[][..]
        }
        Some(Spanned {
            value: None,
            referenced,
            ..
        }) => {
            diag(
                &mut d,
                loc(file, referenced),
                "`organizations` is null".into(),
                Some("write `organizations: []` for none".into()),
            );
            &[][..]
        }
        Some(Spanned {
            value: Some(list), ..
        }) => list.as_slice(),
    };

    let mut out = Vec::with_capacity(orgs.len());
    for entry in orgs {
        let at = loc(file, &entry.referenced);
        let o = &entry.value;
        let org = match (&o.name, &o.id) {
            (Some(_), Some(id)) => {
                diag(
                    &mut d,
                    loc(file, &id.referenced),
                    "an organization has both `name` and `id`".into(),
                    Some("keep exactly one of `name:` or `id:`".into()),
                );
                None
            }
            (None, None) => {
                diag(
                    &mut d,
                    at.clone(),
                    "an organization needs `name` or `id`".into(),
                    Some("add `name: <organization name>` or `id: org_…`".into()),
                );
                None
            }
            (Some(n), None) => check_org_name(n, file, &mut d)
                .map(|()| (OrgRef::Name(n.value.clone()), loc(file, &n.referenced))),
            (None, Some(i)) => check_org_id(i, file, &mut d)
                .map(|()| (OrgRef::Id(i.value.clone()), loc(file, &i.referenced))),
        };
        if let Some((r, key_at)) = &org {
            let (map, what) = match r {
                OrgRef::Name(n) => (&mut seen.names, format!("name `{n}`")),
                OrgRef::Id(i) => (&mut seen.ids, format!("id `{i}`")),
            };
            let key = r.to_string();
            if let Some(first) = map.get(&key) {
                diag(
                    &mut d,
                    key_at.clone(),
                    format!("organization {what} is listed twice (first at {first})"),
                    Some("declare each organization once".into()),
                );
            } else {
                map.insert(key, key_at.clone());
            }
        }
        let members = match &o.members {
            None => {
                diag(&mut d, at.clone(), "an organization needs a `members` list".into(), Some("write `members: []` for an organization that should have none (with `allow_empty: true` to remove everyone)".into()));
                Vec::new()
            }
            Some(Spanned {
                value: None,
                referenced,
                ..
            }) => {
                diag(&mut d, loc(file, referenced), "`members` is null".into(), Some("write `members: []` for none (with `allow_empty: true` to remove everyone)".into()));
                Vec::new()
            }
            Some(Spanned {
                value: Some(list), ..
            }) => {
                // Keyed by the entry as written (an email cannot contain `|`, a user_id must),
                // borrowed from the parsed file: no copies on the hot path of large configs.
                let mut first_seen: HashMap<(bool, &str), usize> =
                    HashMap::with_capacity(list.len());
                let mut members = Vec::with_capacity(list.len());
                for m in list {
                    let m_at = loc(file, &m.referenced);
                    let member = match &m.value {
                        RawMember::UserId(u) => match check_user_id(u) {
                            Ok(()) => MemberRef::UserId(u.clone()),
                            Err((msg, hint)) => {
                                diag(&mut d, m_at, msg, Some(hint));
                                continue;
                            }
                        },
                        RawMember::Email(e) => match check_email(e) {
                            Ok(()) => MemberRef::Email(e.clone()),
                            Err(msg) => {
                                diag(
                                    &mut d,
                                    m_at,
                                    msg,
                                    Some("write `{email: ada@acme.example}`".into()),
                                );
                                continue;
                            }
                        },
                    };
                    let key = match &m.value {
                        RawMember::UserId(u) => (false, u.as_str()),
                        RawMember::Email(e) => (true, e.as_str()),
                    };
                    if let Some(first_line) = first_seen.get(&key) {
                        diag(
                            &mut d,
                            m_at,
                            format!(
                                "{member} is listed twice in this organization (first at line {first_line})"
                            ),
                            Some("list each member once".into()),
                        );
                        continue;
                    }
                    first_seen.insert(key, m_at.line);
                    members.push(DesiredMember {
                        member,
                        location: m_at,
                    });
                }
                members
            }
        };
        let own_protect =
            check_user_ids(o.protect.as_deref().unwrap_or(&[]), file, "protect", &mut d);
        let own_max = o
            .max_removals
            .as_ref()
            .and_then(|v| max_removals(v, file, &mut d));
        let mut protect = default_protect.clone();
        let mut in_protect: HashSet<String> = protect.iter().cloned().collect();
        for p in own_protect {
            if in_protect.insert(p.clone()) {
                protect.push(p);
            }
        }
        if let Some((org, _)) = org {
            out.push(DesiredOrg {
                org,
                members,
                allow_empty: o.allow_empty.as_ref().is_some_and(|a| a.value),
                protect,
                max_removals: own_max.or(default_max),
                location: at,
            });
        }
    }
    if d.is_empty() {
        Ok(out)
    } else {
        Err(ConfigError { diagnostics: d })
    }
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Turns a serde-saphyr error into a diagnostic with the file's name and a hint.
fn yaml_error(e: &serde_saphyr::Error, file: &File) -> ConfigError {
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
    ConfigError {
        diagnostics: vec![Diagnostic {
            location,
            message: sanitize(&message),
            hint,
        }],
    }
}

/// Rewrites the parser's words into orgsync's, with a hint where one helps.
fn explain(message: &str) -> (String, Option<String>) {
    let lower = message.to_lowercase();
    let schema_hint = || Some("see schemas/orgsync.schema.json for the format".to_string());
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
    if let Some(rest) = message.strip_prefix("budget breached: ") {
        let what = if rest.starts_with("Aliases") {
            "too many YAML aliases (`*name`): more than 1,000".to_string()
        } else if rest.starts_with("Depth") {
            "the YAML nests too deeply".to_string()
        } else {
            format!("the YAML is too large for orgsync's parser limits ({rest})")
        };
        return (
            what,
            Some("orgsync refuses YAML that expands aliases or nests beyond reasonable limits; write the members out".into()),
        );
    }
    if lower.contains("budget") || lower.contains("alias") || lower.contains("limit") {
        return (
            message.to_string(),
            Some("orgsync refuses YAML that expands aliases or nests beyond reasonable limits; write the members out".into()),
        );
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
fn clip(s: &str) -> String {
    if s.chars().count() <= 80 {
        return s.to_string();
    }
    let head: String = s.chars().take(60).collect();
    format!("{head}… ({} characters)", s.chars().count())
}

/// First letter lower-case, as every orgsync message.
fn sanitize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `provider|id`: both non-empty, no whitespace or control characters, at most 512 bytes.
pub fn check_user_id(s: &str) -> Result<(), (String, String)> {
    // Messages are built only for a malformed id: validate checks a million of them.
    let fail = |problem: String| {
        Err((
            problem,
            "a user_id looks like `provider|id`, e.g. `auth0|64b0c0ffee00000000000002`".to_string(),
        ))
    };
    let shown = || clip(&s.escape_debug().to_string());
    if s.chars().any(char::is_control) {
        return fail(format!(
            "malformed user_id `{}`: control characters are not allowed",
            shown()
        ));
    }
    if s.chars().any(char::is_whitespace) {
        return fail(format!(
            "malformed user_id `{}`: whitespace is not allowed",
            shown()
        ));
    }
    if s.len() > 512 {
        return fail(format!(
            "malformed user_id: {} bytes, at most 512 are allowed",
            s.len()
        ));
    }
    match s.split_once('|') {
        Some((p, rest)) if !p.is_empty() && !rest.is_empty() => Ok(()),
        _ => fail(format!(
            "malformed user_id `{}`: expected `provider|id`",
            shown()
        )),
    }
}

/// An email as `users-by-email` takes it: one `@`, something on both sides, no whitespace.
fn check_email(e: &str) -> Result<(), String> {
    let shown = || clip(&e.escape_debug().to_string());
    if e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "malformed email `{}`: whitespace is not allowed",
            shown()
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
            shown()
        )),
    }
}

fn check_user_ids(
    list: &[Spanned<String>],
    file: &File,
    what: &str,
    d: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let mut out = Vec::with_capacity(list.len());
    for u in list {
        match check_user_id(&u.value) {
            Ok(()) => out.push(u.value.clone()),
            Err((msg, hint)) => d.push(Diagnostic {
                location: Some(loc(file, &u.referenced)),
                message: format!("{what}: {msg}"),
                hint: Some(hint),
            }),
        }
    }
    out
}

fn check_org_name(n: &Spanned<String>, file: &File, d: &mut Vec<Diagnostic>) -> Option<()> {
    let s = &n.value;
    if crate::ids::is_org_name(s) {
        return Some(());
    }
    let lower = s.to_lowercase();
    let hint = if lower != *s
        && lower
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        format!("Auth0 organization names are lowercase: `{lower}`")
    } else {
        "use 1 to 50 lowercase letters, digits, `_` or `-`".to_string()
    };
    d.push(Diagnostic {
        location: Some(loc(file, &n.referenced)),
        message: format!(
            "malformed organization name `{}`",
            clip(&s.escape_debug().to_string())
        ),
        hint: Some(hint),
    });
    None
}

fn check_org_id(i: &Spanned<String>, file: &File, d: &mut Vec<Diagnostic>) -> Option<()> {
    let s = &i.value;
    if crate::ids::is_org_id(s) {
        return Some(());
    }
    d.push(Diagnostic {
        location: Some(loc(file, &i.referenced)),
        message: format!("malformed organization id `{}`", clip(&s.escape_debug().to_string())),
        hint: Some("an organization id is `org_` followed by letters and digits, e.g. `org_3hbVAMF8F3wVIcEJ`; use `name:` for names".into()),
    });
    None
}

fn max_removals(
    v: &Spanned<serde_json::Value>,
    file: &File,
    d: &mut Vec<Diagnostic>,
) -> Option<MaxRemovals> {
    let hint = Some("a count like `5` or a share like `25%`".to_string());
    let at = loc(file, &v.referenced);
    let mut bad = |message: String| {
        d.push(Diagnostic {
            location: Some(at.clone()),
            message,
            hint: hint.clone(),
        });
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

    fn errors(text: &str) -> Vec<String> {
        match from_str(text, "orgsync.yaml") {
            Ok(_) => vec![],
            Err(e) => e.diagnostics.iter().map(ToString::to_string).collect(),
        }
    }

    fn first(text: &str) -> String {
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
        assert_eq!(acme.protect, ["auth0|64b0c0ffee00000000000001"]);
        assert_eq!(acme.max_removals, Some(MaxRemovals::Percent(25.0)));
        assert!(!acme.allow_empty);
        let by_id = &s.organizations[1];
        assert_eq!(by_id.org, OrgRef::Id("org_3hbVAMF8F3wVIcEJ".into()));
        assert!(by_id.members.is_empty());
        assert!(by_id.allow_empty);
        assert_eq!(
            by_id.protect,
            [
                "auth0|64b0c0ffee00000000000001",
                "samlp|corp|ops@example.com"
            ]
        );
        assert_eq!(by_id.max_removals, Some(MaxRemovals::Count(3)));
        assert_eq!(s.sha256, sha256_hex(EXAMPLE.as_bytes()));
    }

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

    #[test]
    fn version_missing_or_wrong() {
        assert_eq!(
            first("organizations: []\n"),
            "orgsync.yaml:1:1: `version` is missing"
        );
        assert_eq!(
            first("version: 2\norganizations: []\n"),
            "orgsync.yaml:1:10: unsupported `version: 2`"
        );
        assert_eq!(
            first("version: \"1\"\norganizations: []\n"),
            "orgsync.yaml:1:10: unsupported `version: 1`"
        );
    }

    #[test]
    fn name_and_id() {
        assert_eq!(
            first("version: 1\norganizations:\n  - name: acme\n    id: org_abc\n    members: []\n"),
            "orgsync.yaml:4:9: an organization has both `name` and `id`"
        );
        assert_eq!(
            first("version: 1\norganizations:\n  - members: []\n"),
            "orgsync.yaml:3:5: an organization needs `name` or `id`"
        );
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
    fn members_by_email() {
        let s = from_str(
            "version: 1\norganizations:\n  - name: acme\n    members:\n      - \"a|1\"\n      - {email: ada@acme.example}\n      - email: grace@acme.example\n",
            "f",
        )
        .unwrap();
        let m = &s.organizations[0].members;
        assert_eq!(m[0].member, MemberRef::UserId("a|1".into()));
        assert_eq!(m[1].member, MemberRef::Email("ada@acme.example".into()));
        assert_eq!((m[1].location.line, m[1].location.column), (6, 9));
        assert_eq!(m[2].email(), Some("grace@acme.example"));
        assert_eq!(
            first(
                "version: 1\norganizations:\n  - name: acme\n    members:\n      - {email: ada@acme.example}\n      - {email: ada@acme.example}\n"
            ),
            "orgsync.yaml:6:9: email `ada@acme.example` is listed twice in this organization (first at line 5)"
        );
        assert_eq!(
            first(
                "version: 1\norganizations:\n  - name: acme\n    members:\n      - {email: not-an-email}\n"
            ),
            "orgsync.yaml:5:9: malformed email `not-an-email`: expected `name@domain`"
        );
        let e = first(
            "version: 1\norganizations:\n  - name: acme\n    members:\n      - {mail: ada@acme.example}\n",
        );
        assert!(
            e.starts_with("orgsync.yaml:5:") && e.contains("unknown field `mail`"),
            "{e}"
        );
    }

    #[test]
    fn a_user_listed_twice() {
        assert_eq!(
            first(
                "version: 1\norganizations:\n  - name: acme\n    members:\n      - \"a|1\"\n      - \"a|2\"\n      - \"a|1\"\n"
            ),
            "orgsync.yaml:7:9: user `a|1` is listed twice in this organization (first at line 5)"
        );
    }

    #[test]
    fn an_organization_listed_twice() {
        assert_eq!(
            first(
                "version: 1\norganizations:\n  - name: acme\n    members: []\n  - name: acme\n    members: []\n"
            ),
            "orgsync.yaml:5:11: organization name `acme` is listed twice (first at orgsync.yaml:3:11)"
        );
        assert!(first("version: 1\norganizations:\n  - id: org_1\n    members: []\n  - id: org_1\n    members: []\n").contains("id `org_1` is listed twice"));
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

    #[test]
    fn members_null_or_missing() {
        assert_eq!(
            first("version: 1\norganizations:\n  - name: acme\n    members: null\n"),
            "orgsync.yaml:4:14: `members` is null"
        );
        assert_eq!(
            first("version: 1\norganizations:\n  - name: acme\n"),
            "orgsync.yaml:3:5: an organization needs a `members` list"
        );
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

    #[test]
    fn several_problems_are_all_reported() {
        let e = from_str("version: 1\norganizations:\n  - name: Acme\n    members: [\"x\"]\n  - id: bad\n    members: []\n", "f").unwrap_err();
        assert_eq!(e.diagnostics.len(), 3, "{e}");
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
        std::fs::write(dir.join("a.yaml"), "version: 1\ndefaults:\n  max_removals: 1\norganizations:\n  - name: alpha\n    members: [\"a|1\"]\n").unwrap();
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
            s.organizations[1].max_removals, None,
            "defaults stay in their file"
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
        assert!(msg.contains("a.yaml:5:11"), "{msg}");
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

    #[test]
    fn the_schema_is_generated_from_the_types() {
        let v: serde_json::Value = serde_json::from_str(&schema_json()).unwrap();
        assert_eq!(v["title"], "orgsync.yaml");
        assert_eq!(v["additionalProperties"], false);
        let text = schema_json();
        for needle in [
            "max_removals",
            "allow_empty",
            "protect",
            "^org_[A-Za-z0-9]{1,46}$",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
        assert_eq!(
            v["required"],
            serde_json::json!(["version", "organizations"])
        );
        assert_eq!(
            v["$defs"]["RawOrg"]["required"],
            serde_json::json!(["members"])
        );
        assert!(!text.contains("\"default\": null"));
    }
}
