//! From config text to the desired organizations: reads the raw file ([`super::raw`]), then
//! checks it part by part (the version, the defaults, each organization with its members) and
//! reports every problem found, in file order, rather than only the first. Organizations
//! declared twice are found across the files of a directory through [`Seen`].

use std::collections::{HashMap, HashSet};

use serde_saphyr::Spanned;

use super::checks::{check_email, check_org_id, check_org_name, check_user_id, max_removals};
use super::diagnostics::{ConfigError, Diagnostic, File, Location, loc, scalar, yaml_error};
use super::raw::{self, Listed, RawFile, RawMember, RawOrg, listed};
use super::{
    DEFAULT_MAX_REMOVALS, DesiredMember, DesiredOrg, Drift, Invitations, MaxRemovals, MemberRef,
    OrgRef, Rejoin,
};

/// Organizations seen so far (across the files of a directory), by name and by id.
#[derive(Default)]
pub(super) struct Seen {
    names: HashMap<String, Location>,
    ids: HashMap<String, Location>,
}

impl Seen {
    /// Records where `org` is declared; a second declaration is reported with the first's place.
    fn declare(&mut self, org: &OrgRef, at: &Location, d: &mut Vec<Diagnostic>) {
        let (map, what) = match org {
            OrgRef::Name(n) => (&mut self.names, format!("name `{n}`")),
            OrgRef::Id(i) => (&mut self.ids, format!("id `{i}`")),
        };
        let key = org.to_string();
        if let Some(first) = map.get(&key) {
            d.push(Diagnostic::at(
                at.clone(),
                format!("organization {what} is listed twice (first at {first})"),
                "declare each organization once",
            ));
        } else {
            map.insert(key, at.clone());
        }
    }
}

/// Checked defaults: a single file's own, or a directory's `_defaults.yaml`, which apply to
/// every organization of the config.
#[derive(Default)]
pub(super) struct Defaults {
    protect: Vec<DesiredMember>,
    max_removals: Option<MaxRemovals>,
    rejoin: Option<Rejoin>,
    invitations: Option<Invitations>,
    drift: Option<Drift>,
}

/// Where a file sits in the config, which decides what it may hold.
pub(super) enum Scope<'a> {
    /// `-c FILE`: the whole config; its `defaults` apply to all its organizations.
    File,
    /// An ordinary file of a directory: it may not hold `defaults` (they would read as applying
    /// to the whole directory); the directory-wide ones are given.
    InDirectory(&'a Defaults),
}

/// Name of a directory's directory-wide defaults file (`.yaml` or `.yml`).
pub(super) const DEFAULTS_FILE_STEM: &str = "_defaults";

/// Reads the start of a file: the BOM, an empty file, the YAML and `version`.
fn read_file(text: &str, file: &File, d: &mut Vec<Diagnostic>) -> Result<RawFile, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let top = top(file);
    if text.trim().is_empty() {
        return Err(ConfigError::one(
            Some(top),
            "the file is empty",
            Some("a config starts with `version: 1` and lists `organizations:`"),
        ));
    }
    let raw = raw::read(text).map_err(|e| yaml_error(&e, file, text))?;
    check_version(&raw, file, &top, d);
    Ok(raw)
}

fn top(file: &File) -> Location {
    Location {
        file: file.clone(),
        line: 1,
        column: 1,
    }
}

/// Parses one file's text; `file` is only the name used in messages.
pub(super) fn parse(
    text: &str,
    file: &str,
    seen: &mut Seen,
    scope: Scope<'_>,
) -> Result<Vec<DesiredOrg>, ConfigError> {
    let file: &File = &File::from(file);
    let mut d = Vec::new();
    let raw = read_file(text, file, &mut d)?;
    let own;
    let defaults = match scope {
        Scope::File => {
            own = defaults(&raw, file, &mut d);
            &own
        }
        Scope::InDirectory(dir_defaults) => {
            if let Some(at) = &raw.defaults {
                d.push(Diagnostic::at(
                    loc(file, &at.referenced),
                    "`defaults` in one file of a directory config would apply to that file only",
                    format!(
                        "move them to `{DEFAULTS_FILE_STEM}.yaml` in the same directory (only `version` and `defaults`): its defaults apply to every file"
                    ),
                ));
            }
            dir_defaults
        }
    };
    let orgs = organizations(&raw, &top(file), file, &mut d);
    let mut out = Vec::with_capacity(orgs.len());
    for entry in orgs {
        out.extend(organization(entry, defaults, file, seen, &mut d));
    }
    if d.is_empty() {
        Ok(out)
    } else {
        Err(ConfigError { diagnostics: d })
    }
}

/// Parses a directory's `_defaults.yaml`: `version` and `defaults`, and no organizations.
pub(super) fn parse_defaults_file(text: &str, file: &str) -> Result<Defaults, ConfigError> {
    let file: &File = &File::from(file);
    let mut d = Vec::new();
    let raw = read_file(text, file, &mut d)?;
    if let Some(orgs) = &raw.organizations {
        d.push(Diagnostic::at(
            loc(file, &orgs.referenced),
            format!(
                "`{DEFAULTS_FILE_STEM}` holds the directory-wide `defaults` and may not list `organizations`"
            ),
            "move the organizations to another file of the directory",
        ));
    }
    if raw.defaults.is_none() {
        d.push(Diagnostic::at(
            top(file),
            "`defaults` is missing",
            format!("`{DEFAULTS_FILE_STEM}` holds `version: 1` and `defaults:`"),
        ));
    }
    let defaults = defaults(&raw, file, &mut d);
    if d.is_empty() {
        Ok(defaults)
    } else {
        Err(ConfigError { diagnostics: d })
    }
}

/// `version: 1`, and nothing else.
fn check_version(raw: &RawFile, file: &File, top: &Location, d: &mut Vec<Diagnostic>) {
    match &raw.version {
        None => d.push(Diagnostic::at(
            top.clone(),
            "`version` is missing",
            "start the file with `version: 1`",
        )),
        Some(v) if v.value.as_u64() == Some(1) => {}
        Some(v) => d.push(Diagnostic::at(
            loc(file, &v.referenced),
            format!("unsupported `version: {}`", scalar(&v.value)),
            "orgsync understands `version: 1`",
        )),
    }
}

fn defaults(raw: &RawFile, file: &File, d: &mut Vec<Diagnostic>) -> Defaults {
    let defaults = raw.defaults.as_ref().map(|x| &x.value);
    let protect = protect_list(
        defaults.and_then(|x| x.protect.as_deref()).unwrap_or(&[]),
        file,
        "defaults.protect",
        d,
    );
    let max_removals = defaults
        .and_then(|x| x.max_removals.as_ref())
        .and_then(|v| max_removals(v, file, d));
    Defaults {
        protect,
        max_removals,
        rejoin: defaults.and_then(|x| x.rejoin.as_ref()).map(|r| r.value),
        invitations: defaults
            .and_then(|x| x.invitations.as_ref())
            .map(|i| i.value),
        drift: defaults.and_then(|x| x.drift.as_ref()).map(|x| x.value),
    }
}

/// The `organizations` list; missing or null is reported, and read as none.
fn organizations<'a>(
    raw: &'a RawFile,
    top: &Location,
    file: &File,
    d: &mut Vec<Diagnostic>,
) -> &'a [Spanned<RawOrg>] {
    match listed(&raw.organizations) {
        Listed::Missing => d.push(Diagnostic::at(
            top.clone(),
            "`organizations` is missing",
            "list the organizations to manage under `organizations:` (`organizations: []` for none)",
        )),
        Listed::Null(at) => d.push(Diagnostic::at(
            loc(file, at),
            "`organizations` is null",
            "write `organizations: []` for none",
        )),
        Listed::List(list) => return list,
    }
    &[]
}

/// One organization with its members and settings; `None` when it cannot be named (its other
/// problems are reported all the same).
fn organization(
    entry: &Spanned<RawOrg>,
    defaults: &Defaults,
    file: &File,
    seen: &mut Seen,
    d: &mut Vec<Diagnostic>,
) -> Option<DesiredOrg> {
    let at = loc(file, &entry.referenced);
    let o = &entry.value;
    let org = org_ref(o, &at, file, d);
    if let Some((org, key_at)) = &org {
        seen.declare(org, key_at, d);
    }
    let members = members(o, &at, file, d);
    let own_protect = protect_list(o.protect.as_deref().unwrap_or(&[]), file, "protect", d);
    let own_max = o
        .max_removals
        .as_ref()
        .and_then(|v| max_removals(v, file, d));
    let (org, _) = org?;
    Some(DesiredOrg {
        org,
        members,
        allow_empty: o.allow_empty.as_ref().is_some_and(|a| a.value),
        protect: protect(&defaults.protect, own_protect),
        max_removals: own_max
            .or(defaults.max_removals)
            .or(Some(DEFAULT_MAX_REMOVALS)),
        rejoin: o
            .rejoin
            .as_ref()
            .map(|r| r.value)
            .or(defaults.rejoin)
            .unwrap_or_default(),
        invitations: o
            .invitations
            .as_ref()
            .map(|i| i.value)
            .or(defaults.invitations)
            .unwrap_or_default(),
        drift: o
            .drift
            .as_ref()
            .map(|x| x.value)
            .or(defaults.drift)
            .unwrap_or_default(),
        location: at,
    })
}

/// How the organization is named (exactly one of `name` or `id`, well formed), and where.
fn org_ref(
    o: &RawOrg,
    at: &Location,
    file: &File,
    d: &mut Vec<Diagnostic>,
) -> Option<(OrgRef, Location)> {
    match (&o.name, &o.id) {
        (Some(_), Some(id)) => {
            d.push(Diagnostic::at(
                loc(file, &id.referenced),
                "an organization has both `name` and `id`",
                "keep exactly one of `name:` or `id:`",
            ));
            None
        }
        (None, None) => {
            d.push(Diagnostic::at(
                at.clone(),
                "an organization needs `name` or `id`",
                "add `name: <organization name>` or `id: org_…`",
            ));
            None
        }
        (Some(n), None) => check_org_name(n, file, d)
            .map(|()| (OrgRef::Name(n.value.clone()), loc(file, &n.referenced))),
        (None, Some(i)) => check_org_id(i, file, d)
            .map(|()| (OrgRef::Id(i.value.clone()), loc(file, &i.referenced))),
    }
}

/// The `members` list; missing or null is reported, and read as none.
fn member_list<'a>(
    o: &'a RawOrg,
    at: &Location,
    file: &File,
    d: &mut Vec<Diagnostic>,
) -> &'a [Spanned<RawMember>] {
    match listed(&o.members) {
        Listed::Missing => d.push(Diagnostic::at(
            at.clone(),
            "an organization needs a `members` list",
            "write `members: []` for an organization that should have none (with `allow_empty: true` to remove everyone)",
        )),
        Listed::Null(null_at) => d.push(Diagnostic::at(
            loc(file, null_at),
            "`members` is null",
            "write `members: []` for none (with `allow_empty: true` to remove everyone)",
        )),
        Listed::List(list) => return list,
    }
    &[]
}

/// The organization's members in file order, each well formed and listed once.
fn members(o: &RawOrg, at: &Location, file: &File, d: &mut Vec<Diagnostic>) -> Vec<DesiredMember> {
    let list = member_list(o, at, file, d);
    // Keyed by the entry as written (an email cannot contain `|`, a user_id must), borrowed
    // from the parsed file: no copies on the hot path of large configs.
    let mut first_seen: HashMap<(bool, &str), usize> = HashMap::with_capacity(list.len());
    let mut members = Vec::with_capacity(list.len());
    for m in list {
        let m_at = loc(file, &m.referenced);
        let Some(member) = member(&m.value, &m_at, d) else {
            continue;
        };
        let key = match &m.value {
            RawMember::UserId(u) => (false, u.as_str()),
            RawMember::Email(e) => (true, e.as_str()),
        };
        if let Some(first_line) = first_seen.get(&key) {
            d.push(Diagnostic::at(
                m_at,
                format!(
                    "{member} is listed twice in this organization (first at line {first_line})"
                ),
                "list each member once",
            ));
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

/// One member entry, checked.
fn member(m: &RawMember, at: &Location, d: &mut Vec<Diagnostic>) -> Option<MemberRef> {
    match m {
        RawMember::UserId(u) => match check_user_id(u) {
            Ok(()) => Some(MemberRef::UserId(u.clone())),
            Err((msg, hint)) => {
                d.push(Diagnostic::at(at.clone(), msg, hint));
                None
            }
        },
        RawMember::Email(e) => match check_email(e) {
            Ok(()) => Some(MemberRef::Email(e.clone())),
            Err(msg) => {
                d.push(Diagnostic::at(
                    at.clone(),
                    msg,
                    "write `{email: ada@acme.example}`",
                ));
                None
            }
        },
    }
}

/// The well-formed entries of a `protect` list (user_ids or `{email: …}`), in order, each with
/// its place; each malformed one is reported, its message prefixed with `what`
/// (`defaults.protect`, `protect`).
fn protect_list(
    list: &[Spanned<RawMember>],
    file: &File,
    what: &str,
    d: &mut Vec<Diagnostic>,
) -> Vec<DesiredMember> {
    let mut out = Vec::with_capacity(list.len());
    for entry in list {
        let at = loc(file, &entry.referenced);
        let mut found = Vec::new();
        if let Some(member) = member(&entry.value, &at, &mut found) {
            out.push(DesiredMember {
                member,
                location: at,
            });
        }
        d.extend(found.into_iter().map(|mut x| {
            x.message = format!("{what}: {}", x.message);
            x
        }));
    }
    out
}

/// `defaults.protect` followed by the organization's own, without repeats (an entry counts as
/// a repeat when it names the same user_id or email as written).
fn protect(defaults: &[DesiredMember], own: Vec<DesiredMember>) -> Vec<DesiredMember> {
    let mut protect = defaults.to_vec();
    let mut in_protect: HashSet<MemberRef> = protect.iter().map(|p| p.member.clone()).collect();
    for p in own {
        if in_protect.insert(p.member.clone()) {
            protect.push(p);
        }
    }
    protect
}

#[cfg(test)]
mod tests {
    use super::super::tests::first;
    use super::super::{MemberRef, from_str};

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
    fn several_problems_are_all_reported() {
        let e = from_str("version: 1\norganizations:\n  - name: Acme\n    members: [\"x\"]\n  - id: bad\n    members: []\n", "f").unwrap_err();
        assert_eq!(e.diagnostics.len(), 3, "{e}");
    }
}
